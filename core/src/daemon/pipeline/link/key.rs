//! Link and archive keys. A link's key covers the tool identity and name,
//! the expanded args, the cwd, the key-relevant environment, the content of
//! every input file, and the library each `-l` resolves to through the `-L`
//! dirs, `LIBRARY_PATH` (driver only) and the tool's default search dirs.
//! An archive's key covers the tool, the modifier letters, the members'
//! content and the archive that exists before the call.
//!
//! Not keyed (treated as part of the toolchain, like ccache does): the
//! driver's implicit start files and libraries (`crt1.o`, `libgcc`,
//! `libc`) and the linker binary the driver picks.
//!
//! With base dirs (ccache manual, "base_dir"), a call whose cwd lies under
//! one and whose arguments name no base dir (no absolute input, output or
//! `-rpath` there) keys no cwd, and libraries found under a base dir by
//! their path relative to the cwd, so checkouts at different paths share
//! it: ar and ld embed no working directory. Not for emcc (its link step
//! runs optimisers and writes source maps) nor LTO (the link compiles).

use super::super::libsearch::{library_path_dirs, resolve_library};
use super::super::refusal::Refusal;
use super::super::runner::run_query;
use crate::base_dir::{BaseDirs, Portable};
use crate::compiler::{ArInvocation, CompilerFamily, LinkInvocation, LinkTool};
use crate::daemon::reason::Uncacheable;
use crate::daemon::state::DaemonState;
use crate::hash::Digest;
use crate::ipc::CompileRequest;
use crate::key::{resolve, KeyBuilder};
use crate::storage::RecordKey;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Environment variables that change what a link produces: the driver's
/// search paths (gcc manual, "Environment Variables"), `LD_RUN_PATH` (GNU
/// ld manual, -rpath), the timestamp override and the message locale.
const LINK_ENV: &[&str] = &[
    "LIBRARY_PATH",
    "COMPILER_PATH",
    "GCC_EXEC_PREFIX",
    "LD_RUN_PATH",
    "SOURCE_DATE_EPOCH",
    "ZERO_AR_DATE",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_MESSAGES",
];

/// A file whose content keyed the call, re-checked after the tool ran.
#[derive(Debug, Clone)]
pub(crate) struct KeyedFile {
    /// Absolute path.
    pub path: PathBuf,
    /// Its blake3 when keyed.
    pub hash: Digest,
}

/// The key of one call and the files it depends on.
#[derive(Debug)]
pub(crate) struct Keyed {
    /// The entry key.
    pub key: RecordKey,
    /// Inputs to re-check after the run (not the archive being updated).
    pub files: Vec<KeyedFile>,
}

/// Start a key with what every link and archive call shares.
fn base(
    purpose: &str,
    d: &DaemonState,
    req: &CompileRequest,
    args: &[String],
    portable: bool,
) -> Result<KeyBuilder, Refusal> {
    let emcc = is_emcc(req);
    let identity = tool_identity(d, req, emcc)?;
    let mut b = KeyBuilder::new(purpose);
    b.field("tool", &identity);
    let name = req.compiler.file_name().unwrap_or_default();
    b.field("tool-name", name.as_encoded_bytes());
    b.strings("args", args);
    if portable {
        b.field("cwd", b"<under a base dir>");
    } else {
        b.field("cwd", req.cwd.as_os_str().as_encoded_bytes());
    }
    let mut env: Vec<&(String, String)> = req
        .env
        .iter()
        .filter(|(k, _)| {
            LINK_ENV.contains(&k.as_str())
                || k.starts_with("GCC_")
                || (emcc && (k.starts_with("EMCC_") || k.starts_with("EM_")))
        })
        .collect();
    env.sort();
    for (k, v) in env {
        b.field("env", format!("{k}={v}").as_bytes());
    }
    Ok(b)
}

/// The tool's identity: emscripten's for its drivers (they are Python:
/// its version, config and LLVM tools are keyed; for emar/emranlib also
/// llvm-ar and llvm-ranlib), else the blake3 of the tool.
///
/// Errors: [`Refusal::Internal`] when the tool cannot be hashed or the
/// emscripten install cannot be located.
fn tool_identity(d: &DaemonState, req: &CompileRequest, emcc: bool) -> Result<[u8; 32], Refusal> {
    use super::super::emcc::{archiver_identity, identity};
    if !emcc {
        let digest = d.meta().digest(&req.compiler).map_err(|e| {
            Refusal::Internal(format!("cannot hash {}: {e}", req.compiler.display()))
        })?;
        return Ok(digest.hash);
    }
    let archiver = matches!(
        CompilerFamily::from_path(&req.compiler),
        CompilerFamily::Ar | CompilerFamily::Ranlib
    );
    let id = match archiver {
        true => archiver_identity(d, &req.compiler, &req.env),
        false => identity(d, &req.compiler, &req.env),
    };
    id.map_err(|e| Refusal::Internal(e.to_string()))
}

