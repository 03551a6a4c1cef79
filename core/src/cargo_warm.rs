//! Cargo warm snapshots, the parts shared by `cargo zccache` and the
//! daemon: the snapshot scope key, the checks on the relative paths a
//! snapshot names, and the rule that decides whether a unit group is
//! already present in a build dir.
//!
//! Cargo treats a unit fresh only when its fingerprint files
//! (`<profile>/.fingerprint/<unit>/`) exist and match (cargo book, "Build
//! cache"; cargo's `core/compiler/fingerprint` docs). cargo writes them, not
//! rustc, so the rustc cache alone cannot make a cleaned `target/` fresh. A
//! snapshot keeps, per unit of a registry or git crate, everything cargo
//! wrote for it; `cargo zccache warm` writes back the groups that are wholly
//! absent, and cargo's own fingerprint check stays the judge of freshness.

use std::io;
use std::path::{Path, PathBuf};

/// Version tag hashed into every scope; bump when the snapshot rules change.
const SCOPE_TAG: &[u8] = b"zccache-cargo-warm-v1";

/// Errors of the shared warm logic.
#[derive(Debug, thiserror::Error)]
pub enum WarmPathError {
    /// A path in a request or snapshot is empty, absolute, has `.`/`..`
    /// components or lies outside its group.
    #[error("unsafe path in a warm snapshot: {0:?}")]
    Unsafe(String),
}

/// Everything a snapshot is only valid for. Two builds with equal inputs
/// may share unit outputs: same absolute build dir (build-script outputs
/// such as `build/*/output` and `root-output` embed absolute paths), same
/// `Cargo.lock` (the exact registry and git versions), same rustc (`rustc
/// -vV`), same `CARGO_HOME` (build-script outputs may name paths in the
/// registry sources).
#[derive(Debug, Clone, Copy)]
pub struct ScopeInputs<'a> {
    /// Absolute cargo build dir (`build_directory` of `cargo metadata`,
    /// the target dir unless `build.build-dir` is set).
    pub build_dir: &'a Path,
    /// Bytes of the workspace's `Cargo.lock`.
    pub cargo_lock: &'a [u8],
    /// Output of `rustc -vV` of the rustc cargo runs.
    pub rustc_vv: &'a [u8],
    /// Absolute `CARGO_HOME` (cargo book, "Cargo home").
    pub cargo_home: &'a Path,
}

/// The key of a snapshot: blake3 over a version tag and the
/// length-prefixed [`ScopeInputs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WarmScope(pub [u8; 32]);

impl WarmScope {
    /// The scope of `inputs`.
    pub fn compute(inputs: &ScopeInputs<'_>) -> WarmScope {
        let mut h = blake3::Hasher::new();
        let build_dir = inputs.build_dir.as_os_str().as_encoded_bytes();
        let cargo_home = inputs.cargo_home.as_os_str().as_encoded_bytes();
        for part in [
            SCOPE_TAG,
            build_dir,
            inputs.cargo_lock,
            inputs.rustc_vv,
            cargo_home,
        ] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
        WarmScope(*h.finalize().as_bytes())
    }

    /// The first 16 hex chars, for messages.
    pub fn short_hex(&self) -> String {
        crate::hash::to_hex(&self.0)[..16].to_string()
    }
}

/// `path` as a relative path of `/`-separated plain names only (no root,
/// empty, `.` or `..` segment, no NUL), so joining it to a build dir stays
/// inside.
///
/// Errors: [`WarmPathError::Unsafe`] otherwise.
pub fn safe_relative(path: &str) -> Result<&Path, WarmPathError> {
    let plain = path
        .split('/')
        .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\0'));
    if !plain {
        return Err(WarmPathError::Unsafe(path.to_string()));
    }
    Ok(Path::new(path))
}

/// Check that a unit group only names its own parts: `profile` is one or
/// two plain names (`debug`, `<triple>/debug`), `unit` one plain name,
/// every dir is `<profile>/.fingerprint/<unit>[/…]` or
/// `<profile>/build/<unit>[/…]`, and every file is one of those or
/// `<profile>/deps/<name>`.
///
/// Errors: [`WarmPathError::Unsafe`] naming the first offending path.
pub fn check_group<'a>(
    profile: &str,
    unit: &str,
    dirs: impl IntoIterator<Item = &'a str>,
    files: impl IntoIterator<Item = &'a str>,
) -> Result<(), WarmPathError> {
    safe_relative(profile)?;
    if profile.split('/').count() > 2 {
        return Err(WarmPathError::Unsafe(profile.to_string()));
    }
    if unit.contains('/') {
        return Err(WarmPathError::Unsafe(unit.to_string()));
    }
    safe_relative(unit)?;
    let roots = unit_dirs(profile, unit);
    let in_unit_dir = |p: &str| {
        roots.iter().any(|r| {
            p == r
                || p.strip_prefix(r.as_str())
                    .is_some_and(|t| t.starts_with('/'))
        })
    };
    let deps = format!("{profile}/deps/");
    let in_deps = |p: &str| p.strip_prefix(&deps).is_some_and(|n| !n.contains('/'));
    for d in dirs {
        safe_relative(d)?;
        if !in_unit_dir(d) {
            return Err(WarmPathError::Unsafe(d.to_string()));
        }
    }
    for f in files {
        safe_relative(f)?;
        if !(in_unit_dir(f) || in_deps(f)) {
            return Err(WarmPathError::Unsafe(f.to_string()));
        }
    }
    Ok(())
}

