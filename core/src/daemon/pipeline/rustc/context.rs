//! Planning a rustc request: parse the argv, and compute the context key
//! from everything known before the compile (rustc book, "Command-line
//! Arguments"; cargo book, "Environment variables Cargo sets for crates"):
//!
//! - the rustc identity ([`super::identity`]);
//! - the cwd (rustc embeds it in debug info and diagnostics) and the
//!   expanded argv verbatim (absolute `--out-dir`, `-C metadata`,
//!   `-C extra-filename`, `--cfg`, RUSTFLAGS-derived args, `--target`);
//! - the content of every `--extern` file;
//! - native libraries named by `-l` that are found in `-L` dirs or
//!   `LIBRARY_PATH`;
//! - for linked crate types, the linker's identity (`-C linker`, else `cc`)
//!   and the content of every file the `-C link-arg(s)` name: objects,
//!   archives, linker scripts, `-Wl,@file`s, and `-l` libraries found in
//!   the `-L` dirs;
//! - the `CARGO_*` variables (cargo sets `CARGO_PKG_*`,
//!   `CARGO_MANIFEST_DIR`, …; `CARGO_MAKEFLAGS`, the jobserver handle, is
//!   left out), `OUT_DIR`, and variables that change rustc itself.
//!
//! Source files and `env!` variables come later, from the dep-info.
//!
//! A request whose paths are remapped away ([`super::portable`]) is keyed
//! under the purpose `rustc-portable`, with its cwd, arguments, keyed
//! variables and library paths in their portable forms and the names of
//! its roots; every other request is keyed exactly as described above.

use super::super::libsearch::{library_path_dirs, resolve_library};
use super::super::refusal::Refusal;
use super::identity::rustc_identity;
use super::portable::Anchors;
use crate::compiler::link_args::{parse_driver_link, LinkParse};
use crate::compiler::rustc::{parse_rustc_args, RustcInvocation};
use crate::daemon::reason::Uncacheable;
use crate::daemon::state::DaemonState;
use crate::ipc::CompileRequest;
use crate::key::{resolve, KeyBuilder};
use crate::storage::RecordKey;
use std::path::PathBuf;

/// Variables outside `CARGO_*` that change what rustc produces: unstable
/// features, custom target specs, the forced version string, the linker's
/// library path (gcc manual, `LIBRARY_PATH`) and the diagnostics' language.
const KEY_ENV: &[&str] = &[
    "OUT_DIR",
    "RUSTC_BOOTSTRAP",
    "RUST_TARGET_PATH",
    "RUSTC_FORCE_RUSTC_VERSION",
    "LIBRARY_PATH",
    "SOURCE_DATE_EPOCH",
    "LANG",
    "LC_ALL",
    "LC_MESSAGES",
];
/// `CARGO_*` variables that differ between identical builds.
const VOLATILE_ENV: &[&str] = &["CARGO_MAKEFLAGS"];

/// A planned rustc request.
#[derive(Debug)]
pub(crate) struct RustcPlan {
    /// The parsed invocation.
    pub inv: RustcInvocation,
    /// The context key.
    pub context: RecordKey,
    /// The roots and remappings when the request is portable
    /// ([`super::portable`]); `None`: keyed and stored as always.
    pub anchors: Option<Anchors>,
}

