//! Serving a rustc hit: materialise every stored output into `--out-dir`
//! with a fresh mtime (so cargo's fingerprints, which compare mtimes, see
//! the outputs as new) and the recorded permission bits.

use super::entry::RustcEntry;
use crate::compiler::rustc::RustcInvocation;
use crate::daemon::state::DaemonState;
use crate::ipc::CompileRequest;
use crate::key::resolve;
use crate::store::StoreError;

/// Put `entry`'s outputs in place.
///
/// Errors: the store's error for a missing or corrupt blob, or an
/// unwritable destination; files already restored stay (rustc would have
/// overwritten them too).
pub fn restore(
    d: &DaemonState,
    req: &CompileRequest,
    inv: &RustcInvocation,
    entry: &RustcEntry,
) -> Result<(), StoreError> {
    let out_dir = resolve(&req.cwd, &inv.out_dir);
    for o in &entry.outputs {
        let mode = o.mode & !req.umask & 0o7777;
        d.store
            .materialize_blob(&o.blob, &out_dir.join(&o.name), Some(mode))?;
    }
    Ok(())
}
