//! The rustc pipeline (cargo's `RUSTC_WRAPPER`), in the same two stages as
//! the C pipeline:
//!
//! 1. [`probe`] (inline on the event loop): parse the argv, compute the
//!    context key, find a manifest input set that still holds, restore the
//!    entry's outputs into `--out-dir` and replay stdout/stderr and the exit
//!    code. `rustc -vV`, which cargo and build scripts ask at startup, is
//!    answered from the identity's memory ([`identity::version_output`]),
//!    and cargo's target-info query from memory after one run
//!    ([`print_query`]); other informational calls (`-V`, other
//!    `--print`s) and anything not provably cacheable answer `RunLocally`
//!    at once.
//! 2. [`run::RustcMiss`] (blocking pool): run rustc with dep-info forced on,
//!    then store its outputs, output streams and input set.

pub(crate) mod context;
pub(crate) mod identity;
pub(crate) mod portable;
pub(crate) mod portable_text;
pub(crate) mod print_query;
pub(crate) mod remote_hit;
pub(crate) mod restore;
pub(crate) mod run;
pub(crate) mod stream;
pub(crate) mod verify;

use super::refusal::Refusal;
use super::stage::Stage;
use crate::daemon::reason::MissReason;
use crate::daemon::state::{DaemonState, Finished};
use crate::daemon::stats::Outcome;
use crate::ipc::{CompileRequest, Response};
use crate::key::find;
use crate::key::lookup::Probe;
use crate::storage::{Entry, EntryKind, RecordKey, StoreError};
use context::RustcPlan;

/// Probe a rustc request: a hit is served here; a miss becomes work.
pub(crate) fn probe(d: &DaemonState, req: &CompileRequest) -> Stage {
    let started = std::time::Instant::now();
    if let Some(answer) = answer_version_query(req) {
        return Stage::Done(answer);
    }
    if let Some(stage) = print_query::probe(req) {
        return stage;
    }
    let plan = match context::plan(d, req) {
        Ok(p) => p,
        Err(r) => return Stage::Done(refuse(d, req, started, r)),
    };
    let reason = match lookup(d, req, &plan) {
        Ok((key, mut entry)) => match restore::restore(d, req, &plan, &mut entry) {
            Ok(()) => {
                tracing::debug!(
                    crate_name = %plan.inv.crate_name,
                    latency_us = started.elapsed().as_micros() as u64,
                    "rustc hit served"
                );
                verify::maybe_sample(d, req, &plan, key, &entry);
                return Stage::Done(hit(d, req, &plan, started, entry));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cached rustc entry unusable; recompiling");
                d.storage().remove_entry(&key);
                MissReason::CorruptEntry
            }
        },
        Err(reason) => reason,
    };
    Stage::Work(Box::new(run::RustcMiss {
        plan,
        reason,
        started,
    }))
}

/// `rustc -vV` in any spelling: replay the identity's `-vV` stdout (not a
/// compile, so not counted). `None` for anything else, or when the
/// identity cannot replay it exactly (then rustc runs as usual).
fn answer_version_query(req: &CompileRequest) -> Option<Response> {
    let verbose_version = match req.args.as_slice() {
        [a] => a == "-vV" || a == "-Vv",
        [a, b] => {
            let version = |x: &str| x == "-V" || x == "--version";
            let verbose = |x: &str| x == "-v" || x == "--verbose";
            (version(a) && verbose(b)) || (verbose(a) && version(b))
        }
        _ => false,
    };
    if !verbose_version {
        return None;
    }
    match identity::version_output(req) {
        Ok(Some(stdout)) => Some(Response::Compiled {
            exit_code: 0,
            stdout: stdout.to_vec(),
            stderr: Vec::new(),
        }),
        Ok(None) => None,
        Err(e) => {
            tracing::debug!(error = %e, "rustc -vV not answered from memory");
            None
        }
    }
}

/// Count a finished rustc call (stats, session, journal).
pub(crate) fn record(
    d: &DaemonState,
    req: &CompileRequest,
    started: std::time::Instant,
    source: Option<&str>,
    outcome: Outcome,
) {
    d.record(Finished {
        source,
        ..Finished::outcome(req, started, outcome, false)
    });
}

fn hit(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &RustcPlan,
    started: std::time::Instant,
    entry: Entry,
) -> Response {
    let saved_ms = entry.run_ms;
    let outcome = if entry.exit_code == 0 {
        Outcome::Hit { saved_ms }
    } else {
        Outcome::CachedError { saved_ms }
    };
    record(d, req, started, Some(&plan.inv.input), outcome);
    Response::Compiled {
        exit_code: entry.exit_code,
        stdout: entry.stdout,
        stderr: entry.stderr,
    }
}

fn refuse(
    d: &DaemonState,
    req: &CompileRequest,
    started: std::time::Instant,
    refusal: Refusal,
) -> Response {
    match refusal {
        Refusal::NonCacheable(why, detail) => {
            let label = why.label();
            record(d, req, started, None, Outcome::NonCacheable(why));
            tracing::debug!(reason = label, %detail, "rustc call not cacheable");
            Response::RunLocally {
                reason: format!("{label}: {detail}"),
            }
        }
        Refusal::Internal(message) => {
            record(d, req, started, None, Outcome::Error);
            tracing::warn!(%message, "rustc pipeline error; launcher runs rustc");
            Response::RunLocally { reason: message }
        }
    }
}

/// Manifest → input set that still holds → entry.
///
/// Errors: the miss reason label.
fn lookup(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &RustcPlan,
) -> Result<(RecordKey, Entry), MissReason> {
    let mut manifest = d
        .storage()
        .manifest(&plan.context)
        .ok_or(MissReason::FirstCompile)?;
    if let Some(a) = &plan.anchors {
        manifest = std::sync::Arc::new(portable_text::localize_manifest(&manifest, a));
    }
    let probe = Probe {
        cwd: &req.cwd,
        env: &req.env,
        meta: d.meta(),
        noun: "source",
        listings: None,
    };
    let key = find(&manifest, &probe).map_err(|why| {
        tracing::debug!(crate_name = %plan.inv.crate_name, ?why, "rustc inputs changed");
        MissReason::InputsChanged
    })?;
    match d.storage().get_entry(&key, EntryKind::Rustc) {
        Ok(Some(entry)) => Ok((key, entry)),
        Err(StoreError::Corrupt { .. }) => Err(MissReason::CorruptEntry),
        _ => Err(MissReason::EntryMissing),
    }
}
