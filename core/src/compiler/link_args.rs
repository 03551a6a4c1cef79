//! Link command-line understanding: a compiler driver that links
//! (`cc a.o -o app -L. -lfoo`, `c++ -shared …`) and a direct linker call
//! (`ld`, `ld.gold`, `ld.lld`). Pure argv analysis: it finds the output,
//! every file whose content must key the link (objects, archives, linker
//! scripts, plugins), the `-l` libraries and `-L` dirs to resolve, and the
//! extra outputs named on the command line (`-Map`). Anything it cannot
//! prove reproducible is refused with a label.

use super::gcc_options::is_compilable;
use super::link_refusal::LinkRefusal;
use super::response_file::expand_response_files;
use std::path::Path;

/// Which kind of tool runs the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkTool {
    /// A gcc/clang driver without `-c`.
    Driver,
    /// A linker called directly.
    Linker,
}

/// A link that may be cached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LinkInvocation {
    /// The output file (`-o`, else `a.out`, GNU ld manual).
    pub output: String,
    /// Files whose content keys the link, as named (relative to the cwd).
    pub inputs: Vec<String>,
    /// `-l` names in order (`foo` for `-lfoo`, `:libx.a` for `-l:libx.a`).
    pub libs: Vec<String>,
    /// `-L` dirs in order.
    pub lib_dirs: Vec<String>,
    /// Other outputs named by options (`-Map`, `--out-implib`, …).
    pub extra_outputs: Vec<String>,
    /// Arguments that select the default library dirs (`-m*`,
    /// `--sysroot`), for the driver's `-print-search-dirs`.
    pub target_args: Vec<String>,
}

/// The verdict on an argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkParse {
    /// A cacheable link.
    Link(LinkInvocation),
    /// Not a link at all (a compile, a query such as `--version`): left to
    /// the compile pipeline.
    NotALink,
    /// A link that is not cacheable: label and detail.
    NonCacheable(LinkRefusal, String),
}

/// Driver options that stop it before linking, or only print information.
const NOT_LINK: &[&str] = &["-c", "-S", "-E", "-M", "-MM", "-fsyntax-only", "-v", "-###"];
/// Driver options taking a separate argument (gcc manual, "Option Summary").
const DRIVER_SEPARATE: &[&str] = &[
    "-o",
    "-l",
    "-L",
    "-T",
    "-x",
    "-Xlinker",
    "-u",
    "-e",
    "-z",
    "-include",
    "-imacros",
    "-isystem",
    "-iquote",
    "-idirafter",
    "-isysroot",
    "-iprefix",
    "-I",
    "-D",
    "-U",
    "-MF",
    "-MT",
    "-MQ",
    "--param",
    "-Xassembler",
    "-Xpreprocessor",
    "-Xclang",
    "-target",
    "-arch",
    "--sysroot",
    "-mllvm",
    "-specs",
    "--target",
    "-aux-info",
];
/// Linker options taking a separate argument (GNU ld manual, "Options").
const LD_SEPARATE: &[&str] = &[
    "-m",
    "-e",
    "-z",
    "-h",
    "-soname",
    "-rpath",
    "-rpath-link",
    "-u",
    "-y",
    "-Y",
    "-A",
    "-b",
    "-f",
    "-F",
    "-G",
    "-I",
    "-P",
    "--entry",
    "--undefined",
    "--trace-symbol",
    "--wrap",
    "--defsym",
    "--section-start",
    "-Ttext",
    "-Tdata",
    "-Tbss",
    "--sysroot",
    "--filter",
    "--auxiliary",
    "--dynamic-linker",
    "--plugin-opt",
    "-plugin-opt",
    "--hash-style",
    "--image-base",
    "--soname",
    "--exclude-libs",
    "-assert",
];
/// Linker options naming an input file, separate or `=`-joined.
const LD_INPUT_FILE: &[&str] = &[
    "-T",
    "--script",
    "-dT",
    "--default-script",
    "--version-script",
    "--dynamic-list",
    "--retain-symbols-file",
    "--just-symbols",
    "-plugin",
    "--plugin",
    "--symbol-ordering-file",
];
/// Linker options naming an output file, separate or `=`-joined.
const LD_OUTPUT_FILE: &[&str] = &[
    "-Map",
    "--Map",
    "--out-implib",
    "--dependency-file",
    "--print-map-file",
    "-o",
    "--output",
];

