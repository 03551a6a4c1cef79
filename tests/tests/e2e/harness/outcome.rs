//! What a single zccache invocation is expected to count as, checked against
//! the daemon's stats before and after it: a hit or a miss moves exactly one
//! of those two counters; a non-cacheable request moves `non_cacheable` and
//! its reason by one and neither hits nor misses.

use super::*;
use std::fmt;
use std::process::Output;

/// The expected effect of one zccache invocation on the stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Served from the cache: hits +1, misses +0.
    Hit,
    /// Compiled and stored: misses +1, hits +0.
    Miss,
    /// Passed through: non_cacheable +1 and
    /// `non_cacheable_by_reason[reason]` +1, hits and misses unchanged.
    NonCacheable(&'static str),
}

impl Outcome {
    /// Whether this outcome implies the invocation succeeded.
    pub fn implies_success(self) -> bool {
        matches!(self, Outcome::Hit | Outcome::Miss)
    }

    /// Asserts that going from `before` to `after` is this outcome, for the
    /// invocation described by `what`.
    pub fn check(self, before: &Stats, after: &Stats, what: &str) {
        match self {
            Outcome::Hit => check_hit_miss(before, after, (1, 0), self, what),
            Outcome::Miss => check_hit_miss(before, after, (0, 1), self, what),
            Outcome::NonCacheable(reason) => check_nc(before, after, reason, what),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Hit => f.write_str("hit"),
            Outcome::Miss => f.write_str("miss"),
            Outcome::NonCacheable(r) => write!(f, "non-cacheable ({r})"),
        }
    }
}

fn check_hit_miss(before: &Stats, after: &Stats, want: (i64, i64), o: Outcome, what: &str) {
    let dh = after.cache_hits as i64 - before.cache_hits as i64;
    let dm = after.cache_misses as i64 - before.cache_misses as i64;
    assert_eq!(
        (dh, dm),
        want,
        "expected a {o} for {what} (hits +{dh}, misses +{dm}); stats now {after}"
    );
}

fn check_nc(before: &Stats, after: &Stats, reason: &str, what: &str) {
    let (c0, c1) = (before.counters(), after.counters());
    assert_eq!(
        c1.non_cacheable,
        c0.non_cacheable + 1,
        "{what} non_cacheable: {after}"
    );
    assert_eq!(
        (c1.hits, c1.misses),
        (c0.hits, c0.misses),
        "{what} hit/miss: {after}"
    );
    assert_eq!(
        after.nc_reason(reason),
        before.nc_reason(reason) + 1,
        "{what} reason {reason}: {after}"
    );
}

impl Sandbox {
    /// Runs a compile through zccache, asserts success, and asserts the
    /// stats moved as `outcome` says (see [`Outcome::check`]).
    pub fn compile_expect(&self, args: &[&str], outcome: Outcome) -> Output {
        let before = self.stats();
        let out = self.zcc_ok(args);
        let after = self.stats();
        outcome.check(&before, &after, &format!("`zccache {args:?}`"));
        out
    }

    /// Runs `zccache <args>` (stdin from `input`) and asserts it counted as
    /// non-cacheable under `reason`, without asserting success.
    pub fn expect_nc(&self, args: &[&str], input: Option<&[u8]>, reason: &'static str) -> Output {
        let before = self.stats();
        let out = run_cmd(&mut self.zcc_cmd(args), input);
        let after = self.stats();
        let what = format!("`zccache {args:?}`");
        Outcome::NonCacheable(reason).check(&before, &after, &what);
        out
    }
}
