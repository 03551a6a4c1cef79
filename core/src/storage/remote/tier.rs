//! One remote tier: its specification, its backend (opened lazily, so a
//! tier that is down never stops the daemon from starting), its circuit
//! breaker and its counters. Every operation goes through [`Tier::call`],
//! which skips the tier while its breaker is open, opens the breaker on a
//! connection error or a timeout, and counts and logs errors (each kind of
//! error logged once per tier).

use super::backend::{self, Backend, RemoteError};
use super::spec::TierSpec;
use crate::breaker::Breaker;
use crate::once_log::OnceLog;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Counters of one tier (see [`TierCounters::snapshot`] for the names).
#[derive(Debug, Default)]
pub(crate) struct TierCounters {
    /// Records served from this tier.
    pub(crate) hits: AtomicU64,
    /// Lookups this tier could not serve.
    pub(crate) misses: AtomicU64,
    /// Errors other than timeouts (refused, denied, server errors).
    pub(crate) errors: AtomicU64,
    /// Operations that timed out.
    pub(crate) timeouts: AtomicU64,
    /// Objects rejected as corrupt, truncated or hostile.
    pub(crate) corrupt: AtomicU64,
    /// Objects written.
    pub(crate) writes: AtomicU64,
    /// Bytes read from the tier (as transferred).
    pub(crate) bytes_read: AtomicU64,
    /// Bytes written to the tier (as transferred).
    pub(crate) bytes_written: AtomicU64,
    /// Records written here because a slower tier served them.
    pub(crate) backfills: AtomicU64,
    /// Wall time spent in operations, in µs.
    pub(crate) time_us: AtomicU64,
}

/// One tier.
pub(crate) struct Tier {
    /// Its configuration.
    pub(crate) spec: TierSpec,
    backend: OnceLock<Result<Box<dyn Backend>, String>>,
    /// Its breaker.
    pub(crate) breaker: Breaker,
    /// Its counters.
    pub(crate) counters: TierCounters,
    logged: OnceLog,
    /// Keys whose object this daemon found corrupt: the next upload
    /// overwrites them instead of trusting that they exist.
    bad_keys: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tier")
            .field("spec", &self.spec.redacted())
            .finish()
    }
}

impl Tier {
    /// A tier for `spec`; nothing is contacted yet.
    pub(crate) fn new(spec: TierSpec) -> Tier {
        Tier {
            spec,
            backend: OnceLock::new(),
            breaker: Breaker::default(),
            counters: TierCounters::default(),
            logged: OnceLog::default(),
            bad_keys: Mutex::new(HashSet::new()),
        }
    }

    /// Run `op` against the backend unless the breaker is open (`None`
    /// then, and on any error, which is counted and logged).
    pub(crate) fn call<T>(
        &self,
        op: impl FnOnce(&dyn Backend) -> Result<T, RemoteError>,
    ) -> Option<T> {
        if !self.breaker.allows() {
            return None;
        }
        let backend = match self
            .backend
            .get_or_init(|| backend::open(&self.spec).map_err(|e| e.to_string()))
        {
            Ok(b) => b,
            Err(e) => {
                self.log_once("open", e);
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        let start = std::time::Instant::now();
        let result = op(backend.as_ref());
        Tier::count(&self.counters.time_us, start.elapsed().as_micros() as u64);
        match result {
            Ok(v) => {
                self.breaker.success();
                Some(v)
            }
            Err(e) => {
                self.failed(&e);
                None
            }
        }
    }

    fn failed(&self, e: &RemoteError) {
        let (counter, trips) = match e {
            RemoteError::Timeout => (&self.counters.timeouts, true),
            RemoteError::Connect(_) => (&self.counters.errors, true),
            RemoteError::Denied(_) | RemoteError::Other(_) | RemoteError::TooLarge { .. } => {
                (&self.counters.errors, false)
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if trips {
            self.breaker.failure();
        }
        let kind = match e {
            RemoteError::Timeout => "timeout",
            RemoteError::Connect(_) => "connect",
            RemoteError::Denied(_) => "denied",
            RemoteError::Other(_) => "other",
            RemoteError::TooLarge { .. } => "too_large",
        };
        self.log_once(kind, &e.to_string());
    }

    /// Log `message` at warn level the first time `kind` happens on this
    /// tier, at debug level afterwards.
    pub(crate) fn log_once(&self, kind: &str, message: &str) {
        let tier = self.spec.redacted();
        self.logged.log(kind, &tier, "remote tier error", message);
    }

    /// This tier's counters as a stats report.
    pub(crate) fn report(&self) -> crate::ipc::TierReport {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        crate::ipc::TierReport {
            url: self.spec.redacted(),
            hits: get(&c.hits),
            misses: get(&c.misses),
            errors: get(&c.errors),
            timeouts: get(&c.timeouts),
            corrupt: get(&c.corrupt),
            writes: get(&c.writes),
            bytes_read: get(&c.bytes_read),
            bytes_written: get(&c.bytes_written),
            backfills: get(&c.backfills),
            breaker: self.breaker.state().label().to_string(),
            time_ms: get(&c.time_us) / 1000,
        }
    }

    /// Remember that the object under `key` is corrupt on this tier.
    pub(crate) fn mark_bad(&self, key: &str) {
        if let Ok(mut k) = self.bad_keys.lock() {
            k.insert(key.to_string());
        }
    }

    /// True when this daemon found the object under `key` corrupt (and has
    /// not overwritten it since).
    pub(crate) fn is_bad(&self, key: &str) -> bool {
        self.bad_keys
            .lock()
            .map(|k| k.contains(key))
            .unwrap_or(false)
    }

    /// The object under `key` was written again: no longer known bad.
    pub(crate) fn mark_good(&self, key: &str) {
        if let Ok(mut k) = self.bad_keys.lock() {
            k.remove(key);
        }
    }

    /// Count `n` more of `counter`.
    pub(crate) fn count(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
