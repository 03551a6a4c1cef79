//! The option table of the gcc/clang argument parser: for every option the
//! parser knows, how its value is spelled (joined, separate, both) and what
//! it means for caching. Sources: gcc manual ("Option Summary", "Overall
//! Options", "Preprocessor Options", "Debugging Options", "Developer
//! Options") and clang's command-line reference. Lookup picks the longest
//! matching name, so a specific entry (`-fdump-`) beats its family (`-f`).
//! The option kinds the parser reports in its results ([`DepKind`],
//! [`SearchDirKind`]) are defined here, next to the entries that produce
//! them, so the dependency runs one way: `gcc` uses this table, never the
//! reverse.

use super::family::CompilerFamily;

/// How an option is spelled and where its value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// Exactly the name; no value.
    Flag,
    /// Any argument starting with the name; the rest is the value.
    Prefix,
    /// Exactly the name; the value is the next argument.
    Separate,
    /// Any argument starting with the name; the rest is the value (may be empty).
    Joined,
    /// `-Ifoo` (joined) or `-I foo` (separate).
    JoinedOrSeparate,
    /// Any argument starting with the name; the next argument is its value
    /// (`-Xarch_x86_64 -O2`).
    PrefixSeparate,
}

/// Why an option makes a compile non-cacheable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Deny {
    /// Extra outputs, untracked inputs, or no normal output.
    Unsupported,
    /// `-gsplit-dwarf`.
    SplitDwarf,
    /// Coverage instrumentation (writes `.gcno` next to the object).
    Coverage,
}

/// The kind of an include search directory option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SearchDirKind {
    /// `-iquote`: `#include "..."` only.
    Quote,
    /// `-I`.
    Angle,
    /// `-isystem`.
    System,
    /// `-idirafter`.
    After,
}

/// `-MD` (all headers) or `-MMD` (user headers only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DepKind {
    /// `-MD`.
    Md,
    /// `-MMD`.
    Mmd,
}

/// What the parser does with a matched option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// Kept verbatim in `common_args`.
    Keep,
    /// `-D`/`-U`: kept verbatim; a preprocessor define (see `defines`).
    Define,
    /// `-c`.
    Compile,
    /// `-o`.
    Output,
    /// `-x`.
    Language,
    /// `-E`.
    Preprocess,
    /// `-S`.
    Assemble,
    /// `-M`, `-MM`.
    DepsOnly,
    /// `-MD`, `-MMD`.
    DepKind(DepKind),
    /// `-MF`.
    DepFile,
    /// `-MT` (`quoted: false`) or `-MQ` (`quoted: true`).
    DepTarget { quoted: bool },
    /// `-MP`.
    DepPhony,
    /// `-I`, `-iquote`, `-isystem`, `-idirafter`.
    SearchDir(SearchDirKind),
    /// Any `-g` option; kept, and may switch debug info on or off.
    Debug,
    /// `-fdebug-prefix-map=` / `-ffile-prefix-map=`.
    PrefixMap,
    /// `-arch` (more than one is non-cacheable).
    Arch,
    /// clang `-emit-llvm` (changes the default output name).
    EmitLlvm,
    /// `-Wp,...`: may carry `-MD,file` / `-MMD,file`.
    Wp,
    /// `-Wa,...`: checked for listing files and assembler debug info.
    Wa,
    /// `-Xassembler X`: as `-Wa,X`.
    Xassembler,
    /// `-Xclang X`: checked against cc1 options with side effects.
    Xclang,
    /// `-Xpreprocessor X`: checked for dependency options.
    Xpreprocessor,
    /// `-fopt-info...`: non-cacheable only with `=file`.
    OptInfo,
    /// `-fdiagnostics-format=`: non-cacheable for the `*-file` formats.
    DiagFormat,
    /// Non-cacheable.
    Deny(Deny),
}

