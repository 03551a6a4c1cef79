//! Non-cacheable invocations run the real compiler unchanged and are counted
//! under non_cacheable with their reason.

use crate::harness::*;

const MAIN: &str = "#include <stdio.h>\nint add(int, int);\nint main(void) { printf(\"sum=%d\\n\", add(2, 3)); return 0; }\n";
const ADD: &str = "int add(int a, int b) { return a + b; }\n";

/// Runs `zccache <z>` and asserts non_cacheable +1 with `reason`, no hit and
/// no miss. Returns the run's output.
fn expect_nc(sb: &Sandbox, z: &[&str], input: Option<&[u8]>, reason: &str) -> std::process::Output {
    let s0 = sb.stats();
    let out = run_cmd(&mut sb.zcc_cmd(z), input);
    let s1 = sb.stats();
    let (c0, c1) = (Counters::from_json(&s0), Counters::from_json(&s1));
    assert_eq!(
        c1.non_cacheable,
        c0.non_cacheable + 1,
        "`zccache {z:?}` non_cacheable: {s1}"
    );
    assert_eq!(
        (c1.hits, c1.misses),
        (c0.hits, c0.misses),
        "`zccache {z:?}` hit/miss: {s1}"
    );
    let r = |s| reason_count(s, "non_cacheable_by_reason", reason);
    assert_eq!(r(&s1), r(&s0) + 1, "`zccache {z:?}` reason {reason}: {s1}");
    out
}

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
    sb.compile_expect(&["gcc", "main.o", "add.o", "-o", "app"], "miss");
    let run = sb.run(sb.path("app").to_str().unwrap(), &[] as &[&str]);
    assert_ok(&run, "linked app");
    assert_eq!(text(&run.stdout), "sum=5\n");
    // Compile-and-link in one step (no -c) is not cacheable.
    let out = expect_nc(
        &sb,
        &["gcc", "main.c", "add.c", "-o", "app2"],
        None,
        "compile_and_link",
    );
    assert_ok(&out, "zccache gcc compile+link");
    let run = sb.run(sb.path("app2").to_str().unwrap(), &[] as &[&str]);
    assert_eq!(text(&run.stdout), "sum=5\n");
}

#[test]
fn link_error_exit_code_and_stderr_pass_through() {
    let Some(sb) = setup() else { return };
    sb.run("gcc", &["-c", "main.c", "-o", "main.o"]);
    let bare = sb.run("gcc", &["main.o", "-o", "app"]);
    assert!(
        !bare.status.success(),
        "fixture: link without add.o must fail"
    );
    let out = sb.zcc(&["gcc", "main.o", "-o", "app"]);
    assert_eq!(out.status.code(), bare.status.code());
    assert_same(&out.stderr, &bare.stderr, "link error stderr");
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
    let bare = sb.run("gcc", &["-E", "-DX=1", "main.c"]);
    assert_ok(&bare, "bare -E");
    let out = expect_nc(
        &sb,
        &["gcc", "-E", "-DX=1", "main.c"],
        None,
        "preprocess_only",
    );
    assert_ok(&out, "zccache gcc -E");
    assert_same(&out.stdout, &bare.stdout, "-E stdout");
    // And to a file with -o.
    let (_, b) = sb.bare("gcc", &["-E", "main.c", "-o", "main.i"], &["main.i"]);
    expect_nc(
        &sb,
        &["gcc", "-E", "main.c", "-o", "main.i"],
        None,
        "preprocess_only",
    );
    assert_same(&sb.read("main.i"), &b[0], "main.i");
}

#[test]
fn deps_only_passes_through() {
    let Some(sb) = setup() else { return };
    let bare = sb.run("gcc", &["-MM", "main.c"]);
    assert_ok(&bare, "bare -MM");
    let out = expect_nc(&sb, &["gcc", "-MM", "main.c"], None, "deps_only");
    assert_same(&out.stdout, &bare.stdout, "-MM stdout");
}

#[test]
fn stdin_source_passes_through() {
    let Some(sb) = setup() else { return };
    let src = ADD.as_bytes();
    let mut bare_cmd = sb.command("gcc");
    bare_cmd.args(["-x", "c", "-c", "-", "-o", "s.o"]);
    let bare = run_cmd(&mut bare_cmd, Some(src));
    assert_ok(&bare, "bare stdin compile");
    let want = sb.read("s.o");
    sb.remove("s.o");
    for _ in 0..2 {
        let out = expect_nc(
            &sb,
            &["gcc", "-x", "c", "-c", "-", "-o", "s.o"],
            Some(src),
            "stdin_input",
        );
        assert_ok(&out, "zccache stdin compile");
        assert_same(&sb.read("s.o"), &want, "stdin object");
        sb.remove("s.o");
    }
    // Different stdin, same argv: must be the new object, not a stale one.
    let other = b"int add(int a, int b) { return a * b; }\n";
    let mut bare_cmd = sb.command("gcc");
    bare_cmd.args(["-x", "c", "-c", "-", "-o", "s.o"]);
    assert_ok(&run_cmd(&mut bare_cmd, Some(other)), "bare stdin 2");
    let want2 = sb.read("s.o");
    sb.remove("s.o");
    let out = run_cmd(
        &mut sb.zcc_cmd(&["gcc", "-x", "c", "-c", "-", "-o", "s.o"]),
        Some(other),
    );
    assert_ok(&out, "zccache stdin compile 2");
    assert_same(&sb.read("s.o"), &want2, "second stdin object");
}

/// `-c -o -`: gas cannot write an object to stdout, so the real compiler
/// fails; zccache must pass that failure through unchanged.
#[test]
fn object_to_stdout_passes_through() {
    let Some(sb) = setup() else { return };
    let bare = sb.run("gcc", &["-c", "add.c", "-o", "-"]);
    let out = expect_nc(
        &sb,
        &["gcc", "-c", "add.c", "-o", "-"],
        None,
        "stdout_output",
    );
    assert_eq!(out.status.code(), bare.status.code(), "-o - exit code");
    assert_same(&out.stdout, &bare.stdout, "-o - stdout");
    assert_same(&out.stderr, &bare.stderr, "-o - stderr");
    // Assembly to stdout does work: same bytes as the bare compiler.
    let bare = sb.run("gcc", &["-S", "add.c", "-o", "-"]);
    assert_ok(&bare, "bare -S -o -");
    let out = sb.zcc(&["gcc", "-S", "add.c", "-o", "-"]);
    assert_ok(&out, "zccache gcc -S -o -");
    assert_same(&out.stdout, &bare.stdout, "-S -o - stdout");
}

#[test]
fn compile_with_only_version_query_passes_through() {
    let Some(sb) = setup() else { return };
    let bare = sb.run("gcc", &["--version"]);
    let out = sb.zcc(&["gcc", "--version"]);
    assert_eq!(out.status.code(), bare.status.code());
    assert_same(&out.stdout, &bare.stdout, "gcc --version stdout");
}
