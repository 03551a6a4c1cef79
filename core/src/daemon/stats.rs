//! Per-daemon counters: hits, misses by reason, non-cacheable by reason,
//! errors and time saved.

pub(crate) use super::reason::{MissReason, Uncacheable};
use crate::ipc::StatusReport;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The outcome of one source of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Served from the cache; the original compile took this many ms.
    Hit {
        /// Saved compile time, ms.
        saved_ms: u64,
    },
    /// A direct-mode miss served from the entry of a compile that differed
    /// only in its defines, after the preprocessor showed both alike (see
    /// `define_sibling`); counted as a hit.
    PreprocessorHit {
        /// Saved compile time (the original compile's, less the
        /// preprocessor runs), ms.
        saved_ms: u64,
    },
    /// Served from a remote tier after a local miss (also written into the
    /// local store); counted as a hit.
    RemoteHit {
        /// Saved compile time, ms.
        saved_ms: u64,
        /// The tier that served it (URL, credentials redacted).
        tier: String,
    },
    /// A failed compile replayed from the cache (saved ms).
    CachedError {
        /// Saved compile time, ms.
        saved_ms: u64,
    },
    /// Compiled; the reason says why the cache could not serve it.
    Miss(MissReason),
    /// The compile ran and failed (nothing stored); also a miss.
    CompileFailed(MissReason),
    /// Passed through unchanged; the reason says why.
    NonCacheable(Uncacheable),
    /// An internal failure made the launcher compile by itself.
    Error,
}

#[derive(Debug, Default)]
struct Counters {
    hits: u64,
    preprocessor_hits: u64,
    misses: u64,
    non_cacheable: u64,
    errors: u64,
    compile_failed: u64,
    time_saved_ms: u64,
    misses_by_reason: BTreeMap<String, u64>,
    non_cacheable_by_reason: BTreeMap<String, u64>,
    warnings_by_reason: BTreeMap<String, u64>,
    link_hits: u64,
    link_misses: u64,
    farm_compiles: u64,
    farm_errors: u64,
    farm_fallbacks: u64,
    verified_hits: u64,
    verify_mismatches: u64,
    verify_nondeterministic: u64,
}

/// The verdict of one sampled hit's background recompile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VerifyVerdict {
    /// The recompile equals what was served.
    Verified,
    /// Two agreeing recompiles differ from what was served (a stale entry).
    Mismatch,
    /// Two recompiles disagree with each other (not deterministic).
    Nondeterministic,
}

/// What happened to one miss compiled through the farm prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FarmEvent {
    /// It ran on the farm (the compiler's verdict came back).
    Compiled,
    /// The prefix failed for its own reasons and the compile ran locally.
    FellBack,
}

/// Thread-safe counters of one daemon.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    inner: Mutex<Counters>,
}

impl Stats {
    /// Count one outcome.
    pub(crate) fn record(&self, outcome: &Outcome) {
        let Ok(mut c) = self.inner.lock() else { return };
        match outcome {
            Outcome::Hit { saved_ms } | Outcome::RemoteHit { saved_ms, .. } => {
                c.hits += 1;
                c.time_saved_ms += saved_ms;
            }
            Outcome::PreprocessorHit { saved_ms } => {
                c.hits += 1;
                c.preprocessor_hits += 1;
                c.time_saved_ms += saved_ms;
            }
            Outcome::CachedError { saved_ms } => {
                c.hits += 1;
                c.time_saved_ms += saved_ms;
            }
            Outcome::Miss(reason) => {
                c.misses += 1;
                *c.misses_by_reason.entry(reason.label().into()).or_default() += 1;
            }
            Outcome::CompileFailed(reason) => {
                c.misses += 1;
                c.compile_failed += 1;
                *c.misses_by_reason.entry(reason.label().into()).or_default() += 1;
            }
            Outcome::NonCacheable(reason) => {
                c.non_cacheable += 1;
                *c.non_cacheable_by_reason
                    .entry(reason.label().into())
                    .or_default() += 1;
            }
            Outcome::Error => c.errors += 1,
        }
    }

    /// Count a link or archive outcome in the link counters (on top of
    /// [`Stats::record`]).
    pub(crate) fn record_link(&self, outcome: &Outcome) {
        let Ok(mut c) = self.inner.lock() else { return };
        match outcome {
            Outcome::Hit { .. } | Outcome::RemoteHit { .. } => c.link_hits += 1,
            Outcome::Miss(_) | Outcome::CompileFailed(_) => c.link_misses += 1,
            _ => {}
        }
    }

    /// Count one miss compiled through the farm prefix.
    pub(crate) fn record_farm(&self, event: FarmEvent) {
        let Ok(mut c) = self.inner.lock() else { return };
        match event {
            FarmEvent::Compiled => c.farm_compiles += 1,
            FarmEvent::FellBack => {
                c.farm_errors += 1;
                c.farm_fallbacks += 1;
            }
        }
    }

    /// Count the verdict of one verified hit.
    pub(crate) fn record_verify(&self, verdict: VerifyVerdict) {
        let Ok(mut c) = self.inner.lock() else { return };
        match verdict {
            VerifyVerdict::Verified => c.verified_hits += 1,
            VerifyVerdict::Mismatch => c.verify_mismatches += 1,
            VerifyVerdict::Nondeterministic => c.verify_nondeterministic += 1,
        }
    }

    /// Count one warning (see [`StatusReport::warnings_by_reason`]).
    pub(crate) fn warn(&self, label: &str) {
        let Ok(mut c) = self.inner.lock() else { return };
        *c.warnings_by_reason.entry(label.to_string()).or_default() += 1;
    }

    /// Copy the counters into `report`.
    pub(crate) fn fill(&self, report: &mut StatusReport) {
        let Ok(c) = self.inner.lock() else { return };
        report.cache_hits = c.hits;
        report.preprocessor_hits = c.preprocessor_hits;
        report.cache_misses = c.misses;
        report.non_cacheable = c.non_cacheable;
        report.errors = c.errors;
        report.compile_failed = c.compile_failed;
        report.time_saved_ms = c.time_saved_ms;
        report.misses_by_reason = c.misses_by_reason.clone();
        report.non_cacheable_by_reason = c.non_cacheable_by_reason.clone();
        report.warnings_by_reason = c.warnings_by_reason.clone();
        report.link_hits = c.link_hits;
        report.link_misses = c.link_misses;
        report.farm_compiles = c.farm_compiles;
        report.farm_errors = c.farm_errors;
        report.farm_fallbacks = c.farm_fallbacks;
        report.verified_hits = c.verified_hits;
        report.verify_mismatches = c.verify_mismatches;
        report.verify_nondeterministic = c.verify_nondeterministic;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_reason() {
        let s = Stats::default();
        s.record(&Outcome::Hit { saved_ms: 5 });
        s.record(&Outcome::PreprocessorHit { saved_ms: 2 });
        s.record(&Outcome::Miss(MissReason::FirstCompile));
        s.record(&Outcome::CompileFailed(MissReason::FirstCompile));
        s.record(&Outcome::NonCacheable(Uncacheable::Compile(
            crate::compiler::NonCacheableReason::Link,
        )));
        s.record(&Outcome::Error);
        let mut r = StatusReport::default();
        s.fill(&mut r);
        assert_eq!(
            (
                r.cache_hits,
                r.cache_misses,
                r.non_cacheable,
                r.errors,
                r.compile_failed
            ),
            (2, 2, 1, 1, 1)
        );
        assert_eq!(r.misses_by_reason["first_compile"], 2);
        assert_eq!(r.time_saved_ms, 7);
        assert_eq!(r.preprocessor_hits, 1);
    }
}
