//! The daemon's shared state: configuration, storage, metadata cache,
//! in-memory manifests and counters. One instance behind an `Arc`.

pub mod define_groups;
pub mod keyed_locks;
pub mod sibling_flights;

use super::explain::Explanations;
use super::journal::{now_ms, Journal, JournalLine};
use super::session::{Contribution, Sessions, SESSION_ENV};
use super::stats::{Outcome, Stats};
use crate::dircache::DirListings;
use crate::hash::MetadataCache;
use crate::ipc::CompileRequest;
use crate::paths::CacheLayout;
use crate::storage::Storage;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Everything the request handlers share.
#[derive(Debug)]
pub struct DaemonState {
    /// The cache dir layout.
    pub layout: CacheLayout,
    /// The storage facade (entries, manifests, blobs).
    pub storage: Storage,
    /// path → fingerprint → digest.
    pub meta: MetadataCache,
    /// Directory listings for shadow checks.
    pub listings: DirListings,
    /// Counters.
    pub stats: Stats,
    /// Start time, for uptime.
    pub started: Instant,
    /// Daemon idle timeout in seconds (0 = never).
    pub idle_timeout_secs: u64,
    /// Open build sessions.
    pub sessions: Sessions,
    /// The request journal writer.
    pub journal: Journal,
    /// Miss explanations.
    pub explanations: Explanations,
    /// The last stored compile of each define group (see
    /// [`super::define_sibling`]).
    pub siblings: define_groups::Siblings,
    /// Bound on concurrently running compiles (backpressure above it).
    pub max_jobs: usize,
    /// "Busy" replies sent.
    pub backpressure_replies: AtomicU64,
    /// Per-key locks of `zccache exec`.
    pub exec_locks: keyed_locks::KeyedLocks,
    /// Warm fingerprint states by cache file.
    pub fp_states: Mutex<HashMap<std::path::PathBuf, crate::fingerprint::FpState>>,
    last_activity_ms: AtomicU64,
    temp_counter: AtomicU64,
}

impl DaemonState {
    /// New state over opened storage, complete: `idle_timeout_secs` (0 =
    /// never) and `max_jobs`, the bound on compiles in flight (0 = the
    /// default, 4 × the number of cores).
    pub fn new(
        layout: CacheLayout,
        storage: Storage,
        idle_timeout_secs: u64,
        max_jobs: usize,
    ) -> DaemonState {
        DaemonState {
            layout,
            storage,
            meta: MetadataCache::new(),
            listings: DirListings::new(),
            stats: Stats::default(),
            started: Instant::now(),
            idle_timeout_secs,
            sessions: Sessions::default(),
            journal: Journal::start(),
            explanations: Explanations::default(),
            siblings: Default::default(),
            max_jobs: if max_jobs > 0 {
                max_jobs
            } else {
                default_max_jobs()
            },
            backpressure_replies: AtomicU64::new(0),
            fp_states: Mutex::new(HashMap::new()),
            exec_locks: Default::default(),
            last_activity_ms: AtomicU64::new(0),
            temp_counter: AtomicU64::new(0),
        }
    }

    /// Note activity now (resets the idle timer).
    pub fn touch(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last_activity_ms.store(ms, Ordering::Relaxed);
    }

    /// Milliseconds since the last activity.
    pub fn idle_ms(&self) -> u64 {
        let now = self.started.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_activity_ms.load(Ordering::Relaxed))
    }

    /// A unique number for temp file names within this daemon.
    pub fn next_temp_id(&self) -> u64 {
        self.temp_counter.fetch_add(1, Ordering::Relaxed)
    }

    /// Count a finished request (per source): global counters, its session
    /// and the journal (written by a background thread).
    pub fn record(&self, f: Finished<'_>) {
        self.stats.record(&f.outcome);
        if f.link {
            self.stats.record_link(&f.outcome);
        }
        let session = f
            .req
            .env
            .iter()
            .find(|(k, _)| k == SESSION_ENV)
            .map(|(_, v)| v.clone());
        let mut files = vec![self.layout.logs().join("journal.jsonl")];
        if let Some(id) = &session {
            self.sessions.record(
                id,
                Contribution {
                    outcome: &f.outcome,
                    source: f.source,
                    bytes_read: f.bytes_read,
                    bytes_written: f.bytes_written,
                },
            );
            files.extend(self.sessions.journal(id));
        }
        let (mut outcome, reason) = labels(&f.outcome);
        if f.link {
            outcome = match outcome {
                "hit" => "link_hit",
                "miss" => "link_miss",
                other => other,
            };
        }
        let line = JournalLine {
            time_ms: now_ms(),
            session,
            outcome: outcome.to_string(),
            reason: reason.map(str::to_string),
            latency_ns: f.started.elapsed().as_nanos() as u64,
            compiler: f.req.compiler.display().to_string(),
            args: f.req.args.clone(),
            cwd: f.req.cwd.display().to_string(),
            source: f.source.map(str::to_string),
            output: f.output,
        };
        self.journal.write(&files, &line);
    }
}

/// One finished source of a request, for [`DaemonState::record`].
#[derive(Debug)]
pub struct Finished<'a> {
    /// The request.
    pub req: &'a CompileRequest,
    /// When the request arrived.
    pub started: Instant,
    /// The source (or primary input).
    pub source: Option<&'a str>,
    /// The output path, if any.
    pub output: Option<String>,
    /// The outcome.
    pub outcome: Outcome,
    /// Bytes restored from the cache.
    pub bytes_read: u64,
    /// Bytes stored into the cache.
    pub bytes_written: u64,
    /// A link or archive call (counted apart, journal outcome `link_*`).
    pub link: bool,
}

impl<'a> Finished<'a> {
    /// A finished request with no source, output or byte counts (refusals,
    /// errors, tools without a primary source).
    pub fn outcome(
        req: &'a CompileRequest,
        started: Instant,
        outcome: Outcome,
        link: bool,
    ) -> Self {
        Finished {
            req,
            started,
            source: None,
            output: None,
            outcome,
            bytes_read: 0,
            bytes_written: 0,
            link,
        }
    }
}

/// Journal outcome label and reason of an outcome.
pub fn labels(o: &Outcome) -> (&'static str, Option<&'static str>) {
    match o {
        Outcome::Hit { .. } => ("hit", None),
        Outcome::PreprocessorHit { .. } => ("hit", Some("preprocessor")),
        Outcome::CachedError { .. } => ("cached_error", None),
        Outcome::Miss(r) => ("miss", Some(r.label())),
        Outcome::CompileFailed(r) => ("miss", Some(r.label())),
        Outcome::NonCacheable(r) => ("non_cacheable", Some(r.label())),
        Outcome::Error => ("error", None),
    }
}

/// Default backpressure bound: 4 × the number of cores.
fn default_max_jobs() -> usize {
    4 * std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}
