//! The compile pipeline for gcc/clang requests, as small named steps:
//! classify → plan → per source: key → lookup → (hit: restore | miss:
//! compile and store) → merged replay.
//!
//! Anything not provably cacheable is answered with `RunLocally`, so the
//! launcher runs the real compiler unchanged (ccache manual, "Cache
//! statistics": uncacheable calls).

use super::hit::restore_entry;
use super::miss::{compile_source, MissContext};
use super::state::DaemonState;
use super::stats::Outcome;
use crate::compiler::{
    expand_response_files, parse_gcc_args, CompileInvocation, CompilerFamily, Parsed,
};
use crate::entry::Entry;
use crate::hash::Digest;
use crate::ipc::{CompileRequest, Response};
use crate::key::{resolve, KeyBuilder};
use crate::store::{RecordKey, RecordKind, StoreError};

/// Environment variables that change what gcc/clang produce (gcc manual,
/// "Environment Variables"; clang's `CCC_OVERRIDE_OPTIONS`; the locale
/// variables change diagnostics text). `GCC_*` is matched as a prefix.
const KEY_ENV: &[&str] = &[
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "OBJCPLUS_INCLUDE_PATH",
    "SOURCE_DATE_EPOCH",
    "COMPILER_PATH",
    "CCC_OVERRIDE_OPTIONS",
    "SDKROOT",
    "MACOSX_DEPLOYMENT_TARGET",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
];

/// Include-path variables whose dirs join the search dirs (gcc manual,
/// CPATH).
const INCLUDE_ENV: &[&str] = &[
    "CPATH",
    "C_INCLUDE_PATH",
    "CPLUS_INCLUDE_PATH",
    "OBJC_INCLUDE_PATH",
    "OBJCPLUS_INCLUDE_PATH",
];

/// Variables that make gcc write a depfile on its own: not cacheable.
const DEPS_ENV: &[&str] = &["DEPENDENCIES_OUTPUT", "SUNPRO_DEPENDENCIES"];

/// Why a request is not served through the cache.
#[derive(Debug)]
enum Refusal {
    /// Passed through with this reason label.
    NonCacheable(&'static str, String),
    /// Our own failure.
    Internal(String),
}

/// What is known about a request before looking at any source.
#[derive(Debug)]
pub struct Plan {
    /// The parsed invocation.
    pub inv: CompileInvocation,
    /// Compiler identity: blake3 of the binary.
    pub identity: Digest,
    /// The key-relevant environment, sorted.
    pub key_env: Vec<(String, String)>,
    /// Search dirs from the args and the include-path variables.
    pub search_dirs: Vec<String>,
}

/// Serve one compile request.
pub fn handle_compile(d: &DaemonState, req: &CompileRequest) -> Response {
    let t0 = std::time::Instant::now();
    let response = serve_request(d, req);
    tracing::debug!(
        latency_us = t0.elapsed().as_micros() as u64,
        "compile request served"
    );
    response
}

fn serve_request(d: &DaemonState, req: &CompileRequest) -> Response {
    let t_plan = std::time::Instant::now();
    let planned = plan(d, req);
    tracing::debug!(plan_us = t_plan.elapsed().as_micros() as u64, "plan");
    match planned {
        Ok(plan) => execute(d, req, &plan),
        Err(Refusal::NonCacheable(label, detail)) => {
            d.stats.record(&Outcome::NonCacheable(label));
            tracing::debug!(reason = label, %detail, "non-cacheable");
            Response::RunLocally {
                reason: format!("{label}: {detail}"),
            }
        }
        Err(Refusal::Internal(message)) => {
            d.stats.record(&Outcome::Error);
            tracing::warn!(%message, "internal error; launcher compiles directly");
            Response::RunLocally { reason: message }
        }
    }
}

fn plan(d: &DaemonState, req: &CompileRequest) -> Result<Plan, Refusal> {
    let family = CompilerFamily::from_path(&req.compiler);
    if !family.is_c_family() {
        return Err(Refusal::NonCacheable(
            "unsupported_compiler",
            req.compiler.display().to_string(),
        ));
    }
    let args = expand_response_files(&req.args, &req.cwd)
        .map_err(|e| Refusal::NonCacheable("response_file", e.to_string()))?;
    let inv = match parse_gcc_args(&args, family) {
        Parsed::Cacheable(inv) => inv,
        Parsed::NonCacheable(r) => return Err(Refusal::NonCacheable(r.label(), r.to_string())),
    };
    if let Some((k, _)) = req.env.iter().find(|(k, _)| DEPS_ENV.contains(&k.as_str())) {
        return Err(Refusal::NonCacheable("dependencies_env", k.clone()));
    }
    let identity = d
        .meta
        .digest(&req.compiler)
        .map_err(|e| {
            Refusal::Internal(format!(
                "cannot hash compiler {}: {e}",
                req.compiler.display()
            ))
        })?
        .hash;
    let key_env = key_env(&req.env);
    let search_dirs = search_dirs(&inv, &req.env);
    Ok(Plan {
        inv,
        identity,
        key_env,
        search_dirs,
    })
}

fn key_env(env: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| KEY_ENV.contains(&k.as_str()) || k.starts_with("GCC_"))
        .cloned()
        .collect();
    out.sort();
    out
}

