//! `session-start` in the forms the README documents, run through real
//! shells (bash, dash, zsh; with and without a redirection, which decides
//! whether the shell forks a subshell for `$(...)`), Make and `cmake -P`.
//! Each form compiles in a later command, after the daemon's reaper has had
//! a tick to end a session tied to a short-lived parent, and after the
//! starting shell has exited; the session must still be open and must have
//! counted that compile. Also: the daemon does not stop for idleness while
//! a session is open.

use crate::harness::*;
use std::process::{Command, Output};
use std::time::Duration;

const SRC: &str = "int f(void) { return 42; }\n";

/// Longer than the daemon's reap tick (1 s).
const PAST_A_TICK: &str = "1.5";

/// The four shell forms: `export … $(…)` and `eval "$(… --shell)"`, each
/// without and with `2>&1`.
const SHELL_FORMS: [&str; 4] = [
    "export ZCCACHE_SESSION_ID=$(zccache session-start)",
    "export ZCCACHE_SESSION_ID=$(zccache session-start 2>&1)",
    "eval \"$(zccache session-start --shell)\"",
    "eval \"$(zccache session-start --shell 2>&1)\"",
];

/// A sandbox whose PATH finds `zccache` first, with `a.c` written.
fn sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    let bin = zccache_bin().parent().unwrap().to_path_buf();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin];
    dirs.extend(std::env::split_paths(&path));
    sb.set_env("PATH", std::env::join_paths(dirs).unwrap());
    sb.write("a.c", SRC);
    sb
}

/// Waits past a reap tick, then asserts session `id` is open and counted
/// exactly one compilation; ends it.
fn assert_one_compile(sb: &Sandbox, id: &str, form: &str) {
    assert!(
        id.starts_with("s-"),
        "{form}: no session id printed: {id:?}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    let out = sb.zcc(&["session-stats", id, "--json"]);
    assert_ok(
        &out,
        &format!("{form}: session-stats after its shell exited"),
    );
    let st: SessionStats = parse_json(&out.stdout, "session stats");
    assert_eq!(st.compilations, 1, "{form}: {st:?}");
    sb.zcc_ok(&["session-end", id]);
}

/// The last line of stdout (the script echoes the id last).
fn last_line(out: &Output) -> String {
    text(&out.stdout)
        .lines()
        .last()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Runs the four forms in `shell`, concurrently, each as its own script:
/// start, wait past a reap tick, compile in a later command, echo the id.
fn shell_forms_count_a_later_compile(shell: &str) {
    if missing(&[shell, "gcc"]) {
        return;
    }
    let sb = sandbox();
    sb.start();
    let kids: Vec<_> = SHELL_FORMS
        .iter()
        .enumerate()
        .map(|(i, form)| {
            let script = format!(
                "{form}\nsleep {PAST_A_TICK}\nzccache gcc -c a.c -o {shell}{i}.o\n\
                 echo \"$ZCCACHE_SESSION_ID\"\n"
            );
            let mut c = sb.command(shell);
            c.args(["-c", &script]);
            (form, spawn_piped(&mut c))
        })
        .collect();
    for (form, kid) in kids {
        let out = kid.wait_with_output().unwrap();
        let what = format!("{shell}: {form}");
        assert_ok(&out, &what);
        assert_one_compile(&sb, &last_line(&out), &what);
    }
}

fn spawn_piped(c: &mut Command) -> std::process::Child {
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn bash_forms_count_a_later_compile() {
    shell_forms_count_a_later_compile("bash");
}

#[test]
fn dash_forms_count_a_later_compile() {
    shell_forms_count_a_later_compile("dash");
}

#[test]
fn zsh_forms_count_a_later_compile() {
    shell_forms_count_a_later_compile("zsh");
}

/// The README's Make form: one session per `make` run, started when the
/// Makefile is read (an outer session, e.g. from the shell, is kept), with
/// a journal.
const MAKEFILE: &str = "\
ifndef ZCCACHE_SESSION_ID
export ZCCACHE_SESSION_ID := $(shell zccache session-start --journal session.jsonl)
endif

all:
\tsleep 1.5
\tzccache gcc -c a.c -o make.o
\techo $(ZCCACHE_SESSION_ID) > make.id
";

/// Started in one recipe line, compiled in another (each line has its own
/// shell: the id goes through a file).
const RECIPE_LINES: &str = "\
all:
\tzccache session-start > lines.id
\tsleep 1.5
\tZCCACHE_SESSION_ID=$$(cat lines.id) zccache gcc -c a.c -o lines.o
";

#[test]
fn make_forms_count_their_compiles_and_journal_them() {
    if missing(&["make", "gcc"]) {
        return;
    }
    let sb = sandbox();
    sb.write("Makefile", MAKEFILE);
    sb.write("lines.mk", RECIPE_LINES);
    assert_ok(&sb.run("make", &["-s"]), "make (Makefile form)");
    let id = text(&sb.read("make.id")).trim().to_string();
    let journal = sb.path("session.jsonl");
    let one_line = || {
        std::fs::read_to_string(&journal)
            .map(|t| t.lines().count() == 1)
            .unwrap_or(false)
    };
    assert!(
        wait_until(Duration::from_secs(10), one_line),
        "the session's journal gets the compile"
    );
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&journal).unwrap().trim()).unwrap();
    assert_eq!(line["session"], id.as_str(), "{line}");
    assert_one_compile(&sb, &id, "Makefile $(shell zccache session-start)");
    assert_ok(
        &sb.run("make", &["-s", "-f", "lines.mk"]),
        "make -f lines.mk",
    );
    let id = text(&sb.read("lines.id")).trim().to_string();
    assert_one_compile(&sb, &id, "session-start in one recipe line");
}

/// The README's CMake script form.
const CMAKE_SCRIPT: &str = r#"
execute_process(COMMAND zccache session-start
  OUTPUT_VARIABLE sid OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "zccache session-start failed")
endif()
set(ENV{ZCCACHE_SESSION_ID} "${sid}")
execute_process(COMMAND sleep 1.5)
execute_process(COMMAND zccache gcc -c a.c -o cmake.o RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compile failed")
endif()
file(WRITE "${CMAKE_CURRENT_LIST_DIR}/cmake.id" "${sid}")
"#;

#[test]
fn cmake_script_form_counts_its_compile() {
    if missing(&["cmake", "gcc"]) {
        return;
    }
    let sb = sandbox();
    sb.write("session.cmake", CMAKE_SCRIPT);
    assert_ok(&sb.run("cmake", &["-P", "session.cmake"]), "cmake -P");
    let id = text(&sb.read("cmake.id")).trim().to_string();
    assert_one_compile(&sb, &id, "cmake -P execute_process(session-start)");
}

#[test]
fn an_open_session_keeps_the_idle_daemon_alive_until_it_ends() {
    let mut sb = sandbox();
    sb.set_env("ZCCACHE_IDLE_TIMEOUT", "1");
    let id = text(&sb.zcc_ok(&["session-start"]).stdout)
        .trim()
        .to_string();
    let pid = sb
        .daemon_pid_file()
        .expect("daemon.pid after session-start");
    std::thread::sleep(Duration::from_secs(4));
    assert!(pid_alive(pid), "the daemon stopped under an open session");
    sb.zcc_ok(&["session-stats", &id]);
    sb.zcc_ok(&["session-end", &id]);
    assert!(
        wait_until(Duration::from_secs(60), || !pid_alive(pid)),
        "daemon {pid} still running after its last session ended"
    );
}
