//! The storage facade: the one door every pipeline goes through to read
//! and write the cache (as ccache's `storage/` facade over its local and
//! remote tiers).
//!
//! [`Storage`] offers typed operations: `get`/`put` of [`Entry`]s (the one
//! entry format, [`entry`]) and [`Manifest`]s (the one manifest type,
//! [`manifest`]), blob storage and materialisation, snapshot records of
//! `cargo zccache warm`, usage, eviction and clearing. Its tiers are the
//! local content-addressed store ([`local`]) and, when configured, the
//! remote tiers behind it ([`remote`]): a local miss asks them
//! ([`Storage::remote_manifest`], [`Storage::remote_entry`]), and every
//! entry and input set stored locally is uploaded in the background. No
//! pipeline touches the files of the store or talks to a server itself.
//!
//! Manifests are also kept in memory (bounded), since direct-mode lookups
//! read them on every hit.

pub(crate) mod entry;
pub(crate) mod local;
pub(crate) mod manifest;
pub(crate) mod remote;

pub(crate) use entry::{file_name_of, Content, Entry, EntryKind, Output, OutputRole, RunRecord};
pub(crate) use local::{BlobId, RecordKey, StoreError};
pub(crate) use manifest::{DirCheck, InputSet, Manifest, RecordedFile};

use local::{RecordKind, Store};
use remote::spec::TierSpec;
use remote::tier::Tier;
use remote::RemoteChain;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Manifests kept in memory before the map is emptied (bounded memory).
const MAX_CACHED_MANIFESTS: usize = 50_000;

/// The cache as the pipelines see it. `Send + Sync`; shared behind the
/// daemon's `Arc`.
#[derive(Debug)]
pub(crate) struct Storage {
    local: Arc<Store>,
    manifests: Mutex<HashMap<RecordKey, Arc<Manifest>>>,
    remote: Option<RemoteChain>,
}

impl Storage {
    /// Open (or create) the local store at `root` with a size cap of
    /// `max_size` bytes (see [`Store::open`]), with the remote tiers of
    /// `remote` behind it (none contacted yet).
    ///
    /// Errors: [`StoreError`] when the store directories cannot be created.
    pub(crate) fn open(
        root: &Path,
        max_size: u64,
        remote: Vec<TierSpec>,
    ) -> Result<Storage, StoreError> {
        let local = Arc::new(Store::open(root, max_size)?);
        let remote = (!remote.is_empty()).then(|| {
            let tiers = remote.into_iter().map(Tier::new).collect();
            RemoteChain::new(tiers, local.clone())
        });
        Ok(Storage {
            local,
            manifests: Mutex::new(HashMap::new()),
            remote,
        })
    }

    /// The remote tiers, if any are configured.
    pub(crate) fn remote(&self) -> Option<&RemoteChain> {
        self.remote.as_ref()
    }

    /// At stop: wait at most `limit` for queued remote uploads to be
    /// written, and log how many were left behind.
    pub(crate) fn finish_uploads(&self, limit: std::time::Duration) {
        let Some(remote) = &self.remote else { return };
        let left = remote.wait_uploads(limit);
        if left > 0 {
            tracing::warn!(left, "daemon stopping with remote uploads not written");
        }
    }

    /// The entry stored under `key`, which must be of `kind`: `Ok(None)`
    /// when absent.
    ///
    /// Errors: [`StoreError::Corrupt`] when the record fails verification,
    /// does not decode as the current entry format, or is of another kind
    /// (it is removed); [`StoreError::Io`] when it cannot be read.
    pub(crate) fn get_entry(
        &self,
        key: &RecordKey,
        kind: EntryKind,
    ) -> Result<Option<Entry>, StoreError> {
        let Some(bytes) = self.local.get_record(RecordKind::Entry, key)? else {
            return Ok(None);
        };
        match Entry::decode(&bytes) {
            Some(e) if e.kind == kind => Ok(Some(e)),
            _ => {
                self.remove_entry(key);
                Err(StoreError::Corrupt {
                    what: format!("entry {} (format or kind)", key.to_hex()),
                })
            }
        }
    }

    /// Store `entry` under `key`, replacing any previous one. Its blobs
    /// must already be stored ([`Storage::put_blob_file`]).
    ///
    /// Errors: [`StoreError::NotFound`] when a blob was evicted meanwhile;
    /// [`StoreError::ReadOnly`] / [`StoreError::Io`] when the store cannot
    /// be written.
    pub(crate) fn put_entry(&self, key: &RecordKey, entry: &Entry) -> Result<(), StoreError> {
        self.local
            .put_record(RecordKind::Entry, key, &entry.encode(), &entry.blobs())?;
        if let Some(remote) = &self.remote {
            remote.upload_entry(key, entry);
        }
        Ok(())
    }

