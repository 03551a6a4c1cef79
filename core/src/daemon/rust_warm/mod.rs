//! Cargo warm snapshots in the daemon ([`RustWarmRequest`] save, list and
//! restore; see `crate::cargo_warm` for why they exist). The
//! daemon owns the store, so it alone hashes files into blobs, writes the
//! snapshot record (one [`RecordKind::Snapshot`](crate::storage::local::RecordKind)
//! per scope, evicted like any record) and materializes blobs back into a
//! build dir. While it saves or restores, it holds cargo's own lock of each
//! profile dir (`<profile>/.cargo-lock`, an exclusive `flock`), so a cargo
//! build running at the same time waits instead of racing it.

mod restore;
mod save;
mod snapshot;

use super::state::DaemonState;
use crate::cargo_warm::WarmPathError;
use crate::ipc::{ErrorKind, Response, RustWarmRequest};
use crate::storage::{RecordKey, StoreError};
use fs4::fs_std::FileExt;
use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Why a warm request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RustWarmError {
    /// A path in the request or snapshot is unsafe.
    #[error(transparent)]
    Path(#[from] WarmPathError),
    /// A file-system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was done, on which path.
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The store failed (unwritable, blob evicted or corrupt).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Cargo holds the lock of a profile dir.
    #[error("cargo is using {0} (its .cargo-lock is held); try again when it has finished")]
    Busy(PathBuf),
    /// The build dir is not an absolute path.
    #[error("target dir {0} is not an absolute path")]
    NotAbsolute(PathBuf),
    /// The snapshot of the scope was saved for another build dir.
    #[error("the snapshot was saved for {saved}, not {asked}")]
    OtherTargetDir {
        /// Where it was saved from.
        saved: PathBuf,
        /// Where the client asked to restore.
        asked: PathBuf,
    },
    /// The snapshot could not be encoded.
    #[error("snapshot encoding: {0}")]
    Encode(String),
    /// Restoring one group failed (what was written of it was removed;
    /// the groups restored before it are complete).
    #[error(
        "unit group {group}: {source} (the {restored} groups restored before it are complete)"
    )]
    Group {
        /// `profile/unit`.
        group: String,
        /// Groups restored before this one.
        restored: u64,
        /// The failure.
        source: Box<RustWarmError>,
    },
}

impl RustWarmError {
    /// The protocol error kind of this failure.
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            RustWarmError::Path(_)
            | RustWarmError::NotAbsolute(_)
            | RustWarmError::OtherTargetDir { .. } => ErrorKind::BadRequest,
            RustWarmError::Io { .. } => ErrorKind::Io,
            RustWarmError::Store(_) => ErrorKind::Store,
            RustWarmError::Busy(_) => ErrorKind::Busy,
            RustWarmError::Encode(_) => ErrorKind::Internal,
            RustWarmError::Group { source, .. } => source.kind(),
        }
    }

    /// An [`RustWarmError::Io`] on `path`.
    fn io(what: &str, path: &Path, source: io::Error) -> RustWarmError {
        RustWarmError::Io {
            context: format!("{what} {}", path.display()),
            source,
        }
    }
}

/// Serve a warm request. Runs on a blocking thread: saving hashes files
/// and restoring copies them. A failure is a [`Response::Error`] of the
/// error's [`RustWarmError::kind`].
pub(crate) fn handle(st: &DaemonState, request: &RustWarmRequest) -> Response {
    let result = match request {
        RustWarmRequest::Save {
            scope,
            target_dir,
            groups,
        } => save::save(st, &RecordKey(*scope), target_dir, groups).map(Response::RustWarmSaved),
        RustWarmRequest::List { scope } => snapshot::load(st.storage(), &RecordKey(*scope))
            .map(|s| Response::RustArtifacts(s.map(|s| s.listing()))),
        RustWarmRequest::Restore { scope, target_dir } => {
            restore::restore(st, &RecordKey(*scope), target_dir).map(Response::RustWarmRestored)
        }
    };
    match result {
        Ok(response) => {
            log_done(&response);
            response
        }
        Err(e) => {
            tracing::warn!("rust warm: {e}");
            Response::error(e.kind(), e.to_string())
        }
    }
}

/// One daemon-log line per save or restore.
fn log_done(response: &Response) {
    match response {
        Response::RustWarmSaved(r) => tracing::info!(
            groups = r.groups,
            files = r.files,
            hashed = r.hashed_files,
            stored_bytes = r.stored_bytes,
            skipped = r.skipped_groups,
            changed = r.changed,
            "rust warm: snapshot saved"
        ),
        Response::RustWarmRestored(r) => tracing::info!(
            found = r.found,
            restored = r.restored_groups,
            skipped = r.skipped_groups,
            files = r.files,
            bytes = r.bytes,
            "rust warm: snapshot restored"
        ),
        _ => {}
    }
}

/// Fail unless `dir` is absolute.
fn require_absolute(dir: &Path) -> Result<(), RustWarmError> {
    if dir.is_absolute() {
        Ok(())
    } else {
        Err(RustWarmError::NotAbsolute(dir.to_path_buf()))
    }
}

/// Cargo's locks of the given profile dirs under `build_dir`, held until
/// the returned files are dropped. A profile dir that does not exist is
/// created when `create` is set, else skipped.
///
/// Errors: [`RustWarmError::Busy`] when cargo holds one;
/// [`RustWarmError::Io`] when a dir or lock file cannot be created.
fn lock_profiles<'a>(
    build_dir: &Path,
    profiles: impl IntoIterator<Item = &'a str>,
    create: bool,
) -> Result<Vec<File>, RustWarmError> {
    let mut locks = Vec::new();
    for profile in profiles.into_iter().collect::<BTreeSet<_>>() {
        let dir = build_dir.join(profile);
        if create {
            ensure_build_dir(build_dir)?;
            std::fs::create_dir_all(&dir).map_err(|e| RustWarmError::io("create", &dir, e))?;
        } else if !dir.is_dir() {
            continue;
        }
        let path = dir.join(".cargo-lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| RustWarmError::io("open", &path, e))?;
        if !lock_soon(&file) {
            return Err(RustWarmError::Busy(dir));
        }
        locks.push(file);
    }
    Ok(locks)
}

/// Longest wait for a lock held only for a moment, ms.
const LOCK_GRACE_MS: u64 = 500;

/// Take `file`'s exclusive lock, retrying for up to [`LOCK_GRACE_MS`]: a
/// lock released a moment ago can still be held by a child process that
/// another thread of the daemon forked before the file was closed (flock
/// belongs to the open file description until that child execs). Cargo
/// itself holds its lock for a whole build, far longer.
fn lock_soon(file: &File) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(LOCK_GRACE_MS);
    loop {
        if matches!(file.try_lock_exclusive(), Ok(true)) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Create the build dir with a `CACHEDIR.TAG` (as cargo does) when it is
/// missing, so backup tools keep skipping it.
fn ensure_build_dir(build_dir: &Path) -> Result<(), RustWarmError> {
    if build_dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(build_dir).map_err(|e| RustWarmError::io("create", build_dir, e))?;
    let tag = build_dir.join("CACHEDIR.TAG");
    let text = "Signature: 8a477f597d28d172789f06886806bc55\n\
                # This file is a cache directory tag created by zccache (cargo zccache warm).\n\
                # For information about cache directory tags see https://bford.info/cachedir/\n";
    std::fs::write(&tag, text).map_err(|e| RustWarmError::io("write", &tag, e))
}

#[cfg(test)]
mod tests;
