//! Non-cacheable invocations run the real compiler unchanged and are counted
//! under non_cacheable with their reason.

use crate::harness::*;

const MAIN: &str = "#include <stdio.h>\nint add(int, int);\nint main(void) { printf(\"sum=%d\\n\", add(2, 3)); return 0; }\n";
const ADD: &str = "int add(int a, int b) { return a + b; }\n";

fn setup() -> Option<Sandbox> {
    if missing(&["gcc"]) {
        return None;
    }
    let sb = Sandbox::new();
    sb.write("main.c", MAIN);
    sb.write("add.c", ADD);
    sb.start();
    Some(sb)
}

#[test]
fn link_is_cached_and_compile_and_link_passes_through() {
    let Some(sb) = setup() else { return };
    sb.zcc_ok(&["gcc", "-c", "main.c", "-o", "main.o"]);
    sb.zcc_ok(&["gcc", "-c", "add.c", "-o", "add.o"]);
    // A link of objects is cached (tests/link.rs covers it in depth).
    sb.compile_expect(&["gcc", "main.o", "add.o", "-o", "app"], Outcome::Miss);
    let run = sb.run(sb.path("app").to_str().unwrap(), &[] as &[&str]);
    assert_ok(&run, "linked app");
    assert_eq!(text(&run.stdout), "sum=5\n");
    // Compile-and-link in one step (no -c) is not cacheable.
    sb.test()
        .zcc(["gcc", "main.c", "add.c", "-o", "app2"])
        .expect(Outcome::NonCacheable("compile_and_link"))
        .success()
        .run();
    let run = sb.run(sb.path("app2").to_str().unwrap(), &[] as &[&str]);
    assert_eq!(text(&run.stdout), "sum=5\n");
}

#[test]
fn link_error_exit_code_and_stderr_pass_through() {
    let Some(sb) = setup() else { return };
    sb.run("gcc", &["-c", "main.c", "-o", "main.o"]);
    let ran = sb
        .test()
        .zcc(["gcc", "main.o", "-o", "app"])
        .same_exit_code_as_bare()
        .same_stderr_as_bare()
        .run();
    assert!(
        !ran.bare_output().status.success(),
        "fixture: link without add.o must fail"
    );
    let c = sb.counters();
    assert_eq!(
        (c.hits, c.compile_failed),
        (0, 1),
        "failed links are not stored"
    );
}

#[test]
fn preprocess_only_passes_through() {
    let Some(sb) = setup() else { return };
    let pp = Outcome::NonCacheable("preprocess_only");
    let ran = sb
        .test()
        .zcc(["gcc", "-E", "-DX=1", "main.c"])
        .expect(pp)
        .success()
        .same_stdout_as_bare()
        .run();
    assert_ok(ran.bare_output(), "bare -E");
    // And to a file with -o.
    let step = sb.test().zcc(["gcc", "-E", "main.c", "-o", "main.i"]);
    step.expect(pp).same_as_bare("main.i").run();
}

#[test]
fn deps_only_passes_through() {
    let Some(sb) = setup() else { return };
    let ran = sb
        .test()
        .zcc(["gcc", "-MM", "main.c"])
        .expect(Outcome::NonCacheable("deps_only"))
        .same_stdout_as_bare()
        .run();
    assert_ok(ran.bare_output(), "bare -MM");
}

#[test]
fn stdin_source_passes_through() {
    let Some(sb) = setup() else { return };
    let z = ["gcc", "-x", "c", "-c", "-", "-o", "s.o"];
    let nc = Outcome::NonCacheable("stdin_input");
    for _ in 0..2 {
        let step = sb.test().zcc(z).stdin(ADD).expect(nc).success();
        step.same_as_bare("s.o").run();
    }
    // Different stdin, same argv: must be the new object, not a stale one.
    let other = "int add(int a, int b) { return a * b; }\n";
    let step = sb.test().zcc(z).stdin(other).success();
    step.same_as_bare("s.o").run();
}

/// `-c -o -`: gas cannot write an object to stdout, so the real compiler
/// fails; zccache must pass that failure through unchanged.
#[test]
fn object_to_stdout_passes_through() {
    let Some(sb) = setup() else { return };
    sb.test()
        .zcc(["gcc", "-c", "add.c", "-o", "-"])
        .expect(Outcome::NonCacheable("stdout_output"))
        .same_exit_code_as_bare()
        .same_stdout_as_bare()
        .same_stderr_as_bare()
        .run();
    // Assembly to stdout does work: same bytes as the bare compiler.
    let ran = sb
        .test()
        .zcc(["gcc", "-S", "add.c", "-o", "-"])
        .success()
        .same_stdout_as_bare()
        .run();
    assert_ok(ran.bare_output(), "bare -S -o -");
}

#[test]
fn compile_with_only_version_query_passes_through() {
    let Some(sb) = setup() else { return };
    let step = sb.test().zcc(["gcc", "--version"]).same_exit_code_as_bare();
    step.same_stdout_as_bare().run();
}
