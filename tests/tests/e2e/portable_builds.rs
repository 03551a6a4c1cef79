//! Base dirs on whole projects: two checkouts of real zlib-ng (its own
//! CMakeLists.txt, out-of-source build dirs inside each checkout) and of
//! the Meson fixture, at `<sandbox>/ci/a` and `<sandbox>/ci/b`, one cache,
//! `ZCCACHE_BASE_DIR=<sandbox>/ci`. Release: the second checkout runs no
//! compile and every object equals bare gcc's there. Debug without a
//! prefix map: every object served in b equals what zccache makes there
//! with an empty cache. Debug with `-ffile-prefix-map=<checkout>=.`: no
//! compile in b, and the same equality. Meson (release build type): no
//! compile in b, `ninja -n` has nothing to do, and ninja's recorded deps name b's files only.

use crate::harness::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The sandbox (base dir set, daemon started) and the two zlib-ng
/// checkouts, or `None` after a skip note.
fn zlib_ng_checkouts() -> Option<(Sandbox, [PathBuf; 2])> {
    if missing(&["cmake", "ninja", "gcc"]) {
        return None;
    }
    let tree = third_party("zlib-ng")?;
    let mut sb = Sandbox::new();
    sb.set_env("ZCCACHE_BASE_DIR", sb.root.join("ci"));
    let dirs = ["a", "b"].map(|c| sb.root.join("ci").join(c).join("zlib-ng"));
    for d in &dirs {
        copy_tree(&tree, d);
    }
    sb.start();
    Some((sb, dirs))
}

/// `cmake -G Ninja` of checkout `src` into `src/build`, static zlib-ng as
/// in the benchmark, through the zccache launcher when `cached`.
fn configure(sb: &Sandbox, src: &Path, build_type: &str, cflags: &str, cached: bool) {
    let build = src.join("build");
    let _ = std::fs::remove_dir_all(&build);
    let mut args = vec![
        "-G".to_string(),
        "Ninja".into(),
        format!("-S{}", src.display()),
        format!("-B{}", build.display()),
        format!("-DCMAKE_BUILD_TYPE={build_type}"),
        format!("-DCMAKE_C_FLAGS={cflags}"),
        "-DBUILD_TESTING=OFF".into(),
        "-DZLIB_COMPAT=ON".into(),
        "-DBUILD_SHARED_LIBS=OFF".into(),
    ];
    if cached {
        args.push(format!(
            "-DCMAKE_C_COMPILER_LAUNCHER={}",
            zccache_bin().display()
        ));
    }
    assert_ok(&sb.run("cmake", &args), "cmake configure");
}

/// `ninja` in `src/build` with the cache of `cache`; returns the compile
/// hits and misses it counted.
fn ninja(cache: &Sandbox, src: &Path) -> (u64, u64) {
    let before = cache.counters();
    let out = cache.run("ninja", &["-C", src.join("build").to_str().unwrap()]);
    assert_ok(&out, "ninja");
    cache.counters().hit_miss_since(before)
}

/// Every `*.o` under `dir`: path relative to it → bytes.
fn objects(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    for e in walk(dir) {
        if e.extension().is_some_and(|x| x == "o") {
            let rel = e.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            all.insert(rel, std::fs::read(&e).unwrap());
        }
    }
    assert!(!all.is_empty(), "no objects under {}", dir.display());
    all
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn assert_objects_equal(got: &BTreeMap<String, Vec<u8>>, want: &BTreeMap<String, Vec<u8>>) {
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(got), names(want), "other objects were built");
    for (name, bytes) in want {
        assert_same(&got[name], bytes, name);
    }
}

/// The objects zccache makes in `src` with an empty cache of its own.
fn fresh_objects(sb: &Sandbox, src: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut empty = Sandbox::new();
    empty.env = sb.env.clone();
    empty.start();
    let out = empty.run(
        "ninja",
        &["-C", src.join("build").to_str().unwrap(), "-t", "clean"],
    );
    assert_ok(&out, "ninja -t clean");
    let (hits, _) = ninja(&empty, src);
    assert_eq!(hits, 0, "an empty cache has nothing to serve");
    objects(&src.join("build"))
}

