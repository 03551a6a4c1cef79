//! The emsdk hook: `eval "$(zccache emsdk activate [--mode outer|inner])"`
//! after `source emsdk_env.sh` (or with a system emscripten) turns caching
//! on for emcc/em++ in the current shell; `deactivate` undoes it.
//!
//! - outer (default): masquerade links `emcc`/`em++` → zccache are put first
//!   on `PATH`, and `CMAKE_C_COMPILER_LAUNCHER`/`CMAKE_CXX_COMPILER_LAUNCHER`
//!   are exported for `emcmake cmake` (whose toolchain file names emcc by
//!   absolute path; CMake reads these variables, CMake ≥ 3.17). A hit never
//!   starts emcc's Python.
//! - inner: `EM_COMPILER_WRAPPER=zccache`, so emcc runs every clang it
//!   needs (system libraries built by `embuilder` included) through the
//!   cache (emscripten docs, EM_COMPILER_WRAPPER).

use crate::config::Config;
use crate::paths::CacheLayout;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

/// The caching mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Mode {
    /// Cache whole emcc/em++ calls (masquerade).
    Outer,
    /// Cache the clang calls emcc makes (EM_COMPILER_WRAPPER).
    Inner,
}

/// `zccache emsdk …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum EmsdkCmd {
    /// Print shell code that turns caching on for emcc/em++.
    Activate(ActivateArgs),
    /// Print shell code that turns it off again.
    Deactivate,
}

/// Arguments of `emsdk activate`.
#[derive(Debug, Args)]
pub(crate) struct ActivateArgs {
    /// outer (default) or inner.
    #[arg(long, value_enum, default_value_t = Mode::Outer)]
    pub mode: Mode,
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn masquerade_dir(cfg: &Config) -> PathBuf {
    CacheLayout::new(&cfg.cache_dir.value)
        .root
        .join("emsdk-bin")
}

/// Run `zccache emsdk`; prints shell code, returns the exit code.
pub(crate) fn run(cfg: &Config, cmd: &EmsdkCmd) -> i32 {
    let exe = match zccache_client::locate::launcher_program() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("zccache: cannot locate the zccache binary: {e}");
            return 1;
        }
    };
    let dir = masquerade_dir(cfg);
    let path = path_without(&dir);
    match cmd {
        EmsdkCmd::Deactivate => {
            println!("export PATH={}", shell_quote(&path));
            println!("unset EM_COMPILER_WRAPPER CMAKE_C_COMPILER_LAUNCHER CMAKE_CXX_COMPILER_LAUNCHER ZCCACHE_EMSDK_MODE");
            0
        }
        EmsdkCmd::Activate(a) => activate(a.mode, &exe, &dir, &path),
    }
}

fn activate(mode: Mode, exe: &Path, dir: &Path, path: &str) -> i32 {
    let exe_s = exe.to_string_lossy();
    match mode {
        Mode::Inner => {
            println!("export PATH={}", shell_quote(path));
            println!("export EM_COMPILER_WRAPPER={}", shell_quote(&exe_s));
            println!("unset CMAKE_C_COMPILER_LAUNCHER CMAKE_CXX_COMPILER_LAUNCHER");
            println!("export ZCCACHE_EMSDK_MODE=inner");
        }
        Mode::Outer => {
            if let Err(e) = make_links(exe, dir) {
                eprintln!(
                    "zccache: cannot create masquerade links in {}: {e}",
                    dir.display()
                );
                return 1;
            }
            let new_path = format!("{}:{path}", dir.display());
            println!("export PATH={}", shell_quote(&new_path));
            println!("export CMAKE_C_COMPILER_LAUNCHER={}", shell_quote(&exe_s));
            println!("export CMAKE_CXX_COMPILER_LAUNCHER={}", shell_quote(&exe_s));
            println!("unset EM_COMPILER_WRAPPER");
            println!("export ZCCACHE_EMSDK_MODE=outer");
        }
    }
    0
}

fn make_links(exe: &Path, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for name in ["emcc", "em++"] {
        let link = dir.join(name);
        if std::fs::read_link(&link).ok().as_deref() == Some(exe) {
            continue;
        }
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(exe, &link)?;
    }
    Ok(())
}

/// `$PATH` without `dir`.
fn path_without(dir: &Path) -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::env::split_paths(&path).filter(|p| p != dir).collect();
    std::env::join_paths(kept)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("a'b"), "'a'\\''b'");
    }
}
