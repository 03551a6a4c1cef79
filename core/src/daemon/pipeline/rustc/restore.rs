//! Serving a rustc hit: materialise every stored output into `--out-dir`
//! with a fresh mtime (so cargo's fingerprints, which compare mtimes, see
//! the outputs as new) and the recorded permission bits. For a portable
//! entry ([`super::portable`]), the inline dep-info file and the replayed
//! stdout/stderr get this request's root paths back
//! ([`super::portable_text::from_markers`]).

use super::context::RustcPlan;
use super::portable_text::from_markers;
use crate::daemon::state::DaemonState;
use crate::ipc::CompileRequest;
use crate::key::resolve;
use crate::storage::{Content, Entry, StoreError};

/// Put `entry`'s outputs in place, and make its stdout/stderr name this
/// request's paths.
///
/// Errors: the store's error for a missing or corrupt blob, an unwritable
/// destination, or stored text that cannot be re-rooted; files already
/// restored stay (rustc would have overwritten them too).
pub(crate) fn restore(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &RustcPlan,
    entry: &mut Entry,
) -> Result<(), StoreError> {
    let out_dir = resolve(&req.cwd, &plan.inv.out_dir);
    for o in &entry.outputs {
        let mode = o.mode & !req.umask & 0o7777;
        let dest = out_dir.join(&o.name);
        match (&o.content, &plan.anchors) {
            (Content::Blob(blob), _) => {
                d.storage().materialize_blob(blob, &dest, Some(mode))?;
            }
            (Content::Inline(text), Some(a)) => {
                let text = from_markers(text, a).map_err(corrupt)?;
                d.storage().materialize_bytes(&text, &dest, mode)?;
            }
            _ => {
                return Err(StoreError::Corrupt {
                    what: format!("rustc output {} without a blob", o.name),
                })
            }
        }
    }
    if let Some(a) = &plan.anchors {
        entry.stdout = from_markers(&entry.stdout, a)
            .map_err(corrupt)?
            .into_owned();
        entry.stderr = from_markers(&entry.stderr, a)
            .map_err(corrupt)?
            .into_owned();
    }
    Ok(())
}

fn corrupt(e: super::portable_text::TextError) -> StoreError {
    StoreError::Corrupt {
        what: e.to_string(),
    }
}