/// One table row.
pub(super) struct OptSpec {
    name: &'static str,
    shape: Shape,
    action: Action,
}

/// Where a matched option's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Value<'a> {
    /// No value.
    None,
    /// Inside the argument itself.
    Joined(&'a str),
    /// The next argument.
    Next,
}

/// A classified option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Match<'a> {
    /// What to do with it.
    pub action: Action,
    /// Where its value is.
    pub value: Value<'a>,
}

const fn o(name: &'static str, shape: Shape, action: Action) -> OptSpec {
    OptSpec {
        name,
        shape,
        action,
    }
}

use Action::*;
use Shape::*;

const UNSUP: Action = Deny(Deny::Unsupported);
const COVERAGE: Action = Deny(Deny::Coverage);
const JS: Shape = JoinedOrSeparate;

#[rustfmt::skip]
static OPTIONS: &[OptSpec] = &[
    // Overall options.
    o("-c", Flag, Compile), o("-E", Flag, Preprocess), o("-S", Flag, Assemble),
    o("-o", JS, Output), o("-x", JS, Language), o("-emit-llvm", Flag, EmitLlvm),
    // Dependency generation (gcc manual, "Preprocessor Options", -M...).
    o("-M", Flag, DepsOnly), o("-MM", Flag, DepsOnly),
    o("-MD", Flag, DepKind(DepKind::Md)), o("-MMD", Flag, DepKind(DepKind::Mmd)),
    o("-MF", JS, DepFile), o("-MT", JS, DepTarget { quoted: false }),
    o("-MQ", JS, DepTarget { quoted: true }), o("-MP", Flag, DepPhony),
    o("-Wp,", Prefix, Wp),
    // Include search directories.
    o("-I", JS, SearchDir(SearchDirKind::Angle)), o("-iquote", JS, SearchDir(SearchDirKind::Quote)),
    o("-isystem", JS, SearchDir(SearchDirKind::System)),
    o("-idirafter", JS, SearchDir(SearchDirKind::After)),
    o("-cxx-isystem", JS, SearchDir(SearchDirKind::System)),
    // Options with a value, kept as given.
    o("-D", JS, Define), o("-U", JS, Define), o("-A", JS, Keep),
    o("-include", JS, Keep), o("-imacros", JS, Keep), o("-iprefix", JS, Keep),
    o("-iwithprefix", JS, Keep), o("-iwithprefixbefore", JS, Keep), o("-iwithsysroot", JS, Keep),
    o("-isysroot", JS, Keep), o("-iframework", JS, Keep), o("-isystem-after", JS, Keep),
    o("-imultilib", Separate, Keep), o("-imultiarch", Separate, Keep),
    o("--sysroot", Separate, Keep), o("--sysroot=", Joined, Keep),
    o("-F", JS, Keep), o("-L", JS, Keep), o("-l", JS, Keep), o("-T", JS, Keep),
    o("-u", JS, Keep), o("-z", JS, Keep), o("-framework", Separate, Keep),
    o("--param", Separate, Keep), o("--param=", Joined, Keep),
    o("-target", Separate, Keep), o("--target=", Joined, Keep), o("-arch", Separate, Arch),
    o("-mllvm", Separate, Keep), o("-Xlinker", Separate, Keep),
    o("-Xarch_", PrefixSeparate, Keep), o("-Xopenmp-target", PrefixSeparate, Keep),
    o("-Xclang", Separate, Xclang), o("-Xpreprocessor", Separate, Xpreprocessor),
    o("-Xassembler", Separate, Xassembler),
    o("-dumpbase", Separate, Keep), o("-dumpbase-ext", Separate, Keep), o("-dumpdir", Separate, Keep),
    o("-gcc-toolchain", Separate, Keep), o("--gcc-toolchain=", Joined, Keep),
    o("-resource-dir", Separate, Keep), o("-resource-dir=", Joined, Keep),
    o("-fdebug-compilation-dir", Separate, Keep), o("-ffile-compilation-dir", Separate, Keep),
    o("-std=", Joined, Keep), o("--std=", Joined, Keep), o("-stdlib=", Joined, Keep),
    o("--stdlib=", Joined, Keep), o("-rtlib=", Joined, Keep), o("--rtlib=", Joined, Keep),
    o("-unwindlib=", Joined, Keep), o("--unwindlib=", Joined, Keep),
    o("--driver-mode=", Joined, Keep),
    // Families kept as given (hashed into the key).
    o("-f", Prefix, Keep), o("-m", Prefix, Keep), o("-O", Prefix, Keep), o("-W", Prefix, Keep),
    o("-Wa,", Prefix, Wa), o("-g", Prefix, Debug), o("-Q", Prefix, Keep),
    o("-fdebug-prefix-map=", Joined, PrefixMap), o("-ffile-prefix-map=", Joined, PrefixMap),
    // Flags kept as given.
    o("-w", Flag, Keep), o("-ansi", Flag, Keep), o("-pedantic", Flag, Keep),
    o("-pedantic-errors", Flag, Keep), o("-trigraphs", Flag, Keep), o("-traditional", Flag, Keep),
    o("-traditional-cpp", Flag, Keep), o("-undef", Flag, Keep), o("-remap", Flag, Keep),
    o("-P", Flag, Keep), o("-C", Flag, Keep), o("-CC", Flag, Keep), o("-H", Flag, Keep),
    o("-p", Flag, Keep), o("-pg", Flag, Keep), o("-pipe", Flag, Keep), o("-pthread", Flag, Keep),
    o("-pthreads", Flag, Keep), o("-nostdinc", Flag, Keep), o("-nostdinc++", Flag, Keep),
    o("-nostdlibinc", Flag, Keep), o("-nobuiltininc", Flag, Keep), o("-nostdlib", Flag, Keep),
    o("-nostdlib++", Flag, Keep), o("-nostartfiles", Flag, Keep), o("-nodefaultlibs", Flag, Keep),
    o("-nolibc", Flag, Keep), o("-static", Flag, Keep), o("-static-libgcc", Flag, Keep),
    o("-static-libstdc++", Flag, Keep), o("-static-pie", Flag, Keep), o("-shared", Flag, Keep),
    o("-shared-libgcc", Flag, Keep), o("-rdynamic", Flag, Keep), o("-pie", Flag, Keep),
    o("-no-pie", Flag, Keep), o("-s", Flag, Keep), o("-no-canonical-prefixes", Flag, Keep),
    o("-integrated-as", Flag, Keep), o("-no-integrated-as", Flag, Keep),
    o("-ObjC", Flag, Keep), o("-ObjC++", Flag, Keep),
    // Split DWARF and coverage.
    o("-gsplit-dwarf", Prefix, Deny(Deny::SplitDwarf)),
    o("--coverage", Flag, COVERAGE), o("-coverage", Flag, COVERAGE),
    o("-fprofile-arcs", Flag, COVERAGE), o("-ftest-coverage", Flag, COVERAGE),
    o("-fprofile-generate", Prefix, COVERAGE),
    // Untracked inputs, extra outputs, or no object at all.
    o("-MG", Flag, UNSUP), o("-MJ", JS, UNSUP), o("--serialize-diagnostics", Separate, UNSUP),
    o("-save-temps", Prefix, UNSUP), o("--save-temps", Prefix, UNSUP),
    o("-fdump-", Prefix, UNSUP), o("-fstack-usage", Flag, UNSUP), o("-fcallgraph-info", Prefix, UNSUP),
    o("-fprofile-use", Prefix, UNSUP), o("-fprofile-instr-use", Prefix, UNSUP),
    o("-fprofile-sample-use", Prefix, UNSUP), o("-fauto-profile", Prefix, UNSUP),
    o("-fprofile-list=", Prefix, UNSUP), o("-fprofile-remapping-file=", Prefix, UNSUP),
    o("-fprofile-note=", Prefix, UNSUP), o("-fplugin", Prefix, UNSUP),
    o("-fpass-plugin=", Prefix, UNSUP), o("-iplugindir=", Prefix, UNSUP),
    o("-specs=", Joined, UNSUP), o("--specs=", Joined, UNSUP), o("-specs", Separate, UNSUP),
    o("--specs", Separate, UNSUP), o("-B", JS, UNSUP), o("-wrapper", Separate, UNSUP),
    o("-fsanitize-blacklist=", Prefix, UNSUP), o("-fsanitize-ignorelist=", Prefix, UNSUP),
    o("-fsanitize-system-blacklist=", Prefix, UNSUP),
    o("-fsanitize-system-ignorelist=", Prefix, UNSUP),
    o("-fsanitize-coverage-allowlist=", Prefix, UNSUP),
    o("-fsanitize-coverage-ignorelist=", Prefix, UNSUP),
    o("-fsanitize-coverage-whitelist=", Prefix, UNSUP),
    o("-fsanitize-coverage-blacklist=", Prefix, UNSUP),
    o("-fsanitize-coverage-blocklist=", Prefix, UNSUP),
    o("-fxray-attr-list=", Prefix, UNSUP), o("-fxray-always-instrument=", Prefix, UNSUP),
    o("-fxray-never-instrument=", Prefix, UNSUP), o("-fthinlto-index=", Prefix, UNSUP),
    o("-ivfsoverlay", JS, UNSUP), o("-include-pch", Separate, UNSUP),
    o("-fmodules", Prefix, UNSUP), o("-fmodule-file", Prefix, UNSUP),
    o("-fmodule-map-file", Prefix, UNSUP), o("-fmodule-mapper", Prefix, UNSUP),
    o("-fprebuilt-module-path", Prefix, UNSUP), o("-fcxx-modules", Flag, UNSUP),
    o("-fimplicit-module-maps", Flag, UNSUP),
    o("-fcrash-diagnostics", Prefix, UNSUP), o("-ftime-trace", Flag, UNSUP),
    o("-ftime-trace=", Prefix, UNSUP), o("-fopt-info", Prefix, OptInfo),
    o("-fdiagnostics-format=", Joined, DiagFormat),
    o("-fdiagnostics-add-output=", Prefix, UNSUP), o("-fdiagnostics-set-output=", Prefix, UNSUP),
    o("-fsave-optimization-record", Prefix, UNSUP), o("-foptimization-record-file=", Prefix, UNSUP),
    o("-fproc-stat-report", Prefix, UNSUP), o("-fsyntax-only", Flag, UNSUP),
    o("-fdriver-only", Flag, UNSUP), o("-gtoggle", Flag, UNSUP),
    // clang records its whole command line, temp output paths included.
    o("-frecord-command-line", Flag, UNSUP), o("-grecord-command-line", Flag, UNSUP),
    o("-aux-info", Separate, UNSUP), o("-working-directory", JS, UNSUP),
    o("-index-store-path", Separate, UNSUP), o("-time", Prefix, UNSUP),
    // Informational modes that print instead of (or besides) compiling.
    o("-v", Flag, UNSUP), o("-###", Flag, UNSUP), o("--version", Flag, UNSUP),
    o("--help", Prefix, UNSUP), o("-print-", Prefix, UNSUP), o("--print-", Prefix, UNSUP),
    o("-dumpversion", Flag, UNSUP), o("-dumpfullversion", Flag, UNSUP),
    o("-dumpmachine", Flag, UNSUP), o("-dumpspecs", Flag, UNSUP),
    // gcc `-d<letters>` developer dumps (write dump files or alter output).
    o("-d", Prefix, UNSUP),
];