    /// After a local miss: the entry `key` (of `kind`) from the first
    /// remote tier that has it whole and verified, stored locally (blobs
    /// and record) before it is returned, with the serving tier's
    /// redacted URL. `None` without tiers or when none has it.
    pub(crate) fn remote_entry(&self, key: &RecordKey, kind: EntryKind) -> Option<(Entry, String)> {
        let remote = self.remote.as_ref()?;
        let (entry, tier) = remote.entry(key, kind, &self.local)?;
        let stored = self
            .local
            .put_record(RecordKind::Entry, key, &entry.encode(), &entry.blobs());
        if let Err(e) = stored {
            tracing::debug!(error = %e, "remote entry not stored locally");
        }
        Some((entry, remote.tiers()[tier].spec.redacted()))
    }

    /// After a local miss: the manifest of `key` from the first remote
    /// tier that has one, merged into the local manifest (memory and
    /// store), with the serving tier's redacted URL; `None` without tiers
    /// or when none has it.
    pub(crate) fn remote_manifest(&self, key: &RecordKey) -> Option<(Arc<Manifest>, String)> {
        let remote = self.remote.as_ref()?;
        let (fetched, tier) = remote.manifest(key)?;
        let tier = remote.tiers()[tier].spec.redacted();
        let mut merged = self.manifest(key).map(|m| (*m).clone()).unwrap_or_default();
        for set in fetched.sets.into_iter().rev() {
            merged.add(set);
        }
        let bytes = merged.encode();
        let merged = Arc::new(merged);
        self.remember_manifest(*key, merged.clone());
        if let Err(e) = self
            .local
            .put_record(RecordKind::Manifest, key, &bytes, &[])
        {
            tracing::debug!(error = %e, "remote manifest not stored locally");
        }
        Some((merged, tier))
    }

    /// Drop the entry under `key` (after it proved unusable); failures are
    /// logged, never fatal.
    pub(crate) fn remove_entry(&self, key: &RecordKey) {
        if let Err(e) = self.local.remove_record(RecordKind::Entry, key) {
            tracing::warn!(error = %e, "cannot remove a cache entry");
        }
    }

    /// Drop the manifest of the context `key` (memory and store), e.g.
    /// after the hit verifier found one of its entries stale; failures are
    /// logged.
    pub(crate) fn remove_manifest(&self, key: &RecordKey) {
        if let Ok(mut map) = self.manifests.lock() {
            map.remove(key);
        }
        if let Err(e) = self.local.remove_record(RecordKind::Manifest, key) {
            tracing::warn!(error = %e, "cannot remove a manifest");
        }
    }

    /// The manifest of a context, from memory or the store; `None` when
    /// there is none (a corrupt or old-format one counts as none).
    pub(crate) fn manifest(&self, key: &RecordKey) -> Option<Arc<Manifest>> {
        if let Some(m) = self.manifests.lock().ok()?.get(key) {
            return Some(m.clone());
        }
        let bytes = self.local.get_record(RecordKind::Manifest, key).ok()??;
        let m = Arc::new(Manifest::decode(&bytes)?);
        self.remember_manifest(*key, m.clone());
        Some(m)
    }

    /// Store an updated manifest (memory first, then the store).
    ///
    /// Errors: the store's error; memory is updated regardless.
    pub(crate) fn save_manifest(&self, key: &RecordKey, m: Manifest) -> Result<(), StoreError> {
        let bytes = m.encode();
        self.remember_manifest(*key, Arc::new(m));
        self.local
            .put_record(RecordKind::Manifest, key, &bytes, &[])
    }

    /// Add `set` to the manifest of `key` (creating it) and save it.
    ///
    /// Errors: as [`Storage::save_manifest`].
    pub(crate) fn add_input_set(&self, key: &RecordKey, set: InputSet) -> Result<(), StoreError> {
        let mut m = self.manifest(key).map(|m| (*m).clone()).unwrap_or_default();
        if let Some(remote) = &self.remote {
            remote.upload_input_set(key, set.clone());
        }
        m.add(set);
        self.save_manifest(key, m)
    }