/// Parse a driver's argv (response files already expanded). `cwd` resolves
/// `-Wl,@file`.
pub(crate) fn parse_driver_link(args: &[String], cwd: &Path) -> LinkParse {
    if args.iter().any(|a| is_not_link(a)) {
        return LinkParse::NotALink;
    }
    let mut p = Parser::default();
    let mut linker: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let next = args.get(i + 1).map(String::as_str);
        if DRIVER_SEPARATE.contains(&a) {
            let Some(v) = next else {
                return LinkParse::NonCacheable(
                    LinkRefusal::LinkArgs,
                    format!("{a} without a value"),
                );
            };
            p.driver_option(a, v, &mut linker);
            i += 2;
            continue;
        }
        if let Some(v) = a.strip_prefix("-Wl,") {
            linker.extend(v.split(',').map(str::to_string));
        } else {
            p.driver_word(a);
        }
        i += 1;
    }
    p.expand_and_parse_linker(&linker, cwd);
    p.finish(LinkTool::Driver)
}

/// Parse a direct linker call's argv (response files already expanded).
pub(crate) fn parse_linker(args: &[String]) -> LinkParse {
    let mut p = Parser::default();
    p.linker_args(args);
    p.finish(LinkTool::Linker)
}

fn is_not_link(a: &str) -> bool {
    NOT_LINK.contains(&a)
        || a.starts_with("-print-")
        || a.starts_with("--print-")
        || a.starts_with("-dump")
        || a == "--version"
        || a == "--help"
}

/// Accumulates one link.
#[derive(Default)]
struct Parser {
    inv: LinkInvocation,
    output: Option<String>,
    refusal: Option<(LinkRefusal, String)>,
}

impl Parser {
    fn refuse(&mut self, label: LinkRefusal, detail: &str) {
        self.refusal.get_or_insert((label, detail.to_string()));
    }

    fn driver_option(&mut self, a: &str, v: &str, linker: &mut Vec<String>) {
        match a {
            "-o" => self.output = Some(v.to_string()),
            "-l" => self.inv.libs.push(v.to_string()),
            "-L" => self.inv.lib_dirs.push(v.to_string()),
            "-T" => self.inv.inputs.push(v.to_string()),
            "-Xlinker" => linker.push(v.to_string()),
            "-x" if v != "none" => self.refuse(LinkRefusal::CompileAndLink, &format!("-x {v}")),
            "-specs" => self.inv.inputs.push(v.to_string()),
            "--sysroot" | "-target" | "--target" | "-arch" => {
                self.inv.target_args.extend([a.to_string(), v.to_string()])
            }
            _ => {}
        }
    }

    fn driver_word(&mut self, a: &str) {
        if a == "-" {
            return self.refuse(LinkRefusal::StdinInput, "-");
        }
        if !a.starts_with('-') {
            if is_compilable(a) {
                return self.refuse(LinkRefusal::CompileAndLink, a);
            }
            return self.inv.inputs.push(a.to_string());
        }
        if let Some(v) = a.strip_prefix("-o") {
            self.output = Some(v.to_string());
        } else if let Some(v) = a.strip_prefix("-l") {
            self.inv.libs.push(v.to_string());
        } else if let Some(v) = a.strip_prefix("-L") {
            self.inv.lib_dirs.push(v.to_string());
        } else if let Some(v) = a.strip_prefix("-specs=") {
            self.inv.inputs.push(v.to_string());
        } else if a.starts_with("-m") || a.starts_with("--sysroot=") || a.starts_with("--target=") {
            self.inv.target_args.push(a.to_string());
        } else if a == "-flto=jobserver" || a == "-flto=auto" {
            self.refuse(LinkRefusal::LtoJobserver, a);
        } else if a.starts_with("-B") {
            self.refuse(LinkRefusal::DriverPrefix, a);
        } else if a.starts_with("-save-temps") || a.starts_with("-fdump-") {
            self.refuse(LinkRefusal::ExtraOutputs, a);
        } else if a.starts_with("-x") && a != "-xnone" {
            self.refuse(LinkRefusal::CompileAndLink, a);
        }
    }