/// Classifies one option argument (it starts with `-` and is not `-`).
/// Returns `None` for an option the parser does not know.
pub(super) fn classify(arg: &str, family: CompilerFamily) -> Option<Match<'_>> {
    if let Some(m) = emcc_setting(arg, family).or_else(|| clang_records(arg, family)) {
        return Some(m);
    }
    let mut best: Option<(usize, Match<'_>)> = None;
    for spec in OPTIONS {
        let Some(value) = match_spec(spec, arg) else {
            continue;
        };
        let longer = match &best {
            Some((len, _)) => spec.name.len() > *len,
            None => true,
        };
        if longer {
            best = Some((
                spec.name.len(),
                Match {
                    action: spec.action,
                    value,
                },
            ));
        }
    }
    best.map(|(_, m)| m)
}

/// emcc's `-s SETTING=VALUE` / `-sSETTING=VALUE` (emcc docs, "-s"); for the
/// other families `-s` is gcc's strip flag (in the table).
fn emcc_setting(arg: &str, family: CompilerFamily) -> Option<Match<'_>> {
    if family != CompilerFamily::Emcc {
        return None;
    }
    let rest = arg.strip_prefix("-s")?;
    if rest.is_empty() {
        return Some(Match {
            action: Keep,
            value: Value::Next,
        });
    }
    let setting = rest.starts_with(|c: char| c.is_ascii_uppercase());
    setting.then_some(Match {
        action: Keep,
        value: Value::Joined(rest),
    })
}

