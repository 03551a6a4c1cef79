//! The compile farm (`ZCCACHE_PREFIX=distcc`) against a real distccd on
//! loopback: cold misses run on the farm and warm builds send it nothing
//! (the prefix is not in the key); a dead or killed farm falls back to
//! local compiles the build cannot tell apart; warnings are exactly the
//! local compiler's; a compile error comes back once, unretried; CMake and
//! Meson builds use the farm through the environment. Objects are always
//! compared with bare gcc's.

use crate::harness::distcc::*;
use crate::harness::*;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

/// Sources in the generated make project.
const N: usize = 15;

/// The farm counters of `zccache stats --json` (not in the typed
/// [`Stats`], which other areas share).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct FarmStats {
    compiles: u64,
    errors: u64,
    fallbacks: u64,
}

fn farm_stats(sb: &Sandbox) -> FarmStats {
    let v = sb.stats_json();
    let get = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or_else(|| panic!("stats --json has no number {k}: {v}"))
    };
    FarmStats {
        compiles: get("farm_compiles"),
        errors: get("farm_errors"),
        fallbacks: get("farm_fallbacks"),
    }
}

/// The generated N-source make project in `<work>/proj`.
fn project(sb: &Sandbox) -> PathBuf {
    let p = sb.path("proj");
    write_make_project(&p, N);
    p
}

fn cc_arg() -> String {
    format!("CC={} gcc", zccache_bin().display())
}

/// `make -j2 CC="zccache gcc"` in `dir`, asserting success.
fn make(sb: &Sandbox, dir: &Path) {
    let out = sb.run_in(dir, "make", &["-j2".to_string(), cc_arg()]);
    assert_ok(&out, "make -j2 through zccache");
}

fn make_clean(sb: &Sandbox, dir: &Path) {
    assert_ok(&sb.run_in(dir, "make", &["clean"]), "make clean");
}

/// The same build as [`make`], in the background, output to `<root>/log`.
fn spawn_make(sb: &Sandbox, dir: &Path, log: &str) -> Child {
    let logf = File::create(sb.root.join(log)).unwrap();
    let mut cmd = sb.command("make");
    cmd.current_dir(dir)
        .args(["-j2".to_string(), cc_arg()])
        .stdin(Stdio::null())
        .stdout(logf.try_clone().unwrap())
        .stderr(logf);
    cmd.spawn().expect("spawn make")
}

fn finish_make(sb: &Sandbox, mut child: Child, log: &str) {
    let st = wait_limited(&mut child, "make", Duration::from_secs(600));
    let log = std::fs::read_to_string(sb.root.join(log)).unwrap_or_default();
    assert!(st.success(), "make failed ({st}):\n{log}");
}

/// How many `s<i>.o` of the project exist.
fn objects_present(dir: &Path) -> usize {
    (0..N)
        .filter(|i| dir.join(format!("s{i}.o")).exists())
        .count()
}

fn daemon_log(sb: &Sandbox) -> String {
    std::fs::read_to_string(sb.cache.join("logs/daemon.log")).unwrap_or_default()
}

fn tools_missing() -> bool {
    distcc_missing() || missing(&["gcc", "make"])
}

// ------------------------------------------------------------ make builds

#[test]
fn distcc_cold_build_runs_misses_on_the_farm_warm_sends_nothing() {
    if tools_missing() {
        return;
    }
    let mut sb = Sandbox::new();
    let farm = Distccd::start(&sb);
    use_farm(&mut sb, &farm.hosts());
    let p = project(&sb);
    let bare = bare_make_objects(&p, N);
    sb.start();

    make(&sb, &p);
    check_make_objects(&p, &bare);
    let cold = sb.counters();
    assert_eq!((cold.hits, cold.misses), (0, N as u64), "{}", sb.stats());
    let want = FarmStats {
        compiles: N as u64,
        ..FarmStats::default()
    };
    assert_eq!(farm_stats(&sb), want, "cold: {}", sb.stats());
    assert_eq!(farm.compiled_ok(), N, "distccd log:\n{}", farm.log_text());

    warm_build_sends_nothing(&sb, &farm, &p, &bare, want);

    // The prefix is not part of the key: without it every entry still hits.
    sb.env.remove("ZCCACHE_PREFIX");
    make_clean(&sb, &p);
    make(&sb, &p);
    check_make_objects(&p, &bare);
    let local = sb.counters();
    assert_eq!(local.hits, 2 * N as u64, "no prefix: {}", sb.stats());
    assert_eq!(local.misses, N as u64, "no prefix: {}", sb.stats());
    assert_eq!(farm_stats(&sb), want, "no prefix: {}", sb.stats());
}

