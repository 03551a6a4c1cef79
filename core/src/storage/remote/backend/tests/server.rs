//! Test servers: a guard that kills a child process by PID on drop, free
//! ports, readiness waits, and a "black hole" listener that accepts
//! connections and never answers.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A running server: killed (by PID) and reaped on drop; its temp dir is
/// removed after.
pub(super) struct ServerGuard {
    /// The server process.
    child: Child,
    /// Its port on 127.0.0.1.
    pub(super) port: u16,
    /// Its data and config dir.
    pub(super) dir: tempfile::TempDir,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerGuard {
    /// Send `signal` to the server (SIGSTOP stalls it, SIGCONT resumes).
    pub(super) fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on the pid of the child this guard owns.
        unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
    }

    /// Start `command` (it must listen on `port`) and wait until the port
    /// accepts connections; `None` when it does not start within `wait`.
    pub(super) fn start(
        mut command: Command,
        port: u16,
        dir: tempfile::TempDir,
        wait: Duration,
    ) -> Option<ServerGuard> {
        command.stdin(Stdio::null()).stdout(Stdio::null());
        command.stderr(Stdio::null());
        let child = command.spawn().ok()?;
        let guard = ServerGuard { child, port, dir };
        wait_for_port(port, wait).then_some(guard)
    }
}

/// The path of server binary `name` (on `PATH` or in `/usr/sbin`), or
/// `None` with a note that the test is skipped.
pub(super) fn binary(name: &str) -> Option<PathBuf> {
    let found = which::which(name)
        .ok()
        .or_else(|| Some(PathBuf::from("/usr/sbin").join(name)).filter(|p| p.exists()));
    if found.is_none() {
        eprintln!("note: {name} not installed; skipping this test");
    }
    found
}

/// A port of 127.0.0.1 that was free a moment ago.
pub(super) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// True once 127.0.0.1:`port` accepts a connection (within `wait`).
fn wait_for_port(port: u16, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A listener that accepts connections and never answers; stops on drop.
pub(super) struct BlackHole {
    /// Its port on 127.0.0.1.
    pub(super) port: u16,
    /// Set on drop.
    stop: Arc<AtomicBool>,
}

impl BlackHole {
    /// Listen on a free port.
    pub(super) fn start() -> BlackHole {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        thread::spawn(move || {
            let mut held = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                if let Ok((stream, _)) = listener.accept() {
                    held.push(stream);
                }
                thread::sleep(Duration::from_millis(10));
            }
        });
        BlackHole { port, stop }
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
