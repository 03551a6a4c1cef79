//! Shared harness for the end-to-end tests: builds the `zccache` binary once per
//! test process, gives every test its own [`Sandbox`] (cache dir + work dir),
//! runs commands with a hang guard ([`process`]), stops the sandbox's daemon on
//! drop, reads `zccache stats --json` as typed [`Stats`], and offers the fluent
//! [`Test`] builder for compile-and-check steps.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

mod cargo;
pub mod distcc;
pub mod icecream;
mod make;
mod outcome;
mod process;
pub mod reapi;
pub mod rust_source;
mod sandbox;
pub mod servers;
mod stats;
mod test_builder;
mod third_party;

#[allow(unused_imports)]
pub use cargo::*;
#[allow(unused_imports)]
pub use make::*;
pub use outcome::Outcome;
pub use process::*;
pub use sandbox::Sandbox;
pub use stats::{parse_json, Counters, SessionStats, Stats};
pub use test_builder::Test;
pub use third_party::third_party;

// ---------------------------------------------------------------- binary

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate has a parent dir")
        .to_path_buf()
}

/// Path of the lean `zccache` launcher, built once per test process
/// together with the full program `zccache-daemon` next to it (every test
/// goes through both, as an installation does).
pub fn zccache_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build_zccache)
}

fn build_zccache() -> PathBuf {
    build_bin("zccache-core", "zccache-daemon");
    build_bin("zccache-launcher", "zccache")
}

/// Path of the full program `zccache-daemon` (next to [`zccache_bin`]).
pub fn zccache_daemon_bin() -> PathBuf {
    zccache_bin().with_file_name("zccache-daemon")
}

/// Path of the `cargo-zccache` binary (next to `zccache`), built once per
/// test process.
pub fn cargo_zccache_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        zccache_bin();
        build_bin("cargo-zccache", "cargo-zccache")
    })
}

fn build_bin(package: &str, name: &str) -> PathBuf {
    let root = workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let release = !cfg!(debug_assertions);
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "-p", package, "--bin", name]);
    if release {
        cmd.arg("--release");
    }
    let out = cmd
        .output()
        .expect("failed to spawn cargo to build the zccache binary");
    if !out.status.success() {
        panic!(
            "building {name} (`cargo build -p {package} --bin {name}`) failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"));
    let bin = target
        .join(if release { "release" } else { "debug" })
        .join(name);
    assert!(
        bin.is_file(),
        "{name} binary not found at {}",
        bin.display()
    );
    bin
}

// ---------------------------------------------------------------- tools

/// Full path of a tool on PATH, or None.
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Copies the directory tree `from` into `to` (created as needed), files
/// by content; panics on any I/O error.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Returns true (after printing a skip note) when any tool is missing.
pub fn missing(tools: &[&str]) -> bool {
    for t in tools {
        if which(t).is_none() {
            eprintln!("skipping: {t} not found");
            return true;
        }
    }
    false
}

/// Asserts two byte strings are equal without dumping object files.
pub fn assert_same(actual: &[u8], expected: &[u8], what: &str) {
    if actual != expected {
        let first = actual.iter().zip(expected).position(|(a, b)| a != b);
        let show = |b: &[u8]| {
            if b.len() < 4096 && std::str::from_utf8(b).is_ok() {
                format!("{:?}", text(b))
            } else {
                format!("<{} bytes>", b.len())
            }
        };
        panic!(
            "{what}: bytes differ from the uncached result (first difference at {first:?}; \
             got {}, want {})",
            show(actual),
            show(expected)
        );
    }
}

/// A small C source whose object depends on `FOO` from `foo.h`.
pub const USES_FOO: &str = "#include \"foo.h\"\nint v(void) { return FOO; }\n";
