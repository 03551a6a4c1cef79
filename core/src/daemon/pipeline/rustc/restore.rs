//! Serving a rustc hit: materialise every stored output into `--out-dir`
//! with a fresh mtime (so cargo's fingerprints, which compare mtimes, see
//! the outputs as new) and the recorded permission bits.

use crate::compiler::rustc::RustcInvocation;
use crate::daemon::state::DaemonState;
use crate::ipc::CompileRequest;
use crate::key::resolve;
use crate::storage::{Content, Entry, StoreError};

/// Put `entry`'s outputs in place.
///
/// Errors: the store's error for a missing or corrupt blob, or an
/// unwritable destination; files already restored stay (rustc would have
/// overwritten them too).
pub(crate) fn restore(
    d: &DaemonState,
    req: &CompileRequest,
    inv: &RustcInvocation,
    entry: &Entry,
) -> Result<(), StoreError> {
    let out_dir = resolve(&req.cwd, &inv.out_dir);
    for o in &entry.outputs {
        let Content::Blob(blob) = &o.content else {
            return Err(StoreError::Corrupt {
                what: format!("rustc output {} without a blob", o.name),
            });
        };
        let mode = o.mode & !req.umask & 0o7777;
        d.storage()
            .materialize_blob(blob, &out_dir.join(&o.name), Some(mode))?;
    }
    Ok(())
}
