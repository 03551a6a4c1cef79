//! The identity of a rustc: its `rustc -vV` output (version, commit, host,
//! LLVM) plus the names, sizes and mtimes of the sysroot's target libraries
//! (`<sysroot>/lib/rustlib/*/lib`, the std/core rlibs every crate links).
//! Computed once per rustc binary version and kept in memory.
//!
//! Keyed by the binary's path and stat fingerprint. A rustup proxy picks
//! its toolchain at every run (rustup book, "Overrides": `RUSTUP_TOOLCHAIN`,
//! directory overrides and the default in `settings.toml`, and
//! `rust-toolchain`/`rust-toolchain.toml` files in the cwd and its
//! ancestors), and `rustup update` replaces a toolchain under the same
//! proxy; so for a proxy the key also holds the toolchain variable, the cwd,
//! and the stat fingerprints of `settings.toml`, of every toolchain file on
//! the way up from the cwd, and of every installed toolchain's `rustc`.
//!
//! The `rustc -vV` text is kept too: cargo and build scripts ask for it
//! (through `RUSTC_WRAPPER`) and [`version_output`] answers from memory.

use super::super::runner::run_query;
use crate::hash::{Digest, StatFingerprint};
use crate::ipc::CompileRequest;
use crate::key::KeyBuilder;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// What selects a rustc's identity: the binary's path and fingerprint,
/// and for a rustup proxy what selects its toolchain ([`ProxyKey`]).
type IdentityKey = (PathBuf, StatFingerprint, Option<ProxyKey>);

/// For a rustup proxy: `RUSTUP_TOOLCHAIN`, the cwd, and the fingerprints
/// (absent = `None`) of the files rustup reads to pick and run a toolchain.
type ProxyKey = (
    Option<String>,
    PathBuf,
    Vec<(PathBuf, Option<StatFingerprint>)>,
);

/// One known rustc: its identity digest and its `rustc -vV` stdout
/// (`None` when that run wrote to stderr, which is not kept).
#[derive(Debug, Clone)]
struct Known {
    digest: Digest,
    version: Option<Arc<Vec<u8>>>,
}

/// Why a rustc's identity could not be computed; the message is the
/// `Refusal::Internal` reason (the call then runs locally).
#[derive(Debug, thiserror::Error)]
pub(crate) enum IdentityError {
    /// The rustc binary cannot be stat'ed (missing, or unreadable
    /// directory); returned before anything runs.
    #[error("cannot stat {}: {source}", path.display())]
    Stat {
        /// The rustc path of the request.
        path: PathBuf,
        /// The error from `stat`.
        source: std::io::Error,
    },
    /// The rustc cannot be started (`rustc -vV` or
    /// `rustc --print sysroot`).
    #[error("cannot run {}: {source}", tool.display())]
    Spawn {
        /// The rustc path of the request.
        tool: PathBuf,
        /// The error from starting the process.
        source: std::io::Error,
    },
    /// The rustc ran but exited unsuccessfully.
    #[error("{} {args:?} failed", tool.display())]
    Failed {
        /// The rustc path of the request.
        tool: PathBuf,
        /// The arguments it ran with.
        args: Vec<String>,
        /// Its exit status.
        status: std::process::ExitStatus,
    },
}

fn cache() -> &'static Mutex<HashMap<IdentityKey, Known>> {
    static CACHE: OnceLock<Mutex<HashMap<IdentityKey, Known>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The identity digest of the request's rustc, from memory or by running
/// `rustc -vV` and `rustc --print sysroot` once.
///
/// Errors: [`IdentityError`] when rustc cannot be stat'ed or run, or fails.
pub(crate) fn rustc_identity(req: &CompileRequest) -> Result<Digest, IdentityError> {
    known(req).map(|k| k.digest)
}

/// The exact stdout of `rustc -vV` for the request's rustc (same memory as
/// [`rustc_identity`]; rustc runs only when the rustc is new); `None` when
/// that run also wrote to stderr (a rustup notice), so it cannot be
/// replayed exactly.
///
/// Errors: as for [`rustc_identity`].
pub(crate) fn version_output(req: &CompileRequest) -> Result<Option<Arc<Vec<u8>>>, IdentityError> {
    known(req).map(|k| k.version)
}

fn known(req: &CompileRequest) -> Result<Known, IdentityError> {
    let key = identity_key(req)?;
    if let Some(k) = cache().lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(k);
    }
    let k = compute(req)?;
    if let Ok(mut m) = cache().lock() {
        m.insert(key, k.clone());
    }
    Ok(k)
}

