//! Paths in a gcc/clang/emcc command line, for base dirs (ccache manual,
//! "base_dir"): which arguments name files or directories, so that the
//! caller can rewrite them ([`rewrite_paths`]), and the key form of the
//! prefix maps ([`key_prefix_maps`]). The rewriting itself (which paths,
//! into what) is the caller's closure; this module only knows the argv.

use super::family::CompilerFamily;
use super::gcc_options::{classify, Value};

/// Options whose value is a file or directory path (gcc manual,
/// "Preprocessor Options", "Directory Options", "Overall Options"):
/// search dirs, forced includes, the sysroot, the output and the depfile.
/// `-MT`/`-MQ` name targets, not files: their text is kept, and left out
/// of the key when plain (see `dep_targets`).
const PATH_OPTIONS: &[&str] = &[
    "-I",
    "-iquote",
    "-isystem",
    "-idirafter",
    "-cxx-isystem",
    "-isystem-after",
    "-iframework",
    "-F",
    "-include",
    "-imacros",
    "-isysroot",
    "--sysroot",
    "--sysroot=",
    "-o",
    "-MF",
    "-L",
];

/// Prefix-map options (gcc manual, -fdebug-prefix-map, -ffile-prefix-map,
/// -fmacro-prefix-map): `OPTION=OLD=NEW`.
const PREFIX_MAPS: &[&str] = &[
    "-fdebug-prefix-map=",
    "-ffile-prefix-map=",
    "-fmacro-prefix-map=",
];

/// `args` (response files already expanded) with every path argument
/// passed through `rewrite`: the values of [`PATH_OPTIONS`], joined or
/// separate, and every non-option argument (sources and other inputs).
/// `rewrite` returns `None` to keep a path as it is. Option values that
/// are not paths (`-D`, `-MT`, `-Xclang …`) are never touched; a value
/// after `-Xclang`/`-Xpreprocessor`/`-mllvm` and the like is skipped with
/// its option. When `-o` is rewritten and a depfile is asked for
/// (`-MD`/`-MMD`) without `-MT`/`-MQ`, `-MQ <the -o value as given>` is
/// added, so the depfile's rule keeps naming the output as the build
/// named it (gcc manual, -MD: the target defaults to the `-o` value).
pub(crate) fn rewrite_paths(
    args: &[String],
    family: CompilerFamily,
    rewrite: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut output = None;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if !arg.starts_with('-') || arg == "-" {
            out.push(rewrite(arg).unwrap_or_else(|| arg.clone()));
            continue;
        }
        match classify(arg, family).map(|m| m.value) {
            Some(Value::Next) => {
                out.push(arg.clone());
                if let Some(value) = args.get(i) {
                    let is_path = PATH_OPTIONS.contains(&arg.as_str());
                    let new = if is_path { rewrite(value) } else { None };
                    if arg == "-o" && new.is_some() {
                        output = Some(value.clone());
                    }
                    out.push(new.unwrap_or_else(|| value.clone()));
                    i += 1;
                }
            }
            Some(Value::Joined(rest)) => {
                let name = &arg[..arg.len() - rest.len()];
                let new = PATH_OPTIONS
                    .contains(&name)
                    .then(|| rewrite(rest))
                    .flatten();
                if name == "-o" && new.is_some() {
                    output = Some(rest.to_string());
                }
                out.push(new.map_or_else(|| arg.clone(), |p| format!("{name}{p}")));
            }
            _ => out.push(arg.clone()),
        }
    }
    if let Some(output) = output {
        keep_default_dep_target(&mut out, output);
    }
    out
}

/// Add `-MQ output` when a depfile is written and no target was named.
fn keep_default_dep_target(args: &mut Vec<String>, output: String) {
    let depfile = args.iter().any(|a| a == "-MD" || a == "-MMD");
    let named = args
        .iter()
        .any(|a| a.starts_with("-MT") || a.starts_with("-MQ"));
    if depfile && !named {
        args.push("-MQ".to_string());
        args.push(output);
    }
}

/// `args` as keyed: the OLD part of every prefix map passed through
/// `rewrite` (`-ffile-prefix-map=/ci/a=.` → `-ffile-prefix-map=..=.`), so
/// maps that name the same place in two checkouts key alike. The compiler
/// itself keeps the absolute maps: they must match the absolute paths
/// (the cwd) it embeds.
pub(crate) fn key_prefix_maps(
    args: &[String],
    rewrite: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    args.iter()
        .map(|arg| {
            let Some(name) = PREFIX_MAPS.iter().find(|n| arg.starts_with(*n)) else {
                return arg.clone();
            };
            let Some((old, new)) = arg[name.len()..].split_once('=') else {
                return arg.clone();
            };
            match rewrite(old) {
                Some(rel) => format!("{name}{rel}={new}"),
                None => arg.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn under_ci(p: &str) -> Option<String> {
        p.strip_prefix("/ci/a/").map(|r| format!("REL/{r}"))
    }

    #[test]
    fn path_values_and_inputs_are_rewritten_and_nothing_else() {
        let given = args(
            "-c /ci/a/src/x.c -o /ci/a/b/x.o -I/ci/a/inc -I /ci/a/inc2 -isystem /ci/a/sys \
             -isystem-after /ci/a/late -include /ci/a/cfg.h --sysroot=/ci/a/root \
             -MD -MT /ci/a/b/x.o -MF /ci/a/b/x.d -DPATH=/ci/a/x -Xclang /ci/a/keep \
             -I/usr/include /usr/src/y.c",
        );
        let got = rewrite_paths(&given, CompilerFamily::Gcc, under_ci);
        assert_eq!(
            got,
            args(
                "-c REL/src/x.c -o REL/b/x.o -IREL/inc -I REL/inc2 -isystem REL/sys \
                 -isystem-after REL/late -include REL/cfg.h --sysroot=REL/root \
                 -MD -MT /ci/a/b/x.o -MF REL/b/x.d -DPATH=/ci/a/x -Xclang /ci/a/keep \
                 -I/usr/include /usr/src/y.c",
            )
        );
    }

    #[test]
    fn a_rewritten_output_stays_the_default_depfile_target() {
        let got = rewrite_paths(
            &args("-MD -c /ci/a/x.c -o /ci/a/x.o"),
            CompilerFamily::Gcc,
            under_ci,
        );
        assert_eq!(got, args("-MD -c REL/x.c -o REL/x.o -MQ /ci/a/x.o"));
        let named = rewrite_paths(
            &args("-MD -MT t -c /ci/a/x.c -o/ci/a/x.o"),
            CompilerFamily::Gcc,
            under_ci,
        );
        assert_eq!(named, args("-MD -MT t -c REL/x.c -oREL/x.o"));
        let no_dep = rewrite_paths(
            &args("-c /ci/a/x.c -o /ci/a/x.o"),
            CompilerFamily::Gcc,
            under_ci,
        );
        assert_eq!(no_dep, args("-c REL/x.c -o REL/x.o"));
    }

    #[test]
    fn prefix_maps_key_their_old_path_in_rewritten_form() {
        let given = args("-g -ffile-prefix-map=/ci/a/src=. -fdebug-prefix-map=/usr=/u -O2");
        assert_eq!(
            key_prefix_maps(&given, under_ci),
            args("-g -ffile-prefix-map=REL/src=. -fdebug-prefix-map=/usr=/u -O2")
        );
    }
}
