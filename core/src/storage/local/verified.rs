//! Blobs this process has verified, by the stat fingerprint their file had
//! then (size, mtime, ctime, inode, device). Restoring a blob whose file
//! still has that fingerprint copies it without hashing it again: every
//! write to the file since (even one that restores its mtime) changes its
//! ctime, so an unchanged fingerprint means unchanged bytes, the same
//! reasoning by which the metadata cache reuses input digests. A racy
//! fingerprint (newer than the coarse clock's current tick) is never
//! remembered. Any other blob is hashed in full while it is copied.
//!
//! A blob this process has just stored is verified in the background
//! ([`VerifiedBlobs::verify_later`], one thread): once its fingerprint is no
//! longer racy, the thread reads it back, hashes it, and remembers it when
//! the hash is its id and the fingerprint did not move during the read, the
//! same check a restore makes. So the first warm build after a cold one
//! copies without hashing too.

use crate::hash::StatFingerprint;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::BlobId;

/// Most blobs remembered; past this the memory starts over (the next
/// restore of each hashes it once more).
const MAX_REMEMBERED: usize = 1 << 16;

/// How long the background thread waits at most for a new blob's
/// fingerprint to stop being racy (the coarse clock ticks every 1–10 ms).
const SETTLE_WAIT: Duration = Duration::from_millis(200);

type Remembered = Arc<Mutex<HashMap<BlobId, StatFingerprint>>>;

/// The blobs verified by this process and the fingerprint each had.
#[derive(Debug, Default)]
pub(super) struct VerifiedBlobs {
    map: Remembered,
    /// The background thread's queue of new blobs; started on first use.
    later: Mutex<Option<Sender<(BlobId, PathBuf)>>>,
}

impl VerifiedBlobs {
    /// True when blob `id` was verified while its file had fingerprint `fp`.
    pub(super) fn holds(&self, id: &BlobId, fp: &StatFingerprint) -> bool {
        self.map
            .lock()
            .map(|m| m.get(id) == Some(fp))
            .unwrap_or(false)
    }

    /// Remember that blob `id` hashed to its id while its file had `fp`
    /// (before and after the read). Racy fingerprints are not remembered.
    pub(super) fn record(&self, id: &BlobId, fp: StatFingerprint) {
        remember(&self.map, id, fp);
    }

    /// Verify blob `id`, just written to `path` by this process, on the
    /// background thread once its fingerprint is no longer racy; remember
    /// it if it checks out. Best effort: nothing happens when the thread
    /// cannot be started or the file cannot be read.
    pub(super) fn verify_later(&self, id: BlobId, path: PathBuf) {
        let Ok(mut later) = self.later.lock() else {
            return;
        };
        if later.is_none() {
            *later = start_thread(Arc::clone(&self.map));
        }
        if let Some(tx) = later.as_ref() {
            if tx.send((id, path)).is_err() {
                *later = None;
            }
        }
    }

    /// Forget blob `id` (removed from the store, or found corrupt).
    pub(super) fn forget(&self, id: &BlobId) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(id);
        }
    }
}

fn remember(map: &Remembered, id: &BlobId, fp: StatFingerprint) {
    if fp.is_racy() {
        return;
    }
    if let Ok(mut m) = map.lock() {
        if m.len() >= MAX_REMEMBERED {
            m.clear();
        }
        m.insert(id.clone(), fp);
    }
}

/// The background verifier; it ends when the queue's sender is dropped.
fn start_thread(map: Remembered) -> Option<Sender<(BlobId, PathBuf)>> {
    let (tx, rx) = mpsc::channel::<(BlobId, PathBuf)>();
    std::thread::Builder::new()
        .name("zccache-verify".into())
        .spawn(move || {
            for (id, path) in rx {
                if let Some(fp) = settled_fingerprint(&id, &path) {
                    remember(&map, &id, fp);
                }
            }
        })
        .ok()?;
    Some(tx)
}

/// The fingerprint blob `id` at `path` had, not racy, while it hashed to
/// `id`; `None` when it cannot be read, stays racy past [`SETTLE_WAIT`],
/// changes while read, or does not hash to `id`.
fn settled_fingerprint(id: &BlobId, path: &Path) -> Option<StatFingerprint> {
    let mut file = File::open(path).ok()?;
    let of = |f: &File| f.metadata().ok().map(|m| StatFingerprint::of(&m));
    let waited = std::time::Instant::now();
    let mut before = of(&file)?;
    while before.is_racy() {
        if waited.elapsed() > SETTLE_WAIT {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
        before = of(&file)?;
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(&mut file).ok()?;
    let same = of(&file)? == before && BlobId::from_hash(&hasher.finalize()) == *id;
    same.then_some(before)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(ctime_ns: i64) -> StatFingerprint {
        StatFingerprint {
            size: 10,
            mtime_ns: 1_000_000_000,
            ctime_ns,
            ino: 7,
            dev: 1,
        }
    }

    #[test]
    fn only_the_recorded_fingerprint_holds_and_racy_ones_are_not_recorded() {
        let v = VerifiedBlobs::default();
        let id = BlobId("ab".repeat(32));
        v.record(&id, fp(1_000_000_000));
        assert!(v.holds(&id, &fp(1_000_000_000)));
        assert!(!v.holds(&id, &fp(1_000_000_001)), "a new ctime is a change");
        v.forget(&id);
        assert!(!v.holds(&id, &fp(1_000_000_000)));
        v.record(&id, fp(i64::MAX));
        assert!(!v.holds(&id, &fp(i64::MAX)), "racy: never remembered");
    }
}