    /// Replace the in-memory copy of a manifest (the store keeps its copy).
    pub(crate) fn remember_manifest(&self, key: RecordKey, m: Arc<Manifest>) {
        if let Ok(mut map) = self.manifests.lock() {
            if map.len() >= MAX_CACHED_MANIFESTS {
                map.clear();
            }
            map.insert(key, m);
        }
    }

    /// Number of manifests held in memory.
    pub(crate) fn manifests_in_memory(&self) -> usize {
        self.manifests.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Store the file at `path` as a blob; returns its id and size in bytes.
    ///
    /// Errors: [`StoreError::Io`] when it cannot be read;
    /// [`StoreError::ReadOnly`] when the store cannot be written.
    pub(crate) fn put_blob_file(&self, path: &Path) -> Result<(BlobId, u64), StoreError> {
        self.local.put_blob_file(path)
    }

    /// True when blob `id` is stored.
    pub(crate) fn has_blob(&self, id: &BlobId) -> bool {
        self.local.has_blob(id)
    }

    /// Write blob `id` to `dest` atomically with permission bits `mode`
    /// (0644 & !umask when `None`), verified; returns the bytes written.
    ///
    /// Errors: [`StoreError::NotFound`] / [`StoreError::Corrupt`] for a
    /// missing or corrupt blob (`dest` untouched); [`StoreError::Io`] when
    /// `dest` cannot be written.
    pub(crate) fn materialize_blob(
        &self,
        id: &BlobId,
        dest: &Path,
        mode: Option<u32>,
    ) -> Result<u64, StoreError> {
        self.local.materialize_blob(id, dest, mode)
    }

    /// Write `data` to `dest` atomically with permission bits `mode` (an
    /// inline output: a depfile, rustc's dep-info), through the store's
    /// temp area when `dest` is on its file system.
    ///
    /// Errors: [`StoreError::Io`] / [`StoreError::ReadOnly`] when `dest`
    /// cannot be written.
    pub(crate) fn materialize_bytes(
        &self,
        data: &[u8],
        dest: &Path,
        mode: u32,
    ) -> Result<(), StoreError> {
        self.local.materialize_bytes(data, dest, mode)
    }

    /// Write blob `id` into a new temp file in `dir`, verified; returns the
    /// file (deleted on drop unless persisted) and its size in bytes.
    ///
    /// Errors: as [`Storage::materialize_blob`].
    pub(crate) fn materialize_blob_temp(
        &self,
        id: &BlobId,
        dir: &Path,
    ) -> Result<(tempfile::NamedTempFile, u64), StoreError> {
        self.local.materialize_blob_temp(id, dir)
    }

    /// The payload of the warm snapshot record under `scope`, verified;
    /// `Ok(None)` when absent.
    ///
    /// Errors: [`StoreError::Corrupt`] (removed) / [`StoreError::Io`].
    pub(crate) fn get_snapshot(&self, scope: &RecordKey) -> Result<Option<Vec<u8>>, StoreError> {
        self.local.get_record(RecordKind::Snapshot, scope)
    }

    /// Store the warm snapshot record under `scope`, referencing `blobs`.
    ///
    /// Errors: as [`Storage::put_entry`].
    pub(crate) fn put_snapshot(
        &self,
        scope: &RecordKey,
        payload: &[u8],
        blobs: &[BlobId],
    ) -> Result<(), StoreError> {
        self.local
            .put_record(RecordKind::Snapshot, scope, payload, blobs)
    }

    /// Drop the warm snapshot under `scope`; failures are logged.
    pub(crate) fn remove_snapshot(&self, scope: &RecordKey) {
        if let Err(e) = self.local.remove_record(RecordKind::Snapshot, scope) {
            tracing::warn!(error = %e, "cannot remove a warm snapshot");
        }
    }

    /// `(records, bytes)` held by the local store.
    pub(crate) fn usage(&self) -> (u64, u64) {
        self.local.usage()
    }

    /// The local store's size cap in bytes.
    pub(crate) fn max_size(&self) -> u64 {
        self.local.max_size()
    }

    /// Drop every entry, manifest and snapshot; returns `(records, bytes)`
    /// removed.
    ///
    /// Errors: [`StoreError`] when the store cannot be emptied.
    pub(crate) fn clear(&self) -> Result<(u64, u64), StoreError> {
        if let Ok(mut map) = self.manifests.lock() {
            map.clear();
        }
        self.local.clear()
    }

    /// Save the local store's index (on shutdown and periodically).
    ///
    /// Errors: [`StoreError`] when it cannot be written.
    pub(crate) fn flush_index(&self) -> Result<(), StoreError> {
        self.local.flush_index()
    }
}
