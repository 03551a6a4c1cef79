//! The identity of a rustc: its `rustc -vV` output (version, commit, host,
//! LLVM) plus the names, sizes and mtimes of the sysroot's target libraries
//! (`<sysroot>/lib/rustlib/*/lib`, the std/core rlibs every crate links).
//! Computed once per rustc binary version and kept in memory.
//!
//! Keyed by the binary's path and stat fingerprint; for a rustup proxy
//! (which picks a toolchain from `RUSTUP_TOOLCHAIN` and `rust-toolchain`
//! files, rustup book "Overrides") the toolchain variable and the cwd join
//! the key.

use crate::hash::{Digest, StatFingerprint};
use crate::ipc::CompileRequest;
use crate::key::KeyBuilder;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// What selects a rustc's identity.
type IdentityKey = (PathBuf, StatFingerprint, Option<String>, Option<PathBuf>);

fn cache() -> &'static Mutex<HashMap<IdentityKey, Digest>> {
    static CACHE: OnceLock<Mutex<HashMap<IdentityKey, Digest>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The identity digest of the request's rustc, from memory or by running
/// `rustc -vV` and `rustc --print sysroot` once.
///
/// Errors: a message when rustc cannot be stat'ed or run.
pub fn rustc_identity(req: &CompileRequest) -> Result<Digest, String> {
    let key = identity_key(req)?;
    if let Some(d) = cache().lock().ok().and_then(|m| m.get(&key).copied()) {
        return Ok(d);
    }
    let digest = compute(req)?;
    if let Ok(mut m) = cache().lock() {
        m.insert(key, digest);
    }
    Ok(digest)
}

fn identity_key(req: &CompileRequest) -> Result<IdentityKey, String> {
    let meta = std::fs::metadata(&req.compiler)
        .map_err(|e| format!("cannot stat {}: {e}", req.compiler.display()))?;
    let proxy = is_rustup_proxy(&req.compiler);
    let toolchain = env(req, "RUSTUP_TOOLCHAIN").map(str::to_string);
    Ok((
        req.compiler.clone(),
        StatFingerprint::of(&meta),
        toolchain,
        proxy.then(|| req.cwd.clone()),
    ))
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

fn compute(req: &CompileRequest) -> Result<Digest, String> {
    let version = run(req, &["-vV"])?;
    let sysroot = run(req, &["--print", "sysroot"])?;
    let sysroot = String::from_utf8_lossy(&sysroot).trim().to_string();
    let mut b = KeyBuilder::new("rustc-identity");
    b.field("version", &version);
    b.field("sysroot", sysroot.as_bytes());
    for line in sysroot_listing(Path::new(&sysroot)) {
        b.field("lib", line.as_bytes());
    }
    Ok(b.finish().0)
}

fn run(req: &CompileRequest, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new(&req.compiler)
        .args(args)
        .current_dir(&req.cwd)
        .env_clear()
        .envs(req.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", req.compiler.display()))?;
    if !out.status.success() {
        return Err(format!("{} {args:?} failed", req.compiler.display()));
    }
    Ok(out.stdout)
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
