//! The compile pipeline for gcc/clang requests, in two stages:
//!
//! 1. [`probe`] (fast, run inline on the server's event loop): plan the
//!    request, key each source, look it up, and restore the hits. When every
//!    source hits, the request is done without any thread hand-off.
//! 2. [`compile_misses`] (slow, run on the blocking pool): compile and store
//!    the sources that missed, then merge all results in source order.
//!
//! Anything not provably cacheable is answered with `RunLocally`, so the
//! launcher runs the real compiler unchanged (ccache manual, "Cache
//! statistics": uncacheable calls).

pub(crate) mod define_sibling;
pub(crate) mod dep_targets;
pub(crate) mod error;
pub(crate) mod farm_compile;
pub(crate) mod hit;
pub(crate) mod miss;
pub(crate) mod not_shared;
pub(crate) mod pch;
pub(crate) mod plan;
mod portable;
pub(crate) mod probes;
pub(crate) mod remote_compile;
pub(crate) mod remote_hit;
pub(crate) mod result;
pub(crate) mod search_list;
pub(crate) mod verify;

use super::refusal::Refusal;
use super::stage::{PendingWork, Stage};
use crate::compiler::CompilerFamily;
use crate::daemon::explain::InputsSummary;
use crate::daemon::reason::{MissReason, Uncacheable};
use crate::daemon::state::{DaemonState, Finished};
use crate::daemon::stats::Outcome;
use crate::hash::Digest;
use crate::ipc::{CompileRequest, Response};
use crate::key::lookup::Probe as InputsProbe;
use crate::key::{find, resolve};
use crate::storage::{Entry, EntryKind, RecordKey, StoreError};
use error::CompileError;
use hit::restore_entry;
use miss::{compile_source, MissContext};
use plan::{context_key, plan, Plan};
pub(crate) use result::SourceResult;
use std::time::Instant;

/// What the probe decided for one source.
#[derive(Debug)]
enum Probe {
    /// Served from the cache.
    Hit(SourceResult),
    /// Must be compiled.
    Miss {
        /// Context key and source hash; `None` when it must not be stored.
        context: Option<(RecordKey, Digest)>,
        /// Miss reason label.
        reason: MissReason,
        /// Set when the result must not be stored (non-cacheable label).
        uncacheable: Option<Uncacheable>,
    },
}

/// A request whose misses still need compiling.
#[derive(Debug)]
pub(crate) struct Pending {
    plan: Plan,
    probes: Vec<Probe>,
    started: Instant,
}

/// Stage 1: plan, key, look up and restore hits. Cheap; no compiler runs.
pub(crate) fn probe(d: &DaemonState, req: &CompileRequest, family: CompilerFamily) -> Stage {
    let started = Instant::now();
    let plan = match plan(d, req, family) {
        Ok(p) => p,
        Err(refusal) => return Stage::Done(refuse(d, req, refusal, started)),
    };
    let probes: Vec<Probe> = (0..plan.inv.sources.len())
        .map(|i| probe_source(d, req, &plan, i))
        .collect();
    let pending = Pending {
        plan,
        probes,
        started,
    };
    if pending.probes.iter().all(|p| matches!(p, Probe::Hit(_))) {
        // Nothing to compile: merging the hits is all that is left.
        return Stage::Done(compile_misses(d, req, pending));
    }
    Stage::Work(Box::new(pending))
}

/// Stage 2: compile every source that missed, store the results, and merge
/// everything into one response.
pub(crate) fn compile_misses(d: &DaemonState, req: &CompileRequest, pending: Pending) -> Response {
    let Pending {
        plan,
        probes,
        started,
    } = pending;
    let results: Vec<Result<SourceResult, CompileError>> = probes
        .into_iter()
        .enumerate()
        .map(|(i, p)| match p {
            Probe::Hit(r) => Ok(r),
            Probe::Miss {
                context,
                reason,
                uncacheable,
            } => {
                let m = MissContext {
                    d,
                    req,
                    plan: &plan,
                    index: i,
                    context,
                    reason,
                };
                match uncacheable {
                    None => match remote_hit::try_serve(&m) {
                        Some(hit) => Ok(hit),
                        None => define_sibling::compile_miss(&m),
                    },
                    Some(_) => compile_source(&m, uncacheable),
                }
            }
        })
        .collect();
    merge(d, req, &plan, results, started)
}

impl PendingWork for Pending {
    fn run(self: Box<Self>, d: &DaemonState, req: &CompileRequest) -> Response {
        compile_misses(d, req, *self)
    }
}

fn refuse(d: &DaemonState, req: &CompileRequest, refusal: Refusal, started: Instant) -> Response {
    let finished = |outcome| Finished::outcome(req, started, outcome, false);
    match refusal {
        Refusal::NonCacheable(why, detail) => {
            let label = why.label();
            d.record(finished(Outcome::NonCacheable(why)));
            tracing::debug!(reason = label, %detail, "non-cacheable");
            Response::RunLocally {
                reason: format!("{label}: {detail}"),
            }
        }
        Refusal::Internal(message) => {
            d.record(finished(Outcome::Error));
            tracing::warn!(%message, "internal error; launcher compiles directly");
            Response::RunLocally { reason: message }
        }
    }
}

