//! `RustWarmRequest::Restore`: write the snapshot of a scope back into its
//! build dir. A unit group is written only when nothing of it exists there
//! (`crate::cargo_warm::group_present`); the others are counted as
//! skipped and left untouched. Each file is copied from its verified blob
//! into a temp file next to its place, given the recorded mode and mtime
//! (cargo compares output mtimes of dependencies and dependents), then
//! linked into place without replacing anything. When a file fails, what
//! was written of its group (files, then the directories created for it)
//! is removed and the restore stops: groups already written are complete.
//! (`RustWarmRequest::List` only reads the snapshot; see `super::handle`.)

use super::snapshot::{self, SnapFile, SnapGroup};
use super::{lock_profiles, require_absolute, RustWarmError};
use crate::cargo_warm::group_present;
use crate::daemon::state::DaemonState;
use crate::ipc::WarmRestoreReport;
use crate::storage::{RecordKey, StoreError};
use std::fs::{FileTimes, Permissions};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

/// Restore the snapshot of `scope` into `target_dir`. A missing snapshot is
/// not an error: the report says `found: false`.
///
/// Errors: a relative `target_dir`, a snapshot saved for another dir,
/// cargo holding a profile lock, or a group that could not be written
/// ([`RustWarmError::Group`]; a snapshot whose blob is gone is removed).
pub(super) fn restore(
    st: &DaemonState,
    scope: &RecordKey,
    target_dir: &Path,
) -> Result<WarmRestoreReport, RustWarmError> {
    require_absolute(target_dir)?;
    let Some(snap) = snapshot::load(st.storage(), scope)? else {
        return Ok(WarmRestoreReport::default());
    };
    if snap.target_dir != target_dir {
        return Err(RustWarmError::OtherTargetDir {
            saved: snap.target_dir,
            asked: target_dir.to_path_buf(),
        });
    }
    let mut report = WarmRestoreReport {
        found: true,
        ..WarmRestoreReport::default()
    };
    if snap.groups.is_empty() {
        return Ok(report);
    }
    let _locks = lock_profiles(
        target_dir,
        snap.groups.iter().map(|g| g.profile.as_str()),
        true,
    )?;
    for g in &snap.groups {
        let files = g.files.iter().map(|f| f.path.as_str());
        if group_present(target_dir, &g.profile, &g.unit, files) {
            report.skipped_groups += 1;
            continue;
        }
        let bytes = restore_group(st, target_dir, g).map_err(|e| {
            if matches!(
                e,
                RustWarmError::Store(StoreError::NotFound | StoreError::Corrupt { .. })
            ) {
                st.storage().remove_snapshot(scope);
            }
            RustWarmError::Group {
                group: g.name(),
                restored: report.restored_groups,
                source: Box::new(e),
            }
        })?;
        report.restored_groups += 1;
        report.files += g.files.len() as u64;
        report.bytes += bytes;
    }
    Ok(report)
}

/// What a group restore created so far, removed again on failure.
#[derive(Default)]
struct Undo {
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
}

impl Undo {
    /// Remove the files, then the directories (newest first; a directory
    /// that is not empty any more stays).
    fn rollback(self) {
        for f in self.files.iter().rev() {
            if let Err(e) = std::fs::remove_file(f) {
                tracing::warn!("rust warm: cannot remove {}: {e}", f.display());
            }
        }
        for d in self.dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Write one group; returns its bytes. On failure nothing of it is left.
fn restore_group(st: &DaemonState, target_dir: &Path, g: &SnapGroup) -> Result<u64, RustWarmError> {
    let mut undo = Undo::default();
    let result = write_group(st, target_dir, g, &mut undo);
    if result.is_err() {
        undo.rollback();
    }
    result
}

fn write_group(
    st: &DaemonState,
    target_dir: &Path,
    g: &SnapGroup,
    undo: &mut Undo,
) -> Result<u64, RustWarmError> {
    for d in &g.dirs {
        create_dirs(&target_dir.join(d), undo)?;
    }
    let mut bytes = 0;
    for f in &g.files {
        bytes += write_file(st, &target_dir.join(&f.path), f, undo)?;
    }
    Ok(bytes)
}

/// Write one file next to its place, with the recorded mode and mtime, and
/// link it into place unless something exists there already.
fn write_file(
    st: &DaemonState,
    path: &Path,
    f: &SnapFile,
    undo: &mut Undo,
) -> Result<u64, RustWarmError> {
    let dir = path
        .parent()
        .ok_or_else(|| RustWarmError::io("restore", path, io::ErrorKind::InvalidInput.into()))?;
    create_dirs(dir, undo)?;
    let (tmp, size) = st.storage().materialize_blob_temp(&f.blob, dir)?;
    let file = tmp.as_file();
    file.set_permissions(Permissions::from_mode(f.mode & 0o7777))
        .map_err(|e| RustWarmError::io("chmod", tmp.path(), e))?;
    let mtime = UNIX_EPOCH + Duration::from_nanos(f.mtime_ns);
    file.set_times(FileTimes::new().set_modified(mtime))
        .map_err(|e| RustWarmError::io("set the mtime of", tmp.path(), e))?;
    tmp.persist_noclobber(path)
        .map_err(|e| RustWarmError::io("link into place", path, e.error))?;
    undo.files.push(path.to_path_buf());
    Ok(size)
}

/// Create `dir` and its missing ancestors, noting each one created.
fn create_dirs(dir: &Path, undo: &mut Undo) -> Result<(), RustWarmError> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur.filter(|d| std::fs::symlink_metadata(d).is_err()) {
        missing.push(d);
        cur = d.parent();
    }
    for d in missing.into_iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => undo.dirs.push(d.to_path_buf()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(RustWarmError::io("create", d, e)),
        }
    }
    Ok(())
}
