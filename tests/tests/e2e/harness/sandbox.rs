//! The per-test [`Sandbox`]: a private cache dir and work dir, commands run
//! with the sandbox env, bare (uncached) compiles to compare against, typed
//! stats, and a daemon that is stopped (or killed) on drop.

use super::process::{pids_mentioning, send_sigkill};
use super::*;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::process::{Output, Stdio};
use std::time::Duration;

pub struct Sandbox {
    _tmp: tempfile::TempDir,
    /// Root of the sandbox (holds `cache/` and `src/`).
    pub root: PathBuf,
    /// ZCCACHE_CACHE_DIR for every zccache run (may be changed by a test).
    pub cache: PathBuf,
    /// Default working directory.
    pub src: PathBuf,
    /// Extra env applied to zccache runs and bare runs alike.
    pub env: BTreeMap<String, String>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox::new_in(&std::env::temp_dir())
    }

    /// A sandbox under `/var/tmp`, for builds a REAPI worker must see
    /// (buildbox-run hides the host's `/tmp` behind a tmpfs).
    pub fn new_outside_tmp() -> Sandbox {
        Sandbox::new_in(Path::new("/var/tmp"))
    }

    fn new_in(parent: &Path) -> Sandbox {
        let tmp = tempfile::Builder::new()
            .prefix("zccache-e2e-")
            .tempdir_in(parent)
            .expect("tempdir");
        let root = tmp.path().canonicalize().expect("canonicalize tempdir");
        let cache = root.join("cache");
        let src = root.join("src");
        std::fs::create_dir_all(&src).unwrap();
        // Build the binary before any test timing or races start.
        zccache_bin();
        Sandbox {
            _tmp: tmp,
            root,
            cache,
            src,
            env: BTreeMap::new(),
        }
    }

    pub fn set_env(&mut self, k: &str, v: impl AsRef<OsStr>) {
        self.env
            .insert(k.into(), v.as_ref().to_string_lossy().into_owned());
    }

    /// Absolute path of `rel` under the work dir.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.src.join(rel)
    }

    /// Writes `content` to `rel` under the work dir, creating parent dirs.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        let p = self.path(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    pub fn remove(&self, rel: &str) {
        let _ = std::fs::remove_file(self.path(rel));
    }

    /// A `Command` with the sandbox env: inherited ZCCACHE_* removed,
    /// ZCCACHE_CACHE_DIR set, extra env applied, cwd = work dir.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ZCCACHE_") {
                cmd.env_remove(&k);
            }
        }
        cmd.env("ZCCACHE_CACHE_DIR", &self.cache);
        cmd.envs(&self.env);
        cmd.current_dir(&self.src);
        cmd
    }

    /// `zccache <args>` as a Command (not yet run).
    pub fn zcc_cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut c = self.command(zccache_bin());
        c.args(args);
        c
    }

    /// Runs `zccache <args>` in the work dir.
    pub fn zcc<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        run_cmd(&mut self.zcc_cmd(args), None)
    }

    /// Runs `zccache <args>` in `dir`.
    pub fn zcc_in<S: AsRef<OsStr>>(&self, dir: &Path, args: &[S]) -> Output {
        run_cmd(self.zcc_cmd(args).current_dir(dir), None)
    }

    /// Runs `zccache <args>` and panics unless it succeeded.
    pub fn zcc_ok<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        let out = self.zcc(args);
        assert_ok(&out, &format!("zccache {:?}", os_args(args)));
        out
    }

    /// Runs `program <args>` (no zccache) in the work dir with the sandbox env.
    pub fn run<S: AsRef<OsStr>>(&self, program: &str, args: &[S]) -> Output {
        let mut c = self.command(program);
        c.args(args);
        run_cmd(&mut c, None)
    }

    pub fn run_in<S: AsRef<OsStr>>(&self, dir: &Path, program: &str, args: &[S]) -> Output {
        let mut c = self.command(program);
        c.args(args).current_dir(dir);
        run_cmd(&mut c, None)
    }

    /// Runs the real compiler (no zccache) with `args` in the work dir,
    /// reads `outputs` (relative to the work dir), deletes them, and returns
    /// the run's Output plus the files' bytes. Use before the cached compile
    /// of the same command in the same dir, so comp_dir and names match.
    pub fn bare(&self, compiler: &str, args: &[&str], outputs: &[&str]) -> (Output, Vec<Vec<u8>>) {
        self.bare_in(&self.src.clone(), compiler, args, outputs)
    }

    pub fn bare_in(
        &self,
        dir: &Path,
        compiler: &str,
        args: &[&str],
        outputs: &[&str],
    ) -> (Output, Vec<Vec<u8>>) {
        for o in outputs {
            let _ = std::fs::remove_file(dir.join(o));
        }
        let out = self.run_in(dir, compiler, args);
        let bytes = outputs
            .iter()
            .map(|o| {
                let p = dir.join(o);
                let b = std::fs::read(&p).unwrap_or_else(|e| {
                    panic!(
                        "bare `{compiler} {args:?}` did not produce {}: {e}\n{}",
                        p.display(),
                        text(&out.stderr)
                    )
                });
                std::fs::remove_file(&p).unwrap();
                b
            })
            .collect();
        (out, bytes)
    }

    /// Bare-compiles `compiler args` and returns the bytes of the single
    /// output `out` (then deleted).
    pub fn bare_obj(&self, compiler: &str, args: &[&str], out: &str) -> Vec<u8> {
        let (o, mut b) = self.bare(compiler, args, &[out]);
        assert_ok(&o, &format!("bare {compiler} {args:?}"));
        b.remove(0)
    }

    /// `zccache start`, asserting success.
    pub fn start(&self) {
        self.zcc_ok(&["start"]);
    }

    /// `zccache stats --json`, typed.
    pub fn stats(&self) -> Stats {
        Stats::parse(&self.stats_raw())
    }

    /// `zccache stats --json` as raw JSON, for tests of the report's shape.
    pub fn stats_json(&self) -> serde_json::Value {
        parse_json(&self.stats_raw(), "stats --json")
    }

    fn stats_raw(&self) -> Vec<u8> {
        let out = self.zcc(&["stats", "--json"]);
        assert_ok(&out, "zccache stats --json");
        out.stdout
    }

    pub fn counters(&self) -> Counters {
        self.stats().counters()
    }

    /// Pid recorded in `<cache>/daemon.pid`.
    pub fn daemon_pid_file(&self) -> Option<u32> {
        std::fs::read_to_string(self.cache.join("daemon.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Live daemon processes for this sandbox's cache dir.
    pub fn daemons(&self) -> Vec<u32> {
        daemon_pids(&self.cache)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let mut stop = self.zcc_cmd(&["stop"]);
        stop.stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(Stdio::null());
        if let Ok(mut child) = stop.spawn() {
            let done = wait_until(Duration::from_secs(20), || {
                matches!(child.try_wait(), Ok(Some(_)))
            });
            if !done {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // Safety net: anything still mentioning our sandbox paths.
        let needle = self.root.to_string_lossy().into_owned();
        for pid in pids_mentioning(&needle) {
            send_sigkill(pid);
        }
        for pid in daemon_pids(&self.cache) {
            send_sigkill(pid);
        }
    }
}

fn os_args<S: AsRef<OsStr>>(args: &[S]) -> Vec<String> {
    args.iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect()
}
