//! The one tool-runner: every tool the pipelines spawn (compilers, linkers,
//! archivers, rustc, emcc, `zccache exec` tools, and their identity and
//! search-dir queries) is started here, with the requester's cwd, exact
//! environment and umask, stdin on `/dev/null`, and killed when the daemon
//! dies. Queries (identity, target info, search dirs) run without the
//! launcher's jobserver variables, whose file descriptors exist only in
//! the launcher. A miss compiled on a farm runs behind its prefix command
//! ([`run_via_farm`]).

use super::farm::Farm;
use crate::ipc::CompileRequest;
use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
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

/// What a compile through a farm prefix produced.
#[derive(Debug)]
pub(crate) struct FarmRun {
    /// Exit status, stdout and stderr of the prefix command.
    pub(crate) output: Output,
    /// What the prefix wrote to `UNCACHED_ERR_FD` (its own messages).
    pub(crate) messages: Vec<u8>,
}

/// Run the request's compiler with `argv` behind `farm`'s prefix
/// (`<prefix> <prefix args> <compiler> <argv>`), with `UNCACHED_ERR_FD` set
/// to a pipe whose bytes are returned apart from the compiler's stderr
/// (ccache manual, "prefix_command"; distcc(1), "UNCACHED_ERR_FD").
///
/// Errors: the I/O error when the pipe or the prefix cannot be set up.
pub(crate) fn run_via_farm(
    req: &CompileRequest,
    farm: &Farm,
    argv: &[String],
) -> std::io::Result<FarmRun> {
    let (read_end, write_end) = cloexec_pipe()?;
    let fd = write_end.as_raw_fd();
    let mut args = farm.args.clone();
    args.push(farm.compiler_arg(req));
    args.extend(argv.iter().cloned());
    let fd_text = fd.to_string();
    let env = req
        .env
        .iter()
        .filter(|(k, _)| k != "UNCACHED_ERR_FD")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(std::iter::once(("UNCACHED_ERR_FD", fd_text.as_str())));
    let mut cmd = tool_command(&farm.program, &args, &req.cwd, env, Some(req.umask));
    // SAFETY: fcntl(2) is async-signal-safe; it only clears close-on-exec
    // of the pipe's write end in the child, so the prefix inherits it.
    unsafe {
        cmd.pre_exec(move || {
            libc::fcntl(fd, libc::F_SETFD, 0);
            Ok(())
        });
    }
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    drop(write_end);
    let child = child?;
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = std::fs::File::from(read_end).read_to_end(&mut bytes);
        bytes
    });
    let output = child.wait_with_output()?;
    let messages = reader.join().unwrap_or_default();
    Ok(FarmRun { output, messages })
}

/// A pipe whose both ends close on exec: `(read, write)`.
fn cloexec_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2(2) writes two new descriptors into `fds` on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}
