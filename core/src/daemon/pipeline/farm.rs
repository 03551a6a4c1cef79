//! The compile farm: a prefix command (`ZCCACHE_PREFIX`, TOML `prefix`;
//! ccache manual, "prefix_command") put in front of the real compiler when
//! a miss of the C pipeline is compiled, e.g. `distcc` or `icecc`. Only
//! those compiles go through it; identity queries, preprocessor runs,
//! links and archives run locally. The prefix is not part of any key.
//!
//! A farm failure (the prefix cannot start, is killed, or exits with one of
//! its own codes: distcc uses 100–118, see distcc(1) "EXIT CODES") makes
//! the pipeline compile again locally; a compile error (the compiler's own
//! exit code) is not retried. The prefix's own messages go to the file
//! descriptor named by `UNCACHED_ERR_FD` (as ccache sets it), which the
//! runner reads into the daemon log, never into the compiler's stderr.

use crate::ipc::CompileRequest;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

/// Lowest exit code that is the prefix's own failure rather than the
/// compiler's (distcc's `EXIT_DISTCC_FAILED` is 100; a shell's "command
/// not found"/"not executable" are 127/126; compilers exit with 1 or 4).
const FIRST_FARM_EXIT_CODE: i32 = 100;

/// distcc's default job limit for a TCP host without `/LIMIT` (distcc(1),
/// "HOST SPECIFICATIONS").
const DISTCC_DEFAULT_HOST_SLOTS: usize = 4;
/// distcc's default job limit for `localhost` without `/LIMIT`.
const DISTCC_DEFAULT_LOCAL_SLOTS: usize = 2;

/// Which farm client the prefix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FarmKind {
    /// distcc (`DISTCC_HOSTS` gives the capacity).
    Distcc,
    /// icecream's `icecc` (the scheduler knows the capacity).
    Icecc,
    /// Any other prefix command.
    Other,
}

/// A resolved prefix command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Farm {
    /// The prefix program (absolute, found on the request's `PATH`).
    pub(crate) program: PathBuf,
    /// Its own arguments, before the compiler.
    pub(crate) args: Vec<String>,
    /// What it is.
    pub(crate) kind: FarmKind,
}

/// Why a prefix command could not be used (the compile then runs locally).
#[derive(Debug, thiserror::Error)]
pub(crate) enum FarmError {
    /// The prefix text does not split into words (unbalanced quotes).
    #[error("prefix {text:?}: {reason}")]
    Syntax {
        /// The prefix as configured.
        text: String,
        /// The parser's message.
        reason: String,
    },
    /// The prefix names no program.
    #[error("prefix {0:?} names no program")]
    Empty(String),
    /// The program is not found on the request's `PATH`.
    #[error("prefix program {program:?} not found: {reason}")]
    NotFound {
        /// The program as named.
        program: String,
        /// Why `which` failed.
        reason: String,
    },
}

impl Farm {
    /// The farm of the request, if it names a prefix: the first word is a
    /// path or a name looked up on the request's `PATH` (from its cwd).
    ///
    /// Errors: [`FarmError`] for an unusable prefix.
    pub(crate) fn of_request(req: &CompileRequest) -> Result<Option<Farm>, FarmError> {
        let Some(text) = req.prefix.as_deref().filter(|t| !t.trim().is_empty()) else {
            return Ok(None);
        };
        let words = shell_words::split(text).map_err(|e| FarmError::Syntax {
            text: text.to_string(),
            reason: e.to_string(),
        })?;
        let (first, args) = words
            .split_first()
            .ok_or_else(|| FarmError::Empty(text.to_string()))?;
        let program = find_program(first, req)?;
        let kind = kind_of(&program);
        let args = args.to_vec();
        Ok(Some(Farm {
            program,
            args,
            kind,
        }))
    }

    /// The compiler argument to hand the prefix: the compiler's file name
    /// when that name on the request's `PATH` is the same file (distccd
    /// only runs whitelisted compiler names and rejects unknown absolute
    /// paths), else the full path.
    pub(crate) fn compiler_arg(&self, req: &CompileRequest) -> String {
        let full = req.compiler.to_string_lossy().into_owned();
        let Some(name) = req.compiler.file_name().and_then(|n| n.to_str()) else {
            return full;
        };
        match lookup(name, req) {
            Ok(found) if same_file(&found, &req.compiler) => name.to_string(),
            _ => full,
        }
    }

    /// True when `status` is the prefix's own failure, not the compiler's
    /// verdict: killed by a signal, or an exit code of 100 or more.
    pub(crate) fn failed(&self, status: &ExitStatus) -> bool {
        match status.code() {
            Some(code) => code >= FIRST_FARM_EXIT_CODE,
            None => status.signal().is_some(),
        }
    }

    /// False when this farm would not produce the object a local compile
    /// produces, so the compile must stay local: icecream compiles
    /// preprocessed code with `-fpreprocessed -fdirectives-only`, which gcc
    /// records in the debug info's producer string (`-grecord-gcc-switches`
    /// is gcc's default), so its `-g` objects differ from a local compile's.
    /// distcc's objects were measured byte-identical with and without `-g`.
    pub(crate) fn suits(&self, argv: &[String]) -> bool {
        self.kind != FarmKind::Icecc || !records_switches_in_debug_info(argv)
    }

    /// The farm's capacity in concurrent compiles, when it is known from
    /// the request: for distcc the slots in `DISTCC_HOSTS`.
    pub(crate) fn capacity(&self, req: &CompileRequest) -> Option<usize> {
        if self.kind != FarmKind::Distcc {
            return None;
        }
        let hosts = env_of(req, "DISTCC_HOSTS")?;
        let slots = distcc_slots(hosts);
        (slots > 0).then_some(slots)
    }
}

