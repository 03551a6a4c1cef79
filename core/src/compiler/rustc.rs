//! rustc command-line understanding for caching (rustc book, "Command-line
//! Arguments"): which crate is built, what it emits and where, what it links
//! against, and whether the invocation can be cached at all.
//!
//! `@path` argfiles are expanded first (rustc's dialect: one argument per
//! line, no quoting). Everything the parser does not positively understand
//! as cacheable is refused with a named reason, so the launcher runs rustc
//! unchanged.

use std::path::Path;

/// Crate types whose output is linked by rustc (they need link inputs in the
/// key: linker identity, link args, native libs).
pub(crate) const LINKED_CRATE_TYPES: &[&str] = &["bin", "proc-macro", "dylib", "cdylib"];

/// Crate types this cache serves: every stable one (rustc book,
/// "--crate-type"); the linked ones key their link inputs.
pub(crate) const CACHED_CRATE_TYPES: &[&str] = &[
    "lib",
    "rlib",
    "staticlib",
    "bin",
    "proc-macro",
    "dylib",
    "cdylib",
];

/// Why a rustc invocation is not cached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RustcRefusal {
    /// An informational call (`-vV`, `--print`, `--version`, `--help`).
    #[error("informational call, nothing is compiled")]
    Informational,
    /// Source from stdin (`-`), or no/many input files.
    #[error("input is not exactly one source file: {0}")]
    Input(String),
    /// `-C incremental`: incremental state lives outside the outputs.
    #[error("incremental compilation (-C incremental) is never cached")]
    Incremental,
    /// A crate type the cache does not serve.
    #[error("crate type {0} is not cached")]
    CrateType(String),
    /// An `--emit` kind or explicit emit path the cache does not serve.
    #[error("--emit {0} is not cached")]
    Emit(String),
    /// An option with outputs the cache does not capture (`-o`,
    /// `-C split-debuginfo`, `-C save-temps`, `-C profile-generate`, …).
    #[error("{0} has outputs the cache does not capture")]
    Outputs(String),
    /// No `--emit=dep-info` for a crate whose output embeds crate metadata
    /// (`lib`, `rlib`, `dylib`, `proc-macro`, or `--emit=metadata`): adding
    /// dep-info, which the cache needs to learn the sources, changes that
    /// metadata, so the output would differ from a plain rustc run. Cargo
    /// always asks for dep-info.
    #[error("no --emit=dep-info, and adding it would change the crate metadata")]
    NoDepInfo,
    /// `--crate-name`, `--out-dir` missing.
    #[error("{0} is required for caching")]
    Missing(&'static str),
    /// A target whose file names this cache does not know (non-Linux).
    #[error("target {0} is not supported (Linux targets only)")]
    Target(String),
    /// An argfile could not be read, or an argument is malformed.
    #[error("bad argument: {0}")]
    BadArg(String),
}

impl RustcRefusal {
    /// The short label used in statistics.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            RustcRefusal::Informational => "rustc_informational",
            RustcRefusal::Input(_) => "rustc_input",
            RustcRefusal::Incremental => "rustc_incremental",
            RustcRefusal::CrateType(_) => "rustc_crate_type",
            RustcRefusal::Emit(_) => "rustc_emit",
            RustcRefusal::NoDepInfo => "rustc_no_dep_info",
            RustcRefusal::Outputs(_) => "rustc_outputs",
            RustcRefusal::Missing(_) => "rustc_missing_arg",
            RustcRefusal::Target(_) => "rustc_target",
            RustcRefusal::BadArg(_) => "rustc_bad_arg",
        }
    }
}

/// A cacheable rustc invocation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RustcInvocation {
    /// The argv after argfile expansion.
    pub args: Vec<String>,
    /// `--crate-name`.
    pub crate_name: String,
    /// `--crate-type` values (each comma list split), `lib` when none.
    pub crate_types: Vec<String>,
    /// `--emit` kinds, `link` when none.
    pub emit: Vec<String>,
    /// `--out-dir`.
    pub out_dir: String,
    /// `-C extra-filename`, empty when absent.
    pub extra_filename: String,
    /// The source file.
    pub input: String,
    /// Index of the `--emit` argument in `args` (`None` when absent); the
    /// pipeline rewrites it to add dep-info.
    pub emit_index: Option<usize>,
    /// `--extern name=path` paths.
    pub externs: Vec<String>,
    /// `-L [kind=]path` as (kind, path); kind is `all` when absent.
    pub lib_dirs: Vec<(String, String)>,
    /// `-l [kind[:mods]=]name[:rename]` names.
    pub native_libs: Vec<String>,
    /// `-C linker=…`.
    pub linker: Option<String>,
    /// The arguments rustc passes to the linker: each `-C link-arg=X`, and
    /// `-C link-args=…` split on whitespace, in order (rustc book, "Codegen
    /// Options", link-arg / link-args).
    pub link_args: Vec<String>,
    /// `--target`.
    pub target: Option<String>,
}