/// Clean rebuild with the prefix: all hits, distccd's log unchanged.
fn warm_build_sends_nothing(
    sb: &Sandbox,
    farm: &Distccd,
    p: &Path,
    bare: &[Vec<u8>],
    want: FarmStats,
) {
    let log_before = farm.log_text();
    make_clean(sb, p);
    make(sb, p);
    check_make_objects(p, bare);
    let warm = sb.counters();
    assert_eq!(
        (warm.hits, warm.misses),
        (N as u64, N as u64),
        "{}",
        sb.stats()
    );
    assert_eq!(farm_stats(sb), want, "warm: {}", sb.stats());
    assert_eq!(farm.log_text(), log_before, "warm build reached distccd");
}

#[test]
fn dead_farm_falls_back_to_local_compiles() {
    if tools_missing() {
        return;
    }
    let mut sb = Sandbox::new();
    // Nothing listens there: distcc fails to connect (exit >= 100).
    let dead = DeadPort::new();
    use_farm(&mut sb, &hosts_for(dead.port));
    let p = project(&sb);
    let bare = bare_make_objects(&p, N);
    sb.start();

    make(&sb, &p);
    check_make_objects(&p, &bare);
    let f = farm_stats(&sb);
    let want = FarmStats {
        compiles: 0,
        errors: N as u64,
        fallbacks: N as u64,
    };
    assert_eq!(f, want, "every miss failed on the farm: {}", sb.stats());
    assert_eq!(sb.counters().misses, N as u64, "{}", sb.stats());

    // A compile with warnings: the user sees exactly gcc's stderr.
    let ran = sb
        .test()
        .file("w.c", "int w(void) { int unused; return 0; }\n")
        .zcc(["gcc", "-Wall", "-c", "w.c", "-o", "w.o"])
        .expect(Outcome::Miss)
        .same_as_bare("w.o")
        .same_exit_code_as_bare()
        .same_stdout_as_bare()
        .same_stderr_as_bare()
        .run();
    let stderr = text(&ran.out.stderr);
    assert!(stderr.contains("-Wunused-variable"), "fixture: {stderr}");
    assert!(!stderr.contains("distcc"), "distcc leaked: {stderr}");
    assert_eq!(farm_stats(&sb).fallbacks, N as u64 + 1, "{}", sb.stats());
    let log = daemon_log(&sb);
    assert!(
        log.contains("failed to distribute"),
        "distcc's messages belong in the daemon log:\n{log}"
    );
}

#[test]
fn farm_killed_mid_build_still_builds_correctly() {
    if tools_missing() {
        return;
    }
    let mut sb = Sandbox::new();
    let mut farm = Distccd::start(&sb);
    use_farm(&mut sb, &farm.hosts());
    let p = project(&sb);
    let bare = bare_make_objects(&p, N);
    sb.start();

    let child = spawn_make(&sb, &p, "make.log");
    let appeared = wait_until(Duration::from_secs(300), || objects_present(&p) > 0);
    farm.kill();
    let at_kill = objects_present(&p);
    finish_make(&sb, child, "make.log");
    assert!(appeared, "no object appeared while the farm was up");
    check_make_objects(&p, &bare);

    let f = farm_stats(&sb);
    eprintln!("killed with {at_kill} of {N} objects present: {f:?}");
    assert_eq!(sb.counters().misses, N as u64, "{}", sb.stats());
    assert!(
        f.compiles >= 1,
        "the first objects came from the farm: {f:?}"
    );
    assert_eq!(f.fallbacks, f.errors, "{f:?}");
    assert_eq!(f.compiles + f.fallbacks, N as u64, "{f:?}");
    // At most FARM_SLOTS compiles can have finished remotely without their
    // object written yet; any compile beyond them started after the kill.
    if at_kill + FARM_SLOTS < N {
        assert!(f.errors >= 1, "compiles after the kill failed over: {f:?}");
    } else {
        eprintln!("note: {at_kill} objects existed at the kill; no failover seen");
    }
}

// ------------------------------------------------------------ diagnostics

