//! Sampled hit verification (`ZCCACHE_VERIFY_RATE`): after a hit has been
//! served, a share of hits is recompiled in the background with the same
//! request (argv, cwd, environment; outputs into private temp files) and
//! compared byte for byte with what was served: the object (by its blake3,
//! which names the stored blob), the depfile as served (retargeted),
//! stdout and stderr.
//!
//! A difference is confirmed by a second recompile: two recompiles that
//! agree with each other but not with the entry make a *mismatch* (a stale
//! entry: it and its context's manifest are dropped, the journal and
//! `zccache explain` name what differed); two recompiles that disagree make
//! the compile *non-deterministic* (its context is no longer cached).

use super::super::runner::run_compiler;
use super::dep_targets;
use super::plan::Plan;
use crate::daemon::state::accounting::VerifyLine;
use crate::daemon::state::DaemonState;
use crate::daemon::stats::VerifyVerdict;
use crate::ipc::CompileRequest;
use crate::key::resolve;
use crate::storage::{BlobId, Content, Entry, OutputRole, RecordKey};
use std::path::PathBuf;

/// What one verification needs, captured when the hit was served.
struct Sample {
    req: CompileRequest,
    source: String,
    /// The object path as the request names it.
    output: String,
    depfile: Option<crate::compiler::gcc::DepfileRequest>,
    compile: CompileArgs,
    served: Served,
    context: RecordKey,
    entry: RecordKey,
}

/// How to build the compile argv for a temp object and depfile.
struct CompileArgs {
    inv: crate::compiler::CompileInvocation,
    index: usize,
}

/// What the hit served.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Served {
    object: BlobId,
    depfile: Option<Vec<u8>>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// One recompile's outputs, in the same shape.
type Recompiled = Served;

/// Queue the verification of a hit of source `i` of `req` with the
/// request's sampling rate; does nothing for an unsampled hit.
pub(crate) fn maybe_sample(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &Plan,
    i: usize,
    keys: (RecordKey, RecordKey),
    entry: &Entry,
) {
    if req.verify_per_million == 0 || fastrand::u32(0..1_000_000) >= req.verify_per_million {
        return;
    }
    let Some(served) = served(plan, i, entry) else {
        return;
    };
    let sample = Sample {
        req: req.clone(),
        source: plan.inv.sources[i].path.clone(),
        output: plan.inv.object_path(i),
        depfile: plan.inv.depfile.clone(),
        compile: CompileArgs {
            inv: plan.inv.clone(),
            index: i,
        },
        served,
        context: keys.0,
        entry: keys.1,
    };
    if !d.verifier().enqueue(Box::new(move |d| verify(d, &sample))) {
        tracing::debug!("hit verification queue full; sample dropped");
    }
}

/// What a hit of `entry` served for source `i`: the object's blob id and
/// the depfile as restored (retargeted to this build).
fn served(plan: &Plan, i: usize, entry: &Entry) -> Option<Served> {
    let Some(Content::Blob(object)) = entry.output(OutputRole::Object).map(|o| &o.content) else {
        return None;
    };
    let depfile = match (&plan.inv.depfile, entry.output(OutputRole::Depfile)) {
        (Some(dep), Some(o)) => match &o.content {
            Content::Inline(text) => {
                let args = dep.to_args("", &plan.inv.object_path(i));
                let targets = dep_targets::targets(&args);
                Some(dep_targets::retarget(text, &targets).unwrap_or_else(|| text.clone()))
            }
            _ => return None,
        },
        _ => None,
    };
    Some(Served {
        object: object.clone(),
        depfile,
        stdout: entry.stdout.clone(),
        stderr: entry.stderr.clone(),
    })
}

