//! Launcher and masquerade mode: `zccache gcc -c a.c` or a `gcc` symlink to
//! zccache. Sends one compile request and replays the reply exactly; any
//! failure of ours runs the real compiler directly (`exec`), so the build
//! sees exactly the compiler's exit code, stdout and stderr.

use super::daemon_control;
use crate::config::Config;
use crate::ipc::{CompileRequest, Request, Response};
use crate::paths::CacheLayout;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;

/// Run one compiler invocation through the cache; returns the exit code.
pub(crate) fn run(compiler: &OsStr, args: &[OsString]) -> i32 {
    let compiler_path = match resolve_compiler(compiler) {
        Some(p) => p,
        None => {
            eprintln!("zccache: cannot find compiler {:?} on PATH", compiler);
            return 127;
        }
    };
    let cfg = match Config::load() {
        Ok(cfg) => cfg,
        Err(e) => {
            if std::env::var_os("ZCCACHE_DEBUG").is_some() {
                eprintln!("zccache: {e}; compiling without the cache");
            }
            return exec_direct(&compiler_path, args);
        }
    };
    if cfg.disable.value {
        return exec_direct(&compiler_path, args);
    }
    let Some(req) = build_request(&cfg, &compiler_path, args) else {
        return exec_direct(&compiler_path, args);
    };
    match call_with_backpressure(&cfg, &Request::Compile(req)) {
        Ok(Response::Compiled {
            exit_code,
            stdout,
            stderr,
        }) => replay(exit_code, &stdout, &stderr),
        Ok(Response::RunLocally { reason }) => {
            note(&cfg, &format!("running locally: {reason}"), false);
            exec_direct(&compiler_path, args)
        }
        Ok(other) => {
            note(
                &cfg,
                &format!("unexpected reply {other:?}; compiling directly"),
                true,
            );
            exec_direct(&compiler_path, args)
        }
        Err(e) => {
            note(
                &cfg,
                &format!("daemon unavailable ({e}); compiling directly"),
                true,
            );
            exec_direct(&compiler_path, args)
        }
    }
}

/// Longest total wait for a busy daemon before compiling locally.
const MAX_BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Send the request, honouring `Busy` replies with jittered retries; after
/// [`MAX_BUSY_WAIT`] the busy reply is returned and the caller compiles
/// locally (never an error the build sees).
fn call_with_backpressure(
    cfg: &Config,
    req: &Request,
) -> Result<Response, daemon_control::ControlError> {
    let start = std::time::Instant::now();
    loop {
        let reply = daemon_control::call(cfg, req)?;
        let Response::Busy { retry_after_ms } = reply else {
            return Ok(reply);
        };
        let wait = std::time::Duration::from_millis(
            retry_after_ms / 2 + fastrand::u64(0..=retry_after_ms),
        );
        if start.elapsed() + wait > MAX_BUSY_WAIT {
            return Ok(Response::RunLocally {
                reason: "daemon busy".to_string(),
            });
        }
        std::thread::sleep(wait);
    }
}

pub(crate) use zccache_client::locate::resolve_compiler;

fn build_request(cfg: &Config, compiler: &Path, args: &[OsString]) -> Option<CompileRequest> {
    let mut req = CompileRequest::of_this_process(compiler, args)?;
    req.prefix = cfg.prefix.value.clone();
    req.verify_per_million = cfg.verify_per_million();
    req.base_dirs = cfg.base_dir.value.clone();
    req.settings_from_env = false;
    Some(req)
}

fn replay(exit_code: i32, stdout: &[u8], stderr: &[u8]) -> i32 {
    let _ = std::io::stdout().lock().write_all(stdout);
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().lock().write_all(stderr);
    exit_code
}

/// Replace this process with the real compiler (exact stdio, exit code and
/// signals). Returns only if `exec` fails.
pub(crate) fn exec_direct(compiler: &Path, args: &[OsString]) -> i32 {
    let err = std::process::Command::new(compiler).args(args).exec();
    eprintln!("zccache: cannot run {}: {err}", compiler.display());
    127
}

/// Log a launcher diagnostic to `logs/client.log`; mirrored on stderr only
/// with `ZCCACHE_DEBUG`.
fn note(cfg: &Config, message: &str, important: bool) {
    if cfg.debug.value {
        eprintln!("zccache: {message}");
    }
    if !important && !cfg.debug.value {
        return;
    }
    let path = CacheLayout::new(&cfg.cache_dir.value).client_log();
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "[pid {}] {message}", std::process::id());
    }
}
