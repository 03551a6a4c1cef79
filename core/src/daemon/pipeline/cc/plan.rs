//! Planning a gcc/clang request: everything decided before looking at any
//! source (family, `@rsp` expansion, argv parsing, compiler identity, the
//! key-relevant environment), and the context key of each source.

use super::super::refusal::Refusal;
use crate::base_dir::{BaseDirs, Portable};
use crate::compiler::path_args::{key_prefix_maps, rewrite_paths};
use crate::compiler::{
    expand_response_files, parse_gcc_args, CompileInvocation, CompilerFamily, Parsed,
};
use crate::daemon::reason::Uncacheable;
use crate::daemon::state::DaemonState;
use crate::hash::Digest;
use crate::ipc::CompileRequest;
use crate::key::KeyBuilder;
use crate::storage::RecordKey;

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

/// What is known about a request before looking at any source.
#[derive(Debug)]
pub(crate) struct Plan {
    /// The parsed invocation.
    pub inv: CompileInvocation,
    /// Compiler identity: blake3 of the binary.
    pub identity: Digest,
    /// The key-relevant environment, sorted.
    pub key_env: Vec<(String, String)>,
    /// Search dirs from the args and the include-path variables.
    pub search_dirs: Vec<String>,
    /// The request's base dirs (ccache manual, "base_dir").
    pub base_dirs: BaseDirs,
    /// `inv.common_args` as keyed: prefix maps in their portable form.
    pub key_args: Vec<String>,
    /// True when the args were rewritten for base dirs and every relative
    /// search dir resolves inside a base dir, so the keys and manifests
    /// of this request hold no path of this checkout (see
    /// [`Plan::portable`]).
    portable: bool,
}

impl Plan {
    /// The base dirs seen from `cwd` when source `i`'s keys are portable:
    /// the plan is, and the source is absolute (outside every base dir,
    /// so the same everywhere) or resolves inside a base dir. Then the
    /// context key holds no cwd and the manifest stores paths under base
    /// dirs relative to the cwd.
    pub(crate) fn portable<'a>(&'a self, cwd: &std::path::Path, i: usize) -> Option<Portable<'a>> {
        if !self.portable {
            return None;
        }
        let view = self.base_dirs.seen_from(cwd)?;
        let source = &self.inv.sources[i].path;
        (std::path::Path::new(source).is_absolute() || view.resolves_inside(source)).then_some(view)
    }

    /// A plan without base dirs, environment or search dirs (unit tests).
    #[cfg(test)]
    pub(crate) fn for_test(inv: CompileInvocation, identity: Digest) -> Plan {
        Plan {
            key_args: inv.common_args.clone(),
            inv,
            identity,
            key_env: Vec::new(),
            search_dirs: Vec::new(),
            base_dirs: BaseDirs::default(),
            portable: false,
        }
    }
}

/// Plan a request.
///
/// Errors: [`Refusal`] when it is not cacheable or our own step failed.
pub(crate) fn plan(
    d: &DaemonState,
    req: &CompileRequest,
    family: CompilerFamily,
) -> Result<Plan, Refusal> {
    let emcc = family == CompilerFamily::Emcc;
    if !family.is_c_family() && !emcc {
        return Err(Refusal::NonCacheable(
            Uncacheable::UnsupportedCompiler,
            req.compiler.display().to_string(),
        ));
    }
    let args = expand_response_files(&req.args, &req.cwd)
        .map_err(|e| Refusal::NonCacheable(Uncacheable::ResponseFile, e.to_string()))?;
    let base_dirs = BaseDirs::new(&req.base_dirs);
    let view = base_dirs.seen_from(&req.cwd);
    let args = match &view {
        Some(v) => rewrite_paths(&args, family, |p| v.relative(p)),
        None => args,
    };
    let inv = match parse_gcc_args(&args, family) {
        Parsed::Cacheable(inv) => inv,
        Parsed::NonCacheable(r) => {
            let detail = r.to_string();
            return Err(Refusal::NonCacheable(Uncacheable::Compile(r), detail));
        }
    };
    if let Some((k, _)) = req.env.iter().find(|(k, _)| DEPS_ENV.contains(&k.as_str())) {
        return Err(Refusal::NonCacheable(
            Uncacheable::DependenciesEnv,
            k.clone(),
        ));
    }
    if emcc && super::super::emcc::uses_ports(&args) {
        return Err(Refusal::NonCacheable(
            Uncacheable::EmscriptenPort,
            "a -sUSE_* port builds into emcc's cache".to_string(),
        ));
    }
    let identity = compiler_identity(d, req, emcc)?;
    let key_env = key_env(&req.env, emcc);
    let search_dirs = search_dirs(&inv, &req.env);
    let (key_args, portable) = portable_keying(view.as_ref(), &inv, &search_dirs);
    Ok(Plan {
        inv,
        identity,
        key_env,
        search_dirs,
        base_dirs,
        key_args,
        portable,
    })
}

