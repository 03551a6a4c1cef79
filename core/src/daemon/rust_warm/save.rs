//! `RustWarmRequest::Save`: store the unit groups a client found in a build
//! dir as the snapshot of a scope. Each file becomes a blob (deduplicated
//! against every blob the store has, e.g. the rlibs the rustc cache stored);
//! a file whose size and mtime equal those in the previous snapshot keeps
//! its blob without being read again. A group is left out when one of its
//! files is missing, is not a regular file, or changes while it is read,
//! so a snapshot only holds files as cargo left them.

use super::snapshot::{self, SnapFile, SnapGroup, Snapshot};
use super::{lock_profiles, require_absolute, RustWarmError};
use crate::cargo_warm::{check_group, WarmPathError};
use crate::daemon::state::DaemonState;
use crate::ipc::{WarmGroup, WarmSaveReport};
use crate::storage::{BlobId, RecordKey};
use std::collections::{HashMap, HashSet};
use std::fs::{File, Metadata};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::UNIX_EPOCH;

/// Save `groups` (relative to `target_dir`) as the snapshot of `scope`.
///
/// Errors: an unsafe path or relative `target_dir`, cargo holding a
/// profile lock, or the store failing to write the record.
pub(super) fn save(
    st: &DaemonState,
    scope: &RecordKey,
    target_dir: &Path,
    groups: &[WarmGroup],
) -> Result<WarmSaveReport, RustWarmError> {
    require_absolute(target_dir)?;
    check_groups(groups)?;
    let _locks = lock_profiles(target_dir, groups.iter().map(|g| g.profile.as_str()), false)?;
    let previous = snapshot::load(st.storage(), scope)?.filter(|s| s.target_dir == target_dir);
    let known: HashMap<&str, &SnapFile> = previous
        .iter()
        .flat_map(|s| &s.groups)
        .flat_map(|g| &g.files)
        .map(|f| (f.path.as_str(), f))
        .collect();
    let mut report = WarmSaveReport::default();
    let mut snap = Snapshot {
        target_dir: target_dir.to_path_buf(),
        groups: Vec::with_capacity(groups.len()),
    };
    for g in groups {
        match save_group(st, target_dir, g, &known, &mut report) {
            Ok(group) => snap.groups.push(group),
            Err(why) => {
                tracing::debug!("rust warm: leaving {}/{} out: {why}", g.profile, g.unit);
                report.skipped_groups += 1;
            }
        }
    }
    count(&snap, &mut report);
    report.changed = previous.as_ref() != Some(&snap);
    if report.changed {
        snapshot::put(st.storage(), scope, &snap)?;
    }
    Ok(report)
}

/// Every group names only its own parts, and no file is listed twice (a
/// restore would then fail on it forever).
fn check_groups(groups: &[WarmGroup]) -> Result<(), RustWarmError> {
    let mut seen = HashSet::new();
    for g in groups {
        let files = g.files.iter().map(String::as_str);
        check_group(
            &g.profile,
            &g.unit,
            g.dirs.iter().map(String::as_str),
            files,
        )?;
        if let Some(twice) = g.files.iter().find(|f| !seen.insert(f.as_str())) {
            return Err(WarmPathError::Unsafe(format!("{twice} (listed twice)")).into());
        }
    }
    Ok(())
}

/// Fill the totals of `report` from `snap`.
fn count(snap: &Snapshot, report: &mut WarmSaveReport) {
    report.groups = snap.groups.len() as u64;
    for f in snap.groups.iter().flat_map(|g| &g.files) {
        report.files += 1;
        report.bytes += f.size;
    }
}

/// One group as a snapshot group, or why it is left out.
fn save_group(
    st: &DaemonState,
    target_dir: &Path,
    g: &WarmGroup,
    known: &HashMap<&str, &SnapFile>,
    report: &mut WarmSaveReport,
) -> Result<SnapGroup, RustWarmError> {
    let files = g
        .files
        .iter()
        .map(|rel| {
            save_file(
                st,
                target_dir,
                rel,
                known.get(rel.as_str()).copied(),
                report,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SnapGroup {
        profile: g.profile.clone(),
        unit: g.unit.clone(),
        dirs: g.dirs.clone(),
        files,
    })
}

/// Size, permission bits and mtime (ns) of a regular file.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Stat {
    size: u64,
    mode: u32,
    mtime_ns: u64,
}

fn stat(path: &Path) -> Result<Stat, RustWarmError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| RustWarmError::io("stat", path, e))?;
    stat_of(&meta).ok_or_else(|| {
        let e = std::io::Error::other("not a regular file with a post-1970 mtime");
        RustWarmError::io("stat", path, e)
    })
}

fn stat_of(meta: &Metadata) -> Option<Stat> {
    let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    meta.file_type().is_file().then(|| Stat {
        size: meta.len(),
        mode: meta.permissions().mode() & 0o7777,
        mtime_ns: u64::try_from(mtime.as_nanos()).unwrap_or(u64::MAX),
    })
}

/// Store one file (or reuse the blob of its unchanged previous version).
fn save_file(
    st: &DaemonState,
    target_dir: &Path,
    rel: &str,
    previous: Option<&SnapFile>,
    report: &mut WarmSaveReport,
) -> Result<SnapFile, RustWarmError> {
    let path = target_dir.join(rel);
    let before = stat(&path)?;
    let file = |blob: BlobId| SnapFile {
        path: rel.to_string(),
        blob,
        size: before.size,
        mode: before.mode,
        mtime_ns: before.mtime_ns,
    };
    if let Some(prev) = previous {
        let same = prev.size == before.size && prev.mtime_ns == before.mtime_ns;
        if same && st.storage().has_blob(&prev.blob) {
            return Ok(file(prev.blob.clone()));
        }
    }
    report.hashed_files += 1;
    let hashed = hash_file(&path)?;
    let blob = if st.storage().has_blob(&hashed) {
        hashed.clone()
    } else {
        let (stored, size) = st.storage().put_blob_file(&path)?;
        report.stored_bytes += size;
        stored
    };
    if blob != hashed || stat(&path)? != before {
        let e = std::io::Error::other("changed while it was read");
        return Err(RustWarmError::io("read", &path, e));
    }
    Ok(file(blob))
}

/// The blob id of a file's content.
fn hash_file(path: &Path) -> Result<BlobId, RustWarmError> {
    let mut f = File::open(path).map_err(|e| RustWarmError::io("open", path, e))?;
    let mut hasher = blake3::Hasher::new();
    std::io::copy(&mut f, &mut hasher).map_err(|e| RustWarmError::io("read", path, e))?;
    Ok(BlobId::from_hash(&hasher.finalize()))
}
