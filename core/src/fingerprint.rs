//! Tree fingerprints (`zccache fp`): "did anything under this tree change
//! since the last success?" for lint and test steps.
//!
//! A check walks the tree (with extension or glob filters and excluded
//! directory names), compares each file's stat fingerprint with the last
//! successful snapshot, and hashes only files whose stat data changed or was
//! racy. The snapshot taken by a check becomes the new baseline only when
//! the caller marks success, so an edit made while the checked step runs is
//! seen by the next check. State lives in the caller's cache file (JSON).

use crate::hash::{to_hex, MetadataCache, StatFingerprint};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
pub(crate) use zccache_client::protocol::{CheckResult, Filter};

/// Errors of the fingerprint service.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FpError {
    /// The root cannot be walked.
    #[error("cannot walk {path}: {message}")]
    Walk {
        /// The root.
        path: PathBuf,
        /// The walker's message.
        message: String,
    },
    /// A `--glob` pattern is invalid.
    #[error("invalid glob {0:?}: {1}")]
    Glob(String, String),
    /// The cache file cannot be read or written.
    #[error("cache file {path}: {message}")]
    CacheFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileState {
    /// Stat fingerprint when seen.
    pub fingerprint: StatFingerprint,
    /// Content hash (hex).
    pub hash: String,
    /// The fingerprint was racy: always rehash.
    pub racy: bool,
}

/// The persisted state of one cache file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FpState {
    /// Root and filter of the last check (a different one invalidates).
    pub scope: Option<(PathBuf, Filter)>,
    /// Snapshot of the last success.
    pub success: Option<BTreeMap<String, FileState>>,
    /// Snapshot taken by the last check, awaiting mark-success.
    pub pending: Option<BTreeMap<String, FileState>>,
    /// The last run failed: the next check says run.
    pub failed: bool,
}

impl FpState {
    /// Load from `path`; a missing file is an empty state, a corrupt one is
    /// treated as empty too (so the next check says run).
    pub(crate) fn load(path: &Path) -> FpState {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Write atomically to `path`.
    ///
    /// Errors: [`FpError::CacheFile`].
    pub(crate) fn save(&self, path: &Path) -> Result<(), FpError> {
        let err = |m: String| FpError::CacheFile {
            path: path.to_path_buf(),
            message: m,
        };
        let text = serde_json::to_vec(self).map_err(|e| err(e.to_string()))?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| err(e.to_string()))?;
        std::io::Write::write_all(&mut tmp, &text).map_err(|e| err(e.to_string()))?;
        tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
        Ok(())
    }

    /// Check `root` against the last success; records the new snapshot as
    /// pending.
    ///
    /// Errors: [`FpError`] for an unwalkable root or a bad glob.
    pub(crate) fn check(
        &mut self,
        root: &Path,
        filter: &Filter,
        meta: &MetadataCache,
    ) -> Result<CheckResult, FpError> {
        let previous = self.success.clone().unwrap_or_default();
        let now = snapshot(root, filter, &previous, meta)?;
        let scope = Some((root.to_path_buf(), filter.clone()));
        let changed = diff(&previous, &now);
        let (run, reason) = if self.success.is_none() {
            (true, "no previous success")
        } else if self.failed {
            (true, "last run failed")
        } else if self.scope != scope {
            (true, "scope changed")
        } else if !changed.is_empty() {
            (true, "files changed")
        } else {
            (false, "unchanged since the last success")
        };
        self.scope = scope;
        self.pending = Some(now);
        Ok(CheckResult {
            run,
            reason: reason.to_string(),
            changed,
        })
    }

    /// The checked step succeeded: the pending snapshot becomes the baseline.
    pub(crate) fn mark_success(&mut self) {
        if let Some(p) = self.pending.take() {
            self.success = Some(p);
        }
        self.failed = false;
    }

    /// The checked step failed: the next check says run.
    pub(crate) fn mark_failure(&mut self) {
        self.failed = true;
        self.pending = None;
    }

    /// Forget the baseline: the next check says run.
    pub(crate) fn invalidate(&mut self) {
        *self = FpState::default();
    }
}

