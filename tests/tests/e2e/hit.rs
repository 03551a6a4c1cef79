//! Warm builds are hits and produce the same bytes as uncached builds:
//! objects, user depfiles, multi-file compiles, response files, masquerade.

use crate::harness::*;

const CPP_SRC: &str = "#include <vector>\n#include <string>\n\
    int n(){ std::vector<std::string> v{\"a\",\"b\"}; return (int)v.size(); }\n";

const HDR: &str = "#ifndef SHARED_H\n#define SHARED_H\n#define SCALE 3\nint helper(int);\n#endif\n";

fn write_three(sb: &Sandbox) {
    sb.write("inc/shared.h", HDR);
    sb.write(
        "a.c",
        "#include \"shared.h\"\nint a(int x) { return helper(x) * SCALE; }\n",
    );
    sb.write("b.c", "#include <shared.h>\n#include <string.h>\nint b(const char *s) { return (int)strlen(s) + SCALE; }\n");
    sb.write(
        "c.c",
        "#include <stdio.h>\nint main(void) { printf(\"hi\\n\"); return 0; }\n",
    );
}

/// Compiles a.c b.c c.c twice through zccache with `compiler`: first all
/// misses, then (outputs deleted) all hits; objects equal bare ones.
fn hits_for(compiler: &str) {
    if missing(&[compiler]) {
        return;
    }
    let sb = Sandbox::new();
    write_three(&sb);
    sb.start();
    for name in ["a", "b", "c"] {
        let (src, obj) = (format!("{name}.c"), format!("{name}.o"));
        let z = [compiler, "-O2", "-Iinc", "-c", &src, "-o", &obj];
        for outcome in [Outcome::Miss, Outcome::Hit] {
            sb.test().zcc(z).expect(outcome).same_as_bare(&obj).run();
        }
    }
    let st = sb.stats();
    assert_eq!(st.counters().hits, 3, "stats: {st}");
    assert!(st.entries >= 1, "entries after 3 misses: {st}");
    assert!(st.bytes > 0, "bytes after 3 misses: {st}");
}

#[test]
fn gcc_second_build_hits_and_matches_bare() {
    hits_for("gcc");
}

#[test]
fn clang_second_build_hits_and_matches_bare() {
    hits_for("clang");
}

#[test]
fn gxx_and_clangxx_cpp_hits() {
    for cxx in ["g++", "clang++"] {
        if missing(&[cxx]) {
            return;
        }
        let z = [cxx, "-std=c++17", "-O1", "-c", "v.cpp", "-o", "v.o"];
        Test::new()
            .file("v.cpp", CPP_SRC)
            .zcc(z)
            .expect(Outcome::Miss)
            .run()
            .then()
            .zcc(z)
            .expect(Outcome::Hit)
            .same_as_bare("v.o")
            .run();
    }
}

/// For one depfile flag set: bare, then miss, then hit; object and depfile
/// must equal the bare ones each time.
fn depfile_case(compiler: &str, flags: &[&str], obj: &str, dep: &str) {
    let sb = Sandbox::new();
    sb.write("inc/shared.h", HDR);
    sb.write("obj/.keep", "");
    sb.write(
        "a.c",
        "#include \"shared.h\"\n#include <stdlib.h>\nint a(int x) { return abs(x) * SCALE; }\n",
    );
    sb.start();
    let mut z = vec![compiler, "-Iinc", "-c", "a.c", "-o", obj];
    z.extend_from_slice(flags);
    for outcome in [Outcome::Miss, Outcome::Hit] {
        let step = sb.test().zcc(&z).expect(outcome);
        step.same_as_bare(obj).same_as_bare(dep).run();
    }
}

#[test]
fn depfile_md_mf() {
    for cc in ["gcc", "clang"] {
        if missing(&[cc]) {
            return;
        }
        depfile_case(cc, &["-MD", "-MF", "x.d"], "a.o", "x.d");
    }
}

#[test]
fn depfile_mmd_default_name() {
    for cc in ["gcc", "clang"] {
        if missing(&[cc]) {
            return;
        }
        depfile_case(cc, &["-MMD"], "obj/a.o", "obj/a.d");
    }
}

#[test]
fn depfile_custom_target_and_phony() {
    for cc in ["gcc", "clang"] {
        if missing(&[cc]) {
            return;
        }
        depfile_case(cc, &["-MD", "-MT", "custom", "-MP"], "a.o", "a.d");
        depfile_case(
            cc,
            &["-MMD", "-MQ", "$(weird) target", "-MF", "q.d"],
            "a.o",
            "q.d",
        );
    }
}

