//! Warnings and errors come out with the same bytes and exit code, cached or
//! not; failed compiles are never stored as successes.

use crate::harness::*;

const WARN_SRC: &str = "int f(int x) {\n  int unused = 3;\n  return x;\n}\n";
const PRINTF_SRC: &str =
    "#include \"w.h\"\n#include <stdio.h>\nvoid p(long v) { printf(\"%d\\n\", v); }\n";
const ERR_SRC: &str = "int f(int x) {\n  return x +;\n}\nint g(void) { return undeclared; }\n";

fn warning_replayed(cc: &str) {
    if missing(&[cc]) {
        return;
    }
    let z = [cc, "-Wall", "-Wextra", "-c", "w.c", "-o", "w.o"];
    let mut step = Test::new().file("w.c", WARN_SRC);
    for outcome in [Outcome::Miss, Outcome::Hit] {
        let ran = step
            .zcc(z)
            .expect(outcome)
            .same_stderr_as_bare()
            .same_stdout_as_bare()
            .same_as_bare("w.o")
            .run();
        let bare = ran.bare_output();
        assert!(
            text(&bare.stderr).contains("unused"),
            "fixture: {cc} should warn about the unused variable: {}",
            text(&bare.stderr)
        );
        let code = ran.out.status.code();
        assert_eq!(code, Some(0), "{cc} warning compile exit code ({outcome})");
        step = ran.then();
    }
}

#[test]
fn gcc_warning_replayed_byte_for_byte() {
    warning_replayed("gcc");
}

#[test]
fn clang_warning_replayed_byte_for_byte() {
    warning_replayed("clang");
}

/// Warnings from a header and from a multi-line diagnostic with a caret.
#[test]
fn header_warning_with_fixits_replayed() {
    if missing(&["gcc"]) {
        return;
    }
    let z = ["gcc", "-Wall", "-Iinc", "-c", "w.c", "-o", "w.o"];
    let ran = Test::new()
        .file("inc/w.h", "static int helper(void) { return 1; }\n")
        .file("w.c", PRINTF_SRC)
        .zcc(z)
        .expect(Outcome::Miss)
        .run()
        .then()
        .zcc(z)
        .expect(Outcome::Hit)
        .same_stderr_as_bare()
        .remove("w.o")
        .run();
    let bare = ran.bare_output();
    assert!(!bare.stderr.is_empty(), "fixture: expected warnings");
}

fn error_replayed(cc: &str) {
    if missing(&[cc]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("e.c", ERR_SRC);
    sb.start();
    let args = ["-Wall", "-c", "e.c", "-o", "e.o"];
    let bare = sb.run(cc, &args);
    assert!(!bare.status.success(), "fixture: {cc} must fail on e.c");
    assert!(
        !sb.exists("e.o"),
        "fixture: bare failed compile left an object"
    );
    let mut z = vec![cc];
    z.extend_from_slice(&args);
    for round in 1..=2 {
        let c0 = sb.counters();
        let out = sb.zcc(&z);
        let c1 = sb.counters();
        let what = format!("{cc} failing compile, run {round}");
        assert_eq!(out.status.code(), bare.status.code(), "{what}: exit code");
        assert_same(&out.stderr, &bare.stderr, &format!("{what}: stderr"));
        assert_same(&out.stdout, &bare.stdout, &format!("{what}: stdout"));
        assert_eq!(c1.hits, c0.hits, "{what}: counted as a hit: {}", sb.stats());
        assert!(!sb.exists("e.o"), "{what}: an object was created");
    }
    // Fixing the source gives a good build, and a second one hits.
    sb.write("e.c", "int f(int x) { return x + 1; }\n");
    for outcome in [Outcome::Miss, Outcome::Hit] {
        sb.test().zcc(&z).expect(outcome).same_as_bare("e.o").run();
    }
}

#[test]
fn gcc_error_replayed_and_not_stored() {
    error_replayed("gcc");
}

#[test]
fn clang_error_replayed_and_not_stored() {
    error_replayed("clang");
}

/// A failed compile must not leave the old object of a previous success in
/// place as if it were fresh, nor restore it later.
#[test]
fn failure_after_success_is_not_served_old_object() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("e.c", "int f(int x) { return x; }\n");
    sb.start();
    let z = ["gcc", "-c", "e.c", "-o", "e.o"];
    sb.zcc_ok(&z);
    sb.remove("e.o");
    sb.write("e.c", ERR_SRC);
    let step = sb.test().zcc(z).same_exit_code_as_bare();
    step.same_stderr_as_bare().run();
    assert!(!sb.exists("e.o"), "failing compile produced an object");
}

/// An error in a multi-file compile: the good file's object and the exit
/// code match the bare compiler.
#[test]
fn multi_file_with_one_error() {
    if missing(&["gcc"]) {
        return;
    }
    let sb = Sandbox::new();
    sb.write("ok.c", "int ok(void) { return 1; }\n");
    sb.write("bad.c", ERR_SRC);
    sb.start();
    let args = ["-c", "ok.c", "bad.c"];
    let bare = sb.run("gcc", &args);
    assert!(!bare.status.success());
    let ok_bare = sb.read("ok.o");
    sb.remove("ok.o");
    for round in 1..=2 {
        let out = sb.zcc(&["gcc", "-c", "ok.c", "bad.c"]);
        assert_eq!(
            out.status.code(),
            bare.status.code(),
            "exit code, run {round}"
        );
        assert_same(&out.stderr, &bare.stderr, &format!("stderr, run {round}"));
        assert_same(&sb.read("ok.o"), &ok_bare, &format!("ok.o, run {round}"));
        assert!(!sb.exists("bad.o"), "bad.o created, run {round}");
        sb.remove("ok.o");
    }
}
