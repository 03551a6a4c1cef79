//! The gcc/clang argument parser: turns a driver argv (already `@file`
//! expanded) into either a cacheable [`CompileInvocation`] (one or more
//! sources compiled with `-c`) or the [`NonCacheableReason`] why the real
//! compiler must run unchanged. Option spellings and meanings live in the
//! sibling `gcc_options` table (which also defines, and this file
//! re-exports, the option kinds [`DepKind`] and [`SearchDirKind`]); this
//! file holds the result types and the per-argument state machine.

use std::fmt;

use super::family::CompilerFamily;
use super::gcc_options::{
    self, default_dep_target, extension, file_name, is_compilable, is_header_extension,
    strip_last_dot, strip_suffix, Action, Deny, Value,
};
/// The option kinds of a compile's search dirs and depfile, defined with
/// the option table that produces them.
pub(crate) use super::gcc_options::{DepKind, SearchDirKind};

/// The parser's verdict on one command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A compile the cache can serve, one lookup per source.
    Cacheable(CompileInvocation),
    /// Run the real compiler unchanged, for this reason.
    NonCacheable(NonCacheableReason),
}

/// A cacheable compile: `-c` of one or more sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompileInvocation {
    /// Args passed for every source, in original order, excluding the
    /// sources, `-c`, `-o X`/`-oX`, every `-x LANG` (languages move into
    /// [`SourceInput`]) and the dependency flags (`-MD -MMD -MF -MT -MQ -MP`,
    /// `-Wp,-MD,file`, `-Wp,-MMD,file`). Everything else (`-I`, `-D`,
    /// `-include`, ...) is kept exactly as given, joined or separate.
    pub common_args: Vec<String>,
    /// The sources, in command-line order (at least one).
    pub sources: Vec<SourceInput>,
    /// The `-o` value as given; `Some` only when there is exactly one source.
    pub output: Option<String>,
    /// The dependency file the user asked for (`-MD`/`-MMD`), if any.
    pub depfile: Option<DepfileRequest>,
    /// Include search dirs in command-line order, as given (not
    /// canonicalised): `-I`, `-iquote`, `-isystem`, `-idirafter`. `-I-` is
    /// not listed (and does not re-classify earlier `-I` dirs).
    pub search_dirs: Vec<(SearchDirKind, String)>,
    /// True when debug info is generated: the last of `-g`, `-g1..3`,
    /// `-ggdb*`, `-gdwarf-N`, ... versus `-g0` wins; also true when the
    /// assembler is asked for debug info (`-Wa,-g`, `-Wa,--gdwarf-5`).
    pub debug_info: bool,
    /// `-fdebug-prefix-map=OLD=NEW` and `-ffile-prefix-map=OLD=NEW` pairs in
    /// order, split at the first `=` (as gcc and clang do).
    pub prefix_maps: Vec<(String, String)>,
}

/// One source file of a compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceInput {
    /// The path as given on the command line.
    pub path: String,
    /// The language from an earlier `-x` (never `"none"`); `None` when the
    /// driver picks it from the extension.
    pub language: Option<String>,
}

/// An explicit dependency-file target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DepTarget {
    /// `-MT target`: used verbatim.
    Plain(String),
    /// `-MQ target`: make-special characters get quoted.
    Quoted(String),
}

/// The dependency file a compile writes as a side effect (`-MD`/`-MMD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DepfileRequest {
    /// `-MD` or `-MMD`.
    pub kind: DepKind,
    /// The `-MF` value as given (or the file of `-Wp,-MD,file`).
    pub file: Option<String>,
    /// `-MT`/`-MQ` targets in order. For `-Wp,-MD,file` without explicit
    /// targets this holds the preprocessor's default, `-MQ <source stem>.o`.
    pub targets: Vec<DepTarget>,
    /// `-MP`: a phony target per header.
    pub phony_headers: bool,
}

/// Why a command line cannot be served from the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NonCacheableReason {
    /// No `-c`: the driver links.
    Link,
    /// `-E`.
    PreprocessOnly,
    /// `-M` or `-MM`: only a dependency list is produced.
    DepsOnly,
    /// A source is `-` (stdin).
    StdinInput,
    /// `-o -`.
    StdoutOutput,
    /// `-c` but no source file.
    NoSource,
    /// `-o` together with two or more sources.
    MultipleSourcesWithOutput,
    /// An option (or input) the cache cannot handle; the text names it.
    UnsupportedOption(String),
    /// `-gsplit-dwarf` (a `.dwo` written next to the object).
    SplitDwarf,
    /// `--coverage`, `-fprofile-arcs`, `-ftest-coverage`, `-fprofile-generate`.
    Coverage,
    /// `-S`.
    AssemblyOutput,
}

