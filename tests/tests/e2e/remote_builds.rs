//! Whole builds shared through a remote tier (`ZCCACHE_REMOTE`, a real
//! `redis-server` on loopback): machine A (its own cache dir and daemon)
//! builds cold and uploads in the background; machine B (a new sandbox:
//! empty cache, its own daemon) builds the same project at the same
//! absolute path (a fresh checkout, as CI runners have: the context key of
//! a relative source includes the cwd) without running a tool once. For a
//! CMake project configured with the zccache CMake module that is every
//! compile, archive step and link, with objects and outputs equal to a
//! bare build's; for the cargo fixture (path deps, build script,
//! proc-macro, bin) every rustc unit, with `deps/` equal to A's and the
//! bin equal to a bare cargo's. Skipped (with a note) without the tools.

use crate::harness::servers::RedisServer;
use crate::harness::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Longest a machine's background uploads may take.
const UPLOAD_LIMIT: Duration = Duration::from_secs(90);

// ------------------------------------------------------------ machines

/// Sets `ZCCACHE_REMOTE` and starts the sandbox's daemon.
fn start_with(sb: &mut Sandbox, remote: &str) {
    sb.set_env("ZCCACHE_REMOTE", remote);
    sb.start();
}

/// Tier 0's report in `zccache stats --json`.
fn tier(sb: &Sandbox) -> Value {
    let v = sb.stats_json();
    v.pointer("/remote/0")
        .cloned()
        .unwrap_or_else(|| panic!("no remote[0] in stats: {v}"))
}

fn tier_count(t: &Value, field: &str) -> u64 {
    t.get(field)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no {field} in tier report {t}"))
}

