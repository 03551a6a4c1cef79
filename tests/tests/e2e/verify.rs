//! Sampled hit verification (`ZCCACHE_VERIFY_RATE`): a stale hit made on
//! purpose (a compiler wrapper that reads a variable no cache knows about)
//! is found, dropped and reported; honest hits verify with no mismatch; a
//! non-deterministic compiler is classified as such, not as a mismatch.

use crate::harness::*;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

/// The verification counters of `zccache stats --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct VerifyStats {
    verified: u64,
    mismatches: u64,
    nondeterministic: u64,
}

fn verify_stats(sb: &Sandbox) -> VerifyStats {
    let v = sb.stats_json();
    let get = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_else(|| panic!("stats --json has no number {k}: {v}"))
    };
    VerifyStats {
        verified: get("verified_hits"),
        mismatches: get("verify_mismatches"),
        nondeterministic: get("verify_nondeterministic"),
    }
}

/// Wait (bounded) until the background verifier has judged `n` hits.
fn wait_for_verdicts(sb: &Sandbox, n: u64) -> VerifyStats {
    let mut last = VerifyStats::default();
    let done = wait_until(Duration::from_secs(120), || {
        last = verify_stats(sb);
        last.verified + last.mismatches + last.nondeterministic >= n
    });
    assert!(done, "only {last:?} of {n} verdicts");
    last
}

