//! Frames: `[u32 LE payload length][u32 LE protocol version][bincode payload]`.
//!
//! The version travels in every frame, so a client and a daemon built from
//! different releases notice at the first message.

use super::protocol::PROTOCOL_VERSION;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{Read, Write};

/// Largest payload accepted, in bytes (256 MiB): guards against garbage.
pub const MAX_FRAME: u32 = 256 << 20;

/// Errors while reading or writing a frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Socket I/O failed (including timeouts and EOF).
    #[error("ipc i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The peer speaks another protocol version.
    #[error("protocol mismatch: peer speaks version {peer}, we speak {ours}")]
    VersionMismatch {
        /// The peer's version.
        peer: u32,
        /// Ours.
        ours: u32,
    },
    /// The length field exceeds [`MAX_FRAME`].
    #[error("frame of {0} bytes is too large")]
    TooLarge(u32),
    /// The payload does not decode.
    #[error("undecodable frame: {0}")]
    Decode(String),
}

/// Encode `msg` as one complete frame.
///
/// Errors: [`FrameError::Decode`] if serialisation fails (it cannot for our
/// types), [`FrameError::TooLarge`] past [`MAX_FRAME`].
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, FrameError> {
    encode_with_version(msg, PROTOCOL_VERSION)
}

/// Like [`encode`] with an explicit version (for mismatch replies and tests).
pub fn encode_with_version<T: Serialize>(msg: &T, version: u32) -> Result<Vec<u8>, FrameError> {
    let payload = bincode::serialize(msg).map_err(|e| FrameError::Decode(e.to_string()))?;
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Split a frame header into (payload length, version).
///
/// Errors: [`FrameError::TooLarge`].
pub fn parse_header(header: &[u8; 8]) -> Result<(u32, u32), FrameError> {
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let version = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    Ok((len, version))
}

/// Decode a payload of the current version.
///
/// Errors: [`FrameError::Decode`].
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, FrameError> {
    bincode::deserialize(payload).map_err(|e| FrameError::Decode(e.to_string()))
}

/// Write one frame to a blocking stream.
///
/// Errors: [`FrameError::Io`].
pub fn write_frame<W: Write, T: Serialize>(w: &mut W, msg: &T) -> Result<(), FrameError> {
    w.write_all(&encode(msg)?)?;
    Ok(())
}

/// Read one frame from a blocking stream.
///
/// Errors: [`FrameError::Io`] (EOF included), [`FrameError::VersionMismatch`]
/// when the peer's version differs, [`FrameError::Decode`].
pub fn read_frame<R: Read, T: DeserializeOwned>(r: &mut R) -> Result<T, FrameError> {
    let mut header = [0u8; 8];
    r.read_exact(&mut header)?;
    let (len, version) = parse_header(&header)?;
    let mut payload = vec![0u8; len as usize];
    r.read_exact(&mut payload)?;
    if version != PROTOCOL_VERSION {
        return Err(FrameError::VersionMismatch {
            peer: version,
            ours: PROTOCOL_VERSION,
        });
    }
    decode(&payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{AdminRequest, Request, Response};

    #[test]
    fn round_trip() {
        let ping = Request::Admin(AdminRequest::Ping);
        let bytes = encode(&ping).unwrap();
        let back: Request = read_frame(&mut &bytes[..]).unwrap();
        assert_eq!(back, ping);
    }

    #[test]
    fn version_mismatch_is_reported_with_both_versions() {
        let bytes = encode_with_version(&Response::ShuttingDown, PROTOCOL_VERSION + 7).unwrap();
        let err = read_frame::<_, Response>(&mut &bytes[..]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&(PROTOCOL_VERSION + 7).to_string())
                && msg.contains(&PROTOCOL_VERSION.to_string()),
            "{msg}"
        );
    }

    #[test]
    fn garbage_is_an_error() {
        let mut bytes = vec![4, 0, 0, 0];
        bytes.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
        bytes.extend_from_slice(&[0xff; 4]);
        assert!(read_frame::<_, Request>(&mut &bytes[..]).is_err());
        let huge = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert!(read_frame::<_, Request>(&mut &huge[..]).is_err());
    }
}
