# Cargo scenario for bench/run.sh (sourced by it; not run on its own).
#
# S6: a scratch app on a real crates.io graph (serde+derive, serde_json,
# regex, clap+derive, anyhow), built with `cargo build` through each cache as
# RUSTC_WRAPPER (CARGO_INCREMENTAL=0, --offline --locked, same target dir
# path for every contender). Cold = empty cache; warm = after `cargo clean`.
# pre_S6 writes the fixture into $FIX/rustapp and runs `cargo fetch` once.

# cenv gives each contender its own HOME, so pin cargo's and rustup's homes.
S6_CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
S6_RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}

pre_S6() {
  local ra=$FIX/rustapp
  mkdir -p "$ra/src"
  [ -f "$ra/Cargo.toml" ] || cat >"$ra/Cargo.toml" <<'TOML'
[package]
name = "rustapp"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
anyhow = "1"
clap = { version = "4", features = ["derive"] }
regex = "1"
serde = { version = "1", features = ["derive"] }
serde_json = "1"

[workspace]
TOML
  [ -f "$ra/src/main.rs" ] || cat >"$ra/src/main.rs" <<'RS'
// Trivial use of each dependency; the point is compiling the crates.
use anyhow::{Context, Result};
use clap::Parser;
use regex::Regex;
use serde::{Deserialize, Serialize};

#[derive(Parser, Debug)]
#[command(name = "rustapp")]
struct Args {
    #[arg(default_value = "hello zcbench world 42")]
    text: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct Report {
    words: Vec<String>,
    numbers: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let word = Regex::new(r"[A-Za-z]+").context("bad regex")?;
    let num = Regex::new(r"[0-9]+")?;
    let report = Report {
        words: word.find_iter(&args.text).map(|m| m.as_str().to_string()).collect(),
        numbers: num.find_iter(&args.text).count(),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
RS
  ( cd "$ra" && cargo fetch -q )
}

scenario_S6() {  # cargo build of rustapp through RUSTC_WRAPPER
  local c=$1 log=$2 ra=$FIX/rustapp
  local target=$WORK/S6/target
  rm -rf "${WORK:?}/S6"; mkdir -p "$WORK/S6"
  local -a wrap=()
  [ "$c" = bare ] || wrap=(RUSTC_WRAPPER="$(bin_of "$c")")
  BUILD_CMD=(env CARGO_HOME="$S6_CARGO_HOME" RUSTUP_HOME="$S6_RUSTUP_HOME"
             CARGO_TARGET_DIR="$target" CARGO_INCREMENTAL=0 "${wrap[@]}"
             cargo build -q --offline --locked -j "$JOBS" --manifest-path "$ra/Cargo.toml")
  CLEAN_CMD=(env CARGO_HOME="$S6_CARGO_HOME" RUSTUP_HOME="$S6_RUSTUP_HOME"
             CARGO_TARGET_DIR="$target" cargo clean -q --manifest-path "$ra/Cargo.toml")
  # S6_UNITS: rustc calls per build (41 with rustc 1.95); U also counts cargo's probes
  build_cycle S6 "$c" "$log" "${S6_UNITS:-41}" "$target/debug/rustapp"
}