/// Run one verification (on the verifier thread).
fn verify(d: &DaemonState, s: &Sample) {
    let Some(first) = recompile(d, s) else {
        return;
    };
    let Some(detail) = difference(&s.served, &first) else {
        d.accounting()
            .stats()
            .record_verify(VerifyVerdict::Verified);
        return;
    };
    let Some(second) = recompile(d, s) else {
        return;
    };
    match difference(&first, &second) {
        Some(which) => nondeterministic(d, s, which),
        None => mismatch(d, s, detail),
    }
}

/// Recompile the sample into private temp files; `None` when it could not
/// run or failed (a hit is a successful compile: a failure now means the
/// inputs moved on, which the next lookup sees).
fn recompile(d: &DaemonState, s: &Sample) -> Option<Recompiled> {
    let id = format!("{}-{}", std::process::id(), d.lifecycle().next_temp_id());
    let tmp = d.tmp_dir();
    let object = Temp(tmp.join(format!("verify-{id}.o")));
    let dep = Temp(tmp.join(format!("verify-{id}.d")));
    let dep_arg = dep.0.to_string_lossy().into_owned();
    let dep_args = match &s.depfile {
        Some(req) => req.to_args(&dep_arg, &s.output),
        None => vec!["-MD".to_string(), "-MF".to_string(), dep_arg],
    };
    let obj_arg = object.0.to_string_lossy().into_owned();
    let argv = s
        .compile
        .inv
        .compile_argv(s.compile.index, &obj_arg, &dep_args);
    let out = run_compiler(&s.req, &argv).ok()?;
    if !out.status.success() {
        tracing::debug!(source = %s.source, "verification recompile failed; skipped");
        return None;
    }
    let object_bytes = std::fs::read(&object.0).ok()?;
    let depfile = match &s.depfile {
        Some(_) => Some(std::fs::read(&dep.0).ok()?),
        None => None,
    };
    Some(Recompiled {
        object: BlobId::from_hash(&blake3::hash(&object_bytes)),
        depfile,
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// The first output that differs between `a` and `b`, if any.
fn difference(a: &Served, b: &Served) -> Option<&'static str> {
    if a.object != b.object {
        Some("object")
    } else if a.depfile != b.depfile {
        Some("depfile")
    } else if a.stdout != b.stdout {
        Some("stdout")
    } else if a.stderr != b.stderr {
        Some("stderr")
    } else {
        None
    }
}

/// A confirmed stale entry: drop it and its context's manifest, count it,
/// journal it and let `zccache explain` report it.
fn mismatch(d: &DaemonState, s: &Sample, which: &str) {
    d.storage().remove_entry(&s.entry);
    d.storage().remove_manifest(&s.context);
    d.accounting()
        .stats()
        .record_verify(VerifyVerdict::Mismatch);
    let output = resolve(&s.req.cwd, &s.output)
        .to_string_lossy()
        .into_owned();
    let detail = format!("the recompiled {which} differs from the one served");
    d.accounting()
        .explanations()
        .verify_mismatch(&output, &detail);
    journal(d, s, "verify_mismatch", which, &output);
    tracing::warn!(source = %s.source, output = %output, differs = which, "verify mismatch: stale entry dropped");
}

/// Two recompiles disagree: the compile is not deterministic; its context
/// is no longer cached and the entry is dropped.
fn nondeterministic(d: &DaemonState, s: &Sample, which: &str) {
    d.storage().remove_entry(&s.entry);
    d.verifier().mark_nondeterministic(s.context);
    d.accounting()
        .stats()
        .record_verify(VerifyVerdict::Nondeterministic);
    let output = resolve(&s.req.cwd, &s.output)
        .to_string_lossy()
        .into_owned();
    journal(d, s, "verify_nondeterministic", which, &output);
    tracing::warn!(source = %s.source, differs = which, "non-deterministic compile; no longer cached");
}

fn journal(d: &DaemonState, s: &Sample, outcome: &str, which: &str, output: &str) {
    d.accounting().journal_verify(VerifyLine {
        req: &s.req,
        outcome,
        detail: which,
        source: &s.source,
        output,
    });
}

/// A temp file removed on drop.
struct Temp(PathBuf);

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