#[test]
fn depfile_cmake_style() {
    for cc in ["gcc", "clang"] {
        if missing(&[cc]) {
            return;
        }
        depfile_case(
            cc,
            &["-MD", "-MT", "obj/a.o", "-MF", "obj/a.o.d"],
            "obj/a.o",
            "obj/a.o.d",
        );
    }
}

/// The same source compiled to a different output name: the depfile must name
/// this build's target, whether or not the object is served from the cache.
#[test]
fn depfile_names_this_builds_target() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("inc/shared.h", HDR);
    sb.write(
        "a.c",
        "#include \"shared.h\"\nint a(int x) { return x * SCALE; }\n",
    );
    sb.start();
    let first = ["gcc", "-Iinc", "-MMD", "-c", "a.c", "-o", "one/a.o"];
    let second = ["gcc", "-Iinc", "-MMD", "-c", "a.c", "-o", "two/a.o"];
    sb.write("one/.keep", "");
    sb.write("two/.keep", "");
    sb.zcc_ok(&first);
    let step = sb.test().zcc(second).success();
    step.same_as_bare("two/a.o").same_as_bare("two/a.d").run();
}

#[test]
fn multi_file_compile_looks_up_each_source() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    write_three(&sb);
    sb.start();
    let args = ["-O2", "-Iinc", "-c", "a.c", "b.c"];
    let (o, bare) = sb.bare("gcc", &args, &["a.o", "b.o"]);
    assert_ok(&o, "bare multi-file");
    let mut z = vec!["gcc"];
    z.extend_from_slice(&args);

    let c0 = sb.counters();
    sb.zcc_ok(&z);
    let c1 = sb.counters();
    assert_eq!(
        (c1.hits - c0.hits, c1.misses - c0.misses),
        (0, 2),
        "first multi-file run"
    );
    assert_same(&sb.read("a.o"), &bare[0], "a.o (first)");
    assert_same(&sb.read("b.o"), &bare[1], "b.o (first)");

    // Edit b.c only: a.o must hit, b.o must miss and match a fresh bare build.
    sb.write(
        "b.c",
        "#include <shared.h>\nint b(const char *s) { return s[0] + SCALE + 1; }\n",
    );
    let (_, bare_b) = sb.bare("gcc", &args, &["a.o", "b.o"]);
    sb.zcc_ok(&z);
    let c2 = sb.counters();
    assert_eq!(
        (c2.hits - c1.hits, c2.misses - c1.misses),
        (1, 1),
        "after editing b.c: {}",
        sb.stats()
    );
    assert_same(&sb.read("a.o"), &bare[0], "a.o (hit)");
    assert_same(&sb.read("b.o"), &bare_b[1], "b.o (edited)");
}

#[test]
fn response_files_nested_hit() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    write_three(&sb);
    sb.write("inner.rsp", "-O2 -DEXTRA=5\n-Iinc\n");
    sb.write("outer.rsp", "-c a.c @inner.rsp\n-o \"a out.o\"\n");
    sb.start();
    let z = ["gcc", "@outer.rsp"];
    let step = |outcome| {
        sb.test()
            .zcc(z)
            .expect(outcome)
            .same_as_bare("a out.o")
            .run()
    };
    let bare = step(Outcome::Miss).bare_files.remove(0);
    step(Outcome::Hit);

    // Changing a flag inside the nested rsp changes the key.
    sb.write("inner.rsp", "-O0 -DEXTRA=5\n-Iinc\n");
    let bare0 = step(Outcome::Miss).bare_files.remove(0);
    assert_ne!(bare0, bare, "fixture: -O0 and -O2 objects should differ");
}

#[test]
fn masquerade_symlink_named_gcc() {
    if missing(&["gcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    write_three(&sb);
    let bindir = sb.root.join("bin");
    std::fs::create_dir_all(&bindir).unwrap();
    std::os::unix::fs::symlink(zccache_bin(), bindir.join("gcc")).unwrap();
    let path = format!(
        "{}:{}",
        bindir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let args = ["-O2", "-Iinc", "-c", "a.c", "-o", "a.o"];
    let bare = sb.bare_obj("gcc", &args, "a.o");
    sb.set_env("PATH", &path);
    sb.start();
    let masq = |sb: &Sandbox| {
        let c0 = sb.counters();
        let out = sb.run("gcc", &args);
        assert_ok(&out, "masquerading gcc");
        let c1 = sb.counters();
        assert_same(&sb.read("a.o"), &bare, "masquerade object");
        sb.remove("a.o");
        (c1.hits - c0.hits, c1.misses - c0.misses)
    };
    assert_eq!(
        masq(&sb),
        (0, 1),
        "first masquerade compile should be a miss"
    );
    assert_eq!(
        masq(&sb),
        (1, 0),
        "second masquerade compile should be a hit"
    );
}
