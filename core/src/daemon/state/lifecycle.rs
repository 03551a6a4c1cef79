//! The daemon's lifecycle part of the state: start time, idle timer, the
//! bound on compiles in flight (backpressure) and temp-name numbering.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Clock, idle timer and limits of one daemon.
#[derive(Debug)]
pub(crate) struct Lifecycle {
    started: Instant,
    idle_timeout: Duration,
    max_jobs: usize,
    max_jobs_configured: bool,
    last_activity_ms: AtomicU64,
    temp_counter: AtomicU64,
    busy_replies: AtomicU64,
}

impl Lifecycle {
    /// Started now; `idle_timeout_secs` 0 = never idle out; `max_jobs` 0 =
    /// the default bound on compiles in flight (4 × the number of cores).
    pub(crate) fn new(idle_timeout_secs: u64, max_jobs: usize) -> Lifecycle {
        Lifecycle {
            started: Instant::now(),
            idle_timeout: Duration::from_secs(idle_timeout_secs),
            max_jobs: if max_jobs > 0 {
                max_jobs
            } else {
                default_max_jobs()
            },
            max_jobs_configured: max_jobs > 0,
            last_activity_ms: AtomicU64::new(0),
            temp_counter: AtomicU64::new(0),
            busy_replies: AtomicU64::new(0),
        }
    }

    /// Time since the daemon started.
    pub(crate) fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The idle timeout (zero: never).
    pub(crate) fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Note activity now (resets the idle timer).
    pub(crate) fn touch(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last_activity_ms.store(ms, Ordering::Relaxed);
    }

    /// Milliseconds since the last activity.
    pub(crate) fn idle_ms(&self) -> u64 {
        let now = self.started.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_activity_ms.load(Ordering::Relaxed))
    }

    /// A unique number for temp file names within this daemon.
    pub(crate) fn next_temp_id(&self) -> u64 {
        self.temp_counter.fetch_add(1, Ordering::Relaxed)
    }

    /// Bound on concurrently running compiles (a `Busy` reply above it).
    pub(crate) fn max_jobs(&self) -> usize {
        self.max_jobs
    }

    /// True when `max_jobs` was configured (`ZCCACHE_MAX_JOBS`, TOML
    /// `max_jobs`) rather than defaulted; it then also bounds farm compiles.
    pub(crate) fn max_jobs_configured(&self) -> bool {
        self.max_jobs_configured
    }

    /// Count one `Busy` reply.
    pub(crate) fn note_busy_reply(&self) {
        self.busy_replies.fetch_add(1, Ordering::Relaxed);
    }

    /// `Busy` replies sent so far.
    pub(crate) fn busy_replies(&self) -> u64 {
        self.busy_replies.load(Ordering::Relaxed)
    }
}

/// Default backpressure bound: 4 × the number of cores.
fn default_max_jobs() -> usize {
    4 * std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}