/// Plan a rustc request.
///
/// Errors: [`Refusal`] when it is not cacheable or an input cannot be read.
pub(crate) fn plan(d: &DaemonState, req: &CompileRequest) -> Result<RustcPlan, Refusal> {
    let inv = parse_rustc_args(&req.args, &req.cwd)
        .map_err(|r| Refusal::NonCacheable(Uncacheable::Rustc(r.clone()), r.to_string()))?;
    let identity = rustc_identity(req).map_err(|e| Refusal::Internal(e.to_string()))?;
    let anchors = Anchors::for_request(req, &inv.args);
    let a = anchors.as_ref();
    let mut b = KeyBuilder::new(if a.is_some() {
        "rustc-portable"
    } else {
        "rustc"
    });
    b.field("identity", &identity);
    match a {
        None => {
            b.field("cwd", req.cwd.as_os_str().as_encoded_bytes());
            b.strings("args", &inv.args);
        }
        Some(a) => {
            b.field("cwd", a.key_path(&req.cwd.to_string_lossy()).as_bytes());
            b.field("roots", a.names().as_bytes());
            let args: Vec<String> = inv.args.iter().map(|x| a.key_arg(x)).collect();
            b.strings("args", &args);
        }
    }
    for (k, v) in key_env(&req.env) {
        let v = a.map_or(v.clone(), |a| a.key_value(&v));
        b.field("env", format!("{k}={v}").as_bytes());
    }
    key_inputs(d, req, &inv, a, &mut b)?;
    Ok(RustcPlan {
        context: b.finish(),
        inv,
        anchors,
    })
}

/// Key the files the call reads besides its sources: `--extern` contents,
/// native libraries, and for linked crates the linker and its inputs;
/// paths in their portable form when `a` is given.
///
/// Errors: [`Refusal`] when an input cannot be read.
fn key_inputs(
    d: &DaemonState,
    req: &CompileRequest,
    inv: &RustcInvocation,
    a: Option<&Anchors>,
    b: &mut KeyBuilder,
) -> Result<(), Refusal> {
    let keyed = |p: String| a.map_or(p.clone(), |a| a.key_path(&p));
    for e in &inv.externs {
        let h = d.meta().digest(&resolve(&req.cwd, e)).map_err(|err| {
            Refusal::NonCacheable(Uncacheable::RustcExternUnreadable, format!("{e}: {err}"))
        })?;
        b.field("extern", &h.hash);
    }
    for (path, hash) in native_libs(d, req, inv) {
        b.field("native-lib", keyed(path).as_bytes());
        b.field("native-lib-hash", &hash);
    }
    if inv.links() {
        b.field("linker", &linker_identity(d, req, inv)?);
        for (path, hash) in link_arg_inputs(d, req, inv)? {
            b.field("link-arg-input", keyed(path).as_bytes());
            b.field("link-arg-input-hash", &hash);
        }
    }
    Ok(())
}

/// The request variables that key a rustc call: `CARGO_*` (but the
/// jobserver's) and [`KEY_ENV`], sorted.
pub(crate) fn key_env(env: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| {
            (k.starts_with("CARGO_") && !VOLATILE_ENV.contains(&k.as_str()))
                || KEY_ENV.contains(&k.as_str())
        })
        .cloned()
        .collect();
    out.sort();
    out
}

/// Every `lib<name>.a` / `lib<name>.so` found for the `-l` names in the
/// non-dependency `-L` dirs and `LIBRARY_PATH` ([`native_dirs`]), with its
/// content hash. Libraries found only in the linker's default paths are
/// system libraries and are not keyed.
fn native_libs(
    d: &DaemonState,
    req: &CompileRequest,
    inv: &RustcInvocation,
) -> Vec<(String, crate::hash::Digest)> {
    let mut out = Vec::new();
    for dir in native_dirs(req, inv) {
        for name in &inv.native_libs {
            for file in [format!("lib{name}.a"), format!("lib{name}.so")] {
                let p = dir.join(&file);
                if let Ok(dg) = d.meta().digest(&p) {
                    out.push((p.to_string_lossy().into_owned(), dg.hash));
                }
            }
        }
    }
    out
}

