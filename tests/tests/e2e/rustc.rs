//! rustc through zccache as cargo's `RUSTC_WRAPPER`, on a fixture workspace
//! (path deps, build script, proc-macro, bin, feature, `env!`,
//! `include_str!`): warm builds hit and match uncached bytes, every input
//! change misses exactly the affected crates, check and build coexist, and
//! compile errors replay.

use crate::harness::*;
use std::process::Command;

/// Units the fixture compiles in a `cargo build`: util's build script,
/// util, pm (proc-macro) and app (bin).
const UNITS: u64 = 4;
/// Units of a `cargo build --release`: cargo builds pm twice there (as a
/// dependency and under the build-override profile).
const RELEASE_UNITS: u64 = 5;

fn fixture() -> Option<Sandbox> {
    if missing(&["cargo", "rustc", "cc"]) {
        return None;
    }
    let mut sb = Sandbox::new();
    sb.cargo_fixture();
    sb.start();
    Some(sb)
}

/// Build, then assert the hit/miss delta and the app's output.
fn step(sb: &Sandbox, args: &[&str], expect: (u64, u64), output: &str, what: &str) {
    let before = sb.counters();
    let out = sb.cargo(args);
    assert_ok(&out, what);
    assert_eq!(
        delta(before, sb.counters()),
        expect,
        "{what}: (hits, misses)\n{}",
        text(&out.stderr)
    );
    let profile = if args.contains(&"--release") {
        "release"
    } else {
        "debug"
    };
    let profile = if args.contains(&"--target") {
        format!("x86_64-unknown-linux-gnu/{profile}")
    } else {
        profile.to_string()
    };
    assert_eq!(sb.run_app(&profile), output, "{what}: app output");
}

