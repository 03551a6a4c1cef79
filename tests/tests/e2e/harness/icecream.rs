//! A one-machine icecream farm on loopback for the compile-farm tests:
//! [`IceFarm`] starts an `icecc-scheduler` and two `iceccd`s on free ports
//! with their own network name, logs and data under the sandbox, waits
//! until both daemons logged in, and kills all three (each one's process
//! group, by its pid) on drop, pass or fail.
//!
//! It uses the hooks of icecream's own test suite (`tests/test.sh`):
//! `ICECC_TESTS=1` (loopback broadcasts, fast reconnects),
//! `ICECC_TEST_SCHEDULER_PORTS=<p>:<p>` (broadcast to our scheduler port)
//! and `ICECC_TEST_SOCKET` (the daemon's unix socket, so a client talks
//! to this daemon). As in `test.sh`, the client's daemon (`local`) takes no
//! jobs (`--no-remote -m 0`) and a second daemon (`remote`) takes them all,
//! and the client runs with `ICECC_TEST_REMOTEBUILD=1`, so every compile
//! really goes scheduler → remote daemon → chroot of the compiler
//! environment that `icecc-create-env` packed on first use. The remote
//! daemon listens on all interfaces: `-i lo` makes iceccd bind loopback
//! twice and fail. Run as root, iceccd and the scheduler drop to the
//! `icecc` user (or `nobody`) keeping only CAP_SYS_CHROOT, so the farm's
//! directory is world-writable inside a traversable sandbox root and the
//! daemons create their env dirs themselves (they chown them). Without
//! chroot (not root) iceccd accepts no remote jobs: the farm is then
//! skipped with a note. iceccd also writes `/var/run/icecc/iceccd.pid`.

