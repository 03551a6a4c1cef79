//! Daemon services driven through the CLI against a real daemon: sessions
//! and their stats, the dead-man switch, the journal and `analyze`,
//! `explain`, `release-handles`, and backpressure under a compile flood.

use crate::harness::*;
use std::time::Duration;

const HDR: &str = "#define FOO 1\n";
const SRC: &str = "#include \"foo.h\"\nint f(void) { return FOO; }\n";

fn session_stats(out: &std::process::Output) -> SessionStats {
    parse_json(&out.stdout, "session stats")
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(&out.stdout)))
}

fn session_start(sb: &Sandbox, extra: &[&str]) -> String {
    let mut args = vec!["session-start", "--pid"];
    let pid = std::process::id().to_string();
    args.push(&pid);
    args.extend_from_slice(extra);
    let out = sb.zcc_ok(&args);
    text(&out.stdout).trim().to_string()
}

#[test]
fn session_stats_match_the_compiles_made_in_it() {
    if missing(&["gcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.write("inc/foo.h", HDR);
    sb.write("a.c", SRC);
    let id = session_start(&sb, &[]);
    sb.set_env("ZCCACHE_SESSION_ID", &id);
    sb.zcc_ok(&["gcc", "-Iinc", "-c", "a.c", "-o", "a.o"]);
    sb.remove("a.o");
    sb.zcc_ok(&["gcc", "-Iinc", "-c", "a.c", "-o", "a.o"]);
    sb.zcc_ok(&["gcc", "-E", "a.c", "-Iinc", "-o", "a.i"]);
    let st = session_stats(&sb.zcc_ok(&["session-stats", &id, "--json"]));
    assert_eq!(st.compilations, 3, "{st:?}");
    assert_eq!(st.hits, 1, "{st:?}");
    assert_eq!(st.misses, 1, "{st:?}");
    assert_eq!(st.non_cacheable, 1, "{st:?}");
    assert_eq!(st.unique_sources, 1, "{st:?}");
    assert!(st.bytes_read > 0 && st.bytes_written > 0, "{st:?}");
    let end = session_stats(&sb.zcc_ok(&["session-end", &id, "--json"]));
    assert_eq!(end.compilations, 3, "{end:?}");
    // Ending again is a harmless no-op; a malformed id is a clear error.
    sb.zcc_ok(&["session-end", &id]);
    let bad = sb.zcc(&["session-stats", "not-an-id"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("malformed session id"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn dead_man_switch_ends_the_session_of_a_killed_client() {
    let sb = Sandbox::new();
    let mut client = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let pid = client.id().to_string();
    let out = sb.zcc_ok(&["session-start", "--pid", &pid, "--shell"]);
    let line = text(&out.stdout);
    let id = line
        .trim()
        .strip_prefix("export ZCCACHE_SESSION_ID=")
        .expect("eval-able export")
        .to_string();
    // The owner lives: the session outlasts several reap ticks.
    std::thread::sleep(Duration::from_millis(2500));
    sb.zcc_ok(&["session-stats", &id]);
    client.kill().unwrap();
    client.wait().unwrap();
    let ended = wait_until(Duration::from_secs(15), || {
        sb.zcc(&["session-stats", &id]).status.code() == Some(1)
    });
    assert!(ended, "the session should end when its client dies");
    // An owner that does not exist is refused rather than ending at once.
    let none = sb.zcc(&["session-start", "--pid", &pid]);
    assert_eq!(none.status.code(), Some(2));
    assert!(
        text(&none.stderr).contains("no such process"),
        "{}",
        text(&none.stderr)
    );
}

#[test]
fn journal_lines_parse_and_carry_miss_reasons() {
    if missing(&["gcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.write("inc/foo.h", HDR);
    sb.write("a.c", SRC);
    let journal = sb.root.join("j.jsonl");
    let id = session_start(&sb, &["--journal", journal.to_str().unwrap()]);
    sb.set_env("ZCCACHE_SESSION_ID", &id);
    sb.zcc_ok(&["gcc", "-Iinc", "-c", "a.c", "-o", "a.o"]);
    sb.remove("a.o");
    sb.zcc_ok(&["gcc", "-Iinc", "-c", "a.c", "-o", "a.o"]);
    let two_lines = || {
        std::fs::read_to_string(&journal)
            .map(|t| t.lines().count() >= 2)
            .unwrap_or(false)
    };
    assert!(
        wait_until(Duration::from_secs(10), two_lines),
        "journal should get two lines"
    );
    let body = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["outcome"], "miss");
    assert_eq!(lines[0]["reason"], "first_compile");
    assert_eq!(lines[1]["outcome"], "hit");
    for l in &lines {
        assert_eq!(l["session"], id.as_str());
        assert!(l["latency_ns"].as_u64().unwrap() > 0);
        assert_eq!(l["source"], "a.c");
        assert!(l["cwd"].as_str().unwrap().ends_with("src"));
        assert!(l["compiler"].as_str().unwrap().ends_with("gcc"));
    }
    let roll = json(&sb.zcc_ok(&["analyze", journal.to_str().unwrap(), "--json"]));
    assert_eq!(roll["by_outcome"]["hit"], 1, "{roll}");
    assert_eq!(roll["by_reason"]["first_compile"], 1, "{roll}");
    assert_eq!(roll["misses_by_source"]["a.c"], 1, "{roll}");
}

#[test]
fn explain_names_the_edited_header_and_the_added_flag() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("inc/foo.h", HDR);
    sb.write("a.c", SRC);
    sb.zcc_ok(&["gcc", "-Iinc", "-c", "a.c", "-o", "a.o"]);
    let first = sb.zcc_ok(&["explain", "a.o"]);
    assert!(
        text(&first.stdout).contains("first compile of this context"),
        "{}",
        text(&first.stdout)
    );
    sb.write("inc/foo.h", "#define FOO 2\n");
    sb.zcc_ok(&["gcc", "-Iinc", "-c", "a.c", "-o", "a.o"]);
    let why = text(&sb.zcc_ok(&["explain", "a.o"]).stdout);
    assert!(why.contains("header inc/foo.h changed (hash"), "{why}");
    sb.zcc_ok(&["gcc", "-Iinc", "-DNDEBUG", "-c", "a.c", "-o", "a.o"]);
    let why = text(&sb.zcc_ok(&["explain", "--last-miss"]).stdout);
    assert!(why.contains("flag added: -DNDEBUG"), "{why}");
    sb.write("src/a.c", SRC);
    // A source written in the compile's clock tick is not stored (racy);
    // the shadow check below needs this compile's manifest.
    std::thread::sleep(std::time::Duration::from_millis(20));
    sb.zcc_ok(&["gcc", "-Iinc", "-c", "src/a.c", "-o", "b.o"]);
    sb.write("src/foo.h", "#define FOO 4\n");
    sb.zcc_ok(&["gcc", "-Iinc", "-c", "src/a.c", "-o", "b.o"]);
    let why = text(&sb.zcc_ok(&["explain", "b.o"]).stdout);
    assert!(why.contains("new header shadows inc/foo.h"), "{why}");
}

#[test]
fn release_handles_refuses_the_cache_dir_and_releases_sessions() {
    let sb = Sandbox::new();
    sb.start();
    let refused = sb.zcc(&["release-handles", sb.cache.to_str().unwrap()]);
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        text(&refused.stderr).contains("refusing"),
        "{}",
        text(&refused.stderr)
    );
    let ancestor = sb.zcc(&["release-handles", sb.root.to_str().unwrap()]);
    assert_ne!(
        ancestor.status.code(),
        Some(0),
        "an ancestor of the cache dir is refused too"
    );
    let tree = sb.src.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let pid = std::process::id().to_string();
    let out = sb.zcc_in(&tree, &["session-start", "--pid", &pid]);
    assert_ok(&out, "session-start in tree");
    let id = text(&out.stdout).trim().to_string();
    let rel = sb.zcc_ok(&["release-handles", tree.to_str().unwrap()]);
    assert!(text(&rel.stdout).contains(&id), "{}", text(&rel.stdout));
    assert_eq!(
        sb.zcc(&["session-stats", &id]).status.code(),
        Some(1),
        "released session is gone"
    );
}

#[test]
fn flood_of_64_compiles_against_a_bound_of_2_completes_with_backpressure() {
    if missing(&["gcc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.set_env("ZCCACHE_MAX_JOBS", "2");
    for i in 0..64 {
        sb.write(
            &format!("f{i}.c"),
            format!("int f{i}(int x) {{ return x * {i} + 1; }}\n"),
        );
    }
    sb.start();
    let children: Vec<_> = (0..64)
        .map(|i| {
            sb.zcc_cmd(&[
                "gcc",
                "-O2",
                "-c",
                &format!("f{i}.c"),
                "-o",
                &format!("f{i}.o"),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        assert_ok(&out, &format!("compile {i}"));
    }
    for i in 0..64 {
        let got = sb.read(&format!("f{i}.o"));
        let bare = sb.bare_obj(
            "gcc",
            &["-O2", "-c", &format!("f{i}.c")],
            &format!("f{i}.o"),
        );
        assert_same(&got, &bare, &format!("f{i}.o"));
    }
    let st = sb.stats();
    assert!(st.backpressure_replies > 0, "{st}");
    assert_eq!(st.max_jobs, 2, "{st}");
}

#[test]
fn fp_says_run_skip_run_after_edit_and_run_after_failure() {
    let sb = Sandbox::new();
    sb.write("tree/src/a.rs", "fn a() {}\n");
    sb.write("tree/target/junk.rs", "x\n");
    let cache = sb.root.join("fp.json");
    let c = cache.to_str().unwrap();
    let root = sb.path("tree");
    let r = root.to_str().unwrap();
    let check = || {
        sb.zcc(&[
            "fp",
            "check",
            "--cache-file",
            c,
            "--root",
            r,
            "--ext",
            "rs",
            "--exclude",
            "target",
        ])
    };
    let first = check();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stdout));
    assert!(text(&first.stdout).starts_with("run"));
    sb.zcc_ok(&["fp", "mark-success", "--cache-file", c]);
    let second = check();
    assert_eq!(second.status.code(), Some(1), "{}", text(&second.stdout));
    assert!(text(&second.stdout).starts_with("skip"));
    sb.write("tree/target/junk.rs", "excluded change\n");
    assert_eq!(check().status.code(), Some(1), "excluded dirs do not count");
    sb.write("tree/src/a.rs", "fn a() { 1; }\n");
    let third = check();
    assert_eq!(third.status.code(), Some(0));
    assert!(
        text(&third.stdout).contains("src/a.rs"),
        "{}",
        text(&third.stdout)
    );
    sb.zcc_ok(&["fp", "mark-failure", "--cache-file", c]);
    assert_eq!(
        check().status.code(),
        Some(0),
        "after a failure the next check says run"
    );
    sb.zcc_ok(&["fp", "mark-success", "--cache-file", c]);
    assert_eq!(check().status.code(), Some(1));
    // The state survives a daemon restart.
    sb.zcc_ok(&["stop"]);
    assert_eq!(
        check().status.code(),
        Some(1),
        "state must survive a restart"
    );
    sb.zcc_ok(&["fp", "invalidate", "--cache-file", c]);
    assert_eq!(check().status.code(), Some(0));
}

fn runs(sb: &Sandbox) -> usize {
    std::fs::read_to_string(sb.path("runs.log"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

const TOOL: &str = "echo run >> runs.log; sleep 0.3; cat in.txt > out.txt; echo \"v=$MYVAR\"; echo \"home=${HOME:-unset}\"; echo err >&2; exit 3";

const EXEC_ARGS: [&str; 11] = [
    "exec",
    "--input-file",
    "in.txt",
    "--input-env",
    "MYVAR",
    "--output-file",
    "out.txt",
    "--",
    "sh",
    "-c",
    TOOL,
];

fn exec(sb: &Sandbox) -> std::process::Output {
    sb.zcc(&EXEC_ARGS)
}

#[test]
fn exec_hits_replays_outputs_and_misses_on_input_or_env_change() {
    let mut sb = Sandbox::new();
    sb.set_env("MYVAR", "a");
    sb.set_env("HOME", "/should/not/leak");
    sb.write("in.txt", "one\n");
    let first = exec(&sb);
    assert_eq!(first.status.code(), Some(3));
    assert_eq!(
        text(&first.stdout),
        "v=a\nhome=unset\n",
        "only declared env plus PATH reach the tool"
    );
    assert_eq!(text(&first.stderr), "err\n");
    assert_eq!(runs(&sb), 1);
    sb.remove("out.txt");
    let second = exec(&sb);
    assert_eq!(
        (
            second.status.code(),
            second.stdout.clone(),
            second.stderr.clone()
        ),
        (Some(3), first.stdout.clone(), first.stderr.clone())
    );
    assert_eq!(sb.read("out.txt"), b"one\n", "declared output restored");
    assert_eq!(runs(&sb), 1, "a hit does not run the tool");
    sb.write("in.txt", "two\n");
    exec(&sb);
    assert_eq!(
        (runs(&sb), sb.read("out.txt")),
        (2, b"two\n".to_vec()),
        "input file change misses"
    );
    sb.set_env("MYVAR", "b");
    let changed = exec(&sb);
    assert_eq!(runs(&sb), 3, "env change misses");
    assert_eq!(text(&changed.stdout), "v=b\nhome=unset\n");
}

#[test]
fn identical_concurrent_execs_run_the_tool_once() {
    let mut sb = Sandbox::new();
    sb.set_env("MYVAR", "c");
    sb.write("in.txt", "concurrent\n");
    sb.start();
    let args = EXEC_ARGS;
    let kids: Vec<_> = (0..4)
        .map(|_| {
            sb.zcc_cmd(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for k in kids {
        let out = k.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(text(&out.stdout), "v=c\nhome=unset\n");
    }
    assert_eq!(
        runs(&sb),
        1,
        "four identical concurrent execs must run the tool once"
    );
}

/// A tool that runs longer than the client's 10 s frame timeout: the
/// daemon's heartbeats keep the launcher waiting, so the tool runs once
/// (without them the launcher took the daemon for wedged, replaced it and
/// ran the tool a second time itself).
#[test]
fn exec_longer_than_the_frame_timeout_runs_the_tool_once() {
    let sb = Sandbox::new();
    sb.write("in.txt", "slow\n");
    sb.start();
    let pid = sb.daemon_pid_file();
    let tool = "echo run >> runs.log; sleep 12; cat in.txt > out.txt";
    let args = [
        "exec",
        "--input-file",
        "in.txt",
        "--output-file",
        "out.txt",
        "--",
        "sh",
        "-c",
        tool,
    ];
    let out = sb.zcc(&args);
    assert_ok(&out, "slow exec");
    assert_eq!(runs(&sb), 1, "the slow tool ran once");
    assert_eq!(sb.read("out.txt"), b"slow\n");
    assert_eq!(sb.daemon_pid_file(), pid, "the daemon was not replaced");
}
