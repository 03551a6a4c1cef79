//! Base dirs (ccache manual, "base_dir"; `ZCCACHE_BASE_DIR`, TOML
//! `base_dir`): the directories under which absolute paths are treated as
//! relative to the compile's working directory, so that two checkouts of
//! one project at different absolute paths share cache entries.
//!
//! The rule, applied only when the request's cwd itself lies under a base
//! dir: an absolute path under a base dir becomes the path relative to the
//! cwd (`/ci/a/src/x.c` from `/ci/a/build` → `../src/x.c`); every other path
//! stays as it is. Paths are compared lexically (after folding `.` and
//! `..`), as they appear on the command line; a base dir is also matched in
//! its canonical form (symlinks resolved), since the launcher's cwd is the
//! physical one.

use crate::paths::normalize;
use std::path::{Path, PathBuf};

/// The configured base dirs, absolute and lexically normalised, each also
/// in its canonical form when that differs. Empty: no path is rewritten.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BaseDirs {
    dirs: Vec<PathBuf>,
}

impl BaseDirs {
    /// The base dirs from configured paths; relative ones (already refused
    /// by [`parse_list`] at configuration load) are left out.
    pub(crate) fn new<P: AsRef<Path>>(dirs: &[P]) -> BaseDirs {
        let mut out: Vec<PathBuf> = Vec::new();
        for d in dirs.iter().map(AsRef::as_ref).filter(|d| d.is_absolute()) {
            let lexical = normalize(d);
            if let Some(canonical) = canonical(&lexical) {
                if !out.contains(&canonical) {
                    out.push(canonical);
                }
            }
            if !out.contains(&lexical) {
                out.push(lexical);
            }
        }
        BaseDirs { dirs: out }
    }

    /// True when the absolute path `p` (lexically normalised by the caller)
    /// lies under (or is) a base dir, comparing whole components.
    pub(crate) fn contains(&self, p: &Path) -> bool {
        self.dirs.iter().any(|d| p.starts_with(d))
    }

    /// The longest base dir that contains the absolute, lexically
    /// normalised path `p` (or is `p`), if any.
    pub(crate) fn containing(&self, p: &Path) -> Option<&Path> {
        self.dirs
            .iter()
            .filter(|d| p.starts_with(d))
            .max_by_key(|d| d.as_os_str().len())
            .map(PathBuf::as_path)
    }

    /// True when `text` (an argument) names a base dir anywhere, e.g.
    /// `-Wl,-rpath,/ci/a/build` (a substring test: it may also match a
    /// sibling such as `/ci/ab`, which only errs on the safe side).
    pub(crate) fn named_in(&self, text: &str) -> bool {
        self.dirs
            .iter()
            .filter_map(|d| d.to_str())
            .any(|d| text.contains(d))
    }

    /// The view from `cwd`: `Some` only when the cwd lies under a base dir
    /// (otherwise nothing is rewritten for this request).
    pub(crate) fn seen_from(&self, cwd: &Path) -> Option<Portable<'_>> {
        let cwd = normalize(cwd);
        self.contains(&cwd).then_some(Portable { dirs: self, cwd })
    }
}

/// Most canonical forms remembered; the memo is emptied beyond that.
const MAX_CANONICAL: usize = 64;

/// The canonical form of base dir `dir` (symlinks resolved), memoised for
/// the process: every request names its base dirs, and resolving them
/// costs one `lstat` per component. A symlink changed later leaves a stale
/// form, which only changes what is shared: a relative path computed from
/// the physical cwd names the same file either way.
fn canonical(dir: &Path) -> Option<PathBuf> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static MEMO: OnceLock<Mutex<HashMap<PathBuf, Option<PathBuf>>>> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    if let Some(known) = memo.lock().ok()?.get(dir) {
        return known.clone();
    }
    let found = std::fs::canonicalize(dir).ok();
    if let Ok(mut m) = memo.lock() {
        if m.len() >= MAX_CANONICAL {
            m.clear();
        }
        m.insert(dir.to_path_buf(), found.clone());
    }
    found
}