/// Waits until tier 0 has written something and its `writes` stopped
/// growing for 2 s (bounded); asserts it saw no errors.
fn wait_uploads(sb: &Sandbox) -> Value {
    let start = Instant::now();
    let (mut last, mut stable_since) = (u64::MAX, Instant::now());
    loop {
        let t = tier(sb);
        let writes = tier_count(&t, "writes");
        if writes != last {
            (last, stable_since) = (writes, Instant::now());
        } else if writes > 0 && stable_since.elapsed() > Duration::from_secs(2) {
            eprintln!("uploads done after {:?}: {t}", start.elapsed());
            for f in ["errors", "timeouts", "corrupt"] {
                assert_eq!(tier_count(&t, f), 0, "A's uploads: {t}");
            }
            return t;
        }
        assert!(start.elapsed() < UPLOAD_LIMIT, "uploads never settled: {t}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The journal's lines (`<cache>/logs/journal.jsonl`).
fn journal(sb: &Sandbox) -> Vec<Value> {
    let j = std::fs::read_to_string(sb.cache.join("logs/journal.jsonl")).unwrap_or_default();
    j.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn is_remote_hit(line: &Value) -> bool {
    let outcome = line["outcome"].as_str().unwrap_or("");
    let reason = line["reason"].as_str().unwrap_or("");
    matches!(outcome, "hit" | "link_hit") && reason.starts_with("remote ")
}

/// One journal line, short: outcome, reason, tool and output.
fn brief(line: &Value) -> String {
    format!(
        "{} ({}) {} -> {}",
        line["outcome"], line["reason"], line["compiler"], line["output"]
    )
}

/// Asserts B's journal shows `n` hits served by the tier and nothing but
/// remote hits among its hits and misses.
fn assert_journal_all_remote(sb: &Sandbox, n: usize) {
    let count = || journal(sb).iter().filter(|l| is_remote_hit(l)).count();
    let enough = wait_until(Duration::from_secs(10), || count() >= n);
    let lines = journal(sb);
    let others: Vec<String> = lines
        .iter()
        .filter(|l| !is_remote_hit(l))
        .filter(|l| {
            l["outcome"]
                .as_str()
                .is_some_and(|o| o.contains("hit") || o.contains("miss"))
        })
        .map(brief)
        .collect();
    assert!(
        enough && others.is_empty(),
        "B's journal: {} remote hits of {n}; other hits/misses:\n{}",
        count(),
        others.join("\n")
    );
}

/// Asserts B's counters since `before` are `hits` hits and no miss, with
/// the tier's view and the misses' journal lines on failure.
fn assert_all_hits(sb: &Sandbox, before: Counters, hits: u64, what: &str) {
    let got = sb.counters().hit_miss_since(before);
    let misses: Vec<String> = journal(sb)
        .iter()
        .filter(|l| l["outcome"].as_str().is_some_and(|o| o.contains("miss")))
        .map(brief)
        .collect();
    assert_eq!(
        got,
        (hits, 0),
        "{what}: (hits, misses) on B\ntier: {}\nmisses:\n{}\nstats: {}",
        tier(sb),
        misses.join("\n"),
        sb.stats()
    );
}

// ------------------------------------------------------------ cmake

/// Compiles (one a PCH), links (libshapes.so, app) and `ar qc` + `ranlib`
/// of libutil.a in one CMake build of the fixture.
const CMAKE_STEPS: u64 = 9;
/// Of those, the links and archive steps (`link_hits`).
const CMAKE_LINK_STEPS: u64 = 4;
/// The outputs compared with a bare build.
const OUTPUTS: &[&str] = &["app", "libshapes.so", "libutil.a"];

/// A fresh checkout of the multi fixture (static lib, shared lib, exe; C
/// and C++; a PCH) at `to`, replacing whatever was there.
fn checkout_multi(to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/multi"),
        to,
    );
}

/// `cmake -G Ninja` of `src` into a fresh `build`, with the zccache module
/// when `module`.
fn cmake_configure(sb: &Sandbox, src: &Path, build: &Path, module: bool) {
    let _ = std::fs::remove_dir_all(build);
    let mut args = vec![
        "-G".to_string(),
        "Ninja".to_string(),
        "-DMULTI_PCH=ON".into(),
    ];
    args.push(format!("-S{}", src.display()));
    args.push(format!("-B{}", build.display()));
    if module {
        let out = sb.zcc_ok(&["cmake-module"]);
        let path = text(&out.stdout).trim().to_string();
        args.push(format!("-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES={path}"));
    }
    let out = sb.run("cmake", &args);
    assert_ok(&out, "cmake");
    assert_eq!(
        module,
        text(&out.stdout).contains("zccache: using"),
        "{}",
        text(&out.stdout)
    );
}

fn ninja(sb: &Sandbox, build: &Path) {
    assert_ok(&sb.run("ninja", &["-C", build.to_str().unwrap()]), "ninja");
}

/// Every `*.o` under `dir` (relative path -> bytes) and the [`OUTPUTS`].
fn build_products(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    collect_objects(dir, dir, &mut all);
    for o in OUTPUTS {
        let bytes = std::fs::read(dir.join(o)).unwrap_or_else(|e| panic!("{o}: {e}"));
        all.insert(o.to_string(), bytes);
    }
    all
}

fn collect_objects(root: &Path, dir: &Path, all: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_objects(root, &p, all);
        } else if p.extension().is_some_and(|x| x == "o") {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            all.insert(rel, std::fs::read(&p).unwrap());
        }
    }
}

fn assert_products_equal(got: &BTreeMap<String, Vec<u8>>, want: &BTreeMap<String, Vec<u8>>) {
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(got), names(want), "B built other files than bare");
    for (name, bytes) in want {
        assert_same(&got[name], bytes, name);
    }
}

/// Runs the built `app` and returns its stdout.
fn run_program(sb: &Sandbox, exe: &Path) -> String {
    let out = sb.run(exe.to_str().unwrap(), &[] as &[&str]);
    assert_ok(&out, "the built program");
    text(&out.stdout)
}

/// The bare build's products and program output; the build dir is removed.
fn cmake_bare(sb: &Sandbox, src: &Path, build: &Path) -> (BTreeMap<String, Vec<u8>>, String) {
    cmake_configure(sb, src, build, false);
    ninja(sb, build);
    let products = build_products(build);
    let output = run_program(sb, &build.join("app"));
    std::fs::remove_dir_all(build).unwrap();
    (products, output)
}

