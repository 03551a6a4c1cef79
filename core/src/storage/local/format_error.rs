//! Why the bytes of a record file or of the saved index were rejected (or
//! could not be produced). Encoding and decoding in `record_file.rs` and
//! `persist.rs` return a [`FormatError`]; the store logs it and turns it into
//! `StoreError::Corrupt` at its boundary. Each message is the text
//! the store has always logged, so logs read the same.

use std::io;

/// A record file or index file is malformed, or cannot be encoded.
#[derive(Debug, thiserror::Error)]
pub(super) enum FormatError {
    /// A record file is shorter than its fixed prefix (magic, checksum,
    /// header length); `len` is its length in bytes.
    #[error("truncated ({len} bytes)")]
    Truncated {
        /// Length of the file, in bytes.
        len: usize,
    },
    /// The index file is shorter than its fixed prefix (magic, checksum).
    #[error("truncated")]
    IndexTruncated,
    /// The file does not start with the expected magic (another format or
    /// format version, or damage).
    #[error("bad magic")]
    BadMagic,
    /// The blake3 checksum stored in the file does not match its content
    /// (bit flip, truncation past the prefix, partial write).
    #[error("checksum mismatch")]
    ChecksumMismatch,
    /// A record file's header length points past the end of the file.
    #[error("header length past end of file")]
    HeaderPastEnd,
    /// A record header does not fit the format's u32 length field (encoding).
    #[error("record header too large")]
    HeaderTooLarge,
    /// A record header could not be serialized (encoding).
    #[error("record header: {0}")]
    EncodeHeader(#[source] bincode::Error),
    /// A record header could not be deserialized (decoding).
    #[error("bad header: {0}")]
    DecodeHeader(#[source] bincode::Error),
    /// The index snapshot could not be serialized (encoding).
    #[error("index: {0}")]
    EncodeIndex(#[source] bincode::Error),
    /// The index body could not be deserialized (decoding).
    #[error("bad body: {0}")]
    DecodeIndex(#[source] bincode::Error),
    /// A well-formed record file whose header names another record than the
    /// one its file name (or the lookup) stands for.
    #[error("header names another record")]
    WrongRecord,
    /// The record file could not be read (when rebuilding the index).
    #[error(transparent)]
    Read(#[from] io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_the_historical_texts() {
        let bincode_err = || bincode::deserialize::<String>(&[1]).unwrap_err();
        let inner = bincode_err().to_string();
        let cases = [
            (
                FormatError::Truncated { len: 3 },
                "truncated (3 bytes)".to_string(),
            ),
            (FormatError::IndexTruncated, "truncated".to_string()),
            (FormatError::BadMagic, "bad magic".to_string()),
            (
                FormatError::ChecksumMismatch,
                "checksum mismatch".to_string(),
            ),
            (
                FormatError::HeaderPastEnd,
                "header length past end of file".to_string(),
            ),
            (
                FormatError::HeaderTooLarge,
                "record header too large".to_string(),
            ),
            (
                FormatError::EncodeHeader(bincode_err()),
                format!("record header: {inner}"),
            ),
            (
                FormatError::DecodeHeader(bincode_err()),
                format!("bad header: {inner}"),
            ),
            (
                FormatError::EncodeIndex(bincode_err()),
                format!("index: {inner}"),
            ),
            (
                FormatError::DecodeIndex(bincode_err()),
                format!("bad body: {inner}"),
            ),
            (
                FormatError::WrongRecord,
                "header names another record".to_string(),
            ),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text);
        }
        let io = io::Error::new(io::ErrorKind::NotFound, "gone");
        assert_eq!(FormatError::from(io).to_string(), "gone");
    }
}
