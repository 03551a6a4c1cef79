//! The define-sibling preprocessor fallback: a compile that differs from a
//! stored one only in `-D`/`-U` options (CMake's `<target>_EXPORTS` on the
//! shared variant of a static + shared library) is served from the stored
//! entry when the preprocessor proves the defines change nothing, with the
//! object and depfile byte-identical to a plain compile; and it is never
//! served when a define is used, a header changed, or an option records the
//! command line.

use crate::harness::*;
use std::path::Path;

/// `-O2 [extra] -Iinc [-D...] -MD -MT <dir>/a.o -MF <dir>/a.o.d -o <dir>/a.o -c a.c`.
fn args(cc: &str, dir: &str, extra: &[&str], defines: &[&str]) -> Vec<String> {
    let o = format!("{dir}/a.o");
    let mut v: Vec<String> = vec![cc.into(), "-O2".into()];
    v.extend(extra.iter().map(|s| s.to_string()));
    v.push("-Iinc".into());
    v.extend(defines.iter().map(|s| s.to_string()));
    for a in [
        "-MD",
        "-MT",
        &o,
        "-MF",
        &format!("{o}.d"),
        "-o",
        &o,
        "-c",
        "a.c",
    ] {
        v.push(a.to_string());
    }
    v
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn preprocessor_hits(sb: &Sandbox) -> u64 {
    sb.stats().preprocessor_hits
}

/// A sandbox with `a.c` including `inc/h.h` (which reads no define).
fn project() -> Sandbox {
    let sb = Sandbox::new();
    sb.write(
        "inc/h.h",
        "#define V 7\nstatic inline int twice(int x) { return 2 * x; }\n",
    );
    sb.write(
        "a.c",
        "#include \"h.h\"\nint a(int x) { return twice(x) + V; }\nint b = V;\n",
    );
    for d in ["st", "sh"] {
        std::fs::create_dir_all(sb.path(d)).unwrap();
    }
    sb
}

/// Compile `second` through zccache after `first` and assert the outcome
/// (`Outcome::Hit` must come from the preprocessor fallback), that the object and
/// depfile equal a bare compile of `second`, and that a rebuild of `second`
/// is a plain direct hit.
fn check_pair(sb: &Sandbox, first: &[String], second: &[String], outcome: Outcome) {
    let dir = second[second.len() - 3]
        .trim_end_matches("/a.o")
        .to_string();
    let (obj, dep) = (format!("{dir}/a.o"), format!("{dir}/a.o.d"));
    let (out, bare) = sb.bare(&second[0], &refs(second)[1..], &[&obj, &dep]);
    assert_ok(&out, "bare compile");
    sb.compile_expect(&refs(first), Outcome::Miss);
    let pp = preprocessor_hits(sb);
    sb.compile_expect(&refs(second), outcome);
    let want_pp = pp + u64::from(outcome == Outcome::Hit);
    assert_eq!(preprocessor_hits(sb), want_pp, "{}", sb.stats());
    assert_same(&sb.read(&obj), &bare[0], &format!("object {second:?}"));
    assert_same(&sb.read(&dep), &bare[1], &format!("depfile {second:?}"));
    sb.remove(&obj);
    sb.remove(&dep);
    sb.compile_expect(&refs(second), Outcome::Hit);
    assert_eq!(
        preprocessor_hits(sb),
        want_pp,
        "the rebuild is a direct hit"
    );
    assert_same(&sb.read(&obj), &bare[0], "object (direct hit)");
    assert_same(&sb.read(&dep), &bare[1], "depfile (direct hit)");
}

#[test]
fn unused_define_is_served_from_the_sibling_gcc_and_clang() {
    for cc in ["gcc", "clang"] {
        if missing(&[cc]) {
            continue;
        }
        for extra in [&[][..], &["-g"][..]] {
            let sb = project();
            sb.start();
            let st = args(cc, "st", extra, &["-DCOMMON=1"]);
            let sh = args(cc, "sh", extra, &["-DCOMMON=1", "-DFOO_EXPORTS"]);
            check_pair(&sb, &st, &sh, Outcome::Hit);
        }
    }
}

#[test]
fn define_read_by_a_header_is_not_shared() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = project();
    sb.write(
        "inc/h.h",
        "#ifdef FOO_EXPORTS\n#define V 1\n#else\n#define V 2\n#endif\n",
    );
    sb.start();
    let st = args("gcc", "st", &[], &[]);
    let sh = args("gcc", "sh", &[], &["-DFOO_EXPORTS"]);
    check_pair(&sb, &st, &sh, Outcome::Miss);
}

