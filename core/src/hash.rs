//! Content hashes (blake3) and the in-memory metadata cache that makes them
//! cheap: path → stat fingerprint → digest.
//!
//! A cached digest is reused only while the file's fingerprint (size, mtime,
//! ctime, inode, device) is unchanged. A fingerprint whose mtime or ctime is
//! not older than the coarse clock at the time of the stat is "racy" (a
//! later write in the same clock tick could keep it), so its digest is never
//! cached: the "racy git" rule (git documentation, racy-git.txt).

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// A 32-byte blake3 digest.
pub(crate) type Digest = [u8; 32];

/// The stat data that identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub(crate) struct StatFingerprint {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Status-change time, ns since the epoch.
    pub ctime_ns: i64,
    /// Inode number.
    pub ino: u64,
    /// Device number.
    pub dev: u64,
}

impl StatFingerprint {
    /// Fingerprint from `std::fs::Metadata`.
    pub(crate) fn of(meta: &std::fs::Metadata) -> StatFingerprint {
        StatFingerprint {
            size: meta.size(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            ctime_ns: meta.ctime() * 1_000_000_000 + meta.ctime_nsec(),
            ino: meta.ino(),
            dev: meta.dev(),
        }
    }

    /// The later of mtime and ctime, in ns since the epoch.
    pub(crate) fn newest_ns(&self) -> i64 {
        self.mtime_ns.max(self.ctime_ns)
    }

    /// True when a write in the current clock tick could leave this
    /// fingerprint unchanged (see the module docs).
    pub(crate) fn is_racy(&self) -> bool {
        self.newest_ns() >= coarse_now_ns()
    }
}

/// The kernel's coarse wall clock (the one file timestamps are taken from),
/// in ns since the epoch (clock_gettime(2), `CLOCK_REALTIME_COARSE`).
pub(crate) fn coarse_now_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) };
    if rc != 0 {
        return i64::MAX; // treat everything as racy: never wrong, only slower
    }
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// What the cache knows about one file version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileDigest {
    /// blake3 of the content.
    pub hash: Digest,
    /// The fingerprint the digest belongs to.
    pub fingerprint: StatFingerprint,
    /// The content mentions `__DATE__`, `__TIME__` or `__TIMESTAMP__`
    /// (ccache manual, "time macros").
    pub has_time_macros: bool,
    /// The content mentions `__has_include` (or `__has_include_next`) or
    /// `include_next`: it may look for files that do not exist, which no
    /// depfile lists (see `cc::probes`).
    pub probes_includes: bool,
}

/// path → fingerprint → digest, shared by every request of a daemon.
#[derive(Debug, Default)]
pub(crate) struct MetadataCache {
    map: RwLock<HashMap<PathBuf, FileDigest>>,
}

impl MetadataCache {
    /// An empty cache.
    pub(crate) fn new() -> MetadataCache {
        MetadataCache::default()
    }

    /// Digest of the file at `path` (absolute), from the cache when its
    /// fingerprint is unchanged, else by reading it.
    ///
    /// Errors: the I/O error of `stat` or `read` (e.g. NotFound).
    pub(crate) fn digest(&self, path: &Path) -> std::io::Result<FileDigest> {
        let meta = std::fs::metadata(path)?;
        let fp = StatFingerprint::of(&meta);
        if let Some(d) = self.cached(path, &fp) {
            return Ok(d);
        }
        let digest = hash_file(path, fp)?;
        let after = StatFingerprint::of(&std::fs::metadata(path)?);
        if after != fp {
            return Err(std::io::Error::other(format!(
                "{} changed while it was hashed",
                path.display()
            )));
        }
        if !fp.is_racy() {
            if let Ok(mut map) = self.map.write() {
                map.insert(path.to_path_buf(), digest);
            }
        }
        Ok(digest)
    }

    fn cached(&self, path: &Path, fp: &StatFingerprint) -> Option<FileDigest> {
        let map = self.map.read().ok()?;
        map.get(path).filter(|d| d.fingerprint == *fp).copied()
    }

    /// Number of files with a cached digest.
    pub(crate) fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }

    /// Forget everything (used by `zccache clear`).
    pub(crate) fn clear(&self) {
        if let Ok(mut m) = self.map.write() {
            m.clear();
        }
    }
}

/// Files up to this size (bytes) are read whole; larger ones (rlibs,
/// objects, libraries) are streamed through a buffer of this size, which
/// avoids faulting in a fresh allocation as large as the file.
const CHUNK: usize = 256 * 1024;
/// Bytes kept from the end of one chunk before the next, so a time macro
/// or include probe split across two reads is still found (`__TIMESTAMP__`
/// and `__has_include` are the longest words scanned for).
const MACRO_OVERLAP: usize = "__TIMESTAMP__".len() - 1;