impl NonCacheableReason {
    /// The stable snake_case label used in stats (docs/CONTRACT.md):
    /// `link`, `preprocess_only`, `deps_only`, `stdin_input`,
    /// `stdout_output`, `no_source`, `multiple_sources_with_output`,
    /// `unsupported_option`, `split_dwarf`, `coverage`, `assembly_output`.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::PreprocessOnly => "preprocess_only",
            Self::DepsOnly => "deps_only",
            Self::StdinInput => "stdin_input",
            Self::StdoutOutput => "stdout_output",
            Self::NoSource => "no_source",
            Self::MultipleSourcesWithOutput => "multiple_sources_with_output",
            Self::UnsupportedOption(_) => "unsupported_option",
            Self::SplitDwarf => "split_dwarf",
            Self::Coverage => "coverage",
            Self::AssemblyOutput => "assembly_output",
        }
    }
}

impl fmt::Display for NonCacheableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Link => f.write_str("linking (no -c)"),
            Self::PreprocessOnly => f.write_str("preprocessing only (-E)"),
            Self::DepsOnly => f.write_str("dependency output only (-M/-MM)"),
            Self::StdinInput => f.write_str("source read from stdin"),
            Self::StdoutOutput => f.write_str("output written to stdout (-o -)"),
            Self::NoSource => f.write_str("no source file"),
            Self::MultipleSourcesWithOutput => f.write_str("-o with more than one source"),
            Self::UnsupportedOption(opt) => write!(f, "unsupported option: {opt}"),
            Self::SplitDwarf => f.write_str("split DWARF (-gsplit-dwarf)"),
            Self::Coverage => f.write_str("coverage instrumentation"),
            Self::AssemblyOutput => f.write_str("assembly output only (-S)"),
        }
    }
}

impl CompileInvocation {
    /// The object path for source `i`: `output` when set; else, per the gcc
    /// manual (-c), the source's file name with its suffix replaced by `.o`,
    /// in the cwd. Exception: a header (a `*-header` `-x` language, or a
    /// header extension without `-x`) compiles to a precompiled header at
    /// `<source path>.gch` next to the source (gcc manual, "Precompiled
    /// Headers"). An out-of-range `i` yields an empty string.
    pub(crate) fn object_path(&self, i: usize) -> String {
        if let Some(out) = &self.output {
            return out.clone();
        }
        match self.sources.get(i) {
            Some(src) if src.is_header() => format!("{}.gch", src.path),
            Some(src) => format!("{}.o", strip_suffix(file_name(&src.path))),
            None => String::new(),
        }
    }

    /// The argv (without `argv[0]`) that compiles source `i` alone:
    /// `common_args ++ extra ++ ["-c"] ++ ["-x", lang]? ++ [source] ++
    /// ["-o", object]`. Never contains `-x none`. An out-of-range `i` yields
    /// the same argv without a source.
    pub(crate) fn compile_argv(&self, i: usize, object: &str, extra: &[String]) -> Vec<String> {
        let mut argv = Vec::with_capacity(self.common_args.len() + extra.len() + 6);
        argv.extend_from_slice(&self.common_args);
        argv.extend_from_slice(extra);
        argv.push("-c".to_string());
        if let Some(src) = self.sources.get(i) {
            if let Some(lang) = &src.language {
                argv.push("-x".to_string());
                argv.push(lang.clone());
            }
            argv.push(src.path.clone());
        }
        argv.push("-o".to_string());
        argv.push(object.to_string());
        argv
    }
}

impl SourceInput {
    /// True when this source compiles to a precompiled header (a
    /// `*-header` language, or a header extension without `-x`).
    pub(crate) fn is_header(&self) -> bool {
        match &self.language {
            Some(lang) => lang.ends_with("-header"),
            None => extension(&self.path).is_some_and(is_header_extension),
        }
    }
}