/// True for emcc/em++ links and emar/emranlib calls: their identity is
/// emscripten's, and their keys keep the cwd.
fn is_emcc(req: &CompileRequest) -> bool {
    crate::compiler::family::is_emscripten_tool(&req.compiler)
}

/// The base dirs seen from the cwd when this call's key can leave the cwd
/// out (see the module docs).
fn portable_view<'a>(
    req: &CompileRequest,
    base_dirs: &'a BaseDirs,
    args: &[String],
) -> Option<Portable<'a>> {
    let view = base_dirs.seen_from(&req.cwd)?;
    let lto = |a: &String| a.starts_with("-flto") || a.starts_with("-Wl,-plugin");
    let unportable = is_emcc(req) || args.iter().any(|a| lto(a) || base_dirs.named_in(a));
    (!unportable).then_some(view)
}

/// Hash `path` (relative to the cwd) into the key as field `name`.
fn add_file(
    d: &DaemonState,
    b: &mut KeyBuilder,
    files: &mut Vec<KeyedFile>,
    cwd: &Path,
    name: &str,
    path: &str,
) -> Result<(), Refusal> {
    let abs = resolve(cwd, path);
    let digest = d
        .meta()
        .digest(&abs)
        .map_err(|e| Refusal::NonCacheable(Uncacheable::InputUnreadable, format!("{path}: {e}")))?;
    b.field(name, path.as_bytes());
    b.field("hash", &digest.hash);
    files.push(KeyedFile {
        path: abs,
        hash: digest.hash,
    });
    Ok(())
}

/// The key of a link.
///
/// Errors: [`Refusal::NonCacheable`] when an input cannot be read;
/// [`Refusal::Internal`] when the tool cannot be hashed.
pub(crate) fn link_key(
    d: &DaemonState,
    req: &CompileRequest,
    args: &[String],
    inv: &LinkInvocation,
    tool: LinkTool,
) -> Result<Keyed, Refusal> {
    let base_dirs = BaseDirs::new(&req.base_dirs);
    let view = portable_view(req, &base_dirs, args);
    let mut b = base("link", d, req, args, view.is_some())?;
    let mut files = Vec::new();
    for input in &inv.inputs {
        add_file(d, &mut b, &mut files, &req.cwd, "input", input)?;
    }
    let dirs = search_dirs(req, inv, tool);
    for lib in &inv.libs {
        let found = resolve_library(lib, &dirs);
        if found.is_empty() {
            b.field("lib-absent", lib.as_bytes());
        }
        for path in found {
            b.field("lib", lib.as_bytes());
            let path = path.to_string_lossy();
            let keyed = view.as_ref().and_then(|v| v.relative(&path));
            let keyed = keyed.as_deref().unwrap_or(&path);
            add_file(d, &mut b, &mut files, &req.cwd, "lib-path", keyed)?;
        }
    }
    Ok(Keyed {
        key: b.finish(),
        files,
    })
}

/// The key of an archive call.
///
/// Errors: as for [`link_key`].
pub(crate) fn archive_key(
    d: &DaemonState,
    req: &CompileRequest,
    args: &[String],
    inv: &ArInvocation,
) -> Result<Keyed, Refusal> {
    let base_dirs = BaseDirs::new(&req.base_dirs);
    let portable = portable_view(req, &base_dirs, args).is_some();
    let mut b = base("archive", d, req, args, portable)?;
    b.field("operation", inv.operation.to_string().as_bytes());
    b.field("modifiers", inv.modifiers.as_bytes());
    let mut files = Vec::new();
    for m in inv.members.iter().chain(&inv.plugins) {
        add_file(d, &mut b, &mut files, &req.cwd, "member", m)?;
    }
    let archive = resolve(&req.cwd, &inv.archive);
    match std::fs::symlink_metadata(&archive) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            b.field("archive-absent", inv.archive.as_bytes());
        }
        _ => {
            let mut ignored = Vec::new();
            add_file(d, &mut b, &mut ignored, &req.cwd, "archive", &inv.archive)?;
        }
    }
    Ok(Keyed {
        key: b.finish(),
        files,
    })
}

