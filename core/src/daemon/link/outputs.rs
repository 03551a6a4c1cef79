//! The outputs of a link or archive call: which files it produced (the
//! named output, outputs named by options such as `-Map`, and sibling
//! files it created or changed next to the output), how they are stored
//! (one blob each, in a [`LinkEntry`] record) and how a hit restores them
//! (executable bit kept, fresh mtimes, the named output last).

use super::super::state::DaemonState;
use crate::hash::StatFingerprint;
use crate::store::{BlobId, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Layout version of [`LinkEntry`]; another version is a miss.
const LINK_ENTRY_FORMAT: u32 = 1;

/// Extensions of sibling files a link may create next to its output
/// (`app.map`, split DWARF `.dwo`/`.dwp`, `.pdb`, emscripten's `.wasm`,
/// `.js` and `.mem`, Windows `.lib`/`.exp` import files). Only these are
/// captured: another target's `.o`, `.a` or `.so` written concurrently in
/// the same dir must never be mistaken for an output.
const SIBLING_EXTENSIONS: &[&str] = &[
    "map", "dwo", "dwp", "pdb", "wasm", "js", "mjs", "mem", "data", "symbols", "debug", "lib",
    "exp", "ilk",
];

/// One stored output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredOutput {
    /// Absolute path (the cwd is part of the key).
    pub path: String,
    /// Its content.
    pub blob: BlobId,
    /// Any execute bit was set.
    pub executable: bool,
}

/// The stored result of one successful link or archive call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkEntry {
    /// Always [`LINK_ENTRY_FORMAT`] when written by this build.
    pub format: u32,
    /// Outputs; the named output is last.
    pub outputs: Vec<StoredOutput>,
    /// The tool's stdout.
    pub stdout: Vec<u8>,
    /// The tool's stderr.
    pub stderr: Vec<u8>,
    /// How long the real call took, ms.
    pub run_ms: u64,
}

impl LinkEntry {
    /// A new entry of the current format.
    pub fn new(outputs: Vec<StoredOutput>, stdout: Vec<u8>, stderr: Vec<u8>, run_ms: u64) -> Self {
        LinkEntry {
            format: LINK_ENTRY_FORMAT,
            outputs,
            stdout,
            stderr,
            run_ms,
        }
    }

    /// Serialise with bincode.
    pub fn encode(&self) -> Vec<u8> {
        bincode::serialize(self).unwrap_or_default()
    }

    /// Deserialise; `None` for undecodable bytes or another format.
    pub fn decode(bytes: &[u8]) -> Option<LinkEntry> {
        let e: LinkEntry = bincode::deserialize(bytes).ok()?;
        (e.format == LINK_ENTRY_FORMAT).then_some(e)
    }
}

/// The state of the candidate siblings of an output before a link.
#[derive(Debug, Default)]
pub struct Snapshot {
    files: HashMap<OsString, StatFingerprint>,
}

/// True when `name` may be a sibling output of `output_name`: it starts
/// with the output's name or its stem followed by a dot, and ends with one
/// of [`SIBLING_EXTENSIONS`].
fn is_sibling_name(name: &str, output_name: &str) -> bool {
    if name == output_name {
        return false;
    }
    let stem = output_name.rsplit_once('.').map_or(output_name, |(s, _)| s);
    let prefixed = [output_name, stem].iter().any(|p| {
        name.strip_prefix(p)
            .is_some_and(|rest| rest.starts_with('.'))
    });
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    prefixed && SIBLING_EXTENSIONS.contains(&ext)
}

/// Fingerprints of the candidate siblings of `output` now.
pub fn snapshot(output: &Path) -> Snapshot {
    let mut snap = Snapshot::default();
    let (Some(dir), Some(out_name)) = (output.parent(), output.file_name()) else {
        return snap;
    };
    let out_name = out_name.to_string_lossy();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return snap;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if !is_sibling_name(&name.to_string_lossy(), &out_name) {
            continue;
        }
        match e.metadata() {
            Ok(meta) if meta.is_file() => {
                snap.files.insert(name, StatFingerprint::of(&meta));
            }
            _ => {}
        }
    }
    snap
}

/// Siblings created or changed since `before` was taken.
pub fn changed_siblings(output: &Path, before: &Snapshot) -> Vec<PathBuf> {
    let after = snapshot(output);
    let dir = output.parent().unwrap_or(Path::new("/"));
    let mut out: Vec<PathBuf> = after
        .files
        .iter()
        .filter(|(name, fp)| before.files.get(*name) != Some(*fp))
        .map(|(name, _)| dir.join(name))
        .collect();
    out.sort();
    out
}

/// Why outputs could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// An output is missing or unreadable.
    #[error("output {path}: {source}")]
    Stat {
        /// The output.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store refused it.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Store each file as a blob. `files` must end with the named output.
///
/// Errors: [`OutputError`] (the call is then not cached).
pub fn store_outputs(d: &DaemonState, files: &[PathBuf]) -> Result<Vec<StoredOutput>, OutputError> {
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let meta = std::fs::metadata(f).map_err(|source| OutputError::Stat {
            path: f.display().to_string(),
            source,
        })?;
        let (blob, _) = d.store.put_blob_file(f)?;
        out.push(StoredOutput {
            path: f.to_string_lossy().into_owned(),
            blob,
            executable: meta.permissions().mode() & 0o111 != 0,
        });
    }
    Ok(out)
}

/// Write every output of `entry` in order (the named output last, so its
/// mtime is the newest), with mode `0o777`/`0o666` minus `umask`.
///
/// Errors: the store's error; earlier outputs may already be in place
/// (each one is replaced atomically), and the caller then runs the tool.
pub fn restore(d: &DaemonState, entry: &LinkEntry, umask: u32) -> Result<(), StoreError> {
    for o in &entry.outputs {
        let mode = if o.executable { 0o777 } else { 0o666 } & !umask;
        d.store
            .materialize_blob(&o.blob, Path::new(&o.path), Some(mode))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sibling_names() {
        assert!(is_sibling_name("app.map", "app"));
        assert!(is_sibling_name("app.wasm", "app.js"));
        assert!(is_sibling_name("libx.so.map", "libx.so"));
        assert!(!is_sibling_name("libx.a", "libx.so"));
        assert!(!is_sibling_name("app2.map", "app"));
        assert!(!is_sibling_name("app.o", "app"));
        assert!(!is_sibling_name("app", "app"));
    }

    #[test]
    fn finds_new_and_changed_siblings() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("app");
        std::fs::write(d.path().join("app.map"), "old").unwrap();
        std::fs::write(d.path().join("app.dwo"), "same").unwrap();
        let before = snapshot(&out);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(d.path().join("app.map"), "newer").unwrap();
        std::fs::write(d.path().join("app.pdb"), "x").unwrap();
        std::fs::write(d.path().join("other.map"), "x").unwrap();
        let got = changed_siblings(&out, &before);
        assert_eq!(
            got,
            vec![d.path().join("app.map"), d.path().join("app.pdb")]
        );
    }
}
