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

use super::hit::{restore_entry, RestoreError};
use super::miss::{compile_source, MissContext};
use super::plan::{context_key, plan, Plan, Refusal};
use super::route::{PendingWork, Stage};
use super::state::DaemonState;
use super::stats::Outcome;
use crate::entry::Entry;
use crate::hash::Digest;
use crate::ipc::{CompileRequest, Response};
use crate::key::resolve;
use crate::store::{RecordKey, RecordKind, StoreError};
use std::time::Instant;

/// The result of one source of a request.
#[derive(Debug)]
pub struct SourceResult {
    /// Exit code of this source's compile (0 on a hit).
    pub exit_code: i32,
    /// stdout bytes.
    pub stdout: Vec<u8>,
    /// stderr bytes.
    pub stderr: Vec<u8>,
    /// How it was served.
    pub outcome: Outcome,
}

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
        reason: &'static str,
        /// Set when the result must not be stored (non-cacheable label).
        uncacheable: Option<&'static str>,
    },
}

/// A request whose misses still need compiling.
#[derive(Debug)]
pub struct Pending {
    plan: Plan,
    probes: Vec<Probe>,
    started: Instant,
}

/// Stage 1: plan, key, look up and restore hits. Cheap; no compiler runs.
pub fn probe(d: &DaemonState, req: &CompileRequest) -> Stage {
    let started = Instant::now();
    let plan = match plan(d, req) {
        Ok(p) => p,
        Err(refusal) => return Stage::Done(refuse(d, refusal)),
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
pub fn compile_misses(d: &DaemonState, req: &CompileRequest, pending: Pending) -> Response {
    let Pending {
        plan,
        probes,
        started,
    } = pending;
    let results: Vec<Result<SourceResult, String>> = probes
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
                compile_source(&m, uncacheable)
            }
        })
        .collect();
    merge(d, results.into_iter(), started)
}

impl PendingWork for Pending {
    fn run(self: Box<Self>, d: &DaemonState, req: &CompileRequest) -> Response {
        compile_misses(d, req, *self)
    }
}

fn refuse(d: &DaemonState, refusal: Refusal) -> Response {
    match refusal {
        Refusal::NonCacheable(label, detail) => {
            d.stats.record(&Outcome::NonCacheable(label));
            tracing::debug!(reason = label, %detail, "non-cacheable");
            Response::RunLocally {
                reason: format!("{label}: {detail}"),
            }
        }
        Refusal::Internal(message) => {
            d.stats.record(&Outcome::Error);
            tracing::warn!(%message, "internal error; launcher compiles directly");
            Response::RunLocally { reason: message }
        }
    }
}

/// Concatenate per-source results in order (gcc compiles the sources of
/// one command in order, so its diagnostics come in that order). Any
/// internal failure turns the whole request into `RunLocally`.
fn merge(
    d: &DaemonState,
    results: impl Iterator<Item = Result<SourceResult, String>>,
    started: Instant,
) -> Response {
    let mut exit_code = 0;
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    for r in results {
        let r = match r {
            Ok(r) => r,
            Err(message) => {
                d.stats.record(&Outcome::Error);
                tracing::warn!(%message, "falling back to a local compile");
                return Response::RunLocally { reason: message };
            }
        };
        d.stats.record(&r.outcome);
        stdout.extend_from_slice(&r.stdout);
        stderr.extend_from_slice(&r.stderr);
        if r.exit_code != 0 && exit_code == 0 {
            exit_code = r.exit_code;
        }
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
    let digest = match d.meta.digest(&resolve(&req.cwd, &source.path)) {
        Ok(dg) => dg,
        Err(_) => return miss(None, "first_compile", Some("source_unreadable")),
    };
    if digest.has_time_macros {
        return miss(None, "first_compile", Some("time_macro"));
    }
    let context = context_key(req, plan, i, &digest.hash);
    let keyed = Some((context, digest.hash));
    let (entry_key, entry) = match lookup(d, req, &context) {
        Ok(found) => found,
        Err(reason) => return miss(keyed, reason, None),
    };
    match timed_restore(d, req, plan, i, &entry) {
        Ok(()) => Probe::Hit(SourceResult {
            exit_code: 0,
            stdout: entry.stdout,
            stderr: entry.stderr,
            outcome: Outcome::Hit {
                saved_ms: entry.compile_ms,
            },
        }),
        Err(e) => {
            tracing::warn!(error = %e, "cached entry unusable; recompiling");
            let _ = d.store.remove_record(RecordKind::Entry, &entry_key);
            miss(keyed, "corrupt_entry", None)
        }
    }
}

fn timed_restore(
    d: &DaemonState,
    req: &CompileRequest,
    plan: &Plan,
    i: usize,
    entry: &Entry,
) -> Result<(), RestoreError> {
    let t = Instant::now();
    let r = restore_entry(d, req, plan, i, entry);
    tracing::debug!(restore_us = t.elapsed().as_micros() as u64, "restore");
    r
}

/// Find the entry for a context: manifest → matching include set → entry.
///
/// Errors: the miss reason label.
fn lookup(
    d: &DaemonState,
    req: &CompileRequest,
    context: &RecordKey,
) -> Result<(RecordKey, Entry), &'static str> {
    let manifest = d.manifest(context).ok_or("first_compile")?;
    let (entry_key, refresh) = manifest
        .find(&req.cwd, &d.meta)
        .map_err(|_| "inputs_changed")?;
    if !refresh.is_empty() {
        // Memory only: the fingerprints are an optimisation, and output
        // dirs that are also source dirs change on every compile.
        let mut updated = (*manifest).clone();
        updated.refresh(&refresh);
        d.remember_manifest(*context, std::sync::Arc::new(updated));
    }
    let bytes = match d.store.get_record(RecordKind::Entry, &entry_key) {
        Ok(Some(b)) => b,
        Ok(None) => return Err("entry_missing"),
        Err(StoreError::Corrupt { .. }) => return Err("corrupt_entry"),
        Err(_) => return Err("entry_missing"),
    };
    let entry = Entry::decode(&bytes).ok_or("corrupt_entry")?;
    Ok((entry_key, entry))
}
