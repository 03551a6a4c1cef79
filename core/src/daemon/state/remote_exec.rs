//! The REAPI executor: runs a pipeline's miss on a REAPI cluster (Bazel
//! Remote Execution API v2, Execution) when the configuration names a
//! `grpc://`/`grpcs://` server with `execute` (`ZCCACHE_REAPI`). It owns
//! the connection, a circuit breaker (the one the remote tiers use: a dead
//! or hanging cluster costs one timeout per back-off period, not one per
//! compile), the remote job slots (`jobs=N`, independent of local cores)
//! and the counters `zccache stats` shows.
//!
//! [`RemoteExecutor::run`] never fails the build: any failure of the
//! cluster is `None`, counted and logged, and the caller compiles locally.

use crate::breaker::Breaker;
use crate::ipc::ExecReport;
use crate::once_log::OnceLog;
use crate::reapi::client::{Connection, Settings};
use crate::reapi::execute::{execute, ActionSpec, Executed};
use crate::reapi::ReapiError;
use crate::storage::remote::spec::TierSpec;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// Counters of the executor (see [`ExecReport`] for their meaning).
#[derive(Debug, Default)]
struct Counters {
    executed: AtomicU64,
    cached: AtomicU64,
    local_reruns: AtomicU64,
    fallbacks: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    time_us: AtomicU64,
}

/// One REAPI cluster that runs misses.
pub(crate) struct RemoteExecutor {
    spec: TierSpec,
    conn: Connection,
    breaker: Breaker,
    running: AtomicUsize,
    counters: Counters,
    logged: OnceLog,
}

impl std::fmt::Debug for RemoteExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteExecutor")
            .field("spec", &self.spec.redacted())
            .finish()
    }
}

impl RemoteExecutor {
    /// The executor of the first tier of `tiers` with `execute`, if any
    /// (nothing is contacted yet). A tier whose connection cannot be set up
    /// is logged and left out: misses then compile locally.
    pub(crate) fn from_tiers(tiers: &[TierSpec]) -> Option<RemoteExecutor> {
        let spec = tiers
            .iter()
            .find(|t| t.scheme.is_grpc() && t.reapi.execute)?
            .clone();
        let settings = Settings {
            connect_timeout: spec.connect_timeout,
            headers: spec.reapi.headers.clone(),
        };
        let url = spec
            .shards
            .first()
            .map_or(spec.url.clone(), |s| s.url.clone());
        match Connection::open(&url, &settings) {
            Ok(conn) => Some(RemoteExecutor {
                spec,
                conn,
                breaker: Breaker::default(),
                running: AtomicUsize::new(0),
                counters: Counters::default(),
                logged: OnceLog::default(),
            }),
            Err(e) => {
                tracing::warn!(tier = %spec.redacted(), "remote execution disabled: {e}");
                None
            }
        }
    }

    /// Remote job slots (`jobs=N`).
    pub(crate) fn jobs(&self) -> usize {
        self.spec.reapi.jobs
    }

    /// The remote job slots to admit compiles for now: none while the
    /// breaker is open (the misses then compile locally, and the daemon
    /// must not admit more of them than local cores allow).
    pub(crate) fn admitted_jobs(&self) -> usize {
        if self.breaker.allows() {
            self.jobs()
        } else {
            0
        }
    }

    /// The platform properties configured for the actions.
    pub(crate) fn properties(&self) -> &[(String, String)] {
        &self.spec.reapi.properties
    }

    /// Run the action `build()` describes on the cluster; `None` (counted as
    /// a fallback) when the breaker is open, every slot is taken, `build`
    /// declines (`Err`, with the reason logged at debug level) or the
    /// cluster fails. Blocking: call from the blocking pool only.
    pub(crate) fn run(
        &self,
        build: impl FnOnce() -> Result<ActionSpec, String>,
    ) -> Option<Executed> {
        if !self.breaker.allows() || !self.take_slot() {
            self.counters.fallbacks.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let result = match build() {
            Ok(spec) => Some(self.execute(spec)),
            Err(reason) => {
                tracing::debug!(%reason, "not executed remotely");
                None
            }
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        match result {
            Some(Ok(executed)) => Some(self.succeeded(executed)),
            Some(Err(e)) => {
                self.failed(&e);
                None
            }
            None => {
                self.counters.fallbacks.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Take a remote job slot, if one is free.
    fn take_slot(&self) -> bool {
        let jobs = self.jobs();
        self.running
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < jobs).then_some(n + 1)
            })
            .is_ok()
    }

    /// One `Execute` with its transfers, bounded by `execute-timeout`.
    fn execute(&self, spec: ActionSpec) -> Result<Executed, ReapiError> {
        let start = Instant::now();
        let timeout = self.spec.reapi.execute_timeout;
        let instance = self.spec.reapi.instance.as_str();
        let result = crate::net_runtime::run(timeout, execute(&self.conn, instance, spec));
        let elapsed = start.elapsed().as_micros() as u64;
        self.counters.time_us.fetch_add(elapsed, Ordering::Relaxed);
        result
    }

    fn succeeded(&self, executed: Executed) -> Executed {
        self.breaker.success();
        let c = &self.counters;
        c.executed.fetch_add(1, Ordering::Relaxed);
        if executed.cached {
            c.cached.fetch_add(1, Ordering::Relaxed);
        }
        c.bytes_up.fetch_add(executed.bytes_up, Ordering::Relaxed);
        c.bytes_down
            .fetch_add(executed.bytes_down, Ordering::Relaxed);
        executed
    }

    fn failed(&self, e: &ReapiError) {
        let c = &self.counters;
        c.fallbacks.fetch_add(1, Ordering::Relaxed);
        let counter = match e {
            ReapiError::Timeout => &c.timeouts,
            _ => &c.errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if e.is_outage() {
            self.breaker.failure();
        }
        let kind = match e {
            ReapiError::Timeout => "timeout",
            ReapiError::Connect(_) => "connect",
            ReapiError::Denied(_) => "denied",
            ReapiError::Other(_) => "other",
        };
        let what = "remote execution failed, compiling locally";
        let tier = self.spec.redacted();
        self.logged.log(kind, &tier, what, &e.to_string());
    }

    /// Count a remote result the caller could not use (an output missing
    /// or not writable here): the miss compiles locally.
    pub(crate) fn unusable_result(&self) {
        self.counters.fallbacks.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a remote result the caller compiles again locally (a compile
    /// error or diagnostics).
    pub(crate) fn rerun_locally(&self) {
        self.counters.local_reruns.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters as a stats report.
    pub(crate) fn report(&self) -> ExecReport {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ExecReport {
            url: self.spec.redacted(),
            executed: get(&c.executed),
            cached: get(&c.cached),
            local_reruns: get(&c.local_reruns),
            fallbacks: get(&c.fallbacks),
            errors: get(&c.errors),
            timeouts: get(&c.timeouts),
            bytes_up: get(&c.bytes_up),
            bytes_down: get(&c.bytes_down),
            time_ms: get(&c.time_us) / 1000,
            breaker: self.breaker.state().label().to_string(),
        }
    }
}
