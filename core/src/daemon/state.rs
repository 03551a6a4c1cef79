//! The daemon's shared state: configuration, store, metadata cache,
//! in-memory manifests and counters. One instance behind an `Arc`.

use super::stats::Stats;
use crate::dircache::DirListings;
use crate::hash::MetadataCache;
use crate::key::Manifest;
use crate::paths::CacheLayout;
use crate::store::RecordKey;
use crate::store::{RecordKind, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Manifests kept in memory before the map is emptied (bounded memory).
const MAX_CACHED_MANIFESTS: usize = 50_000;

/// Everything the request handlers share.
#[derive(Debug)]
pub struct DaemonState {
    /// The cache dir layout.
    pub layout: CacheLayout,
    /// The content-addressed store.
    pub store: Store,
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
    manifests: Mutex<HashMap<RecordKey, Arc<Manifest>>>,
    last_activity_ms: AtomicU64,
    temp_counter: AtomicU64,
}

impl DaemonState {
    /// New state over an opened store.
    pub fn new(layout: CacheLayout, store: Store, idle_timeout_secs: u64) -> DaemonState {
        DaemonState {
            layout,
            store,
            meta: MetadataCache::new(),
            listings: DirListings::new(),
            stats: Stats::default(),
            started: Instant::now(),
            idle_timeout_secs,
            manifests: Mutex::new(HashMap::new()),
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

    /// The manifest of a context, from memory or the store. `Ok(None)` when
    /// there is none; a corrupt one counts as none (the store removes it).
    pub fn manifest(&self, key: &RecordKey) -> Option<Arc<Manifest>> {
        if let Some(m) = self.manifests.lock().ok()?.get(key) {
            return Some(m.clone());
        }
        let bytes = self.store.get_record(RecordKind::Manifest, key).ok()??;
        let m = Arc::new(Manifest::decode(&bytes)?);
        self.remember_manifest(*key, m.clone());
        Some(m)
    }

    /// Store an updated manifest (memory first, then disk).
    ///
    /// Errors: the store's error; memory is updated regardless.
    pub fn save_manifest(
        &self,
        key: &RecordKey,
        m: Manifest,
    ) -> Result<(), crate::store::StoreError> {
        let bytes = m.encode();
        self.remember_manifest(*key, Arc::new(m));
        self.store
            .put_record(RecordKind::Manifest, key, &bytes, &[])
    }

    /// Replace the in-memory copy of a manifest (the store keeps its copy).
    pub fn remember_manifest(&self, key: RecordKey, m: Arc<Manifest>) {
        if let Ok(mut map) = self.manifests.lock() {
            if map.len() >= MAX_CACHED_MANIFESTS {
                map.clear();
            }
            map.insert(key, m);
        }
    }

    /// Forget a manifest (after a corrupt read or on clear).
    pub fn forget_manifests(&self) {
        if let Ok(mut map) = self.manifests.lock() {
            map.clear();
        }
    }
}
