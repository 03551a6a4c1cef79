//! Local on-disk cache store: content-addressed blobs plus small checksummed
//! records (entries and manifests), with an in-memory index driving LRU
//! eviction to a size cap.
//!
//! Layout under the store root (all directories 0700):
//! - `blobs/xx/<blake3 hex>`: blob content, named by its blake3 hash
//!   (`xx` = first two hex chars);
//! - `records/xx/<key hex>.entry`, `.manifest` and `.snapshot`: records
//!   (see [`RecordKind`]), format in `record_file.rs`;
//! - `tmp/`: temp files, persisted (renamed) into place when complete, so a
//!   crash never leaves a half-written visible file; emptied on open; the
//!   files are made in its rotating subdirectories (`temp_area.rs`);
//! - `index`: the saved index (sizes, blob lists, last use), format in `persist.rs`.
//!
//! Everything read back is verified (blake3); corrupt data is removed and
//! reported as [`StoreError::Corrupt`], never served. A blob this process
//! already verified is restored without re-hashing while its file's stat
//! fingerprint (ctime included) is unchanged (`verified.rs`). One daemon process uses
//! a store at a time; [`Store`] is `Send + Sync` and meant to be shared
//! behind an `Arc` by many threads. One mutex guards the index; renames and
//! unlinks that must agree with it happen under it, while copying, hashing
//! and reading happen outside.

mod blob;
mod error;
mod eviction;
mod format_error;
mod fsutil;
mod ids;
mod index;
mod persist;
mod rebuild;
mod record;
mod record_file;
mod temp_area;
#[cfg(test)]
mod tests;
mod verified;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

pub(crate) use error::StoreError;
pub(crate) use ids::{BlobId, RecordKey, RecordKind};

use index::Index;

/// A local cache store rooted at one directory. See the module docs.
#[derive(Debug)]
pub(crate) struct Store {
    root: PathBuf,
    blobs_dir: PathBuf,
    records_dir: PathBuf,
    tmp_dir: PathBuf,
    /// The subdirectory of `tmp_dir` new temp files go to.
    temp_area: temp_area::TempArea,
    max_size: u64,
    /// Mode given to materialized files when the caller passes none: 0644 & !umask.
    default_mode: u32,
    index: Mutex<Index>,
    /// Serializes [`Store::flush_index`] so an older snapshot never lands last.
    flush_lock: Mutex<()>,
    /// Blobs verified by this process (restored without re-hashing while
    /// their file's stat is unchanged).
    verified: verified::VerifiedBlobs,
    /// `st_dev` of `tmp_dir` (`None` when unknown): outputs on this file
    /// system are materialized through a temp file in `tmp_dir`.
    device: Option<u64>,
}

impl Store {
    /// Open or create the store at `root`: creates `<root>/blobs`,
    /// `<root>/records` and `<root>/tmp` (mode 0700), empties `tmp`, then
    /// loads `<root>/index` and reconciles it with the files on disk
    /// (rebuilding it from the record headers when missing or corrupt;
    /// corrupt records and unreferenced blobs are deleted).
    /// `max_size` is the size cap in bytes used by eviction.
    ///
    /// Errors: [`StoreError::Io`] / [`StoreError::ReadOnly`] when the
    /// directories cannot be created. A read-only but existing store opens.
    pub(crate) fn open(root: &Path, max_size: u64) -> Result<Store, StoreError> {
        let tmp_dir = root.join("tmp");
        for dir in [root, &root.join("blobs"), &root.join("records"), &tmp_dir] {
            fsutil::create_private_dir(dir)
                .map_err(|e| StoreError::write("create directory", dir, e))?;
        }
        fsutil::empty_dir(&tmp_dir);
        let device = {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(&tmp_dir).ok().map(|m| m.dev())
        };
        let store = Store {
            root: root.to_path_buf(),
            blobs_dir: root.join("blobs"),
            records_dir: root.join("records"),
            temp_area: temp_area::TempArea::open(&tmp_dir),
            tmp_dir,
            max_size,
            default_mode: 0o644 & !fsutil::process_umask(),
            index: Mutex::new(Index::default()),
            flush_lock: Mutex::new(()),
            verified: verified::VerifiedBlobs::default(),
            device,
        };
        let (index, changed) = rebuild::load(&store);
        *store.lock() = index;
        if changed {
            if let Err(e) = store.flush_index() {
                tracing::warn!("store: cannot save rebuilt index: {e}");
            }
        }
        Ok(store)
    }

    /// `(record count, total bytes of record files + blobs)`.
    pub(crate) fn usage(&self) -> (u64, u64) {
        let index = self.lock();
        (index.record_count(), index.total_bytes())
    }

    /// The size cap in bytes given to [`Store::open`].
    pub(crate) fn max_size(&self) -> u64 {
        self.max_size
    }

    /// The store root given to [`Store::open`].
    #[cfg(test)]
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Lock the index; a poisoned lock is recovered (the index stays usable).
    fn lock(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Path of a blob; an invalid id is [`StoreError::Corrupt`].
    fn blob_path(&self, id: &BlobId) -> Result<PathBuf, StoreError> {
        if !id.is_valid() {
            return Err(StoreError::corrupt(format!("blob id {:?}", id.0)));
        }
        Ok(self.blobs_dir.join(&id.0[..2]).join(&id.0))
    }

    /// Path of a record file.
    fn record_path(&self, kind: RecordKind, key: &RecordKey) -> PathBuf {
        let hex = key.to_hex();
        let name = format!("{hex}.{}", kind.extension());
        self.records_dir.join(&hex[..2]).join(name)
    }

    /// Path of the saved index.
    fn index_path(&self) -> PathBuf {
        self.root.join("index")
    }
}
