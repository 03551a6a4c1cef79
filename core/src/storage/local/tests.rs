//! Unit tests of the store as a whole: blobs, records, corruption handling,
//! eviction, index persistence and rebuild, clearing and write failures.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tempfile::TempDir;

use super::*;

fn open(cap: u64) -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("store"), cap).unwrap();
    (dir, store)
}

fn key(n: u8) -> RecordKey {
    RecordKey([n; 32])
}

fn blob_file(store: &Store, id: &BlobId) -> PathBuf {
    store.blob_path(id).unwrap()
}

/// Files (not directories) anywhere under the store's `tmp/`.
fn temp_files(store: &Store) -> usize {
    fn count(dir: &Path) -> usize {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| if p.is_dir() { count(&p) } else { 1 })
            .sum()
    }
    count(&store.tmp_dir)
}

fn set_old_mtime(path: &Path) {
    let old = SystemTime::now() - Duration::from_secs(100_000);
    let f = OpenOptions::new().write(true).open(path).unwrap();
    f.set_modified(old).unwrap();
}

#[test]
fn put_and_read_round_trip() {
    let (dir, store) = open(1 << 30);
    let (id, size) = store.put_blob_bytes(b"hello world").unwrap();
    assert_eq!(size, 11);
    assert_eq!(id, BlobId::of_bytes(b"hello world"));
    assert!(id.is_valid());
    assert_eq!(store.read_blob(&id).unwrap(), b"hello world");
    let src = dir.path().join("src.o");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    fs::write(&src, &content).unwrap();
    let (id2, size2) = store.put_blob_file(&src).unwrap();
    assert_eq!(size2, content.len() as u64);
    assert_eq!(id2, BlobId::of_bytes(&content));
    assert_eq!(store.read_blob(&id2).unwrap(), content);
    assert!(store.has_blob(&id2));
    assert_eq!(store.usage(), (0, 11 + content.len() as u64));
}

#[test]
fn identical_blobs_are_stored_once() {
    let (dir, store) = open(1 << 30);
    let (a, _) = store.put_blob_bytes(b"same").unwrap();
    let src = dir.path().join("same");
    fs::write(&src, b"same").unwrap();
    let (b, _) = store.put_blob_file(&src).unwrap();
    let (c, _) = store.put_blob_bytes(b"same").unwrap();
    assert_eq!(a, b);
    assert_eq!(b, c);
    assert_eq!(store.usage(), (0, 4));
    let fanout = blob_file(&store, &a).parent().unwrap().to_path_buf();
    assert_eq!(fs::read_dir(fanout).unwrap().count(), 1);
    assert_eq!(temp_files(&store), 0);
}

#[test]
fn materialize_writes_identical_bytes_with_fresh_mtime() {
    let (dir, store) = open(1 << 30);
    let content = vec![42u8; 70_000];
    let (id, _) = store.put_blob_bytes(&content).unwrap();
    set_old_mtime(&blob_file(&store, &id));
    let dest = dir.path().join("out.o");
    fs::write(&dest, b"stale").unwrap();
    set_old_mtime(&dest);
    let before = SystemTime::now() - Duration::from_secs(2);
    assert_eq!(store.materialize_blob(&id, &dest, None).unwrap(), 70_000);
    assert_eq!(fs::read(&dest).unwrap(), content);
    let meta = fs::metadata(&dest).unwrap();
    assert!(meta.modified().unwrap() >= before);
    assert_eq!(meta.permissions().mode() & 0o777, store.default_mode);
    store.materialize_blob(&id, &dest, Some(0o755)).unwrap();
    assert_eq!(
        fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o755
    );
    let leftovers = fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 2, "only store/ and out.o remain");
}

/// The blob file's stat fingerprint.
fn stat_of(path: &Path) -> crate::hash::StatFingerprint {
    crate::hash::StatFingerprint::of(&fs::metadata(path).unwrap())
}

