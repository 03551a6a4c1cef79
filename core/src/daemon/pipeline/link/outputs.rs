//! The outputs of a link or archive call: which files it produced (the
//! named output, outputs named by options such as `-Map`, and sibling
//! files it created or changed next to the output), how they are stored
//! (one blob each, in an [`Entry`] of kind `Link`) and how a hit restores them
//! (executable bit kept, fresh mtimes, the named output last).

use crate::daemon::state::DaemonState;
use crate::hash::StatFingerprint;
use crate::key::resolve;
use crate::storage::{Content, Entry, Output, OutputRole, StoreError};
use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Extensions of sibling files a link may create next to its output
/// (`app.map`, split DWARF `.dwo`/`.dwp`, `.pdb`, emscripten's `.wasm`,
/// `.js` and `.mem`, Windows `.lib`/`.exp` import files). Only these are
/// captured: another target's `.o`, `.a` or `.so` written concurrently in
/// the same dir must never be mistaken for an output.
const SIBLING_EXTENSIONS: &[&str] = &[
    "map", "dwo", "dwp", "pdb", "wasm", "js", "mjs", "mem", "data", "symbols", "debug", "lib",
    "exp", "ilk",
];

/// The state of the candidate siblings of an output before a link.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
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
pub(crate) fn snapshot(output: &Path) -> Snapshot {
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
pub(crate) fn changed_siblings(output: &Path, before: &Snapshot) -> Vec<PathBuf> {
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
pub(crate) enum OutputError {
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

/// One file a link or archive call produced: its absolute path and the
/// role and name it is stored under (see [`OutputRole`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Produced {
    /// Where the tool wrote it.
    pub path: PathBuf,
    /// `LinkOutput`, `LinkSibling` or `LinkExtra`.
    pub role: OutputRole,
    /// The name stored in the entry.
    pub name: String,
}

/// Store each produced file as a blob. `files` must end with the named
/// output.
///
/// Errors: [`OutputError`] (the call is then not cached).
pub(crate) fn store_outputs(
    d: &DaemonState,
    files: &[Produced],
) -> Result<Vec<Output>, OutputError> {
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        let meta = std::fs::metadata(&f.path).map_err(|source| OutputError::Stat {
            path: f.path.display().to_string(),
            source,
        })?;
        let (blob, _) = d.storage().put_blob_file(&f.path)?;
        let mode = meta.permissions().mode() & 0o7777;
        out.push(Output::blob(f.role, f.name.clone(), blob, mode));
    }
    Ok(out)
}

/// Where a stored output of a link goes: the named output, a sibling in
/// its directory, or an option's output exactly as this call's (keyed)
/// arguments name it.
///
/// Errors: [`StoreError::Corrupt`] for a name this call does not produce
/// (a corrupt or hostile entry).
fn destination(o: &Output, place: &Placement<'_>) -> Result<PathBuf, StoreError> {
    let dir = place.output.parent().unwrap_or(Path::new("/"));
    let corrupt = || StoreError::Corrupt {
        what: format!("link entry output {:?}", o.name),
    };
    match o.role {
        OutputRole::LinkOutput => Ok(place.output.to_path_buf()),
        OutputRole::LinkSibling if o.is_plain_file_name() => Ok(dir.join(&o.name)),
        OutputRole::LinkExtra if place.extra_args.contains(&o.name) => {
            Ok(resolve(place.cwd, &o.name))
        }
        _ => Err(corrupt()),
    }
}

/// Where a link call puts its outputs (from the request).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placement<'a> {
    /// The request's cwd.
    pub cwd: &'a Path,
    /// The named output (absolute).
    pub output: &'a Path,
    /// Outputs named by options, as the arguments give them.
    pub extra_args: &'a [String],
    /// The requester's umask.
    pub umask: u32,
}

/// Write every output of `entry` in order (the named output last, so its
/// mtime is the newest), with mode `0o777`/`0o666` minus `umask`.
///
/// Errors: the store's error, or [`StoreError::Corrupt`] for an output
/// this call does not produce; earlier outputs may already be in place
/// (each one is replaced atomically), and the caller then runs the tool.
pub(crate) fn restore(
    d: &DaemonState,
    entry: &Entry,
    place: &Placement<'_>,
) -> Result<(), StoreError> {
    for o in &entry.outputs {
        let Content::Blob(blob) = &o.content else {
            return Err(StoreError::Corrupt {
                what: "link entry output without a blob".into(),
            });
        };
        let dest = destination(o, place)?;
        let mode = if o.mode & 0o111 != 0 { 0o777 } else { 0o666 } & !place.umask;
        d.storage().materialize_blob(blob, &dest, Some(mode))?;
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
