//! The lean launcher `zccache` and its hand-over to the full program
//! `zccache-daemon`: a hit needs only the lean one; settings it does not
//! read (the config file's `disable`, `debug` and `cache_dir`) are served
//! exactly as the full launcher serves them; a lean launcher installed
//! without the full program still compiles, uncached.

use crate::harness::*;
use std::path::{Path, PathBuf};
use std::process::Output;

const SRC: &str = "int f(int x) { int unused; return x * 3; }\n";
const ARGS: [&str; 6] = ["-Wall", "-O2", "-c", "a.c", "-o", "a.o"];

/// A copy of the lean launcher in a directory of its own (no
/// `zccache-daemon` next to it).
fn lone_launcher(sb: &Sandbox) -> PathBuf {
    let dir = sb.root.join("alone");
    std::fs::create_dir_all(&dir).unwrap();
    let lone = dir.join("zccache");
    std::fs::copy(zccache_bin(), &lone).unwrap();
    lone
}

/// `<program> gcc <ARGS>` with the sandbox env.
fn compile_with(sb: &Sandbox, program: &Path, args: &[&str]) -> Output {
    let mut c = sb.command(program);
    c.arg("gcc").args(args);
    run_cmd(&mut c, None)
}

/// Bare gcc's result for [`ARGS`] on [`SRC`]; leaves no object behind.
fn bare_result(sb: &Sandbox) -> (Output, Vec<u8>) {
    sb.write("a.c", SRC);
    let (bare, mut objs) = sb.bare("gcc", &ARGS, &["a.o"]);
    sb.remove("a.o");
    (bare, objs.remove(0))
}

/// The compile's exit code, stdout, stderr and object equal bare gcc's.
fn assert_like_bare(sb: &Sandbox, out: &Output, bare: &(Output, Vec<u8>), what: &str) {
    assert_eq!(out.status.code(), bare.0.status.code(), "{what}: exit code");
    assert_same(&out.stdout, &bare.0.stdout, &format!("{what}: stdout"));
    assert_same(&out.stderr, &bare.0.stderr, &format!("{what}: stderr"));
    assert_same(&sb.read("a.o"), &bare.1, &format!("{what}: object"));
    sb.remove("a.o");
}

/// `zccache stats --json` of the daemon serving `cache` (named by
/// `ZCCACHE_CACHE_DIR`, which wins over any config file).
fn stats_of(sb: &Sandbox, cache: &Path) -> Stats {
    let mut c = sb.command(zccache_bin());
    c.env("ZCCACHE_CACHE_DIR", cache).args(["stats", "--json"]);
    Stats::parse(&run_cmd(&mut c, None).stdout)
}

fn total(c: &Counters) -> u64 {
    c.hits + c.misses + c.non_cacheable + c.errors
}

#[test]
fn a_hit_needs_only_the_lean_launcher() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    let bare = bare_result(&sb);
    let first = compile_with(&sb, zccache_bin(), &ARGS);
    assert_like_bare(&sb, &first, &bare, "first compile");
    let before = sb.counters();
    let lone = lone_launcher(&sb);
    let hit = compile_with(&sb, &lone, &ARGS);
    assert_like_bare(&sb, &hit, &bare, "hit through the lone launcher");
    assert_eq!(sb.counters().hit_miss_since(before), (1, 0));
}

#[test]
fn a_lone_lean_launcher_compiles_uncached_and_names_what_is_missing() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    let bare = bare_result(&sb);
    let lone = lone_launcher(&sb);
    let out = compile_with(&sb, &lone, &ARGS);
    assert_like_bare(&sb, &out, &bare, "compile without the full program");
    assert!(sb.daemons().is_empty(), "no daemon can start without it");
    sb.write("bad.c", "int f( {\n");
    let (bare_err, _) = sb.bare("gcc", &["-c", "bad.c", "-o", "bad.o"], &[]);
    let err = compile_with(&sb, &lone, &["-c", "bad.c", "-o", "bad.o"]);
    assert_eq!(err.status.code(), bare_err.status.code(), "error exit code");
    assert_same(&err.stderr, &bare_err.stderr, "error stderr");
    let mut stats = sb.command(&lone);
    let admin = run_cmd(stats.arg("stats"), None);
    assert_eq!(
        admin.status.code(),
        Some(127),
        "admin without the full program"
    );
    assert!(
        text(&admin.stderr).contains("zccache-daemon is not installed"),
        "{}",
        text(&admin.stderr)
    );
}

