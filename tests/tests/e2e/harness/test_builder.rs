//! A fluent builder for one compile-and-check step, in the style of just's
//! `Test`: write files, run one command through zccache, and check its
//! [`Outcome`] in the stats and its outputs against the real compiler run
//! bare (the same argv, in the same dir, just before):
//!
//! ```ignore
//! Test::new()
//!     .file("a.c", SRC)
//!     .zcc(["gcc", "-c", "a.c", "-o", "a.o"])
//!     .expect(Outcome::Miss)
//!     .same_as_bare("a.o")
//!     .run()
//!     .then()
//!     .zcc(["gcc", "-c", "a.c", "-o", "a.o"])
//!     .expect(Outcome::Hit)
//!     .same_as_bare("a.o")
//!     .run();
//! ```
//!
//! `Test::new()` owns a fresh, started [`Sandbox`]; `sb.test()` borrows an
//! existing one. Every compared output file is absent when the cached
//! command starts (the bare run deletes its outputs after reading them).

use super::*;
use std::ops::Deref;
use std::path::PathBuf;
use std::process::Output;

/// The sandbox a [`Test`] runs in: its own, or a borrowed one.
pub enum Host<'a> {
    Owned(Box<Sandbox>),
    Borrowed(&'a Sandbox),
}

impl Deref for Host<'_> {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        match self {
            Host::Owned(sb) => sb,
            Host::Borrowed(sb) => sb,
        }
    }
}

/// Which of the bare run's streams must equal the cached run's.
#[derive(Default, Clone, Copy)]
struct Streams {
    exit_code: bool,
    stdout: bool,
    stderr: bool,
}

/// One step: files to write, a zccache command, and what to check.
pub struct Test<'a> {
    host: Host<'a>,
    files: Vec<(String, Vec<u8>)>,
    args: Vec<String>,
    dir: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    outcome: Option<Outcome>,
    success: bool,
    bare_files: Vec<String>,
    known_files: Vec<(String, Vec<u8>)>,
    removed: Vec<String>,
    streams: Streams,
}

/// The result of [`Test::run`]: the cached run, the bare run (when one was
/// needed), and the bare bytes of each `same_as_bare` file, in order.
pub struct Ran<'a> {
    host: Host<'a>,
    pub out: Output,
    pub bare: Option<Output>,
    pub bare_files: Vec<Vec<u8>>,
}

impl Default for Test<'static> {
    fn default() -> Self {
        Test::new()
    }
}

impl Test<'static> {
    /// A step in a fresh sandbox whose daemon is already started.
    pub fn new() -> Test<'static> {
        let sb = Sandbox::new();
        sb.start();
        Test::with(Host::Owned(Box::new(sb)))
    }
}

impl Sandbox {
    /// A step in this sandbox.
    pub fn test(&self) -> Test<'_> {
        Test::with(Host::Borrowed(self))
    }
}

impl<'a> Test<'a> {
    fn with(host: Host<'a>) -> Test<'a> {
        Test {
            host,
            files: Vec::new(),
            args: Vec::new(),
            dir: None,
            stdin: None,
            outcome: None,
            success: false,
            bare_files: Vec::new(),
            known_files: Vec::new(),
            removed: Vec::new(),
            streams: Streams::default(),
        }
    }

    /// The sandbox this step runs in.
    pub fn sandbox(&self) -> &Sandbox {
        &self.host
    }

    /// Writes `content` to `rel` (under the work dir) before the run.
    pub fn file(mut self, rel: &str, content: impl AsRef<[u8]>) -> Self {
        self.files.push((rel.into(), content.as_ref().to_vec()));
        self
    }

    /// The command to run as `zccache <args>`; `args[0]` is the compiler,
    /// which the bare run invokes directly with the rest.
    pub fn zcc<S: AsRef<str>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args = args.into_iter().map(|s| s.as_ref().to_string()).collect();
        self
    }

    /// Runs both commands in `dir` instead of the work dir.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Feeds `input` on stdin to both commands.
    pub fn stdin(mut self, input: impl AsRef<[u8]>) -> Self {
        self.stdin = Some(input.as_ref().to_vec());
        self
    }

    /// The stats must move as `outcome` says. Hit and Miss imply success.
    pub fn expect(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self
    }

    /// The cached command must exit successfully.
    pub fn success(mut self) -> Self {
        self.success = true;
        self
    }

    /// Output file `rel` must equal the bare run's (which must succeed).
    pub fn same_as_bare(mut self, rel: &str) -> Self {
        self.bare_files.push(rel.into());
        self
    }

    /// Output file `rel` must equal `bytes` (removed before the run).
    pub fn same_as(mut self, rel: &str, bytes: &[u8]) -> Self {
        self.known_files.push((rel.into(), bytes.to_vec()));
        self
    }

    /// Deletes `rel` after the bare run, just before the cached one.
    pub fn remove(mut self, rel: &str) -> Self {
        self.removed.push(rel.into());
        self
    }

    /// Exit code must equal the bare run's.
    pub fn same_exit_code_as_bare(mut self) -> Self {
        self.streams.exit_code = true;
        self
    }