#[test]
fn zlib_ng_release_second_checkout_compiles_nothing() {
    let Some((sb, [a, b])) = zlib_ng_checkouts() else {
        return;
    };
    configure(&sb, &b, "Release", "", false);
    assert_ok(
        &sb.run("ninja", &["-C", b.join("build").to_str().unwrap()]),
        "bare ninja",
    );
    let bare = objects(&b.join("build"));
    configure(&sb, &a, "Release", "", true);
    let (_, a_misses) = ninja(&sb, &a);
    assert_eq!(a_misses as usize, bare.len(), "a compiles every object");
    configure(&sb, &b, "Release", "", true);
    assert_eq!(ninja(&sb, &b), (bare.len() as u64, 0), "b: {}", sb.stats());
    assert_objects_equal(&objects(&b.join("build")), &bare);
}

#[test]
fn zlib_ng_debug_without_a_prefix_map_serves_only_this_checkouts_objects() {
    let Some((sb, [a, b])) = zlib_ng_checkouts() else {
        return;
    };
    configure(&sb, &a, "Debug", "", true);
    ninja(&sb, &a);
    configure(&sb, &b, "Debug", "", true);
    let (hits, _) = ninja(&sb, &b);
    assert_eq!(hits, 0, "-g objects embed the cwd: {}", sb.stats());
    let served = objects(&b.join("build"));
    assert_objects_equal(&served, &fresh_objects(&sb, &b));
}

#[test]
fn zlib_ng_debug_with_a_checkout_prefix_map_compiles_nothing() {
    let Some((sb, [a, b])) = zlib_ng_checkouts() else {
        return;
    };
    let map = |d: &Path| format!("-ffile-prefix-map={}=.", d.display());
    configure(&sb, &a, "Debug", &map(&a), true);
    let (_, a_misses) = ninja(&sb, &a);
    configure(&sb, &b, "Debug", &map(&b), true);
    assert_eq!(ninja(&sb, &b), (a_misses, 0), "b: {}", sb.stats());
    let served = objects(&b.join("build"));
    let a_path = a.to_string_lossy().into_owned();
    for (name, bytes) in &served {
        let names_a = bytes.windows(a_path.len()).any(|w| w == a_path.as_bytes());
        assert!(!names_a, "{name} names checkout a");
    }
    assert_objects_equal(&served, &fresh_objects(&sb, &b));
}

/// The Meson fixture in both checkouts, set up with zccache as the C and
/// C++ compiler wrapper.
fn meson_checkouts() -> Option<(Sandbox, [PathBuf; 2])> {
    if missing(&["meson", "ninja", "gcc", "g++"]) {
        return None;
    }
    let mut sb = Sandbox::new();
    sb.set_env("ZCCACHE_BASE_DIR", sb.root.join("ci"));
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/multi");
    let dirs = ["a", "b"].map(|c| sb.root.join("ci").join(c).join("multi"));
    let zcc = zccache_bin().display().to_string();
    for d in &dirs {
        copy_tree(&fixture, d);
        let mut setup = sb.command("meson");
        setup
            .current_dir(d)
            .args(["setup", "--buildtype=release", "build"]);
        setup
            .env("CC", format!("{zcc} gcc"))
            .env("CXX", format!("{zcc} g++"));
        assert_ok(&run_cmd(&mut setup, None), "meson setup");
    }
    sb.start();
    Some((sb, dirs))
}

#[test]
fn meson_second_checkout_compiles_nothing_and_ninja_is_up_to_date() {
    let Some((sb, [a, b])) = meson_checkouts() else {
        return;
    };
    let compile_misses = |sb: &Sandbox| {
        let st = sb.stats_json();
        st["cache_misses"].as_u64().unwrap() - st["link_misses"].as_u64().unwrap()
    };
    ninja(&sb, &a);
    let before = compile_misses(&sb);
    ninja(&sb, &b);
    assert_eq!(compile_misses(&sb), before, "b compiled: {}", sb.stats());
    let build = b.join("build");
    let noop = sb.run("ninja", &["-C", build.to_str().unwrap(), "-n"]);
    assert!(
        text(&noop.stdout).contains("no work to do"),
        "{}",
        text(&noop.stdout)
    );
    let deps = sb.run("ninja", &["-C", build.to_str().unwrap(), "-t", "deps"]);
    let deps = text(&deps.stdout);
    assert!(!deps.contains(&a.to_string_lossy().into_owned()), "{deps}");
    assert!(deps.contains("../include/util.h"), "{deps}");
    assert!(build.join("../include/util.h").is_file());
}
