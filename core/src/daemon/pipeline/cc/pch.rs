//! Precompiled headers seen by a compile. When gcc uses `X.gch` for a
//! forced include (`-include X`, as CMake's `target_precompile_headers`
//! does), its depfile lists neither `X` nor the `.gch` (checked with gcc
//! 12), so a direct-mode manifest built from the depfile alone would miss
//! an edit of the PCH's header. The PCH files are therefore added to the
//! include set by content: editing the header rebuilds the PCH (its own
//! key is the header source), which changes its bytes and misses every
//! consumer. clang's `X.pch` is handled alike.
//!
//! Not covered: a PCH picked up by a plain `#include "X"` as the first
//! line of a source (gcc's implicit PCH use); like ccache, that needs
//! `-include` or is served stale. The CMake and Meson integrations use
//! `-include`.

use crate::key::resolve;
use std::path::{Path, PathBuf};

/// PCH suffixes the compilers look for next to a forced include (gcc
/// manual, "Using Precompiled Headers"; clang users manual, "Precompiled
/// Headers").
const PCH_SUFFIXES: &[&str] = &[".gch", ".pch"];

/// Existing PCH files (or the files inside a `.gch` directory) for every
/// `-include X` in `args`, as absolute paths. `X` is looked up in the cwd
/// first, then in `search_dirs` (gcc manual, -include).
pub(crate) fn pch_inputs(cwd: &Path, args: &[String], search_dirs: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for header in forced_includes(args) {
        let mut dirs = vec![cwd.to_path_buf()];
        dirs.extend(search_dirs.iter().map(|d| resolve(cwd, d)));
        for dir in dirs {
            for suffix in PCH_SUFFIXES {
                let p = resolve(&dir, &format!("{header}{suffix}"));
                collect(&p, &mut out);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// True for a path [`pch_inputs`] may return. PCH binaries carry the names
/// `__DATE__`/`__TIME__` in their identifier tables, so the time-macro
/// scan must skip them (the PCH's header source was scanned by its own
/// compile).
pub(crate) fn is_pch_path(p: &str) -> bool {
    PCH_SUFFIXES.iter().any(|s| p.ends_with(s))
        || Path::new(p)
            .parent()
            .is_some_and(|d| d.to_string_lossy().ends_with(".gch"))
}

fn forced_includes(args: &[String]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-include" {
            if let Some(v) = it.next() {
                out.push(v.as_str());
            }
        } else if let Some(v) = a.strip_prefix("-include") {
            out.push(v);
        }
    }
    out
}

fn collect(p: &PathBuf, out: &mut Vec<String>) {
    if p.is_file() {
        out.push(p.to_string_lossy().into_owned());
    } else if p.is_dir() {
        if let Ok(entries) = std::fs::read_dir(p) {
            for e in entries.flatten().filter(|e| e.path().is_file()) {
                out.push(e.path().to_string_lossy().into_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_pch_of_forced_includes() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("inc")).unwrap();
        std::fs::write(d.path().join("inc/p.h.gch"), "x").unwrap();
        std::fs::write(d.path().join("q.h.pch"), "x").unwrap();
        let args: Vec<String> = ["-include", "p.h", "-includeq.h", "-O2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let got = pch_inputs(d.path(), &args, &["inc".to_string()]);
        let want = vec![
            d.path().join("inc/p.h.gch").to_string_lossy().into_owned(),
            d.path().join("q.h.pch").to_string_lossy().into_owned(),
        ];
        assert_eq!(got, want);
        assert!(pch_inputs(d.path(), &["-O2".to_string()], &[]).is_empty());
        assert!(is_pch_path("/a/p.h.gch") && is_pch_path("/a/p.h.gch/c.o"));
        assert!(!is_pch_path("/a/p.h"));
    }
}
