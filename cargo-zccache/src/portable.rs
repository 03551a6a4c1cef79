//! Portable builds (`cargo zccache --portable`, or `ZCCACHE_PORTABLE=1`):
//! every rustc of the run gets `--remap-path-prefix=<workspace root>=.`
//! and `--remap-path-prefix=<CARGO_HOME>=/cargo` (rustc book,
//! "--remap-path-prefix"; in the spirit of cargo's `trim-paths`, cargo
//! book, "Profiles"), so what rustc embeds (panic locations, debug info,
//! file maps, diagnostics) names no checkout, and the daemon can key the
//! call by paths relative to those roots and share it across checkouts,
//! users and machines.
//!
//! The workspace root is found with `cargo locate-project --workspace`
//! and passed to every rustc as `ZCCACHE_CARGO_WORKSPACE` (with or without
//! `--portable`), since rustc's own environment does not name it.
//!
//! The flags go where cargo reads them, keeping the user's own flags
//! (cargo book, "build.rustflags": `CARGO_ENCODED_RUSTFLAGS`, else
//! `RUSTFLAGS`, else the config's `build.rustflags`): appended to
//! `CARGO_ENCODED_RUSTFLAGS` when set, else to `RUSTFLAGS` split on
//! whitespace (as cargo splits it) and passed as `CARGO_ENCODED_RUSTFLAGS`,
//! else added with `--config build.rustflags=[…]`, which cargo joins with
//! the configured `build.rustflags`. The targets (`.`, `/cargo`) hold no
//! absolute path, and cargo leaves `--remap-path-prefix` out of its
//! metadata hashes, so both checkouts get the same `-C metadata` and file
//! names.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The variable naming the workspace root for the daemon (read by the
/// rustc pipeline, `core/src/daemon/pipeline/rustc/portable.rs`).
pub const WORKSPACE_ENV: &str = "ZCCACHE_CARGO_WORKSPACE";

/// The flag, also accepted after the cargo subcommand.
const FLAG: &str = "--portable";

/// What `CARGO_HOME` is remapped to.
const CARGO_HOME_TARGET: &str = "/cargo";

/// `args` without `--portable` (before any `--`), and whether it was there.
pub fn take_flag(args: &[OsString]) -> (Vec<OsString>, bool) {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let found = args[..end].iter().any(|a| a == FLAG);
    let kept = args
        .iter()
        .enumerate()
        .filter(|(i, a)| *i >= end || *a != FLAG)
        .map(|(_, a)| a.clone())
        .collect();
    (kept, found)
}

/// The workspace root (canonical) of the cargo call `args`, honouring
/// `--manifest-path`; `None` outside a workspace or when cargo fails.
pub fn workspace_root(args: &[OsString]) -> Option<PathBuf> {
    let mut c = Command::new(super::locate::cargo());
    c.args(["locate-project", "--workspace", "--message-format", "plain"]);
    if let Some(i) = args.iter().position(|a| a == "--manifest-path") {
        c.arg("--manifest-path").arg(args.get(i + 1)?);
    } else if let Some(p) = args
        .iter()
        .find_map(|a| a.to_str()?.strip_prefix("--manifest-path="))
    {
        c.arg("--manifest-path").arg(p);
    }
    let out = c.stderr(std::process::Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let manifest = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    manifest.parent()?.canonicalize().ok()
}

/// `CARGO_HOME` as cargo uses it: the variable (made absolute against the
/// cwd), else `$HOME/.cargo`.
pub fn cargo_home() -> Option<PathBuf> {
    match std::env::var_os("CARGO_HOME").filter(|v| !v.is_empty()) {
        Some(h) => Some(std::env::current_dir().ok()?.join(h)),
        None => std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")),
    }
}

/// The remap flags for `workspace` and `cargo_home`, the shorter root
/// first (rustc applies the last matching mapping, so the more specific
/// one wins when one root lies inside the other).
pub fn remap_flags(workspace: Option<&Path>, cargo_home: Option<&Path>) -> Vec<String> {
    let mut maps: Vec<(&Path, &str)> = Vec::new();
    if let Some(ws) = workspace {
        maps.push((ws, "."));
    }
    if let Some(home) = cargo_home {
        maps.push((home, CARGO_HOME_TARGET));
    }
    maps.sort_by_key(|(p, _)| p.components().count());
    maps.iter()
        .map(|(p, to)| format!("--remap-path-prefix={}={to}", p.display()))
        .collect()
}

/// Give `flags` to every rustc cargo runs (module docs); returns the
/// arguments to put before the cargo subcommand (`--config …`), if any.
pub fn apply(cmd: &mut Command, flags: &[String]) -> Vec<OsString> {
    if flags.is_empty() {
        return Vec::new();
    }
    let mut user: Vec<String> = match std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        Ok(v) => v
            .split('\x1f')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Err(_) => match std::env::var("RUSTFLAGS") {
            Ok(v) => v.split_whitespace().map(str::to_string).collect(),
            Err(_) => return config_args(flags),
        },
    };
    user.extend(flags.iter().cloned());
    cmd.env("CARGO_ENCODED_RUSTFLAGS", user.join("\x1f"));
    Vec::new()
}

/// `--config build.rustflags=[…]` holding `flags`, as a TOML array.
fn config_args(flags: &[String]) -> Vec<OsString> {
    let array: toml_edit::Array = flags.iter().map(String::as_str).collect();
    vec!["--config".into(), format!("build.rustflags={array}").into()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_is_taken_out_before_a_double_dash_only() {
        let args: Vec<OsString> = ["build", "--portable", "--", "--portable"]
            .iter()
            .map(OsString::from)
            .collect();
        let (kept, found) = take_flag(&args);
        assert!(found);
        assert_eq!(kept, ["build", "--", "--portable"]);
        let (_, found) = take_flag(&[OsString::from("build")]);
        assert!(!found);
    }

    #[test]
    fn remaps_put_the_more_specific_root_last() {
        let flags = remap_flags(Some(Path::new("/w/a")), Some(Path::new("/w/a/.cargo")));
        assert_eq!(
            flags,
            [
                "--remap-path-prefix=/w/a=.",
                "--remap-path-prefix=/w/a/.cargo=/cargo"
            ]
        );
        let flags = remap_flags(Some(Path::new("/ci/x/ws")), Some(Path::new("/h")));
        assert_eq!(flags[0], "--remap-path-prefix=/h=/cargo");
        assert!(remap_flags(None, None).is_empty());
    }

    #[test]
    fn config_args_are_a_toml_array() {
        let a = config_args(&["--remap-path-prefix=/a \"b\"=.".to_string()]);
        assert_eq!(a[0], "--config");
        let text = a[1].to_str().unwrap();
        let v: toml_edit::DocumentMut = text.parse().unwrap();
        let got = v["build"]["rustflags"].as_array().unwrap();
        assert_eq!(
            got.get(0).unwrap().as_str(),
            Some("--remap-path-prefix=/a \"b\"=.")
        );
    }
}
