//! Per-key locks, so identical concurrent `zccache exec` runs run the tool
//! once and the others hit.

use crate::storage::RecordKey;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Per-key locks so identical concurrent execs run the tool once.
#[derive(Debug, Default)]
pub(crate) struct KeyedLocks {
    map: Mutex<HashMap<RecordKey, Arc<Mutex<()>>>>,
}

impl KeyedLocks {
    /// The lock of `key` (created on first use; unused locks are
    /// dropped once more than 10 000 exist).
    pub(crate) fn lock_for(&self, key: RecordKey) -> Arc<Mutex<()>> {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 10_000 {
            m.retain(|_, l| Arc::strong_count(l) > 1);
        }
        m.entry(key).or_default().clone()
    }
}
