//! A local link or archive miss served from a remote tier: the entry is
//! fetched by the call's key (verified, stored locally) and its outputs
//! restored like a local hit. Runs on the blocking pool.

use super::outputs::{self, Placement};
use crate::daemon::state::DaemonState;
use crate::storage::{Entry, EntryKind, RecordKey};

/// The entry of the call keyed `key` from a remote tier, restored at
/// `place`, with the serving tier's redacted URL; `None` when no tier has
/// it or it could not be restored (the tool then runs).
pub(crate) fn try_restore(
    d: &DaemonState,
    key: &RecordKey,
    place: &Placement<'_>,
) -> Option<(Entry, String)> {
    if d.verifier().is_stale(key) {
        return None;
    }
    let (entry, tier) = d.storage().remote_entry(key, EntryKind::Link)?;
    if let Err(e) = outputs::restore(d, &entry, place) {
        tracing::debug!(error = %e, "remote link entry not restored; running the tool");
        return None;
    }
    Some((entry, tier))
}
