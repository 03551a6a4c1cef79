//! Shadow checks (the guard against a header that appears earlier on the
//! include path): for a new input set, the paths that did not exist but
//! would have been found before a recorded header had they existed,
//! grouped under the nearest existing directory whose stat fingerprint
//! changes when any of them is created; and the same guard for the names
//! a compile probed ([`probe_checks`]: `__has_include`, `#include_next`).

use super::{normalize, resolve};
use crate::dircache::{DirListings, Presence};
use crate::hash::StatFingerprint;
use crate::storage::DirCheck;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Shadow checks for a compile: for every header `H = D/R` with `D` one of
/// the candidate directories (the source's dir, every header's dir and
/// every search dir), each other candidate `D'/R` that does not exist now is a path
/// whose creation could change what the compiler finds.
///
/// All paths are absolute (resolved against `cwd`) and lexically normalised.
pub(crate) fn shadow_checks(
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
    let mut groups: BTreeMap<PathBuf, Vec<String>> = Default::default();
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
    to_dir_checks(groups)
}

/// Absent paths grouped by anchor → dir checks (the anchor's fingerprint
/// taken now, after the paths were found absent).
fn to_dir_checks(groups: BTreeMap<PathBuf, Vec<String>>) -> Vec<DirCheck> {
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
                seen: Default::default(),
            })
        })
        .collect()
}

/// What the probed names of a compile resolve to (see [`probe_checks`]).
#[derive(Debug, Default)]
pub(crate) struct ProbeChecks {
    /// The candidates that do not exist, as dir checks.
    pub dir_checks: Vec<DirCheck>,
    /// The candidates that exist (absolute, normalised, sorted).
    pub present: Vec<PathBuf>,
}

/// Where each candidate `dir/name` stands (`dir` absolute): present
/// candidates are returned (the caller records their content), absent ones
/// become dir checks, so that a lookup fails once any of them appears.
/// Every candidate is checked, not only those before the first hit in
/// search order: a superset, never fewer.
pub(crate) fn probe_checks(
    candidates: impl IntoIterator<Item = (PathBuf, String)>,
    listings: &DirListings,
) -> ProbeChecks {
    let mut groups: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    let mut present = std::collections::BTreeSet::new();
    let mut seen = std::collections::HashSet::new();
    let mut view = listings.view();
    for (dir, name) in candidates {
        let cand = normalize(&dir.join(&name));
        if !seen.insert(cand.clone()) {
            continue;
        }
        let plain = Path::new(&name)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        let presence = match plain {
            true => view.presence(&dir, Path::new(&name)),
            false => None,
        };
        let anchor = match presence {
            Some(Presence::Exists) => None,
            Some(Presence::Absent { anchor }) => Some(anchor),
            None if std::fs::symlink_metadata(&cand).is_ok() => None,
            None => cand.parent().and_then(nearest_existing_dir),
        };
        match anchor {
            None => {
                present.insert(cand);
            }
            Some(anchor) => groups
                .entry(anchor)
                .or_default()
                .push(cand.to_string_lossy().into_owned()),
        }
    }
    ProbeChecks {
        dir_checks: to_dir_checks(groups),
        present: present.into_iter().collect(),
    }
}

/// Add `more` to `checks`, folding a check into one on the same directory
/// with the same fingerprint (one stat per directory on a lookup).
pub(crate) fn merge_dir_checks(checks: &mut Vec<DirCheck>, more: Vec<DirCheck>) {
    for m in more {
        match checks
            .iter_mut()
            .find(|c| c.dir == m.dir && c.fingerprint == m.fingerprint)
        {
            Some(c) => {
                c.racy |= m.racy;
                for p in m.absent {
                    if !c.absent.contains(&p) {
                        c.absent.push(p);
                    }
                }
            }
            None => checks.push(m),
        }
    }
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
