//! cargo's target-info query: before building, cargo runs (through
//! `RUSTC_WRAPPER`, with stdin on `/dev/null`)
//! `rustc - --crate-name ___ --print=file-names --crate-type bin … --print=sysroot
//! --print=split-debuginfo --print=crate-name --print=cfg` to learn file
//! names, the sysroot and the target's cfgs, unless `target/.rustc_info.json`
//! still holds the answer, which `cargo clean` removes (cargo source,
//! `core/compiler/build_context/target_info.rs`). Its output is a function
//! of the rustc identity, the argv and rustc's environment, so the daemon
//! runs it once and answers later calls from memory.
//!
//! Only that shape is answered: the input is `-` and the launcher's stdin
//! is `/dev/null` (an empty crate), every `--print` kind is one of
//! [`KINDS`] and prints to stdout, and nothing depends on the host beyond
//! the identity (no `native` CPU, no custom target spec file). Everything
//! else goes the usual way. Answers are not counted as compiles.

use super::super::runner::{run_query, without_jobserver};
use super::super::stage::{PendingWork, Stage};
use super::context::key_env;
use super::identity::rustc_identity;
use crate::daemon::state::DaemonState;
use crate::ipc::{CompileRequest, Response};
use crate::key::KeyBuilder;
use crate::storage::RecordKey;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// `--print` kinds answered (rustc book, "--print"): each depends only on
/// the rustc, the target and the argv.
pub(crate) const KINDS: &[&str] = &[
    "file-names",
    "sysroot",
    "split-debuginfo",
    "crate-name",
    "cfg",
    "target-libdir",
];

/// Answers kept in memory; the map is emptied when it grows past this.
const MAX_ANSWERS: usize = 256;

/// One remembered answer: rustc's exit code, stdout and stderr.
type Answer = (i32, Vec<u8>, Vec<u8>);

fn answers() -> &'static Mutex<HashMap<RecordKey, Answer>> {
    static ANSWERS: OnceLock<Mutex<HashMap<RecordKey, Answer>>> = OnceLock::new();
    ANSWERS.get_or_init(Default::default)
}

/// Answer a target-info query from memory, or hand it to the blocking pool
/// to run once; `None` when the request is not such a query (or its rustc
/// identity is unknown), so the usual pipeline takes it.
pub(crate) fn probe(req: &CompileRequest) -> Option<Stage> {
    if !is_target_info_query(&req.args) || !stdin_is_null(req.client_pid) {
        return None;
    }
    let key = key(req)?;
    if let Some((exit_code, stdout, stderr)) =
        answers().lock().ok().and_then(|m| m.get(&key).cloned())
    {
        tracing::debug!("rustc target-info query answered from memory");
        return Some(Stage::Done(Response::Compiled {
            exit_code,
            stdout,
            stderr,
        }));
    }
    Some(Stage::Work(Box::new(RunQuery { key })))
}

/// True for `rustc - … --print=KIND …` with only [`KINDS`], printed to
/// stdout, no `@argfile`, no `native` CPU and no target spec file.
pub(crate) fn is_target_info_query(args: &[String]) -> bool {
    let mut stdin_input = false;
    let mut prints = 0;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let next = args.get(i + 1).map(String::as_str);
        if a.starts_with('@') || a.contains("native") || a == "-o" || a == "--out-dir" {
            return false;
        }
        let (print, target) = match a {
            "--print" => (next, None),
            "--target" => (None, next),
            _ => (a.strip_prefix("--print="), a.strip_prefix("--target=")),
        };
        if let Some(kind) = print {
            if !KINDS.contains(&kind) {
                return false;
            }
            prints += 1;
        }
        if target.is_some_and(|t| t.contains('/') || t.ends_with(".json")) {
            return false;
        }
        stdin_input |= a == "-";
        i += if a == "--print" || a == "--target" {
            2
        } else {
            1
        };
    }
    stdin_input && prints > 0
}

/// True when the launcher's stdin is `/dev/null` (read through
/// `/proc/<pid>/fd/0`), so rustc's `-` input is an empty crate.
fn stdin_is_null(client_pid: u32) -> bool {
    std::fs::read_link(format!("/proc/{client_pid}/fd/0"))
        .is_ok_and(|p| p == std::path::Path::new("/dev/null"))
}

/// The answer's key: rustc identity, cwd, argv and keyed environment.
fn key(req: &CompileRequest) -> Option<RecordKey> {
    let identity = rustc_identity(req).ok()?;
    let mut b = KeyBuilder::new("rustc-target-info");
    b.field("identity", &identity);
    b.field("cwd", req.cwd.as_os_str().as_encoded_bytes());
    b.strings("args", &req.args);
    for (k, v) in key_env(&req.env) {
        b.field("env", format!("{k}={v}").as_bytes());
    }
    Some(b.finish())
}

/// Run the query once on the blocking pool and remember a successful
/// answer.
struct RunQuery {
    key: RecordKey,
}

impl PendingWork for RunQuery {
    fn run(self: Box<Self>, _d: &DaemonState, req: &CompileRequest) -> Response {
        let req = &without_jobserver(req);
        let out = match run_query(req, &req.args) {
            Ok(o) => o,
            Err(e) => {
                let reason = format!("cannot run {}: {e}", req.compiler.display());
                return Response::RunLocally { reason };
            }
        };
        let exit_code = out.status.code().unwrap_or(-1);
        if exit_code == 0 {
            if let Ok(mut m) = answers().lock() {
                if m.len() >= MAX_ANSWERS {
                    m.clear();
                }
                m.insert(self.key, (0, out.stdout.clone(), out.stderr.clone()));
            }
        }
        Response::Compiled {
            exit_code,
            stdout: out.stdout,
            stderr: out.stderr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(line: &str) -> bool {
        let args: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        is_target_info_query(&args)
    }

    #[test]
    fn cargos_query_is_recognised_and_others_are_not() {
        assert!(q(
            "- --crate-name ___ --print=file-names --crate-type bin --crate-type rlib \
             --print=sysroot --print=split-debuginfo --print=crate-name --print=cfg -Wwarnings"
        ));
        assert!(q(
            "- --crate-name ___ --print cfg --target x86_64-unknown-linux-gnu"
        ));
        assert!(!q("--print=cfg"), "no stdin input");
        assert!(
            !q("- --crate-name ___ --print=native-static-libs"),
            "not a listed kind"
        );
        assert!(!q("- --print=cfg=out.txt"), "prints into a file");
        assert!(
            !q("- --print=cfg -C target-cpu=native"),
            "depends on the host CPU"
        );
        assert!(
            !q("- --print=cfg --target my/spec.json"),
            "target spec file"
        );
        assert!(!q("- --print=cfg @args"), "argfile");
        assert!(!q("src/lib.rs --crate-name a --out-dir /o"), "a compile");
    }
}
