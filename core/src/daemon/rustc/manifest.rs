//! Direct-mode manifests for rustc: per context key, the input sets seen
//! so far. An input set is every source file the dep-info named (with its
//! content hash) and every `# env-dep:` variable (with its value); it holds
//! when all files still hash the same and all variables still have the
//! recorded value. The entry key is derived from the context and the set.

use crate::hash::{Digest, MetadataCache};
use crate::key::{resolve, KeyBuilder, RecordedFile};
use crate::store::RecordKey;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Layout version; a manifest of another version is ignored.
const FORMAT: u32 = 1;
/// Most input sets one manifest remembers (oldest dropped first).
const MAX_SETS: usize = 16;

/// One input set and the entry it leads to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSet {
    /// Source files from the dep-info (relative paths resolve against the
    /// request's cwd, which is part of the context key).
    pub files: Vec<RecordedFile>,
    /// `env!`/`option_env!` variables and their values (`None`: unset).
    pub env: Vec<(String, Option<String>)>,
    /// The entry these inputs produce.
    pub entry: RecordKey,
}

/// The input sets of one context key, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RustcManifest {
    format: u32,
    /// Newest first.
    pub sets: Vec<InputSet>,
}

impl RustcManifest {
    /// The entry of the first set that still holds.
    ///
    /// Errors: a description of the first mismatch (for logs).
    pub fn find(
        &self,
        cwd: &Path,
        env: &[(String, String)],
        meta: &MetadataCache,
    ) -> Result<RecordKey, String> {
        let mut first = None;
        for set in &self.sets {
            match check(set, cwd, env, meta) {
                Ok(()) => return Ok(set.entry),
                Err(why) => {
                    first.get_or_insert(why);
                }
            }
        }
        Err(first.unwrap_or_else(|| "no input set".into()))
    }

    /// Record a set (newest first, same entry replaced, bounded).
    pub fn add(&mut self, set: InputSet) {
        self.sets.retain(|s| s.entry != set.entry);
        self.sets.insert(0, set);
        self.sets.truncate(MAX_SETS);
    }

    /// Serialise with bincode.
    pub fn encode(&self) -> Vec<u8> {
        let mut m = self.clone();
        m.format = FORMAT;
        bincode::serialize(&m).unwrap_or_default()
    }

    /// Deserialise; `None` for garbage or another format.
    pub fn decode(bytes: &[u8]) -> Option<RustcManifest> {
        let m: RustcManifest = bincode::deserialize(bytes).ok()?;
        (m.format == FORMAT).then_some(m)
    }
}

fn check(
    set: &InputSet,
    cwd: &Path,
    env: &[(String, String)],
    meta: &MetadataCache,
) -> Result<(), String> {
    for (name, value) in &set.env {
        let now = env.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        if now != value.as_ref() {
            return Err(format!("env {name} changed"));
        }
    }
    for f in &set.files {
        match meta.digest(&resolve(cwd, &f.path)) {
            Ok(d) if d.hash == f.hash => {}
            Ok(_) => return Err(format!("{} changed", f.path)),
            Err(_) => return Err(format!("{} is gone", f.path)),
        }
    }
    Ok(())
}

/// The entry key for a context and the input set read under it.
pub fn entry_key(
    context: &RecordKey,
    set_files: &[RecordedFile],
    env: &[(String, Option<String>)],
) -> RecordKey {
    let mut b = KeyBuilder::new("rustc-entry");
    b.field("context", &context.0);
    for f in set_files {
        b.field("path", f.path.as_bytes());
        b.field("hash", &f.hash);
    }
    for (k, v) in env {
        b.field("env-name", k.as_bytes());
        match v {
            Some(v) => b.field("env-value", v.as_bytes()),
            None => b.field("env-unset", b""),
        };
    }
    b.finish()
}

/// Content hash helper used when recording: `None` when unreadable.
pub fn file_hash(meta: &MetadataCache, cwd: &Path, path: &str) -> Option<(Digest, i64)> {
    let d = meta.digest(&resolve(cwd, path)).ok()?;
    Some((d.hash, d.fingerprint.newest_ns()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_and_file_changes_break_the_set() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.rs"), "fn a() {}").unwrap();
        let meta = MetadataCache::new();
        let (hash, _) = file_hash(&meta, dir.path(), "a.rs").unwrap();
        let files = vec![RecordedFile {
            path: "a.rs".into(),
            hash,
        }];
        let env_dep = vec![("GREETING".to_string(), Some("hi".to_string()))];
        let entry = entry_key(&RecordKey([0; 32]), &files, &env_dep);
        let mut m = RustcManifest::default();
        m.add(InputSet {
            files,
            env: env_dep,
            entry,
        });
        let m = RustcManifest::decode(&m.encode()).unwrap();
        let env = |v: &str| vec![("GREETING".to_string(), v.to_string())];
        assert_eq!(m.find(dir.path(), &env("hi"), &meta), Ok(entry));
        assert!(m.find(dir.path(), &env("ho"), &meta).is_err());
        assert!(m.find(dir.path(), &[], &meta).is_err());
        std::fs::write(dir.path().join("a.rs"), "fn b() {}").unwrap();
        assert!(m.find(dir.path(), &env("hi"), &meta).is_err());
        assert_eq!(RustcManifest::decode(b"junk"), None);
    }
}