#[test]
fn header_edited_after_the_sibling_compile_is_not_served_stale() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = project();
    sb.start();
    let st = args("gcc", "st", &[], &[]);
    let sh = args("gcc", "sh", &[], &["-DFOO_EXPORTS"]);
    sb.compile_expect(&refs(&st), Outcome::Miss);
    sb.write(
        "inc/h.h",
        "#define V 8\nstatic inline int twice(int x) { return 2 * x; }\n",
    );
    let (out, bare) = sb.bare("gcc", &refs(&sh)[1..], &["sh/a.o", "sh/a.o.d"]);
    assert_ok(&out, "bare compile");
    sb.compile_expect(&refs(&sh), Outcome::Miss);
    assert_eq!(preprocessor_hits(&sb), 0);
    assert_same(&sb.read("sh/a.o"), &bare[0], "object with the new header");
    assert_same(&sb.read("sh/a.o.d"), &bare[1], "depfile");
}

#[test]
fn options_that_record_the_command_line_block_sharing() {
    // gcc leaves -D/-U out of its recorded switches (so sharing would have
    // been harmless there), but -g3 stores every macro in the debug info.
    if missing(&["gcc"]) {
        return;
    }
    let cases: &[(&[&str], bool)] = &[(&["-frecord-gcc-switches"], false), (&["-g3"], true)];
    for (extra, differs) in cases {
        let sb = project();
        sb.start();
        let st = args("gcc", "st", extra, &[]);
        let sh = args("gcc", "sh", extra, &["-DFOO_EXPORTS"]);
        check_pair(&sb, &st, &sh, Outcome::Miss);
        let same = sb.read("st/a.o") == sb.read("sh/a.o");
        assert_eq!(!same, *differs, "{extra:?}: objects differ");
    }
}

#[test]
fn clang_command_line_recording_is_passed_through() {
    if missing(&["clang"]) {
        return;
    }
    // clang records the whole command line (defines and output paths), so
    // these compiles are not cached at all: the object equals a bare one.
    for extra in [
        &["-frecord-command-line"][..],
        &["-frecord-gcc-switches"][..],
        &["-g", "-grecord-command-line"][..],
    ] {
        let sb = project();
        sb.start();
        let sh = args("clang", "sh", extra, &["-DFOO_EXPORTS"]);
        let (out, bare) = sb.bare("clang", &refs(&sh)[1..], &["sh/a.o", "sh/a.o.d"]);
        assert_ok(&out, "bare compile");
        let before = sb.counters();
        sb.zcc_ok(&refs(&sh));
        let after = sb.counters();
        assert_eq!(after.non_cacheable, before.non_cacheable + 1, "{extra:?}");
        assert_same(&sb.read("sh/a.o"), &bare[0], &format!("object {extra:?}"));
        assert_same(&sb.read("sh/a.o.d"), &bare[1], "depfile");
    }
}

#[test]
fn variants_compiled_at_the_same_time_compile_once() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = project();
    // Slow enough (about a second at -O2) that the second compile starts
    // while the first runs; either may lead, the other waits for it.
    let mut src = String::from("#include \"h.h\"\n");
    for n in 0..600 {
        src.push_str(&format!(
            "int f{n}(int x) {{ int s = 0; for (int i = 0; i < x; i++) s += (i * {n}) ^ (s >> 3); return s + V; }}\n"
        ));
    }
    sb.write("a.c", src);
    let st = args("gcc", "st", &[], &[]);
    let sh = args("gcc", "sh", &[], &["-DFOO_EXPORTS"]);
    let (o1, bare_st) = sb.bare("gcc", &refs(&st)[1..], &["st/a.o", "st/a.o.d"]);
    let (o2, bare_sh) = sb.bare("gcc", &refs(&sh)[1..], &["sh/a.o", "sh/a.o.d"]);
    assert_ok(&o1, "bare st");
    assert_ok(&o2, "bare sh");
    sb.start();
    let mut first = sb.zcc_cmd(&refs(&st));
    first.stdout(std::process::Stdio::null());
    let mut first = first.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    sb.zcc_ok(&refs(&sh));
    let status = wait_limited(
        &mut first,
        "first compile",
        std::time::Duration::from_secs(300),
    );
    assert!(status.success());
    let c = sb.counters();
    assert_eq!((c.hits, c.misses), (1, 1), "{}", sb.stats());
    assert_eq!(preprocessor_hits(&sb), 1);
    assert_same(&sb.read("st/a.o"), &bare_st[0], "st object");
    assert_same(&sb.read("st/a.o.d"), &bare_st[1], "st depfile");
    assert_same(&sb.read("sh/a.o"), &bare_sh[0], "sh object");
    assert_same(&sb.read("sh/a.o.d"), &bare_sh[1], "sh depfile");
}