/// True when the compile emits debug info that records the command line:
/// a `-g…` option other than `-g0` (last one wins), and no
/// `-gno-record-gcc-switches` after the last `-grecord-gcc-switches`.
fn records_switches_in_debug_info(argv: &[String]) -> bool {
    let mut debug = false;
    let mut record = true;
    for a in argv {
        match a.as_str() {
            "-grecord-gcc-switches" => record = true,
            "-gno-record-gcc-switches" => record = false,
            "-g0" => debug = false,
            _ if a.starts_with("-g") => debug = true,
            _ => {}
        }
    }
    debug && record
}

/// The sum of the job limits of a `DISTCC_HOSTS` value (distcc(1), "HOST
/// SPECIFICATIONS"): `HOST[:PORT][/LIMIT][,OPTIONS]`, `@HOST` (ssh),
/// `localhost`; options starting with `--` are not hosts.
pub(crate) fn distcc_slots(hosts: &str) -> usize {
    hosts
        .split_whitespace()
        .filter(|h| !h.starts_with("--"))
        .map(host_slots)
        .sum()
}

fn host_slots(spec: &str) -> usize {
    let spec = spec.split(',').next().unwrap_or(spec);
    if let Some((_, limit)) = spec.rsplit_once('/') {
        if let Ok(n) = limit.parse::<usize>() {
            return n;
        }
    }
    if spec == "localhost" {
        DISTCC_DEFAULT_LOCAL_SLOTS
    } else {
        DISTCC_DEFAULT_HOST_SLOTS
    }
}

fn kind_of(program: &Path) -> FarmKind {
    match program.file_name().and_then(|n| n.to_str()) {
        Some("distcc") => FarmKind::Distcc,
        Some("icecc") => FarmKind::Icecc,
        _ => FarmKind::Other,
    }
}

fn find_program(word: &str, req: &CompileRequest) -> Result<PathBuf, FarmError> {
    lookup(word, req).map_err(|e| FarmError::NotFound {
        program: word.to_string(),
        reason: e.to_string(),
    })
}

/// `name` resolved like a shell would for the request: a path against its
/// cwd, a bare name on its `PATH`.
fn lookup(name: &str, req: &CompileRequest) -> which::Result<PathBuf> {
    let path = env_of(req, "PATH").unwrap_or("");
    which::which_in(name, Some(path), &req.cwd)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn env_of<'a>(req: &'a CompileRequest, key: &str) -> Option<&'a str> {
    req.env
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(prefix: Option<&str>, env: &[(&str, &str)]) -> CompileRequest {
        CompileRequest {
            compiler: PathBuf::from("/bin/sh"),
            args: vec![],
            cwd: PathBuf::from("/"),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            client_pid: 1,
            umask: 0o022,
            prefix: prefix.map(str::to_string),
            verify_per_million: 0,
            base_dirs: Vec::new(),
            settings_from_env: false,
        }
    }

    #[test]
    fn distcc_hosts_slots() {
        assert_eq!(distcc_slots("127.0.0.1:3632/2"), 2);
        assert_eq!(distcc_slots("a/8 b localhost --randomize"), 8 + 4 + 2);
        assert_eq!(distcc_slots("@ssh-host/3,lzo c:99/5,cpp,lzo"), 3 + 5);
        assert_eq!(distcc_slots(""), 0);
    }

    #[test]
    fn prefix_resolution_and_failures() {
        assert!(matches!(Farm::of_request(&request(None, &[])), Ok(None)));
        assert!(matches!(
            Farm::of_request(&request(Some("  "), &[])),
            Ok(None)
        ));
        let path = [("PATH", "/usr/bin:/bin")];
        let farm = Farm::of_request(&request(Some("sh -x"), &path))
            .unwrap()
            .unwrap();
        assert_eq!(farm.args, vec!["-x".to_string()]);
        assert_eq!(farm.kind, FarmKind::Other);
        let missing = Farm::of_request(&request(Some("no-such-farm-tool"), &path));
        assert!(matches!(missing, Err(FarmError::NotFound { .. })));
        let bad = Farm::of_request(&request(Some("'unbalanced"), &path));
        assert!(matches!(bad, Err(FarmError::Syntax { .. })));
    }

    #[test]
    fn farm_failures_are_high_codes_and_signals() {
        let farm = Farm {
            program: PathBuf::from("/usr/bin/distcc"),
            args: vec![],
            kind: FarmKind::Distcc,
        };
        assert!(!farm.failed(&ExitStatus::from_raw(0)));
        assert!(!farm.failed(&ExitStatus::from_raw(1 << 8)), "compile error");
        assert!(
            farm.failed(&ExitStatus::from_raw(103 << 8)),
            "connect failed"
        );
        assert!(farm.failed(&ExitStatus::from_raw(9)), "killed");
        let env = [("DISTCC_HOSTS", "127.0.0.1:1/3")];
        assert_eq!(farm.capacity(&request(None, &env)), Some(3));
    }

    #[test]
    fn icecream_keeps_recorded_debug_info_local() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let icecc = Farm {
            program: PathBuf::from("/usr/bin/icecc"),
            args: vec![],
            kind: FarmKind::Icecc,
        };
        assert!(icecc.suits(&args(&["-O2", "-c", "a.c"])));
        assert!(!icecc.suits(&args(&["-g", "-c", "a.c"])));
        assert!(icecc.suits(&args(&["-g", "-g0", "-c", "a.c"])));
        assert!(icecc.suits(&args(&["-g", "-gno-record-gcc-switches"])));
        let distcc = Farm {
            kind: FarmKind::Distcc,
            ..icecc
        };
        assert!(distcc.suits(&args(&["-g", "-c", "a.c"])));
    }
}