/// Concatenate per-source results in order (gcc compiles the sources of
/// one command in order, so its diagnostics come in that order), recording
/// each source's outcome. Any internal failure turns the whole request into
/// `RunLocally`.
fn merge(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &Plan,
    results: Vec<Result<SourceResult, CompileError>>,
    started: Instant,
) -> Response {
    if let Some(Err(message)) = results.iter().find(|r| r.is_err()) {
        d.record(Finished::outcome(req, started, Outcome::Error, false));
        tracing::warn!(%message, "falling back to a local compile");
        return Response::RunLocally {
            reason: message.to_string(),
        };
    }
    let mut exit_code = 0;
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        let Ok(r) = r else { continue };
        stdout.extend_from_slice(&r.stdout);
        stderr.extend_from_slice(&r.stderr);
        if r.exit_code != 0 && exit_code == 0 {
            exit_code = r.exit_code;
        }
        d.record(Finished {
            req,
            started,
            source: Some(&plan.inv.sources[i].path),
            output: Some(plan.inv.object_path(i)),
            outcome: r.outcome,
            bytes_read: r.bytes_read,
            bytes_written: r.bytes_written,
            link: false,
        });
    }
    tracing::debug!(
        latency_us = started.elapsed().as_micros() as u64,
        "compile request served"
    );
    Response::Compiled {
        exit_code,
        stdout,
        stderr,
    }
}

fn probe_source(d: &DaemonState, req: &CompileRequest, plan: &Plan, i: usize) -> Probe {
    let source = &plan.inv.sources[i];
    let miss = |context, reason, uncacheable| Probe::Miss {
        context,
        reason,
        uncacheable,
    };
    let digest = match d.meta().digest(&resolve(&req.cwd, &source.path)) {
        Ok(dg) => dg,
        Err(_) => {
            return miss(
                None,
                MissReason::FirstCompile,
                Some(Uncacheable::SourceUnreadable),
            )
        }
    };
    if digest.has_time_macros {
        return miss(None, MissReason::FirstCompile, Some(Uncacheable::TimeMacro));
    }
    let context = context_key(req, plan, i, &digest.hash);
    let keyed = Some((context, digest.hash));
    let output = resolve(&req.cwd, &plan.inv.object_path(i))
        .to_string_lossy()
        .into_owned();
    let inputs = InputsSummary {
        compiler: req.compiler.display().to_string(),
        identity: plan.identity,
        args: plan.inv.common_args.clone(),
        env: plan.key_env.clone(),
        source: source.path.clone(),
        source_hash: digest.hash,
    };
    let (entry_key, entry) = match lookup(d, req, &context) {
        Ok(found) => found,
        Err((reason, detail)) => {
            d.accounting()
                .explanations()
                .note(&output, inputs, Some(detail));
            return miss(keyed, reason, None);
        }
    };
    match restore_entry(d, req, plan, i, &entry) {
        Ok(bytes) => {
            d.accounting().explanations().note(&output, inputs, None);
            verify::maybe_sample(d, req, plan, i, (context, entry_key), &entry);
            Probe::Hit(hit_result(entry, bytes))
        }
        Err(e) => {
            tracing::warn!(error = %e, "cached entry unusable; recompiling");
            d.storage().remove_entry(&entry_key);
            d.accounting().explanations().note(
                &output,
                inputs,
                Some(format!("cached entry was unusable ({e})")),
            );
            miss(keyed, MissReason::CorruptEntry, None)
        }
    }
}

/// The result of a source served from `entry` (`bytes` restored).
fn hit_result(entry: Entry, bytes: u64) -> SourceResult {
    SourceResult {
        exit_code: 0,
        stdout: entry.stdout,
        stderr: entry.stderr,
        outcome: Outcome::Hit {
            saved_ms: entry.run_ms,
        },
        bytes_read: bytes,
        bytes_written: 0,
        stored: false,
    }
}

/// Find the entry for a context: manifest → matching include set → entry.
///
/// Errors: the miss reason label and a human explanation (empty when the
/// explanation must come from comparing with the previous compile).
fn lookup(
    d: &DaemonState,
    req: &CompileRequest,
    context: &RecordKey,
) -> Result<(RecordKey, Entry), (MissReason, String)> {
    let manifest = d
        .storage()
        .manifest(context)
        .ok_or((MissReason::FirstCompile, String::new()))?;
    let probe = InputsProbe {
        cwd: &req.cwd,
        env: &[],
        meta: d.meta(),
        noun: "header",
        listings: Some(d.listings()),
    };
    let entry_key = match find(&manifest, &probe) {
        Ok(found) => found,
        Err(why) => return Err((MissReason::InputsChanged, why.to_string())),
    };
    let missing = || {
        (
            MissReason::EntryMissing,
            "the cache entry was evicted or cleared".to_string(),
        )
    };
    match d.storage().get_entry(&entry_key, EntryKind::Compile) {
        Ok(Some(entry)) => Ok((entry_key, entry)),
        Err(StoreError::Corrupt { .. }) => Err((
            MissReason::CorruptEntry,
            "the cache entry was corrupt".to_string(),
        )),
        Ok(None) | Err(_) => Err(missing()),
    }
}
