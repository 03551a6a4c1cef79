//! The one entry format: the stored result of one cached tool run, for
//! every kind of result (gcc/clang/emcc objects, rustc outputs, links and
//! archives, `zccache exec` runs).
//!
//! An entry is self-contained: it names its outputs by a role and a file
//! name relative to the output location the role stands for (never a
//! path of the machine that stored it), references their content by blob
//! id, and carries stdout, stderr, the exit code and the run time inline.
//! Together with its blobs it can travel to another machine as one unit.
//! It is versioned ([`ENTRY_FORMAT`]); the record file around it carries a
//! blake3 checksum, and every blob is verified by its blake3 name when it
//! is materialised, so a corrupt or hostile entry is a miss, never served.

use super::local::BlobId;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Layout version of [`Entry`]; a record of another version is a miss.
/// Version 2 replaced the four per-pipeline formats of version 1.
pub(crate) const ENTRY_FORMAT: u32 = 2;

/// Which pipeline stored an entry; a lookup that finds an entry of another
/// kind treats it as corrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum EntryKind {
    /// A gcc/clang/emcc compile of one source (`-c`).
    Compile,
    /// One rustc run (cargo's `RUSTC_WRAPPER`).
    Rustc,
    /// A link or archive call (driver, `ld`, `ar`, `ranlib`).
    Link,
    /// A `zccache exec` tool run.
    Exec,
}

/// What an output is, which tells where it goes on a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum OutputRole {
    /// The object file of a compile: the request's `-o` (or default) path.
    Object,
    /// The user's depfile of a compile: the request's `-MF` (or default)
    /// path; its targets are retargeted to this build on a hit.
    Depfile,
    /// A file rustc wrote into `--out-dir`; the name is its file name there.
    RustcOutput,
    /// The named output of a link or archive call (`-o`, the archive).
    LinkOutput,
    /// A file a link created next to its named output (`app.map`, `.wasm`,
    /// `.dwo`); the name is its file name in the named output's directory.
    LinkSibling,
    /// An output named by a link option (`-Wl,-Map=x`); the name is the
    /// path exactly as the (keyed) arguments give it.
    LinkExtra,
    /// A declared output of `zccache exec`; the name is its index in the
    /// request's `--output-file` list.
    ExecOutput,
}

/// The content of one output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Content {
    /// A content-addressed blob of the store (large outputs).
    Blob(BlobId),
    /// The bytes themselves (small text outputs such as depfiles).
    Inline(Vec<u8>),
    /// The tool did not create this declared output (`zccache exec`).
    Absent,
}

/// One output file of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Output {
    /// What it is and where it goes.
    pub role: OutputRole,
    /// Its file name relative to the role's output location (see
    /// [`OutputRole`]).
    pub name: String,
    /// Its bytes.
    pub content: Content,
    /// Permission bits as the tool created them (`0o7777` mask); the
    /// pipelines apply the requester's umask where the tool would have.
    pub mode: u32,
}

impl Output {
    /// An output whose content is a stored blob.
    pub(crate) fn blob(
        role: OutputRole,
        name: impl Into<String>,
        blob: BlobId,
        mode: u32,
    ) -> Output {
        Output {
            role,
            name: name.into(),
            content: Content::Blob(blob),
            mode,
        }
    }

    /// True when the name is a plain file name: not empty, no `/`, not
    /// `.` or `..` (roles whose name is a file name in a directory must
    /// never let an entry write outside it).
    pub(crate) fn is_plain_file_name(&self) -> bool {
        !self.name.is_empty()
            && !self.name.contains('/')
            && !self.name.contains('\0')
            && self.name != "."
            && self.name != ".."
    }
}

