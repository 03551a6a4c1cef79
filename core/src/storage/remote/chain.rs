//! The chain of remote tiers behind the local store: lookups try each tier
//! in order and verify what they get (the wire framing's blake3 over every
//! record, and every blob against its content address) before anything is
//! used or stored; a hit from a slower tier is written back into every
//! faster tier (backfill). Writes go to a bounded background queue, so a
//! miss's reply never waits for a server.

use super::names::{blob_key, entry_key, manifest_key};
use super::tier::Tier;
use super::wire::{self, ObjectKind, MAX_BLOB_BYTES, MAX_RECORD_BYTES};
use super::writer::{Upload, Writer};
use crate::storage::local::{BlobId, RecordKey, Store};
use crate::storage::{Entry, EntryKind, InputSet, Manifest};
use std::sync::Arc;

/// The configured tiers, in lookup order, and their writer.
#[derive(Debug)]
pub(crate) struct RemoteChain {
    tiers: Vec<Arc<Tier>>,
    writer: Writer,
}

impl RemoteChain {
    /// A chain over `tiers` (in order) writing with a background thread
    /// that reads blobs from `local`.
    pub(crate) fn new(tiers: Vec<Tier>, local: Arc<Store>) -> RemoteChain {
        let tiers: Vec<Arc<Tier>> = tiers.into_iter().map(Arc::new).collect();
        let writer = Writer::start(tiers.clone(), local);
        RemoteChain { tiers, writer }
    }

    /// The tiers, in lookup order.
    pub(crate) fn tiers(&self) -> &[Arc<Tier>] {
        &self.tiers
    }

    /// Wait at most `limit` for the queued uploads to be written; returns
    /// how many were still pending (see [`Writer::wait_idle`]).
    pub(crate) fn wait_uploads(&self, limit: std::time::Duration) -> usize {
        self.writer.wait_idle(limit)
    }

    /// The manifest of `key` from the first tier that has a valid one, with
    /// that tier's index; faster tiers are backfilled.
    pub(crate) fn manifest(&self, key: &RecordKey) -> Option<(Manifest, usize)> {
        for (i, tier) in self.tiers.iter().enumerate() {
            let Some(bytes) = get(tier, &manifest_key(key)) else {
                continue;
            };
            let decoded = wire::decode(&bytes, ObjectKind::Manifest, MAX_RECORD_BYTES)
                .ok()
                .and_then(|p| Manifest::decode(&p));
            let Some(m) = decoded else {
                Tier::count(&tier.counters.corrupt, 1);
                continue;
            };
            Tier::count(&tier.counters.hits, 1);
            let manifest = m.clone();
            self.backfill(
                i,
                Upload::Manifest {
                    key: *key,
                    manifest,
                },
            );
            return Some((m, i));
        }
        None
    }

    /// The entry `key` (of `kind`) from the first tier that has it whole
    /// and valid: the record and every blob are verified and the blobs are
    /// stored in `local` before it is returned, with the tier's index.
    /// Faster tiers are backfilled.
    pub(crate) fn entry(
        &self,
        key: &RecordKey,
        kind: EntryKind,
        local: &Store,
    ) -> Option<(Entry, usize)> {
        for (i, tier) in self.tiers.iter().enumerate() {
            let Some(bytes) = get(tier, &entry_key(key)) else {
                continue;
            };
            let decoded = wire::decode(&bytes, ObjectKind::Entry, MAX_RECORD_BYTES)
                .ok()
                .and_then(|p| Entry::decode(&p))
                .filter(|e| e.kind == kind);
            let Some(entry) = decoded else {
                Tier::count(&tier.counters.corrupt, 1);
                continue;
            };
            if !fetch_blobs(tier, &entry, local) {
                continue;
            }
            Tier::count(&tier.counters.hits, 1);
            self.backfill(
                i,
                Upload::Entry {
                    key: *key,
                    entry: entry.clone(),
                },
            );
            return Some((entry, i));
        }
        None
    }

    /// Queue the upload of a stored entry (its blobs first) to every
    /// writable tier.
    pub(crate) fn upload_entry(&self, key: &RecordKey, entry: &Entry) {
        let all: Vec<usize> = (0..self.tiers.len()).collect();
        let upload = Upload::Entry {
            key: *key,
            entry: entry.clone(),
        };
        self.writer.send(upload, all, false);
    }

    /// Queue adding `set` to the manifest of `key` on every writable tier
    /// (merged with what the tier holds).
    pub(crate) fn upload_input_set(&self, key: &RecordKey, set: InputSet) {
        let mut manifest = Manifest::default();
        manifest.add(set);
        let all: Vec<usize> = (0..self.tiers.len()).collect();
        self.writer.send(
            Upload::Manifest {
                key: *key,
                manifest,
            },
            all,
            false,
        );
    }

    /// Write what tier `served` had into the tiers before it.
    fn backfill(&self, served: usize, upload: Upload) {
        if served > 0 {
            self.writer.send(upload, (0..served).collect(), true);
        }
    }
}

/// GET `key` from `tier`, counting misses and bytes.
fn get(tier: &Tier, key: &str) -> Option<Vec<u8>> {
    match tier.call(|b| b.get(key))? {
        Some(bytes) => {
            Tier::count(&tier.counters.bytes_read, bytes.len() as u64);
            Some(bytes)
        }
        None => {
            Tier::count(&tier.counters.misses, 1);
            None
        }
    }
}

/// Download every blob of `entry` that `local` lacks, verify it against
/// its content address and store it; false when any is missing or bad.
fn fetch_blobs(tier: &Tier, entry: &Entry, local: &Store) -> bool {
    for id in entry.blobs() {
        if local.has_blob(&id) {
            continue;
        }
        let key = blob_key(&id);
        let Some(bytes) = get(tier, &key) else {
            return false;
        };
        let content = match wire::decode(&bytes, ObjectKind::Blob, MAX_BLOB_BYTES) {
            Ok(c) if BlobId::of_bytes(&c) == id => c,
            _ => {
                Tier::count(&tier.counters.corrupt, 1);
                tier.mark_bad(&key);
                return false;
            }
        };
        if local.put_blob_bytes(&content).is_err() {
            return false;
        }
    }
    true
}
