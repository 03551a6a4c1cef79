//! The saved index `<root>/index`: a snapshot of the in-memory index
//! (records with size, mtime, blobs and last use; blobs with size) so that
//! opening a store needs neither to read every record nor to forget LRU
//! order. Layout: `MAGIC` (8 bytes) | blake3 of the body (32 bytes) |
//! bincode body. It is only a cache: when missing, stale or corrupt, the
//! index is rebuilt or corrected from the files (see `rebuild`).

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::format_error::FormatError;
use super::fsutil;
use super::index::{Index, RecordMeta};
use super::{BlobId, RecordKey, RecordKind, Store, StoreError};

/// First bytes of the saved index (format version 1).
const MAGIC: &[u8; 8] = b"ZCCIDX01";

/// The saved index, as read back.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct SavedIndex {
    /// Every record with its metadata.
    pub records: Vec<(RecordKind, RecordKey, RecordMeta)>,
    /// Every blob with its size in bytes.
    pub blobs: Vec<(BlobId, u64)>,
}

/// The same shape as [`SavedIndex`], borrowed from a live [`Index`].
#[derive(serde::Serialize)]
struct SavedIndexRef<'a> {
    records: Vec<(RecordKind, RecordKey, &'a RecordMeta)>,
    blobs: Vec<(&'a BlobId, u64)>,
}

/// Encode a snapshot of `index` as the bytes of an index file.
///
/// Errors: [`FormatError::EncodeIndex`] if the snapshot cannot be serialized.
fn encode(index: &Index) -> Result<Vec<u8>, FormatError> {
    let snapshot = SavedIndexRef {
        records: index.records().map(|(id, m)| (id.0, id.1, m)).collect(),
        blobs: index.blobs().collect(),
    };
    let body = bincode::serialize(&snapshot).map_err(FormatError::EncodeIndex)?;
    let mut out = Vec::with_capacity(40 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(blake3::hash(&body).as_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decode and verify the bytes of an index file.
///
/// Errors: [`FormatError::IndexTruncated`], [`FormatError::BadMagic`],
/// [`FormatError::ChecksumMismatch`] or [`FormatError::DecodeIndex`].
fn decode(bytes: &[u8]) -> Result<SavedIndex, FormatError> {
    if bytes.len() < 40 {
        return Err(FormatError::IndexTruncated);
    }
    let (head, body) = bytes.split_at(40);
    if &head[..8] != MAGIC {
        return Err(FormatError::BadMagic);
    }
    if blake3::hash(body).as_bytes() != &head[8..] {
        return Err(FormatError::ChecksumMismatch);
    }
    bincode::deserialize(body).map_err(FormatError::DecodeIndex)
}

/// Read the index file at `path`; `None` when missing or corrupt (logged).
pub(super) fn read(path: &Path) -> Option<SavedIndex> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!("store: cannot read {}: {e}; rebuilding", path.display());
            return None;
        }
    };
    match decode(&bytes) {
        Ok(saved) => Some(saved),
        Err(why) => {
            tracing::warn!(
                "store: index {} is corrupt ({why}); rebuilding",
                path.display()
            );
            None
        }
    }
}

impl Store {
    /// Save the in-memory index atomically to `<root>/index` (temp file in
    /// `<root>/tmp`, then rename). Call periodically and on shutdown.
    ///
    /// Errors: [`StoreError::ReadOnly`] / [`StoreError::Io`] when the file
    /// cannot be written.
    pub(crate) fn flush_index(&self) -> Result<(), StoreError> {
        let _serial = self.flush_lock.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = encode(&self.lock()).map_err(StoreError::corrupt)?;
        let dir = self.temp_area.dir();
        let mut tmp = fsutil::temp_in(&dir, ".index-")
            .map_err(|e| StoreError::write("create temp file in", &dir, e))?;
        tmp.write_all(&bytes)
            .map_err(|e| StoreError::write("write", tmp.path(), e))?;
        let path = self.index_path();
        tmp.persist(&path)
            .map_err(|e| StoreError::write("move index into", &path, e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let mut index = Index::default();
        index.add_blob(BlobId::of_bytes(b"a"), 1);
        let meta = RecordMeta {
            size: 9,
            mtime_ns: 5,
            blobs: vec![BlobId::of_bytes(b"a")],
            last_use_ms: 7,
        };
        index.insert_record((RecordKind::Entry, RecordKey([1; 32])), meta.clone());
        let bytes = encode(&index).unwrap();
        let saved = decode(&bytes).unwrap();
        assert_eq!(
            saved.records,
            vec![(RecordKind::Entry, RecordKey([1; 32]), meta)]
        );
        assert_eq!(saved.blobs, vec![(BlobId::of_bytes(b"a"), 1)]);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            match decode(&bad) {
                Err(FormatError::BadMagic) => assert!(i < 8, "flip at {i}"),
                Err(FormatError::ChecksumMismatch) => assert!(i >= 8, "flip at {i}"),
                other => panic!("flip at {i}: {other:?}"),
            }
        }
        for len in 0..bytes.len() {
            match decode(&bytes[..len]) {
                Err(FormatError::IndexTruncated) => assert!(len < 40, "truncated to {len}"),
                Err(FormatError::ChecksumMismatch) => assert!(len >= 40, "truncated to {len}"),
                other => panic!("truncated to {len}: {other:?}"),
            }
        }
    }

    #[test]
    fn undecodable_body_is_reported() {
        let body = [0xffu8; 3];
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(blake3::hash(&body).as_bytes());
        bytes.extend_from_slice(&body);
        assert!(matches!(decode(&bytes), Err(FormatError::DecodeIndex(_))));
    }
}
