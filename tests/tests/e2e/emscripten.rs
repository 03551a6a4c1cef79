//! Emscripten with real emcc: outer mode (`zccache emcc`), inner mode
//! (`EM_COMPILER_WRAPPER`), the emsdk hook, invalidation by `-s` settings,
//! `EMCC_CFLAGS`, headers and the config file, and failure paths.

use crate::harness::*;

const FILES: [(&str, &str); 3] = [
    (
        "a.c",
        "#include \"util.h\"\nint a(int x) { return twice(x) + K; }\n",
    ),
    (
        "b.c",
        "#include \"util.h\"\nint b(int x) { return twice(x) * K; }\n",
    ),
    ("c.c", "int c(int x) { return x - 1; }\n"),
];

fn project(sb: &Sandbox) {
    sb.write(
        "inc/util.h",
        "#define K 3\nstatic inline int twice(int x) { return 2 * x; }\n",
    );
    for (name, body) in FILES {
        sb.write(name, body);
    }
}

fn obj(name: &str) -> String {
    name.replace(".c", ".o")
}

/// Bare emcc objects of the project, by file.
fn bare_objects(sb: &Sandbox, extra: &[&str]) -> Vec<Vec<u8>> {
    FILES
        .iter()
        .map(|(name, _)| {
            let o = obj(name);
            let mut args = vec!["-O2", "-Iinc", "-c", *name, "-o", o.as_str()];
            args.extend_from_slice(extra);
            sb.bare_obj("emcc", &args, &o)
        })
        .collect()
}

fn build(sb: &Sandbox, launcher: &[&str], extra: &[&str]) -> Vec<Vec<u8>> {
    FILES
        .iter()
        .map(|(name, _)| {
            let o = obj(name);
            let mut args: Vec<&str> = launcher.to_vec();
            args.extend_from_slice(&["-O2", "-Iinc", "-c", name, "-o", &o]);
            args.extend_from_slice(extra);
            let out = sb.zcc(&args);
            assert_ok(&out, &format!("zccache {args:?}"));
            let bytes = sb.read(&o);
            sb.remove(&o);
            bytes
        })
        .collect()
}

#[test]
fn outer_mode_warm_rebuild_is_all_hits_and_byte_identical() {
    if missing(&["emcc"]) {
        return;
    }
    let sb = Sandbox::new();
    project(&sb);
    let bare = bare_objects(&sb, &[]);
    let cold = build(&sb, &["emcc"], &[]);
    let before = sb.counters();
    let warm = build(&sb, &["emcc"], &[]);
    let after = sb.counters();
    assert_eq!(after.hits - before.hits, 3, "warm rebuild must be all hits");
    for (i, (c, w)) in cold.iter().zip(&warm).enumerate() {
        assert_same(c, &bare[i], "cold object vs bare emcc");
        assert_same(w, &bare[i], "warm object vs bare emcc");
    }
}