#[test]
fn cmake_project_second_machine_builds_from_the_server() {
    if missing(&["cmake", "ninja", "gcc", "g++", "ar", "ranlib"]) {
        return;
    }
    let mut a = Sandbox::new();
    let Some(redis) = RedisServer::start(&a.root, None) else {
        return;
    };
    let (src, build) = (a.path("multi"), a.path("build"));
    checkout_multi(&src);
    let (bare, output) = cmake_bare(&a, &src, &build);

    start_with(&mut a, &redis.url());
    cmake_configure(&a, &src, &build, true);
    ninja(&a, &build);
    let cold = a.counters();
    assert_eq!(
        (cold.hits, cold.misses),
        (0, CMAKE_STEPS),
        "A cold: {}",
        a.stats()
    );
    assert_products_equal(&build_products(&build), &bare);
    let up = wait_uploads(&a);
    assert!(
        tier_count(&up, "writes") >= CMAKE_STEPS,
        "A uploaded too little: {up}"
    );

    // Machine B: A is gone; a fresh checkout and build dir at A's paths.
    a.zcc_ok(&["stop"]);
    checkout_multi(&src);
    let mut b = Sandbox::new();
    assert_ne!(a.cache, b.cache, "the machines share no cache dir");
    start_with(&mut b, &redis.url());
    cmake_configure(&b, &src, &build, true);
    let before = b.counters();
    ninja(&b, &build);
    assert_all_hits(&b, before, CMAKE_STEPS, "CMake build");
    let st = b.stats_json();
    assert_eq!(
        st["link_hits"], CMAKE_LINK_STEPS,
        "links and archives hit: {st}"
    );
    assert_eq!(st["link_misses"], 0, "{st}");
    assert!(tier_count(&tier(&b), "hits") >= CMAKE_STEPS, "{}", tier(&b));
    assert_journal_all_remote(&b, CMAKE_STEPS as usize);
    assert_products_equal(&build_products(&build), &bare);
    assert_eq!(run_program(&b, &build.join("app")), output, "B's program");
}

// ------------------------------------------------------------ cargo

/// Rustc units of a `cargo build` of the fixture: util's build script,
/// util, pm (proc-macro) and app (bin), as in `rustc.rs`.
const UNITS: u64 = 4;

/// Every file in `target/debug/deps` (name -> bytes).
fn deps_files(sb: &Sandbox) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(sb.target("debug/deps"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// Machine B for the cargo fixture: a new sandbox (own cache dir and
/// daemon) whose work dir and target dir are machine A's, with A's env.
fn cargo_machine_b(a: &Sandbox, remote: &str) -> Sandbox {
    let mut b = Sandbox::new();
    assert_ne!(a.cache, b.cache, "the machines share no cache dir");
    b.src = a.src.clone();
    b.env = a.env.clone();
    start_with(&mut b, remote);
    b
}

/// A fresh checkout of the fixture at `sb`'s work dir.
fn checkout_fixture(sb: &Sandbox) {
    for (path, _) in WORKSPACE {
        sb.remove(path);
    }
    for (path, text) in WORKSPACE {
        sb.write(path, text);
    }
}

#[test]
fn cargo_second_machine_builds_from_the_server() {
    if missing(&["cargo", "rustc", "cc"]) {
        return;
    }
    let mut a = Sandbox::new();
    let Some(redis) = RedisServer::start(&a.root, None) else {
        return;
    };
    a.cargo_fixture();
    a.cargo_bare(&["build"]);
    let bare_app = std::fs::read(a.target("debug/app")).unwrap();
    a.cargo_bare(&["clean"]);

    start_with(&mut a, &redis.url());
    let before = a.counters();
    a.cargo_ok(&["build"]);
    assert_eq!(
        delta(before, a.counters()),
        (0, UNITS),
        "A cold: {}",
        a.stats()
    );
    assert_eq!(a.run_app("debug"), APP_OUTPUT, "A's app");
    let deps = deps_files(&a);
    let up = wait_uploads(&a);
    assert!(
        tier_count(&up, "writes") >= UNITS,
        "A uploaded too little: {up}"
    );

    // Machine B: A is gone; a fresh checkout and a cleaned target at A's paths.
    a.zcc_ok(&["stop"]);
    checkout_fixture(&a);
    a.cargo_bare(&["clean"]);
    let b = cargo_machine_b(&a, &redis.url());
    let before = b.counters();
    let out = b.cargo_ok(&["build"]);
    assert_all_hits(
        &b,
        before,
        UNITS,
        &format!("cargo build\n{}", text(&out.stderr)),
    );
    assert!(tier_count(&tier(&b), "hits") >= UNITS, "{}", tier(&b));
    assert_journal_all_remote(&b, UNITS as usize);
    assert_eq!(a.run_app("debug"), APP_OUTPUT, "B's app");
    let got = deps_files(&a);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        deps.keys().collect::<Vec<_>>(),
        "deps/"
    );
    for (name, bytes) in &deps {
        assert_same(&got[name], bytes, name);
    }
    assert_same(
        &std::fs::read(a.target("debug/app")).unwrap(),
        &bare_app,
        "app vs bare",
    );
}