const CMAKE_LISTS: &str = "cmake_minimum_required(VERSION 3.16)
project(siblings C)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(SRCS a.c b.c)
add_library(sib_static STATIC ${SRCS})
add_library(sib_shared SHARED ${SRCS})
target_include_directories(sib_static PRIVATE inc)
target_include_directories(sib_shared PRIVATE inc)
";

/// Every `.o` under `dir`, sorted by path, with its bytes.
fn objects(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "o") {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn cmake_build(sb: &Sandbox, build: &Path, extra: &[String]) -> Vec<(String, Vec<u8>)> {
    let mut conf = vec![
        "-G".to_string(),
        "Ninja".to_string(),
        "-S".to_string(),
        sb.path("proj").to_string_lossy().into_owned(),
        "-B".to_string(),
        build.to_string_lossy().into_owned(),
        "-DCMAKE_C_COMPILER=gcc".to_string(),
    ];
    conf.extend_from_slice(extra);
    assert_ok(&sb.run("cmake", &conf), "cmake");
    // -j1: the static and shared compile of one source never overlap.
    let b = build.to_str().unwrap();
    assert_ok(&sb.run("ninja", &["-C", b, "-j1"]), "ninja");
    let mut outs = objects(build);
    for lib in ["libsib_static.a", "libsib_shared.so"] {
        outs.push((lib.to_string(), std::fs::read(build.join(lib)).unwrap()));
    }
    outs
}

#[test]
fn cmake_static_and_shared_library_share_objects_cold() {
    if missing(&["cmake", "ninja", "gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("proj/CMakeLists.txt", CMAKE_LISTS);
    sb.write("proj/inc/h.h", "#define V 3\n");
    sb.write("proj/a.c", "#include \"h.h\"\nint a(void) { return V; }\n");
    sb.write(
        "proj/b.c",
        "#include <stdio.h>\nint b(void) { return puts(\"b\"); }\n",
    );
    let build = sb.path("build");
    let bare = cmake_build(&sb, &build, &[]);
    std::fs::remove_dir_all(&build).unwrap();
    let module = text(&sb.zcc_ok(&["cmake-module"]).stdout)
        .trim()
        .to_string();
    sb.start();
    let cached = cmake_build(
        &sb,
        &build,
        &[format!("-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES={module}")],
    );
    let stats = sb.stats();
    assert_eq!(stats.preprocessor_hits, 2, "{stats}");
    assert_eq!(stats.miss_reason("first_compile"), 2, "{stats}");
    assert_eq!(bare.len(), cached.len());
    for ((name, want), (cname, got)) in bare.iter().zip(&cached) {
        assert_eq!(name, cname);
        assert_same(got, want, name);
    }
    let b = build.to_str().unwrap();
    let dry = sb.run("ninja", &["-C", b, "-n"]);
    assert_ok(&dry, "ninja -n");
    assert!(
        text(&dry.stdout).contains("no work to do"),
        "{}",
        text(&dry.stdout)
    );
}

/// A header whose `__has_include` finds a file it does not read (gcc lists
/// no such file in the depfile; the input set records it after the
/// depfile's): still served from the sibling.
#[test]
fn probing_header_is_served_from_the_sibling() {
    for cc in ["gcc", "clang"] {
        if missing(&[cc]) {
            continue;
        }
        let sb = project();
        sb.write(
            "inc/h.h",
            "#if __has_include(<opt.h>) && __has_include(<none.h>)\n#define V 1\n\
             #else\n#define V 2\n#endif\n\
             static inline int twice(int x) { return 2 * x; }\n",
        );
        sb.write("inc/opt.h", "#error not read\n");
        sb.start();
        let st = args(cc, "st", &[], &[]);
        let sh = args(cc, "sh", &[], &["-DFOO_EXPORTS"]);
        check_pair(&sb, &st, &sh, Outcome::Hit);
    }
}
