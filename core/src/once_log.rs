//! Logging each kind of failure of a remote service (a remote tier, the
//! REAPI executor) at warn level the first time it happens and at debug
//! level afterwards, so a dead server costs one warning, not one per
//! compile.

use std::collections::HashSet;
use std::sync::Mutex;

/// The kinds already logged at warn level for one service.
#[derive(Debug, Default)]
pub(crate) struct OnceLog {
    seen: Mutex<HashSet<String>>,
}

impl OnceLog {
    /// Log `message` about `service` (already redacted) with `what` in
    /// front: at warn level the first time `kind` happens, at debug level
    /// afterwards.
    pub(crate) fn log(&self, kind: &str, service: &str, what: &str, message: &str) {
        let first = self
            .seen
            .lock()
            .map(|mut seen| seen.insert(kind.to_string()))
            .unwrap_or(false);
        if first {
            tracing::warn!(tier = %service, "{what}: {message}");
        } else {
            tracing::debug!(tier = %service, "{what}: {message}");
        }
    }
}
