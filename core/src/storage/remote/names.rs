//! The keys of objects on a remote tier: `e/<hex>` (entry records),
//! `m/<hex>` (manifests), `b/<blake3 hex>` (blobs).

use crate::storage::local::{BlobId, RecordKey};

/// Remote key of an entry record.
pub(crate) fn entry_key(key: &RecordKey) -> String {
    format!("e/{}", key.to_hex())
}

/// Remote key of a manifest.
pub(crate) fn manifest_key(key: &RecordKey) -> String {
    format!("m/{}", key.to_hex())
}

/// Remote key of a blob.
pub(crate) fn blob_key(id: &BlobId) -> String {
    format!("b/{}", id.0)
}
