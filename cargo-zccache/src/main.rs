//! `cargo-zccache`: the `cargo zccache` subcommand (cargo book, "External
//! tools": cargo runs `cargo-zccache zccache <args…>`).
//!
//! `cargo zccache <build|check|test|…> [args…]` ensures the zccache daemon,
//! runs `$CARGO` with `RUSTC_WRAPPER` pointing at zccache (and
//! `CARGO_INCREMENTAL=0` unless set), draws a progress bar when stderr is a
//! terminal, and prints an end report; cargo's exit code passes through.
//! `stats`, `clear` and `setup` manage the cache; `warm` backfills the
//! build dir's registry and git crates from the snapshot saved after the
//! last successful run. `--portable` remaps the workspace and `CARGO_HOME`
//! out of rustc's outputs so entries are shared across checkouts.

mod cargo_run;
mod locate;
mod portable;
mod progress;
mod report;
mod setup;
mod warm;

use clap::{Parser, Subcommand};
use std::ffi::OsString;

/// Command line of `cargo zccache`.
#[derive(Debug, Parser)]
#[command(
    name = "cargo zccache",
    bin_name = "cargo zccache",
    version,
    about = "Run cargo with zccache caching every rustc call"
)]
struct Cli {
    /// Also route cc-rs build-script C/C++ compiles through zccache
    /// (CC/CXX point at zccache masquerade links).
    #[arg(long, global = true)]
    cc: bool,
    /// Remap the workspace root and CARGO_HOME out of every rustc's outputs
    /// (`--remap-path-prefix`), so cached crates are shared across
    /// checkouts and machines; panic messages and debug info then name
    /// `./…` and `/cargo/…`. Also `ZCCACHE_PORTABLE=1`, and accepted after
    /// the cargo subcommand.
    #[arg(long, global = true)]
    portable: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the cache statistics (`zccache stats`).
    Stats {
        /// Arguments for `zccache stats` (e.g. `--json`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Empty the cache (`zccache clear`).
    Clear,
    /// Write `build.rustc-wrapper` into the workspace's `.cargo/config.toml`
    /// so plain `cargo build` is cached too.
    Setup,
    /// Backfill `target/` with the registry and git crates of `Cargo.lock`
    /// from the cache, without running cargo (the snapshot of the last
    /// successful `cargo zccache` build with the same Cargo.lock, toolchain
    /// and target dir).
    Warm {
        /// List what would be restored or skipped; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Path to Cargo.toml.
        #[arg(long, value_name = "PATH")]
        manifest_path: Option<std::path::PathBuf>,
    },
    /// Any cargo subcommand (`build`, `check`, `test`, `clippy`, `doc`,
    /// `run`, `bench`, `install`, …), run through the cache.
    #[command(external_subcommand)]
    Cargo(Vec<OsString>),
}

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    // Invoked by cargo as `cargo-zccache zccache <args…>`.
    if args.get(1).is_some_and(|a| a == "zccache") {
        args.remove(1);
    }
    let cli = Cli::parse_from(args);
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cargo-zccache: error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    let zccache = locate::zccache_binary()?;
    match cli.command {
        Command::Stats { args } => locate::run_zccache(&zccache, "stats", &args),
        Command::Clear => locate::run_zccache(&zccache, "clear", &[]),
        Command::Setup => setup::setup(&zccache),
        Command::Warm {
            dry_run,
            manifest_path,
        } => warm::warm(&zccache, dry_run, manifest_path),
        Command::Cargo(args) => cargo_run::run(&zccache, &args, cli.cc, cli.portable),
    }
}