/// The files the `-C link-arg(s)` make the linker read, with their content
/// hashes, read the way a linker driver reads them (rustc passes link args
/// to `cc`; gcc manual, "Options for Linking"): named inputs, linker
/// scripts and `-Wl,@file`s, and `-l` libraries resolved in the link
/// args' `-L` dirs, rustc's own non-dependency `-L` dirs, then
/// `LIBRARY_PATH`. Libraries only in the linker's default dirs are system
/// libraries and not keyed.
///
/// Errors: [`Refusal::NonCacheable`] when the link args name outputs we do
/// not capture (`-Wl,-Map=…`), are not reproducible (`--build-id=uuid`),
/// or name an input that cannot be read.
fn link_arg_inputs(
    d: &DaemonState,
    req: &CompileRequest,
    inv: &RustcInvocation,
) -> Result<Vec<(String, crate::hash::Digest)>, Refusal> {
    if inv.link_args.is_empty() {
        return Ok(Vec::new());
    }
    // rustc supplies the objects and the output itself; stand-ins make
    // the argv a complete driver link, and are dropped again below.
    const OBJECTS: &str = "\0rustc-objects.o";
    let mut argv = inv.link_args.clone();
    argv.extend(["-o", "\0rustc-output", OBJECTS].map(str::to_string));
    let link = match parse_driver_link(&argv, &req.cwd) {
        LinkParse::Link(l) => l,
        LinkParse::NotALink => {
            let detail = inv.link_args.join(" ");
            return Err(Refusal::NonCacheable(Uncacheable::RustcLinkArgs, detail));
        }
        LinkParse::NonCacheable(why, detail) => {
            return Err(Refusal::NonCacheable(Uncacheable::Link(why), detail))
        }
    };
    if !link.extra_outputs.is_empty() {
        let detail = link.extra_outputs.join(" ");
        return Err(Refusal::NonCacheable(Uncacheable::RustcLinkOutputs, detail));
    }
    let mut files: Vec<PathBuf> = link
        .inputs
        .iter()
        .filter(|i| *i != OBJECTS)
        .map(|i| resolve(&req.cwd, i))
        .collect();
    let dirs: Vec<PathBuf> = link
        .lib_dirs
        .iter()
        .map(|dir| resolve(&req.cwd, dir))
        .chain(native_dirs(req, inv))
        .collect();
    for lib in &link.libs {
        files.extend(resolve_library(lib, &dirs));
    }
    files
        .into_iter()
        .map(|p| {
            let dg = d.meta().digest(&p).map_err(|e| {
                let detail = format!("{}: {e}", p.display());
                Refusal::NonCacheable(Uncacheable::RustcLinkInputUnreadable, detail)
            })?;
            Ok((p.to_string_lossy().into_owned(), dg.hash))
        })
        .collect()
}

/// Where native libraries are looked for, in order: rustc's `-L` dirs
/// that hold them (all kinds but `dependency` and `crate`; rustc book,
/// "-L"), then `LIBRARY_PATH`, which the linker driver also searches for
/// the `-l` rustc passes on (gcc manual, LIBRARY_PATH).
fn native_dirs(req: &CompileRequest, inv: &RustcInvocation) -> Vec<PathBuf> {
    inv.lib_dirs
        .iter()
        .filter(|(kind, _)| kind != "dependency" && kind != "crate")
        .map(|(_, dir)| resolve(&req.cwd, dir))
        .chain(library_path_dirs(req))
        .collect()
}

/// blake3 of the linker binary (`-C linker`, else `cc` on the request's
/// PATH; rustc book, "-C linker").
fn linker_identity(
    d: &DaemonState,
    req: &CompileRequest,
    inv: &RustcInvocation,
) -> Result<crate::hash::Digest, Refusal> {
    let name = inv.linker.as_deref().unwrap_or("cc");
    let path = if name.contains('/') {
        Some(resolve(&req.cwd, name))
    } else {
        let paths = req
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone());
        which::which_in(name, paths, &req.cwd).ok()
    };
    let path =
        path.ok_or_else(|| Refusal::NonCacheable(Uncacheable::RustcLinker, name.to_string()))?;
    d.meta()
        .digest(&path)
        .map(|dg| dg.hash)
        .map_err(|e| Refusal::NonCacheable(Uncacheable::RustcLinker, format!("{name}: {e}")))
}