/// For clang (and emcc, which drives it) `-frecord-gcc-switches` and
/// `-grecord-gcc-switches` are aliases of `-frecord-command-line` and
/// `-grecord-command-line`: the object records the whole command line,
/// including the daemon's temp output path, so they are non-cacheable.
/// gcc's own spellings record only code-generation options (no `-o`,
/// `-I`, `-D`; gcc's `gen_producer_string`) and stay cacheable.
fn clang_records(arg: &str, family: CompilerFamily) -> Option<Match<'_>> {
    let clang = matches!(family, CompilerFamily::Clang | CompilerFamily::Emcc);
    let records = arg == "-frecord-gcc-switches" || arg == "-grecord-gcc-switches";
    (clang && records).then_some(Match {
        action: UNSUP,
        value: Value::None,
    })
}

fn match_spec<'a>(spec: &OptSpec, arg: &'a str) -> Option<Value<'a>> {
    let rest = arg.strip_prefix(spec.name)?;
    match (spec.shape, rest.is_empty()) {
        (Flag, true) => Some(Value::None),
        (Flag, false) => None,
        (Separate, true) | (JoinedOrSeparate, true) | (PrefixSeparate, _) => Some(Value::Next),
        (Separate, false) => None,
        (Prefix, _) | (Joined, _) | (JoinedOrSeparate, false) => Some(Value::Joined(rest)),
    }
}