fn identity_key(req: &CompileRequest) -> Result<IdentityKey, IdentityError> {
    let meta = std::fs::metadata(&req.compiler).map_err(|source| IdentityError::Stat {
        path: req.compiler.clone(),
        source,
    })?;
    let proxy = is_rustup_proxy(&req.compiler).then(|| proxy_key(req));
    Ok((req.compiler.clone(), StatFingerprint::of(&meta), proxy))
}

/// What a rustup proxy reads to pick and run its toolchain (rustup book,
/// "Overrides" and "Environment variables").
fn proxy_key(req: &CompileRequest) -> ProxyKey {
    let home = rustup_home(req);
    let mut files = vec![home.join("settings.toml")];
    for dir in req.cwd.ancestors() {
        files.push(dir.join("rust-toolchain"));
        files.push(dir.join("rust-toolchain.toml"));
    }
    if let Ok(toolchains) = std::fs::read_dir(home.join("toolchains")) {
        let mut rustcs: Vec<PathBuf> = toolchains
            .flatten()
            .map(|t| t.path().join("bin/rustc"))
            .collect();
        rustcs.sort();
        files.extend(rustcs);
    }
    let fingerprints = files
        .into_iter()
        .map(|f| {
            let fp = std::fs::metadata(&f).ok().map(|m| StatFingerprint::of(&m));
            (f, fp)
        })
        .collect();
    let toolchain = env(req, "RUSTUP_TOOLCHAIN").map(str::to_string);
    (toolchain, req.cwd.clone(), fingerprints)
}

/// `RUSTUP_HOME`, else `~/.rustup` (rustup book, "Environment variables").
fn rustup_home(req: &CompileRequest) -> PathBuf {
    if let Some(h) = env(req, "RUSTUP_HOME") {
        return PathBuf::from(h);
    }
    let home = env(req, "HOME").map(PathBuf::from).or_else(dirs::home_dir);
    home.unwrap_or_default().join(".rustup")
}

/// True when `rustc` is rustup's proxy (the same file as a `rustup` next
/// to it).
fn is_rustup_proxy(rustc: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let id = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    let sibling = rustc.with_file_name("rustup");
    id(&sibling).is_some() && id(&sibling) == id(rustc)
}

fn env<'a>(req: &'a CompileRequest, name: &str) -> Option<&'a str> {
    req.env
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn compute(req: &CompileRequest) -> Result<Known, IdentityError> {
    let (version, stderr) = run(req, &["-vV"])?;
    let (sysroot, _) = run(req, &["--print", "sysroot"])?;
    let sysroot = String::from_utf8_lossy(&sysroot).trim().to_string();
    let mut b = KeyBuilder::new("rustc-identity");
    b.field("version", &version);
    b.field("sysroot", sysroot.as_bytes());
    for line in sysroot_listing(Path::new(&sysroot)) {
        b.field("lib", line.as_bytes());
    }
    Ok(Known {
        digest: b.finish().0,
        version: stderr.is_empty().then(|| Arc::new(version)),
    })
}

/// Run the request's rustc with `args`: (stdout, stderr) of a success.
fn run(req: &CompileRequest, args: &[&str]) -> Result<(Vec<u8>, Vec<u8>), IdentityError> {
    let out = run_query(req, args).map_err(|source| IdentityError::Spawn {
        tool: req.compiler.clone(),
        source,
    })?;
    if !out.status.success() {
        return Err(IdentityError::Failed {
            tool: req.compiler.clone(),
            args: args.iter().map(|a| a.to_string()).collect(),
            status: out.status,
        });
    }
    Ok((out.stdout, out.stderr))
}

