//! Every key input, changed alone, gives a miss and an object equal to a
//! fresh uncached compile.

use crate::harness::*;
use std::time::SystemTime;

/// Compiles `args` with `compiler` through zccache expecting `outcome`,
/// checks `obj` equals a bare compile of the same command made just before,
/// removes it, and returns the bare bytes.
fn check(sb: &Sandbox, compiler: &str, args: &[&str], obj: &str, outcome: Outcome) -> Vec<u8> {
    let z = std::iter::once(compiler).chain(args.iter().copied());
    let mut ran = sb.test().zcc(z).expect(outcome).same_as_bare(obj).run();
    sb.remove(obj);
    ran.bare_files.remove(0)
}

fn setup(files: &[(&str, &str)]) -> Option<Sandbox> {
    if missing(&["gcc", "clang"]) {
        return None;
    }
    let sb = Sandbox::new();
    for (p, c) in files {
        sb.write(p, c);
    }
    sb.start();
    Some(sb)
}

const ARGS: [&str; 6] = ["-O2", "-Iinclude", "-c", "a.c", "-o", "a.o"];

#[test]
fn header_edit_misses() {
    let Some(sb) = setup(&[("include/foo.h", "#define FOO 1\n"), ("a.c", USES_FOO)]) else {
        return;
    };
    let one = check(&sb, "gcc", &ARGS, "a.o", Outcome::Miss);
    check(&sb, "gcc", &ARGS, "a.o", Outcome::Hit);
    sb.write("include/foo.h", "#define FOO 1234567\n");
    let two = check(&sb, "gcc", &ARGS, "a.o", Outcome::Miss);
    assert_ne!(one, two, "fixture: header value must change the object");
    check(&sb, "gcc", &ARGS, "a.o", Outcome::Hit);
}

#[test]
fn header_edit_keeping_size_and_mtime_misses() {
    let Some(sb) = setup(&[("include/foo.h", "#define FOO 1\n"), ("a.c", USES_FOO)]) else {
        return;
    };
    let one = check(&sb, "gcc", &ARGS, "a.o", Outcome::Miss);
    check(&sb, "gcc", &ARGS, "a.o", Outcome::Hit);
    let h = sb.path("include/foo.h");
    let mtime: SystemTime = std::fs::metadata(&h).unwrap().modified().unwrap();
    std::fs::write(&h, "#define FOO 7\n").unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&h).unwrap();
    f.set_modified(mtime).unwrap();
    drop(f);
    let md = std::fs::metadata(&h).unwrap();
    assert_eq!(
        (md.len(), md.modified().unwrap()),
        (14, mtime),
        "fixture: size/mtime kept"
    );
    let two = check(&sb, "gcc", &ARGS, "a.o", Outcome::Miss);
    assert_ne!(one, two, "fixture: header value must change the object");
}

#[test]
fn source_edit_keeping_size_and_mtime_misses() {
    let Some(sb) = setup(&[("a.c", "int v(void) { return 1; }\n")]) else {
        return;
    };
    check(&sb, "gcc", &ARGS, "a.o", Outcome::Miss);
    let p = sb.path("a.c");
    let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
    std::fs::write(&p, "int v(void) { return 9; }\n").unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    check(&sb, "gcc", &ARGS, "a.o", Outcome::Miss);
}

#[test]
fn define_flag_misses() {
    let src = "int v(void) { return VAL; }\n";
    let Some(sb) = setup(&[("a.c", src)]) else {
        return;
    };
    let a1 = ["-DVAL=1", "-c", "a.c", "-o", "a.o"];
    let a2 = ["-DVAL=2", "-c", "a.c", "-o", "a.o"];
    check(&sb, "gcc", &a1, "a.o", Outcome::Miss);
    check(&sb, "gcc", &a2, "a.o", Outcome::Miss);
    check(&sb, "gcc", &a1, "a.o", Outcome::Hit);
    // -U after -D changes the meaning too.
    sb.write(
        "a.c",
        "#ifdef VAL\nint v(void) { return VAL; }\n#else\nint v(void) { return -1; }\n#endif\n",
    );
    check(
        &sb,
        "gcc",
        &["-DVAL=3", "-c", "a.c", "-o", "a.o"],
        "a.o",
        Outcome::Miss,
    );
    check(
        &sb,
        "gcc",
        &["-DVAL=3", "-UVAL", "-c", "a.c", "-o", "a.o"],
        "a.o",
        Outcome::Miss,
    );
}

