//! What travels to and from a remote tier: every object (an entry record,
//! a manifest, a blob) is framed as `ZCCR` (4 bytes) | format version (1
//! byte) | kind (1 byte) | blake3 of the uncompressed payload (32 bytes) |
//! zstd-compressed payload. Decoding checks everything and bounds the
//! decompressed size, so bytes from a server are treated like bytes from
//! the network: a bad or hostile object is an error (a counted miss),
//! never served and never stored locally.

use std::io::Read;

/// First bytes of every remote object.
const MAGIC: &[u8; 4] = b"ZCCR";
/// Version of the framing; an object of another version is a miss.
const WIRE_VERSION: u8 = 1;
/// Bytes before the compressed payload.
const HEADER_LEN: usize = 4 + 1 + 1 + 32;
/// zstd level for uploads (fast; objects are compressed once, read many times).
const ZSTD_LEVEL: i32 = 3;
/// Largest decompressed record (entry or manifest), bytes.
pub(crate) const MAX_RECORD_BYTES: u64 = 64 << 20;
/// Largest decompressed blob, bytes.
pub(crate) const MAX_BLOB_BYTES: u64 = 4 << 30;

/// What an object is; the kind byte must match what the key asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObjectKind {
    /// An entry record (`storage::Entry`, bincode).
    Entry = 1,
    /// A manifest (`storage::Manifest`, bincode).
    Manifest = 2,
    /// A blob's content.
    Blob = 3,
}

/// Why remote bytes were rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WireError {
    /// Shorter than the header, or not our magic.
    #[error("not a zccache object")]
    NotOurs,
    /// Another framing version.
    #[error("wire version {0}")]
    Version(u8),
    /// Another kind than the key asked for.
    #[error("object kind {0}")]
    Kind(u8),
    /// The payload does not decompress, or exceeds the size bound.
    #[error("payload: {0}")]
    Payload(String),
    /// The payload's blake3 differs from the header's.
    #[error("checksum mismatch")]
    Checksum,
}

/// Frame `payload` as an object of `kind`.
///
/// Errors: zstd's error text (in-memory compression does not fail in
/// practice).
pub(crate) fn encode(kind: ObjectKind, payload: &[u8]) -> Result<Vec<u8>, String> {
    let body = zstd::bulk::compress(payload, ZSTD_LEVEL).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.push(WIRE_VERSION);
    out.push(kind as u8);
    out.extend_from_slice(blake3::hash(payload).as_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Check and unpack an object that must be of `kind`, with at most `max`
/// bytes of payload.
///
/// Errors: [`WireError`] for anything but a well-formed object of `kind`.
pub(crate) fn decode(bytes: &[u8], kind: ObjectKind, max: u64) -> Result<Vec<u8>, WireError> {
    if bytes.len() < HEADER_LEN || &bytes[..4] != MAGIC {
        return Err(WireError::NotOurs);
    }
    if bytes[4] != WIRE_VERSION {
        return Err(WireError::Version(bytes[4]));
    }
    if bytes[5] != kind as u8 {
        return Err(WireError::Kind(bytes[5]));
    }
    let payload = decompress(&bytes[HEADER_LEN..], max)?;
    if blake3::hash(&payload).as_bytes() != &bytes[6..HEADER_LEN] {
        return Err(WireError::Checksum);
    }
    Ok(payload)
}

/// zstd-decompress at most `max` bytes (a larger payload is an error, so a
/// hostile object cannot make us allocate without bound).
fn decompress(body: &[u8], max: u64) -> Result<Vec<u8>, WireError> {
    let decoder =
        zstd::stream::read::Decoder::new(body).map_err(|e| WireError::Payload(e.to_string()))?;
    let mut out = Vec::new();
    decoder
        .take(max + 1)
        .read_to_end(&mut out)
        .map_err(|e| WireError::Payload(e.to_string()))?;
    if out.len() as u64 > max {
        return Err(WireError::Payload(format!("larger than {max} bytes")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_corruption_is_rejected() {
        let payload = b"an entry record".repeat(10);
        let bytes = encode(ObjectKind::Entry, &payload).unwrap();
        assert_eq!(
            decode(&bytes, ObjectKind::Entry, 1 << 20),
            Ok(payload.clone())
        );
        assert_eq!(
            decode(&bytes, ObjectKind::Blob, 1 << 20),
            Err(WireError::Kind(1))
        );
        assert!(decode(&bytes, ObjectKind::Entry, 10).is_err(), "size bound");
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len], ObjectKind::Entry, 1 << 20).is_err(),
                "cut at {len}"
            );
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert!(
                decode(&bad, ObjectKind::Entry, 1 << 20).is_err(),
                "flip at {i}"
            );
        }
    }
}
