//! Serving a hit: put the cached object (and the user's depfile) in place.
//! Blobs are verified while they are materialised; a corrupt one is an
//! error here and a miss for the caller.

use super::dep_targets;
use super::plan::Plan;
use crate::daemon::state::DaemonState;
use crate::ipc::CompileRequest;
use crate::key::resolve;
use crate::storage::{Content, Entry, OutputRole, StoreError};

/// Errors while restoring an entry.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RestoreError {
    /// The object blob is missing or corrupt, or cannot be written.
    #[error("object: {0}")]
    Object(#[from] StoreError),
    /// The entry has no object blob.
    #[error("the entry has no object")]
    NoObject,
    /// The depfile could not be written.
    #[error("depfile {path}: {source}")]
    Depfile {
        /// Where it should go.
        path: String,
        /// Why it could not be written.
        source: StoreError,
    },
}

/// Materialise `entry` for source `i` of the request; returns the object's
/// size in bytes.
///
/// Errors: [`RestoreError`]; nothing is left half-written (atomic renames).
pub(crate) fn restore_entry(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &Plan,
    i: usize,
    entry: &Entry,
) -> Result<u64, RestoreError> {
    let object = plan.inv.object_path(i);
    let mode = 0o666 & !req.umask;
    let blob = match entry.output(OutputRole::Object).map(|o| &o.content) {
        Some(Content::Blob(id)) => id,
        _ => return Err(RestoreError::NoObject),
    };
    let bytes = d
        .storage()
        .materialize_blob(blob, &resolve(&req.cwd, &object), Some(mode))?;
    let depfile = entry.output(OutputRole::Depfile).map(|o| &o.content);
    if let (Some(dep), Some(Content::Inline(text))) = (&plan.inv.depfile, depfile) {
        let path = dep.path_for(&object);
        let args = dep.to_args("", &object);
        let retargeted = dep_targets::retarget(text, &dep_targets::targets(&args));
        let text = retargeted.as_deref().unwrap_or(text);
        d.storage()
            .materialize_bytes(text, &resolve(&req.cwd, &path), mode)
            .map_err(|source| RestoreError::Depfile { path, source })?;
    }
    Ok(bytes)
}
