//! Cache keys and direct-mode manifests (ccache manual, "The direct mode").
//!
//! A *context key* hashes everything known before the compile: compiler
//! identity, normalised arguments, relevant environment, the source content
//! and, when output embeds it, the cwd. Its *manifest* lists the include sets
//! seen for that context. An include set holds the content hash of every
//! file the compiler read, plus *shadow checks*: paths that did not exist but
//! would have been found first had they existed (a new `src/foo.h` in front
//! of `include/foo.h`). A lookup hits only when every recorded file still
//! hashes the same and no shadow path has appeared; the *entry key* is then
//! derived from the context key and the include set.

use crate::dircache::{DirListings, Presence};
use crate::hash::{Digest, MetadataCache, StatFingerprint};
use crate::store::RecordKey;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Bumped whenever the key derivation changes, so old entries never match.
const KEY_SCHEMA: &str = "zccache direct-mode key v1";

/// Most include sets one manifest remembers (oldest dropped first).
pub const MAX_INCLUDE_SETS: usize = 16;

/// Incremental builder of a context key: length-prefixed, named fields, so
/// two different field lists can never hash alike.
pub struct KeyBuilder {
    hasher: blake3::Hasher,
}

impl KeyBuilder {
    /// A builder for keys of the given purpose (e.g. `"c-compile"`).
    pub fn new(purpose: &str) -> KeyBuilder {
        let mut b = KeyBuilder {
            hasher: blake3::Hasher::new(),
        };
        b.field("schema", KEY_SCHEMA.as_bytes());
        b.field("purpose", purpose.as_bytes());
        b
    }

    /// Add one named field.
    pub fn field(&mut self, name: &str, value: &[u8]) -> &mut Self {
        self.hasher.update(&(name.len() as u64).to_le_bytes());
        self.hasher.update(name.as_bytes());
        self.hasher.update(&(value.len() as u64).to_le_bytes());
        self.hasher.update(value);
        self
    }

    /// Add a list of strings as one field.
    pub fn strings(&mut self, name: &str, values: &[String]) -> &mut Self {
        self.field(name, &(values.len() as u64).to_le_bytes());
        for v in values {
            self.field(name, v.as_bytes());
        }
        self
    }

    /// The finished key.
    pub fn finish(&self) -> RecordKey {
        RecordKey(*self.hasher.finalize().as_bytes())
    }
}

/// One file of an include set: the path as the compiler named it (relative
/// paths resolve against the request's cwd) and its content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedFile {
    /// Path as written in the depfile.
    pub path: String,
    /// blake3 of the content.
    pub hash: Digest,
}

/// Paths that must stay absent, grouped under the nearest existing
/// directory whose fingerprint changes when any of them is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirCheck {
    /// The directory (absolute).
    pub dir: String,
    /// Its stat fingerprint when the set was recorded.
    pub fingerprint: StatFingerprint,
    /// The fingerprint was racy when recorded: always stat `absent`.
    pub racy: bool,
    /// Absolute paths that did not exist.
    pub absent: Vec<String>,
}

/// One include set of a manifest and the entry it leads to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncludeSet {
    /// Every file the compiler read besides the source.
    pub files: Vec<RecordedFile>,
    /// Shadowing guards.
    pub dir_checks: Vec<DirCheck>,
    /// The entry these inputs produce.
    pub entry: RecordKey,
}

/// Why a manifest did not yield an entry; used for miss reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestMiss {
    /// No include set matched; the first mismatch found, for diagnostics.
    InputsChanged(String),
}

/// The include sets seen for one context key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Newest first.
    pub include_sets: Vec<IncludeSet>,
}

impl Manifest {
    /// The entry key of the first include set that still holds, resolving
    /// relative paths against `cwd`, plus the directory fingerprints that
    /// changed although none of their absent paths appeared (the caller may
    /// store them with [`Manifest::refresh`] so later lookups stay cheap).
    ///
    /// Errors: [`ManifestMiss`] naming the first mismatch seen.
    pub fn find(
        &self,
        cwd: &Path,
        meta: &MetadataCache,
    ) -> Result<(RecordKey, Vec<DirRefresh>), ManifestMiss> {
        let mut first_reason = None;
        for (set_index, set) in self.include_sets.iter().enumerate() {
            match check_set(set, set_index, cwd, meta) {
                Ok(refresh) => return Ok((set.entry, refresh)),
                Err(why) => {
                    first_reason.get_or_insert(why);
                }
            }
        }
        Err(ManifestMiss::InputsChanged(
            first_reason.unwrap_or_else(|| "no include set recorded".to_string()),
        ))
    }

