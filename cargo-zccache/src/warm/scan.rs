//! Finding the unit groups of registry and git crates in a cargo build dir.
//!
//! Cargo's layout (cargo book, "Build cache"; observed with cargo 1.95):
//! each profile dir (`debug`, `release`, a custom profile, or
//! `<triple>/<profile>` with `--target`) holds, per unit `<package
//! name>-<16 hex hash>`:
//! - `.fingerprint/<unit>/…`: cargo's fingerprint (hash, JSON, dep-info,
//!   `invoked.timestamp`, replayed `output-*` of `cargo check`);
//! - `build/<unit>/…`: a build script's binary (`build-script-build` and
//!   `build_script_build-<hash>`), or its run (`out/`, `output`,
//!   `root-output`, `stderr`, `invoked.timestamp`);
//! - `deps/<stem>.<ext>` where `<stem>` is `lib<crate>-<hash>` or
//!   `<crate>-<hash>` (`.rlib`, `.rmeta`, `.so` for proc-macros, `.d`).
//!
//! The crate name is the lib target's name, which may differ from the
//! package name (`md-5` builds `libmd5-…`), so `deps/` files are matched to
//! their unit by the hash (`-C extra-filename`) alone. Only units whose
//! package name belongs to a registry or git package of `Cargo.lock`, and to
//! no path package, are kept. `.cargo-lock`, `.rustc_info.json`,
//! `CACHEDIR.TAG`, `incremental/` and uplifted files are never part of a
//! group.

use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::Path;
use zccache_core::ipc::WarmGroup;

/// Package names of a `Cargo.lock`, by source kind.
#[derive(Debug, Default)]
pub struct LockNames {
    /// Packages with a `source` (registry, sparse registry, git).
    external: HashSet<String>,
    /// Packages without one: workspace members and path dependencies.
    path: HashSet<String>,
}

impl LockNames {
    /// Parse `Cargo.lock` text (any lock format version: `[[package]]`
    /// tables with `name` and an optional `source`).
    ///
    /// Errors: when the text is not TOML.
    pub fn parse(text: &str) -> Result<LockNames> {
        let doc: toml_edit::DocumentMut = text.parse().context("Cargo.lock is not TOML")?;
        let mut names = LockNames::default();
        let packages = doc.get("package").and_then(|p| p.as_array_of_tables());
        for pkg in packages.into_iter().flat_map(|p| p.iter()) {
            let Some(name) = pkg.get("name").and_then(|n| n.as_str()) else {
                continue;
            };
            match pkg.get("source") {
                Some(_) => names.external.insert(name.to_string()),
                None => names.path.insert(name.to_string()),
            };
        }
        Ok(names)
    }

    /// True when units named `name` can be snapshotted: a registry or git
    /// package has the name and no path package does (conservative: a path
    /// package of the same name may share the unit-name space).
    pub fn external_only(&self, name: &str) -> bool {
        self.external.contains(name) && !self.path.contains(name)
    }
}

/// Split a unit dir name `<name>-<16 lowercase hex>` into name and hash.
pub fn split_unit(dir_name: &str) -> Option<(&str, &str)> {
    let (name, hash) = dir_name.rsplit_once('-')?;
    let hex = hash.len() == 16 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    (hex && !name.is_empty()).then_some((name, hash))
}

/// The unit hash of a `deps/` file name (`lib<crate>-<hash>.rlib`,
/// `<crate>-<hash>.d`, `<crate>-<hash>` for executables, …): the 16 hex
/// chars after the last `-` of the part before the first `.`.
pub fn deps_hash(file_name: &str) -> Option<&str> {
    let stem = file_name.split('.').next()?;
    split_unit(stem).map(|(_, hash)| hash)
}

/// Profile dirs of a build dir, relative (`debug`, `x86_64-…/release`):
/// children and grandchildren that hold a `.fingerprint` dir.
pub fn profile_dirs(build_dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for child in sub_dirs(build_dir) {
        let path = build_dir.join(&child);
        if path.join(".fingerprint").is_dir() {
            out.push(child);
            continue;
        }
        for grand in sub_dirs(&path) {
            if path.join(&grand).join(".fingerprint").is_dir() {
                out.push(format!("{child}/{grand}"));
            }
        }
    }
    out.sort();
    out
}

