//! The in-memory index: for each record its size, referenced blobs and
//! last use; for each blob present on disk its size; and how many records
//! reference each blob. It keeps the running total of bytes that drives
//! eviction. Pure bookkeeping: no file I/O happens here.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use super::ids::{BlobId, RecordKey, RecordKind};

/// Identifies one record: its kind and key.
pub(super) type RecordId = (RecordKind, RecordKey);

/// What the index knows about one record file.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct RecordMeta {
    /// Size of the record file in bytes.
    pub size: u64,
    /// Modification time of the record file, ns since the Unix epoch (0 if unknown);
    /// with `size` it tells whether a saved index still matches the file.
    pub mtime_ns: u64,
    /// Blobs the record references (sorted, no duplicates).
    pub blobs: Vec<BlobId>,
    /// Last use, ms since the Unix epoch (strictly increasing across uses).
    pub last_use_ms: u64,
}

/// What the index knows about one blob file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BlobMeta {
    /// Size of the blob in bytes.
    pub size: u64,
    /// When this process added the blob to the index, ms since the Unix epoch.
    pub added_ms: u64,
}

/// The index proper. Invariant: `total` = sum of record sizes + sum of blob sizes.
#[derive(Debug, Default)]
pub(super) struct Index {
    records: HashMap<RecordId, RecordMeta>,
    blobs: HashMap<BlobId, BlobMeta>,
    refs: HashMap<BlobId, u64>,
    total: u64,
    last_tick: u64,
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Index {
    /// A use time: now in ms, but always greater than the previous one, so
    /// LRU order is exact even within one millisecond.
    pub(super) fn tick(&mut self) -> u64 {
        self.last_tick = now_ms().max(self.last_tick + 1);
        self.last_tick
    }

    /// Number of records.
    pub(super) fn record_count(&self) -> u64 {
        self.records.len() as u64
    }

    /// Total bytes of records and blobs.
    pub(super) fn total_bytes(&self) -> u64 {
        self.total
    }

    /// True when the blob is present.
    pub(super) fn has_blob(&self, id: &BlobId) -> bool {
        self.blobs.contains_key(id)
    }

    /// Record a present blob of `size` bytes; false (and no change) if already present.
    pub(super) fn add_blob(&mut self, id: BlobId, size: u64) -> bool {
        if self.blobs.contains_key(&id) {
            return false;
        }
        let added_ms = now_ms();
        self.blobs.insert(id, BlobMeta { size, added_ms });
        self.total += size;
        true
    }

    /// Forget a blob (references to it are kept); returns its size if it was present.
    pub(super) fn remove_blob(&mut self, id: &BlobId) -> Option<u64> {
        let meta = self.blobs.remove(id)?;
        self.total = self.total.saturating_sub(meta.size);
        Some(meta.size)
    }

    /// Insert or replace a record. Returns the present blobs that no record
    /// references any more (to be deleted by the caller).
    pub(super) fn insert_record(&mut self, id: RecordId, meta: RecordMeta) -> Vec<BlobId> {
        self.last_tick = self.last_tick.max(meta.last_use_ms);
        for blob in &meta.blobs {
            *self.refs.entry(blob.clone()).or_insert(0) += 1;
        }
        self.total += meta.size;
        match self.records.insert(id, meta) {
            Some(old) => self.release(old),
            None => Vec::new(),
        }
    }

    /// Remove a record. Returns its metadata and the present blobs that no
    /// record references any more, or `None` if it was not indexed.
    pub(super) fn remove_record(&mut self, id: &RecordId) -> Option<(RecordMeta, Vec<BlobId>)> {
        let meta = self.records.remove(id)?;
        let freed = self.release(meta.clone());
        Some((meta, freed))
    }

    /// Drop the size and blob references of a record that left the map.
    fn release(&mut self, meta: RecordMeta) -> Vec<BlobId> {
        self.total = self.total.saturating_sub(meta.size);
        let mut freed = Vec::new();
        for blob in meta.blobs {
            let Some(count) = self.refs.get_mut(&blob) else {
                continue;
            };
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.refs.remove(&blob);
                if self.blobs.contains_key(&blob) {
                    freed.push(blob);
                }
            }
        }
        freed
    }

    /// Mark a record as used now; false if it is not indexed.
    pub(super) fn touch(&mut self, id: &RecordId) -> bool {
        let tick = self.tick();
        match self.records.get_mut(id) {
            Some(meta) => {
                meta.last_use_ms = tick;
                true
            }
            None => false,
        }
    }

    /// All records, least recently used first.
    pub(super) fn lru_order(&self) -> Vec<RecordId> {
        let mut ids: Vec<(u64, RecordId)> = self
            .records
            .iter()
            .map(|(id, meta)| (meta.last_use_ms, *id))
            .collect();
        ids.sort_unstable_by_key(|(t, _)| *t);
        ids.into_iter().map(|(_, id)| id).collect()
    }

    /// Present blobs that no record references and that were added before `before_ms`.
    pub(super) fn orphans_added_before(&self, before_ms: u64) -> Vec<BlobId> {
        self.blobs
            .iter()
            .filter(|(id, meta)| meta.added_ms < before_ms && !self.refs.contains_key(*id))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Every record with its metadata (arbitrary order).
    pub(super) fn records(&self) -> impl Iterator<Item = (&RecordId, &RecordMeta)> {
        self.records.iter()
    }

    /// Every present blob with its size in bytes (arbitrary order).
    pub(super) fn blobs(&self) -> impl Iterator<Item = (&BlobId, u64)> {
        self.blobs.iter().map(|(id, meta)| (id, meta.size))
    }
}