#[test]
fn config_file_disable_reaches_the_lean_launchers_requests() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    let bare = bare_result(&sb);
    let first = compile_with(&sb, zccache_bin(), &ARGS);
    assert_like_bare(&sb, &first, &bare, "first compile");
    let toml = sb.cache.join("zccache.toml");
    std::fs::write(&toml, "disable = true\n").unwrap();
    let before = sb.counters();
    let disabled = compile_with(&sb, zccache_bin(), &ARGS);
    assert_like_bare(&sb, &disabled, &bare, "disabled by the file");
    assert_eq!(
        total(&sb.counters()),
        total(&before),
        "disabled: nothing counted"
    );
    std::fs::remove_file(&toml).unwrap();
    let hit = compile_with(&sb, zccache_bin(), &ARGS);
    assert_like_bare(&sb, &hit, &bare, "file removed");
    assert_eq!(
        sb.counters().hit_miss_since(before),
        (1, 0),
        "file removed: a hit"
    );
}

#[test]
fn config_file_debug_is_served_by_the_full_launcher() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("a.c", SRC);
    // Preprocessing only is not cacheable: the daemon says run locally,
    // which the full launcher reports under `debug`.
    let pre = ["-E", "a.c", "-o", "a.i"];
    let quiet = compile_with(&sb, zccache_bin(), &pre);
    assert_ok(&quiet, "preprocess");
    assert!(quiet.stderr.is_empty(), "{}", text(&quiet.stderr));
    std::fs::write(sb.cache.join("zccache.toml"), "debug = true\n").unwrap();
    let noisy = compile_with(&sb, zccache_bin(), &pre);
    assert_ok(&noisy, "preprocess with debug");
    assert!(
        text(&noisy.stderr).contains("zccache: running locally"),
        "the full launcher's note: {}",
        text(&noisy.stderr)
    );
}

#[test]
fn config_file_cache_dir_moves_lean_launchers_to_that_cache() {
    if missing(&["gcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    // The default cache dir (no ZCCACHE_CACHE_DIR), with a daemon in it.
    sb.set_env("ZCCACHE_CACHE_DIR", "");
    sb.set_env("XDG_CACHE_HOME", sb.root.join("xdg"));
    sb.cache = sb.root.join("xdg/zccache");
    let bare = bare_result(&sb);
    let first = compile_with(&sb, zccache_bin(), &ARGS);
    assert_like_bare(&sb, &first, &bare, "into the default cache");
    let default_before = sb.counters();
    // Its config file now names another cache dir.
    let other = sb.root.join("other");
    let file = format!("cache_dir = \"{}\"\n", other.display());
    std::fs::write(sb.cache.join("zccache.toml"), file).unwrap();
    for what in ["miss in the other cache", "hit in the other cache"] {
        let out = compile_with(&sb, zccache_bin(), &ARGS);
        assert_like_bare(&sb, &out, &bare, what);
    }
    let default_after = stats_of(&sb, &sb.cache);
    assert_eq!(
        (default_after.cache_hits, default_after.cache_misses),
        (default_before.hits, default_before.misses),
        "the default cache's daemon compiled nothing: {}",
        default_after.raw
    );
    let st = stats_of(&sb, &other);
    assert_eq!((st.cache_hits, st.cache_misses), (1, 1), "{}", st.raw);
    let mut stop = sb.command(zccache_bin());
    assert_ok(
        &run_cmd(stop.env("ZCCACHE_CACHE_DIR", &other).arg("stop"), None),
        "stop the other daemon",
    );
}
