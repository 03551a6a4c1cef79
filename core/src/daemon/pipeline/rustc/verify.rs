//! Sampled hit verification for rustc (see
//! [`crate::daemon::pipeline::verify`]): a successful hit served every
//! output file into `--out-dir` plus stdout and stderr; the recompile runs
//! the same argv (with the miss's injected dep-info, if any) with
//! `--out-dir` redirected into a private temp dir. Paths of the temp dir in
//! stdout, stderr (cargo's JSON artifact notifications) and dep-info files
//! are written back as the real out dir before comparing.

use super::super::runner::{run_compiler, without_jobserver};
use super::super::verify::{self, hash, Check, Observed};
use super::context::RustcPlan;
use super::run::exec_args;
use crate::compiler::rustc::RustcInvocation;
use crate::daemon::state::DaemonState;
use crate::ipc::CompileRequest;
use crate::storage::{Content, Entry, RecordKey};

/// Queue the verification of a rustc hit when the request's rate samples
/// it (successful hits only; cached errors have no outputs to compare).
pub(crate) fn maybe_sample(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &RustcPlan,
    entry_key: RecordKey,
    entry: &Entry,
) {
    if entry.exit_code != 0 || !verify::sampled(req) {
        return;
    }
    let Some(served) = served(entry) else {
        return;
    };
    let names: Vec<String> = entry.outputs.iter().map(|o| o.name.clone()).collect();
    let recompile = Recompile {
        req: req.clone(),
        inv: plan.inv.clone(),
        names,
    };
    let output = std::path::Path::new(&plan.inv.out_dir)
        .join(entry.outputs.first().map_or("", |o| o.name.as_str()))
        .to_string_lossy()
        .into_owned();
    verify::enqueue(
        d,
        Check {
            req: req.clone(),
            source: plan.inv.input.clone(),
            output,
            context: plan.context,
            entry: entry_key,
            served,
            recompile: Box::new(move |d| recompile.run(d)),
        },
    );
}

/// What the hit served: each output's blob hash, stdout, stderr.
fn served(entry: &Entry) -> Option<Observed> {
    let mut seen = Vec::with_capacity(entry.outputs.len() + 2);
    for o in &entry.outputs {
        let Content::Blob(id) = &o.content else {
            return None;
        };
        let h = blake3::Hash::from_hex(&id.0).ok()?;
        seen.push((o.name.clone(), *h.as_bytes()));
    }
    seen.push(("stdout".into(), hash(&entry.stdout)));
    seen.push(("stderr".into(), hash(&entry.stderr)));
    Some(seen)
}

/// How to recompile one sampled rustc call.
struct Recompile {
    req: CompileRequest,
    inv: RustcInvocation,
    names: Vec<String>,
}

impl Recompile {
    /// Recompile into a private temp dir (removed afterwards).
    fn run(&self, d: &DaemonState) -> Option<Observed> {
        let dir = tempfile::Builder::new()
            .prefix("verify-rustc-")
            .tempdir_in(d.tmp_dir())
            .ok()?;
        let temp_dir = dir.path().to_string_lossy().into_owned();
        let wants_depinfo = self.inv.emit.iter().any(|e| e == "dep-info");
        let depinfo = (!wants_depinfo).then(|| dir.path().join("injected.d"));
        let argv = with_out_dir(exec_args(&self.inv, depinfo.as_deref()), &temp_dir);
        let out = run_compiler(&without_jobserver(&self.req), &argv).ok()?;
        if !out.status.success() {
            return None;
        }
        let back = |bytes: &[u8]| replace(bytes, &temp_dir, &self.inv.out_dir);
        let mut seen = Vec::with_capacity(self.names.len() + 2);
        for name in &self.names {
            let bytes = std::fs::read(dir.path().join(name)).ok()?;
            let bytes = if name.ends_with(".d") {
                back(&bytes)
            } else {
                bytes
            };
            seen.push((name.clone(), hash(&bytes)));
        }
        seen.push(("stdout".into(), hash(&back(&out.stdout))));
        seen.push(("stderr".into(), hash(&back(&out.stderr))));
        Some(seen)
    }
}

/// `argv` with the value of `--out-dir` (separate or `=`) set to `dir`.
fn with_out_dir(mut argv: Vec<String>, dir: &str) -> Vec<String> {
    let mut i = 0;
    while i < argv.len() {
        if argv[i] == "--out-dir" && i + 1 < argv.len() {
            argv[i + 1] = dir.to_string();
            i += 1;
        } else if argv[i].starts_with("--out-dir=") {
            argv[i] = format!("--out-dir={dir}");
        }
        i += 1;
    }
    argv
}

/// `bytes` with every occurrence of `from` replaced by `to`.
fn replace(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if !from.is_empty() && bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_dir_is_redirected_in_both_spellings() {
        let argv = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            with_out_dir(argv(&["--out-dir", "/t/deps", "a.rs"]), "/x"),
            argv(&["--out-dir", "/x", "a.rs"])
        );
        assert_eq!(
            with_out_dir(argv(&["--out-dir=/t/deps"]), "/x"),
            argv(&["--out-dir=/x"])
        );
        assert_eq!(
            replace(b"a/x/b /x", "/x", "/t/deps"),
            b"a/t/deps/b /t/deps".to_vec()
        );
    }
}