/// Warnings from a farm compile lack gcc's source excerpts; the daemon
/// compiles such a miss again locally, so the miss and every later hit
/// show exactly the local compiler's stderr.
#[test]
fn farm_warnings_are_exactly_the_local_compilers() {
    if tools_missing() {
        return;
    }
    let mut sb = Sandbox::new();
    let farm = Distccd::start(&sb);
    use_farm(&mut sb, &farm.hosts());
    sb.start();
    sb.write("w.c", "int w(void) { int unused; return 0; }\n");
    let args = ["gcc", "-Wall", "-c", "w.c", "-o", "w.o"];
    for outcome in [Outcome::Miss, Outcome::Hit] {
        let ran = sb
            .test()
            .zcc(args)
            .expect(outcome)
            .same_as_bare("w.o")
            .same_stderr_as_bare()
            .run();
        let stderr = text(&ran.out.stderr);
        assert!(stderr.contains("| "), "{outcome}: excerpts kept: {stderr}");
    }
    assert_eq!(farm.compiled_ok(), 1, "{}", farm.log_text());
    let f = farm_stats(&sb);
    assert_eq!((f.errors, f.fallbacks), (0, 0), "{}", sb.stats());
}

const BAD: &str = "int f(int x) { return x * 2\n";

#[test]
fn compile_error_through_the_farm_is_not_retried() {
    if tools_missing() {
        return;
    }
    let mut sb = Sandbox::new();
    let farm = Distccd::start(&sb);
    use_farm(&mut sb, &farm.hosts());
    // distcc backs a host off for 60 s after a remote compile error; the
    // second error below must reach distccd too.
    sb.set_env("DISTCC_BACKOFF_PERIOD", "0");
    sb.start();
    // Remote gcc compiles preprocessed text and cannot show source lines,
    // so compare with plain diagnostics (no caret or line excerpts).
    let args = [
        "gcc",
        "-fdiagnostics-plain-output",
        "-c",
        "bad.c",
        "-o",
        "bad.o",
    ];
    let ran = sb
        .test()
        .file("bad.c", BAD)
        .zcc(args)
        .same_exit_code_as_bare()
        .same_stdout_as_bare()
        .same_stderr_as_bare()
        .run();
    assert_eq!(ran.out.status.code(), Some(1), "{}", text(&ran.out.stderr));
    assert!(text(&ran.out.stderr).contains("bad.c:1:"), "fixture");
    assert!(!sb.exists("bad.o"), "no object for a failed compile");
    let f = farm_stats(&sb);
    assert_eq!((f.errors, f.fallbacks), (0, 0), "{}", sb.stats());
    assert_eq!(farm.jobs("bad.c"), 1, "distccd log:\n{}", farm.log_text());
    assert_eq!(farm.jobs("COMPILE_ERROR"), 1, "{}", farm.log_text());
    default_diagnostics_keep_the_errors(&sb, &farm);
}

/// With gcc's default diagnostics the farm's stderr lacks the source
/// excerpts, but carries the same error lines and exit code.
fn default_diagnostics_keep_the_errors(sb: &Sandbox, farm: &Distccd) {
    let args = ["-c", "bad.c", "-o", "bad.o"];
    let bare = sb.run("gcc", &args);
    let out = sb.zcc(&["gcc", "-c", "bad.c", "-o", "bad.o"]);
    assert_eq!(out.status.code(), bare.status.code(), "exit code");
    let errors = |b: &[u8]| -> Vec<String> {
        let t = text(b);
        t.lines()
            .filter(|l| l.starts_with("bad.c"))
            .map(String::from)
            .collect()
    };
    assert_eq!(errors(&out.stderr), errors(&bare.stderr), "error lines");
    assert_eq!(farm_stats(sb).fallbacks, 0, "{}", sb.stats());
    assert_eq!(farm.jobs("bad.c"), 2, "{}", farm.log_text());
}

// ------------------------------------------------------------ build systems

const CMAKE_LISTS: &str = "cmake_minimum_required(VERSION 3.16)\nproject(farm C)\n\
    add_library(util STATIC a.c b.c)\nadd_executable(app main.c)\n\
    target_link_libraries(app util)\n";

const MESON_BUILD: &str = "project('farm', 'c')\n\
    util = static_library('util', 'a.c', 'b.c')\n\
    executable('app', 'main.c', link_with: util)\n";

