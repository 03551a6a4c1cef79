//! Remote writes in the background: a bounded queue drained by one thread,
//! so a miss's reply never waits for a server. A full queue drops the
//! upload (that result then stays local: the next build hits locally and
//! uploads nothing). When the daemon stops, it waits a bounded time for
//! the queue to empty ([`Writer::wait_idle`]). Read-only
//! tiers are never written; a blob the tier already holds is not uploaded
//! again; a manifest is merged with the tier's copy before it is written,
//! so machines add to each other's manifests instead of replacing them.

use super::names::{blob_key, entry_key, manifest_key};
use super::tier::Tier;
use super::wire::{self, ObjectKind, MAX_RECORD_BYTES};
use crate::storage::local::{RecordKey, Store};
use crate::storage::{Entry, Manifest};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Uploads waiting at most; more are dropped.
const QUEUE_LEN: usize = 1024;

/// One thing to write.
#[derive(Debug, Clone)]
pub(crate) enum Upload {
    /// An entry record and its blobs.
    Entry {
        /// Its key.
        key: RecordKey,
        /// The entry.
        entry: Entry,
    },
    /// Input sets to merge into a manifest.
    Manifest {
        /// The context key.
        key: RecordKey,
        /// The sets to add.
        manifest: Manifest,
    },
}

/// The sending side of the background writer.
#[derive(Debug)]
pub(crate) struct Writer {
    sender: SyncSender<Job>,
    /// Uploads queued or being written.
    pending: Arc<AtomicUsize>,
    /// False when the writer thread could not be started: nothing is
    /// queued then (and nothing waited for).
    running: bool,
}

/// An upload, its target tiers, and whether it is a backfill.
type Job = (Upload, Vec<usize>, bool);

impl Writer {
    /// Start the writer thread for `tiers`, reading blobs from `local`.
    pub(crate) fn start(tiers: Vec<Arc<Tier>>, local: Arc<Store>) -> Writer {
        let (sender, receiver) = sync_channel(QUEUE_LEN);
        let pending = Arc::new(AtomicUsize::new(0));
        let done = pending.clone();
        let spawned = std::thread::Builder::new()
            .name("zccache-remote-write".into())
            .spawn(move || drain(receiver, &tiers, &local, &done));
        if let Err(e) = &spawned {
            tracing::warn!(error = %e, "cannot start the remote writer; nothing will be uploaded");
        }
        Writer {
            sender,
            pending,
            running: spawned.is_ok(),
        }
    }

    /// Wait until every queued upload was written (or failed), at most
    /// `limit`; returns how many were still pending then (0: all done).
    pub(crate) fn wait_idle(&self, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            let left = self.pending.load(Ordering::SeqCst);
            if left == 0 || Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Queue `upload` for the tiers at `targets` (dropped when the queue is
    /// full); `backfill` counts successful writes as backfills.
    pub(crate) fn send(&self, upload: Upload, targets: Vec<usize>, backfill: bool) {
        if !self.running {
            return;
        }
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.sender.try_send((upload, targets, backfill)).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            tracing::debug!("remote write queue full; upload dropped");
        }
    }
}

fn drain(receiver: Receiver<Job>, tiers: &[Arc<Tier>], local: &Store, pending: &AtomicUsize) {
    while let Ok((upload, targets, backfill)) = receiver.recv() {
        write_job(&upload, targets, backfill, tiers, local);
        pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Write one upload to each writable tier of `targets`.
fn write_job(
    upload: &Upload,
    targets: Vec<usize>,
    backfill: bool,
    tiers: &[Arc<Tier>],
    local: &Store,
) {
    for i in targets {
        let Some(tier) = tiers.get(i).filter(|t| !t.spec.read_only) else {
            continue;
        };
        let written = match upload {
            Upload::Entry { key, entry } => write_entry(tier, key, entry, local),
            Upload::Manifest { key, manifest } => write_manifest(tier, key, manifest),
        };
        if written && backfill {
            Tier::count(&tier.counters.backfills, 1);
        }
    }
}

/// Upload the blobs the tier lacks, then the record; false on failure (a
/// blob the tier refuses, e.g. one over memcached's item size, leaves the
/// record out too: it would point at a blob the tier lacks).
fn write_entry(tier: &Tier, key: &RecordKey, entry: &Entry, local: &Store) -> bool {
    for id in entry.blobs() {
        let k = blob_key(&id);
        match tier.call(|b| b.exists(&k)) {
            Some(true) if !tier.is_bad(&k) => continue,
            Some(_) => {}
            None => return false,
        }
        let Ok(content) = local.read_blob(&id) else {
            return false;
        };
        if !put(tier, &k, ObjectKind::Blob, &content) {
            return false;
        }
    }
    put(tier, &entry_key(key), ObjectKind::Entry, &entry.encode())
}

/// Merge `ours` into the tier's manifest of `key` and write it back;
/// false on failure.
fn write_manifest(tier: &Tier, key: &RecordKey, ours: &Manifest) -> bool {
    let k = manifest_key(key);
    let Some(existing) = tier.call(|b| b.get(&k)) else {
        return false;
    };
    let mut merged = existing
        .and_then(|bytes| wire::decode(&bytes, ObjectKind::Manifest, MAX_RECORD_BYTES).ok())
        .and_then(|p| Manifest::decode(&p))
        .unwrap_or_default();
    for set in ours.sets.iter().rev() {
        merged.add(set.clone());
    }
    put(tier, &k, ObjectKind::Manifest, &merged.encode())
}

/// Frame and PUT one object; false on failure (counted by the tier).
fn put(tier: &Tier, key: &str, kind: ObjectKind, payload: &[u8]) -> bool {
    let Ok(bytes) = wire::encode(kind, payload) else {
        return false;
    };
    let ok = tier.call(|b| b.put(key, &bytes)).is_some();
    if ok {
        tier.mark_good(key);
        Tier::count(&tier.counters.writes, 1);
        Tier::count(&tier.counters.bytes_written, bytes.len() as u64);
    }
    ok
}
