//! An action's input root as a Merkle tree of REAPI `Directory` messages
//! (Bazel Remote Execution API v2, "Directory": files and subdirectories
//! sorted by name, each subdirectory named by the digest of its own
//! serialised `Directory`). Paths are relative to the root, `/`-separated,
//! with no `.`, `..` or empty components.

use std::collections::BTreeMap;

use bazel_remote_apis::build::bazel::remote::execution::v2::{
    Digest, Directory, DirectoryNode, FileNode,
};
use prost::Message;

#[cfg(test)]
use super::cas::digest_of;
use super::cas::Blob;

/// Why an input root could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InputRootError {
    /// A path is empty, absolute, or has a `.`, `..` or empty component.
    #[error("input path {0:?} is not a plain relative path")]
    BadPath(String),
    /// One path is both a file and a directory, or two files share a path
    /// with different contents.
    #[error("input path {0:?} is given twice with different kinds or contents")]
    Conflict(String),
}

/// The input root under construction: files by path, and directories that
/// must exist even when empty.
#[derive(Debug, Default)]
pub(crate) struct InputRootBuilder {
    files: BTreeMap<String, (Digest, bool)>,
    blobs: Vec<Blob>,
    dirs: BTreeMap<String, ()>,
}

/// A finished input root: its digest and every blob it needs in the CAS
/// (the `Directory` messages and the files' contents).
#[derive(Debug)]
pub(crate) struct InputRoot {
    /// The digest of the root `Directory`.
    pub(crate) digest: Digest,
    /// The blobs to upload (whatever the CAS lacks).
    pub(crate) blobs: Vec<Blob>,
}

impl InputRootBuilder {
    /// Add the file at `path` with `bytes` (`executable`: the worker sees it
    /// with the executable bit).
    ///
    /// Errors: [`InputRootError`] for a bad path or a conflicting second
    /// file at the same path.
    pub(crate) fn add_file(
        &mut self,
        path: &str,
        bytes: Vec<u8>,
        executable: bool,
    ) -> Result<(), InputRootError> {
        check_path(path)?;
        let blob = Blob::new(bytes);
        match self.files.get(path) {
            Some((d, x)) if *d == blob.digest && *x == executable => return Ok(()),
            Some(_) => return Err(InputRootError::Conflict(path.to_string())),
            None => {}
        }
        self.files
            .insert(path.to_string(), (blob.digest.clone(), executable));
        self.blobs.push(blob);
        Ok(())
    }

    /// Make sure the directory `path` exists (an empty `path` is the root).
    ///
    /// Errors: [`InputRootError::BadPath`] for a bad path.
    pub(crate) fn add_dir(&mut self, path: &str) -> Result<(), InputRootError> {
        if !path.is_empty() {
            check_path(path)?;
            self.dirs.insert(path.to_string(), ());
        }
        Ok(())
    }

    /// The Merkle tree of everything added.
    ///
    /// Errors: [`InputRootError::Conflict`] when a path is both a file and
    /// a directory.
    pub(crate) fn finish(mut self) -> Result<InputRoot, InputRootError> {
        let mut tree: BTreeMap<String, Node> = BTreeMap::new();
        tree.insert(String::new(), Node::default());
        for dir in self.dirs.keys() {
            insert_dirs(&mut tree, dir);
        }
        for (path, (digest, executable)) in &self.files {
            let (parent, name) = split(path);
            insert_dirs(&mut tree, parent);
            tree.get_mut(parent)
                .expect("parent inserted above")
                .files
                .insert(name.to_string(), (digest.clone(), *executable));
        }
        for path in self.files.keys() {
            if tree.contains_key(path.as_str()) {
                return Err(InputRootError::Conflict(path.clone()));
            }
        }
        let digest = seal(&tree, "", &mut self.blobs);
        Ok(InputRoot {
            digest,
            blobs: self.blobs,
        })
    }
}

/// One directory while the tree is built: its files and subdirectory names.
#[derive(Debug, Default)]
struct Node {
    files: BTreeMap<String, (Digest, bool)>,
    subdirs: BTreeMap<String, ()>,
}

/// Insert `dir` and all its ancestors, each linked from its parent.
fn insert_dirs(tree: &mut BTreeMap<String, Node>, dir: &str) {
    let mut path = dir;
    while !path.is_empty() {
        tree.entry(path.to_string()).or_default();
        let (parent, name) = split(path);
        tree.entry(parent.to_string())
            .or_default()
            .subdirs
            .insert(name.to_string(), ());
        path = parent;
    }
}

