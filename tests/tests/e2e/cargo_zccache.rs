//! `cargo zccache`: runs cargo through the cache in a non-terminal (no
//! bar), prints the end report, passes cargo's exit code through, explains
//! `CARGO_INCREMENTAL=0` once, and `setup` writes `build.rustc-wrapper`.

use crate::harness::*;
use std::process::{Command, Output};

fn cargo_zccache(sb: &Sandbox, args: &[&str]) -> Output {
    let mut c: Command = sb.command(cargo_zccache_bin());
    // As cargo runs external subcommands: argv[1] is the subcommand name.
    c.arg("zccache").args(args).env_remove("CARGO_INCREMENTAL");
    run_cmd(&mut c, None)
}

#[test]
fn build_prints_the_report_and_passes_exit_codes_through() {
    if missing(&["cargo", "rustc", "cc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.cargo_fixture();
    let cold = cargo_zccache(&sb, &["build", "--offline"]);
    assert_ok(&cold, "cargo zccache build");
    let err = text(&cold.stderr);
    assert!(err.contains("CARGO_INCREMENTAL=0"), "{err}");
    assert!(
        err.contains("zccache: 4 compile units: 0 hits, 4 misses, 0 non-cacheable"),
        "{err}"
    );
    assert!(err.contains("misses: first_compile 4"), "{err}");
    sb.cargo_bare(&["clean"]);
    let warm = cargo_zccache(&sb, &["build", "--offline"]);
    assert_ok(&warm, "warm cargo zccache build");
    let err = text(&warm.stderr);
    assert!(!err.contains("CARGO_INCREMENTAL=0"), "note repeated: {err}");
    assert!(err.contains("4 compile units: 4 hits, 0 misses"), "{err}");
    assert_eq!(sb.run_app("debug"), APP_OUTPUT);
    sb.write("app/src/main.rs", "fn main() { let x: u32 = \"no\"; }\n");
    let failed = cargo_zccache(&sb, &["build", "--offline"]);
    let mut bare = sb.command("cargo");
    bare.args(["build", "--offline"]);
    let bare = run_cmd(&mut bare, None);
    assert_eq!(failed.status.code(), bare.status.code());
    assert_eq!(failed.status.code(), Some(101));
    assert!(text(&failed.stderr).contains("mismatched types"));
}

#[test]
fn setup_writes_the_rustc_wrapper_and_keeps_other_settings() {
    if missing(&["cargo"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.cargo_fixture();
    sb.write(".cargo/config.toml", "[build]\njobs = 2\n");
    let out = cargo_zccache(&sb, &["setup"]);
    assert_ok(&out, "cargo zccache setup");
    let config = text(&sb.read(".cargo/config.toml"));
    assert!(config.contains("jobs = 2"), "{config}");
    let wrapper = zccache_bin().display().to_string();
    assert!(
        config.contains(&format!("rustc-wrapper = \"{wrapper}\"")),
        "{config}"
    );
}

#[test]
fn cc_routes_build_script_c_compiles_through_the_cache() {
    if missing(&["cargo", "rustc", "cc"]) {
        return;
    }
    let mut sb = Sandbox::new();
    sb.set_env("CARGO_TARGET_DIR", sb.root.join("target"));
    sb.write(
        "Cargo.toml",
        "[package]\nname = \"withc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    sb.write("src/lib.rs", "pub fn f() {}\n");
    sb.write("c/x.c", "int x(void) { return 1; }\n");
    // What cc-rs does: run $CC on the C sources into OUT_DIR.
    sb.write(
        "build.rs",
        "fn main() {\n    let cc = std::env::var(\"CC\").unwrap_or(\"cc\".into());\n    \
         let out = format!(\"{}/x.o\", std::env::var(\"OUT_DIR\").unwrap());\n    \
         let ok = std::process::Command::new(cc).args([\"-c\", \"c/x.c\", \"-o\", &out])\
         .status().unwrap().success();\n    assert!(ok);\n}\n",
    );
    assert_ok(&cargo_zccache(&sb, &["--cc", "build", "--offline"]), "cold");
    let cold = sb.stats();
    assert!(cold.miss_reason("first_compile") >= 3, "{cold}");
    sb.cargo_bare(&["clean"]);
    let out = cargo_zccache(&sb, &["--cc", "build", "--offline"]);
    assert_ok(&out, "warm");
    // build script + lib + the C compile.
    assert!(
        text(&out.stderr).contains("3 hits, 0 misses"),
        "{}",
        text(&out.stderr)
    );
}