impl DepfileRequest {
    /// Where gcc writes the dependency file: `file` when set, else `object`
    /// with its suffix replaced by `.d` (gcc manual, -MD: "based on whether
    /// -o is given ... suffix .d").
    pub(crate) fn path_for(&self, object: &str) -> String {
        match &self.file {
            Some(file) => file.clone(),
            None => {
                // gcc's `%.d%*`: cut at the last `.` of the last component.
                let name = file_name(object);
                let dir = &object[..object.len() - name.len()];
                format!("{dir}{}.d", strip_last_dot(name))
            }
        }
    }

    /// The args that recreate this request writing to `file` instead, with
    /// explicit targets: the user's `-MT`/`-MQ` in order, or `-MQ <object>`
    /// when none were given (what gcc's driver passes by default), e.g.
    /// `["-MD", "-MF", file, "-MQ", "obj/a.o", "-MP"]`.
    pub(crate) fn to_args(&self, file: &str, object: &str) -> Vec<String> {
        let kind = match self.kind {
            DepKind::Md => "-MD",
            DepKind::Mmd => "-MMD",
        };
        let mut args = vec![kind.to_string(), "-MF".to_string(), file.to_string()];
        for target in &self.targets {
            let (flag, t) = match target {
                DepTarget::Plain(t) => ("-MT", t),
                DepTarget::Quoted(t) => ("-MQ", t),
            };
            args.push(flag.to_string());
            args.push(t.clone());
        }
        if self.targets.is_empty() {
            args.push("-MQ".to_string());
            args.push(object.to_string());
        }
        if self.phony_headers {
            args.push("-MP".to_string());
        }
        args
    }
}

/// Parses a gcc/clang argv (the args after `argv[0]`, already `@file`
/// expanded) into a [`Parsed`] verdict. See the gcc manual ("Option
/// Summary") for the options; unknown options are non-cacheable. `family`
/// matters only for `Emcc`, where `-s SETTING=VALUE` takes a value; clang
/// options are accepted for every family (`cc` may well be clang).
pub(crate) fn parse_gcc_args(args: &[String], family: CompilerFamily) -> Parsed {
    let mut st = State::default();
    let mut i = 0;
    while i < args.len() {
        i += st.step(args, i, family);
    }
    st.finish()
}

/// Parser state while walking argv.
#[derive(Default)]
struct State {
    common: Vec<String>,
    sources: Vec<SourceInput>,
    output: Option<String>,
    language: Option<String>,
    compile: bool,
    preprocess: bool,
    assemble: bool,
    deps_only: bool,
    stdin: bool,
    dep_kind: Option<DepKind>,
    dep_file: Option<String>,
    dep_targets: Vec<DepTarget>,
    dep_phony: bool,
    dep_from_wp: bool,
    search_dirs: Vec<(SearchDirKind, String)>,
    debug: bool,
    asm_debug: bool,
    prefix_maps: Vec<(String, String)>,
    arch_count: usize,
    emit_llvm: bool,
    rejected: Option<NonCacheableReason>,
}

impl State {
    /// Handles `args[i]` (and its separate value); returns how many args it used.
    fn step(&mut self, args: &[String], i: usize, family: CompilerFamily) -> usize {
        let Some(arg) = args.get(i).map(String::as_str) else {
            return 1;
        };
        if arg == "-" || !arg.starts_with('-') {
            self.input(arg);
            return 1;
        }
        let Some(m) = gcc_options::classify(arg, family) else {
            self.reject_option(arg);
            return 1;
        };
        let (value, used) = match m.value {
            Value::None => ("", 1),
            Value::Joined(v) => (v, 1),
            Value::Next => match args.get(i + 1) {
                Some(v) => (v.as_str(), 2),
                None => {
                    self.reject(NonCacheableReason::UnsupportedOption(format!(
                        "{arg} (missing argument)"
                    )));
                    return 1;
                }
            },
        };
        self.apply(m.action, arg, value, &args[i..i + used]);
        used
    }

    fn input(&mut self, arg: &str) {
        if arg == "-" {
            self.stdin = true;
        } else if self.language.is_some() || is_compilable(arg) {
            let language = self.language.clone();
            self.sources.push(SourceInput {
                path: arg.to_string(),
                language,
            });
        } else {
            // Objects, archives and unknown files are linker inputs (gcc
            // manual, "Overall Options"); with -c gcc ignores them with a
            // warning. Rare enough to leave to the real compiler.
            self.reject(NonCacheableReason::UnsupportedOption(format!(
                "input {arg}"
            )));
        }
    }