    /// `-Wl,@file` names a linker response file: its words join the linker
    /// args (GNU ld manual, "@file") and its content keys the link.
    fn expand_and_parse_linker(&mut self, linker: &[String], cwd: &Path) {
        for a in linker.iter().filter(|a| a.starts_with('@')) {
            self.inv.inputs.push(a[1..].to_string());
        }
        match expand_response_files(linker, cwd) {
            Ok(expanded) => self.linker_args(&expanded),
            Err(e) => self.refuse(LinkRefusal::ResponseFile, &e.to_string()),
        }
    }

    fn linker_args(&mut self, args: &[String]) {
        let mut i = 0;
        while i < args.len() {
            i += self.linker_arg(args, i);
        }
    }

    /// Handle `args[i]`; returns how many words it used.
    fn linker_arg(&mut self, args: &[String], i: usize) -> usize {
        let a = args[i].as_str();
        let next = args.get(i + 1).map(String::as_str);
        if a == "--build-id=uuid" || (a == "--build-id" && next == Some("uuid")) {
            self.refuse(LinkRefusal::BuildIdUuid, a);
            return 1;
        }
        if !a.starts_with('-') {
            self.inv.inputs.push(a.to_string());
            return 1;
        }
        if let Some(used) = section_address(a) {
            return used;
        }
        if let Some(used) = self.file_option(a, next) {
            return used;
        }
        if let Some(v) = long_value(a, &["--library", "-l"], next) {
            self.inv.libs.push(v.0.to_string());
            return v.1;
        }
        if let Some(v) = long_value(a, &["--library-path", "-L"], next) {
            self.inv.lib_dirs.push(v.0.to_string());
            return v.1;
        }
        if a.starts_with("--sysroot") || a.starts_with("-m") {
            self.inv.target_args.push(a.to_string());
        }
        if LD_SEPARATE.contains(&a) {
            return 2;
        }
        1
    }

    /// Options naming an input or output file; `Some(words used)`.
    fn file_option(&mut self, a: &str, next: Option<&str>) -> Option<usize> {
        if let Some((v, used)) = long_value(a, LD_OUTPUT_FILE, next) {
            match a.starts_with("-o") || a.starts_with("--output") {
                true => self.output = Some(v.to_string()),
                false => self.inv.extra_outputs.push(v.to_string()),
            }
            return Some(used);
        }
        if let Some((v, used)) = long_value(a, LD_INPUT_FILE, next) {
            self.inv.inputs.push(v.to_string());
            return Some(used);
        }
        None
    }

    fn finish(mut self, tool: LinkTool) -> LinkParse {
        if let Some((label, detail)) = self.refusal {
            return LinkParse::NonCacheable(label, detail);
        }
        if tool == LinkTool::Driver && self.inv.inputs.is_empty() {
            // `cc -lfoo` with no object: not a build step worth caching.
            return LinkParse::NotALink;
        }
        self.inv.output = self.output.unwrap_or_else(|| "a.out".to_string());
        if self.inv.output == "-" {
            return LinkParse::NonCacheable(LinkRefusal::StdoutOutput, "-o -".to_string());
        }
        LinkParse::Link(self.inv)
    }
}

