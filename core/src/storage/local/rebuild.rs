//! Building the in-memory index when a store is opened: the saved index is
//! reconciled with the files actually present. Records whose size and mtime
//! match the saved entry keep it (with its LRU time); other records are
//! read and verified (their header lists their blobs; last use = mtime);
//! corrupt records and blobs that no record references are deleted.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::format_error::FormatError;
use super::fsutil;
use super::ids::is_lower_hex64;
use super::index::{Index, RecordId, RecordMeta};
use super::persist;
use super::record_file;
use super::{BlobId, RecordKey, RecordKind, Store};

/// A record file found on disk.
struct FoundRecord {
    id: RecordId,
    path: PathBuf,
    size: u64,
    mtime_ns: u64,
}

/// Build the index of `store` from `<root>/index` and the files on disk.
/// Returns the index and whether it differs from the saved one.
pub(super) fn load(store: &Store) -> (Index, bool) {
    let saved = persist::read(&store.index_path());
    let mut changed = saved.is_none();
    let saved = saved.unwrap_or_default();
    let mut index = Index::default();
    let mut known_blobs: HashMap<BlobId, u64> = saved.blobs.into_iter().collect();
    for (id, path) in scan_blobs(&store.blobs_dir) {
        let size = match known_blobs.remove(&id) {
            Some(size) => size,
            None => {
                changed = true;
                fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
            }
        };
        index.add_blob(id, size);
    }
    let mut known: HashMap<RecordId, RecordMeta> = saved
        .records
        .into_iter()
        .map(|(kind, key, meta)| ((kind, key), meta))
        .collect();
    for found in scan_records(&store.records_dir) {
        changed |= add_record(&mut index, known.remove(&found.id), found);
    }
    changed |= !known.is_empty() || !known_blobs.is_empty();
    let orphans = index.orphans_added_before(u64::MAX);
    changed |= !orphans.is_empty();
    store.delete_blobs_locked(&mut index, orphans);
    (index, changed)
}

/// Index one record found on disk, using its saved metadata when it still
/// matches, else its header (a corrupt record is deleted). Returns true
/// when the saved metadata was not used.
fn add_record(index: &mut Index, saved: Option<RecordMeta>, found: FoundRecord) -> bool {
    if let Some(meta) = saved {
        if meta.size == found.size && meta.mtime_ns == found.mtime_ns {
            index.insert_record(found.id, meta);
            return false;
        }
    }
    match read_blob_list(&found) {
        Ok(blobs) => {
            let meta = RecordMeta {
                size: found.size,
                mtime_ns: found.mtime_ns,
                blobs,
                last_use_ms: found.mtime_ns / 1_000_000,
            };
            index.insert_record(found.id, meta);
        }
        Err(why) => {
            tracing::warn!(
                "store: record {} is corrupt ({why}); removing it",
                found.path.display()
            );
            fsutil::remove_file_logged(&found.path);
        }
    }
    true
}

/// Read and verify a record file; returns the blobs its header lists.
///
/// Errors: [`FormatError::Read`] when the file cannot be read,
/// [`FormatError::WrongRecord`] when its header names another record, else
/// what [`record_file::decode`] rejects.
fn read_blob_list(found: &FoundRecord) -> Result<Vec<BlobId>, FormatError> {
    let bytes = fs::read(&found.path)?;
    let (header, _) = record_file::decode(&bytes)?;
    if (header.kind, header.key) != found.id {
        return Err(FormatError::WrongRecord);
    }
    Ok(header.blobs)
}

/// The two-hex-char fan-out directories under `dir`, with their names.
fn fanout_dirs(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .filter(|(name, _)| name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect()
}

/// Regular files in `dir` with their names (non-UTF-8 names are skipped).
fn files_in(dir: &Path) -> Vec<(String, fs::DirEntry)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e)))
        .collect()
}

/// Every well-named blob file under `blobs_dir`, with its path.
fn scan_blobs(blobs_dir: &Path) -> Vec<(BlobId, PathBuf)> {
    let mut out = Vec::new();
    for (prefix, dir) in fanout_dirs(blobs_dir) {
        for (name, entry) in files_in(&dir) {
            if is_lower_hex64(&name) && name.starts_with(&prefix) {
                out.push((BlobId(name), entry.path()));
            }
        }
    }
    out
}

/// Every well-named record file under `records_dir`, with size and mtime.
fn scan_records(records_dir: &Path) -> Vec<FoundRecord> {
    let mut out = Vec::new();
    for (prefix, dir) in fanout_dirs(records_dir) {
        for (name, entry) in files_in(&dir) {
            let Some(id) = parse_record_name(&name, &prefix) else {
                continue;
            };
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            out.push(FoundRecord {
                id,
                path: entry.path(),
                size: meta.len(),
                mtime_ns: fsutil::mtime_ns(&meta),
            });
        }
    }
    out
}

/// Parse `<key hex>.<kind>` in the fan-out directory `prefix`.
fn parse_record_name(name: &str, prefix: &str) -> Option<RecordId> {
    let (hex, ext) = name.split_once('.')?;
    if !hex.starts_with(prefix) {
        return None;
    }
    Some((RecordKind::from_extension(ext)?, RecordKey::from_hex(hex)?))
}
