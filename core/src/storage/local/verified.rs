//! Blobs this process has verified, by the stat fingerprint their file had
//! then (size, mtime, ctime, inode, device). Restoring a blob whose file
//! still has that fingerprint copies it without hashing it again: every
//! write to the file since (even one that restores its mtime) changes its
//! ctime, so an unchanged fingerprint means unchanged bytes, the same
//! reasoning by which the metadata cache reuses input digests. A racy
//! fingerprint (newer than the coarse clock's current tick) is never
//! remembered. Any other blob is hashed in full while it is copied.

use crate::hash::StatFingerprint;
use std::collections::HashMap;
use std::sync::Mutex;

use super::BlobId;

/// Most blobs remembered; past this the memory starts over (the next
/// restore of each hashes it once more).
const MAX_REMEMBERED: usize = 1 << 16;

/// The blobs verified by this process and the fingerprint each had.
#[derive(Debug, Default)]
pub(super) struct VerifiedBlobs {
    map: Mutex<HashMap<BlobId, StatFingerprint>>,
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
        if fp.is_racy() {
            return;
        }
        if let Ok(mut m) = self.map.lock() {
            if m.len() >= MAX_REMEMBERED {
                m.clear();
            }
            m.insert(id.clone(), fp);
        }
    }

    /// Forget blob `id` (removed from the store, or found corrupt).
    pub(super) fn forget(&self, id: &BlobId) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(id);
        }
    }
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
