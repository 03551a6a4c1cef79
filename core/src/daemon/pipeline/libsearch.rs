//! Library search in one place: where a `-l<lib>` is found, for the link
//! pipeline and for rustc's native libraries (GNU ld manual, -l; gcc
//! manual, LIBRARY_PATH).

use crate::ipc::CompileRequest;
use crate::paths::resolve;
use std::path::PathBuf;

/// The request's `LIBRARY_PATH` dirs, in order, resolved against its cwd:
/// where a gcc/clang driver looks for `-l` libraries after the `-L` dirs
/// (gcc manual, LIBRARY_PATH).
pub(crate) fn library_path_dirs(req: &CompileRequest) -> impl Iterator<Item = PathBuf> + '_ {
    let value = req
        .env
        .iter()
        .find(|(k, _)| k == "LIBRARY_PATH")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    value
        .split(':')
        .filter(|s| !s.is_empty())
        .map(|s| resolve(&req.cwd, s))
}

/// The files `-l<lib>` may pick in the first dir that has any: both
/// `lib<lib>.so` and `lib<lib>.a` (which one depends on `-Bstatic` state,
/// so both key the link), or exactly `<name>` for `-l:<name>` (GNU ld
/// manual, -l).
pub(crate) fn resolve_library(lib: &str, dirs: &[PathBuf]) -> Vec<PathBuf> {
    let names: Vec<String> = match lib.strip_prefix(':') {
        Some(exact) => vec![exact.to_string()],
        None => vec![format!("lib{lib}.so"), format!("lib{lib}.a")],
    };
    for dir in dirs {
        let found: Vec<PathBuf> = names
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| p.is_file())
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}