fn diff(prev: &BTreeMap<String, FileState>, now: &BTreeMap<String, FileState>) -> Vec<String> {
    let mut out: Vec<String> = now
        .iter()
        .filter(|(k, v)| prev.get(*k).map(|p| p.hash != v.hash).unwrap_or(true))
        .map(|(k, _)| k.clone())
        .collect();
    out.extend(prev.keys().filter(|k| !now.contains_key(*k)).cloned());
    out.sort();
    out
}

fn snapshot(
    root: &Path,
    filter: &Filter,
    prev: &BTreeMap<String, FileState>,
    meta: &MetadataCache,
) -> Result<BTreeMap<String, FileState>, FpError> {
    let globs = build_globs(&filter.globs)?;
    let mut out = BTreeMap::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0
                || !filter
                    .exclude
                    .iter()
                    .any(|x| e.file_name().to_string_lossy() == *x)
        });
    for entry in walker {
        let entry = entry.map_err(|e| FpError::Walk {
            path: root.to_path_buf(),
            message: e.to_string(),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .to_string_lossy()
            .into_owned();
        if !selected(&rel, filter, globs.as_ref()) {
            continue;
        }
        if let Some(state) = file_state(entry.path(), prev.get(&rel), meta) {
            out.insert(rel, state);
        }
    }
    Ok(out)
}

fn build_globs(globs: &[String]) -> Result<Option<globset::GlobSet>, FpError> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut b = globset::GlobSetBuilder::new();
    for g in globs {
        b.add(globset::Glob::new(g).map_err(|e| FpError::Glob(g.clone(), e.to_string()))?);
    }
    b.build()
        .map(Some)
        .map_err(|e| FpError::Glob(globs.join(","), e.to_string()))
}

fn selected(rel: &str, filter: &Filter, globs: Option<&globset::GlobSet>) -> bool {
    let ext_ok = filter.extensions.is_empty()
        || Path::new(rel).extension().is_some_and(|e| {
            filter
                .extensions
                .iter()
                .any(|x| x.trim_start_matches('.') == e.to_string_lossy())
        });
    ext_ok && globs.is_none_or(|g| g.is_match(rel))
}

/// The state of one file, reusing the previous hash when its stat data is
/// unchanged and was not racy.
fn file_state(path: &Path, prev: Option<&FileState>, meta: &MetadataCache) -> Option<FileState> {
    let m = std::fs::metadata(path).ok()?;
    let fp = StatFingerprint::of(&m);
    if let Some(p) = prev.filter(|p| !p.racy && p.fingerprint == fp) {
        return Some(p.clone());
    }
    let d = meta.digest(path).ok()?;
    Some(FileState {
        fingerprint: d.fingerprint,
        hash: to_hex(&d.hash),
        racy: d.fingerprint.is_racy(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_skip_run_and_failure_semantics() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("t");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("target")).unwrap();
        std::fs::write(root.join("src/a.rs"), "fn a() {}").unwrap();
        std::fs::write(root.join("src/b.txt"), "x").unwrap();
        std::fs::write(root.join("target/c.rs"), "junk").unwrap();
        let f = Filter {
            extensions: vec!["rs".into()],
            globs: vec![],
            exclude: vec!["target".into()],
        };
        let meta = MetadataCache::new();
        let mut st = FpState::default();
        assert!(st.check(&root, &f, &meta).unwrap().run);
        st.mark_success();
        let r = st.check(&root, &f, &meta).unwrap();
        assert!(!r.run, "{r:?}");
        std::fs::write(root.join("target/c.rs"), "more junk").unwrap();
        std::fs::write(root.join("src/b.txt"), "y").unwrap();
        assert!(
            !st.check(&root, &f, &meta).unwrap().run,
            "filtered files do not count"
        );
        std::fs::write(root.join("src/a.rs"), "fn a() { 1; }").unwrap();
        let r = st.check(&root, &f, &meta).unwrap();
        assert!(r.run && r.changed == vec!["src/a.rs".to_string()], "{r:?}");
        st.mark_failure();
        assert!(st.check(&root, &f, &meta).unwrap().run);
        st.mark_success();
        assert!(!st.check(&root, &f, &meta).unwrap().run);
        let path = d.path().join("fp.json");
        st.save(&path).unwrap();
        let mut back = FpState::load(&path);
        assert!(!back.check(&root, &f, &meta).unwrap().run);
        back.invalidate();
        assert!(back.check(&root, &f, &meta).unwrap().run);
    }
}
