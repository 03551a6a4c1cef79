//! The payload of a cargo warm snapshot record ([`RecordKind::Snapshot`](crate::storage::local::RecordKind::Snapshot)):
//! `MAGIC` (8 bytes) | bincode [`Snapshot`]. The record file around it is
//! checksummed by the store; a payload that does not decode or names an
//! unsafe path is removed and treated as absent.

use super::RustWarmError;
use crate::cargo_warm::check_group;
use crate::ipc::{WarmFile, WarmGroupListing, WarmListing};
use crate::storage::{BlobId, RecordKey, Storage};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// First bytes of a snapshot payload (format version 1).
const MAGIC: &[u8; 8] = b"ZCWARM01";

/// A saved snapshot: the unit groups of one build dir.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Snapshot {
    /// The absolute build dir the paths are relative to.
    pub target_dir: PathBuf,
    /// The unit groups.
    pub groups: Vec<SnapGroup>,
}

/// One unit group of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct SnapGroup {
    /// The profile dir, e.g. `debug`.
    pub profile: String,
    /// The unit, `<package name>-<hash>`.
    pub unit: String,
    /// Its directories (relative to the build dir).
    pub dirs: Vec<String>,
    /// Its files.
    pub files: Vec<SnapFile>,
}

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct SnapFile {
    /// Path relative to the build dir.
    pub path: String,
    /// The blob holding its content.
    pub blob: BlobId,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// Modification time, ns since the Unix epoch.
    pub mtime_ns: u64,
}

impl SnapGroup {
    /// `profile/unit`, for messages.
    pub(super) fn name(&self) -> String {
        format!("{}/{}", self.profile, self.unit)
    }
}

impl Snapshot {
    /// The payload bytes.
    ///
    /// Errors: [`RustWarmError::Encode`] when bincode fails.
    pub(super) fn encode(&self) -> Result<Vec<u8>, RustWarmError> {
        let body = bincode::serialize(self).map_err(|e| RustWarmError::Encode(e.to_string()))?;
        Ok([MAGIC.as_slice(), &body].concat())
    }

    /// Decode a payload and check every group's paths; `None` when it is
    /// not a valid snapshot.
    pub(super) fn decode(bytes: &[u8]) -> Option<Snapshot> {
        let body = bytes.strip_prefix(MAGIC.as_slice())?;
        let snap: Snapshot = bincode::deserialize(body).ok()?;
        let valid = snap.groups.iter().all(|g| {
            let files = g.files.iter().map(|f| f.path.as_str());
            check_group(
                &g.profile,
                &g.unit,
                g.dirs.iter().map(String::as_str),
                files,
            )
            .is_ok()
        });
        valid.then_some(snap)
    }

    /// Every blob the snapshot references.
    pub(super) fn blobs(&self) -> Vec<BlobId> {
        let all = self.groups.iter().flat_map(|g| &g.files);
        all.map(|f| f.blob.clone()).collect()
    }

    /// The snapshot as listed to clients (no blob ids).
    pub(super) fn listing(&self) -> WarmListing {
        let groups = self.groups.iter().map(|g| WarmGroupListing {
            profile: g.profile.clone(),
            unit: g.unit.clone(),
            dirs: g.dirs.clone(),
            files: g
                .files
                .iter()
                .map(|f| WarmFile {
                    path: f.path.clone(),
                    size: f.size,
                    mode: f.mode,
                    mtime_ns: f.mtime_ns,
                })
                .collect(),
        });
        WarmListing {
            target_dir: self.target_dir.clone(),
            groups: groups.collect(),
        }
    }
}

/// The snapshot stored under `scope`, or `None`. A corrupt record (removed
/// by the store) or an undecodable payload (removed here) counts as none.
///
/// Errors: [`RustWarmError::Store`] when the record cannot be read.
pub(super) fn load(store: &Storage, scope: &RecordKey) -> Result<Option<Snapshot>, RustWarmError> {
    let bytes = match store.get_snapshot(scope) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(crate::storage::StoreError::Corrupt { what }) => {
            tracing::warn!("rust warm: dropped a corrupt snapshot: {what}");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    let snap = Snapshot::decode(&bytes);
    if snap.is_none() {
        tracing::warn!(
            "rust warm: snapshot {} does not decode; removing it",
            scope.to_hex()
        );
        store.remove_snapshot(scope);
    }
    Ok(snap)
}

/// Store `snap` under `scope`, replacing any previous snapshot.
///
/// Errors: [`RustWarmError::Store`] (e.g. a blob evicted meanwhile).
pub(super) fn put(
    store: &Storage,
    scope: &RecordKey,
    snap: &Snapshot,
) -> Result<(), RustWarmError> {
    let payload = snap.encode()?;
    store.put_snapshot(scope, &payload, &snap.blobs())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        Snapshot {
            target_dir: PathBuf::from("/w/target"),
            groups: vec![SnapGroup {
                profile: "debug".into(),
                unit: "dep-0123456789abcdef".into(),
                dirs: vec!["debug/.fingerprint/dep-0123456789abcdef".into()],
                files: vec![SnapFile {
                    path: "debug/deps/libdep-0123456789abcdef.rlib".into(),
                    blob: BlobId::of_bytes(b"rlib"),
                    size: 4,
                    mode: 0o644,
                    mtime_ns: 1,
                }],
            }],
        }
    }

    #[test]
    fn round_trip_and_rejects_bad_payloads() {
        let snap = sample();
        let bytes = snap.encode().unwrap();
        assert_eq!(Snapshot::decode(&bytes), Some(snap.clone()));
        assert_eq!(Snapshot::decode(&bytes[1..]), None);
        assert_eq!(Snapshot::decode(&bytes[..bytes.len() - 1]), None);
        let mut evil = snap;
        evil.groups[0].files[0].path = "debug/deps/../../../etc/x".into();
        assert_eq!(Snapshot::decode(&evil.encode().unwrap()), None);
    }
}