/// One stored tool run. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    format: u32,
    /// The pipeline that stored it.
    pub kind: EntryKind,
    /// Output files, in the order they are restored (a link's named output
    /// last, so its mtime is the newest).
    pub outputs: Vec<Output>,
    /// The tool's stdout, byte for byte.
    pub stdout: Vec<u8>,
    /// The tool's stderr, byte for byte.
    pub stderr: Vec<u8>,
    /// The tool's exit code (non-zero only for cached errors: rustc, exec).
    pub exit_code: i32,
    /// How long the real run took, in ms ("time saved" on a hit).
    pub run_ms: u64,
}

impl Entry {
    /// A new entry of the current format.
    pub(crate) fn new(kind: EntryKind, outputs: Vec<Output>, run: RunRecord) -> Entry {
        Entry {
            format: ENTRY_FORMAT,
            kind,
            outputs,
            stdout: run.stdout,
            stderr: run.stderr,
            exit_code: run.exit_code,
            run_ms: run.run_ms,
        }
    }

    /// The blobs this entry references (each once).
    pub(crate) fn blobs(&self) -> Vec<BlobId> {
        let mut ids: Vec<BlobId> = self
            .outputs
            .iter()
            .filter_map(|o| match &o.content {
                Content::Blob(id) => Some(id.clone()),
                _ => None,
            })
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The first output with `role`, if any.
    pub(crate) fn output(&self, role: OutputRole) -> Option<&Output> {
        self.outputs.iter().find(|o| o.role == role)
    }

    /// Serialise with bincode.
    pub(crate) fn encode(&self) -> Vec<u8> {
        bincode::serialize(self).unwrap_or_default()
    }

    /// Deserialise and validate: `None` for undecodable bytes, another
    /// format, or an output name that could point outside its location
    /// (see [`Output::is_plain_file_name`]; `LinkExtra` names are checked
    /// against the request by the link pipeline).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Entry> {
        let e: Entry = bincode::deserialize(bytes).ok()?;
        let names_ok = e.outputs.iter().all(|o| match o.role {
            OutputRole::LinkExtra | OutputRole::ExecOutput => !o.name.is_empty(),
            _ => o.is_plain_file_name(),
        });
        (e.format == ENTRY_FORMAT && names_ok).then_some(e)
    }
}

/// The stream part of a tool run, as stored in an [`Entry`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RunRecord {
    /// stdout bytes.
    pub stdout: Vec<u8>,
    /// stderr bytes.
    pub stderr: Vec<u8>,
    /// Exit code.
    pub exit_code: i32,
    /// Run time in ms.
    pub run_ms: u64,
}

/// The file name of `path` as a string (empty when it has none), for
/// [`Output::name`].
pub(crate) fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entry {
        Entry::new(
            EntryKind::Compile,
            vec![
                Output::blob(OutputRole::Object, "a.o", BlobId("ab".repeat(32)), 0o644),
                Output {
                    role: OutputRole::Depfile,
                    name: "a.d".into(),
                    content: Content::Inline(b"a.o: a.c\n".to_vec()),
                    mode: 0o644,
                },
            ],
            RunRecord {
                stdout: vec![],
                stderr: b"warn".to_vec(),
                exit_code: 0,
                run_ms: 12,
            },
        )
    }

    #[test]
    fn round_trip_and_garbage() {
        let e = sample();
        assert_eq!(Entry::decode(&e.encode()), Some(e.clone()));
        assert_eq!(e.blobs(), vec![BlobId("ab".repeat(32))]);
        assert_eq!(Entry::decode(b"\x01\x02"), None);
    }

    #[test]
    fn names_that_escape_their_location_are_rejected() {
        for bad in ["", "..", ".", "../x.o", "sub/x.o"] {
            let mut e = sample();
            e.outputs[0].name = bad.to_string();
            assert_eq!(Entry::decode(&e.encode()), None, "{bad:?}");
        }
    }

    #[test]
    fn another_format_is_rejected() {
        let mut e = sample();
        e.format = 1;
        assert_eq!(Entry::decode(&e.encode()), None);
    }
}