fn search_dirs(inv: &CompileInvocation, env: &[(String, String)]) -> Vec<String> {
    let mut dirs: Vec<String> = inv.search_dirs.iter().map(|(_, d)| d.clone()).collect();
    for (k, v) in env
        .iter()
        .filter(|(k, _)| INCLUDE_ENV.contains(&k.as_str()))
    {
        let _ = k;
        dirs.extend(v.split(':').filter(|s| !s.is_empty()).map(str::to_string));
    }
    dirs
}

fn execute(d: &DaemonState, req: &CompileRequest, plan: &Plan) -> Response {
    let mut exit_code = 0;
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    for i in 0..plan.inv.sources.len() {
        let r = match serve_source(d, req, plan, i) {
            Ok(r) => r,
            Err(message) => {
                d.stats.record(&Outcome::Error);
                tracing::warn!(%message, "falling back to a local compile");
                return Response::RunLocally { reason: message };
            }
        };
        d.stats.record(&r.outcome);
        stdout.extend_from_slice(&r.stdout);
        stderr.extend_from_slice(&r.stderr);
        if r.exit_code != 0 && exit_code == 0 {
            exit_code = r.exit_code;
        }
    }
    Response::Compiled {
        exit_code,
        stdout,
        stderr,
    }
}

/// The result of one source of a request.
#[derive(Debug)]
pub struct SourceResult {
    /// Exit code of this source's compile (0 on a hit).
    pub exit_code: i32,
    /// stdout bytes.
    pub stdout: Vec<u8>,
    /// stderr bytes.
    pub stderr: Vec<u8>,
    /// How it was served.
    pub outcome: Outcome,
}

fn serve_source(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &Plan,
    i: usize,
) -> Result<SourceResult, String> {
    let source = &plan.inv.sources[i];
    let mut miss = MissContext {
        d,
        req,
        plan,
        index: i,
        context: None,
        reason: "first_compile",
    };
    let digest = match d.meta.digest(&resolve(&req.cwd, &source.path)) {
        Ok(dg) => dg,
        Err(_) => return compile_source(&miss, Some("source_unreadable")),
    };
    if digest.has_time_macros {
        return compile_source(&miss, Some("time_macro"));
    }
    let context = context_key(req, plan, i, &digest.hash);
    miss.context = Some((context, digest.hash));
    let t_lookup = std::time::Instant::now();
    let found = lookup(d, req, &context);
    tracing::debug!(lookup_us = t_lookup.elapsed().as_micros() as u64, "lookup");
    match found {
        Ok((entry_key, entry)) => match timed_restore(d, req, plan, i, &entry) {
            Ok(()) => Ok(SourceResult {
                exit_code: 0,
                stdout: entry.stdout,
                stderr: entry.stderr,
                outcome: Outcome::Hit {
                    saved_ms: entry.compile_ms,
                },
            }),
            Err(e) => {
                tracing::warn!(error = %e, "cached entry unusable; recompiling");
                let _ = d.store.remove_record(RecordKind::Entry, &entry_key);
                miss.reason = "corrupt_entry";
                compile_source(&miss, None)
            }
        },
        Err(reason) => {
            miss.reason = reason;
            compile_source(&miss, None)
        }
    }
}

