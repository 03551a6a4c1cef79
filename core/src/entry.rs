//! The cache entry: the stored result of one successful compile of one
//! source. Large outputs live in content-addressed blobs; the entry record
//! names them and carries the small parts inline.

use crate::store::BlobId;
use serde::{Deserialize, Serialize};

/// Layout version of [`Entry`]; a record of another version is a miss.
const ENTRY_FORMAT: u32 = 1;

/// One stored compile result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Format guard; always [`ENTRY_FORMAT`] when written by this build.
    pub format: u32,
    /// The object file's blob.
    pub object: BlobId,
    /// The user's depfile, byte for byte, when they asked for one (its
    /// targets are part of the key, so it replays verbatim).
    pub depfile: Option<Vec<u8>>,
    /// The compiler's stdout.
    pub stdout: Vec<u8>,
    /// The compiler's stderr (warnings).
    pub stderr: Vec<u8>,
    /// How long the real compile took, in ms (for "time saved").
    pub compile_ms: u64,
}

impl Entry {
    /// A new entry of the current format.
    pub fn new(
        object: BlobId,
        depfile: Option<Vec<u8>>,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
        compile_ms: u64,
    ) -> Entry {
        Entry {
            format: ENTRY_FORMAT,
            object,
            depfile,
            stdout,
            stderr,
            compile_ms,
        }
    }

    /// Serialise with bincode.
    pub fn encode(&self) -> Vec<u8> {
        bincode::serialize(self).unwrap_or_default()
    }

    /// Deserialise; `None` for undecodable bytes or another format.
    pub fn decode(bytes: &[u8]) -> Option<Entry> {
        let e: Entry = bincode::deserialize(bytes).ok()?;
        (e.format == ENTRY_FORMAT).then_some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let e = Entry::new(
            BlobId("ab".repeat(32)),
            Some(b"a.o: a.c\n".to_vec()),
            vec![],
            b"warn".to_vec(),
            12,
        );
        assert_eq!(Entry::decode(&e.encode()), Some(e));
        assert_eq!(Entry::decode(b"\x01\x02"), None);
    }
}