/// The `Directory` of `path` (children first), its serialised form added
/// to `blobs`; returns its digest. BTreeMaps keep names sorted, as REAPI
/// requires.
fn seal(tree: &BTreeMap<String, Node>, path: &str, blobs: &mut Vec<Blob>) -> Digest {
    let node = &tree[path];
    let directories = node
        .subdirs
        .keys()
        .map(|name| {
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}/{name}")
            };
            DirectoryNode {
                name: name.clone(),
                digest: Some(seal(tree, &child, blobs)),
            }
        })
        .collect();
    let files = node
        .files
        .iter()
        .map(|(name, (digest, executable))| FileNode {
            name: name.clone(),
            digest: Some(digest.clone()),
            is_executable: *executable,
            ..Default::default()
        })
        .collect();
    let bytes = Directory {
        files,
        directories,
        ..Default::default()
    }
    .encode_to_vec();
    let blob = Blob::new(bytes);
    let digest = blob.digest.clone();
    blobs.push(blob);
    digest
}

/// `(parent, name)` of a relative path (`("", name)` at the top).
fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// Errors: [`InputRootError::BadPath`] unless `path` is a plain relative
/// path.
fn check_path(path: &str) -> Result<(), InputRootError> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(InputRootError::BadPath(path.to_string()));
    }
    Ok(())
}

/// The digest of the empty `Directory` (an empty input root).
#[cfg(test)]
pub(crate) fn empty_digest() -> Digest {
    digest_of(&Directory::default().encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(files: &[(&str, &str)], dirs: &[&str]) -> Result<InputRoot, InputRootError> {
        let mut b = InputRootBuilder::default();
        for (path, text) in files {
            b.add_file(path, text.as_bytes().to_vec(), false)?;
        }
        for dir in dirs {
            b.add_dir(dir)?;
        }
        b.finish()
    }

    #[test]
    fn the_digest_depends_on_contents_and_layout_not_order() {
        let a = root(&[("src/a.c", "x"), ("inc/a.h", "y")], &[]).unwrap();
        let b = root(&[("inc/a.h", "y"), ("src/a.c", "x")], &[]).unwrap();
        assert_eq!(a.digest, b.digest);
        let c = root(&[("src/a.c", "x"), ("inc/a.h", "z")], &[]).unwrap();
        assert_ne!(a.digest, c.digest);
        let d = root(&[("src/a.c", "x"), ("inc/b.h", "y")], &[]).unwrap();
        assert_ne!(a.digest, d.digest);
        let e = root(&[("src/a.c", "x"), ("inc/a.h", "y")], &["out"]).unwrap();
        assert_ne!(a.digest, e.digest);
        assert_eq!(root(&[], &[]).unwrap().digest, empty_digest());
    }

    #[test]
    fn the_root_lists_its_children_sorted() {
        let r = root(&[("b/x", "1"), ("a", "2")], &[]).unwrap();
        let top = r.blobs.iter().find(|b| b.digest == r.digest).unwrap();
        let dir = Directory::decode(top.bytes.as_slice()).unwrap();
        assert_eq!(dir.files[0].name, "a");
        assert_eq!(dir.directories[0].name, "b");
    }

    /// Every file path reachable from the root through the Directory
    /// blobs.
    fn reachable(r: &InputRoot) -> Vec<String> {
        let find = |d: &Digest| {
            let blob = r.blobs.iter().find(|b| b.digest == *d).unwrap();
            Directory::decode(blob.bytes.as_slice()).unwrap()
        };
        let mut out = Vec::new();
        let mut todo = vec![(String::new(), r.digest.clone())];
        while let Some((prefix, digest)) = todo.pop() {
            let dir = find(&digest);
            out.extend(dir.files.iter().map(|f| format!("{prefix}{}", f.name)));
            for sub in dir.directories {
                todo.push((format!("{prefix}{}/", sub.name), sub.digest.unwrap()));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn deep_paths_are_reachable_from_the_root() {
        let files = [
            ("work/p/src/a.c", "1"),
            ("work/p/inc/x/a.h", "2"),
            ("usr/include/stdio.h", "3"),
        ];
        let r = root(&files, &["work/p/build"]).unwrap();
        let mut want: Vec<String> = files.iter().map(|(p, _)| p.to_string()).collect();
        want.sort();
        assert_eq!(reachable(&r), want);
    }

    #[test]
    fn bad_and_conflicting_paths_are_refused() {
        for bad in ["", "/abs", "a/../b", "a//b", "./a"] {
            assert!(matches!(
                root(&[(bad, "x")], &[]),
                Err(InputRootError::BadPath(_))
            ));
        }
        assert!(matches!(
            root(&[("a", "x"), ("a", "y")], &[]),
            Err(InputRootError::Conflict(_))
        ));
        assert!(matches!(
            root(&[("a", "x"), ("a/b", "y")], &[]),
            Err(InputRootError::Conflict(_))
        ));
    }
}
