//! The remote lookup shared by the compile and rustc pipelines after a
//! local miss: the context's manifest from a tier (merged into the local
//! one), its input sets checked against this machine exactly as a local
//! lookup would, then the entry (local, or fetched and verified). Entries
//! the hit verifier found stale are never taken from a tier again. Runs on
//! the blocking pool, never on the event loop.

use crate::daemon::state::DaemonState;
use crate::key::find;
use crate::key::lookup::Probe;
use crate::storage::{Entry, EntryKind, Manifest, RecordKey};

/// The entry of `context` (of `kind`) that a remote tier's manifest leads
/// to for `probe`, with the serving tier's redacted URL; `None` without
/// tiers, without a matching input set, or when the entry is unavailable.
pub(crate) fn entry_for(
    d: &DaemonState,
    context: &RecordKey,
    probe: &Probe<'_>,
    kind: EntryKind,
) -> Option<(Entry, String)> {
    entry_for_mapped(d, context, probe, kind, |_| None)
}

/// [`entry_for`], matching the input sets of `map(manifest)` when it is
/// `Some` instead of the fetched manifest (the rustc pipeline re-roots a
/// portable manifest's paths for this request; see
/// `rustc::portable_text`).
pub(crate) fn entry_for_mapped(
    d: &DaemonState,
    context: &RecordKey,
    probe: &Probe<'_>,
    kind: EntryKind,
    map: impl Fn(&Manifest) -> Option<Manifest>,
) -> Option<(Entry, String)> {
    d.storage().remote()?;
    let (manifest, manifest_tier) = d.storage().remote_manifest(context)?;
    let mapped = map(&manifest);
    let key = find(mapped.as_ref().unwrap_or(&manifest), probe).ok()?;
    if d.verifier().is_stale(&key) {
        return None;
    }
    match d.storage().get_entry(&key, kind) {
        Ok(Some(entry)) => Some((entry, manifest_tier)),
        _ => d.storage().remote_entry(&key, kind),
    }
}
