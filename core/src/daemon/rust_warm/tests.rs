//! Save and restore against a real store in a temp dir: contents, modes
//! and mtimes come back; present groups are skipped; a failing group is
//! removed whole; unchanged files are not read again.

use super::{restore::restore, save::save, RustWarmError};
use crate::daemon::state::DaemonState;
use crate::ipc::WarmGroup;
use crate::paths::CacheLayout;
use crate::storage::{RecordKey, Storage};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const UNIT: &str = "dep-0123456789abcdef";
const SCOPE: RecordKey = RecordKey([9; 32]);

fn state(root: &Path) -> DaemonState {
    let layout = CacheLayout::new(&root.join("cache"));
    let storage = Storage::open(&layout.store(), 1 << 30, Vec::new()).unwrap();
    DaemonState::new(layout, storage, 0, 0)
}

/// A unit with an executable build script and a fingerprint file, both
/// with old mtimes; returns its group.
fn unit(target: &Path) -> WarmGroup {
    let files = [
        (format!("debug/.fingerprint/{UNIT}/lib-dep"), 0o644),
        (format!("debug/build/{UNIT}/build-script-build"), 0o755),
        ("debug/deps/libdep-0123456789abcdef.rlib".to_string(), 0o644),
    ];
    let old = UNIX_EPOCH + Duration::from_nanos(1_600_000_000_123_456_789);
    for (rel, mode) in &files {
        let p = target.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, rel.as_bytes()).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(*mode)).unwrap();
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    fs::create_dir_all(target.join(format!("debug/build/{UNIT}/out"))).unwrap();
    WarmGroup {
        profile: "debug".into(),
        unit: UNIT.into(),
        dirs: vec![
            format!("debug/.fingerprint/{UNIT}"),
            format!("debug/build/{UNIT}"),
            format!("debug/build/{UNIT}/out"),
        ],
        files: files.into_iter().map(|(rel, _)| rel).collect(),
    }
}

fn mtime(p: &Path) -> SystemTime {
    fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn save_then_restore_brings_back_content_mode_and_mtime() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let target = dir.path().join("target");
    let group = unit(&target);
    let saved = save(&st, &SCOPE, &target, std::slice::from_ref(&group)).unwrap();
    assert_eq!((saved.groups, saved.files, saved.hashed_files), (1, 3, 3));
    assert!(saved.changed);
    let again = save(&st, &SCOPE, &target, std::slice::from_ref(&group)).unwrap();
    assert_eq!((again.hashed_files, again.changed), (0, false));

    let originals: Vec<_> = group
        .files
        .iter()
        .map(|f| (fs::read(target.join(f)).unwrap(), mtime(&target.join(f))))
        .collect();
    fs::remove_dir_all(&target).unwrap();
    let r = restore(&st, &SCOPE, &target).unwrap();
    assert_eq!((r.found, r.restored_groups, r.files), (true, 1, 3));
    for (f, (bytes, time)) in group.files.iter().zip(&originals) {
        let p = target.join(f);
        assert_eq!(&fs::read(&p).unwrap(), bytes, "{f}");
        assert_eq!(mtime(&p), *time, "{f}");
    }
    let script = target.join(&group.files[1]);
    assert_eq!(
        fs::metadata(script).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert!(target.join(format!("debug/build/{UNIT}/out")).is_dir());
    assert!(target.join("CACHEDIR.TAG").is_file());

    let r = restore(&st, &SCOPE, &target).unwrap();
    assert_eq!((r.restored_groups, r.skipped_groups), (0, 1));
}

#[test]
fn missing_snapshot_and_other_target_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let target = dir.path().join("target");
    assert!(!restore(&st, &SCOPE, &target).unwrap().found);
    assert!(matches!(
        restore(&st, &SCOPE, Path::new("rel")),
        Err(RustWarmError::NotAbsolute(_))
    ));
    let group = unit(&target);
    save(&st, &SCOPE, &target, &[group]).unwrap();
    assert!(matches!(
        restore(&st, &SCOPE, &dir.path().join("elsewhere")),
        Err(RustWarmError::OtherTargetDir { .. })
    ));
}

#[test]
fn a_group_that_fails_midway_is_removed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let target = dir.path().join("target");
    let group = unit(&target);
    save(&st, &SCOPE, &target, &[group]).unwrap();
    fs::remove_dir_all(&target).unwrap();
    // Corrupt the blob of the last file (the rlib): the first two files
    // are written, then the third fails verification.
    let rlib = blob_path(dir.path(), b"debug/deps/libdep-0123456789abcdef.rlib");
    fs::write(&rlib, b"corrupt").unwrap();
    let err = restore(&st, &SCOPE, &target).unwrap_err();
    assert!(
        matches!(err, RustWarmError::Group { restored: 0, .. }),
        "{err}"
    );
    let left: Vec<_> = walk(&target);
    assert!(
        left.iter()
            .all(|p| p.ends_with(".cargo-lock") || p.ends_with("CACHEDIR.TAG")),
        "{left:?}"
    );
    for d in [
        format!("debug/.fingerprint/{UNIT}"),
        format!("debug/build/{UNIT}"),
        "debug/deps".into(),
    ] {
        assert!(!target.join(&d).exists(), "{d} left behind");
    }
    // The snapshot referenced a corrupt blob: it is gone.
    assert!(!restore(&st, &SCOPE, &target).unwrap().found);
}

#[test]
fn a_group_with_a_vanished_file_is_left_out_of_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let st = state(dir.path());
    let target = dir.path().join("target");
    let mut group = unit(&target);
    group.files.push("debug/deps/dep-0123456789abcdef.d".into());
    let r = save(&st, &SCOPE, &target, &[group]).unwrap();
    assert_eq!((r.groups, r.skipped_groups), (0, 1));
    let twice = unit(&target);
    assert!(matches!(
        save(&st, &SCOPE, &target, &[twice.clone(), twice]),
        Err(RustWarmError::Path(_))
    ));
    let mut evil = unit(&target);
    evil.files.push("debug/deps/../../../etc/passwd".into());
    assert!(matches!(
        save(&st, &SCOPE, &target, &[evil]),
        Err(RustWarmError::Path(_))
    ));
}

/// Where the store of [`state`] keeps the blob of `content`.
fn blob_path(root: &Path, content: &[u8]) -> std::path::PathBuf {
    let id = blake3::hash(content).to_hex().to_string();
    root.join("cache/store/blobs").join(&id[..2]).join(&id)
}

/// Every file under `dir`, as strings.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if e.file_type().is_file() {
            out.push(e.path().display().to_string());
        }
    }
    out
}