/// `-g` options that only modify debug info without switching it on
/// (gcc manual, "Debugging Options"; clang's `-g` group). Prefix matches.
const G_MODIFIERS: &[&str] = &[
    "-gno-",
    "-gz",
    "-gas-loc",
    "-gcolumn-info",
    "-gstrict-dwarf",
    "-grecord-",
    "-gpubnames",
    "-ggnu-pubnames",
    "-gdescribe-dies",
    "-ginline-points",
    "-gstatement-frontiers",
    "-ginternal-reset-location-views",
    "-gvariable-location-views",
    "-gdwarf32",
    "-gdwarf64",
    "-gembed-source",
    "-gsimple-template-names",
    "-gtemplate-alias",
    "-gmodules",
    "-gcodeview-",
    "-gomit-unreferenced-methods",
];

/// `-g` spellings whose level may be given as a trailing digit (`-ggdb0`).
pub(super) const G_LEVELLED: &[&str] = &[
    "-g", "-ggdb", "-gstabs", "-gstabs+", "-gxcoff", "-gxcoff+", "-gvms",
];

/// The effect of a `-g...` option on debug info: `Some(true)` switches it
/// on, `Some(false)` off (`-g0`, `-ggdb0`), `None` leaves it unchanged.
/// Unknown `-g` spellings count as on (the safe side for the cache key).
pub(super) fn debug_effect(arg: &str) -> Option<bool> {
    if G_LEVELLED.iter().any(|g| arg.strip_prefix(g) == Some("0")) {
        return Some(false);
    }
    if G_MODIFIERS.iter().any(|m| arg.starts_with(m)) {
        return None;
    }
    Some(true)
}