#[test]
fn a_verified_blob_is_copied_unhashed_until_its_file_changes() {
    let (dir, store) = open(1 << 30);
    let content: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let (id, _) = store.put_blob_bytes(&content).unwrap();
    let path = blob_file(&store, &id);
    let written = fs::metadata(&path).unwrap().modified().unwrap();
    // Past the coarse clock's tick: the blob's stat is no longer racy.
    std::thread::sleep(Duration::from_millis(50));
    let dest = dir.path().join("out.o");
    store.materialize_blob(&id, &dest, None).unwrap();
    assert!(store.verified.holds(&id, &stat_of(&path)), "remembered");
    store.materialize_blob(&id, &dest, None).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), content, "unhashed copy");
    // One byte flipped, mtime put back: the ctime still tells.
    let mut bytes = fs::read(&path).unwrap();
    bytes[1234] ^= 0x10;
    let mut f = OpenOptions::new().write(true).open(&path).unwrap();
    f.write_all(&bytes).unwrap();
    f.set_modified(written).unwrap();
    drop(f);
    assert!(!store.verified.holds(&id, &stat_of(&path)));
    let fresh = dir.path().join("fresh.o");
    let err = store.materialize_blob(&id, &fresh, None);
    assert!(matches!(err, Err(StoreError::Corrupt { .. })), "{err:?}");
    assert!(!fresh.exists() && !path.exists());
    assert_eq!(
        fs::read(&dest).unwrap(),
        content,
        "earlier output untouched"
    );
}

#[test]
fn a_new_blob_is_verified_in_the_background() {
    let (dir, store) = open(1 << 30);
    let content: Vec<u8> = (0..90_000u32).map(|i| (i % 241) as u8).collect();
    let (id, _) = store.put_blob_bytes(&content).unwrap();
    let path = blob_file(&store, &id);
    let waited = std::time::Instant::now();
    while !store.verified.holds(&id, &stat_of(&path)) {
        assert!(waited.elapsed() < Duration::from_secs(10), "never verified");
        std::thread::sleep(Duration::from_millis(5));
    }
    let dest = dir.path().join("out.o");
    store.materialize_blob(&id, &dest, None).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), content);
    // A blob changed before the thread read it is not remembered.
    let (other, _) = store.put_blob_bytes(b"other object").unwrap();
    let other_path = blob_file(&store, &other);
    fs::write(&other_path, b"tampered!!!!").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!store.verified.holds(&other, &stat_of(&other_path)));
    let err = store.materialize_blob(&other, &dir.path().join("o.o"), None);
    assert!(matches!(err, Err(StoreError::Corrupt { .. })), "{err:?}");
}

#[test]
fn outputs_go_through_the_store_tmp_unless_their_dir_gives_new_files_more() {
    use std::os::unix::fs::MetadataExt;
    let (dir, store) = open(1 << 30);
    let (id, _) = store.put_blob_bytes(b"object bytes").unwrap();
    let plain = dir.path().join("plain");
    fs::create_dir(&plain).unwrap();
    assert!(store.on_store_device(&plain), "same file system, plain dir");
    // A set-group-ID dir gives new files its group: the temp file must be
    // made in it. As root, use a group other than ours to see it happen.
    let shared = dir.path().join("shared");
    fs::create_dir(&shared).unwrap();
    // SAFETY: geteuid/getegid have no preconditions.
    let gid = if unsafe { libc::geteuid() } == 0 {
        1
    } else {
        unsafe { libc::getegid() }
    };
    std::os::unix::fs::chown(&shared, None, Some(gid)).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o2775)).unwrap();
    assert!(!store.on_store_device(&shared), "setgid dir");
    let dest = shared.join("a.o");
    store.materialize_blob(&id, &dest, None).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), b"object bytes");
    assert_eq!(fs::metadata(&dest).unwrap().gid(), gid);
    store
        .materialize_blob(&id, &plain.join("a.o"), None)
        .unwrap();
    assert_eq!(temp_files(&store), 0, "nothing left in tmp/");
}

