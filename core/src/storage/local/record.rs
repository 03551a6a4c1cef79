//! Records: small checksummed files (entries and manifests) stored at
//! `records/xx/<key hex>.<kind>`, written atomically (temp file + rename)
//! and verified on every read. Each record lists the blobs it references;
//! removing a record deletes the blobs no other record references.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::format_error::FormatError;
use super::fsutil;
use super::index::{Index, RecordId, RecordMeta};
use super::record_file::{self, RecordHeader};
use super::{BlobId, RecordKey, RecordKind, Store, StoreError};

impl Store {
    /// Atomically write record `(kind, key)` with `payload` (any bytes, up
    /// to a few MB), replacing any previous version. `blobs` lists the blobs
    /// the record references; they must already be in the store. The file
    /// embeds a blake3 checksum verified on read. Evicts when over the cap.
    ///
    /// Errors: [`StoreError::NotFound`] when a referenced blob is not in the
    /// store (e.g. evicted meanwhile); [`StoreError::Corrupt`] for an
    /// invalid blob id; [`StoreError::ReadOnly`] / [`StoreError::Io`] when the
    /// store cannot be written.
    pub(crate) fn put_record(
        &self,
        kind: RecordKind,
        key: &RecordKey,
        payload: &[u8],
        blobs: &[BlobId],
    ) -> Result<(), StoreError> {
        let mut blobs = blobs.to_vec();
        blobs.sort();
        blobs.dedup();
        for blob in &blobs {
            self.blob_path(blob)?;
        }
        let header = RecordHeader {
            kind,
            key: *key,
            blobs,
        };
        let bytes = record_file::encode(&header, payload).map_err(StoreError::corrupt)?;
        let (tmp, mtime_ns) = self.write_record_temp(&bytes)?;
        let path = self.record_path(kind, key);
        if let Some(dir) = path.parent() {
            fsutil::ensure_dir(dir).map_err(|e| StoreError::write("create", dir, e))?;
        }
        {
            let mut index = self.lock();
            if let Some(missing) = header.blobs.iter().find(|b| !index.has_blob(b)) {
                tracing::debug!(
                    "store: record {} references missing blob {missing}",
                    key.to_hex()
                );
                return Err(StoreError::NotFound);
            }
            tmp.persist(&path)
                .map_err(|e| StoreError::write("move record into", &path, e.error))?;
            let meta = RecordMeta {
                size: bytes.len() as u64,
                mtime_ns,
                blobs: header.blobs,
                last_use_ms: index.tick(),
            };
            let freed = index.insert_record((kind, *key), meta);
            self.delete_blobs_locked(&mut index, freed);
        }
        if self.usage().1 > self.max_size {
            self.evict_if_needed();
        }
        Ok(())
    }

    /// Read record `(kind, key)`: `Ok(None)` when absent, else its verified
    /// payload. Marks the record as used now (LRU).
    ///
    /// Errors: [`StoreError::Corrupt`] when the file fails verification (it is
    /// removed, with blobs only it referenced); [`StoreError::Io`] when it
    /// cannot be read.
    pub(crate) fn get_record(
        &self,
        kind: RecordKind,
        key: &RecordKey,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.record_path(kind, key);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut index = self.lock();
                let _ = self.drop_record_locked(&mut index, &(kind, *key), &path);
                return Ok(None);
            }
            Err(e) => return Err(StoreError::io("read record", &path, e)),
        };
        let why = match record_file::decode(&bytes) {
            Ok((h, payload)) if h.kind == kind && h.key == *key => {
                self.note_use(kind, key, &path, h.blobs, bytes.len() as u64);
                return Ok(Some(payload.to_vec()));
            }
            Ok(_) => FormatError::WrongRecord,
            Err(why) => why,
        };
        tracing::warn!(
            "store: record {} is corrupt ({why}); removing it",
            path.display()
        );
        let mut index = self.lock();
        let _ = self.drop_record_locked(&mut index, &(kind, *key), &path);
        Err(StoreError::corrupt(format!(
            "record {}: {why}",
            key.to_hex()
        )))
    }

    /// Remove record `(kind, key)` and the blobs no other record references.
    /// Removing an absent record is not an error.
    ///
    /// Errors: [`StoreError::ReadOnly`] / [`StoreError::Io`] when the record
    /// file cannot be deleted (it is forgotten by the index all the same).
    pub(crate) fn remove_record(
        &self,
        kind: RecordKind,
        key: &RecordKey,
    ) -> Result<(), StoreError> {
        let path = self.record_path(kind, key);
        let mut index = self.lock();
        self.drop_record_locked(&mut index, &(kind, *key), &path)
            .map(|_| ())
            .map_err(|e| StoreError::write("remove record", &path, e))
    }

    /// Write an encoded record into a new temp file; returns the file and its mtime in ns.
    fn write_record_temp(
        &self,
        bytes: &[u8],
    ) -> Result<(tempfile::NamedTempFile, u64), StoreError> {
        let dir = self.temp_area.dir();
        let mut tmp = fsutil::temp_in(&dir, ".record-")
            .map_err(|e| StoreError::write("create temp file in", &dir, e))?;
        tmp.write_all(bytes)
            .map_err(|e| StoreError::write("write", tmp.path(), e))?;
        let meta = tmp
            .as_file()
            .metadata()
            .map_err(|e| StoreError::io("stat", tmp.path(), e))?;
        Ok((tmp, fsutil::mtime_ns(&meta)))
    }

    /// Touch a record after a good read; a record on disk that the index
    /// does not know (out of sync) is added to it.
    fn note_use(
        &self,
        kind: RecordKind,
        key: &RecordKey,
        path: &Path,
        blobs: Vec<BlobId>,
        size: u64,
    ) {
        let mut index = self.lock();
        if index.touch(&(kind, *key)) {
            return;
        }
        let mtime_ns = fs::metadata(path)
            .map(|m| fsutil::mtime_ns(&m))
            .unwrap_or(0);
        let meta = RecordMeta {
            size,
            mtime_ns,
            blobs,
            last_use_ms: index.tick(),
        };
        let freed = index.insert_record((kind, *key), meta);
        self.delete_blobs_locked(&mut index, freed);
    }

    /// Forget a record, delete its file (absence is fine) and the blobs only
    /// it referenced. Returns the bytes freed (per the index).
    pub(super) fn drop_record_locked(
        &self,
        index: &mut Index,
        id: &RecordId,
        path: &Path,
    ) -> io::Result<u64> {
        let (meta, freed) = index.remove_record(id).unwrap_or_default();
        let result = fsutil::remove_file_if_exists(path);
        let blob_bytes = self.delete_blobs_locked(index, freed);
        result.map(|_| meta.size + blob_bytes)
    }

    /// Forget and delete blobs (deletion failures are logged). Returns the bytes freed.
    pub(super) fn delete_blobs_locked(&self, index: &mut Index, ids: Vec<BlobId>) -> u64 {
        let mut freed = 0;
        for id in ids {
            freed += index.remove_blob(&id).unwrap_or(0);
            if let Ok(path) = self.blob_path(&id) {
                fsutil::remove_file_logged(&path);
            }
        }
        freed
    }
}