fn timed_restore(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &Plan,
    i: usize,
    entry: &Entry,
) -> Result<(), super::hit::RestoreError> {
    let t = std::time::Instant::now();
    let r = restore_entry(d, req, plan, i, entry);
    tracing::debug!(restore_us = t.elapsed().as_micros() as u64, "restore");
    r
}

/// The context key of source `i` (see [`crate::key`]).
fn context_key(req: &CompileRequest, plan: &Plan, i: usize, source_hash: &Digest) -> RecordKey {
    let inv = &plan.inv;
    let source = &inv.sources[i];
    let mut b = KeyBuilder::new("c-compile");
    b.field("compiler", &plan.identity);
    let name = req
        .compiler
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    b.field("compiler-name", name.as_bytes());
    b.strings("args", &inv.common_args);
    b.field(
        "language",
        source.language.as_deref().unwrap_or("").as_bytes(),
    );
    b.field("source-path", source.path.as_bytes());
    b.field("source", source_hash);
    for (k, v) in &plan.key_env {
        b.field("env", format!("{k}={v}").as_bytes());
    }
    if let Some(dep) = &inv.depfile {
        let object = inv.object_path(i);
        b.strings("depfile", &dep.to_args("", &object));
    }
    if let Some(cwd) = embedded_cwd(inv, &req.cwd) {
        b.field("cwd", cwd.as_bytes());
    }
    if resolves_against_cwd(&source.path, &plan.search_dirs, &inv.common_args) {
        // Shadow checks are recorded as absolute paths, so a manifest made
        // in one directory must not be trusted in another.
        b.field("cwd-paths", req.cwd.as_os_str().as_encoded_bytes());
    }
    b.finish()
}

/// The cwd as the object embeds it (debug info's comp_dir), after the
/// last matching `-fdebug-prefix-map`/`-ffile-prefix-map` rewrite (gcc
/// manual, -fdebug-prefix-map); `None` without debug info.
fn embedded_cwd(inv: &CompileInvocation, cwd: &std::path::Path) -> Option<String> {
    if !inv.debug_info {
        return None;
    }
    let cwd = cwd.to_string_lossy();
    for (old, new) in inv.prefix_maps.iter().rev() {
        if let Some(rest) = cwd.strip_prefix(old.as_str()) {
            return Some(format!("{new}{rest}"));
        }
    }
    Some(cwd.into_owned())
}

/// True when the source or a search dir is relative, or a forced include is
/// used (`-include` searches the cwd first, gcc manual), so that which files
/// the compiler finds depends on the cwd.
fn resolves_against_cwd(source: &str, search_dirs: &[String], args: &[String]) -> bool {
    let relative = |p: &str| !std::path::Path::new(p).is_absolute();
    relative(source)
        || search_dirs.iter().any(|d| relative(d))
        || args
            .iter()
            .any(|a| a.starts_with("-include") || a.starts_with("-imacros"))
}

fn lookup(
    d: &DaemonState,
    req: &CompileRequest,
    context: &RecordKey,
) -> Result<(RecordKey, Entry), &'static str> {
    let manifest = d.manifest(context).ok_or("first_compile")?;
    let (entry_key, refresh) = manifest
        .find(&req.cwd, &d.meta)
        .map_err(|_| "inputs_changed")?;
    if !refresh.is_empty() {
        let mut updated = (*manifest).clone();
        updated.refresh(&refresh);
        if let Err(e) = d.save_manifest(context, updated) {
            tracing::debug!(error = %e, "could not refresh manifest");
        }
    }
    let bytes = match d.store.get_record(RecordKind::Entry, &entry_key) {
        Ok(Some(b)) => b,
        Ok(None) => return Err("entry_missing"),
        Err(StoreError::Corrupt { .. }) => return Err("corrupt_entry"),
        Err(_) => return Err("entry_missing"),
    };
    let entry = Entry::decode(&bytes).ok_or("corrupt_entry")?;
    Ok((entry_key, entry))
}
