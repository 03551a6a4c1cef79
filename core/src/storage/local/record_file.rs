//! On-disk format of a record file, pure encode/decode with no I/O.
//!
//! Layout: `MAGIC` (8 bytes) | blake3 of everything after the checksum
//! (32 bytes) | header length (u32 little endian) | bincode header (kind,
//! key, referenced blobs) | payload. The header lets the index be rebuilt
//! from the record files alone; the checksum covers header and payload.

use super::format_error::FormatError;
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

/// Encode a record file.
///
/// Errors: [`FormatError::EncodeHeader`] if the header cannot be serialized,
/// [`FormatError::HeaderTooLarge`] if it exceeds the u32 length field.
pub(super) fn encode(header: &RecordHeader, payload: &[u8]) -> Result<Vec<u8>, FormatError> {
    let head = bincode::serialize(header).map_err(FormatError::EncodeHeader)?;
    let head_len = u32::try_from(head.len()).map_err(|_| FormatError::HeaderTooLarge)?;
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

/// Decode and verify a record file; returns its header and payload.
///
/// Errors: [`FormatError::Truncated`], [`FormatError::BadMagic`],
/// [`FormatError::ChecksumMismatch`], [`FormatError::HeaderPastEnd`] or
/// [`FormatError::DecodeHeader`], saying what is wrong with the bytes.
pub(super) fn decode(bytes: &[u8]) -> Result<(RecordHeader, &[u8]), FormatError> {
    if bytes.len() < PREFIX_LEN {
        return Err(FormatError::Truncated { len: bytes.len() });
    }
    let (magic, rest) = bytes.split_at(8);
    if magic != MAGIC {
        return Err(FormatError::BadMagic);
    }
    let (sum, body) = rest.split_at(32);
    if blake3::hash(body).as_bytes() != sum {
        return Err(FormatError::ChecksumMismatch);
    }
    let (len_bytes, rest) = body.split_at(4);
    let mut len_le = [0u8; 4];
    len_le.copy_from_slice(len_bytes);
    let head_len = u32::from_le_bytes(len_le) as usize;
    if head_len > rest.len() {
        return Err(FormatError::HeaderPastEnd);
    }
    let (head, payload) = rest.split_at(head_len);
    let header: RecordHeader = bincode::deserialize(head).map_err(FormatError::DecodeHeader)?;
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
    fn every_truncation_and_bit_flip_is_rejected_with_its_variant() {
        let bytes = encode(&header(), b"payload").unwrap();
        for len in 0..bytes.len() {
            match decode(&bytes[..len]) {
                Err(FormatError::Truncated { len: l }) => {
                    assert!(len < PREFIX_LEN && l == len, "truncated to {len}")
                }
                Err(FormatError::ChecksumMismatch) => assert!(len >= PREFIX_LEN, "{len}"),
                other => panic!("truncated to {len}: {other:?}"),
            }
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            match decode(&bad) {
                Err(FormatError::BadMagic) => assert!(i < 8, "flip at {i}"),
                Err(FormatError::ChecksumMismatch) => assert!(i >= 8, "flip at {i}"),
                other => panic!("flip at {i}: {other:?}"),
            }
        }
    }

    /// A file with a valid magic and checksum over `body` (header length,
    /// header, payload).
    fn sealed(body: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(blake3::hash(body).as_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn bad_header_length_and_bad_header_are_reported() {
        let mut body = 1000u32.to_le_bytes().to_vec();
        body.extend_from_slice(b"short");
        assert!(matches!(
            decode(&sealed(&body)),
            Err(FormatError::HeaderPastEnd)
        ));
        let mut body = 3u32.to_le_bytes().to_vec();
        body.extend_from_slice(&[0xff, 0xff, 0xff]);
        assert!(matches!(
            decode(&sealed(&body)),
            Err(FormatError::DecodeHeader(_))
        ));
    }
}
