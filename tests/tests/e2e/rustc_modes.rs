//! rustc caching across modes: `cargo check` and `cargo build` share a
//! cache without poisoning each other, compile errors replay exactly
//! (rendered and JSON diagnostics, exit code) until an input changes, and
//! incremental compiles are passed through with a named reason.

use crate::harness::*;

fn fixture() -> Option<Sandbox> {
    if missing(&["cargo", "rustc", "cc"]) {
        return None;
    }
    let mut sb = Sandbox::new();
    sb.cargo_fixture();
    sb.start();
    Some(sb)
}

#[test]
fn check_and_build_do_not_poison_each_other() {
    let Some(sb) = fixture() else { return };
    sb.cargo_ok(&["check"]);
    sb.cargo_ok(&["build"]);
    assert_eq!(sb.run_app("debug"), APP_OUTPUT);
    let after_cold = sb.counters();
    sb.cargo_bare(&["clean"]);
    sb.cargo_ok(&["check"]);
    let after_check = sb.counters();
    assert_eq!(after_check.misses, after_cold.misses, "warm check missed");
    assert!(after_check.hits > after_cold.hits);
    sb.cargo_ok(&["build"]);
    let after_build = sb.counters();
    assert_eq!(after_build.misses, after_cold.misses, "warm build missed");
    assert_eq!(sb.run_app("debug"), APP_OUTPUT);
    let out = sb.cargo_ok(&["build", "-v"]);
    assert!(
        text(&out.stderr).contains("Fresh app"),
        "{}",
        text(&out.stderr)
    );
}

const BROKEN: &str = "pub fn broken() -> u32 { \"not a number\" }\n";

#[test]
fn compile_errors_replay_until_the_source_changes() {
    let Some(sb) = fixture() else { return };
    sb.cargo_ok(&["check"]);
    let lib = String::from_utf8(sb.read("util/src/lib.rs")).unwrap();
    sb.write("util/src/lib.rs", format!("{lib}{BROKEN}"));
    let json = ["check", "--message-format=json"];
    let first = sb.cargo(&json);
    assert_eq!(first.status.code(), Some(101), "{}", text(&first.stderr));
    let c1 = sb.counters();
    assert_eq!(c1.compile_failed, 1);
    let second = sb.cargo(&json);
    let c2 = sb.counters();
    assert_eq!((c2.hits - c1.hits, c2.misses - c1.misses), (1, 0));
    assert_eq!(second.status.code(), first.status.code());
    assert_eq!(
        text(&second.stdout),
        text(&first.stdout),
        "JSON diagnostics"
    );
    assert!(text(&second.stdout).contains("mismatched types"));
    let rendered = sb.cargo(&["check"]);
    assert_eq!(rendered.status.code(), Some(101));
    assert!(text(&rendered.stderr).contains("mismatched types"));
    sb.write("util/src/lib.rs", lib);
    sb.cargo_ok(&["check"]);
    assert_eq!(
        sb.counters().compile_failed,
        1,
        "fixed source served an error"
    );
}

#[test]
fn incremental_compiles_are_not_cached() {
    let Some(mut sb) = fixture() else { return };
    sb.set_env("CARGO_INCREMENTAL", "1");
    sb.cargo_ok(&["build"]);
    let stats = sb.stats();
    assert!(stats.nc_reason("rustc_incremental") >= 3, "{stats}");
    assert_eq!(sb.run_app("debug"), APP_OUTPUT);
}

#[test]
fn errors_about_missing_inputs_are_not_replayed_once_they_exist() {
    let Some(sb) = fixture() else { return };
    let lib = String::from_utf8(sb.read("util/src/lib.rs")).unwrap();
    sb.write(
        "util/src/lib.rs",
        format!("{lib}mod later;\npub const LATER: &str = include_str!(\"later.txt\");\n"),
    );
    assert_eq!(sb.cargo(&["check"]).status.code(), Some(101));
    assert_eq!(sb.cargo(&["check"]).status.code(), Some(101));
    sb.write("util/src/later.rs", "");
    sb.write("util/src/later.txt", "now here");
    sb.cargo_ok(&["check"]);
}