fn hash_file(path: &Path, fingerprint: StatFingerprint) -> std::io::Result<FileDigest> {
    if fingerprint.size <= CHUNK as u64 {
        let data = std::fs::read(path)?;
        return Ok(FileDigest {
            hash: *blake3::hash(&data).as_bytes(),
            fingerprint,
            has_time_macros: mentions_time_macros(&data),
            probes_includes: mentions_include_probes(&data),
        });
    }
    let mut file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; MACRO_OVERLAP + CHUNK];
    let (mut carry, mut has_time_macros, mut probes_includes) = (0, false, false);
    loop {
        let n = match file.read(&mut buf[carry..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let filled = carry + n;
        hasher.update(&buf[carry..filled]);
        has_time_macros = has_time_macros || mentions_time_macros(&buf[..filled]);
        probes_includes = probes_includes || mentions_include_probes(&buf[..filled]);
        let keep = MACRO_OVERLAP.min(filled);
        buf.copy_within(filled - keep..filled, 0);
        carry = keep;
    }
    Ok(FileDigest {
        hash: *hasher.finalize().as_bytes(),
        fingerprint,
        has_time_macros,
        probes_includes,
    })
}

/// True when `data` contains `__DATE__`, `__TIME__` or `__TIMESTAMP__`.
pub(crate) fn mentions_time_macros(data: &[u8]) -> bool {
    use memchr::memmem;
    memmem::find(data, b"__DATE__").is_some()
        || memmem::find(data, b"__TIME__").is_some()
        || memmem::find(data, b"__TIMESTAMP__").is_some()
}

/// True when `data` contains `__has_include` (which covers
/// `__has_include_next`) or `include_next`.
pub(crate) fn mentions_include_probes(data: &[u8]) -> bool {
    use memchr::memmem;
    memmem::find(data, b"__has_include").is_some() || memmem::find(data, b"include_next").is_some()
}

/// Lowercase hex of a digest.
pub(crate) fn to_hex(d: &Digest) -> String {
    blake3::Hash::from(*d).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_follows_content_even_when_size_and_mtime_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.h");
        std::fs::write(&p, "#define A 1\n").unwrap();
        let cache = MetadataCache::new();
        let a = cache.digest(&p).unwrap();
        let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
        std::fs::write(&p, "#define A 2\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let b = cache.digest(&p).unwrap();
        assert_ne!(a.hash, b.hash);
        assert_eq!(b.hash, *blake3::hash(b"#define A 2\n").as_bytes());
    }

    #[test]
    fn large_files_are_streamed_with_the_same_digest_and_macro_scan() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.h");
        let fp = |p: &Path| StatFingerprint::of(&std::fs::metadata(p).unwrap());
        // `__TIME__` straddles the first chunk boundary.
        let mut data = vec![b'x'; CHUNK - 4];
        data.extend_from_slice(b"__TIME__");
        data.resize(3 * CHUNK + 5, b'y');
        std::fs::write(&p, &data).unwrap();
        let d = hash_file(&p, fp(&p)).unwrap();
        assert_eq!(d.hash, *blake3::hash(&data).as_bytes());
        assert!(d.has_time_macros);
        data[CHUNK - 4..CHUNK + 4].copy_from_slice(b"__TIMER_");
        std::fs::write(&p, &data).unwrap();
        let d = hash_file(&p, fp(&p)).unwrap();
        assert_eq!(d.hash, *blake3::hash(&data).as_bytes());
        assert!(!d.has_time_macros);
    }

    #[test]
    fn time_macros_are_detected() {
        assert!(mentions_time_macros(b"const char *d = __DATE__;"));
        assert!(mentions_time_macros(b"x __TIME__ y"));
        assert!(mentions_time_macros(b"__TIMESTAMP__"));
        assert!(!mentions_time_macros(b"int __TIMEOUT__ = 1;"));
    }

    #[test]
    fn include_probes_are_detected() {
        assert!(mentions_include_probes(b"#if __has_include(<x.h>)"));
        assert!(mentions_include_probes(b"#if __has_include_next(<x.h>)"));
        assert!(mentions_include_probes(b"# include_next <x.h>"));
        assert!(!mentions_include_probes(b"#include <x.h>"));
    }

    #[test]
    fn racy_fingerprints_are_those_of_the_current_tick() {
        let mut fp = StatFingerprint {
            size: 1,
            mtime_ns: 0,
            ctime_ns: 0,
            ino: 1,
            dev: 1,
        };
        assert!(!fp.is_racy());
        fp.ctime_ns = coarse_now_ns() + 1_000_000_000;
        assert!(fp.is_racy());
    }
}
