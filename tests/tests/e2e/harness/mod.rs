//! Shared harness for the end-to-end tests: builds the `zccache` binary once per
//! test process, gives every test its own sandbox (cache dir + work dir), runs
//! commands with a hang guard, and stops the sandbox's daemon on drop.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

mod cargo;
mod make;
#[allow(unused_imports)]
pub use cargo::*;
#[allow(unused_imports)]
pub use make::*;

/// Longest any single command may run before the harness calls it hung.
const HANG_LIMIT: Duration = Duration::from_secs(600);

// ---------------------------------------------------------------- binary

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate has a parent dir")
        .to_path_buf()
}

/// Path of the `zccache` binary, built once per test process.
pub fn zccache_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build_zccache)
}

fn build_zccache() -> PathBuf {
    build_bin("zccache-core", "zccache")
}

/// Path of the `cargo-zccache` binary (next to `zccache`), built once per
/// test process.
pub fn cargo_zccache_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        zccache_bin();
        build_bin("cargo-zccache", "cargo-zccache")
    })
}

fn build_bin(package: &str, name: &str) -> PathBuf {
    let root = workspace_root();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let release = !cfg!(debug_assertions);
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args(["build", "-p", package, "--bin", name]);
    if release {
        cmd.arg("--release");
    }
    let out = cmd
        .output()
        .expect("failed to spawn cargo to build the zccache binary");
    if !out.status.success() {
        panic!(
            "building {name} (`cargo build -p {package} --bin {name}`) failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"));
    let bin = target
        .join(if release { "release" } else { "debug" })
        .join(name);
    assert!(
        bin.is_file(),
        "{name} binary not found at {}",
        bin.display()
    );
    bin
}

// ---------------------------------------------------------------- tools

/// Full path of a tool on PATH, or None.
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Returns true (after printing a skip note) when any tool is missing.
pub fn missing(tools: &[&str]) -> bool {
    for t in tools {
        if which(t).is_none() {
            eprintln!("skipping: {t} not found");
            return true;
        }
    }
    false
}

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
fn pids_mentioning(needle: &str) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|&pid| pid != std::process::id())
        .filter(|&pid| proc_cmdline(pid).is_some_and(|a| a.iter().any(|s| s.contains(needle))))
        .collect()
}

fn send_sigkill(pid: u32) -> bool {
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

// ---------------------------------------------------------------- stats

/// The counters tests compare before and after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub hits: u64,
    pub misses: u64,
    pub non_cacheable: u64,
    pub errors: u64,
    pub compile_failed: u64,
}

impl Counters {
    pub fn from_json(v: &serde_json::Value) -> Counters {
        let n = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_u64())
                .unwrap_or_else(|| panic!("stats --json: missing integer key {k:?} in {v}"))
        };
        Counters {
            hits: n("cache_hits"),
            misses: n("cache_misses"),
            non_cacheable: n("non_cacheable"),
            errors: n("errors"),
            compile_failed: n("compile_failed"),
        }
    }
}

/// `obj[key]` as an integer, 0 when absent (reason maps only list seen reasons).
pub fn reason_count(stats: &serde_json::Value, map: &str, reason: &str) -> u64 {
    let m = stats
        .get(map)
        .and_then(|m| m.as_object())
        .unwrap_or_else(|| panic!("stats --json: missing object {map:?} in {stats}"));
    m.get(reason).and_then(|x| x.as_u64()).unwrap_or(0)
}

// ---------------------------------------------------------------- sandbox

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
        let tmp = tempfile::Builder::new()
            .prefix("zccache-e2e-")
            .tempdir()
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

    /// `zccache stats --json`, parsed.
    pub fn stats(&self) -> serde_json::Value {
        let out = self.zcc(&["stats", "--json"]);
        assert_ok(&out, "zccache stats --json");
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("stats --json is not JSON ({e}): {}", text(&out.stdout)))
    }

    pub fn counters(&self) -> Counters {
        Counters::from_json(&self.stats())
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

    /// Runs a compile through zccache, asserts success, and asserts the
    /// outcome moved exactly one of the counters: "hit" or "miss".
    pub fn compile_expect(&self, args: &[&str], outcome: &str) -> Output {
        let before = self.counters();
        let out = self.zcc_ok(args);
        let after = self.counters();
        let dh = after.hits as i64 - before.hits as i64;
        let dm = after.misses as i64 - before.misses as i64;
        let want = match outcome {
            "hit" => (1, 0),
            "miss" => (0, 1),
            _ => panic!("bad outcome {outcome}"),
        };
        assert_eq!(
            (dh, dm),
            want,
            "expected a {outcome} for `zccache {args:?}` (hits +{dh}, misses +{dm}); stats now {}",
            self.stats()
        );
        out
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

/// Asserts two byte strings are equal without dumping object files.
pub fn assert_same(actual: &[u8], expected: &[u8], what: &str) {
    if actual != expected {
        let first = actual.iter().zip(expected).position(|(a, b)| a != b);
        let show = |b: &[u8]| {
            if b.len() < 4096 && std::str::from_utf8(b).is_ok() {
                format!("{:?}", text(b))
            } else {
                format!("<{} bytes>", b.len())
            }
        };
        panic!(
            "{what}: bytes differ from the uncached result (first difference at {first:?}; \
             got {}, want {})",
            show(actual),
            show(expected)
        );
    }
}

/// A small C source whose object depends on `FOO` from `foo.h`.
pub const USES_FOO: &str = "#include \"foo.h\"\nint v(void) { return FOO; }\n";
