//! Eviction and clearing. When the total size of records and blobs exceeds
//! the cap, least-recently-used records are removed (with the blobs no
//! other record references) until the total is at most 90% of the cap.

use std::fs;

use super::fsutil;
use super::index::{now_ms, Index};
use super::{Store, StoreError};

/// Blobs referenced by no record are deleted by eviction once they have
/// been in the index this long (ms); younger ones may be about to be
/// referenced by a record being written.
const ORPHAN_GRACE_MS: u64 = 10 * 60 * 1000;

impl Store {
    /// When the total bytes exceed the cap, delete stale unreferenced blobs,
    /// then least-recently-used records (with blobs only they referenced)
    /// until the total is <= 90% of the cap. Called by [`Store::put_record`]
    /// when over the cap. Returns `(records evicted, bytes freed)`; deletion
    /// failures are logged, never returned.
    pub(crate) fn evict_if_needed(&self) -> (u64, u64) {
        let mut index = self.lock();
        let before = index.total_bytes();
        if before <= self.max_size {
            return (0, 0);
        }
        let target = self.max_size - self.max_size / 10;
        let stale = index.orphans_added_before(now_ms().saturating_sub(ORPHAN_GRACE_MS));
        self.delete_blobs_locked(&mut index, stale);
        let evicted = self.evict_lru_locked(&mut index, target);
        let freed = before.saturating_sub(index.total_bytes());
        tracing::info!("store: evicted {evicted} records, freed {freed} bytes");
        (evicted, freed)
    }

    /// Remove least-recently-used records until the total is <= `target`
    /// bytes. Returns the number of records removed.
    fn evict_lru_locked(&self, index: &mut Index, target: u64) -> u64 {
        let mut evicted = 0;
        for id in index.lru_order() {
            if index.total_bytes() <= target {
                break;
            }
            let path = self.record_path(id.0, &id.1);
            if let Err(e) = self.drop_record_locked(index, &id, &path) {
                tracing::warn!("store: cannot remove {}: {e}", path.display());
            }
            evicted += 1;
        }
        evicted
    }

    /// Remove every record and blob (the `records` and `blobs` directories
    /// are moved aside under the lock, then deleted) and the saved index.
    /// Returns `(records removed, bytes freed)` per the index.
    ///
    /// Errors: [`StoreError::ReadOnly`] / [`StoreError::Io`] when the
    /// directories cannot be moved or recreated.
    pub(crate) fn clear(&self) -> Result<(u64, u64), StoreError> {
        let trash = tempfile::Builder::new()
            .prefix(".clear-")
            .tempdir_in(&self.tmp_dir)
            .map_err(|e| StoreError::write("create temp dir in", &self.tmp_dir, e))?;
        let mut index = self.lock();
        let counts = (index.record_count(), index.total_bytes());
        fs::rename(&self.records_dir, trash.path().join("records"))
            .map_err(|e| StoreError::write("move aside", &self.records_dir, e))?;
        let result = self.reset_dirs(trash.path());
        *index = Index::default();
        fsutil::remove_file_logged(&self.index_path());
        drop(index);
        if let Err(e) = trash.close() {
            tracing::warn!("store: cannot delete cleared files: {e}");
        }
        result.map(|_| counts)
    }

    /// Second half of [`Store::clear`]: move `blobs` aside into `trash` and
    /// recreate both directories.
    fn reset_dirs(&self, trash: &std::path::Path) -> Result<(), StoreError> {
        let moved = fs::rename(&self.blobs_dir, trash.join("blobs"))
            .map_err(|e| StoreError::write("move aside", &self.blobs_dir, e));
        for dir in [&self.records_dir, &self.blobs_dir] {
            fsutil::create_private_dir(dir).map_err(|e| StoreError::write("create", dir, e))?;
        }
        moved
    }
}