    /// Apply fingerprint refreshes returned by [`Manifest::find`].
    pub fn refresh(&mut self, updates: &[DirRefresh]) {
        for u in updates {
            if let Some(check) = self
                .include_sets
                .get_mut(u.set)
                .and_then(|s| s.dir_checks.get_mut(u.check))
            {
                check.fingerprint = u.fingerprint;
                check.racy = u.fingerprint.is_racy();
            }
        }
    }

    /// Record a new include set (newest first, duplicates by entry key
    /// replaced, at most [`MAX_INCLUDE_SETS`]).
    pub fn add(&mut self, set: IncludeSet) {
        self.include_sets.retain(|s| s.entry != set.entry);
        self.include_sets.insert(0, set);
        self.include_sets.truncate(MAX_INCLUDE_SETS);
    }

    /// Serialise with bincode.
    pub fn encode(&self) -> Vec<u8> {
        bincode::serialize(self).unwrap_or_default()
    }

    /// Deserialise; `None` for undecodable bytes (treated as absent).
    pub fn decode(bytes: &[u8]) -> Option<Manifest> {
        bincode::deserialize(bytes).ok()
    }
}

/// A directory whose fingerprint changed while its absent paths stayed
/// absent: the new fingerprint to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirRefresh {
    /// Index of the include set.
    pub set: usize,
    /// Index of the dir check within it.
    pub check: usize,
    /// The directory's current fingerprint.
    pub fingerprint: StatFingerprint,
}

fn check_set(
    set: &IncludeSet,
    set_index: usize,
    cwd: &Path,
    meta: &MetadataCache,
) -> Result<Vec<DirRefresh>, String> {
    for f in &set.files {
        let path = resolve(cwd, &f.path);
        match meta.digest(&path) {
            Ok(d) if d.hash == f.hash => {}
            Ok(d) => {
                return Err(format!(
                    "header {} changed (hash {}… → {}…)",
                    f.path,
                    &crate::hash::to_hex(&f.hash)[..8],
                    &crate::hash::to_hex(&d.hash)[..8]
                ))
            }
            Err(_) => return Err(format!("header {} is gone", f.path)),
        }
    }
    let mut refresh = Vec::new();
    for (i, check) in set.dir_checks.iter().enumerate() {
        if let Some(fingerprint) = check_dir(check, &set.files)? {
            refresh.push(DirRefresh {
                set: set_index,
                check: i,
                fingerprint,
            });
        }
    }
    Ok(refresh)
}

/// `Ok(None)`: unchanged. `Ok(Some(fp))`: changed (or racy) but every
/// absent path is still absent; `fp` is the fingerprint taken *before* the
/// absent paths were checked, so a later creation still changes it.
fn check_dir(check: &DirCheck, files: &[RecordedFile]) -> Result<Option<StatFingerprint>, String> {
    let now = std::fs::metadata(&check.dir)
        .ok()
        .map(|m| StatFingerprint::of(&m));
    if !check.racy && now == Some(check.fingerprint) {
        return Ok(None);
    }
    for p in &check.absent {
        if std::fs::symlink_metadata(p).is_ok() {
            return Err(shadow_message(p, files));
        }
    }
    Ok(now.filter(|fp| *fp != check.fingerprint || !fp.is_racy()))
}

/// "new header shadows include/foo.h: /abs/src/foo.h", naming the recorded
/// header with the same file name when there is one.
fn shadow_message(new: &str, files: &[RecordedFile]) -> String {
    let name = Path::new(new).file_name();
    match files
        .iter()
        .find(|f| Path::new(&f.path).file_name() == name)
    {
        Some(f) => format!("new header shadows {}: {new}", f.path),
        None => format!("new header {new} may shadow a recorded header"),
    }
}

/// The entry key for a context and the include set read under it.
pub fn entry_key(context: &RecordKey, files: &[RecordedFile]) -> RecordKey {
    let mut b = KeyBuilder::new("entry");
    b.field("context", &context.0);
    for f in files {
        b.field("path", f.path.as_bytes());
        b.field("hash", &f.hash);
    }
    b.finish()
}

/// `p` made absolute against `cwd`.
pub fn resolve(cwd: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    }
}