/// A `gcc` wrapper in `<root>/wrap/gcc` that runs the real gcc with
/// `extra` spliced into the compile (a shell fragment).
fn wrapper(sb: &Sandbox, extra: &str) -> String {
    let gcc = which("gcc").expect("gcc on PATH");
    let script = format!("#!/bin/sh\nexec {} {extra} \"$@\"\n", gcc.display());
    let path = sb.write("wrap/gcc", script);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn a_stale_hit_is_found_dropped_and_explained() {
    if missing(&["gcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.set_env("ZCCACHE_VERIFY_RATE", "1");
    // The wrapper defines VALUE from SECRET_VALUE, which no cache keys.
    let gcc = wrapper(&sb, "-DVALUE=${SECRET_VALUE:-0}");
    sb.write("a.c", "int value(void) { return VALUE; }\n");
    sb.set_env("SECRET_VALUE", "1");
    let args = [gcc.as_str(), "-c", "a.c", "-o", "a.o"];
    assert_ok(&sb.zcc(&args), "first compile (miss)");
    assert_eq!(sb.counters().misses, 1);
    sb.set_env("SECRET_VALUE", "2");
    assert_ok(&sb.zcc(&args), "second compile (a stale hit)");
    assert_eq!(sb.counters().hits, 1, "the wrapper's input is not keyed");
    let v = wait_for_verdicts(&sb, 1);
    assert_eq!((v.mismatches, v.verified), (1, 0), "{v:?}");
    let explain = sb.zcc(&["explain", &sb.path("a.o").to_string_lossy()]);
    assert!(
        text(&explain.stdout).contains("verify mismatch"),
        "explain: {}{}",
        text(&explain.stdout),
        text(&explain.stderr)
    );
    let journal = std::fs::read_to_string(sb.cache.join("logs/journal.jsonl")).unwrap();
    assert!(
        journal.contains("\"outcome\":\"verify_mismatch\""),
        "{journal}"
    );
    assert!(journal.contains("\"reason\":\"object\""), "{journal}");
    let stats = text(&sb.zcc(&["stats"]).stdout);
    assert!(stats.contains("VERIFY MISMATCHES 1"), "{stats}");
    assert_ok(&sb.zcc(&args), "third compile");
    assert_eq!(sb.counters().misses, 2, "the stale entry was dropped");
    let bare = sb.bare_obj("gcc", &["-DVALUE=2", "-c", "a.c", "-o", "bare.o"], "bare.o");
    assert_same(
        &sb.read("a.o"),
        &bare,
        "a.o after the stale entry was dropped",
    );
}

#[test]
fn honest_hits_verify_without_mismatches() {
    if missing(&["gcc", "make"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.set_env("ZCCACHE_VERIFY_RATE", "1");
    let p = sb.path("proj");
    write_make_project(&p, 15);
    let cc = format!("CC={} gcc", zccache_bin().display());
    assert_ok(&sb.run_in(&p, "make", &["-j2", &cc]), "cold build");
    assert_ok(&sb.run_in(&p, "make", &["clean"]), "clean");
    assert_ok(&sb.run_in(&p, "make", &["-j2", &cc]), "warm build");
    assert_eq!(sb.counters().hits, 15);
    let v = wait_for_verdicts(&sb, 15);
    assert_eq!(
        v,
        VerifyStats {
            verified: 15,
            mismatches: 0,
            nondeterministic: 0
        }
    );
    check_make_objects(&p, &bare_make_objects(&p, 15));
}

#[test]
fn a_nondeterministic_compiler_is_not_called_a_mismatch() {
    if missing(&["gcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.set_env("ZCCACHE_VERIFY_RATE", "1");
    // Every run embeds fresh random bytes: no two compiles agree.
    let gcc = wrapper(&sb, "-DNOISE=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')");
    sb.write("n.c", "unsigned noise(void) { return NOISE; }\n");
    let args = [gcc.as_str(), "-c", "n.c", "-o", "n.o"];
    assert_ok(&sb.zcc(&args), "miss");
    assert_ok(&sb.zcc(&args), "hit");
    let v = wait_for_verdicts(&sb, 1);
    assert_eq!((v.nondeterministic, v.mismatches), (1, 0), "{v:?}");
    assert_ok(&sb.zcc(&args), "compile after the verdict");
    assert_ok(&sb.zcc(&args), "and again");
    let s = sb.stats();
    assert_eq!(
        s.nc_reason("verify_nondeterministic"),
        2,
        "the context is no longer cached: {s}"
    );
}

/// A `rustc` wrapper in `<root>/wrap/rustc` that passes `extra` (a shell
/// fragment) before the arguments.
fn rustc_wrapper(sb: &Sandbox, extra: &str) -> String {
    let rustc = which("rustc").expect("rustc on PATH");
    let script = format!("#!/bin/sh\nexec {} {extra} \"$@\"\n", rustc.display());
    let path = sb.write("wrap/rustc", script);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

/// rustc args of a small staticlib `crate_name` (from `v.rs`) with
/// dep-info, into `out/`.
fn rustc_args(rustc: &str, crate_name: &str) -> Vec<String> {
    [
        rustc,
        "--crate-name",
        crate_name,
        "--crate-type",
        "staticlib",
        "--emit=dep-info,link",
        "-C",
        "extra-filename=-x",
        "--out-dir",
        "out",
        "v.rs",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn rustc_hits_verify_and_a_stale_one_is_dropped() {
    if missing(&["rustc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.set_env("ZCCACHE_VERIFY_RATE", "1");
    std::fs::create_dir_all(sb.path("out")).unwrap();
    sb.write(
        "v.rs",
        "#[cfg(v2)]\n#[no_mangle]\npub extern \"C\" fn v() -> u32 { 2 }\n\
         #[cfg(not(v2))]\n#[no_mangle]\npub extern \"C\" fn v() -> u32 { 1 }\n",
    );
    // Honest: plain rustc, a miss then a verified hit.
    let honest = rustc_args("rustc", "v");
    assert_ok(&sb.zcc(&honest), "rustc miss");
    assert_ok(&sb.zcc(&honest), "rustc hit");
    assert_eq!(sb.counters().hits, 1);
    let v = wait_for_verdicts(&sb, 1);
    assert_eq!(
        (v.verified, v.mismatches),
        (1, 0),
        "honest rustc hit: {v:?}"
    );
    // Stale: the wrapper's --cfg comes from SECRET_CFG, which no cache keys.
    let stale = rustc_args(&rustc_wrapper(&sb, "--cfg ${SECRET_CFG:-v1}"), "w");
    sb.set_env("SECRET_CFG", "v1");
    assert_ok(&sb.zcc(&stale), "wrapper miss");
    sb.set_env("SECRET_CFG", "v2");
    assert_ok(&sb.zcc(&stale), "wrapper hit (stale)");
    assert_eq!(sb.counters().hits, 2);
    let v = wait_for_verdicts(&sb, 2);
    assert_eq!(v.mismatches, 1, "{v:?}");
    assert_ok(&sb.zcc(&stale), "after the verdict");
    assert_eq!(sb.counters().hits, 2, "the stale rustc entry was dropped");
}

/// A whole cargo build (JSON diagnostics and artifact notifications that
/// name the out dir, a build script, a proc-macro, a bin) verifies every
/// hit with no mismatch: the recompile's temp out dir is written back as
/// the real one before comparing.
#[test]
fn cargo_hits_verify_without_mismatches() {
    if missing(&["cargo", "rustc", "cc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.set_env("ZCCACHE_VERIFY_RATE", "1");
    sb.cargo_fixture();
    sb.start();
    sb.cargo_ok(&["build"]);
    sb.cargo_ok(&["clean"]);
    let before = sb.counters();
    sb.cargo_ok(&["build"]);
    let hits = sb.counters().hits - before.hits;
    assert!(hits >= 3, "warm cargo build hits: {hits}");
    let v = wait_for_verdicts(&sb, hits);
    assert_eq!(v.mismatches, 0, "{v:?}");
    assert_eq!(v.verified, hits, "{v:?}");
}

#[test]
fn link_and_archive_hits_verify_and_a_stale_link_is_dropped() {
    if missing(&["gcc", "ar"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.set_env("ZCCACHE_VERIFY_RATE", "1");
    sb.write("m.c", "int main(void) { return 0; }\n");
    assert_ok(&sb.run("gcc", &["-c", "m.c", "-o", "m.o"]), "bare compile");
    // Honest: an archive and a link, each a miss then a verified hit.
    for _ in 0..2 {
        let _ = std::fs::remove_file(sb.path("libm1.a"));
        assert_ok(&sb.zcc(&["ar", "rcsD", "libm1.a", "m.o"]), "archive");
        assert_ok(&sb.zcc(&["gcc", "m.o", "-o", "app"]), "link");
    }
    let v = wait_for_verdicts(&sb, 2);
    assert_eq!(
        (v.verified, v.mismatches),
        (2, 0),
        "honest link and archive: {v:?}"
    );
    // Stale: the wrapper's build id comes from SECRET_ID, which no cache keys.
    let gcc = wrapper(&sb, "-Wl,--build-id=0x${SECRET_ID:-11}");
    sb.set_env("SECRET_ID", "11");
    assert_ok(
        &sb.zcc(&[gcc.as_str(), "m.o", "-o", "app2"]),
        "wrapper link (miss)",
    );
    sb.set_env("SECRET_ID", "22");
    let hits = sb.counters().hits;
    assert_ok(
        &sb.zcc(&[gcc.as_str(), "m.o", "-o", "app2"]),
        "wrapper link (stale hit)",
    );
    assert_eq!(sb.counters().hits, hits + 1);
    let v = wait_for_verdicts(&sb, 3);
    assert_eq!(v.mismatches, 1, "{v:?}");
}

/// A stale entry found by verification is dropped locally, but a remote
/// tier still holds it (nothing deletes there): the daemon must not take
/// it from the tier again.
#[test]
fn a_stale_entry_is_not_taken_back_from_a_remote_tier() {
    if missing(&["gcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    let Some(redis) = crate::harness::servers::RedisServer::start(&sb.root, None) else {
        return;
    };
    sb.set_env("ZCCACHE_REMOTE", redis.url());
    sb.set_env("ZCCACHE_VERIFY_RATE", "1");
    let gcc = wrapper(&sb, "-DVALUE=${SECRET_VALUE:-0}");
    sb.write("a.c", "int value(void) { return VALUE; }\n");
    let args = [gcc.as_str(), "-c", "a.c", "-o", "a.o"];
    sb.set_env("SECRET_VALUE", "1");
    assert_ok(&sb.zcc(&args), "miss, uploaded");
    let uploaded = wait_until(Duration::from_secs(60), || {
        remote_writes(&sb) >= 3 // blob, entry, manifest
    });
    assert!(uploaded, "the entry reached the tier");
    sb.set_env("SECRET_VALUE", "2");
    assert_ok(&sb.zcc(&args), "a stale local hit");
    let v = wait_for_verdicts(&sb, 1);
    assert_eq!(v.mismatches, 1, "{v:?}");
    let hits = sb.counters().hits;
    assert_ok(&sb.zcc(&args), "after the verdict");
    assert_eq!(sb.counters().hits, hits, "not served from the tier again");
    let bare = sb.bare_obj("gcc", &["-DVALUE=2", "-c", "a.c", "-o", "bare.o"], "bare.o");
    assert_same(&sb.read("a.o"), &bare, "a.o compiled for the new value");
}

/// Objects written to the first remote tier so far.
fn remote_writes(sb: &Sandbox) -> u64 {
    sb.stats_json()["remote"][0]["writes"].as_u64().unwrap_or(0)
}