#[test]
fn warm_build_after_clean_hits_matches_bare_and_is_fresh() {
    let Some(sb) = fixture() else { return };
    sb.cargo_bare(&["build"]);
    let bare = std::fs::read(sb.target("debug/app")).unwrap();
    sb.cargo_bare(&["clean"]);
    let cold = sb.cargo_ok(&["build"]);
    assert!(
        !text(&cold.stderr).contains("jobserver"),
        "{}",
        text(&cold.stderr)
    );
    sb.cargo_bare(&["clean"]);
    step(&sb, &["build"], (UNITS, 0), APP_OUTPUT, "warm");
    assert_same(
        &std::fs::read(sb.target("debug/app")).unwrap(),
        &bare,
        "app",
    );
    let out = sb.cargo_ok(&["build", "-v"]);
    let err = text(&out.stderr);
    assert!(
        !err.contains("Compiling") && !err.contains("Dirty"),
        "{err}"
    );
    assert!(err.contains("Fresh app"), "{err}");
    let stray: Vec<_> = std::fs::read_dir(sb.target("debug/deps"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("zccache"))
        .collect();
    assert!(stray.is_empty(), "stray files: {stray:?}");
}

/// Apply a change, build (misses), undo it, build (hits).
fn change_and_undo(sb: &mut Sandbox, change: &Change, n: u64) {
    let what = change.name;
    (change.apply)(sb, true);
    step(sb, &change.args, (0, n), change.output, what);
    (change.apply)(sb, false);
    // Undone, every rebuilt crate hits (cargo may keep both variants, e.g.
    // per feature set, and rebuild nothing).
    let before = sb.counters();
    let out = sb.cargo_ok(&["build"]);
    let (hits, misses) = delta(before, sb.counters());
    assert!(
        misses == 0 && hits <= n,
        "{what} undone: {hits} hits, {misses} misses\n{}",
        text(&out.stderr)
    );
    assert_eq!(sb.run_app("debug"), APP_OUTPUT, "{what} undone");
}

struct Change {
    name: &'static str,
    apply: fn(&mut Sandbox, bool),
    args: Vec<&'static str>,
    output: &'static str,
}

fn edit(sb: &mut Sandbox, path: &str, from: &str, to: &str, on: bool) {
    let (a, b) = if on { (from, to) } else { (to, from) };
    let text = String::from_utf8(sb.read(path)).unwrap().replace(a, b);
    sb.write(path, text);
}

#[test]
fn each_input_change_misses_exactly_the_affected_crates() {
    let Some(mut sb) = fixture() else { return };
    step(&sb, &["build"], (0, UNITS), APP_OUTPUT, "cold");
    let changes = [
        (
            Change {
                name: "source edit",
                apply: |sb, on| edit(sb, "util/src/lib.rs", "\"plain\"", "\"plain2\"", on),
                args: vec!["build"],
                output: "data-v1 hi generated plain2 42\n",
            },
            2,
        ),
        (
            Change {
                name: "include_str file",
                apply: |sb, on| edit(sb, "util/src/data.txt", "v1", "v2", on),
                args: vec!["build"],
                output: "data-v2 hi generated plain 42\n",
            },
            2,
        ),
        (
            Change {
                name: "env! variable",
                apply: |sb, on| sb.set_env("ZC_GREETING", if on { "yo" } else { "hi" }),
                args: vec!["build"],
                output: "data-v1 yo generated plain 42\n",
            },
            2,
        ),
        (
            Change {
                name: "feature",
                apply: |_, _| {},
                args: vec!["build", "--features", "util/extra"],
                output: "data-v1 hi generated extra 42\n",
            },
            3,
        ),
        (
            Change {
                name: "dependency version",
                apply: |sb, on| edit(sb, "util/Cargo.toml", "0.1.0", "0.1.1", on),
                args: vec!["build"],
                output: APP_OUTPUT,
            },
            3,
        ),
        (
            Change {
                name: "RUSTFLAGS",
                apply: |sb, on| sb.set_env("RUSTFLAGS", if on { "--cfg zc_flag" } else { "" }),
                args: vec!["build"],
                output: APP_OUTPUT,
            },
            UNITS,
        ),
        (
            Change {
                name: "rustc version",
                apply: |sb, on| match (on, nightly_rustc()) {
                    (true, Some(r)) => sb.set_env("RUSTC", r),
                    _ => {
                        sb.env.remove("RUSTC");
                    }
                },
                args: vec!["build"],
                output: APP_OUTPUT,
            },
            UNITS,
        ),
    ];
    for (change, n) in &changes {
        if change.name == "rustc version" && nightly_rustc().is_none() {
            eprintln!("skipping the rustc version change: no second toolchain");
            continue;
        }
        change_and_undo(&mut sb, change, *n);
    }
}

#[test]
fn profile_and_target_changes_miss_then_hit() {
    let Some(sb) = fixture() else { return };
    step(&sb, &["build"], (0, UNITS), APP_OUTPUT, "cold");
    step(
        &sb,
        &["build", "--release"],
        (0, RELEASE_UNITS),
        APP_OUTPUT,
        "release",
    );
    let target = ["build", "--target", "x86_64-unknown-linux-gnu"];
    let before = sb.counters();
    let out = sb.cargo_ok(&target);
    let (_, misses) = delta(before, sb.counters());
    // util and app are built for the explicit target (other args, other
    // out-dir); host units (build script, proc-macro) may be reused.
    assert!(
        misses >= 2,
        "--target misses: {misses}\n{}",
        text(&out.stderr)
    );
    sb.cargo_bare(&["clean"]);
    step(
        &sb,
        &["build", "--release"],
        (RELEASE_UNITS, 0),
        APP_OUTPUT,
        "release warm",
    );
    step(&sb, &target, (UNITS, 0), APP_OUTPUT, "target warm");
}

/// A second rustc (another toolchain) to simulate a rustc upgrade.
fn nightly_rustc() -> Option<std::path::PathBuf> {
    let home = std::env::var_os("RUSTUP_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".rustup")))?;
    let current = text(&run_cmd(Command::new("rustc").arg("-V"), None).stdout);
    std::fs::read_dir(home.join("toolchains"))
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin/rustc"))
        .filter(|p| p.is_file())
        .find(|p| text(&run_cmd(Command::new(p).arg("-V"), None).stdout) != current)
}
