//! Finding the programs `cargo zccache` drives: the `zccache` binary (next
//! to this executable, else on `PATH`) and cargo (`$CARGO`, which cargo sets
//! for external subcommands, else `cargo`; cargo book, "Environment
//! variables Cargo sets for 3rd party subcommands").

use anyhow::{Context, Result};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

/// The `zccache` binary: a sibling of this executable, else the first on
/// `PATH`.
///
/// Errors: when neither exists.
pub fn zccache_binary() -> Result<PathBuf> {
    if let Some(sibling) = std::env::current_exe()
        .ok()
        .and_then(|me| me.parent().map(|d| d.join("zccache")))
        .filter(|p| p.is_file())
    {
        return Ok(sibling);
    }
    which::which("zccache")
        .context("cannot find the zccache binary next to cargo-zccache or on PATH")
}

/// The cargo to run: `$CARGO`, else `cargo` from `PATH`.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Run `zccache <word> <args…>` with inherited stdio; returns its exit
/// code.
///
/// Errors: when it cannot be started.
pub fn run_zccache(zccache: &PathBuf, word: &str, args: &[OsString]) -> Result<i32> {
    let status = Command::new(zccache)
        .arg(word)
        .args(args)
        .status()
        .with_context(|| format!("running {} {word}", zccache.display()))?;
    Ok(status.code().unwrap_or(1))
}
