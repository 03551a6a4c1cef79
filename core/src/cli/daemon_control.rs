//! Client-side daemon lifecycle: connect, start on demand (exactly one
//! winner under `make -j` races, via a start lock), restart after a
//! protocol mismatch, and stop.

use crate::config::Config;
use crate::ipc::client::Client;
use crate::ipc::framing::FrameError;
use crate::ipc::{AdminRequest, Request, Response};
use crate::paths::CacheLayout;
use fs4::fs_std::FileExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a launcher waits for a daemon it started to answer.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `stop` waits for the daemon process to exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors of daemon control.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ControlError {
    /// Cache dir or lock file unusable.
    #[error("cache dir {0}: {1}")]
    CacheDir(String, std::io::Error),
    /// The daemon could not be spawned.
    #[error("cannot spawn daemon: {0}")]
    Spawn(std::io::Error),
    /// It was spawned but never answered.
    #[error("daemon did not start within {0:?} (see {1})")]
    NoAnswer(Duration, String),
    /// Talking to it failed.
    #[error("{0}")]
    Frame(#[from] FrameError),
}

/// Connect to the running daemon, starting one if needed.
///
/// Errors: [`ControlError`]; callers fall back to compiling directly.
pub(crate) fn ensure_daemon(cfg: &Config) -> Result<Client, ControlError> {
    let layout = CacheLayout::new(&cfg.cache_dir.value);
    let socket = layout.socket();
    if let Ok(c) = Client::connect(&socket) {
        return Ok(c);
    }
    layout
        .ensure()
        .map_err(|e| ControlError::CacheDir(layout.root.display().to_string(), e))?;
    let lock_path = layout.start_lock();
    let lock = std::fs::File::create(&lock_path)
        .map_err(|e| ControlError::CacheDir(lock_path.display().to_string(), e))?;
    lock.lock_exclusive()
        .map_err(|e| ControlError::CacheDir(lock_path.display().to_string(), e))?;
    if let Ok(c) = Client::connect(&socket) {
        return Ok(c);
    }
    let mut child = spawn_daemon(&layout)?;
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(c) = Client::connect(&socket) {
            return Ok(c);
        }
        if let Ok(Some(_)) = child.try_wait() {
            // It exited: maybe another daemon won the lock; one more try.
            if let Ok(c) = Client::connect(&socket) {
                return Ok(c);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Err(ControlError::NoAnswer(
        START_TIMEOUT,
        layout.daemon_log().display().to_string(),
    ))
}

fn spawn_daemon(layout: &CacheLayout) -> Result<std::process::Child, ControlError> {
    let exe = std::env::current_exe().map_err(ControlError::Spawn)?;
    let mut cmd = Command::new(exe);
    cmd.arg("daemon")
        .arg("--cache-dir")
        .arg(&layout.root)
        .env("ZCCACHE_CACHE_DIR", &layout.root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/");
    // SAFETY: setsid(2) is async-signal-safe; it detaches the daemon from
    // the build's session and process group.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    cmd.spawn().map_err(ControlError::Spawn)
}

/// Send one request, starting the daemon if needed and replacing a daemon
/// that speaks another protocol version.
///
/// Errors: [`ControlError`].
pub(crate) fn call(cfg: &Config, req: &Request) -> Result<Response, ControlError> {
    let mut client = ensure_daemon(cfg)?;
    match client.call(req) {
        Err(FrameError::VersionMismatch { peer, ours }) => {
            tracing::warn!(peer, ours, "daemon speaks another protocol; restarting it");
            kill_daemon(&CacheLayout::new(&cfg.cache_dir.value));
            Ok(ensure_daemon(cfg)?.call(req)?)
        }
        Err(FrameError::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            // Silent past the heartbeat window: wedged. Replace it so later
            // compiles do not each wait for the timeout.
            tracing::warn!("daemon did not answer within the frame timeout; replacing it");
            kill_daemon(&CacheLayout::new(&cfg.cache_dir.value));
            Err(ControlError::Frame(FrameError::Io(e)))
        }
        other => Ok(other?),
    }
}

/// The pid recorded by the running daemon, if any.
pub(crate) fn daemon_pid(layout: &CacheLayout) -> Option<i32> {
    std::fs::read_to_string(layout.pid_file())
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn wait_gone(pid: i32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    !alive(pid)
}

/// True when `pid` is a zccache daemon serving `layout`'s cache dir (its
/// argv holds `daemon --cache-dir <root>`), so a stale pid file naming an
/// unrelated process never gets that process killed.
fn is_our_daemon(pid: i32, layout: &CacheLayout) -> bool {
    let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
    let root = layout.root.as_os_str().as_encoded_bytes();
    args.contains(&&b"daemon"[..])
        && args
            .windows(2)
            .any(|w| w[0] == b"--cache-dir" && w[1] == root)
}

/// Terminate the daemon by pid (SIGTERM, then SIGKILL) and remove its socket.
/// Only a process that is verifiably this cache dir's daemon is signalled.
pub(crate) fn kill_daemon(layout: &CacheLayout) {
    if let Some(pid) = daemon_pid(layout).filter(|p| is_our_daemon(*p, layout)) {
        // SAFETY: plain signal delivery to a pid we read from our own cache dir.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        if !wait_gone(pid, Duration::from_secs(2)) {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            wait_gone(pid, Duration::from_secs(2));
        }
    }
    let _ = std::fs::remove_file(layout.socket());
}

/// Stop the daemon if one runs, returning after its process has exited.
/// Returns whether one was running.
pub(crate) fn stop(cfg: &Config) -> bool {
    let layout = CacheLayout::new(&cfg.cache_dir.value);
    let pid = daemon_pid(&layout);
    let Ok(mut client) = Client::connect(&layout.socket()) else {
        return false;
    };
    let asked = client.call(&Request::Admin(AdminRequest::Shutdown)).is_ok();
    if let Some(pid) = pid {
        if !wait_gone(pid, STOP_TIMEOUT) {
            kill_daemon(&layout);
        }
    }
    asked
}
