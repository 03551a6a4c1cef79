//! Small file-system helpers shared by the store: private directories,
//! temp files, tolerant removal, file times and the process umask.

use std::fs::{self, DirBuilder, Metadata};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::time::UNIX_EPOCH;

use tempfile::NamedTempFile;

/// Create `dir` (and parents) with mode 0700; an existing `dir` is chmod-ed
/// to 0700 when it has another mode (best effort).
pub(super) fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let meta = fs::metadata(dir)?;
    if meta.permissions().mode() & 0o7777 != 0o700 {
        if let Err(e) = fs::set_permissions(dir, fs::Permissions::from_mode(0o700)) {
            tracing::debug!("chmod 0700 {}: {e}", dir.display());
        }
    }
    Ok(())
}

/// Create `dir` (and parents) with mode 0700 without touching an existing one.
pub(super) fn ensure_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// A new empty temp file in `dir`, removed on drop unless persisted.
pub(super) fn temp_in(dir: &Path, prefix: &str) -> io::Result<NamedTempFile> {
    tempfile::Builder::new().prefix(prefix).tempfile_in(dir)
}

/// Remove a file; a file that is already gone is not an error.
pub(super) fn remove_file_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Remove a file, logging (not returning) any failure other than absence.
pub(super) fn remove_file_logged(path: &Path) {
    if let Err(e) = remove_file_if_exists(path) {
        tracing::warn!("store: cannot remove {}: {e}", path.display());
    }
}

/// Remove everything inside `dir` (best effort, failures are logged).
pub(super) fn empty_dir(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let res = if is_dir {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        if let Err(e) = res {
            tracing::warn!("store: cannot remove {}: {e}", path.display());
        }
    }
}

/// Modification time of a file in ns since the Unix epoch (0 if unknown).
pub(super) fn mtime_ns(meta: &Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The process umask, read from `/proc/self/status` (no race with other
/// threads, unlike `umask(2)`); 0o022 when it cannot be read.
pub(super) fn process_umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .unwrap_or(0o022)
}
