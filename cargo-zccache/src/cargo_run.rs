//! Running a cargo subcommand through the cache: `RUSTC_WRAPPER` (cargo
//! book, "build.rustc-wrapper"), `CARGO_INCREMENTAL=0` unless the user set
//! it, optional `CC`/`CXX` masquerade links for cc-rs, the progress bar on a
//! terminal, and the end report; after a success, the warm snapshot
//! (`warm`). The workspace root goes to every rustc as
//! `ZCCACHE_CARGO_WORKSPACE`, and portable mode adds the remap flags
//! (`portable`). Cargo's exit code is returned unchanged.

use super::{portable, progress, report};
use anyhow::{Context, Result};
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use zccache_core::config::Config;

/// Run `cargo <args…>` through zccache; returns cargo's exit code.
///
/// Errors: when cargo cannot be started.
pub fn run(zccache: &Path, args: &[OsString], cc: bool, portable: bool) -> Result<i32> {
    let (args, flag) = portable::take_flag(args);
    let args = args.as_slice();
    report::ensure_daemon(zccache)?;
    let session = report::start_session();
    let mut cmd = Command::new(super::locate::cargo());
    roots(&mut cmd, args, portable || flag || configured_portable());
    cmd.env("RUSTC_WRAPPER", zccache);
    if let Ok(id) = &session {
        cmd.env("ZCCACHE_SESSION_ID", id);
    }
    if std::env::var_os("CARGO_INCREMENTAL").is_none() {
        cmd.env("CARGO_INCREMENTAL", "0");
        note_incremental_once();
    }
    if cc {
        let dir = masquerade_dir(zccache)?;
        cmd.env("CC", dir.join("cc")).env("CXX", dir.join("c++"));
    }
    let status = if std::io::stderr().is_terminal() && progress::supports(args) {
        progress::run(cmd, args)?
    } else {
        cmd.args(args).status().context("running cargo")?
    };
    let code = exit_code(status);
    let misses = match session.and_then(|id| report::end_session(&id)) {
        Ok(stats) => {
            eprint!("{}", report::render(&stats));
            Some(stats.misses)
        }
        Err(e) => {
            eprintln!("zccache: no report: {e:#}");
            None
        }
    };
    if code == 0 {
        super::warm::save_after_build(args, misses);
    }
    Ok(code)
}

/// `portable` of the zccache configuration (`ZCCACHE_PORTABLE`, TOML
/// `portable`); false when the configuration does not load (the launcher
/// reports that error itself).
fn configured_portable() -> bool {
    Config::load().is_ok_and(|c| c.portable.value)
}

/// Name the workspace root for the daemon and, in portable mode, add the
/// remap flags (before the subcommand when they go in `--config`).
fn roots(cmd: &mut Command, args: &[OsString], portable: bool) {
    let ws = portable::workspace_root(args);
    if let Some(ws) = &ws {
        cmd.env(portable::WORKSPACE_ENV, ws);
    }
    if portable {
        let home = portable::cargo_home();
        let flags = portable::remap_flags(ws.as_deref(), home.as_deref());
        let before = portable::apply(cmd, &flags);
        cmd.args(before);
    }
}

/// cargo's exit code, or 128 + signal when it was killed.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Explain, once per cache dir, why incremental compilation is turned off.
fn note_incremental_once() {
    let Ok(cfg) = Config::load() else { return };
    let marker = cfg.cache_dir.value.join("cargo-zccache-incremental-noted");
    if marker.exists() {
        return;
    }
    eprintln!(
        "cargo-zccache: setting CARGO_INCREMENTAL=0: incremental compiles keep state outside \
         their outputs and are never cached (set CARGO_INCREMENTAL yourself to override; \
         this note is shown once)"
    );
    let _ = std::fs::write(marker, b"");
}

/// A dir with `cc` and `c++` symlinks to zccache: its masquerade mode runs
/// the first real `cc`/`c++` on `PATH` through the cache, a form cc-rs
/// uses like any compiler path.
///
/// Errors: when the dir or links cannot be created.
fn masquerade_dir(zccache: &Path) -> Result<PathBuf> {
    let cfg = Config::load().context("loading the zccache configuration")?;
    let dir = cfg.cache_dir.value.join("cargo-cc");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for name in ["cc", "c++"] {
        let link = dir.join(name);
        if std::fs::read_link(&link).ok().as_deref() != Some(zccache) {
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(zccache, &link)
                .with_context(|| format!("linking {}", link.display()))?;
        }
    }
    Ok(dir)
}
