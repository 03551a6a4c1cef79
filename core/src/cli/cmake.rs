//! `zccache cmake-module`: writes the CMake module and its package config,
//! embedded in the binary, next to the install (`<prefix>/share/zccache/
//! cmake`, where `find_package(ZCCache)` finds it for a binary in
//! `<prefix>/bin` on PATH) or, when that is not writable, in
//! `$XDG_DATA_HOME/zccache/cmake` (default `~/.local/share/zccache/cmake`),
//! and prints the module's path.

use std::path::{Path, PathBuf};

/// The module (`cmake/ZCCache.cmake`).
const MODULE: &str = include_str!("../../../cmake/ZCCache.cmake");
/// The package config (`cmake/ZCCacheConfig.cmake`).
const CONFIG: &str = include_str!("../../../cmake/ZCCacheConfig.cmake");
/// The version file template (`cmake/ZCCacheConfigVersion.cmake.in`).
const VERSION_TEMPLATE: &str = include_str!("../../../cmake/ZCCacheConfigVersion.cmake.in");

/// Errors while writing the module.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CmakeModuleError {
    /// No directory could be created and written.
    #[error("cannot write the CMake module to {path}: {source}")]
    Write {
        /// The last directory tried.
        path: String,
        /// Its I/O error.
        source: std::io::Error,
    },
}

/// Write the module files when missing or different; returns the path of
/// `ZCCache.cmake`.
///
/// Errors: [`CmakeModuleError`] when no candidate dir is writable.
pub(crate) fn ensure_module() -> Result<PathBuf, CmakeModuleError> {
    let mut last = None;
    for dir in candidate_dirs() {
        match write_files(&dir) {
            Ok(()) => return Ok(dir.join("ZCCache.cmake")),
            Err(e) => last = Some((dir, e)),
        }
    }
    let (dir, source) =
        last.unwrap_or_else(|| (PathBuf::from("."), std::io::ErrorKind::NotFound.into()));
    Err(CmakeModuleError::Write {
        path: dir.display().to_string(),
        source,
    })
}

/// `<exe dir>/../share/zccache/cmake`, then the XDG data dir.
fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(prefix) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent()?.parent().map(Path::to_path_buf))
    {
        dirs.push(prefix.join("share/zccache/cmake"));
    }
    dirs.push(xdg_data_home().join("zccache/cmake"));
    dirs
}

/// `$XDG_DATA_HOME`, else `~/.local/share` (XDG Base Directory spec).
pub(crate) fn xdg_data_home() -> PathBuf {
    match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(v) => PathBuf::from(v),
        None => dirs_home().join(".local/share"),
    }
}

fn dirs_home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

fn write_files(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let version = VERSION_TEMPLATE.replace("@ZCCACHE_VERSION@", env!("CARGO_PKG_VERSION"));
    write_if_changed(&dir.join("ZCCache.cmake"), MODULE)?;
    write_if_changed(&dir.join("ZCCacheConfig.cmake"), CONFIG)?;
    write_if_changed(&dir.join("ZCCacheConfigVersion.cmake"), &version)?;
    write_if_changed(&dir.join("ZCCacheHint.cmake"), &hint())
}

/// `ZCCacheHint.cmake`: the directory of this binary, searched first by
/// the module's `find_program`.
fn hint() -> String {
    let dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let dir = dir
        .to_string_lossy()
        .replace('\\', "/")
        .replace('"', "\\\"");
    format!("# Written by `zccache cmake-module`.\nset(_ZCCACHE_HINT_DIR \"{dir}\")\n")
}

/// Replace `path` atomically when its content differs (an unchanged file
/// keeps its mtime, so CMake does not re-run configure).
fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|cur| cur == text.as_bytes()) {
        return Ok(());
    }
    crate::paths::write_atomically(path, text.as_bytes(), 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_module_files_once() {
        let d = tempfile::tempdir().unwrap();
        write_files(d.path()).unwrap();
        let module = d.path().join("ZCCache.cmake");
        assert_eq!(std::fs::read_to_string(&module).unwrap(), MODULE);
        let mtime = std::fs::metadata(&module).unwrap().modified().unwrap();
        write_files(d.path()).unwrap();
        assert_eq!(
            std::fs::metadata(&module).unwrap().modified().unwrap(),
            mtime
        );
        let v = std::fs::read_to_string(d.path().join("ZCCacheConfigVersion.cmake")).unwrap();
        assert!(v.contains(env!("CARGO_PKG_VERSION")));
    }
}