/// Base dirs seen from one request's cwd (which lies under a base dir).
#[derive(Debug, Clone)]
pub(crate) struct Portable<'a> {
    dirs: &'a BaseDirs,
    cwd: PathBuf,
}

impl Portable<'_> {
    /// `path` relative to the cwd when it is absolute and lies under a base
    /// dir (`"."` for the cwd itself); `None` otherwise.
    pub(crate) fn relative(&self, path: &str) -> Option<String> {
        let p = Path::new(path);
        if !p.is_absolute() {
            return None;
        }
        let p = normalize(p);
        if !self.dirs.contains(&p) {
            return None;
        }
        let rel = pathdiff::diff_paths(&p, &self.cwd)?;
        let text = rel.to_str()?;
        Some(if text.is_empty() { "." } else { text }.to_string())
    }

    /// True when `path` (relative ones resolved against the cwd) lies under
    /// a base dir.
    pub(crate) fn resolves_inside(&self, path: &str) -> bool {
        let p = Path::new(path);
        let abs = if p.is_absolute() {
            normalize(p)
        } else {
            normalize(&self.cwd.join(p))
        };
        self.dirs.contains(&abs)
    }
}

/// The base dirs of `ZCCACHE_BASE_DIR` (`:`-separated) or one TOML string;
/// empty items are skipped.
///
/// Errors: a one-line message naming the first relative directory.
pub(crate) fn parse_list(text: &str) -> Result<Vec<PathBuf>, String> {
    text.split(':')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let p = PathBuf::from(s.trim());
            if p.is_absolute() {
                Ok(p)
            } else {
                Err(format!("base dir {s:?} is not an absolute path"))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(d: &[&str]) -> BaseDirs {
        BaseDirs::new(&d.iter().map(PathBuf::from).collect::<Vec<_>>())
    }

    #[test]
    fn paths_under_a_base_dir_become_relative_to_the_cwd() {
        let b = dirs(&["/nonexistent-zc/ci"]);
        let v = b
            .seen_from(Path::new("/nonexistent-zc/ci/a/build"))
            .unwrap();
        assert_eq!(
            v.relative("/nonexistent-zc/ci/a/src/x.c").unwrap(),
            "../src/x.c"
        );
        assert_eq!(v.relative("/nonexistent-zc/ci/a/build").unwrap(), ".");
        assert_eq!(
            v.relative("/nonexistent-zc/ci/a/build/./sub/").unwrap(),
            "sub"
        );
        assert_eq!(v.relative("/usr/include/stdio.h"), None);
        assert_eq!(v.relative("../src/x.c"), None);
        // A sibling whose name merely starts with the base dir is outside.
        assert_eq!(v.relative("/nonexistent-zc/cix/y.h"), None);
    }

    #[test]
    fn nothing_is_rewritten_from_a_cwd_outside_every_base_dir() {
        let b = dirs(&["/nonexistent-zc/ci"]);
        assert!(b.seen_from(Path::new("/tmp/build")).is_none());
        assert!(dirs(&[]).seen_from(Path::new("/")).is_none());
    }

    #[test]
    fn relative_paths_are_judged_by_where_they_resolve() {
        let b = dirs(&["/nonexistent-zc/ci"]);
        let v = b.seen_from(Path::new("/nonexistent-zc/ci/a")).unwrap();
        assert!(v.resolves_inside("src"));
        assert!(v.resolves_inside("."));
        assert!(!v.resolves_inside("../../usr/include"));
    }

    #[test]
    fn lists_must_hold_absolute_dirs() {
        assert_eq!(
            parse_list("/a::/b/c").unwrap(),
            vec![PathBuf::from("/a"), PathBuf::from("/b/c")]
        );
        assert!(parse_list("").unwrap().is_empty());
        let e = parse_list("/a:rel/dir").unwrap_err();
        assert!(e.contains("rel/dir"), "{e}");
    }
}
