//! Files the compiler looked for and did not find (issue "Trust", "Files
//! that were looked for and absent"): they leave no trace in the depfile,
//! yet creating them later changes the output. Each case compiles, hits,
//! creates or removes the probed file, and must then miss with the object
//! of a bare compile of the new state (and hit again after that), with gcc
//! and with clang.

use crate::harness::*;

/// One scenario: `files` and empty `dirs` to start with, `env` for every
/// compile, the compile `args`, and the change (`Some(content)`: write the
/// file, `None`: remove it).
struct Case<'a> {
    files: &'a [(&'a str, &'a str)],
    dirs: &'a [&'a str],
    env: &'a [(&'a str, &'a str)],
    args: &'a [&'a str],
    change: (&'a str, Option<&'a str>),
}

/// Compiles through zccache expecting `outcome`, checks `a.o` equals a bare
/// compile, removes it and returns its bytes.
fn step(sb: &Sandbox, cc: &str, args: &[&str], outcome: Outcome) -> Vec<u8> {
    let z = std::iter::once(cc).chain(args.iter().copied());
    let mut ran = sb.test().zcc(z).expect(outcome).same_as_bare("a.o").run();
    sb.remove("a.o");
    ran.bare_files.remove(0)
}

fn run_case(case: &Case) {
    if missing(&["gcc", "clang"]) {
        return;
    }
    for cc in ["gcc", "clang"] {
        let mut sb = Sandbox::new();
        for (p, c) in case.files {
            sb.write(p, c);
        }
        for d in case.dirs {
            std::fs::create_dir_all(sb.path(d)).unwrap();
        }
        for (k, v) in case.env {
            // Relative values name dirs under the work dir.
            let v = v
                .split(':')
                .map(|d| sb.path(d).to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(":");
            sb.set_env(k, v);
        }
        sb.start();
        let before = step(&sb, cc, case.args, Outcome::Miss);
        step(&sb, cc, case.args, Outcome::Hit);
        match case.change {
            (p, Some(content)) => {
                sb.write(p, content);
            }
            (p, None) => sb.remove(p),
        }
        let after = step(&sb, cc, case.args, Outcome::Miss);
        assert_ne!(
            before, after,
            "fixture ({cc}): the change must change the object"
        );
        step(&sb, cc, case.args, Outcome::Hit);
    }
}

const ARGS: [&str; 4] = ["-c", "a.c", "-o", "a.o"];

const HAS_QUOTE: &str = "#if __has_include(\"cfg.h\")\nint v(void) { return 2; }\n\
                         #else\nint v(void) { return 1; }\n#endif\n";

const HAS_ANGLE: &str = "#if __has_include(<cfg.h>)\nint v(void) { return 2; }\n\
                         #else\nint v(void) { return 1; }\n#endif\n";

const USES_CFG: &str = "#include <cfg.h>\nint v(void) { return CFG; }\n";

#[test]
fn has_include_quote_false_to_true_misses() {
    run_case(&Case {
        files: &[("a.c", HAS_QUOTE)],
        dirs: &[],
        env: &[],
        args: &ARGS,
        change: ("cfg.h", Some("\n")),
    });
}

#[test]
fn has_include_angle_false_to_true_misses() {
    run_case(&Case {
        files: &[("a.c", HAS_ANGLE)],
        dirs: &["inc"],
        env: &[],
        args: &["-Iinc", "-c", "a.c", "-o", "a.o"],
        change: ("inc/cfg.h", Some("\n")),
    });
}

/// The `-I` dir itself does not exist yet: created with the file.
#[test]
fn has_include_in_missing_include_dir_misses() {
    run_case(&Case {
        files: &[("a.c", HAS_ANGLE)],
        dirs: &[],
        env: &[],
        args: &["-Inew/inc", "-c", "a.c", "-o", "a.o"],
        change: ("new/inc/cfg.h", Some("\n")),
    });
}

#[test]
fn has_include_true_to_false_misses() {
    run_case(&Case {
        files: &[("a.c", HAS_ANGLE), ("inc/cfg.h", "\n")],
        dirs: &[],
        env: &[],
        args: &["-Iinc", "-c", "a.c", "-o", "a.o"],
        change: ("inc/cfg.h", None),
    });
}

/// A header (not the source) probes.
#[test]
fn has_include_in_header_misses() {
    run_case(&Case {
        files: &[
            ("a.c", "#include \"probe.h\"\nint v(void) { return CFG; }\n"),
            (
                "inc/probe.h",
                "#if __has_include(<cfg.h>)\n#define CFG 2\n#else\n#define CFG 1\n#endif\n",
            ),
        ],
        dirs: &["late"],
        env: &[],
        args: &["-Iinc", "-Ilate", "-c", "a.c", "-o", "a.o"],
        change: ("late/cfg.h", Some("\n")),
    });
}

#[test]
fn has_include_next_false_to_true_misses() {
    let first = "#if __has_include_next(<cfg.h>)\n#define CFG 2\n#else\n#define CFG 1\n#endif\n";
    run_case(&Case {
        files: &[("a.c", USES_CFG), ("first/cfg.h", first)],
        dirs: &["second"],
        env: &[],
        args: &["-Ifirst", "-Isecond", "-c", "a.c", "-o", "a.o"],
        change: ("second/cfg.h", Some("\n")),
    });
}

#[test]
fn include_next_chain_gaining_a_file_misses() {
    run_case(&Case {
        files: &[
            ("a.c", USES_CFG),
            ("a/cfg.h", "#include_next <cfg.h>\n"),
            ("c/cfg.h", "#define CFG 1\n"),
        ],
        dirs: &["b"],
        env: &[],
        args: &["-Ia", "-Ib", "-Ic", "-c", "a.c", "-o", "a.o"],
        change: ("b/cfg.h", Some("#define CFG 7\n")),
    });
}

fn forced(option: &str) {
    let src = "int v(void) { return CFG; }\n";
    run_case(&Case {
        files: &[("a.c", src), ("late/x.h", "#define CFG 1\n")],
        dirs: &["early"],
        env: &[],
        args: &["-Iearly", "-Ilate", option, "x.h", "-c", "a.c", "-o", "a.o"],
        change: ("early/x.h", Some("#define CFG 8\n")),
    });
}

#[test]
fn forced_include_appearing_earlier_misses() {
    forced("-include");
}

#[test]
fn imacros_appearing_earlier_misses() {
    forced("-imacros");
}

/// `-include` of a file that did not exist at all: the compile fails, so
/// nothing is stored; the probe is for `-include` of an optional header
/// through `__has_include` instead.
#[test]
fn forced_include_probing_misses() {
    run_case(&Case {
        files: &[
            ("a.c", "int v(void) { return CFG; }\n"),
            (
                "inc/opt.h",
                "#if __has_include(\"extra.h\")\n#define CFG 2\n#else\n#define CFG 1\n#endif\n",
            ),
        ],
        dirs: &["early"],
        env: &[],
        args: &[
            "-Iearly", "-Iinc", "-include", "opt.h", "-c", "a.c", "-o", "a.o",
        ],
        change: ("early/extra.h", Some("\n")),
    });
}

fn include_path_env(var: &str) {
    run_case(&Case {
        files: &[("a.c", USES_CFG), ("late/cfg.h", "#define CFG 1\n")],
        dirs: &["early"],
        env: &[(var, "early:late")],
        args: &ARGS,
        change: ("early/cfg.h", Some("#define CFG 9\n")),
    });
}

#[test]
fn cpath_header_appearing_earlier_misses() {
    include_path_env("CPATH");
}

#[test]
fn c_include_path_header_appearing_earlier_misses() {
    include_path_env("C_INCLUDE_PATH");
}

#[test]
fn has_include_through_cpath_misses() {
    run_case(&Case {
        files: &[("a.c", HAS_ANGLE)],
        dirs: &["envdir"],
        env: &[("CPATH", "envdir")],
        args: &ARGS,
        change: ("envdir/cfg.h", Some("\n")),
    });
}

/// A probe whose name comes from a macro cannot be resolved without the
/// preprocessor: such a compile is never stored, so it never hits stale.
#[test]
fn computed_probe_name_is_not_stored() {
    if missing(&["gcc", "clang"]) {
        return;
    }
    for cc in ["gcc", "clang"] {
        let sb = Sandbox::new();
        let src = "#define H <cfg.h>\n#if __has_include(H)\nint v(void) { return 2; }\n\
                   #else\nint v(void) { return 1; }\n#endif\n";
        sb.write("a.c", src);
        std::fs::create_dir_all(sb.path("inc")).unwrap();
        sb.start();
        let args = ["-Iinc", "-c", "a.c", "-o", "a.o"];
        step(&sb, cc, &args, Outcome::Miss);
        step(&sb, cc, &args, Outcome::Miss);
        sb.write("inc/cfg.h", "\n");
        step(&sb, cc, &args, Outcome::Miss);
    }
}
