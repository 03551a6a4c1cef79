//! Running commands with a hang guard (every child's output is drained on
//! threads, and a child or its inherited pipes outliving the limit is a
//! panic), and finding, probing and killing processes through `/proc`.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest any single command may run before the harness calls it hung.
const HANG_LIMIT: Duration = Duration::from_secs(600);

// ---------------------------------------------------------------- running

/// Runs `cmd` (stdin from `input` if given, else /dev/null) and collects its
/// output. Panics if it runs longer than HANG_LIMIT, or if its stdout/stderr
/// stay open long after it exited (a detached daemon holding our pipes).
pub fn run_cmd(cmd: &mut Command, input: Option<&[u8]>) -> Output {
    run_cmd_limit(cmd, input, HANG_LIMIT)
}

/// `run_cmd` with a custom hang limit.
pub fn run_cmd_limit(cmd: &mut Command, input: Option<&[u8]>, limit: Duration) -> Output {
    let what = format!("{cmd:?}");
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("failed to spawn {what}: {e}"));
    if let Some(data) = input {
        let mut stdin = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
    }
    let out_rx = drain(child.stdout.take().unwrap());
    let err_rx = drain(child.stderr.take().unwrap());
    let status = wait_limited(&mut child, &what, limit);
    let grace = Duration::from_secs(30);
    let stdout = out_rx.recv_timeout(grace).unwrap_or_else(|_| {
        panic!("stdout of {what} still open 30s after it exited (daemon not detached from stdio?)")
    });
    let stderr = err_rx.recv_timeout(grace).unwrap_or_else(|_| {
        panic!("stderr of {what} still open 30s after it exited (daemon not detached from stdio?)")
    });
    Output {
        status,
        stdout,
        stderr,
    }
}

fn drain<R: Read + Send + 'static>(mut r: R) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

/// Waits for `child`, killing it and panicking after `limit`.
pub fn wait_limited(child: &mut Child, what: &str, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} hung for more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Panics with the command's output unless it succeeded.
pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

// ---------------------------------------------------------------- processes

/// argv of a live (non-zombie) process, or None.
pub fn proc_cmdline(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat
        .rsplit_once(')')
        .map(|(_, r)| r.trim_start().chars().next());
    if state == Some(Some('Z')) {
        return None;
    }
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    if raw.is_empty() {
        return None;
    }
    Some(
        raw.split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}

pub fn pid_alive(pid: u32) -> bool {
    proc_cmdline(pid).is_some()
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Live processes whose argv contains `daemon` followed somewhere by
/// `--cache-dir <dir>`.
pub fn daemon_pids(cache_dir: &Path) -> Vec<u32> {
    let dir = cache_dir.to_string_lossy().into_owned();
    all_pids()
        .into_iter()
        .filter(|&pid| pid != std::process::id())
        .filter(|&pid| {
            proc_cmdline(pid).is_some_and(|argv| {
                argv.iter().any(|a| a == "daemon")
                    && argv
                        .windows(2)
                        .any(|w| w[0] == "--cache-dir" && w[1] == dir)
            })
        })
        .collect()
}

/// Live processes with `needle` anywhere in their argv.
pub(super) fn pids_mentioning(needle: &str) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|&pid| pid != std::process::id())
        .filter(|&pid| proc_cmdline(pid).is_some_and(|a| a.iter().any(|s| s.contains(needle))))
        .collect()
}

pub(super) fn send_sigkill(pid: u32) -> bool {
    // SAFETY: kill(2) with a concrete positive pid has no memory effects.
    pid > 0
        && pid <= i32::MAX as u32
        && unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) } == 0
}

pub fn kill9(pid: u32) {
    assert!(send_sigkill(pid), "kill -9 {pid} failed");
}

/// Polls `f` until true or `limit` elapses; returns the last value.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