/// cc1 options behind `-Xclang` that load code, read untracked inputs or
/// write extra outputs (prefix matches).
const XCLANG_DENY: &[&str] = &[
    "-load",
    "-plugin",
    "-add-plugin",
    "-dependency-file",
    "-dependency-dot",
    "-header-include-file",
    "-stats-file",
    "-ast-dump",
    "-ast-print",
    "-ast-list",
    "-fmodules",
    "-fmodule-file",
    "-module-file-info",
    "-include-pch",
    "-MT",
    "-MQ",
    "-MF",
];

/// True when `-Xclang value` must make the compile non-cacheable.
pub(super) fn xclang_denied(value: &str) -> bool {
    XCLANG_DENY.iter().any(|d| value.starts_with(d))
}

/// Assembler arguments (`-Wa,` parts or `-Xassembler` values): `None` for a
/// listing file (`-a...=file`, gas manual "-a"), which is non-cacheable;
/// else whether it asks the assembler for debug info (`-g`, `--gen-debug`,
/// `--gdwarf-N`; gas manual).
pub(super) fn assembler_arg(part: &str) -> Option<bool> {
    if part.starts_with("-a") && part.contains('=') {
        return None;
    }
    Some(
        part == "-g"
            || part == "--gen-debug"
            || part.starts_with("--gdwarf")
            || part.starts_with("-gdwarf"),
    )
}

/// Source extensions the driver compiles (gcc manual, "Overall Options").
const SOURCE_EXTENSIONS: &[&str] = &[
    "c", "i", "ii", "m", "mi", "mm", "M", "mii", "cc", "cp", "cxx", "cpp", "CPP", "c++", "C", "s",
    "S", "sx",
];
/// Header extensions; compiled to a precompiled header with `-c`.
const HEADER_EXTENSIONS: &[&str] = &["h", "H", "hh", "hp", "hxx", "hpp", "HPP", "h++", "tcc"];

/// True when `path` has a source or header extension.
pub(super) fn is_compilable(path: &str) -> bool {
    extension(path).is_some_and(|e| SOURCE_EXTENSIONS.contains(&e) || is_header_extension(e))
}

/// True for a header extension (without the dot).
pub(super) fn is_header_extension(ext: &str) -> bool {
    HEADER_EXTENSIONS.contains(&ext)
}

/// The last path component (after the last `/`).
pub(super) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `name` without its suffix (from its last `.`, unless that is leading):
/// gcc's `%b`.
pub(super) fn strip_suffix(name: &str) -> &str {
    match name.rfind('.') {
        Some(dot) if dot > 0 => &name[..dot],
        _ => name,
    }
}

/// `name` cut at its last `.`, even a leading one (gcc's `%.SUFFIX` and
/// libcpp's default target).
pub(super) fn strip_last_dot(name: &str) -> &str {
    name.rfind('.').map_or(name, |dot| &name[..dot])
}

/// The extension of `path`'s last component, without the dot.
pub(super) fn extension(path: &str) -> Option<&str> {
    let name = file_name(path);
    name.get(strip_suffix(name).len() + 1..)
}