impl RustcInvocation {
    /// True when rustc links this crate (bin, proc-macro, dylib, cdylib).
    pub(crate) fn links(&self) -> bool {
        self.emit.iter().any(|e| e == "link")
            && self
                .crate_types
                .iter()
                .any(|t| LINKED_CRATE_TYPES.contains(&t.as_str()))
    }

    /// True when an output carries crate metadata: `--emit=metadata`, or a
    /// crate type other than `bin`, `staticlib` and `cdylib` (rustc
    /// reference, "Linkage").
    pub(crate) fn embeds_metadata(&self) -> bool {
        self.emit.iter().any(|e| e == "metadata")
            || self
                .crate_types
                .iter()
                .any(|t| !matches!(t.as_str(), "bin" | "staticlib" | "cdylib"))
    }

    /// The file names rustc writes into `out_dir` (rustc book, "--emit";
    /// Linux naming): `lib<name><extra>.rlib|.rmeta|.a|.so`, `<name><extra>`
    /// for a bin and `<name><extra>.d` for dep-info.
    pub(crate) fn output_names(&self) -> Vec<String> {
        let stem = format!("{}{}", self.crate_name, self.extra_filename);
        let mut names = Vec::new();
        for kind in &self.emit {
            match kind.as_str() {
                "dep-info" => names.push(format!("{stem}.d")),
                "metadata" => names.push(format!("lib{stem}.rmeta")),
                "link" => {
                    for t in &self.crate_types {
                        names.push(match t.as_str() {
                            "bin" => stem.clone(),
                            "staticlib" => format!("lib{stem}.a"),
                            "proc-macro" | "dylib" | "cdylib" => format!("lib{stem}.so"),
                            _ => format!("lib{stem}.rlib"),
                        });
                    }
                }
                _ => {}
            }
        }
        names.sort();
        names.dedup();
        names
    }
}

/// Parse a rustc argv (after the compiler path), expanding `@argfile`s
/// relative to `cwd`.
///
/// Errors: [`RustcRefusal`] naming why the call is not cacheable.
pub(crate) fn parse_rustc_args(
    args: &[String],
    cwd: &Path,
) -> Result<RustcInvocation, RustcRefusal> {
    let args = expand_argfiles(args, cwd)?;
    if args
        .iter()
        .any(|a| a == "--print" || a.starts_with("--print="))
    {
        return Err(RustcRefusal::Informational);
    }
    let mut inv = RustcInvocation::default();
    let mut inputs = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let (flag, value, used) = split_option(&args, i)?;
        match flag {
            Some(flag) => apply_option(&mut inv, flag, value.unwrap_or_default(), i)?,
            None => inputs.push(args[i].clone()),
        }
        i += used;
    }
    inv.args = args;
    finish(inv, inputs)
}

/// Options that take a value (separate or attached with `=`).
const VALUE_OPTIONS: &[&str] = &[
    "--crate-name",
    "--crate-type",
    "--emit",
    "--out-dir",
    "--extern",
    "-L",
    "-l",
    "--target",
    "--cfg",
    "--check-cfg",
    "--edition",
    "--cap-lints",
    "--error-format",
    "--json",
    "--color",
    "--remap-path-prefix",
    "--diagnostic-width",
    "--explain",
    "--sysroot",
    "-C",
    "--codegen",
    "-Z",
    "-o",
    "--print",
    "-W",
    "-A",
    "-D",
    "-F",
    "--warn",
    "--allow",
    "--deny",
    "--forbid",
    "--force-warn",
    "--env-set",
];

/// Options without a value that make the call informational.
const INFO_FLAGS: &[&str] = &["-vV", "-V", "--version", "-h", "--help", "-v"];

type OptionParts<'a> = (Option<&'a str>, Option<String>, usize);

/// Split argument `i` into (option, value, args consumed); `None` option for
/// a positional.
fn split_option(args: &[String], i: usize) -> Result<OptionParts<'_>, RustcRefusal> {
    let a = args[i].as_str();
    if INFO_FLAGS.contains(&a) {
        return Err(RustcRefusal::Informational);
    }
    if a == "-" {
        return Err(RustcRefusal::Input("stdin".into()));
    }
    if !a.starts_with('-') {
        return Ok((None, None, 1));
    }
    for opt in VALUE_OPTIONS {
        if a == *opt {
            let v = args
                .get(i + 1)
                .ok_or_else(|| RustcRefusal::BadArg(format!("{opt} without a value")))?;
            return Ok((Some(opt), Some(v.clone()), 2));
        }
        if let Some(rest) = a.strip_prefix(opt) {
            if opt.starts_with("--") {
                if let Some(v) = rest.strip_prefix('=') {
                    return Ok((Some(opt), Some(v.to_string()), 1));
                }
            } else if opt.len() == 2 && !rest.is_empty() {
                return Ok((Some(opt), Some(rest.to_string()), 1));
            }
        }
    }
    // Flags such as `--test`, `-g`, `-O`: part of the key through argv.
    Ok((Some(a), None, 1))
}