/// The two directories cargo keeps per unit under a profile dir:
/// `<profile>/.fingerprint/<unit>` and `<profile>/build/<unit>`.
pub fn unit_dirs(profile: &str, unit: &str) -> [String; 2] {
    [
        format!("{profile}/.fingerprint/{unit}"),
        format!("{profile}/build/{unit}"),
    ]
}

/// True when anything of a unit group exists in `build_dir`: one of its
/// unit dirs ([`unit_dirs`]) or one of `files` (a dangling symlink counts).
/// A group that is present is never restored into, so a restored output is
/// never mixed with the fingerprint of another build. An entry whose
/// existence cannot be determined (e.g. permission denied) counts as
/// present.
pub fn group_present<'a>(
    build_dir: &Path,
    profile: &str,
    unit: &str,
    files: impl IntoIterator<Item = &'a str>,
) -> bool {
    let dirs = unit_dirs(profile, unit);
    dirs.iter().any(|rel| exists(&build_dir.join(rel)))
        || files.into_iter().any(|rel| exists(&build_dir.join(rel)))
}

fn exists(path: &PathBuf) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(_) => true,
        Err(e) => e.kind() != io::ErrorKind::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(dir: &str, lock: &[u8]) -> WarmScope {
        WarmScope::compute(&ScopeInputs {
            build_dir: Path::new(dir),
            cargo_lock: lock,
            rustc_vv: b"rustc 1.95.0",
            cargo_home: Path::new("/h/.cargo"),
        })
    }

    #[test]
    fn scope_depends_on_every_input() {
        let a = scope("/w/target", b"lock");
        assert_eq!(a, scope("/w/target", b"lock"));
        assert_ne!(a, scope("/w2/target", b"lock"));
        assert_ne!(a, scope("/w/target", b"lock2"));
        // Length prefixes keep the parts apart.
        assert_ne!(scope("/w/targetx", b"lock"), scope("/w/target", b"xlock"));
        assert_eq!(a.short_hex().len(), 16);
    }

    #[test]
    fn only_plain_relative_paths_are_safe() {
        assert!(safe_relative("debug/deps/libx-0123456789abcdef.rlib").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "debug/../../x",
            "./debug",
            "debug/./x",
            "a//b",
            "a/",
        ] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_group_names_only_its_own_parts() {
        let unit = "dep-0123456789abcdef";
        let ok = |dirs: &[&str], files: &[&str]| {
            check_group("debug", unit, dirs.iter().copied(), files.iter().copied()).is_ok()
        };
        assert!(ok(
            &["debug/build/dep-0123456789abcdef/out"],
            &[
                "debug/.fingerprint/dep-0123456789abcdef/lib-dep",
                "debug/deps/libdep-0123456789abcdef.rlib",
            ]
        ));
        assert!(!ok(&["debug/deps"], &[]));
        assert!(!ok(&[], &["debug/deps/sub/x"]));
        assert!(!ok(&[], &["debug/.fingerprint/other-0123456789abcdef/x"]));
        assert!(!ok(&[], &["debug/build/dep-0123456789abcdefX/x"]));
        assert!(!ok(&[], &["release/deps/libdep-0123456789abcdef.rlib"]));
        assert!(check_group("a/b/c", unit, [], []).is_err());
        assert!(check_group("debug", "x/y", [], []).is_err());
        assert!(check_group("x86_64-unknown-linux-gnu/debug", unit, [], []).is_ok());
    }

    #[test]
    fn a_group_is_present_when_any_part_exists() {
        let dir = tempfile::tempdir().unwrap();
        let unit = "dep-0123456789abcdef";
        let files = ["debug/deps/libdep-0123456789abcdef.rlib"];
        assert!(!group_present(dir.path(), "debug", unit, files));
        std::fs::create_dir_all(dir.path().join("debug/build").join(unit)).unwrap();
        assert!(group_present(dir.path(), "debug", unit, files));
        std::fs::remove_dir(dir.path().join("debug/build").join(unit)).unwrap();
        std::fs::create_dir_all(dir.path().join("debug/deps")).unwrap();
        std::os::unix::fs::symlink("/nonexistent", dir.path().join(files[0])).unwrap();
        assert!(group_present(dir.path(), "debug", unit, files));
    }
}