/// `-Ttext ORG`, `-Tdata=ORG`, `-Ttext-segment ORG`…: section addresses,
/// not scripts (GNU ld manual, -Tbss). `Some(words used)`.
fn section_address(a: &str) -> Option<usize> {
    const SECTIONS: &[&str] = &["-Ttext", "-Tdata", "-Tbss", "-Trodata", "-Tldata"];
    if !SECTIONS.iter().any(|s| a.starts_with(s)) {
        return None;
    }
    Some(if a.contains('=') { 1 } else { 2 })
}

/// Match `a` against option names: `name=value`, `name value`, or for
/// one-dash single-letter names `-Xvalue`. Returns the value and the words
/// used.
fn long_value<'a>(a: &'a str, names: &[&str], next: Option<&'a str>) -> Option<(&'a str, usize)> {
    for name in names {
        if a == *name {
            return next.map(|v| (v, 2));
        }
        if let Some(v) = a.strip_prefix(name) {
            if let Some(v) = v.strip_prefix('=') {
                return Some((v, 1));
            }
            let short = name.len() == 2 && !name.starts_with("--");
            if short && !v.is_empty() {
                return Some((v, 1));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn link(v: &[&str]) -> LinkInvocation {
        match parse_driver_link(&s(v), Path::new("/")) {
            LinkParse::Link(l) => l,
            other => panic!("{v:?}: {other:?}"),
        }
    }

    #[test]
    fn driver_link() {
        let l = link(&[
            "-O2",
            "a.o",
            "b.a",
            "-o",
            "app",
            "-L",
            "lib",
            "-Lx",
            "-lfoo",
            "-l",
            "bar",
            "-Wl,-Map=app.map,--version-script,v.ver",
            "-Xlinker",
            "-T",
            "-Xlinker",
            "s.ld",
            "-Wl,-rpath,/opt/lib",
            "-Wl,-soname,libx.so.1",
        ]);
        assert_eq!(l.output, "app");
        assert_eq!(l.inputs, s(&["a.o", "b.a", "v.ver", "s.ld"]));
        assert_eq!(l.libs, s(&["foo", "bar"]));
        assert_eq!(l.lib_dirs, s(&["lib", "x"]));
        assert_eq!(l.extra_outputs, s(&["app.map"]));
    }

    #[test]
    fn not_links() {
        for v in [
            &["-c", "a.c"][..],
            &["--version"],
            &["-print-search-dirs"],
            &["-E", "a.c"],
        ] {
            assert_eq!(
                parse_driver_link(&s(v), Path::new("/")),
                LinkParse::NotALink
            );
        }
    }

    #[test]
    fn refusals() {
        let label = |v: &[&str]| match parse_driver_link(&s(v), Path::new("/")) {
            LinkParse::NonCacheable(l, _) => l.label(),
            other => panic!("{other:?}"),
        };
        assert_eq!(label(&["a.c", "-o", "a"]), "compile_and_link");
        assert_eq!(label(&["a.o", "-flto=jobserver"]), "lto_jobserver");
        assert_eq!(label(&["a.o", "-Wl,--build-id=uuid"]), "build_id_uuid");
        assert_eq!(label(&["a.o", "-Bfoo/"]), "driver_prefix");
        assert_eq!(label(&["-x", "c", "a", "-o", "b"]), "compile_and_link");
    }

    #[test]
    fn bare_build_id_takes_no_value() {
        let l = link(&["a.o", "-Wl,--build-id", "b.o", "-o", "x"]);
        assert_eq!(l.inputs, s(&["a.o", "b.o"]));
    }

    #[test]
    fn direct_linker() {
        match parse_linker(&s(&[
            "-o",
            "x",
            "-m",
            "elf_x86_64",
            "a.o",
            "-lc",
            "-Map",
            "x.map",
        ])) {
            LinkParse::Link(l) => {
                assert_eq!(l.output, "x");
                assert_eq!(l.inputs, s(&["a.o"]));
                assert_eq!(l.libs, s(&["c"]));
                assert_eq!(l.extra_outputs, s(&["x.map"]));
            }
            other => panic!("{other:?}"),
        }
    }
}