#[test]
fn inline_outputs_replace_the_file_with_the_mode_given() {
    let (dir, store) = open(1 << 30);
    let dest = dir.path().join("a.d");
    fs::write(&dest, b"old").unwrap();
    store
        .materialize_bytes(b"a.o: a.c\n", &dest, 0o640)
        .unwrap();
    assert_eq!(fs::read(&dest).unwrap(), b"a.o: a.c\n");
    let mode = fs::metadata(&dest).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
    assert_eq!(temp_files(&store), 0);
    // `tmp/` unusable: written next to the file instead.
    fs::remove_dir_all(&store.tmp_dir).unwrap();
    fs::write(&store.tmp_dir, b"").unwrap();
    store.materialize_bytes(b"b", &dest, 0o644).unwrap();
    assert_eq!(fs::read(&dest).unwrap(), b"b");
    let missing = dir.path().join("no-such-dir").join("a.d");
    assert!(store.materialize_bytes(b"c", &missing, 0o644).is_err());
}

#[test]
fn an_unusable_store_tmp_still_restores_next_to_the_output() {
    let (dir, store) = open(1 << 30);
    let (id, _) = store.put_blob_bytes(b"object bytes").unwrap();
    // `tmp/` replaced by a file: no temp file can be made there (as with a
    // read-only cache dir, which root would still write to).
    fs::remove_dir_all(&store.tmp_dir).unwrap();
    fs::write(&store.tmp_dir, b"").unwrap();
    let dest = dir.path().join("a.o");
    assert_eq!(store.materialize_blob(&id, &dest, None).unwrap(), 12);
    assert_eq!(fs::read(&dest).unwrap(), b"object bytes");
}

