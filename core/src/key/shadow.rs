//! Shadow checks (the guard against a header that appears earlier on the
//! include path): for a new input set, the paths that did not exist but
//! would have been found before a recorded header had they existed,
//! grouped under the nearest existing directory whose stat fingerprint
//! changes when any of them is created.

use super::{normalize, resolve};
use crate::dircache::{DirListings, Presence};
use crate::hash::StatFingerprint;
use crate::storage::DirCheck;
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
