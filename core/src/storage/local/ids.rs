//! Names of stored objects: [`BlobId`] (blake3 hex of a blob's content),
//! [`RecordKey`] (32-byte key of a record) and [`RecordKind`] (entry or
//! manifest). Ids are validated before they are turned into paths, so an id
//! read from a corrupt payload can never point outside the store.

use std::fmt;

/// blake3 hex digest (64 lowercase hex chars) naming a blob.
///
/// Anyone may build one from a string; store operations reject an id that is
/// not 64 lowercase hex chars with [`super::StoreError::Corrupt`].
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub(crate) struct BlobId(pub String);

impl BlobId {
    /// The id of a blob with this blake3 hash.
    pub(crate) fn from_hash(hash: &blake3::Hash) -> BlobId {
        BlobId(hash.to_hex().to_string())
    }

    /// The id of `data` (its blake3 hash).
    pub(crate) fn of_bytes(data: &[u8]) -> BlobId {
        BlobId::from_hash(&blake3::hash(data))
    }

    /// True when the id is exactly 64 lowercase hex chars.
    pub(crate) fn is_valid(&self) -> bool {
        is_lower_hex64(&self.0)
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// 32-byte key of a record (an entry or a manifest); hex in file names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) struct RecordKey(pub [u8; 32]);

impl RecordKey {
    /// The key as 64 lowercase hex chars.
    pub(crate) fn to_hex(self) -> String {
        blake3::Hash::from(self.0).to_hex().to_string()
    }

    /// Parse 64 lowercase hex chars; `None` for anything else.
    pub(crate) fn from_hex(hex: &str) -> Option<RecordKey> {
        if !is_lower_hex64(hex) {
            return None;
        }
        blake3::Hash::from_hex(hex)
            .ok()
            .map(|h| RecordKey(*h.as_bytes()))
    }
}

/// What a record holds: a cache entry, a manifest or a cargo warm
/// snapshot. Records of different kinds with the same key are distinct
/// files. New kinds are appended (bincode encodes the variant index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) enum RecordKind {
    /// A cache entry (outputs of one compile).
    Entry,
    /// A manifest (maps an input context to entries).
    Manifest,
    /// A cargo warm snapshot: the unit files of a target dir's registry and
    /// git crates (`cargo zccache warm`, `crate::daemon::rust_warm`).
    Snapshot,
}

impl RecordKind {
    /// File-name extension of records of this kind (`entry`, `manifest` or
    /// `snapshot`).
    pub(crate) fn extension(self) -> &'static str {
        match self {
            RecordKind::Entry => "entry",
            RecordKind::Manifest => "manifest",
            RecordKind::Snapshot => "snapshot",
        }
    }

    /// The kind whose [`RecordKind::extension`] is `ext`, if any.
    pub(crate) fn from_extension(ext: &str) -> Option<RecordKind> {
        match ext {
            "entry" => Some(RecordKind::Entry),
            "manifest" => Some(RecordKind::Manifest),
            "snapshot" => Some(RecordKind::Snapshot),
            _ => None,
        }
    }
}

/// True when `s` is exactly 64 chars of `0-9a-f`.
pub(super) fn is_lower_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