/// `name size mtime` of every file in `<sysroot>/lib/rustlib/*/lib`,
/// sorted.
fn sysroot_listing(sysroot: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut lines = Vec::new();
    let Ok(targets) = std::fs::read_dir(sysroot.join("lib/rustlib")) else {
        return lines;
    };
    for t in targets.flatten() {
        let Ok(files) = std::fs::read_dir(t.path().join("lib")) else {
            continue;
        };
        for f in files.flatten() {
            if let Ok(m) = f.metadata() {
                lines.push(format!("{} {} {}", f.path().display(), m.size(), m.mtime()));
            }
        }
    }
    lines.sort();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake rustup layout: `<dir>/bin/rustc` hard-linked to
    /// `<dir>/bin/rustup` (so it is a proxy), a `RUSTUP_HOME` with a
    /// settings file and one toolchain, and a project dir as the cwd.
    fn proxy_request(dir: &Path) -> CompileRequest {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("rustup"), "proxy").unwrap();
        std::fs::hard_link(bin.join("rustup"), bin.join("rustc")).unwrap();
        let home = dir.join("rustup-home");
        std::fs::create_dir_all(home.join("toolchains/stable/bin")).unwrap();
        std::fs::write(
            home.join("settings.toml"),
            "default_toolchain = \"stable\"\n",
        )
        .unwrap();
        std::fs::write(home.join("toolchains/stable/bin/rustc"), "v1").unwrap();
        std::fs::create_dir_all(dir.join("project/src")).unwrap();
        CompileRequest {
            compiler: bin.join("rustc"),
            args: vec!["-vV".into()],
            cwd: dir.join("project/src"),
            env: vec![("RUSTUP_HOME".into(), home.display().to_string())],
            client_pid: 0,
            umask: 0o022,
            prefix: None,
            verify_per_million: 0,
            base_dirs: Vec::new(),
            settings_from_env: false,
        }
    }

    #[test]
    fn a_proxy_key_follows_what_rustup_reads_to_pick_a_toolchain() {
        let dir = tempfile::tempdir().unwrap();
        let req = proxy_request(dir.path());
        let key = || identity_key(&req).unwrap();
        let first = key();
        assert!(first.2.is_some(), "a rustup proxy is recognised");
        assert_eq!(key(), first, "stable while nothing changes");
        let steps: [(&str, &str); 3] = [
            (
                "rustup-home/settings.toml",
                "default_toolchain = \"nightly\"\n",
            ),
            (
                "project/rust-toolchain.toml",
                "[toolchain]\nchannel = \"beta\"\n",
            ),
            (
                "rustup-home/toolchains/stable/bin/rustc",
                "v2 after rustup update",
            ),
        ];
        let mut before = first;
        for (file, text) in steps {
            std::fs::write(dir.path().join(file), text).unwrap();
            let now = key();
            assert_ne!(now, before, "{file} must change the identity key");
            before = now;
        }
        let mut other = req.clone();
        other
            .env
            .push(("RUSTUP_TOOLCHAIN".into(), "nightly".into()));
        assert_ne!(identity_key(&other).unwrap(), before);
    }

    #[test]
    fn a_missing_rustc_is_a_stat_error_with_the_old_message() {
        let dir = tempfile::tempdir().unwrap();
        let rustc = dir.path().join("no-such-rustc");
        let req = CompileRequest {
            compiler: rustc.clone(),
            args: vec!["-vV".into()],
            cwd: dir.path().to_path_buf(),
            env: vec![],
            client_pid: 0,
            umask: 0o022,
            prefix: None,
            verify_per_million: 0,
            base_dirs: Vec::new(),
            settings_from_env: false,
        };
        let err = rustc_identity(&req).unwrap_err();
        assert!(
            matches!(&err, IdentityError::Stat { path, .. } if *path == rustc),
            "{err:?}"
        );
        let prefix = format!("cannot stat {}: ", rustc.display());
        assert!(err.to_string().starts_with(&prefix), "{err}");
        assert!(matches!(
            version_output(&req),
            Err(IdentityError::Stat { .. })
        ));
    }

    #[test]
    fn a_rustc_that_cannot_start_or_fails_keeps_the_old_messages() {
        let dir = tempfile::tempdir().unwrap();
        let mut req = CompileRequest {
            compiler: dir.path().join("no-such-rustc"),
            args: vec![],
            cwd: dir.path().to_path_buf(),
            env: vec![],
            client_pid: 0,
            umask: 0o022,
            prefix: None,
            verify_per_million: 0,
            base_dirs: Vec::new(),
            settings_from_env: false,
        };
        let err = run(&req, &["-vV"]).unwrap_err();
        assert!(matches!(err, IdentityError::Spawn { .. }), "{err:?}");
        let prefix = format!("cannot run {}: ", req.compiler.display());
        assert!(err.to_string().starts_with(&prefix), "{err}");
        req.compiler = "/bin/sh".into();
        let err = run(&req, &["-c", "exit 3"]).unwrap_err();
        assert!(matches!(err, IdentityError::Failed { .. }), "{err:?}");
        assert_eq!(err.to_string(), r#"/bin/sh ["-c", "exit 3"] failed"#);
    }

    #[test]
    fn a_plain_rustc_key_is_its_path_and_fingerprint_only() {
        let dir = tempfile::tempdir().unwrap();
        let rustc = dir.path().join("rustc");
        std::fs::write(&rustc, "real").unwrap();
        let req = CompileRequest {
            compiler: rustc,
            args: vec![],
            cwd: dir.path().to_path_buf(),
            env: vec![],
            client_pid: 0,
            umask: 0o022,
            prefix: None,
            verify_per_million: 0,
            base_dirs: Vec::new(),
            settings_from_env: false,
        };
        assert!(identity_key(&req).unwrap().2.is_none());
    }
}