/// Shadow checks for a compile: for every header `H = D/R` with `D` one of
/// the candidate directories (the source's dir, every header's dir and
/// every search dir), each other candidate `D'/R` that does not exist now is a path
/// whose creation could change what the compiler finds.
///
/// All paths are absolute (resolved against `cwd`) and lexically normalised.
pub fn shadow_checks(
    cwd: &Path,
    source: &str,
    headers: &[String],
    search_dirs: &[String],
    listings: &DirListings,
) -> Vec<DirCheck> {
    let header_paths: Vec<PathBuf> = headers
        .iter()
        .map(|h| normalize(&resolve(cwd, h)))
        .collect();
    let dirs = candidate_dirs(cwd, source, &header_paths, search_dirs);
    let mut groups: std::collections::BTreeMap<PathBuf, Vec<String>> = Default::default();
    let mut seen = std::collections::HashSet::new();
    let mut view = listings.view();
    for h in &header_paths {
        for d in dirs.iter().filter(|d| h.starts_with(d) && h != *d) {
            let Ok(rel) = h.strip_prefix(d) else { continue };
            for other in dirs.iter().filter(|o| *o != d) {
                let cand = other.join(rel);
                if cand == *h || !seen.insert(cand.clone()) {
                    continue;
                }
                let anchor = match view.presence(other, rel) {
                    Some(Presence::Exists) => continue,
                    Some(Presence::Absent { anchor }) => Some(anchor),
                    None => nearest_existing_dir(other),
                };
                if let Some(anchor) = anchor {
                    groups
                        .entry(anchor)
                        .or_default()
                        .push(cand.to_string_lossy().into_owned());
                }
            }
        }
    }
    groups
        .into_iter()
        .filter_map(|(dir, absent)| {
            let meta = std::fs::metadata(&dir).ok()?;
            let fingerprint = StatFingerprint::of(&meta);
            Some(DirCheck {
                dir: dir.to_string_lossy().into_owned(),
                racy: fingerprint.is_racy(),
                fingerprint,
                absent,
            })
        })
        .collect()
}

fn candidate_dirs(
    cwd: &Path,
    source: &str,
    headers: &[PathBuf],
    search_dirs: &[String],
) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut push = |d: PathBuf| {
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    };
    if let Some(parent) = normalize(&resolve(cwd, source)).parent() {
        push(parent.to_path_buf());
    }
    for s in search_dirs {
        push(normalize(&resolve(cwd, s)));
    }
    for h in headers {
        if let Some(parent) = h.parent() {
            push(parent.to_path_buf());
        }
    }
    dirs
}

fn nearest_existing_dir(p: &Path) -> Option<PathBuf> {
    let mut cur = Some(p);
    while let Some(d) = cur {
        if d.is_dir() {
            return Some(d.to_path_buf());
        }
        cur = d.parent();
    }
    None
}

/// Lexical normalisation: drop `.` components and fold `x/..`.
///
/// This follows what the compiler does when it joins include names to
/// search dirs, which is textual.
pub fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(p: &Path, s: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    }

    #[test]
    fn new_shadowing_header_breaks_the_set() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        write(&root.join("src/a.c"), "#include \"foo.h\"\n");
        write(&root.join("include/foo.h"), "#define FOO 1\n");
        let checks = shadow_checks(
            root,
            "src/a.c",
            &["include/foo.h".into()],
            &["include".into()],
            &DirListings::new(),
        );
        let meta = MetadataCache::new();
        let files = vec![RecordedFile {
            path: "include/foo.h".into(),
            hash: meta.digest(&root.join("include/foo.h")).unwrap().hash,
        }];
        let set = IncludeSet {
            entry: entry_key(&RecordKey([1; 32]), &files),
            files,
            dir_checks: checks,
        };
        let mut m = Manifest::default();
        m.add(set.clone());
        assert_eq!(m.find(root, &meta).map(|f| f.0), Ok(set.entry));
        write(&root.join("src/foo.h"), "#define FOO 2\n");
        assert!(m.find(root, &meta).is_err());
    }

    #[test]
    fn header_edit_breaks_the_set_and_manifest_round_trips() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        write(&root.join("h.h"), "1");
        let meta = MetadataCache::new();
        let files = vec![RecordedFile {
            path: "h.h".into(),
            hash: meta.digest(&root.join("h.h")).unwrap().hash,
        }];
        let mut m = Manifest::default();
        m.add(IncludeSet {
            entry: entry_key(&RecordKey([0; 32]), &files),
            files,
            dir_checks: vec![],
        });
        let m2 = Manifest::decode(&m.encode()).unwrap();
        assert_eq!(m, m2);
        assert!(m2.find(root, &meta).is_ok());
        write(&root.join("h.h"), "2");
        assert!(m2.find(root, &meta).is_err());
        assert_eq!(Manifest::decode(b"garbage"), None);
    }

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