    /// Stdout must equal the bare run's, byte for byte.
    pub fn same_stdout_as_bare(mut self) -> Self {
        self.streams.stdout = true;
        self
    }

    /// Stderr must equal the bare run's, byte for byte.
    pub fn same_stderr_as_bare(mut self) -> Self {
        self.streams.stderr = true;
        self
    }

    /// Writes the files, runs the bare command (if anything is compared
    /// with it), runs the cached one, and checks everything asked for.
    pub fn run(self) -> Ran<'a> {
        assert!(!self.args.is_empty(), "Test::run without .zcc(..)");
        for (rel, content) in &self.files {
            self.host.write(rel, content);
        }
        let (bare, bare_files) = self.run_bare();
        let known = self.known_files.iter().map(|(rel, _)| rel);
        for rel in known.chain(&self.removed) {
            let _ = std::fs::remove_file(self.at(rel));
        }
        let before = self.outcome.map(|_| self.host.stats());
        let out = self.run_cached();
        self.check(&out, before.as_ref(), bare.as_ref(), &bare_files);
        Ran {
            host: self.host,
            out,
            bare,
            bare_files,
        }
    }

    fn at(&self, rel: &str) -> PathBuf {
        self.dir.as_ref().unwrap_or(&self.host.src).join(rel)
    }

    fn what(&self) -> String {
        format!("`zccache {:?}`", self.args)
    }

    fn needs_bare(&self) -> bool {
        let s = self.streams;
        !self.bare_files.is_empty() || s.exit_code || s.stdout || s.stderr
    }

    fn command(&self, program: &str, args: &[String]) -> Command {
        let mut cmd = self.host.command(program);
        cmd.args(args);
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// The bare run and the bytes of its `same_as_bare` outputs (deleted
    /// before it and after reading).
    fn run_bare(&self) -> (Option<Output>, Vec<Vec<u8>>) {
        if !self.needs_bare() {
            return (None, Vec::new());
        }
        for rel in &self.bare_files {
            let _ = std::fs::remove_file(self.at(rel));
        }
        let mut cmd = self.command(&self.args[0], &self.args[1..]);
        let out = run_cmd(&mut cmd, self.stdin.as_deref());
        let files = self.bare_files.iter().map(|rel| self.take_bare(rel, &out));
        let files = files.collect();
        (Some(out), files)
    }

    fn take_bare(&self, rel: &str, out: &Output) -> Vec<u8> {
        assert_ok(out, &format!("bare {:?}", self.args));
        let p = self.at(rel);
        let bytes = std::fs::read(&p)
            .unwrap_or_else(|e| panic!("bare {:?} did not produce {rel}: {e}", self.args));
        std::fs::remove_file(&p).unwrap();
        bytes
    }

    fn run_cached(&self) -> Output {
        let mut cmd = self.command(zccache_bin().to_str().unwrap(), &self.args);
        run_cmd(&mut cmd, self.stdin.as_deref())
    }

    fn check(
        &self,
        out: &Output,
        before: Option<&Stats>,
        bare: Option<&Output>,
        files: &[Vec<u8>],
    ) {
        let implied = self.outcome.is_some_and(Outcome::implies_success);
        if self.success || implied {
            assert_ok(out, &self.what());
        }
        if let (Some(o), Some(before)) = (self.outcome, before) {
            o.check(before, &self.host.stats(), &self.what());
        }
        if let Some(bare) = bare {
            self.check_streams(out, bare);
        }
        for (rel, want) in self.bare_files.iter().zip(files) {
            self.check_file(rel, want, "bare run");
        }
        for (rel, want) in &self.known_files {
            self.check_file(rel, want, "expected bytes");
        }
    }

    fn check_streams(&self, out: &Output, bare: &Output) {
        let what = self.what();
        if self.streams.exit_code {
            let (got, want) = (out.status.code(), bare.status.code());
            assert_eq!(got, want, "{what}: exit code vs the bare run");
        }
        if self.streams.stdout {
            assert_same(&out.stdout, &bare.stdout, &format!("{what}: stdout"));
        }
        if self.streams.stderr {
            assert_same(&out.stderr, &bare.stderr, &format!("{what}: stderr"));
        }
    }

    fn check_file(&self, rel: &str, want: &[u8], vs: &str) {
        let p = self.at(rel);
        let got = std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
        let outcome = self.outcome.map(|o| format!(" ({o})")).unwrap_or_default();
        let what = format!("{rel} of {}{outcome} vs {vs}", self.what());
        assert_same(&got, want, &what);
    }
}

impl<'a> Ran<'a> {
    /// The next step, in the same sandbox.
    pub fn then(self) -> Test<'a> {
        Test::with(self.host)
    }

    /// The sandbox this step ran in.
    pub fn sandbox(&self) -> &Sandbox {
        &self.host
    }

    /// The bare run (panics if the step compared nothing with one).
    pub fn bare_output(&self) -> &Output {
        self.bare.as_ref().expect("this step made no bare run")
    }
}
