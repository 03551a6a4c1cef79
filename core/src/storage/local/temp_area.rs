//! Where the store makes its temp files: a subdirectory of `tmp/`, replaced
//! by a fresh one every [`ROTATE_AFTER`] temp files.
//!
//! Why a subdirectory, and why fresh ones: every restored output and every
//! new blob starts as a temp file here, so creating files here is on the hit
//! path. ext4 without a journal does not reuse an inode freed in the last
//! minute (up to six while the inode table block is dirty) and, for every
//! file it creates, checks the free inodes of the directory's block group
//! one by one from the start of the group until it finds one that was not
//! freed lately (kernel `fs/ext4/ialloc.c`, `recently_deleted`). After a
//! `cargo clean` or `ninja clean` freed thousands of inodes near the cache
//! dir, each create costs milliseconds. `tmp/` carries the "top of
//! directory hierarchies" attribute (chattr(1) `T`, `FS_TOPDIR_FL`), so
//! ext4's Orlov allocator places each new subdirectory of it in the group
//! with the fewest directories among those with more free inodes and
//! blocks than average, searched from a group given by a hash of the
//! subdirectory's name (kernel `find_group_orlov`): on a file system with
//! room to spare, a group no build is using, not the cache dir's; rotating
//! bounds how many of our own restored-then-deleted inodes one group
//! collects. Elsewhere the attribute is refused or means nothing, and
//! the subdirectories are plain directories. Nothing here changes what is
//! stored or served: it only chooses where temp files are born.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Temp files made in one subdirectory before the next one is made.
pub(super) const ROTATE_AFTER: u32 = 256;

/// `FS_TOPDIR_FL` (linux `include/uapi/linux/fs.h`): the directory is the
/// top of a directory hierarchy for the Orlov block allocator.
const FS_TOPDIR_FL: libc::c_int = 0x0002_0000;

/// The store's temp-file directories under `tmp/`. See the module docs.
#[derive(Debug)]
pub(super) struct TempArea {
    /// `<store>/tmp`.
    root: PathBuf,
    current: Mutex<Current>,
}

#[derive(Debug)]
struct Current {
    /// Where the next temp file goes (`root` itself when no subdirectory
    /// could be made, e.g. a read-only cache dir).
    dir: Arc<Path>,
    /// Temp files handed out for `dir`.
    used: u32,
    /// Number of the next subdirectory.
    next: u64,
    /// Earlier subdirectories not yet removed (they held a temp file still
    /// being written when we last tried; `Store::open` empties `tmp/`
    /// anyway).
    retired: Vec<Arc<Path>>,
}

impl TempArea {
    /// The temp area under `root` (`<store>/tmp`, already created and
    /// emptied): marks `root` with `FS_TOPDIR_FL` where the file system
    /// supports it and makes the first subdirectory. Never fails: without
    /// a subdirectory, temp files go to `root` itself.
    pub(super) fn open(root: &Path) -> TempArea {
        mark_top_dir(root);
        let mut current = Current {
            dir: Arc::from(root),
            used: 0,
            next: 0,
            retired: Vec::new(),
        };
        rotate(root, &mut current);
        TempArea {
            root: root.to_path_buf(),
            current: Mutex::new(current),
        }
    }

    /// The directory to make one new temp file in. Counts the call; every
    /// [`ROTATE_AFTER`] calls a new subdirectory takes over and the
    /// earlier ones that are empty are removed.
    pub(super) fn dir(&self) -> Arc<Path> {
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        cur.used += 1;
        if cur.used > ROTATE_AFTER {
            rotate(&self.root, &mut cur);
            cur.used = 1;
        }
        Arc::clone(&cur.dir)
    }
}

/// Make subdirectory `<root>/<pid>-<n>` (mode 0700) the current one and
/// retire the previous one; keep the previous one when mkdir fails.
fn rotate(root: &Path, cur: &mut Current) {
    let name = format!("{}-{}", std::process::id(), cur.next);
    cur.next += 1;
    let dir = root.join(name);
    if let Err(e) = fs::DirBuilder::new().mode(0o700).create(&dir) {
        tracing::debug!("store: cannot make temp dir {}: {e}", dir.display());
        return;
    }
    let old = std::mem::replace(&mut cur.dir, Arc::from(dir.as_path()));
    if *old != *root {
        cur.retired.push(old);
    }
    // Kept for the next try only while a temp file is still inside; any
    // other failure (gone already, no permission) is not retried.
    cur.retired.retain(|d| match fs::remove_dir(d) {
        Ok(()) => false,
        Err(e) => e.kind() == io::ErrorKind::DirectoryNotEmpty,
    });
}

/// Set `FS_TOPDIR_FL` on directory `dir` (chattr(1) `+T`); best effort.
fn mark_top_dir(dir: &Path) {
    let Ok(file) = fs::File::open(dir) else {
        return;
    };
    let fd = file.as_raw_fd();
    let mut flags: libc::c_int = 0;
    // SAFETY: FS_IOC_GETFLAGS/SETFLAGS read and write one int through the
    // pointer (linux `fs/ioctl.c`), which outlives both calls; `fd` is open.
    unsafe {
        if libc::ioctl(fd, libc::FS_IOC_GETFLAGS, &mut flags) != 0 || flags & FS_TOPDIR_FL != 0 {
            return;
        }
        flags |= FS_TOPDIR_FL;
        if libc::ioctl(fd, libc::FS_IOC_SETFLAGS, &flags) != 0 {
            tracing::debug!(
                "store: cannot mark {} as a top directory: {}",
                dir.display(),
                io::Error::last_os_error()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_move_to_a_new_subdirectory_and_empty_ones_go() {
        let root = tempfile::tempdir().unwrap();
        let area = TempArea::open(root.path());
        let first = area.dir();
        assert_ne!(&*first, root.path(), "a subdirectory");
        assert_eq!(first.parent(), Some(root.path()));
        let kept = tempfile::NamedTempFile::new_in(&*first).unwrap();
        for _ in 1..ROTATE_AFTER {
            assert_eq!(area.dir(), first);
        }
        let second = area.dir();
        assert_ne!(second, first);
        assert!(first.is_dir(), "still holds a temp file");
        drop(kept);
        for _ in 0..ROTATE_AFTER {
            area.dir();
        }
        assert!(!first.exists(), "removed once empty");
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn tmp_is_marked_as_a_top_directory_on_ext4() {
        let root = tempfile::tempdir().unwrap();
        let mut fs_stat: libc::statfs = unsafe { std::mem::zeroed() };
        let c = std::ffi::CString::new(root.path().as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string and a zeroed statfs to fill in.
        assert_eq!(unsafe { libc::statfs(c.as_ptr(), &mut fs_stat) }, 0);
        if fs_stat.f_type != 0xEF53 {
            eprintln!("skipped: not ext4 (f_type {:#x})", fs_stat.f_type);
            return;
        }
        TempArea::open(root.path());
        let file = fs::File::open(root.path()).unwrap();
        let mut flags: libc::c_int = 0;
        // SAFETY: FS_IOC_GETFLAGS writes one int through the pointer.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
        assert_eq!(rc, 0);
        assert_ne!(flags & FS_TOPDIR_FL, 0, "flags {flags:#x}");
    }

    #[test]
    fn without_a_subdirectory_temp_files_go_to_tmp_itself() {
        let root = tempfile::tempdir().unwrap();
        let tmp = root.path().join("tmp");
        fs::write(&tmp, b"not a directory").unwrap();
        let area = TempArea::open(&tmp);
        assert_eq!(&*area.dir(), tmp.as_path());
    }
}