/// The dirs `-l` searches, in order: `-L` dirs, then `LIBRARY_PATH` (gcc
/// manual, LIBRARY_PATH; driver only), then the tool's defaults.
fn search_dirs(req: &CompileRequest, inv: &LinkInvocation, tool: LinkTool) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = inv.lib_dirs.iter().map(|l| resolve(&req.cwd, l)).collect();
    if tool == LinkTool::Driver {
        dirs.extend(library_path_dirs(req));
    }
    dirs.extend(default_dirs(req, inv, tool).iter().cloned());
    dirs
}

type DirsMemo = Mutex<HashMap<(PathBuf, Vec<String>), Arc<Vec<PathBuf>>>>;

/// The tool's default library dirs, asked once per tool and target args:
/// `<driver> -print-search-dirs` ("libraries:" line, gcc manual) or
/// `<ld> --verbose` (`SEARCH_DIR` lines of the default linker script).
fn default_dirs(req: &CompileRequest, inv: &LinkInvocation, tool: LinkTool) -> Arc<Vec<PathBuf>> {
    static MEMO: OnceLock<DirsMemo> = OnceLock::new();
    let memo = MEMO.get_or_init(Default::default);
    let k = (req.compiler.clone(), inv.target_args.clone());
    if let Some(v) = memo.lock().ok().and_then(|m| m.get(&k).cloned()) {
        return v;
    }
    let dirs = Arc::new(query_default_dirs(req, inv, tool));
    if let Ok(mut m) = memo.lock() {
        m.insert(k, dirs.clone());
    }
    dirs
}

fn query_default_dirs(req: &CompileRequest, inv: &LinkInvocation, tool: LinkTool) -> Vec<PathBuf> {
    let args: Vec<String> = match tool {
        LinkTool::Driver => inv
            .target_args
            .iter()
            .cloned()
            .chain(["-print-search-dirs".to_string()])
            .collect(),
        LinkTool::Linker => vec!["--verbose".to_string()],
    };
    let out = match run_query(req, &args) {
        Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
        Err(_) => String::new(),
    };
    let mut dirs = match tool {
        LinkTool::Driver => parse_print_search_dirs(&out),
        LinkTool::Linker => parse_search_dir_lines(&out),
    };
    for fallback in ["/usr/local/lib", "/lib", "/usr/lib"] {
        let p = PathBuf::from(fallback);
        if !dirs.contains(&p) {
            dirs.push(p);
        }
    }
    dirs
}

fn parse_print_search_dirs(out: &str) -> Vec<PathBuf> {
    out.lines()
        .find_map(|l| l.strip_prefix("libraries: "))
        .map(|l| l.trim_start_matches('='))
        .map(|l| {
            l.split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

fn parse_search_dir_lines(out: &str) -> Vec<PathBuf> {
    out.split("SEARCH_DIR(\"")
        .skip(1)
        .filter_map(|s| s.split_once("\")"))
        .map(|(dir, _)| PathBuf::from(dir.trim_start_matches('=')))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_default_dirs() {
        let gcc = "install: /usr/lib/gcc/x/12/\nlibraries: =/a/:/b\n";
        assert_eq!(
            parse_print_search_dirs(gcc),
            vec![PathBuf::from("/a/"), PathBuf::from("/b")]
        );
        let ld = r#"SEARCH_DIR("=/usr/local/lib"); SEARCH_DIR("=/lib");"#;
        assert_eq!(
            parse_search_dir_lines(ld),
            vec![PathBuf::from("/usr/local/lib"), PathBuf::from("/lib")]
        );
    }

    #[test]
    fn library_resolution_order() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("libx.a"), "b").unwrap();
        assert_eq!(
            resolve_library("x", &[a.clone(), b.clone()]),
            vec![b.join("libx.a")]
        );
        std::fs::write(a.join("libx.so"), "a").unwrap();
        assert_eq!(
            resolve_library("x", &[a.clone(), b.clone()]),
            vec![a.join("libx.so")]
        );
        assert_eq!(
            resolve_library(":libx.a", &[a, b.clone()]),
            vec![b.join("libx.a")]
        );
    }
}