use super::*;
use std::fs::File;
use std::net::{TcpListener, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How long the daemons may take to log in to the scheduler (they retry
/// every 3 s under `ICECC_TESTS`).
const STARTUP_LIMIT: Duration = Duration::from_secs(120);

/// The line the remote daemon logs for every job it compiles (`-vvv`).
const REMOTE_JOB: &str = "remote compile for file ";

/// One started farm process.
struct Proc {
    name: &'static str,
    child: Child,
}

/// A scheduler and two daemons on loopback, killed on drop.
pub struct IceFarm {
    procs: Vec<Proc>,
    /// The farm's directory (logs, sockets, environments).
    pub dir: PathBuf,
    /// The unix socket of the client's daemon (`ICECC_TEST_SOCKET`).
    pub socket: PathBuf,
    /// Node name of the daemon that compiles the jobs.
    pub remote: String,
    local: String,
}

/// True (after a skip note) when icecc, iceccd or icecc-scheduler is
/// not installed.
pub fn icecream_missing() -> bool {
    for tool in ["icecc", "iceccd", "icecc-scheduler"] {
        if sbin_tool(tool).is_none() {
            eprintln!("skipping: {tool} not found (Debian package icecc)");
            return true;
        }
    }
    false
}

/// `tool` on PATH or in the sbin dirs a non-root PATH often lacks.
fn sbin_tool(tool: &str) -> Option<PathBuf> {
    which(tool).or_else(|| {
        ["/usr/sbin", "/usr/local/sbin", "/sbin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.is_file())
    })
}

/// A free TCP port `p` of 127.0.0.1 with `p + 1` (the scheduler's text
/// port) and UDP `p` (its broadcast port) free as well.
fn free_scheduler_port() -> u16 {
    loop {
        let p = free_port();
        let next = p.checked_add(1).unwrap_or(0);
        if next != 0
            && TcpListener::bind(("127.0.0.1", next)).is_ok()
            && UdpSocket::bind(("0.0.0.0", p)).is_ok()
        {
            return p;
        }
    }
}

/// A TCP port that nothing listened on a moment ago.
fn free_port() -> u16 {
    let l = TcpListener::bind("0.0.0.0:0").expect("bind 0.0.0.0:0");
    l.local_addr().unwrap().port()
}

/// A name unique to this test process and call.
fn unique(what: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("zcc-{what}-{}-{n}", std::process::id())
}

/// The farm's directory under `sb`, writable by the daemons' user.
fn farm_dir(sb: &Sandbox) -> PathBuf {
    let dir = sb.root.join("icecream");
    std::fs::create_dir_all(&dir).unwrap();
    let mode = |p: &Path, m| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
    mode(&sb.root, 0o711).expect("chmod sandbox root");
    mode(&dir, 0o777).expect("chmod farm dir");
    dir
}

impl IceFarm {
    /// Starts the farm for `sb` and waits until it takes jobs; None (after
    /// a skip note) when iceccd cannot chroot and so takes no jobs.
    pub fn start(sb: &Sandbox) -> Option<IceFarm> {
        let dir = farm_dir(sb);
        let net = unique("net");
        let port = free_scheduler_port();
        let mut farm = IceFarm {
            procs: Vec::new(),
            socket: dir.join("local.sock"),
            remote: unique("remote"),
            local: unique("local"),
            dir,
        };
        farm.spawn_scheduler(&net, port);
        farm.spawn_daemon(false, &net, port);
        farm.spawn_daemon(true, &net, port);
        farm.wait_ready().then_some(farm)
    }

    /// Makes every zccache run of `sb` compile its misses with `icecc`
    /// through this farm (and never on the client's own daemon).
    pub fn use_farm(&self, sb: &mut Sandbox) {
        sb.set_env("ZCCACHE_PREFIX", "icecc");
        sb.set_env("ICECC_TEST_SOCKET", &self.socket);
        sb.set_env("ICECC_TEST_REMOTEBUILD", "1");
    }

    /// File names (as icecc sent them) of the jobs the remote daemon
    /// compiled so far, in order.
    pub fn remote_jobs(&self) -> Vec<String> {
        self.log("remote")
            .lines()
            .filter_map(|l| l.split_once(REMOTE_JOB).map(|(_, f)| f.trim().to_string()))
            .collect()
    }

    /// All logs, for failure messages.
    pub fn logs(&self) -> String {
        ["scheduler", "local", "remote"]
            .iter()
            .map(|n| format!("--- {n}.log\n{}", self.log(n)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn log(&self, name: &str) -> String {
        let p = self.dir.join(format!("{name}.log"));
        std::fs::read_to_string(p).unwrap_or_default()
    }

    fn spawn_scheduler(&mut self, net: &str, port: u16) {
        let mut cmd = self.command("icecc-scheduler", port, "scheduler");
        cmd.args(["-n", net, "-p", &port.to_string(), "-i", "lo", "-vvv"]);
        self.spawn("scheduler", cmd);
    }

    /// The client's daemon (`local`: no jobs) or the compiling one.
    fn spawn_daemon(&mut self, local: bool, net: &str, port: u16) {
        let name = if local { "local" } else { "remote" };
        let mut cmd = self.command("iceccd", port, name);
        let node = if local { &self.local } else { &self.remote };
        let sock = if local {
            self.socket.clone()
        } else {
            self.dir.join("remote.sock")
        };
        cmd.env("ICECC_TEST_SOCKET", sock)
            .args(["-n", net, "-N", node, "-vvv"])
            .args(["-s", &format!("127.0.0.1:{port}")])
            .arg("-b")
            .arg(self.dir.join(format!("envs-{name}")));
        if local {
            cmd.args(["--no-remote", "-m", "0"]);
        } else {
            cmd.args(["-m", "2", "-p", &free_port().to_string()]);
        }
        self.spawn(name, cmd);
    }

    /// `tool` with the test hooks, no inherited ICECC_* and its log at
    /// `<dir>/<name>.log`.
    fn command(&self, tool: &str, port: u16, name: &str) -> Command {
        let mut cmd = Command::new(sbin_tool(tool).expect("icecream tool"));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ICECC") {
                cmd.env_remove(&k);
            }
        }
        cmd.env("ICECC_TESTS", "1")
            .env("ICECC_TEST_SCHEDULER_PORTS", format!("{port}:{port}"))
            .arg("-l")
            .arg(self.dir.join(format!("{name}.log")));
        cmd
    }

    /// Spawns `cmd` in its own process group, stdout and stderr to
    /// `<dir>/<name>.out`.
    fn spawn(&mut self, name: &'static str, mut cmd: Command) {
        let out = File::create(self.dir.join(format!("{name}.out"))).unwrap();
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .current_dir(&self.dir)
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {name} ({cmd:?}): {e}"));
        self.procs.push(Proc { name, child });
    }

    /// Waits until the scheduler logged in both daemons: true; false
    /// (after a skip note) when the remote daemon cannot chroot.
    fn wait_ready(&mut self) -> bool {
        let mut no_chroot = false;
        let ready = wait_until(STARTUP_LIMIT, || {
            no_chroot = self.log("remote").contains("Cannot use chroot");
            no_chroot || self.exited().is_some() || self.logged_in()
        });
        if no_chroot {
            eprintln!("skipping: iceccd cannot chroot here (not root?), so it takes no jobs");
            return false;
        }
        if let Some(name) = self.exited() {
            panic!("icecream {name} exited during startup:\n{}", self.details());
        }
        assert!(ready, "icecream farm not ready:\n{}", self.details());
        true
    }

    fn logged_in(&self) -> bool {
        let log = self.log("scheduler");
        [&self.remote, &self.local]
            .iter()
            .all(|node| log.contains(&format!("login {node} ")))
    }

    /// The first farm process that is no longer running.
    fn exited(&mut self) -> Option<&'static str> {
        self.procs
            .iter_mut()
            .find_map(|p| matches!(p.child.try_wait(), Ok(Some(_))).then_some(p.name))
    }

    /// Logs and captured outputs, for failure messages.
    fn details(&self) -> String {
        let outs = self.procs.iter().map(|p| {
            let out = std::fs::read_to_string(self.dir.join(format!("{}.out", p.name)));
            format!("--- {}.out\n{}", p.name, out.unwrap_or_default())
        });
        let outs: Vec<String> = outs.collect();
        format!("{}\n{}", self.logs(), outs.join("\n"))
    }
}

impl Drop for IceFarm {
    /// SIGKILLs each process's group (the daemons' job and environment
    /// children with it), clients' daemon first, and reaps them.
    fn drop(&mut self) {
        for p in self.procs.iter_mut().rev() {
            if let Ok(None) = p.child.try_wait() {
                let pgid = p.child.id() as libc::pid_t;
                // SAFETY: kill(2) on the group this guard created (iceccd
                // keeps its pid as pgid); no memory effects.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
            }
            let _ = p.child.wait();
        }
    }
}