#[test]
fn optimisation_flag_misses() {
    let src = "int s(int n) { int t = 0; for (int i = 0; i < n; i++) t += i * i; return t; }\n";
    let Some(sb) = setup(&[("a.c", src)]) else {
        return;
    };
    let o0 = check(
        &sb,
        "gcc",
        &["-O0", "-c", "a.c", "-o", "a.o"],
        "a.o",
        Outcome::Miss,
    );
    let o2 = check(
        &sb,
        "gcc",
        &["-O2", "-c", "a.c", "-o", "a.o"],
        "a.o",
        Outcome::Miss,
    );
    assert_ne!(o0, o2, "fixture: -O0 and -O2 must differ");
    check(
        &sb,
        "gcc",
        &["-O0", "-c", "a.c", "-o", "a.o"],
        "a.o",
        Outcome::Hit,
    );
}

#[test]
fn compiler_change_misses() {
    let src = "int s(int n) { int t = 0; for (int i = 0; i < n; i++) t += i * i; return t; }\n";
    let Some(sb) = setup(&[("a.c", src)]) else {
        return;
    };
    let args = ["-O2", "-c", "a.c", "-o", "a.o"];
    check(&sb, "gcc", &args, "a.o", Outcome::Miss);
    check(&sb, "clang", &args, "a.o", Outcome::Miss);
    check(&sb, "gcc", &args, "a.o", Outcome::Hit);
    check(&sb, "clang", &args, "a.o", Outcome::Hit);
    if which("g++").is_some() {
        // g++ compiles a .c file as C++: a different object.
        check(&sb, "g++", &args, "a.o", Outcome::Miss);
    }
}

