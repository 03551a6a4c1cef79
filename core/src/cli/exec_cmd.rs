//! `zccache exec`: run any tool through the cache, keyed by the inputs the
//! caller declares. The tool runs with exactly the declared environment
//! (`--input-env`) plus `PATH`, whether it is served from the cache or not.

use super::daemon_control;
use crate::config::Config;
use crate::ipc::{ExecRequest, Request, Response};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `zccache exec`.
#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// An input file whose content is part of the key (repeatable).
    #[arg(long = "input-file")]
    pub input_files: Vec<PathBuf>,
    /// An environment variable passed to the tool and keyed (repeatable).
    #[arg(long = "input-env")]
    pub input_env: Vec<String>,
    /// Extra text mixed into the key.
    #[arg(long = "input-extra", default_value = "")]
    pub input_extra: String,
    /// A file the tool writes; cached and restored (repeatable).
    #[arg(long = "output-file")]
    pub output_files: Vec<PathBuf>,
    /// A make-style depfile the tool writes, listing more inputs.
    #[arg(long)]
    pub depfile: Option<PathBuf>,
    /// A C-like file whose `#include`s (transitively) are keyed (repeatable).
    #[arg(long = "include-scan")]
    pub include_scan: Vec<PathBuf>,
    /// Search dir for the include scan (repeatable).
    #[arg(short = 'I')]
    pub include_dirs: Vec<PathBuf>,
    /// Regex: matching arguments are left out of the key (repeatable).
    #[arg(long = "key-args-filter")]
    pub key_args_filter: Vec<String>,
    /// Leave the working directory out of the key.
    #[arg(long)]
    pub no_cwd_in_key: bool,
    /// The tool's output is not reproducible: never cache it.
    #[arg(long)]
    pub non_deterministic: bool,
    /// The tool and its arguments.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// Run `zccache exec`; returns the exit code (the tool's).
pub(crate) fn run(cfg: &Config, a: &ExecArgs) -> i32 {
    let Some(tool) = super::launcher::resolve_compiler(a.command[0].as_ref()) else {
        eprintln!("zccache: cannot find tool {:?} on PATH", a.command[0]);
        return 127;
    };
    let env: Vec<(String, String)> = a
        .input_env
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.clone(), v)))
        .collect();
    let req = ExecRequest {
        tool,
        args: a.command[1..].to_vec(),
        cwd: std::env::current_dir().unwrap_or_default(),
        env,
        path_env: std::env::var("PATH").ok(),
        input_files: a.input_files.clone(),
        input_extra: a.input_extra.clone(),
        output_files: a.output_files.clone(),
        depfile: a.depfile.clone(),
        include_scan: a.include_scan.clone(),
        include_dirs: a.include_dirs.clone(),
        key_args_filter: a.key_args_filter.clone(),
        cwd_in_key: !a.no_cwd_in_key,
        non_deterministic: a.non_deterministic,
        session: std::env::var(crate::daemon::session::SESSION_ENV).ok(),
        client_pid: std::process::id(),
    };
    if !cfg.disable.value {
        if let Ok(Response::Compiled {
            exit_code,
            stdout,
            stderr,
        }) = daemon_control::call(cfg, &Request::Exec(Box::new(req.clone())))
        {
            let _ = std::io::stdout().write_all(&stdout);
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().write_all(&stderr);
            return exit_code;
        }
    }
    run_locally(&req)
}

/// Run the tool here with the same environment rules as a cached run.
fn run_locally(req: &ExecRequest) -> i32 {
    let mut cmd = std::process::Command::new(&req.tool);
    cmd.args(&req.args)
        .env_clear()
        .envs(req.env.iter().map(|(k, v)| (k, v)));
    if let Some(p) = &req.path_env {
        cmd.env("PATH", p);
    }
    match cmd.status() {
        Ok(s) => s.code().unwrap_or(1),
        Err(e) => {
            eprintln!("zccache: cannot run {}: {e}", req.tool.display());
            127
        }
    }
}