/// Names of the sub-directories of `dir` (UTF-8 names only; none when it
/// cannot be read).
fn sub_dirs(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

/// Every unit group of a registry or git package in `build_dir`, sorted.
/// A unit with a part that cannot be read, is not a regular file or
/// directory (e.g. a symlink), or has a non-UTF-8 name is left out whole.
pub fn scan(build_dir: &Path, names: &LockNames) -> Vec<WarmGroup> {
    profile_dirs(build_dir)
        .iter()
        .flat_map(|p| scan_profile(build_dir, p, names))
        .collect()
}

/// The unit groups of one profile dir.
fn scan_profile(build_dir: &Path, profile: &str, names: &LockNames) -> Vec<WarmGroup> {
    let dir = build_dir.join(profile);
    let mut by_hash: BTreeMap<String, Option<WarmGroup>> = BTreeMap::new();
    for unit in sub_dirs(&dir.join(".fingerprint")) {
        let Some((name, hash)) = split_unit(&unit) else {
            continue;
        };
        if names.external_only(name) {
            let group = unit_group(build_dir, profile, &unit);
            by_hash.insert(hash.to_string(), group);
        }
    }
    add_deps_files(build_dir, profile, &mut by_hash);
    let mut groups: Vec<WarmGroup> = by_hash.into_values().flatten().collect();
    for g in &mut groups {
        g.dirs.sort();
        g.files.sort();
    }
    groups.sort_by(|a, b| a.unit.cmp(&b.unit));
    groups
}

/// The `.fingerprint/<unit>` and `build/<unit>` trees of a unit; `None`
/// when a part of them is unusable.
fn unit_group(build_dir: &Path, profile: &str, unit: &str) -> Option<WarmGroup> {
    let mut group = WarmGroup {
        profile: profile.to_string(),
        unit: unit.to_string(),
        dirs: Vec::new(),
        files: Vec::new(),
    };
    for root in zccache_core::cargo_warm::unit_dirs(profile, unit) {
        if build_dir.join(&root).is_dir() {
            walk(build_dir, &root, &mut group).ok()?;
        }
    }
    Some(group)
}

/// Add the directory `rel` and everything under it to `group`.
fn walk(build_dir: &Path, rel: &str, group: &mut WarmGroup) -> Result<(), ()> {
    group.dirs.push(rel.to_string());
    for entry in fs::read_dir(build_dir.join(rel)).map_err(drop)? {
        let entry = entry.map_err(drop)?;
        let name = entry.file_name().into_string().map_err(drop)?;
        let child = format!("{rel}/{name}");
        let kind = entry.file_type().map_err(drop)?;
        if kind.is_dir() {
            walk(build_dir, &child, group)?;
        } else if kind.is_file() {
            group.files.push(child);
        } else {
            return Err(());
        }
    }
    Ok(())
}

/// Attribute the files of `<profile>/deps` to the units of `by_hash`. A
/// unit with an unusable deps entry (symlink, directory) is dropped.
fn add_deps_files(
    build_dir: &Path,
    profile: &str,
    by_hash: &mut BTreeMap<String, Option<WarmGroup>>,
) {
    let Ok(entries) = fs::read_dir(build_dir.join(profile).join("deps")) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Some(slot) = deps_hash(&name).and_then(|h| by_hash.get_mut(h)) else {
            continue;
        };
        let Some(group) = slot.as_mut() else { continue };
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            group.files.push(format!("{profile}/deps/{name}"));
        } else {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["md-5", "util"]

[[package]]
name = "md-5"
version = "0.10.6"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "util"
version = "0.1.0"

[[package]]
name = "util"
version = "1.0.0"
source = "git+file:///tmp/util#0123"
"#;

    #[test]
    fn lock_names_split_by_source() {
        let n = LockNames::parse(LOCK).unwrap();
        assert!(n.external_only("md-5"));
        assert!(!n.external_only("app"));
        // A git package that shares its name with a path package is skipped.
        assert!(!n.external_only("util"));
        assert!(!n.external_only("absent"));
        assert!(LockNames::parse("[[package]\n").is_err());
    }

    #[test]
    fn unit_and_deps_names() {
        assert_eq!(
            split_unit("aho-corasick-b26ca80a4998aab5"),
            Some(("aho-corasick", "b26ca80a4998aab5"))
        );
        assert_eq!(split_unit("serde-B26ca80a4998aab5"), None);
        assert_eq!(split_unit("serde-b26ca80a4998aab"), None);
        assert_eq!(split_unit("-b26ca80a4998aab5"), None);
        assert_eq!(split_unit("incremental"), None);
        for f in [
            "libaho_corasick-b26ca80a4998aab5.rlib",
            "libaho_corasick-b26ca80a4998aab5.rmeta",
            "aho_corasick-b26ca80a4998aab5.d",
            "libserde_derive-b26ca80a4998aab5.so",
            "app-b26ca80a4998aab5",
        ] {
            assert_eq!(deps_hash(f), Some("b26ca80a4998aab5"), "{f}");
        }
        assert_eq!(deps_hash("libfoo.rlib"), None);
    }

    fn touch(root: &Path, rel: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, rel).unwrap();
    }

    #[test]
    fn scan_groups_units_of_external_packages_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let md5 = "md-5-00000000000000aa";
        let md5_bs = "md-5-00000000000000bb";
        for rel in [
            ".rustc_info.json",
            "CACHEDIR.TAG",
            "debug/.cargo-lock",
            "debug/.fingerprint/md-5-00000000000000aa/lib-md5",
            "debug/.fingerprint/md-5-00000000000000aa/lib-md5.json",
            "debug/deps/libmd5-00000000000000aa.rlib",
            "debug/deps/libmd5-00000000000000aa.rmeta",
            "debug/deps/md5-00000000000000aa.d",
            "debug/.fingerprint/md-5-00000000000000bb/run-build-script-build-script-build",
            "debug/build/md-5-00000000000000bb/output",
            "debug/build/md-5-00000000000000bb/out/gen.rs",
            "debug/.fingerprint/app-00000000000000cc/bin-app",
            "debug/deps/app-00000000000000cc",
            "debug/app",
            "debug/incremental/app-1/s-x/y",
            "x86_64-unknown-linux-gnu/release/.fingerprint/md-5-00000000000000dd/lib-md5",
            "x86_64-unknown-linux-gnu/release/deps/libmd5-00000000000000dd.rlib",
        ] {
            touch(root, rel);
        }
        fs::create_dir_all(root.join("debug/build/md-5-00000000000000bb/out/empty")).unwrap();
        let names = LockNames::parse(LOCK).unwrap();
        assert_eq!(
            profile_dirs(root),
            vec!["debug", "x86_64-unknown-linux-gnu/release"]
        );
        let groups = scan(root, &names);
        let units: Vec<_> = groups
            .iter()
            .map(|g| (g.profile.as_str(), g.unit.as_str()))
            .collect();
        assert_eq!(
            units,
            vec![
                ("debug", md5),
                ("debug", md5_bs),
                ("x86_64-unknown-linux-gnu/release", "md-5-00000000000000dd")
            ]
        );
        assert_eq!(groups[0].files.len(), 5, "{:?}", groups[0].files);
        assert_eq!(
            groups[1].dirs,
            vec![
                "debug/.fingerprint/md-5-00000000000000bb",
                "debug/build/md-5-00000000000000bb",
                "debug/build/md-5-00000000000000bb/out",
                "debug/build/md-5-00000000000000bb/out/empty",
            ]
        );
        for g in &groups {
            let files = g.files.iter().map(String::as_str);
            let dirs = g.dirs.iter().map(String::as_str);
            zccache_core::cargo_warm::check_group(&g.profile, &g.unit, dirs, files).unwrap();
        }
    }

    #[test]
    fn a_unit_with_a_symlink_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(root, "debug/.fingerprint/md-5-00000000000000aa/lib-md5");
        touch(root, "debug/deps/libmd5-00000000000000aa.rlib");
        std::os::unix::fs::symlink(
            "/etc/hostname",
            root.join("debug/deps/md5-00000000000000aa.d"),
        )
        .unwrap();
        touch(root, "debug/.fingerprint/md-5-00000000000000bb/lib-md5");
        let names = LockNames::parse(LOCK).unwrap();
        let groups = scan(root, &names);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].unit, "md-5-00000000000000bb");
    }
}