/// The keyed args (prefix maps in relative form) and whether the plan's
/// keys can be portable: the request is seen from a base dir and every
/// relative search dir resolves inside one.
fn portable_keying(
    view: Option<&Portable<'_>>,
    inv: &CompileInvocation,
    search_dirs: &[String],
) -> (Vec<String>, bool) {
    match view {
        Some(v) => (
            key_prefix_maps(&inv.common_args, |p| v.relative(p)),
            search_dirs
                .iter()
                .all(|d| std::path::Path::new(d).is_absolute() || v.resolves_inside(d)),
        ),
        None => (inv.common_args.clone(), false),
    }
}

/// The compiler's identity: blake3 of the binary, or emscripten's identity
/// for emcc.
///
/// Errors: [`Refusal::Internal`] when it cannot be read.
fn compiler_identity(d: &DaemonState, req: &CompileRequest, emcc: bool) -> Result<Digest, Refusal> {
    if emcc {
        return super::super::emcc::identity(d, &req.compiler, &req.env)
            .map_err(|e| Refusal::Internal(e.to_string()));
    }
    let digest = d.meta().digest(&req.compiler).map_err(|e| {
        Refusal::Internal(format!(
            "cannot hash compiler {}: {e}",
            req.compiler.display()
        ))
    })?;
    Ok(digest.hash)
}

/// The key-relevant environment; for emcc also every `EMCC_*` and `EM_*`
/// variable (`EMCC_CFLAGS`, `EM_CONFIG`, `EM_CACHE`, …; emscripten docs,
/// "Environment variables").
fn key_env(env: &[(String, String)], emcc: bool) -> Vec<(String, String)> {
    let emscripten = |k: &str| emcc && (k.starts_with("EMCC_") || k.starts_with("EM_"));
    let mut out: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| KEY_ENV.contains(&k.as_str()) || k.starts_with("GCC_") || emscripten(k))
        .cloned()
        .collect();
    out.sort();
    out
}

fn search_dirs(inv: &CompileInvocation, env: &[(String, String)]) -> Vec<String> {
    let mut dirs: Vec<String> = inv.search_dirs.iter().map(|(_, d)| d.clone()).collect();
    for (_, v) in env
        .iter()
        .filter(|(k, _)| INCLUDE_ENV.contains(&k.as_str()))
    {
        dirs.extend(v.split(':').filter(|s| !s.is_empty()).map(str::to_string));
    }
    if uses_forced_includes(&inv.common_args) {
        // `-include` looks in the cwd first (gcc manual, -include).
        dirs.push(".".to_string());
    }
    dirs
}

/// Key fields of source `i` shared by the context key and the define
/// group key: its language, path and content hash, the keyed environment,
/// and the depfile options with the target left out (see `dep_targets`).
pub(crate) fn key_source_fields(b: &mut KeyBuilder, plan: &Plan, i: usize, source_hash: &Digest) {
    let inv = &plan.inv;
    let source = &inv.sources[i];
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
        b.strings(
            "depfile",
            &super::dep_targets::key_args(&dep.to_args("", &object)),
        );
    }
}

/// The context key of source `i` (see [`crate::key`]).
pub(crate) fn context_key(
    req: &CompileRequest,
    plan: &Plan,
    i: usize,
    source_hash: &Digest,
) -> RecordKey {
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
    b.strings("args", &plan.key_args);
    key_source_fields(&mut b, plan, i, source_hash);
    if let Some(cwd) = embedded_cwd(inv, &req.cwd) {
        b.field("cwd", cwd.as_bytes());
    }
    if plan.portable(&req.cwd, i).is_some() {
        // Paths under base dirs are recorded relative to the cwd, the
        // others are absolute: the manifest is valid from any cwd.
        b.field("paths", b"relative to the cwd under base dirs");
    } else if resolves_against_cwd(&source.path, &plan.search_dirs, &inv.common_args) {
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
    relative(source) || search_dirs.iter().any(|d| relative(d)) || uses_forced_includes(args)
}

fn uses_forced_includes(args: &[String]) -> bool {
    args.iter()
        .any(|a| a.starts_with("-include") || a.starts_with("-imacros"))
}