#[test]
fn outer_mode_misses_on_settings_cflags_env_header_and_config() {
    if missing(&["emcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    project(&sb);
    let config = std::fs::read_to_string("/usr/share/emscripten/.emscripten").ok();
    build(&sb, &["emcc"], &[]);
    // `n` of the three sources must miss, the others hit.
    let misses = |sb: &Sandbox, extra: &[&str], n: u64, what: &str| {
        let before = sb.counters();
        let got = build(sb, &["emcc"], extra);
        let after = sb.counters();
        assert_eq!(after.misses - before.misses, n, "{what} must miss");
        assert_eq!(after.hits - before.hits, 3 - n, "{what}: the rest hit");
        got
    };
    misses(&sb, &["-sSTRICT=1"], 3, "a changed -s setting");
    sb.set_env("EMCC_CFLAGS", "-DEXTRA=1");
    misses(&sb, &[], 3, "EMCC_CFLAGS");
    sb.env.remove("EMCC_CFLAGS");
    sb.write(
        "inc/util.h",
        "#define K 4\nstatic inline int twice(int x) { return 2 * x; }\n",
    );
    let got = misses(&sb, &[], 2, "a header edit (c.c does not include it)");
    let bare = bare_objects(&sb, &[]);
    assert_same(&got[0], &bare[0], "object after the header edit");
    if let Some(cfg) = config {
        let copy = sb.root.join("emscripten.cfg");
        std::fs::write(&copy, format!("{cfg}\n# edited\n")).unwrap();
        sb.set_env("EM_CONFIG", &copy);
        misses(&sb, &[], 3, "another config file");
    }
}

#[test]
fn inner_mode_warm_rebuild_is_all_hits() {
    if missing(&["emcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    project(&sb);
    let bare = bare_objects(&sb, &[]);
    sb.set_env("EM_COMPILER_WRAPPER", zccache_bin());
    let run = |sb: &Sandbox| -> Vec<Vec<u8>> {
        FILES
            .iter()
            .map(|(name, _)| {
                let o = obj(name);
                let out = sb.run("emcc", &["-O2", "-Iinc", "-c", name, "-o", &o]);
                assert_ok(&out, "emcc through EM_COMPILER_WRAPPER");
                let b = sb.read(&o);
                sb.remove(&o);
                b
            })
            .collect()
    };
    run(&sb);
    let before = sb.counters();
    let warm = run(&sb);
    assert_eq!(
        sb.counters().hits - before.hits,
        3,
        "inner-mode warm rebuild must be all hits"
    );
    for (w, b) in warm.iter().zip(&bare) {
        assert_same(w, b, "inner-mode object vs bare");
    }
}

#[test]
fn emsdk_hook_activates_and_deactivates_outer_mode() {
    if missing(&["emcc", "bash"]) {
        return;
    }
    let sb = Sandbox::new();
    project(&sb);
    let z = zccache_bin().display().to_string();
    let script = format!(
        "set -e\neval \"$('{z}' emsdk activate)\"\ntest \"$(command -v emcc)\" = \"$ZCCACHE_CACHE_DIR/emsdk-bin/emcc\"\n\
         emcc -O2 -Iinc -c c.c -o c.o\nrm c.o\nemcc -O2 -Iinc -c c.c -o c.o\n\
         eval \"$('{z}' emsdk deactivate)\"\ntest \"$(command -v emcc)\" != \"$ZCCACHE_CACHE_DIR/emsdk-bin/emcc\"\n"
    );
    let out = sb.run("bash", &["-c", &script]);
    assert_ok(&out, "activate / compile twice / deactivate");
    let st = sb.counters();
    assert_eq!(
        (st.misses, st.hits),
        (1, 1),
        "the second emcc through the hook must hit"
    );
}

#[test]
fn unreadable_config_runs_emcc_unchanged() {
    if missing(&["emcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    project(&sb);
    sb.set_env("EM_CONFIG", sb.root.join("no-such-config"));
    let (bare, _) = sb.bare("emcc", &["-O2", "-c", "c.c", "-o", "c.o"], &[]);
    let _ = std::fs::remove_file(sb.path("c.o"));
    let out = sb.zcc(&["emcc", "-O2", "-c", "c.c", "-o", "c.o"]);
    assert_eq!(out.status.code(), bare.status.code(), "exit code");
    assert_eq!(
        out.status.success(),
        sb.exists("c.o"),
        "output exists exactly when emcc succeeded"
    );
    let missing_tool = sb.zcc(&["no-such-emcc", "-c", "c.c"]);
    assert_eq!(missing_tool.status.code(), Some(127));
    assert!(
        text(&missing_tool.stderr).contains("cannot find compiler"),
        "{}",
        text(&missing_tool.stderr)
    );
}

#[test]
fn outer_mode_link_restores_js_and_wasm_that_run_under_node() {
    if missing(&["emcc", "node"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("main.c", "#include <stdio.h>\nint twice(int);\nint main(void) { printf(\"answer %d\\n\", twice(21)); return 0; }\n");
    sb.write("lib.c", "int twice(int x) { return 2 * x; }\n");
    for f in ["main", "lib"] {
        let out = sb.zcc(&[
            "emcc",
            "-O1",
            "-c",
            &format!("{f}.c"),
            "-o",
            &format!("{f}.o"),
        ]);
        assert_ok(&out, "emcc -c");
    }
    let link = ["emcc", "-O1", "main.o", "lib.o", "-o", "app.js"];
    let (bare, files) = sb.bare("emcc", &link[1..], &["app.js", "app.wasm"]);
    assert_ok(&bare, "bare emcc link");
    let first = sb.zcc(&link);
    assert_ok(&first, "first link");
    // Emscripten 3.1.6's loader predates node's global fetch (node >= 18),
    // which it mistakes for a browser: turn fetch off so it reads app.wasm
    // from disk, as it does on older nodes.
    let run = |what: &str| {
        let out = sb.run("node", &["--no-experimental-fetch", "app.js"]);
        assert_ok(&out, what);
        text(&out.stdout)
    };
    assert_eq!(run("node after the first link"), "answer 42\n");
    sb.remove("app.js");
    sb.remove("app.wasm");
    let before = sb.stats();
    let second = sb.zcc(&link);
    assert_ok(&second, "second link");
    let after = sb.stats();
    assert_eq!(
        after.link_hits - before.link_hits,
        1,
        "the second link must hit: {after}"
    );
    assert_same(&sb.read("app.js"), &files[0], "restored app.js vs bare");
    assert_same(&sb.read("app.wasm"), &files[1], "restored app.wasm vs bare");
    assert_eq!(run("node after the cached link"), "answer 42\n");
    let changed = sb.zcc(&[
        "emcc",
        "-O1",
        "-sINITIAL_MEMORY=33554432",
        "main.o",
        "lib.o",
        "-o",
        "app.js",
    ]);
    assert_ok(&changed, "link with another -s setting");
    let last = sb.stats();
    assert_eq!(
        last.link_hits, after.link_hits,
        "a changed -s setting must miss: {last}"
    );
}

/// `proj/`: a CMake project with a static library (`util`) and an app
/// linking it that prints 8.
fn write_cmake_project(sb: &Sandbox) {
    sb.write(
        "proj/CMakeLists.txt",
        "cmake_minimum_required(VERSION 3.16)\nproject(emc C)\nadd_library(util STATIC util.c)\nadd_executable(app main.c)\ntarget_link_libraries(app util)\n",
    );
    sb.write("proj/util.c", "int twice(int x) { return 2 * x; }\n");
    sb.write("proj/main.c", "#include <stdio.h>\nint twice(int);\nint main(void) { printf(\"%d\\n\", twice(4)); return 0; }\n");
}

#[test]
fn emcmake_cmake_and_ninja_through_the_hook_rebuild_from_cache() {
    if missing(&["emcc", "emcmake", "cmake", "ninja", "node", "bash"]) {
        return;
    }
    let sb = Sandbox::new();
    write_cmake_project(&sb);
    let z = zccache_bin().display().to_string();
    let script = format!(
        "set -e\neval \"$('{z}' emsdk activate)\"\nemcmake cmake -S proj -B build -G Ninja >/dev/null\n\
         ninja -C build >/dev/null\nninja -C build clean >/dev/null\nninja -C build >/dev/null\n\
         node --no-experimental-fetch build/app.js\nninja -C build -n\n"
    );
    let out = sb.run("bash", &["-c", &script]);
    assert_ok(&out, "emcmake cmake + ninja, clean, ninja");
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("8\n"), "app output: {stdout}");
    assert!(
        stdout.contains("no work to do"),
        "depfiles must leave nothing to do: {stdout}"
    );
    let st = sb.stats();
    assert_eq!(
        st.cache_hits, 3,
        "warm rebuild: 2 compiles and 1 link from cache: {st}"
    );
    assert_eq!(st.link_hits, 1, "{st}");
}

#[test]
fn emar_and_emranlib_hit_equal_bare_and_miss_on_a_changed_object() {
    if missing(&["emcc", "emar", "emranlib"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("a.c", "int a(void) { return 1; }\n");
    sb.write("b.c", "int b(void) { return 2; }\n");
    for src in ["a.c", "b.c"] {
        let obj = src.replace(".c", ".o");
        assert_ok(&sb.run("emcc", &["-O2", "-c", src, "-o", &obj]), "emcc -c");
    }
    let archive = |sb: &Sandbox, via_zccache: bool| -> Vec<u8> {
        sb.remove("lib.a");
        for args in [
            &["emar", "qc", "lib.a", "a.o", "b.o"][..],
            &["emranlib", "lib.a"][..],
        ] {
            let out = if via_zccache {
                sb.zcc(args)
            } else {
                sb.run(args[0], &args[1..])
            };
            assert_ok(&out, &format!("{args:?}"));
        }
        sb.read("lib.a")
    };
    let bare = archive(&sb, false);
    assert_same(&archive(&sb, true), &bare, "lib.a (cold)");
    let before = sb.stats();
    assert_same(&archive(&sb, true), &bare, "lib.a (warm)");
    let after = sb.stats();
    assert_eq!(
        after.link_hits - before.link_hits,
        2,
        "emar and emranlib hit: {after}"
    );

    sb.write("b.c", "int b(void) { return 3; }\n");
    assert_ok(
        &sb.run("emcc", &["-O2", "-c", "b.c", "-o", "b.o"]),
        "emcc -c",
    );
    let bare = archive(&sb, false);
    let before = sb.stats();
    assert_same(&archive(&sb, true), &bare, "lib.a after b.o changed");
    assert_eq!(
        sb.stats().link_hits,
        before.link_hits,
        "a changed object must miss"
    );
}

#[test]
fn emcmake_cmake_with_the_module_restores_static_libraries_too() {
    if missing(&["emcc", "emcmake", "cmake", "ninja", "node", "bash"]) {
        return;
    }
    let sb = Sandbox::new();
    write_cmake_project(&sb);
    let z = zccache_bin().display().to_string();
    let script = format!(
        "set -e\neval \"$('{z}' emsdk activate)\"\n\
         emcmake cmake -S proj -B build -G Ninja -DCMAKE_PROJECT_TOP_LEVEL_INCLUDES=\"$('{z}' cmake-module)\" >/dev/null\n\
         ninja -C build >/dev/null\ncp build/libutil.a cold.a\nninja -C build clean >/dev/null\nninja -C build >/dev/null\n\
         node --no-experimental-fetch build/app.js\ncmp build/libutil.a cold.a\n"
    );
    let out = sb.run("bash", &["-c", &script]);
    assert_ok(&out, "emcmake cmake (module) + ninja, clean, ninja");
    assert!(
        text(&out.stdout).starts_with("8\n"),
        "app output: {}",
        text(&out.stdout)
    );
    let st = sb.stats();
    assert_eq!(
        (st.cache_hits, st.link_hits),
        (5, 3),
        "warm rebuild: 2 compiles, emar, emranlib and the link from cache: {st}"
    );
}
