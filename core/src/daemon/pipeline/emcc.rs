//! Emscripten's identity for outer mode (`zccache emcc …`): emcc is a
//! Python driver, so hashing the launcher alone would miss an upgrade or a
//! config change. The identity covers the emscripten version file, the
//! driver sources (`emcc.py`, `em++.py`), the active config (`EM_CONFIG`, or
//! the `.emscripten` file emcc would use: emscripten's config search order,
//! `tools/config.py`), and the clang binary under `LLVM_ROOT` (emscripten
//! docs, "Configuring Emscripten Settings").
//!
//! All file contents come from the metadata cache, so a hit costs a few
//! stats, never a Python start.

use crate::daemon::state::DaemonState;
use regex::Regex;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Compile flags that make emcc build or fetch a port into its system cache
/// (emscripten docs, "Emscripten Ports"): not keyable, so not cacheable.
pub(crate) fn uses_ports(args: &[String]) -> bool {
    args.iter().enumerate().any(|(i, a)| {
        let setting = if a == "-s" {
            args.get(i + 1).map(String::as_str)
        } else {
            a.strip_prefix("-s")
        };
        setting.is_some_and(|s| s.starts_with("USE_")) || a.starts_with("--use-port")
    })
}

/// Why emscripten's identity could not be computed; the message is the
/// `Refusal::Internal` reason (the call then runs locally).
#[derive(Debug, thiserror::Error)]
pub(crate) enum EmccIdentityError {
    /// The emcc launcher path cannot be canonicalized (missing, or a
    /// broken link).
    #[error("cannot resolve {}: {source}", path.display())]
    Resolve {
        /// The emcc path of the request.
        path: PathBuf,
        /// The error from `canonicalize`.
        source: std::io::Error,
    },
    /// The canonical emcc path has no parent directory (the emscripten
    /// root), e.g. it is `/`.
    #[error("{} has no directory", path.display())]
    NoDirectory {
        /// The emcc path of the request.
        path: PathBuf,
    },
}

/// The identity digest of the emcc at `emcc` under the request's env.
///
/// Errors: [`EmccIdentityError`] when the emscripten install cannot be
/// located.
pub(crate) fn identity(
    d: &DaemonState,
    emcc: &Path,
    env: &[(String, String)],
) -> Result<[u8; 32], EmccIdentityError> {
    identity_with(d, emcc, env, &[], &[])
}

/// The identity digest of emscripten's archiver or indexer at `tool`
/// (`emar`, `emranlib`): emscripten's identity plus the drivers' own
/// sources and the LLVM tools they run (`llvm-ar`, `llvm-ranlib` under
/// `LLVM_ROOT`).
///
/// Errors: [`EmccIdentityError`] when the emscripten install cannot be
/// located.
pub(crate) fn archiver_identity(
    d: &DaemonState,
    tool: &Path,
    env: &[(String, String)],
) -> Result<[u8; 32], EmccIdentityError> {
    let drivers = ["emar.py", "emranlib.py"];
    identity_with(d, tool, env, &drivers, &["llvm-ar", "llvm-ranlib"])
}

/// [`identity`], with `more_files` of the emscripten root and
/// `more_tools` under `LLVM_ROOT` also hashed.
fn identity_with(
    d: &DaemonState,
    emcc: &Path,
    env: &[(String, String)],
    more_files: &[&str],
    more_tools: &[&str],
) -> Result<[u8; 32], EmccIdentityError> {
    let root = std::fs::canonicalize(emcc)
        .map_err(|source| EmccIdentityError::Resolve {
            path: emcc.to_path_buf(),
            source,
        })?
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| EmccIdentityError::NoDirectory {
            path: emcc.to_path_buf(),
        })?;
    let mut h = blake3::Hasher::new();
    let add_file = |h: &mut blake3::Hasher, label: &str, p: &Path| {
        h.update(label.as_bytes());
        h.update(p.as_os_str().as_encoded_bytes());
        if let Ok(dg) = d.meta().digest(p) {
            h.update(&dg.hash);
        } else {
            h.update(b"absent");
        }
    };
    add_file(&mut h, "launcher", emcc);
    for f in [
        "emscripten-version.txt",
        "emcc.py",
        "em++.py",
        "emcc",
        "em++",
    ] {
        add_file(&mut h, f, &root.join(f));
    }
    for f in more_files {
        add_file(&mut h, f, &root.join(f));
    }
    let config = config_text(&root, env);
    h.update(b"config");
    h.update(config.as_bytes());
    if let Some(llvm) = llvm_root(&config, env) {
        for tool in ["clang", "clang++", "wasm-ld"].iter().chain(more_tools) {
            add_file(&mut h, tool, &llvm.join(tool));
        }
    }
    Ok(*h.finalize().as_bytes())
}

fn env_get<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The config text emcc would read: `EM_CONFIG` (a path, or inline Python
/// when it contains a newline or `=`), else `<root>/.emscripten`, the emsdk
/// embedded config two levels up, then `~/.emscripten`.
fn config_text(root: &Path, env: &[(String, String)]) -> String {
    if let Some(c) = env_get(env, "EM_CONFIG") {
        if c.contains('\n') || c.contains('=') {
            return c.to_string();
        }
        return std::fs::read_to_string(c).unwrap_or_else(|_| format!("unreadable {c}"));
    }
    let home = env_get(env, "HOME").map(PathBuf::from);
    let candidates = [
        Some(root.join(".emscripten")),
        root.parent()
            .and_then(Path::parent)
            .map(|p| p.join(".emscripten")),
        home.map(|h| h.join(".emscripten")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|p| {
            std::fs::read_to_string(&p)
                .ok()
                .map(|t| format!("{}\n{t}", p.display()))
        })
        .unwrap_or_default()
}

fn llvm_root(config: &str, env: &[(String, String)]) -> Option<PathBuf> {
    if let Some(v) = env_get(env, "EM_LLVM_ROOT") {
        return Some(PathBuf::from(v));
    }
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r#"(?m)^\s*LLVM_ROOT\s*=\s*['"]([^'"]+)['"]"#).expect("valid regex")
    });
    re.captures(config).map(|c| PathBuf::from(&c[1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn ports_are_detected_in_every_spelling() {
        assert!(uses_ports(&s(&["-sUSE_SDL=2", "-c", "a.c"])));
        assert!(uses_ports(&s(&["-s", "USE_ZLIB=1"])));
        assert!(uses_ports(&s(&["--use-port=sdl2"])));
        assert!(!uses_ports(&s(&["-sASSERTIONS=1", "-c", "a.c"])));
    }

    #[test]
    fn llvm_root_comes_from_env_or_config() {
        let cfg = "LLVM_ROOT = '/usr/bin' # directory\n";
        assert_eq!(llvm_root(cfg, &[]), Some(PathBuf::from("/usr/bin")));
        let env = vec![("EM_LLVM_ROOT".to_string(), "/opt/llvm/bin".to_string())];
        assert_eq!(llvm_root(cfg, &env), Some(PathBuf::from("/opt/llvm/bin")));
    }
}
