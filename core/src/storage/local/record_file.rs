//! On-disk format of a record file, pure encode/decode with no I/O.
//!
//! Layout: `MAGIC` (8 bytes) | blake3 of everything after the checksum
//! (32 bytes) | header length (u32 little endian) | bincode header (kind,
//! key, referenced blobs) | payload. The header lets the index be rebuilt
//! from the record files alone; the checksum covers header and payload.

use super::ids::{BlobId, RecordKey, RecordKind};

/// First bytes of every record file (format version 1).
const MAGIC: &[u8; 8] = b"ZCCREC01";
/// Bytes before the header: magic, checksum, header length.
const PREFIX_LEN: usize = 8 + 32 + 4;

/// Header stored in front of a record's payload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct RecordHeader {
    /// Kind of the record (must match the file name).
    pub kind: RecordKind,
    /// Key of the record (must match the file name).
    pub key: RecordKey,
    /// Blobs the record references.
    pub blobs: Vec<BlobId>,
}

/// Encode a record file. Fails only if the header cannot be serialized.
pub(super) fn encode(header: &RecordHeader, payload: &[u8]) -> Result<Vec<u8>, String> {
    let head = bincode::serialize(header).map_err(|e| format!("record header: {e}"))?;
    let head_len = u32::try_from(head.len()).map_err(|_| "record header too large".to_string())?;
    let mut out = Vec::with_capacity(PREFIX_LEN + head.len() + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[0u8; 32]);
    out.extend_from_slice(&head_len.to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
    let sum = blake3::hash(&out[40..]);
    out[8..40].copy_from_slice(sum.as_bytes());
    Ok(out)
}

/// Decode and verify a record file; returns its header and payload, or a
/// description of what is wrong with it.
pub(super) fn decode(bytes: &[u8]) -> Result<(RecordHeader, &[u8]), String> {
    if bytes.len() < PREFIX_LEN {
        return Err(format!("truncated ({} bytes)", bytes.len()));
    }
    let (magic, rest) = bytes.split_at(8);
    if magic != MAGIC {
        return Err("bad magic".to_string());
    }
    let (sum, body) = rest.split_at(32);
    if blake3::hash(body).as_bytes() != sum {
        return Err("checksum mismatch".to_string());
    }
    let (len_bytes, rest) = body.split_at(4);
    let mut len_le = [0u8; 4];
    len_le.copy_from_slice(len_bytes);
    let head_len = u32::from_le_bytes(len_le) as usize;
    if head_len > rest.len() {
        return Err("header length past end of file".to_string());
    }
    let (head, payload) = rest.split_at(head_len);
    let header: RecordHeader =
        bincode::deserialize(head).map_err(|e| format!("bad header: {e}"))?;
    Ok((header, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RecordHeader {
        RecordHeader {
            kind: RecordKind::Manifest,
            key: RecordKey([7; 32]),
            blobs: vec![BlobId::of_bytes(b"x")],
        }
    }

    #[test]
    fn round_trip() {
        let bytes = encode(&header(), b"payload").unwrap();
        let (h, p) = decode(&bytes).unwrap();
        assert_eq!(h, header());
        assert_eq!(p, b"payload");
    }

    #[test]
    fn every_truncation_and_bit_flip_is_rejected() {
        let bytes = encode(&header(), b"payload").unwrap();
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "truncated to {len}");
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(decode(&bad).is_err(), "flip at {i}");
        }
    }
}
