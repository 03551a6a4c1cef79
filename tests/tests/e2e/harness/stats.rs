//! Typed views of the daemon's JSON reports: [`Stats`] for
//! `zccache stats --json` (and `status --json`, the same report),
//! [`SessionStats`] for `zccache session-stats --json`, and the
//! [`Counters`] subset tests compare before and after a step. Only the
//! fields the tests read are declared; unknown keys are ignored, and a
//! missing or mistyped declared key fails the parse with the raw JSON.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// Parses `bytes` as JSON into `T`, panicking with the text on failure.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> T {
    serde_json::from_slice(bytes).unwrap_or_else(|e| {
        panic!(
            "{what} is not the expected JSON ({e}): {}",
            String::from_utf8_lossy(bytes)
        )
    })
}

/// `zccache stats --json` / `zccache status --json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Stats {
    pub version: String,
    pub protocol_version: u64,
    pub pid: u64,
    pub uptime_ms: u64,
    pub cache_dir: String,
    pub socket: String,
    pub cache_hits: u64,
    pub preprocessor_hits: u64,
    pub cache_misses: u64,
    pub non_cacheable: u64,
    pub errors: u64,
    pub compile_failed: u64,
    pub time_saved_ms: u64,
    pub entries: u64,
    pub bytes: u64,
    pub max_size: u64,
    pub backpressure_replies: u64,
    pub max_jobs: u64,
    pub link_hits: u64,
    pub misses_by_reason: BTreeMap<String, u64>,
    pub non_cacheable_by_reason: BTreeMap<String, u64>,
    pub warnings_by_reason: BTreeMap<String, u64>,
    /// The JSON text this was parsed from, for failure messages.
    #[serde(skip)]
    pub raw: String,
}

impl Stats {
    /// Parses the stdout of `zccache stats --json`.
    pub fn parse(bytes: &[u8]) -> Stats {
        let mut st: Stats = parse_json(bytes, "stats --json");
        st.raw = String::from_utf8_lossy(bytes).trim().to_string();
        st
    }

    /// The outcome counters.
    pub fn counters(&self) -> Counters {
        Counters {
            hits: self.cache_hits,
            misses: self.cache_misses,
            non_cacheable: self.non_cacheable,
            errors: self.errors,
            compile_failed: self.compile_failed,
        }
    }

    /// Misses counted under `reason` (0 when never seen).
    pub fn miss_reason(&self, reason: &str) -> u64 {
        count(&self.misses_by_reason, reason)
    }

    /// Non-cacheable requests counted under `reason` (0 when never seen).
    pub fn nc_reason(&self, reason: &str) -> u64 {
        count(&self.non_cacheable_by_reason, reason)
    }

    /// Warnings counted under `reason` (0 when never seen).
    pub fn warning_reason(&self, reason: &str) -> u64 {
        count(&self.warnings_by_reason, reason)
    }
}

/// Shows the raw JSON, as the tests' failure messages always did.
impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Reason maps only list reasons seen so far: absent means 0.
fn count(map: &BTreeMap<String, u64>, reason: &str) -> u64 {
    map.get(reason).copied().unwrap_or(0)
}

/// `zccache session-stats <id> --json` / `session-end <id> --json`.
#[derive(Debug, Clone, Deserialize)]
pub struct SessionStats {
    pub compilations: u64,
    pub hits: u64,
    pub misses: u64,
    pub non_cacheable: u64,
    pub unique_sources: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
}

/// The counters tests compare before and after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub hits: u64,
    pub misses: u64,
    pub non_cacheable: u64,
    pub errors: u64,
    pub compile_failed: u64,
}

impl Counters {
    /// Hit and miss deltas from `before` to `self`.
    pub fn hit_miss_since(&self, before: Counters) -> (u64, u64) {
        (self.hits - before.hits, self.misses - before.misses)
    }
}
