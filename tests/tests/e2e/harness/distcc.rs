//! A real `distccd` on loopback for the compile-farm tests: [`Distccd`]
//! starts one in the foreground on a free port of 127.0.0.1, in its own
//! process group, logging to a file of the sandbox; it counts the jobs its
//! log reports and is killed (the whole group, by its pid) on drop, pass
//! or fail. [`use_farm`] points a sandbox's zccache and distcc at a host.
//!
//! Run as root, distccd drops to the `distcc` user (or `nobody`) and
//! refuses `--user root` ("still have root privileges"), so it could not
//! open a log file inside the sandbox (a 0700 root-owned temp dir). It
//! therefore logs to stderr (`--log-stderr`), which the test (still root)
//! redirects into `<sandbox>/distccd.log`. distccd needs no other access
//! to the sandbox: the client sends preprocessed source and gets the
//! object back over the socket.

use super::*;
use std::fs::File;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::time::Duration;

/// Job slots each test host advertises in `DISTCC_HOSTS`.
pub const FARM_SLOTS: usize = 2;

/// A distccd serving 127.0.0.1:`port`, killed on drop.
pub struct Distccd {
    child: Child,
    /// The TCP port it listens on.
    pub port: u16,
    /// Its log (stderr) file.
    pub log: PathBuf,
}

/// True (after a skip note) when distcc or distccd is not installed.
pub fn distcc_missing() -> bool {
    missing(&["distcc", "distccd"])
}

/// A TCP port of 127.0.0.1 that nothing listened on a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

/// A port of 127.0.0.1 held bound but not listening, for a dead farm:
/// connecting to it is refused, and no other test can listen on it while
/// this lives.
pub struct DeadPort {
    _fd: OwnedFd,
    /// The port.
    pub port: u16,
}

impl DeadPort {
    pub fn new() -> DeadPort {
        // SAFETY: socket(2) returns a new descriptor we own, or -1.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        // SAFETY: fd was just created and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut addr = loopback(0);
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let sa = &mut addr as *mut libc::sockaddr_in as *mut libc::sockaddr;
        // SAFETY: sa points at a sockaddr_in of `len` bytes for both calls.
        let ok = unsafe {
            libc::bind(fd.as_raw_fd(), sa, len) == 0
                && libc::getsockname(fd.as_raw_fd(), sa, &mut len) == 0
        };
        assert!(ok, "bind 127.0.0.1:0: {}", std::io::Error::last_os_error());
        DeadPort {
            _fd: fd,
            port: u16::from_be(addr.sin_port),
        }
    }
}

fn loopback(port: u16) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain old data; all-zero is a valid value.
    let mut a: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    a.sin_family = libc::AF_INET as libc::sa_family_t;
    a.sin_port = port.to_be();
    a.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
    a
}

fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// `DISTCC_HOSTS` for a farm of one host on 127.0.0.1:`port`.
pub fn hosts_for(port: u16) -> String {
    format!("127.0.0.1:{port}/{FARM_SLOTS}")
}

/// Makes every zccache run of `sb` compile its misses through `distcc`
/// on `hosts`, with no local fallback in distcc itself (so a dead farm is
/// a distcc failure zccache must handle) and distcc's state under the
/// sandbox.
pub fn use_farm(sb: &mut Sandbox, hosts: &str) {
    let state = sb.root.join("distcc");
    std::fs::create_dir_all(&state).unwrap();
    sb.set_env("ZCCACHE_PREFIX", "distcc");
    sb.set_env("DISTCC_HOSTS", hosts);
    sb.set_env("DISTCC_FALLBACK", "0");
    sb.set_env("DISTCC_DIR", &state);
}

impl Distccd {
    /// Starts distccd for `sb` on a free port and waits until it serves
    /// (trying another port if another process took the one picked).
    pub fn start(sb: &Sandbox) -> Distccd {
        let log = sb.root.join("distccd.log");
        for _ in 0..5 {
            let port = free_port();
            let child = spawn(port, &log);
            let mut d = Distccd {
                child,
                port,
                log: log.clone(),
            };
            if d.wait_ready() {
                return d;
            }
            eprintln!("distccd on port {port} failed:\n{}", d.log_text());
        }
        panic!("distccd did not start; last log:\n{}", read_log(&log));
    }

    /// `DISTCC_HOSTS` naming this server.
    pub fn hosts(&self) -> String {
        hosts_for(self.port)
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        read_log(&self.log)
    }

    /// Job summary lines (`dcc_job_summary`) of the log containing `word`,
    /// e.g. `COMPILE_OK` or `COMPILE_ERROR`.
    pub fn jobs(&self, word: &str) -> usize {
        self.log_text()
            .lines()
            .filter(|l| l.contains("dcc_job_summary") && l.contains(word))
            .count()
    }

    /// Compiles that succeeded on this server.
    pub fn compiled_ok(&self) -> usize {
        self.jobs("COMPILE_OK")
    }

    /// SIGKILLs distccd and its preforked workers (its process group).
    pub fn kill(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on the process group this guard created; no
        // memory effects.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }

    /// Waits for the "daemon started" log line; false if it exited.
    fn wait_ready(&mut self) -> bool {
        wait_until(Duration::from_secs(30), || {
            self.log_text().contains("daemon started") || self.exited()
        }) && !self.exited()
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for Distccd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// distccd in the foreground (`--no-detach --daemon`), its own process
/// group, loopback only, logging at info level to `log`.
fn spawn(port: u16, log: &Path) -> Child {
    let logf = File::create(log).expect("create distccd log");
    let mut cmd = Command::new("distccd");
    cmd.args(["--no-detach", "--daemon", "--log-stderr"])
        .args(["--log-level", "info", "--jobs", "4"])
        .args(["--allow", "127.0.0.1", "--listen", "127.0.0.1"])
        .args(["--port", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(logf)
        .process_group(0);
    cmd.spawn().expect("spawn distccd")
}
