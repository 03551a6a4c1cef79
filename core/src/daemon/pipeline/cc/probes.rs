//! Files looked for and absent (issue "Trust"): a compile whose files
//! probe names (`__has_include`, `__has_include_next`, `#include_next`,
//! see [`crate::include_probes`]) or that forces includes (`-include`,
//! `-imacros`) depends on files no depfile lists: a probed file that did
//! not exist, or (gcc) one `__has_include` found without reading it.
//!
//! For such a compile the input set also records, for every probed name
//! and every directory the compiler may search for it (the probing file's
//! own dir for `"N"`, the plan's search dirs, the compiler's own search
//! list from [`super::search_list`]): the candidates that do not exist as
//! dir checks, and those that exist as recorded files. A lookup then fails
//! as soon as a probe could answer differently. Which files probe is known
//! from the metadata cache (`FileDigest::probes_includes`, found while
//! hashing), so an ordinary compile pays nothing.

use super::plan::Plan;
use crate::daemon::state::DaemonState;
use crate::hash::Digest;
use crate::include_probes::{probed_names, ProbedName};
use crate::ipc::CompileRequest;
use crate::key::{normalize, probe_checks, resolve, ProbeChecks};
use std::path::{Path, PathBuf};

/// A file the compile read whose content probes names.
#[derive(Debug, Clone)]
pub(crate) struct ProbingFile {
    /// Path as recorded (relative paths resolve against the cwd).
    pub path: String,
    /// The content hash recorded for it.
    pub hash: Digest,
}

/// Why the probes of a compile cannot be recorded (the result is then not
/// stored).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProbeError {
    /// A probing file changed since it was hashed.
    #[error("{0} changed during the compile")]
    Racy(String),
    /// A probing file cannot be read.
    #[error("{0}: {1}")]
    Unreadable(String, std::io::Error),
    /// A probe's name is computed by a macro.
    #[error("{0}: {1}")]
    Unresolvable(String, crate::include_probes::Unresolvable),
}

/// The probe checks of source `i` of `req`, given the files it read that
/// probe names; empty when there are none and no forced include.
///
/// Errors: [`ProbeError`] when a probe cannot be resolved.
pub(crate) fn probe_inputs(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &Plan,
    i: usize,
    probing: &[ProbingFile],
) -> Result<ProbeChecks, ProbeError> {
    let cwd = req.cwd.as_path();
    let mut names: Vec<(PathBuf, ProbedName)> = Vec::new();
    for f in probing {
        let abs = normalize(&resolve(cwd, &f.path));
        let dir = abs.parent().unwrap_or(Path::new("/")).to_path_buf();
        for n in names_of(&abs, f)? {
            names.push((dir.clone(), n));
        }
    }
    // `-include`/`-imacros` look in the cwd first, then the quote chain
    // (gcc manual, -include).
    for name in forced_names(&plan.inv.common_args) {
        names.push((cwd.to_path_buf(), ProbedName { angle: false, name }));
    }
    if names.is_empty() {
        return Ok(ProbeChecks::default());
    }
    let source = normalize(&resolve(cwd, &plan.inv.sources[i].path));
    let source_dir = source.parent().unwrap_or(Path::new("/")).to_path_buf();
    let dirs = search_dirs(d, req, plan, i, probing);
    let mut candidates = Vec::new();
    for (file_dir, n) in &names {
        if !n.angle {
            candidates.push((file_dir.clone(), n.name.clone()));
            candidates.push((source_dir.clone(), n.name.clone()));
        }
        for dir in &dirs {
            candidates.push((dir.clone(), n.name.clone()));
        }
    }
    let mut checks = probe_checks(candidates, d.listings());
    checks.present.retain(|p| *p != source);
    Ok(checks)
}

/// The names probed by `f` (at `abs`), from content whose hash must still
/// be the recorded one.
fn names_of(abs: &Path, f: &ProbingFile) -> Result<Vec<ProbedName>, ProbeError> {
    let data = std::fs::read(abs).map_err(|e| ProbeError::Unreadable(f.path.clone(), e))?;
    if *blake3::hash(&data).as_bytes() != f.hash {
        return Err(ProbeError::Racy(f.path.clone()));
    }
    probed_names(&data).map_err(|e| ProbeError::Unresolvable(f.path.clone(), e))
}

/// Every dir the compiler may search a probed name in (absolute): the
/// plan's search dirs, then the compiler's own list; when that query
/// fails, the dirs of the probing files stand in for it.
fn search_dirs(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &Plan,
    i: usize,
    probing: &[ProbingFile],
) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = plan
        .search_dirs
        .iter()
        .map(|s| normalize(&resolve(&req.cwd, s)))
        .collect();
    match super::search_list::system_dirs(d, req, plan, i) {
        Ok(list) => dirs.extend(list.iter().cloned()),
        Err(e) => {
            tracing::debug!(error = %e, "no search list; using the probing files' dirs");
            dirs.extend(probing.iter().filter_map(|f| {
                let abs = normalize(&resolve(&req.cwd, &f.path));
                abs.parent().map(Path::to_path_buf)
            }));
        }
    }
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// The names of `-include`/`-imacros` options (joined or separate).
fn forced_names(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        for opt in ["-include", "-imacros"] {
            if a == opt {
                out.extend(it.next().cloned());
            } else if let Some(rest) = a.strip_prefix(opt) {
                if !rest.starts_with('-') && !rest.is_empty() {
                    out.push(rest.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_names_joined_and_separate() {
        let args: Vec<String> = ["-include", "a.h", "-imacrosb.h", "-include-pch", "x", "-O2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(forced_names(&args), vec!["a.h", "b.h"]);
    }
}