    fn apply(&mut self, action: Action, arg: &str, value: &str, raw: &[String]) {
        match action {
            Action::Keep | Action::Define => self.common.extend_from_slice(raw),
            Action::Compile => self.compile = true,
            Action::Output => self.output = Some(value.to_string()),
            Action::Language => self.language = (value != "none").then(|| value.to_string()),
            Action::Preprocess => self.preprocess = true,
            Action::Assemble => self.assemble = true,
            Action::DepsOnly => self.deps_only = true,
            Action::DepKind(kind) => self.dep_kind = Some(kind),
            Action::DepFile => self.dep_file = Some(value.to_string()),
            Action::DepTarget { quoted: false } => {
                self.dep_targets.push(DepTarget::Plain(value.to_string()))
            }
            Action::DepTarget { quoted: true } => {
                self.dep_targets.push(DepTarget::Quoted(value.to_string()))
            }
            Action::DepPhony => self.dep_phony = true,
            Action::SearchDir(kind) => self.search_dir(kind, value, raw),
            Action::Debug => self.debug_option(arg, raw),
            Action::PrefixMap => self.prefix_map(arg, value, raw),
            Action::Arch => self.arch(raw),
            Action::EmitLlvm => {
                self.emit_llvm = true;
                self.common.extend_from_slice(raw);
            }
            Action::Wp => self.wp(arg, value, raw),
            Action::Wa => self.assembler(arg, value.split(','), raw),
            Action::Xassembler => self.assembler(arg, std::iter::once(value), raw),
            Action::Xclang | Action::Xpreprocessor => self.forwarded(action, value, raw),
            Action::OptInfo => self.keep_unless(arg.contains('='), arg, raw),
            Action::DiagFormat => self.keep_unless(value.ends_with("-file"), arg, raw),
            Action::Deny(deny) => self.reject(deny_reason(deny, arg)),
        }
    }

    fn search_dir(&mut self, kind: SearchDirKind, value: &str, raw: &[String]) {
        self.common.extend_from_slice(raw);
        if !(kind == SearchDirKind::Angle && value == "-") {
            self.search_dirs.push((kind, value.to_string()));
        }
    }

    fn debug_option(&mut self, arg: &str, raw: &[String]) {
        self.common.extend_from_slice(raw);
        if let Some(on) = gcc_options::debug_effect(arg) {
            self.debug = on;
        }
    }

    fn prefix_map(&mut self, arg: &str, value: &str, raw: &[String]) {
        self.common.extend_from_slice(raw);
        match value.split_once('=') {
            Some((old, new)) => self.prefix_maps.push((old.to_string(), new.to_string())),
            None => self.reject_option(arg),
        }
    }

    fn arch(&mut self, raw: &[String]) {
        self.common.extend_from_slice(raw);
        self.arch_count += 1;
        if self.arch_count == 2 {
            self.reject(NonCacheableReason::UnsupportedOption(
                "-arch (more than one)".to_string(),
            ));
        }
    }

    /// `-Wp,-MD,file` / `-Wp,-MMD,file` set the dependency request; any
    /// other `-M` option passed this way is non-cacheable.
    fn wp(&mut self, arg: &str, value: &str, raw: &[String]) {
        let parts: Vec<&str> = value.split(',').collect();
        let kind = match parts.first() {
            Some(&"-MD") => Some(DepKind::Md),
            Some(&"-MMD") => Some(DepKind::Mmd),
            _ => None,
        };
        match (kind, parts.as_slice()) {
            (Some(kind), [_, file]) => {
                self.dep_kind = Some(kind);
                self.dep_file = Some((*file).to_string());
                self.dep_from_wp = true;
            }
            _ if parts.iter().any(|p| p.starts_with("-M")) => self.reject_option(arg),
            _ => self.common.extend_from_slice(raw),
        }
    }