#[test]
fn missing_blob_is_not_found() {
    let (dir, store) = open(1 << 30);
    let id = BlobId::of_bytes(b"never stored");
    assert!(matches!(store.read_blob(&id), Err(StoreError::NotFound)));
    let dest = dir.path().join("x");
    let err = store.materialize_blob(&id, &dest, None);
    assert!(matches!(err, Err(StoreError::NotFound)));
    assert!(!dest.exists());
    let bad = BlobId("../../etc/passwd".into());
    assert!(matches!(
        store.read_blob(&bad),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn truncated_blob_is_removed_and_never_served() {
    let (dir, store) = open(1 << 30);
    let (id, _) = store.put_blob_bytes(&[7u8; 5000]).unwrap();
    let path = blob_file(&store, &id);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(100)
        .unwrap();
    let dest = dir.path().join("out.o");
    fs::write(&dest, b"previous").unwrap();
    let err = store.materialize_blob(&id, &dest, None);
    assert!(matches!(err, Err(StoreError::Corrupt { .. })), "{err:?}");
    assert_eq!(fs::read(&dest).unwrap(), b"previous");
    assert!(!path.exists());
    assert_eq!(store.usage().1, 0);
    assert!(matches!(store.read_blob(&id), Err(StoreError::NotFound)));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn bit_flipped_blob_is_removed_and_never_served() {
    let (_dir, store) = open(1 << 30);
    let (id, _) = store.put_blob_bytes(b"some object code").unwrap();
    let path = blob_file(&store, &id);
    let mut bytes = fs::read(&path).unwrap();
    bytes[3] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        store.read_blob(&id),
        Err(StoreError::Corrupt { .. })
    ));
    assert!(!path.exists());
    assert!(matches!(store.read_blob(&id), Err(StoreError::NotFound)));
}

#[test]
fn records_round_trip_and_replace() {
    let (_dir, store) = open(1 << 30);
    let (a, _) = store.put_blob_bytes(b"a").unwrap();
    let (b, _) = store.put_blob_bytes(b"b").unwrap();
    assert_eq!(store.get_record(RecordKind::Entry, &key(1)).unwrap(), None);
    store
        .put_record(RecordKind::Entry, &key(1), b"v1", &[a.clone(), a.clone()])
        .unwrap();
    store
        .put_record(RecordKind::Manifest, &key(1), b"m", &[])
        .unwrap();
    let got = store.get_record(RecordKind::Entry, &key(1)).unwrap();
    assert_eq!(got.as_deref(), Some(&b"v1"[..]));
    let got = store.get_record(RecordKind::Manifest, &key(1)).unwrap();
    assert_eq!(got.as_deref(), Some(&b"m"[..]));
    // Replacing the entry drops the blob only the old version referenced.
    store
        .put_record(RecordKind::Entry, &key(1), b"v2", std::slice::from_ref(&b))
        .unwrap();
    assert!(!blob_file(&store, &a).exists());
    assert!(store.has_blob(&b));
    store.remove_record(RecordKind::Entry, &key(1)).unwrap();
    store.remove_record(RecordKind::Entry, &key(1)).unwrap();
    assert!(!blob_file(&store, &b).exists());
    assert_eq!(store.usage().0, 1);
}

#[test]
fn record_with_missing_or_invalid_blob_is_refused() {
    let (_dir, store) = open(1 << 30);
    let missing = BlobId::of_bytes(b"not there");
    let err = store.put_record(RecordKind::Entry, &key(1), b"x", &[missing]);
    assert!(matches!(err, Err(StoreError::NotFound)));
    let err = store.put_record(RecordKind::Entry, &key(1), b"x", &[BlobId("zz".into())]);
    assert!(matches!(err, Err(StoreError::Corrupt { .. })));
    assert_eq!(store.get_record(RecordKind::Entry, &key(1)).unwrap(), None);
    assert_eq!(store.usage(), (0, 0));
}

#[test]
fn corrupt_record_is_removed_and_reported() {
    let (_dir, store) = open(1 << 30);
    let (a, _) = store.put_blob_bytes(b"a").unwrap();
    store
        .put_record(
            RecordKind::Entry,
            &key(3),
            b"payload",
            std::slice::from_ref(&a),
        )
        .unwrap();
    let path = store.record_path(RecordKind::Entry, &key(3));
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    fs::write(&path, &bytes).unwrap();
    let err = store.get_record(RecordKind::Entry, &key(3));
    assert!(matches!(err, Err(StoreError::Corrupt { .. })), "{err:?}");
    assert!(!path.exists());
    assert!(
        !blob_file(&store, &a).exists(),
        "its only blob went with it"
    );
    assert_eq!(store.get_record(RecordKind::Entry, &key(3)).unwrap(), None);
    assert_eq!(store.usage(), (0, 0));
}

/// Four records, each with its own 1000-byte blob and a shared 500-byte one.
fn fill_four(store: &Store) -> (BlobId, Vec<BlobId>) {
    let (shared, _) = store.put_blob_bytes(&[0u8; 500]).unwrap();
    let mut own = Vec::new();
    for n in 0..4u8 {
        let (id, _) = store.put_blob_bytes(&[n + 1; 1000]).unwrap();
        let blobs = [shared.clone(), id.clone()];
        store
            .put_record(RecordKind::Entry, &key(n), b"0123456789", &blobs)
            .unwrap();
        own.push(id);
    }
    (shared, own)
}

#[test]
fn eviction_removes_least_recently_used_records_and_their_blobs() {
    let (_dir, mut store) = open(1 << 30);
    let (shared, own) = fill_four(&store);
    let (count, total) = store.usage();
    assert_eq!(count, 4);
    let rec = (total - 4500) / 4;
    store
        .get_record(RecordKind::Entry, &key(0))
        .unwrap()
        .unwrap();
    // Room (at 90% of the cap) for the shared blob, two records and a margin.
    store.max_size = (2500 + 2 * rec + 300) * 10 / 9 + 1;
    let (evicted, freed) = store.evict_if_needed();
    assert_eq!((evicted, freed), (2, 2 * (rec + 1000)));
    for (n, alive) in [(0, true), (1, false), (2, false), (3, true)] {
        let got = store.get_record(RecordKind::Entry, &key(n)).unwrap();
        assert_eq!(got.is_some(), alive, "record {n}");
        assert_eq!(
            blob_file(&store, &own[n as usize]).exists(),
            alive,
            "blob {n}"
        );
    }
    assert!(store.has_blob(&shared));
    assert_eq!(store.usage(), (2, 2500 + 2 * rec));
    assert_eq!(store.evict_if_needed(), (0, 0));
}

#[test]
fn put_record_evicts_when_over_the_cap() {
    let (_dir, store) = open(3000);
    fill_four(&store);
    let (count, total) = store.usage();
    assert!(total <= 3000, "total {total}");
    assert!(count < 4);
    assert!(store
        .get_record(RecordKind::Entry, &key(3))
        .unwrap()
        .is_some());
    assert!(store
        .get_record(RecordKind::Entry, &key(0))
        .unwrap()
        .is_none());
}

#[test]
fn index_is_rebuilt_when_missing_or_corrupt() {
    let (dir, store) = open(1 << 30);
    let (shared, own) = fill_four(&store);
    let usage = store.usage();
    store.flush_index().unwrap();
    let root = store.root().to_path_buf();
    drop(store);
    fs::remove_file(root.join("index")).unwrap();
    let store = Store::open(&root, 1 << 30).unwrap();
    assert_eq!(store.usage(), usage);
    assert!(root.join("index").exists(), "rebuilt index is saved");
    drop(store);
    fs::write(root.join("index"), b"garbage").unwrap();
    let store = Store::open(&root, 1 << 30).unwrap();
    assert_eq!(store.usage(), usage);
    // Refcounts were rebuilt too: removing one record keeps the shared blob.
    store.remove_record(RecordKind::Entry, &key(0)).unwrap();
    assert!(!blob_file(&store, &own[0]).exists());
    assert!(store.has_blob(&shared));
    drop(dir);
}

#[test]
fn saved_index_keeps_lru_order_and_stale_index_is_reconciled() {
    let (_dir, store) = open(1 << 30);
    fill_four(&store);
    store
        .get_record(RecordKind::Entry, &key(0))
        .unwrap()
        .unwrap();
    store.flush_index().unwrap();
    // Changes after the last flush: one record removed, one added.
    store.remove_record(RecordKind::Entry, &key(1)).unwrap();
    let (extra, _) = store.put_blob_bytes(b"extra").unwrap();
    store
        .put_record(RecordKind::Manifest, &key(9), b"m", &[extra])
        .unwrap();
    let usage = store.usage();
    let root = store.root().to_path_buf();
    drop(store);
    let store = Store::open(&root, 1 << 30).unwrap();
    assert_eq!(store.usage(), usage);
    // Records read back from disk (the new manifest) get their mtime as
    // last use; the others keep their saved order.
    let order: Vec<RecordKey> = (store.lock().lru_order().into_iter())
        .filter(|(kind, _)| *kind == RecordKind::Entry)
        .map(|(_, k)| k)
        .collect();
    assert_eq!(order, [key(2), key(3), key(0)]);
    let got = store.get_record(RecordKind::Manifest, &key(9)).unwrap();
    assert_eq!(got.as_deref(), Some(&b"m"[..]));
}

#[test]
fn open_removes_orphan_blobs_and_temp_files() {
    let (_dir, store) = open(1 << 30);
    let (orphan, _) = store.put_blob_bytes(b"orphan").unwrap();
    let root = store.root().to_path_buf();
    drop(store);
    fs::write(root.join("tmp").join(".blob-leftover"), b"half").unwrap();
    fs::create_dir(root.join("tmp").join("1-0")).unwrap();
    fs::write(root.join("tmp").join("1-0").join(".blob-x"), b"half").unwrap();
    let store = Store::open(&root, 1 << 30).unwrap();
    assert!(!store.has_blob(&orphan));
    assert!(!blob_file(&store, &orphan).exists());
    assert_eq!(temp_files(&store), 0);
    assert!(!root.join("tmp").join("1-0").exists());
    assert_eq!(store.usage(), (0, 0));
}

#[test]
fn clear_removes_everything() {
    let (_dir, store) = open(1 << 30);
    fill_four(&store);
    store.flush_index().unwrap();
    let (_, total) = store.usage();
    assert_eq!(store.clear().unwrap(), (4, total));
    assert_eq!(store.usage(), (0, 0));
    assert_eq!(store.get_record(RecordKind::Entry, &key(0)).unwrap(), None);
    let (id, _) = store.put_blob_bytes(b"after clear").unwrap();
    store
        .put_record(RecordKind::Entry, &key(0), b"x", &[id])
        .unwrap();
    assert_eq!(store.usage().0, 1);
    let root = store.root().to_path_buf();
    assert_eq!(temp_files(&store), 0);
    assert!(!root.join("index").exists());
}

#[test]
fn directories_are_private() {
    let (_dir, store) = open(1 << 30);
    for dir in [
        store.root(),
        &store.blobs_dir,
        &store.records_dir,
        &store.tmp_dir,
    ] {
        let mode = fs::metadata(dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{}", dir.display());
    }
}

#[test]
fn read_only_store_returns_errors() {
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("skipped: root bypasses permissions");
        return;
    }
    let (dir, store) = open(1 << 30);
    let (id, _) = store.put_blob_bytes(b"kept").unwrap();
    let ro = |mode| {
        for d in [&store.tmp_dir, &store.blobs_dir, &store.records_dir] {
            fs::set_permissions(d, fs::Permissions::from_mode(mode)).unwrap();
        }
    };
    ro(0o500);
    let src = dir.path().join("src");
    fs::write(&src, b"new").unwrap();
    assert!(store.put_blob_bytes(b"new").is_err());
    assert!(store.put_blob_file(&src).is_err());
    let err = store.put_record(RecordKind::Entry, &key(1), b"x", std::slice::from_ref(&id));
    assert!(matches!(err, Err(StoreError::ReadOnly { .. })), "{err:?}");
    assert_eq!(store.read_blob(&id).unwrap(), b"kept");
    ro(0o700);
}

#[test]
fn broken_tmp_dir_returns_errors_not_panics() {
    let (_dir, store) = open(1 << 30);
    fs::remove_dir_all(&store.tmp_dir).unwrap();
    File::create(&store.tmp_dir)
        .unwrap()
        .write_all(b"not a dir")
        .unwrap();
    assert!(store.put_blob_bytes(b"data").is_err());
    assert!(store
        .put_record(RecordKind::Entry, &key(1), b"x", &[])
        .is_err());
    assert!(store.flush_index().is_err());
    assert!(store.clear().is_err());
    assert_eq!(store.usage(), (0, 0));
}

#[test]
fn many_threads_share_a_store() {
    let (_dir, store) = open(1 << 30);
    let store = Arc::new(store);
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..20u8 {
                    let (id, _) = store.put_blob_bytes(&[i; 300]).unwrap();
                    let k = RecordKey([t * 32 + i; 32]);
                    store
                        .put_record(RecordKind::Entry, &k, &[t, i], std::slice::from_ref(&id))
                        .unwrap();
                    assert_eq!(store.read_blob(&id).unwrap(), vec![i; 300]);
                    let got = store.get_record(RecordKind::Entry, &k).unwrap();
                    assert_eq!(got, Some(vec![t, i]));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.usage().0, 160);
    store.flush_index().unwrap();
}
