//! `cargo zccache setup`: write `build.rustc-wrapper = "<zccache>"` into the
//! workspace's `.cargo/config.toml` (cargo book, "Configuration",
//! `build.rustc-wrapper`), keeping everything else in the file as it was.

use anyhow::{Context, Result};
use std::path::Path;

/// Write the wrapper setting for the workspace of the current directory.
///
/// Errors: when cargo metadata fails or the file cannot be read, parsed or
/// written.
pub fn setup(zccache: &Path) -> Result<i32> {
    let meta = cargo_metadata::MetadataCommand::new()
        .cargo_path(super::locate::cargo())
        .no_deps()
        .exec()
        .context("cargo metadata (run setup inside a cargo workspace)")?;
    let dir = meta.workspace_root.as_std_path().join(".cargo");
    let path = dir.join("config.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let updated = with_wrapper(&text, &zccache.to_string_lossy())
        .with_context(|| format!("parsing {}", path.display()))?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(&path, updated).with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "cargo-zccache: {} now sets build.rustc-wrapper = {:?}; plain `cargo build` is cached (set CARGO_INCREMENTAL=0 to cache workspace members in dev builds)",
        path.display(),
        zccache.display().to_string()
    );
    Ok(0)
}

/// `text` (a cargo config) with `build.rustc-wrapper` set to `wrapper`.
///
/// Errors: when `text` is not TOML or `build` is not a table.
pub fn with_wrapper(text: &str, wrapper: &str) -> Result<String> {
    let mut doc: toml_edit::DocumentMut = text.parse()?;
    let build = doc
        .entry("build")
        .or_insert(toml_edit::table())
        .as_table_mut()
        .context("`build` is not a table")?;
    build["rustc-wrapper"] = toml_edit::value(wrapper);
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_other_settings() {
        let out = with_wrapper("[build]\njobs = 4\n\n[net]\noffline = true\n", "/z").unwrap();
        assert!(out.contains("jobs = 4") && out.contains("offline = true"));
        assert!(out.contains("rustc-wrapper = \"/z\""));
        assert!(with_wrapper("build = 3", "/z").is_err());
        assert!(with_wrapper("", "/z").unwrap().contains("[build]"));
    }
}
