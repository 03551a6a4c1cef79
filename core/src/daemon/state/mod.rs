//! The daemon's shared state, one instance behind an `Arc`, built
//! completely by [`DaemonState::new`] and split into parts with private
//! fields: the cache [`Storage`] facade, what is known about input files
//! (the metadata cache and directory listings), [`Accounting`] (counters,
//! sessions, journal, explanations), the pipelines' memory (define groups,
//! exec locks, fingerprint states, the hit verifier) and the [`Lifecycle`]
//! (clock, idle timer, limits).

pub(crate) mod accounting;
pub(crate) mod define_groups;
pub(crate) mod keyed_locks;
pub(crate) mod lifecycle;
pub(crate) mod remote_exec;
pub(crate) mod sibling_flights;
pub(crate) mod verifier;

pub(crate) use accounting::{Accounting, Finished};
pub(crate) use lifecycle::Lifecycle;

use crate::dircache::DirListings;
use crate::fingerprint::FpState;
use crate::hash::MetadataCache;
use crate::paths::CacheLayout;
use crate::storage::Storage;
use define_groups::Siblings;
use keyed_locks::KeyedLocks;
use remote_exec::RemoteExecutor;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// Everything the request handlers share. See the module docs.
#[derive(Debug)]
pub(crate) struct DaemonState {
    layout: CacheLayout,
    storage: Storage,
    meta: MetadataCache,
    listings: DirListings,
    accounting: Accounting,
    siblings: Siblings,
    exec_locks: KeyedLocks,
    fp_states: Mutex<HashMap<PathBuf, FpState>>,
    verifier: verifier::Verifier,
    lifecycle: Lifecycle,
    executor: Option<RemoteExecutor>,
}

impl DaemonState {
    /// New state over opened `storage`: `idle_timeout_secs` (0 = never)
    /// and `max_jobs`, the bound on compiles in flight (0 = the default,
    /// 4 × the number of cores).
    pub(crate) fn new(
        layout: CacheLayout,
        storage: Storage,
        idle_timeout_secs: u64,
        max_jobs: usize,
    ) -> DaemonState {
        let journal_file = layout.logs().join("journal.jsonl");
        DaemonState {
            layout,
            storage,
            meta: MetadataCache::new(),
            listings: DirListings::new(),
            accounting: Accounting::new(journal_file),
            siblings: Siblings::default(),
            exec_locks: KeyedLocks::default(),
            fp_states: Mutex::new(HashMap::new()),
            verifier: verifier::Verifier::default(),
            lifecycle: Lifecycle::new(idle_timeout_secs, max_jobs),
            executor: None,
        }
    }

    /// This state with misses run on `executor` (a REAPI cluster).
    pub(crate) fn with_executor(mut self, executor: Option<RemoteExecutor>) -> DaemonState {
        self.executor = executor;
        self
    }

    /// The REAPI executor, when misses run on a cluster.
    pub(crate) fn executor(&self) -> Option<&RemoteExecutor> {
        self.executor.as_ref()
    }

    /// The cache dir layout.
    pub(crate) fn layout(&self) -> &CacheLayout {
        &self.layout
    }

    /// The storage facade (entries, manifests, blobs).
    pub(crate) fn storage(&self) -> &Storage {
        &self.storage
    }

    /// path → stat fingerprint → content digest.
    pub(crate) fn meta(&self) -> &MetadataCache {
        &self.meta
    }

    /// Directory listings for shadow checks.
    pub(crate) fn listings(&self) -> &DirListings {
        &self.listings
    }

    /// Counters, sessions, journal and explanations.
    pub(crate) fn accounting(&self) -> &Accounting {
        &self.accounting
    }

    /// Count a finished request (see [`Accounting::record`]).
    pub(crate) fn record(&self, f: Finished<'_>) {
        self.accounting.record(f)
    }

    /// The last stored compile of each define group (C pipeline).
    pub(crate) fn siblings(&self) -> &Siblings {
        &self.siblings
    }

    /// Per-key locks of `zccache exec`.
    pub(crate) fn exec_locks(&self) -> &KeyedLocks {
        &self.exec_locks
    }

    /// `zccache fp` states by cache file.
    pub(crate) fn fp_states(&self) -> &Mutex<HashMap<PathBuf, FpState>> {
        &self.fp_states
    }

    /// The background verifier of sampled hits.
    pub(crate) fn verifier(&self) -> &verifier::Verifier {
        &self.verifier
    }

    /// Clock, idle timer and limits.
    pub(crate) fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }

    /// A directory for this daemon's private temp files (`<cache>/tmp`).
    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.layout.root.join("tmp")
    }
}
