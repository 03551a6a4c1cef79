//! Sampled hit verification, the part shared by the pipelines
//! (`ZCCACHE_VERIFY_RATE`): after a hit has been served, a pipeline may
//! queue a [`Check`]: what was served, as named content hashes, and how to
//! recompile the same request into private temp paths. The verifier thread
//! runs [`run`]: recompile and compare byte for byte (by blake3); a
//! difference is confirmed by a second recompile. Two recompiles that agree
//! with each other but not with what was served make a *mismatch* (a stale
//! entry: it and its context's manifest are dropped, stats, journal and
//! `zccache explain` name what differed); two recompiles that disagree make
//! the compile *non-deterministic* (its context is no longer cached).

use crate::daemon::state::accounting::VerifyLine;
use crate::daemon::state::DaemonState;
use crate::daemon::stats::VerifyVerdict;
use crate::ipc::CompileRequest;
use crate::key::resolve;
use crate::storage::RecordKey;

/// Named content hashes of a compile's results: each output (`object`,
/// `depfile`, an output file name) and `stdout`/`stderr`, in a fixed order.
pub(crate) type Observed = Vec<(String, [u8; 32])>;

/// How a [`Check`] recompiles: `None` when the recompile could not run or
/// failed.
pub(crate) type RecompileFn = Box<dyn Fn(&DaemonState) -> Option<Observed> + Send>;

/// One sampled hit to verify.
pub(crate) struct Check {
    /// The request as it was served.
    pub(crate) req: CompileRequest,
    /// The source (for the journal and logs).
    pub(crate) source: String,
    /// The output as the request names it (for explain and the journal).
    pub(crate) output: String,
    /// The context key (its manifest is dropped on a mismatch).
    pub(crate) context: RecordKey,
    /// The entry key that was served.
    pub(crate) entry: RecordKey,
    /// What was served.
    pub(crate) served: Observed,
    /// Recompile into private temp paths; `None` when it could not run or
    /// failed (the inputs moved on; the next lookup sees that).
    pub(crate) recompile: RecompileFn,
}

/// True when the request's sampling rate picks this hit.
pub(crate) fn sampled(req: &CompileRequest) -> bool {
    req.verify_per_million > 0 && fastrand::u32(0..1_000_000) < req.verify_per_million
}

/// Queue `check` on the verifier (dropped when its queue is full).
pub(crate) fn enqueue(d: &DaemonState, check: Check) {
    if !d.verifier().enqueue(Box::new(move |d| run(d, &check))) {
        tracing::debug!("hit verification queue full; sample dropped");
    }
}

/// The blake3 of `bytes`, as an [`Observed`] hash.
pub(crate) fn hash(bytes: &[u8]) -> [u8; 32] {
    *blake3::hash(bytes).as_bytes()
}

/// Run one verification (on the verifier thread).
fn run(d: &DaemonState, c: &Check) {
    let Some(first) = (c.recompile)(d) else {
        return;
    };
    let Some(which) = difference(&c.served, &first) else {
        d.accounting()
            .stats()
            .record_verify(VerifyVerdict::Verified);
        return;
    };
    let Some(second) = (c.recompile)(d) else {
        return;
    };
    match difference(&first, &second) {
        Some(unstable) => nondeterministic(d, c, &unstable),
        None => mismatch(d, c, &which),
    }
}

/// The name of the first result that differs between `a` and `b`.
fn difference(a: &Observed, b: &Observed) -> Option<String> {
    for (name, hash) in a {
        match b.iter().find(|(n, _)| n == name) {
            Some((_, h)) if h == hash => {}
            _ => return Some(name.clone()),
        }
    }
    b.iter()
        .find(|(n, _)| !a.iter().any(|(m, _)| m == n))
        .map(|(n, _)| n.clone())
}

/// A confirmed stale entry: drop it and its context's manifest, count it,
/// journal it and let `zccache explain` report it.
fn mismatch(d: &DaemonState, c: &Check, which: &str) {
    d.storage().remove_entry(&c.entry);
    d.verifier().mark_stale(c.entry);
    d.storage().remove_manifest(&c.context);
    d.accounting()
        .stats()
        .record_verify(VerifyVerdict::Mismatch);
    let output = resolve(&c.req.cwd, &c.output)
        .to_string_lossy()
        .into_owned();
    let detail = format!("the recompiled {which} differs from the one served");
    d.accounting()
        .explanations()
        .verify_mismatch(&output, &detail);
    journal(d, c, "verify_mismatch", which, &output);
    tracing::warn!(source = %c.source, output = %output, differs = which, "verify mismatch: stale entry dropped");
}

/// Two recompiles disagree: the compile is not deterministic; its entry is
/// dropped and its context no longer cached.
fn nondeterministic(d: &DaemonState, c: &Check, which: &str) {
    d.storage().remove_entry(&c.entry);
    d.verifier().mark_nondeterministic(c.context);
    d.accounting()
        .stats()
        .record_verify(VerifyVerdict::Nondeterministic);
    let output = resolve(&c.req.cwd, &c.output)
        .to_string_lossy()
        .into_owned();
    journal(d, c, "verify_nondeterministic", which, &output);
    tracing::warn!(source = %c.source, differs = which, "non-deterministic compile; no longer cached");
}

fn journal(d: &DaemonState, c: &Check, outcome: &str, which: &str, output: &str) {
    d.accounting().journal_verify(VerifyLine {
        req: &c.req,
        outcome,
        detail: which,
        source: &c.source,
        output,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(items: &[(&str, u8)]) -> Observed {
        items
            .iter()
            .map(|(n, b)| (n.to_string(), [*b; 32]))
            .collect()
    }

    #[test]
    fn the_first_differing_result_is_named() {
        let a = obs(&[("object", 1), ("stdout", 2), ("stderr", 3)]);
        assert_eq!(difference(&a, &a.clone()), None);
        let b = obs(&[("object", 1), ("stdout", 9), ("stderr", 3)]);
        assert_eq!(difference(&a, &b).as_deref(), Some("stdout"));
        let c = obs(&[("object", 1), ("stdout", 2)]);
        assert_eq!(difference(&a, &c).as_deref(), Some("stderr"));
        assert_eq!(difference(&c, &a).as_deref(), Some("stderr"));
    }
}
