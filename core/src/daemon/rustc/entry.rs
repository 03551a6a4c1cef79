//! The stored result of one rustc run: every output file (as a blob, with
//! its name in `--out-dir` and its permission bits), the exact stdout and
//! stderr (cargo's JSON diagnostics and artifact notifications), and the
//! exit code (non-zero for a cached compile error, which has no outputs).

use crate::store::BlobId;
use serde::{Deserialize, Serialize};

/// Layout version; an entry of another version is a miss.
const FORMAT: u32 = 1;

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    /// File name inside `--out-dir`.
    pub name: String,
    /// Its content.
    pub blob: BlobId,
    /// Permission bits as rustc created them.
    pub mode: u32,
}

/// One stored rustc result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RustcEntry {
    format: u32,
    /// Output files (empty for a cached error).
    pub outputs: Vec<OutputFile>,
    /// rustc's stdout.
    pub stdout: Vec<u8>,
    /// rustc's stderr, byte for byte.
    pub stderr: Vec<u8>,
    /// rustc's exit code.
    pub exit_code: i32,
    /// How long the real compile took, ms.
    pub compile_ms: u64,
}

impl RustcEntry {
    /// A new entry of the current format.
    pub fn new(
        outputs: Vec<OutputFile>,
        stdout: Vec<u8>,
        stderr: Vec<u8>,
        exit_code: i32,
        compile_ms: u64,
    ) -> RustcEntry {
        RustcEntry {
            format: FORMAT,
            outputs,
            stdout,
            stderr,
            exit_code,
            compile_ms,
        }
    }

    /// Blob ids referenced by this entry.
    pub fn blobs(&self) -> Vec<BlobId> {
        self.outputs.iter().map(|o| o.blob.clone()).collect()
    }

    /// Serialise with bincode.
    pub fn encode(&self) -> Vec<u8> {
        bincode::serialize(self).unwrap_or_default()
    }

    /// Deserialise; `None` for garbage or another format.
    pub fn decode(bytes: &[u8]) -> Option<RustcEntry> {
        let e: RustcEntry = bincode::deserialize(bytes).ok()?;
        (e.format == FORMAT).then_some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let e = RustcEntry::new(
            vec![OutputFile {
                name: "libx.rlib".into(),
                blob: BlobId("ab".repeat(32)),
                mode: 0o644,
            }],
            vec![],
            b"{\"artifact\":1}\n".to_vec(),
            0,
            3,
        );
        assert_eq!(RustcEntry::decode(&e.encode()), Some(e));
        assert_eq!(RustcEntry::decode(b"x"), None);
    }
}