/// Same compiler name, different binary: a `gcc` wrapper dir first on PATH.
#[test]
fn compiler_binary_behind_same_name_misses() {
    let Some(mut sb) = setup(&[("a.c", "int v(void) { return 42; }\n")]) else {
        return;
    };
    let args = ["-O2", "-c", "a.c", "-o", "a.o"];
    check(&sb, "gcc", &args, "a.o", Outcome::Miss);
    let bindir = sb.root.join("otherbin");
    std::fs::create_dir_all(&bindir).unwrap();
    std::os::unix::fs::symlink(which("clang").unwrap(), bindir.join("gcc")).unwrap();
    let path = format!(
        "{}:{}",
        bindir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    sb.set_env("PATH", &path);
    // `gcc` now resolves to clang: the object must be clang's.
    let bare = sb.bare_obj(bindir.join("gcc").to_str().unwrap(), &args, "a.o");
    let z = ["gcc", "-O2", "-c", "a.c", "-o", "a.o"];
    let step = sb.test().zcc(z).expect(Outcome::Miss);
    step.same_as("a.o", &bare).run();
}

fn include_path_env(var: &str) {
    let Some(mut sb) = setup(&[
        ("one/cfg.h", "#define CFG 1\n"),
        ("two/cfg.h", "#define CFG 2000\n"),
        ("a.c", "#include <cfg.h>\nint v(void) { return CFG; }\n"),
    ]) else {
        return;
    };
    let args = ["-c", "a.c", "-o", "a.o"];
    sb.set_env(var, sb.path("one"));
    let one = check(&sb, "gcc", &args, "a.o", Outcome::Miss);
    check(&sb, "gcc", &args, "a.o", Outcome::Hit);
    sb.set_env(var, sb.path("two"));
    let two = check(&sb, "gcc", &args, "a.o", Outcome::Miss);
    assert_ne!(one, two, "fixture: {var} must select the header");
}

#[test]
fn cpath_env_misses() {
    include_path_env("CPATH");
}

#[test]
fn c_include_path_env_misses() {
    include_path_env("C_INCLUDE_PATH");
}

#[test]
fn source_date_epoch_env_misses() {
    let Some(mut sb) = setup(&[("a.c", "int v(void) { return 3; }\n")]) else {
        return;
    };
    let args = ["-c", "a.c", "-o", "a.o"];
    sb.set_env("SOURCE_DATE_EPOCH", "1000000000");
    check(&sb, "gcc", &args, "a.o", Outcome::Miss);
    check(&sb, "gcc", &args, "a.o", Outcome::Hit);
    sb.set_env("SOURCE_DATE_EPOCH", "1700000000");
    check(&sb, "gcc", &args, "a.o", Outcome::Miss);
}

fn time_macro_not_cached(files: &[(&str, &str)], sde: Option<&str>) {
    let Some(mut sb) = setup(files) else { return };
    if let Some(v) = sde {
        sb.set_env("SOURCE_DATE_EPOCH", v);
    }
    let z = ["gcc", "-c", "a.c", "-o", "a.o"];
    for _ in 0..2 {
        // With SOURCE_DATE_EPOCH fixed the output is deterministic: compare it.
        let bare = sde.map(|_| sb.bare_obj("gcc", &z[1..], "a.o"));
        let s0 = sb.stats();
        sb.zcc_ok(&z);
        let s1 = sb.stats();
        let (c0, c1) = (s0.counters(), s1.counters());
        assert_eq!(c1.hits, c0.hits, "a time-macro source must never hit: {s1}");
        assert_eq!(
            c1.non_cacheable,
            c0.non_cacheable + 1,
            "non_cacheable: {s1}"
        );
        let r = |s: &Stats| s.nc_reason("time_macro");
        assert_eq!(r(&s1), r(&s0) + 1, "reason time_macro: {s1}");
        if let Some(b) = bare {
            assert_same(&sb.read("a.o"), &b, "time-macro object");
        }
        assert!(sb.exists("a.o"));
        sb.remove("a.o");
    }
}

#[test]
fn date_time_macros_are_not_cached() {
    for m in ["__DATE__", "__TIME__", "__TIMESTAMP__"] {
        let src = format!("const char *stamp = {m};\n");
        time_macro_not_cached(&[("a.c", &src)], None);
    }
}

#[test]
fn time_macro_with_source_date_epoch_matches_bare() {
    let src = "const char *d = __DATE__; const char *t = __TIME__;\n";
    time_macro_not_cached(&[("a.c", src)], Some("1000000000"));
    time_macro_not_cached(&[("a.c", src)], Some("1700000123"));
}

/// `__TIME__` used in an included header must not be served stale either.
#[test]
fn time_macro_in_header_never_hits() {
    let Some(sb) = setup(&[
        ("include/stamp.h", "static const char *stamp = __TIME__;\n"),
        (
            "a.c",
            "#include \"stamp.h\"\nconst char *get(void) { return stamp; }\n",
        ),
    ]) else {
        return;
    };
    let z = ["gcc", "-Iinclude", "-c", "a.c", "-o", "a.o"];
    sb.zcc_ok(&z);
    let c0 = sb.counters();
    sb.remove("a.o");
    sb.zcc_ok(&z);
    let c1 = sb.counters();
    assert_eq!(
        c1.hits,
        c0.hits,
        "header using __TIME__ was served from cache: {}",
        sb.stats()
    );
}

#[test]
fn header_shadowed_in_source_dir_misses() {
    let Some(sb) = setup(&[("include/foo.h", "#define FOO 1\n"), ("a.c", USES_FOO)]) else {
        return;
    };
    let one = check(&sb, "gcc", &ARGS, "a.o", Outcome::Miss);
    check(&sb, "gcc", &ARGS, "a.o", Outcome::Hit);
    // Quote includes search the including file's dir before -I dirs.
    sb.write("foo.h", "#define FOO 2222\n");
    let two = check(&sb, "gcc", &ARGS, "a.o", Outcome::Miss);
    assert_ne!(one, two, "fixture: shadowing header must change the object");
    check(&sb, "gcc", &ARGS, "a.o", Outcome::Hit);
}

#[test]
fn header_shadowed_in_source_subdir_misses() {
    let Some(sb) = setup(&[("include/foo.h", "#define FOO 1\n"), ("sub/a.c", USES_FOO)]) else {
        return;
    };
    let args = ["-Iinclude", "-c", "sub/a.c", "-o", "a.o"];
    check(&sb, "gcc", &args, "a.o", Outcome::Miss);
    check(&sb, "gcc", &args, "a.o", Outcome::Hit);
    sb.write("sub/foo.h", "#define FOO 31337\n");
    check(&sb, "gcc", &args, "a.o", Outcome::Miss);
}

#[test]
fn header_shadowed_by_earlier_include_dir_misses() {
    let src = "#include <foo.h>\nint v(void) { return FOO; }\n";
    let Some(sb) = setup(&[("late/foo.h", "#define FOO 1\n"), ("a.c", src)]) else {
        return;
    };
    std::fs::create_dir_all(sb.path("early")).unwrap();
    let args = ["-Iearly", "-Ilate", "-c", "a.c", "-o", "a.o"];
    check(&sb, "gcc", &args, "a.o", Outcome::Miss);
    check(&sb, "gcc", &args, "a.o", Outcome::Hit);
    sb.write("early/foo.h", "#define FOO 4444\n");
    check(&sb, "gcc", &args, "a.o", Outcome::Miss);
}

#[test]
fn header_shadowed_via_iquote_misses() {
    let Some(sb) = setup(&[("late/foo.h", "#define FOO 1\n"), ("sub/a.c", USES_FOO)]) else {
        return;
    };
    std::fs::create_dir_all(sb.path("q")).unwrap();
    let args = ["-iquote", "q", "-Ilate", "-c", "sub/a.c", "-o", "a.o"];
    check(&sb, "clang", &args, "a.o", Outcome::Miss);
    check(&sb, "clang", &args, "a.o", Outcome::Hit);
    sb.write("q/foo.h", "#define FOO 5555\n");
    check(&sb, "clang", &args, "a.o", Outcome::Miss);
}

/// A nested include resolved relative to its including header's dir.
#[test]
fn nested_header_shadowed_next_to_header_misses() {
    let Some(sb) = setup(&[
        ("include/foo.h", "#include \"inner.h\"\n"),
        ("deep/inner.h", "#define FOO 1\n"),
        ("a.c", USES_FOO),
    ]) else {
        return;
    };
    let args = ["-Iinclude", "-Ideep", "-c", "a.c", "-o", "a.o"];
    check(&sb, "gcc", &args, "a.o", Outcome::Miss);
    check(&sb, "gcc", &args, "a.o", Outcome::Hit);
    sb.write("include/inner.h", "#define FOO 6666\n");
    check(&sb, "gcc", &args, "a.o", Outcome::Miss);
}

#[test]
fn removed_header_falls_back_to_later_dir() {
    let src = "#include <foo.h>\nint v(void) { return FOO; }\n";
    let Some(sb) = setup(&[
        ("early/foo.h", "#define FOO 1\n"),
        ("late/foo.h", "#define FOO 2\n"),
        ("a.c", src),
    ]) else {
        return;
    };
    let args = ["-Iearly", "-Ilate", "-c", "a.c", "-o", "a.o"];
    check(&sb, "gcc", &args, "a.o", Outcome::Miss);
    std::fs::remove_file(sb.path("early/foo.h")).unwrap();
    check(&sb, "gcc", &args, "a.o", Outcome::Miss);
}

/// With -g the object embeds the cwd (DW_AT_comp_dir): the same relative
/// command in another dir must give that dir's object.
#[test]
fn debug_info_cwd_is_respected() {
    for cc in ["gcc", "clang"] {
        let Some(sb) = setup(&[
            ("d1/a.c", "int v(void) { return 1; }\n"),
            ("d2/a.c", "int v(void) { return 1; }\n"),
        ]) else {
            return;
        };
        let args = ["-g", "-O1", "-c", "a.c", "-o", "a.o"];
        let mut z = vec![cc];
        z.extend_from_slice(&args);
        for d in ["d1", "d2"] {
            let dir = sb.path(d);
            sb.test()
                .zcc(&z)
                .cwd(&dir)
                .success()
                .same_as_bare("a.o")
                .run();
            let got = std::fs::read(dir.join("a.o")).unwrap();
            let needle = dir.to_string_lossy().into_owned();
            assert!(
                got.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "fixture: {cc} -g object should embed its cwd"
            );
        }
    }
}