fn apply_option(
    inv: &mut RustcInvocation,
    flag: &str,
    v: String,
    index: usize,
) -> Result<(), RustcRefusal> {
    match flag {
        "--crate-name" => inv.crate_name = v,
        "--crate-type" => inv
            .crate_types
            .extend(v.split(',').map(|s| s.trim().to_string())),
        "--emit" => {
            if inv.emit_index.is_some() {
                return Err(RustcRefusal::Emit("given twice".into()));
            }
            inv.emit_index = Some(index);
            inv.emit = v.split(',').map(|s| s.trim().to_string()).collect();
        }
        "--out-dir" => inv.out_dir = v,
        "--extern" => {
            if let Some((_, path)) = v.split_once('=') {
                inv.externs.push(path.to_string());
            }
        }
        "-L" => inv.lib_dirs.push(match v.split_once('=') {
            Some((k, p)) => (k.to_string(), p.to_string()),
            None => ("all".to_string(), v),
        }),
        "-l" => {
            let name = v.rsplit_once('=').map(|(_, n)| n).unwrap_or(&v);
            let name = name.split_once(':').map(|(n, _)| n).unwrap_or(name);
            inv.native_libs.push(name.to_string());
        }
        "--target" => inv.target = Some(v),
        "-C" | "--codegen" => apply_codegen(inv, &v)?,
        "-o" => return Err(RustcRefusal::Outputs("-o".into())),
        "--print" => return Err(RustcRefusal::Informational),
        "--explain" => return Err(RustcRefusal::Informational),
        // A test harness is an executable named like a bin (rustc book,
        // "--test").
        "--test" => inv.crate_types.push("bin".into()),
        _ => {}
    }
    Ok(())
}

/// `-C` options that create outputs we do not capture, or state outside
/// them (rustc book, "Codegen Options").
const UNCACHED_CODEGEN: &[&str] = &[
    "save-temps",
    "profile-generate",
    "profile-use",
    "split-debuginfo",
];

fn apply_codegen(inv: &mut RustcInvocation, v: &str) -> Result<(), RustcRefusal> {
    let (name, value) = v.split_once('=').unwrap_or((v, ""));
    match name {
        "incremental" => return Err(RustcRefusal::Incremental),
        "extra-filename" => inv.extra_filename = value.to_string(),
        "linker" => inv.linker = Some(value.to_string()),
        "link-arg" => inv.link_args.push(value.to_string()),
        "link-args" => inv
            .link_args
            .extend(value.split_whitespace().map(str::to_string)),
        n if UNCACHED_CODEGEN.contains(&n) => {
            let off = matches!(
                (n, value),
                ("split-debuginfo", "off") | ("save-temps", "no")
            );
            if !off {
                return Err(RustcRefusal::Outputs(format!("-C {n}")));
            }
        }
        _ => {}
    }
    Ok(())
}

fn finish(mut inv: RustcInvocation, inputs: Vec<String>) -> Result<RustcInvocation, RustcRefusal> {
    if inputs.len() != 1 {
        return Err(RustcRefusal::Input(format!("{} inputs", inputs.len())));
    }
    inv.input = inputs.into_iter().next().unwrap_or_default();
    if inv.crate_name.is_empty() {
        return Err(RustcRefusal::Missing("--crate-name"));
    }
    if inv.out_dir.is_empty() {
        return Err(RustcRefusal::Missing("--out-dir"));
    }
    if inv.crate_types.is_empty() {
        inv.crate_types.push("lib".into());
    }
    if inv.emit.is_empty() {
        inv.emit.push("link".into());
    }
    if let Some(t) = inv
        .crate_types
        .iter()
        .find(|t| !CACHED_CRATE_TYPES.contains(&t.as_str()))
    {
        return Err(RustcRefusal::CrateType(t.clone()));
    }
    if let Some(e) = inv
        .emit
        .iter()
        .find(|e| !matches!(e.as_str(), "dep-info" | "metadata" | "link"))
    {
        return Err(RustcRefusal::Emit(e.clone()));
    }
    if let Some(t) = inv.target.as_deref().filter(|t| !t.contains("linux")) {
        return Err(RustcRefusal::Target(t.to_string()));
    }
    if !inv.emit.iter().any(|e| e == "dep-info") && inv.embeds_metadata() {
        return Err(RustcRefusal::NoDepInfo);
    }
    Ok(inv)
}

/// Expand `@path` arguments: the file holds one argument per line (rustc
/// book, "@path"). Nested argfiles are not expanded by rustc either.
fn expand_argfiles(args: &[String], cwd: &Path) -> Result<Vec<String>, RustcRefusal> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        match a.strip_prefix('@') {
            Some(path) => {
                let p = cwd.join(path);
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| RustcRefusal::BadArg(format!("argfile {}: {e}", p.display())))?;
                out.extend(text.lines().map(str::to_string));
            }
            None => out.push(a.clone()),
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "rustc_tests.rs"]
mod tests;