    fn assembler<'a>(&mut self, arg: &str, parts: impl Iterator<Item = &'a str>, raw: &[String]) {
        self.common.extend_from_slice(raw);
        for part in parts {
            match gcc_options::assembler_arg(part) {
                Some(debug) => self.asm_debug |= debug,
                None => self.reject_option(arg),
            }
        }
    }

    /// `-Xclang X` and `-Xpreprocessor X`: kept unless X is a side-effecting
    /// cc1 option or a dependency option.
    fn forwarded(&mut self, action: Action, value: &str, raw: &[String]) {
        let denied = match action {
            Action::Xclang => gcc_options::xclang_denied(value),
            _ => value.starts_with("-M"),
        };
        if denied {
            self.reject(NonCacheableReason::UnsupportedOption(raw.join(" ")));
        }
        self.common.extend_from_slice(raw);
    }

    fn keep_unless(&mut self, denied: bool, arg: &str, raw: &[String]) {
        if denied {
            self.reject_option(arg);
        }
        self.common.extend_from_slice(raw);
    }

    fn reject_option(&mut self, arg: &str) {
        self.reject(NonCacheableReason::UnsupportedOption(arg.to_string()));
    }

    /// Records the first reason seen; later ones are ignored.
    fn reject(&mut self, reason: NonCacheableReason) {
        self.rejected.get_or_insert(reason);
    }

    /// The driver mode decides first (gcc stops at the earliest stage asked
    /// for: -M/-MM, then -E, then -S, and links without -c); then options
    /// and inputs.
    fn mode_reason(&self) -> Option<NonCacheableReason> {
        if self.deps_only {
            Some(NonCacheableReason::DepsOnly)
        } else if self.preprocess {
            Some(NonCacheableReason::PreprocessOnly)
        } else if self.assemble {
            Some(NonCacheableReason::AssemblyOutput)
        } else if !self.compile {
            Some(NonCacheableReason::Link)
        } else {
            None
        }
    }

    fn input_reason(&self) -> Option<NonCacheableReason> {
        let unsupported = |s: &str| Some(NonCacheableReason::UnsupportedOption(s.to_string()));
        if self.stdin {
            Some(NonCacheableReason::StdinInput)
        } else if self.output.as_deref() == Some("-") {
            Some(NonCacheableReason::StdoutOutput)
        } else if self.sources.is_empty() {
            Some(NonCacheableReason::NoSource)
        } else if self.output.is_some() && self.sources.len() > 1 {
            Some(NonCacheableReason::MultipleSourcesWithOutput)
        } else if self.emit_llvm && self.output.is_none() {
            unsupported("-emit-llvm without -o")
        } else if self.dep_from_wp && self.dep_targets.is_empty() && self.sources.len() > 1 {
            unsupported("-Wp,-MD with more than one source")
        } else {
            None
        }
    }

    fn finish(mut self) -> Parsed {
        let reason = self
            .mode_reason()
            .or_else(|| self.rejected.take())
            .or_else(|| self.input_reason());
        if let Some(reason) = reason {
            return Parsed::NonCacheable(reason);
        }
        let depfile = self.depfile();
        Parsed::Cacheable(CompileInvocation {
            common_args: self.common,
            sources: self.sources,
            output: self.output,
            depfile,
            search_dirs: self.search_dirs,
            debug_info: self.debug || self.asm_debug,
            prefix_maps: self.prefix_maps,
        })
    }

    /// The dependency request; `-MF`/`-MT`/`-MQ`/`-MP` without `-MD`/`-MMD`
    /// do nothing with `-c` and are dropped.
    fn depfile(&mut self) -> Option<DepfileRequest> {
        let kind = self.dep_kind?;
        let mut targets = std::mem::take(&mut self.dep_targets);
        if self.dep_from_wp && targets.is_empty() {
            // cpp's default target: the source's base name with `.o`
            // (gcc manual, -MT; libcpp deps_add_default_target), quoted.
            let source = self.sources.first().map_or("", |s| s.path.as_str());
            targets.push(DepTarget::Quoted(default_dep_target(source)));
        }
        Some(DepfileRequest {
            kind,
            file: self.dep_file.take(),
            targets,
            phony_headers: self.dep_phony,
        })
    }
}

fn deny_reason(deny: Deny, arg: &str) -> NonCacheableReason {
    match deny {
        Deny::Unsupported => NonCacheableReason::UnsupportedOption(arg.to_string()),
        Deny::SplitDwarf => NonCacheableReason::SplitDwarf,
        Deny::Coverage => NonCacheableReason::Coverage,
    }
}
