//! CMake (Ninja and Makefiles) and Meson builds of a multi-target project
//! (static lib, shared lib, executable; C and C++; a precompiled header)
//! through zccache: warm rebuilds are all hits and byte-identical to builds
//! without zccache, a header edit rebuilds exactly its dependents, the
//! depfiles leave no work behind, and the CMake module's modes behave. The
//! module also caches ASM compiles and static-library rules.

use crate::harness::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The fixture project, copied into the sandbox.
fn project(sb: &Sandbox) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/multi");
    let to = sb.path("multi");
    copy_tree(&from, &to);
    to
}

/// The outputs compared with a build without zccache.
const OUTPUTS: &[&str] = &["app", "libshapes.so", "libutil.a"];

fn read_outputs(build: &Path) -> Vec<Vec<u8>> {
    OUTPUTS
        .iter()
        .map(|o| std::fs::read(build.join(o)).unwrap_or_else(|e| panic!("{o}: {e}")))
        .collect()
}

fn ok(out: Output, what: &str) -> Output {
    assert_ok(&out, what);
    out
}

fn cmake_configure(
    sb: &Sandbox,
    src: &Path,
    build: &Path,
    generator: &str,
    extra: &[&str],
) -> Output {
    let mut args = vec![
        "-G".to_string(),
        generator.to_string(),
        "-S".to_string(),
        src.to_string_lossy().into_owned(),
        "-B".to_string(),
        build.to_string_lossy().into_owned(),
        "-DMULTI_PCH=ON".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    sb.run("cmake", &args)
}

fn build(sb: &Sandbox, tool: &str, build: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&str> = vec!["-C", build.to_str().unwrap()];
    args.extend_from_slice(extra);
    ok(sb.run(tool, &args), tool)
}

fn module_path(sb: &Sandbox) -> String {
    let out = ok(sb.zcc(&["cmake-module"]), "zccache cmake-module");
    let path = text(&out.stdout).trim().to_string();
    assert!(Path::new(&path).is_file(), "module at {path}");
    path
}

/// Bare build, then cold and warm (after clean) builds through zccache in
/// the same build dir; returns the build dir.
fn cmake_round_trip(generator: &str, tool: &str) -> (Sandbox, PathBuf, PathBuf) {
    let sb = Sandbox::new();
    let src = project(&sb);
    let b = sb.path("build");
    ok(
        cmake_configure(&sb, &src, &b, generator, &[]),
        "cmake (bare)",
    );
    build(&sb, tool, &b, &[]);
    let bare = read_outputs(&b);
    std::fs::remove_dir_all(&b).unwrap();
    let module = format!("-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES={}", module_path(&sb));
    let conf = ok(
        cmake_configure(&sb, &src, &b, generator, &[&module]),
        "cmake",
    );
    assert!(
        text(&conf.stdout).contains("zccache: using"),
        "{}",
        text(&conf.stdout)
    );
    sb.start();
    build(&sb, tool, &b, &[]);
    let cold = sb.counters();
    assert!(cold.misses >= 7, "cold build: {:?}", cold);
    build(&sb, tool, &b, &["clean"]);
    build(&sb, tool, &b, &[]);
    let warm = sb.counters();
    assert_eq!(
        warm.misses,
        cold.misses,
        "warm build missed: {}",
        sb.stats()
    );
    // 5 compiles (one PCH), 2 links (libshapes.so, app), and libutil.a's
    // `ar qc` + `ranlib` through the module's wrapped archive rules.
    assert_eq!(warm.hits - cold.hits, 9, "warm hits: {}", sb.stats());
    let cached = read_outputs(&b);
    for (i, o) in OUTPUTS.iter().enumerate() {
        assert_same(&cached[i], &bare[i], o);
    }
    (sb, src, b)
}

#[test]
fn cmake_ninja_warm_build_hits_and_header_edit_rebuilds_dependents() {
    if missing(&["cmake", "ninja", "gcc", "g++"]) {
        return;
    }
    let (sb, src, b) = cmake_round_trip("Ninja", "ninja");
    let noop = build(&sb, "ninja", &b, &["-n"]);
    assert!(
        text(&noop.stdout).contains("no work to do"),
        "{}",
        text(&noop.stdout)
    );
    // shapes.hpp is included by shapes.cpp and main.cpp only.
    let h = src.join("include/shapes.hpp");
    let mut t = std::fs::read_to_string(&h).unwrap();
    t.push_str("int shape_perimeter(int w, int h);\n");
    std::fs::write(&h, t).unwrap();
    let out = build(&sb, "ninja", &b, &[]);
    let log = text(&out.stdout);
    let built: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Building"))
        .filter_map(|l| l.rsplit(' ').next())
        .collect();
    let mut names: Vec<&str> = built
        .iter()
        .map(|p| p.rsplit('/').next().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["main.cpp.o", "shapes.cpp.o"], "{log}");
    // Editing the PCH header misses the PCH and its consumer.
    let before = sb.counters();
    std::fs::write(
        src.join("include/pch.hpp"),
        "#pragma once\n#include <string>\n#define PCH_VALUE 4\n",
    )
    .unwrap();
    build(&sb, "ninja", &b, &[]);
    let after = sb.counters();
    assert!(after.misses - before.misses >= 2, "{}", sb.stats());
    let run = sb.run(&b.join("app").to_string_lossy(), &[] as &[&str]);
    assert_eq!(text(&run.stdout), "13 4\n", "the new PCH value is used");
    let noop = build(&sb, "ninja", &b, &["-n"]);
    assert!(text(&noop.stdout).contains("no work to do"));
}

#[test]
fn cmake_makefiles_warm_build_hits() {
    if missing(&["cmake", "make", "gcc", "g++"]) {
        return;
    }
    cmake_round_trip("Unix Makefiles", "make");
}

/// Configure with the module copied alone (no hint file) and a PATH
/// without zccache.
fn configure_without_zccache(sb: &Sandbox, mode: &str, extra: &[&str]) -> Output {
    let src = project(sb);
    let module = sb.write(
        "mod/ZCCache.cmake",
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../cmake/ZCCache.cmake"))
            .unwrap(),
    );
    let mut args = vec![
        format!("-DZCCACHE_MODULE={}", module.display()),
        format!("-DZCCACHE_MODE={mode}"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let b = sb.path(&format!("build-{mode}"));
    let mut cmd = sb.command("cmake");
    cmd.env("PATH", "/usr/bin:/bin")
        .args(["-G", "Ninja", "-S"])
        .arg(&src)
        .arg("-B")
        .arg(&b)
        .args(&args);
    run_cmd(&mut cmd, None)
}

#[test]
fn cmake_module_modes_and_user_launchers() {
    if missing(&["cmake", "ninja", "gcc", "g++"]) {
        return;
    }
    let sb = Sandbox::new();
    let auto = configure_without_zccache(&sb, "AUTO", &[]);
    assert_ok(&auto, "AUTO without zccache");
    assert!(
        text(&auto.stdout).contains("zccache: not found"),
        "{}",
        text(&auto.stdout)
    );
    let on = configure_without_zccache(&sb, "ON", &[]);
    assert!(!on.status.success(), "ON without zccache must fail");
    assert!(
        text(&on.stderr).contains("ZCCACHE_MODE is ON"),
        "{}",
        text(&on.stderr)
    );
    // A user-set launcher is kept.
    let src = sb.path("multi");
    let b = sb.path("build-user");
    let module = format!("-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES={}", module_path(&sb));
    let out = ok(
        cmake_configure(
            &sb,
            &src,
            &b,
            "Ninja",
            &[&module, "-DCMAKE_C_COMPILER_LAUNCHER=/usr/bin/env"],
        ),
        "cmake with a user launcher",
    );
    assert!(
        text(&out.stdout).contains("CMAKE_C_COMPILER_LAUNCHER is already set to '/usr/bin/env'"),
        "{}",
        text(&out.stdout)
    );
    let rules = std::fs::read_to_string(b.join("build.ninja")).unwrap()
        + &std::fs::read_to_string(b.join("CMakeFiles/rules.ninja")).unwrap_or_default();
    assert!(
        rules.contains("/usr/bin/env /usr/bin/cc"),
        "user C launcher kept"
    );
    assert!(
        rules.contains(&format!("{} /usr/bin/c++", zccache_bin().display())),
        "zccache for C++"
    );
}

/// Visual Studio and Xcode ignore launchers: the module warns and sets
/// none. Those generators do not exist on Linux, so the module runs in
/// script mode with `CMAKE_GENERATOR` set, as it would see it.
#[test]
fn cmake_module_warns_for_generators_without_launchers() {
    if missing(&["cmake"]) {
        return;
    }
    let sb = Sandbox::new();
    let probe = sb.write(
        "probe.cmake",
        format!(
            "include(\"{}\")\nmessage(STATUS \"launcher=[${{CMAKE_C_COMPILER_LAUNCHER}}]\")\n",
            module_path(&sb)
        ),
    );
    for generator in ["Xcode", "Visual Studio 17 2022", "Ninja"] {
        let out = sb.run(
            "cmake",
            &[
                format!("-DCMAKE_GENERATOR={generator}"),
                format!("-DZCCACHE_PROGRAM={}", zccache_bin().display()),
                "-P".to_string(),
                probe.to_string_lossy().into_owned(),
            ],
        );
        assert_ok(&out, "cmake -P");
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        let warned = stderr.contains(&format!(
            "the {generator} generator ignores compiler launchers"
        ));
        let set = stdout.contains(&format!("launcher=[{}]", zccache_bin().display()));
        if generator == "Ninja" {
            assert!(!warned && set, "{generator}: {stdout}{stderr}");
        } else {
            assert!(
                warned && stdout.contains("launcher=[]"),
                "{generator}: {stdout}{stderr}"
            );
        }
    }
}

/// A project whose static library has a preprocessed assembly file, in a
/// subproject that enables ASM itself (as zstd does), plus a user
/// `CMAKE_PROJECT_INCLUDE` that must still run.
fn asm_project(sb: &Sandbox) -> PathBuf {
    sb.write(
        "asm/CMakeLists.txt",
        "cmake_minimum_required(VERSION 3.16)\nproject(top C)\nadd_subdirectory(lib)\n",
    );
    sb.write(
        "asm/lib/CMakeLists.txt",
        "project(sub C ASM)\nadd_library(fast STATIC f.S g.c)\n",
    );
    sb.write(
        "asm/lib/f.S",
        "#define RET ret\n.text\n.globl zc_f\nzc_f:\n  RET\n",
    );
    sb.write("asm/lib/g.c", "int zc_g(void) { return 7; }\n");
    sb.write(
        "user.cmake",
        "message(STATUS \"user project include ran\")\n",
    );
    sb.path("asm")
}

#[test]
fn cmake_asm_and_archive_rules_are_cached_through_the_module() {
    if missing(&["cmake", "ninja", "gcc", "ar", "ranlib"]) {
        return;
    }
    let sb = Sandbox::new();
    let src = asm_project(&sb);
    let (b, lib) = (sb.path("b"), "lib/libfast.a");
    ok(cmake_configure(&sb, &src, &b, "Ninja", &[]), "cmake (bare)");
    build(&sb, "ninja", &b, &[]);
    let bare = std::fs::read(b.join(lib)).unwrap();
    std::fs::remove_dir_all(&b).unwrap();
    let module = format!("-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES={}", module_path(&sb));
    let user = format!(
        "-DCMAKE_PROJECT_INCLUDE={}",
        sb.path("user.cmake").display()
    );
    let conf = ok(
        cmake_configure(&sb, &src, &b, "Ninja", &[&module, &user]),
        "cmake",
    );
    assert!(
        text(&conf.stdout).contains("user project include ran"),
        "the user's CMAKE_PROJECT_INCLUDE is chained: {}",
        text(&conf.stdout)
    );
    sb.start();
    build(&sb, "ninja", &b, &[]);
    let cold = sb.counters();
    // f.S, g.c, `ar qc`, `ranlib`.
    assert_eq!((cold.hits, cold.misses), (0, 4), "cold: {}", sb.stats());
    build(&sb, "ninja", &b, &["clean"]);
    build(&sb, "ninja", &b, &[]);
    let warm = sb.counters();
    assert_eq!((warm.hits, warm.misses), (4, 4), "warm: {}", sb.stats());
    assert_same(&std::fs::read(b.join(lib)).unwrap(), &bare, lib);
    let noop = build(&sb, "ninja", &b, &["-n"]);
    assert!(text(&noop.stdout).contains("no work to do"));
    // Editing the assembly source misses it and both archive steps.
    sb.write(
        "asm/lib/f.S",
        "#define RET nop; ret\n.text\n.globl zc_f\nzc_f:\n  RET\n",
    );
    build(&sb, "ninja", &b, &[]);
    assert_eq!(sb.counters().misses, 7, "f.S, ar, ranlib: {}", sb.stats());
}

#[test]
fn meson_native_file_configures_and_warm_build_hits() {
    if missing(&["meson", "ninja", "gcc", "g++"]) {
        return;
    }
    let mut sb = Sandbox::new();
    let xdg = sb.root.join("xdg");
    sb.set_env("XDG_DATA_HOME", &xdg);
    let src = project(&sb);
    let b = sb.path("build");
    let src_s = src.to_string_lossy().into_owned();
    let b_s = b.to_string_lossy().into_owned();
    ok(
        sb.run("meson", &["setup", &b_s, &src_s]),
        "meson setup (bare)",
    );
    build(&sb, "ninja", &b, &[]);
    let bare = read_outputs(&b);
    std::fs::remove_dir_all(&b).unwrap();
    let installed = ok(
        sb.zcc(&["meson", "native-file", "--install"]),
        "native-file --install",
    );
    assert_eq!(
        text(&installed.stdout).trim(),
        xdg.join("meson/native/zccache").to_string_lossy()
    );
    sb.start();
    let setup = ok(
        sb.run(
            "meson",
            &["setup", "--native-file", "zccache", &b_s, &src_s],
        ),
        "meson setup",
    );
    assert!(
        text(&setup.stdout).contains("zccache"),
        "{}",
        text(&setup.stdout)
    );
    build(&sb, "ninja", &b, &[]);
    let cold = sb.counters();
    build(&sb, "ninja", &b, &["clean"]);
    build(&sb, "ninja", &b, &[]);
    let warm = sb.counters();
    assert_eq!(
        warm.misses,
        cold.misses,
        "warm build missed: {}",
        sb.stats()
    );
    // 4 compiles, 1 archive (libutil.a) and 2 links (libshapes.so, app).
    assert_eq!(warm.hits - cold.hits, 7, "{}", sb.stats());
    let noop = build(&sb, "ninja", &b, &["-n"]);
    assert!(text(&noop.stdout).contains("no work to do"));
    let cached = read_outputs(&b);
    for (i, o) in OUTPUTS.iter().enumerate() {
        assert_same(&cached[i], &bare[i], o);
    }
}