/// libcpp's default dependency target (gcc manual, -MT; libcpp
/// `deps_add_default_target`): the base name with its suffix replaced by `.o`.
pub(super) fn default_dep_target(source: &str) -> String {
    format!("{}.o", strip_last_dot(file_name(source)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cls(arg: &str) -> Option<Match<'_>> {
        classify(arg, CompilerFamily::Gcc)
    }

    #[test]
    fn longest_match_wins() {
        assert_eq!(cls("-undef").map(|m| m.action), Some(Keep));
        assert_eq!(cls("-undef").map(|m| m.value), Some(Value::None));
        assert_eq!(cls("-usym").map(|m| m.value), Some(Value::Joined("sym")));
        assert_eq!(
            cls("-iwithprefixbefore").map(|m| m.value),
            Some(Value::Next)
        );
        assert_eq!(cls("-fdump-tree-all").map(|m| m.action), Some(UNSUP));
        assert_eq!(cls("-fPIC").map(|m| m.action), Some(Keep));
        assert_eq!(cls("-dumpdir").map(|m| m.action), Some(Keep));
        assert_eq!(cls("-dM").map(|m| m.action), Some(UNSUP));
        assert_eq!(
            cls("-MFdep.d").map(|m| m.value),
            Some(Value::Joined("dep.d"))
        );
    }

    #[test]
    fn clang_command_line_recording_is_denied() {
        for a in ["-frecord-command-line", "-grecord-command-line"] {
            assert_eq!(cls(a).map(|m| m.action), Some(UNSUP), "{a}");
        }
        let clang = |a| classify(a, CompilerFamily::Clang).map(|m| m.action);
        assert_eq!(clang("-frecord-gcc-switches"), Some(UNSUP));
        assert_eq!(clang("-grecord-gcc-switches"), Some(UNSUP));
        assert_eq!(cls("-frecord-gcc-switches").map(|m| m.action), Some(Keep));
        assert_eq!(cls("-grecord-gcc-switches").map(|m| m.action), Some(Debug));
        assert_eq!(clang("-fno-record-command-line"), Some(Keep));
    }

    #[test]
    fn unknown_options() {
        for a in ["-Mfoo", "-e", "--frobnicate", "-ifoo", "-r", "--"] {
            assert!(cls(a).is_none(), "{a}");
        }
    }

    #[test]
    fn emcc_settings() {
        let em = CompilerFamily::Emcc;
        assert_eq!(classify("-s", em).map(|m| m.value), Some(Value::Next));
        assert_eq!(
            classify("-sWASM=1", em).map(|m| m.value),
            Some(Value::Joined("WASM=1"))
        );
        assert_eq!(
            classify("-std=c11", em).map(|m| m.value),
            Some(Value::Joined("c11"))
        );
        assert_eq!(
            classify("-s", CompilerFamily::Clang).map(|m| m.value),
            Some(Value::None)
        );
    }

    #[test]
    fn debug_effects() {
        for a in [
            "-g",
            "-g1",
            "-g3",
            "-ggdb",
            "-ggdb3",
            "-gdwarf-4",
            "-gdwarf",
            "-gline-tables-only",
            "-gbtf",
        ] {
            assert_eq!(debug_effect(a), Some(true), "{a}");
        }
        for a in ["-g0", "-ggdb0", "-gstabs0"] {
            assert_eq!(debug_effect(a), Some(false), "{a}");
        }
        for a in [
            "-gz",
            "-gz=zlib",
            "-gno-column-info",
            "-gcolumn-info",
            "-gdwarf64",
            "-grecord-gcc-switches",
        ] {
            assert_eq!(debug_effect(a), None, "{a}");
        }
    }

    #[test]
    fn assembler_args() {
        assert_eq!(assembler_arg("-adhln=list.lst"), None);
        assert_eq!(assembler_arg("--noexecstack"), Some(false));
        assert_eq!(assembler_arg("--gdwarf-5"), Some(true));
        assert_eq!(assembler_arg("-g"), Some(true));
        assert_eq!(assembler_arg("-a"), Some(false));
    }
}
