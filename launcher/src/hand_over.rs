//! Leaving the fast path: `exec` the full program (same argv, `argv[0]`
//! kept so masquerade still works) or the real compiler. `exec` replaces
//! this process, so the build sees exactly that program's exit code,
//! output and signals.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use zccache_client::dispatch::{mode, Mode};
use zccache_client::locate::{self, FULL_PROGRAM};

/// Settings that only the full configuration loader reads: when one is set
/// (non-empty), the full program serves the call.
const FULL_PROGRAM_SETTINGS: &[&str] = &["ZCCACHE_DISABLE", "ZCCACHE_DEBUG", "ZCCACHE_CONFIG"];

/// True when the environment sets one of [`FULL_PROGRAM_SETTINGS`].
pub(crate) fn wanted_by_environment() -> bool {
    FULL_PROGRAM_SETTINGS
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// Replace this process with `zccache-daemon` (next to this executable)
/// run with `args`. When it is missing, a compile runs the real compiler
/// directly and anything else fails with a one-line message (exit 127).
pub(crate) fn to_full_program(args: &[OsString]) -> i32 {
    let Some(full) = locate::sibling_program(FULL_PROGRAM) else {
        return without_full_program(args);
    };
    let mut cmd = Command::new(&full);
    if let Some(argv0) = args.first() {
        cmd.arg0(argv0);
    }
    let err = cmd.args(args.iter().skip(1)).exec();
    eprintln!("zccache: cannot run {}: {err}", full.display());
    127
}

/// No full program installed: compiles still work, uncached.
fn without_full_program(args: &[OsString]) -> i32 {
    if let Mode::Compile { compiler, args } = mode(args) {
        if let Some(path) = locate::resolve_compiler(&compiler) {
            return to_compiler(&path, &args);
        }
    }
    eprintln!("zccache: {FULL_PROGRAM} is not installed next to this zccache executable; reinstall zccache");
    127
}

/// Replace this process with the real compiler. Returns only if `exec`
/// fails.
pub(crate) fn to_compiler(compiler: &Path, args: &[OsString]) -> i32 {
    let err = Command::new(compiler).args(args).exec();
    eprintln!("zccache: cannot run {}: {err}", compiler.display());
    127
}