/// A three-source C project buildable by CMake and Meson.
fn small_project(sb: &Sandbox) -> PathBuf {
    sb.write("small/CMakeLists.txt", CMAKE_LISTS);
    sb.write("small/meson.build", MESON_BUILD);
    sb.write("small/a.c", "int a(int x) { return x * 3; }\n");
    sb.write("small/b.c", "int b(int x) { return x + 4; }\n");
    sb.write(
        "small/main.c",
        "#include <stdio.h>\nint a(int);\nint b(int);\n\
         int main(void) { printf(\"%d\\n\", a(b(1))); return 0; }\n",
    );
    sb.path("small")
}

fn ninja(sb: &Sandbox, build: &Path, extra: &[&str]) {
    let mut args = vec!["-C", build.to_str().unwrap()];
    args.extend_from_slice(extra);
    assert_ok(&sb.run("ninja", &args), "ninja");
}

/// Cold build: the 3 compiles (only) ran on the farm and the app works;
/// clean rebuild: all hits and nothing sent to distccd.
fn cold_and_warm_build(sb: &Sandbox, farm: &Distccd, build: &Path, what: &str) {
    let (f0, jobs0) = (farm_stats(sb), farm.compiled_ok());
    ninja(sb, build, &[]);
    let f1 = farm_stats(sb);
    assert_eq!(f1.compiles - f0.compiles, 3, "{what} cold: {}", sb.stats());
    assert_eq!((f1.errors, f1.fallbacks), (0, 0), "{what}: {}", sb.stats());
    assert_eq!(farm.compiled_ok() - jobs0, 3, "{what}: {}", farm.log_text());
    let app = sb.run(&build.join("app").to_string_lossy(), &[] as &[&str]);
    assert_eq!(text(&app.stdout), "15\n", "{what} app");

    let (cold, log) = (sb.counters(), farm.log_text());
    ninja(sb, build, &["clean"]);
    ninja(sb, build, &[]);
    let warm = sb.counters();
    assert_eq!(
        warm.misses,
        cold.misses,
        "{what} warm missed: {}",
        sb.stats()
    );
    assert!(warm.hits >= cold.hits + 3, "{what} warm: {}", sb.stats());
    assert_eq!(farm_stats(sb), f1, "{what} warm: {}", sb.stats());
    assert_eq!(farm.log_text(), log, "{what} warm build reached distccd");
}

fn cmake_with_the_prefix() {
    let mut sb = Sandbox::new();
    let farm = Distccd::start(&sb);
    use_farm(&mut sb, &farm.hosts());
    let src = small_project(&sb);
    let b = sb.path("build-cmake");
    let module = text(&sb.zcc_ok(&["cmake-module"]).stdout)
        .trim()
        .to_string();
    sb.start();
    let conf = sb.run(
        "cmake",
        &[
            "-G".to_string(),
            "Ninja".to_string(),
            "-S".to_string(),
            src.to_string_lossy().into_owned(),
            "-B".to_string(),
            b.to_string_lossy().into_owned(),
            format!("-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES={module}"),
        ],
    );
    assert_ok(&conf, "cmake");
    assert!(
        text(&conf.stdout).contains("zccache: using"),
        "{}",
        text(&conf.stdout)
    );
    cold_and_warm_build(&sb, &farm, &b, "cmake");
}

fn meson_with_the_prefix() {
    let mut sb = Sandbox::new();
    let farm = Distccd::start(&sb);
    use_farm(&mut sb, &farm.hosts());
    let xdg = sb.root.join("xdg");
    sb.set_env("XDG_DATA_HOME", &xdg);
    let src = small_project(&sb);
    let b = sb.path("build-meson");
    sb.zcc_ok(&["meson", "native-file", "--install"]);
    sb.start();
    let setup = sb.run(
        "meson",
        &[
            "setup".to_string(),
            "--native-file".to_string(),
            "zccache".to_string(),
            b.to_string_lossy().into_owned(),
            src.to_string_lossy().into_owned(),
        ],
    );
    assert_ok(&setup, "meson setup");
    cold_and_warm_build(&sb, &farm, &b, "meson");
}

#[test]
fn cmake_and_meson_builds_with_the_prefix() {
    if tools_missing() || missing(&["ninja"]) {
        return;
    }
    if !missing(&["cmake"]) {
        cmake_with_the_prefix();
    }
    if !missing(&["meson"]) {
        meson_with_the_prefix();
    }
}
