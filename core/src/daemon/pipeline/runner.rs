//! The one tool-runner: every tool the pipelines spawn (compilers, linkers,
//! archivers, rustc, emcc, `zccache exec` tools, and their identity and
//! search-dir queries) is started here, with the requester's cwd, exact
//! environment and umask, stdin on `/dev/null`, and killed when the daemon
//! dies. Queries (identity, target info, search dirs) run without the
//! launcher's jobserver variables, whose file descriptors exist only in
//! the launcher.

use crate::ipc::CompileRequest;
use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Variables that hand a jobserver's file descriptors to child processes
/// (GNU make manual, "POSIX Jobserver"; cargo's `CARGO_MAKEFLAGS`).
const JOBSERVER_ENV: &[&str] = &["CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"];

/// A command running `program` with `args` in `cwd` with exactly `env`,
/// stdin on `/dev/null`, umask `umask` (the daemon's when `None`), killed
/// (SIGKILL) if the daemon dies first.
pub(crate) fn tool_command<K, V, S>(
    program: &Path,
    args: &[S],
    cwd: &Path,
    env: impl IntoIterator<Item = (K, V)>,
    umask: Option<u32>,
) -> Command
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null());
    // SAFETY: umask(2) and prctl(2) are async-signal-safe and cannot fail here.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(mask) = umask {
                libc::umask(mask as libc::mode_t);
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd
}

/// The command that runs the request's tool with `argv` (see
/// [`tool_command`]).
pub(crate) fn compiler_command<S: AsRef<OsStr>>(req: &CompileRequest, argv: &[S]) -> Command {
    let env = req.env.iter().map(|(k, v)| (k, v));
    tool_command(&req.compiler, argv, &req.cwd, env, Some(req.umask))
}

/// Run the request's tool with `argv` and capture its output.
///
/// Errors: the I/O error when it cannot be started or waited for.
pub(crate) fn run_compiler<S: AsRef<OsStr>>(
    req: &CompileRequest,
    argv: &[S],
) -> std::io::Result<Output> {
    compiler_command(req, argv).output()
}

/// Run a query of the request's tool (`-vV`, `--print`, `-print-search-dirs`,
/// `--verbose`) with `args`, without the jobserver variables, and capture
/// its output.
///
/// Errors: the I/O error when it cannot be started.
pub(crate) fn run_query<S: AsRef<OsStr>>(
    req: &CompileRequest,
    args: &[S],
) -> std::io::Result<Output> {
    compiler_command(&without_jobserver(req), args).output()
}

/// The request with the jobserver variables removed (see the module docs).
pub(crate) fn without_jobserver(req: &CompileRequest) -> CompileRequest {
    let mut r = req.clone();
    r.env.retain(|(k, _)| !JOBSERVER_ENV.contains(&k.as_str()));
    r
}

/// True while process `pid` exists (the launcher of a request).
pub(crate) fn process_alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}
