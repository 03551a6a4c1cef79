//! Preprocessor defines in a parsed compile's arguments: splitting the
//! `-D`/`-U` options from the rest (every spelling: `-DX`, `-D X`, `-UX`,
//! `-U X`), and the options that make two compiles differing only in
//! their defines produce different objects even when the preprocessed
//! output is the same. The daemon's define-sibling fallback
//! (`daemon::pipeline::cc::define_sibling`) builds on both.

use super::family::CompilerFamily;
use super::gcc_options::{classify, Action, Value, G_LEVELLED};

/// A compile's common args split into defines and everything else, each in
/// command-line order (a separate value stays with its option).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DefineSplit {
    /// Every argument that is not part of a `-D`/`-U` option.
    pub rest: Vec<String>,
    /// The `-D`/`-U` options as given, joined or separate.
    pub defines: Vec<String>,
}

/// Split `args` (a [`super::CompileInvocation::common_args`] list) into
/// defines and the rest. Options are recognised with the parser's table,
/// so a value such as the `-DX` in `-Xlinker -DX` is not taken for a
/// define. Never fails: unknown tokens go to `rest`.
pub(crate) fn split_defines(args: &[String], family: CompilerFamily) -> DefineSplit {
    let mut split = DefineSplit {
        rest: Vec::with_capacity(args.len()),
        defines: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        let m = (arg.starts_with('-') && arg != "-")
            .then(|| classify(arg, family))
            .flatten();
        let span = match m.map(|m| m.value) {
            Some(Value::Next) => 2.min(args.len() - i),
            _ => 1,
        };
        let to = match m.map(|m| m.action) {
            Some(Action::Define) => &mut split.defines,
            _ => &mut split.rest,
        };
        to.extend_from_slice(&args[i..i + span]);
        i += span;
    }
    split
}

/// Options that embed the command line (defines included) or the macro
/// table into the object, or that change what `-E` prints so that it no
/// longer shows every effect of a define (gcc manual, "Preprocessor
/// Options" and "Debugging Options"; clang's command-line reference).
const BLOCKERS: &[&str] = &[
    "-frecord-gcc-switches",
    "-frecord-command-line",
    "-grecord-gcc-switches",
    "-grecord-command-line",
    "-fdebug-macro",
    "-P",
    "-fdirectives-only",
    "-frewrite-includes",
    "-frewrite-imports",
    "-fkeep-system-includes",
    "-fminimize-whitespace",
];

/// Prefixes that pass arbitrary options to the preprocessor or the
/// compiler proper, where any of the above may hide.
const BLOCKER_PREFIXES: &[&str] = &["-Xclang", "-Xpreprocessor", "-Wp,"];

/// The first option in `rest` (the non-define args) that rules out
/// sharing one object between compiles that differ only in defines, or
/// `None` when there is none. Conservative: a value that merely looks like
/// a blocker (`-Xlinker -P`) also blocks.
///
/// Blocked: options that record the command line in the object
/// (`-frecord-gcc-switches`, clang's `-grecord-command-line`; gcc's own
/// default `DW_AT_producer` leaves `-D`/`-U` out), debug level 3 (`-g3`,
/// `-ggdb3`, ...: gcc stores every macro, command-line ones included, in
/// the debug info) and clang's `-fdebug-macro`, `-E` modifiers that stop
/// macro expansion or line markers (`-P`, `-fdirectives-only`,
/// `-frewrite-includes`, ...), and `-Xclang`/`-Xpreprocessor`/`-Wp,`.
pub(crate) fn sharing_blocker(rest: &[String]) -> Option<&str> {
    rest.iter().map(String::as_str).find(|a| {
        BLOCKERS.contains(a)
            || BLOCKER_PREFIXES.iter().any(|p| a.starts_with(p))
            || G_LEVELLED.iter().any(|g| a.strip_prefix(g) == Some("3"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn every_define_spelling_leaves_the_rest_in_order() {
        let args = s(&[
            "-O2",
            "-DA",
            "-D",
            "B=1",
            "-I",
            "inc",
            "-UC",
            "-U",
            "D",
            "-fPIC",
            "-Dlib_EXPORTS",
            "-Wall",
        ]);
        let got = split_defines(&args, CompilerFamily::Gcc);
        assert_eq!(got.rest, s(&["-O2", "-I", "inc", "-fPIC", "-Wall"]));
        assert_eq!(
            got.defines,
            s(&["-DA", "-D", "B=1", "-UC", "-U", "D", "-Dlib_EXPORTS"])
        );
    }

    #[test]
    fn values_of_other_options_are_not_defines() {
        let args = s(&[
            "-Xlinker", "-DX", "-include", "-Ufoo.h", "-undef", "-std=c11",
        ]);
        let got = split_defines(&args, CompilerFamily::Clang);
        assert_eq!(got.rest, args);
        assert!(got.defines.is_empty());
        // A trailing separate option without its value stays in `rest`.
        let got = split_defines(&s(&["-O2", "-D"]), CompilerFamily::Gcc);
        assert_eq!(got.defines, s(&["-D"]));
        assert_eq!(got.rest, s(&["-O2"]));
    }

    #[test]
    fn two_variants_differing_in_defines_split_alike() {
        let st = s(&["-DXXH_NAMESPACE=ZSTD_", "-I/b/lib", "-O3", "-fPIC"]);
        let sh = s(&[
            "-DXXH_NAMESPACE=ZSTD_",
            "-Dlibzstd_shared_EXPORTS",
            "-I/b/lib",
            "-O3",
            "-fPIC",
        ]);
        let (a, b) = (
            split_defines(&st, CompilerFamily::Gcc),
            split_defines(&sh, CompilerFamily::Gcc),
        );
        assert_eq!(a.rest, b.rest);
        assert_ne!(a.defines, b.defines);
    }

    #[test]
    fn blockers() {
        for a in [
            "-frecord-gcc-switches",
            "-grecord-command-line",
            "-g3",
            "-ggdb3",
            "-fdebug-macro",
            "-P",
            "-fdirectives-only",
            "-Xclang",
            "-Wp,-P",
        ] {
            assert_eq!(sharing_blocker(&s(&["-O2", a])), Some(a), "{a}");
        }
        for a in [
            "-g",
            "-g2",
            "-gdwarf-3",
            "-ggdb",
            "-fno-record-gcc-switches",
            "-flto",
        ] {
            assert_eq!(sharing_blocker(&s(&["-O2", a])), None, "{a}");
        }
    }
}
