//! The workspace a warm snapshot belongs to and its scope key: `cargo
//! metadata --no-deps` (cargo book, "cargo metadata": `workspace_root`,
//! `target_directory`, and `build_directory` since cargo 1.91, where the
//! profile dirs live when `build.build-dir` is set), the workspace's
//! `Cargo.lock`, `rustc -vV` of the rustc cargo runs (`$RUSTC`, else
//! `rustc`, run in the workspace root so rustup overrides apply) and
//! `CARGO_HOME`.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use zccache_core::cargo_warm::{ScopeInputs, WarmScope};

/// Where cargo builds a workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The workspace root (holds `Cargo.lock`).
    pub root: PathBuf,
    /// The absolute build dir (profile dirs live here).
    pub build_dir: PathBuf,
}

/// Options of a cargo command line that change where it builds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `--target-dir`.
    pub target_dir: Option<PathBuf>,
    /// `--config` values, passed on to `cargo metadata`.
    pub config: Vec<OsString>,
}

impl Location {
    /// The location options in cargo arguments (up to a `--`), in both
    /// `--opt value` and `--opt=value` forms.
    pub fn from_args(args: &[OsString]) -> Location {
        let mut loc = Location::default();
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let s = arg.to_string_lossy();
            if s == "--" {
                break;
            }
            for (flag, slot) in [("--manifest-path", 0), ("--target-dir", 1), ("--config", 2)] {
                let value = if s == flag {
                    it.next().cloned()
                } else if let Some(v) = s.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                    Some(OsString::from(v))
                } else {
                    continue;
                };
                match (slot, value) {
                    (0, Some(v)) => loc.manifest_path = Some(v.into()),
                    (1, Some(v)) => loc.target_dir = Some(v.into()),
                    (_, Some(v)) => loc.config.push(v),
                    _ => {}
                }
            }
        }
        loc
    }
}

/// The workspace of the current dir (or `loc.manifest_path`).
///
/// Errors: when `cargo metadata` fails or prints something unexpected.
pub fn workspace(loc: &Location) -> Result<Workspace> {
    let mut meta = cargo_metadata::MetadataCommand::new();
    meta.cargo_path(crate::locate::cargo()).no_deps();
    if let Some(p) = &loc.manifest_path {
        meta.manifest_path(p);
    }
    let mut cmd = meta.cargo_command();
    for c in &loc.config {
        cmd.arg("--config").arg(c);
    }
    if let Some(dir) = &loc.target_dir {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    let out = cmd.output().context("running cargo metadata")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!("cargo metadata failed: {}", err.trim());
    }
    parse_metadata(&out.stdout)
}

/// Workspace root and build dir from `cargo metadata` JSON.
fn parse_metadata(stdout: &[u8]) -> Result<Workspace> {
    let v: serde_json::Value =
        serde_json::from_slice(stdout).context("cargo metadata printed no JSON")?;
    let path = |key: &str| v.get(key).and_then(|p| p.as_str()).map(PathBuf::from);
    let root = path("workspace_root").context("cargo metadata: no workspace_root")?;
    let build_dir = path("build_directory")
        .or_else(|| path("target_directory"))
        .context("cargo metadata: no target_directory")?;
    if !build_dir.is_absolute() {
        bail!(
            "cargo metadata: target dir {} is not absolute",
            build_dir.display()
        );
    }
    Ok(Workspace { root, build_dir })
}

/// The snapshot scope of `ws`; `None` when it has no `Cargo.lock` yet.
///
/// Errors: when `Cargo.lock` cannot be read, or rustc cannot be run.
pub fn scope(ws: &Workspace) -> Result<Option<(Vec<u8>, WarmScope)>> {
    let lock_path = ws.root.join("Cargo.lock");
    let lock = match std::fs::read(&lock_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", lock_path.display())),
    };
    let rustc_vv = rustc_version(&ws.root)?;
    let cargo_home = cargo_home()?;
    let scope = WarmScope::compute(&ScopeInputs {
        build_dir: &ws.build_dir,
        cargo_lock: &lock,
        rustc_vv: &rustc_vv,
        cargo_home: &cargo_home,
    });
    Ok(Some((lock, scope)))
}

/// `rustc -vV` of `$RUSTC` (else `rustc`), run in `dir`.
fn rustc_version(dir: &Path) -> Result<Vec<u8>> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .arg("-vV")
        .current_dir(dir)
        .output()
        .with_context(|| format!("running {} -vV", rustc.to_string_lossy()))?;
    if !out.status.success() {
        bail!(
            "{} -vV failed: {}",
            rustc.to_string_lossy(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

/// `$CARGO_HOME` (made absolute), else `$HOME/.cargo`.
fn cargo_home() -> Result<PathBuf> {
    let home = match std::env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        Some(h) => PathBuf::from(h),
        None => {
            let home = std::env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?;
            Path::new(&home).join(".cargo")
        }
    };
    std::path::absolute(&home).with_context(|| format!("resolving {}", home.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        s.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn location_options_in_both_forms_up_to_double_dash() {
        let loc = Location::from_args(&args(
            "build --manifest-path a/Cargo.toml --target-dir=t --config x=1 -- --target-dir u",
        ));
        assert_eq!(loc.manifest_path, Some(PathBuf::from("a/Cargo.toml")));
        assert_eq!(loc.target_dir, Some(PathBuf::from("t")));
        assert_eq!(loc.config, vec![OsString::from("x=1")]);
        assert_eq!(
            Location::from_args(&args("build --release")),
            Location::default()
        );
    }

    #[test]
    fn metadata_prefers_the_build_directory() {
        let ws = parse_metadata(
            br#"{"workspace_root":"/w","target_directory":"/w/target","build_directory":"/b"}"#,
        )
        .unwrap();
        assert_eq!(ws.build_dir, PathBuf::from("/b"));
        let ws = parse_metadata(br#"{"workspace_root":"/w","target_directory":"/w/t"}"#).unwrap();
        assert_eq!(ws.build_dir, PathBuf::from("/w/t"));
        assert!(parse_metadata(br#"{"workspace_root":"/w","target_directory":"t"}"#).is_err());
        assert!(parse_metadata(b"nope").is_err());
    }
}
