//! Blobs: content-addressed files named by their blake3 hash. Putting a blob
//! hashes it while copying it into a temp file, then renames it into place
//! (an identical blob already present is reused). Reading or materializing a
//! blob verifies its hash; a corrupt or truncated blob is removed from the
//! store and reported as [`StoreError::Corrupt`].

use std::fs::{self, File, Permissions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tempfile::NamedTempFile;

use super::fsutil;
use super::{BlobId, Store, StoreError};
use crate::hash::StatFingerprint;

/// Size of the copy/hash buffer in bytes.
const BUF_LEN: usize = 1 << 16;

impl Store {
    /// Copy the file at `src` into the store as a blob, hashing while
    /// copying. Returns the blob's id and its size in bytes. An identical
    /// blob already in the store is reused (dedup).
    ///
    /// Errors: [`StoreError::Io`] when `src` cannot be read;
    /// [`StoreError::ReadOnly`] / [`StoreError::Io`] when the store cannot be
    /// written (read-only, full disk).
    pub(crate) fn put_blob_file(&self, src: &Path) -> Result<(BlobId, u64), StoreError> {
        let mut input = File::open(src).map_err(|e| StoreError::io("open", src, e))?;
        let mut tmp = self.blob_temp()?;
        let (hash, size) = copy_hashing(&mut input, src, &mut tmp)?;
        self.publish_blob(tmp, BlobId::from_hash(&hash), size)
    }

    /// Store `data` as a blob. Returns its id and size in bytes; errors as
    /// for [`Store::put_blob_file`].
    pub(crate) fn put_blob_bytes(&self, data: &[u8]) -> Result<(BlobId, u64), StoreError> {
        let id = BlobId::of_bytes(data);
        let size = data.len() as u64;
        if self.lock().has_blob(&id) && self.blob_path(&id)?.exists() {
            return Ok((id, size));
        }
        let mut tmp = self.blob_temp()?;
        tmp.write_all(data)
            .map_err(|e| StoreError::write("write", tmp.path(), e))?;
        self.publish_blob(tmp, id, size)
    }

    /// Write blob `id` at `dest`: reflink (else copy) it into a temp file
    /// (in the store's `tmp/` when `dest` is on the store's file system,
    /// else in `dest`'s directory), verified (see `materialize_temp`), set
    /// its mode (`mode`, or 0644 & !umask when `None`) and a fresh mtime
    /// (now), then rename it over `dest`. Returns the bytes written.
    ///
    /// Errors: [`StoreError::NotFound`] when the blob is not in the store;
    /// [`StoreError::Corrupt`] when its content does not match its id (the
    /// blob is removed from the store, `dest` is untouched);
    /// [`StoreError::Io`] / [`StoreError::ReadOnly`] when `dest` cannot be written.
    pub(crate) fn materialize_blob(
        &self,
        id: &BlobId,
        dest: &Path,
        mode: Option<u32>,
    ) -> Result<u64, StoreError> {
        let dir = parent_dir(dest);
        if self.on_store_device(dir) {
            let via_store = self
                .materialize_temp(id, &self.temp_area.dir(), dest)
                .and_then(|(tmp, size)| self.finish_materialize(tmp, dest, mode).map(|()| size));
            match via_store {
                Ok(size) => return Ok(size),
                Err(e @ (StoreError::Corrupt { .. } | StoreError::NotFound)) => return Err(e),
                // `tmp/` not writable (a read-only cache), or another mount
                // of the same file system (a rename cannot cross it): copy
                // again next to `dest`, as for any other file system.
                Err(_) => {}
            }
        }
        let (tmp, size) = self.materialize_temp(id, dir, dest)?;
        self.finish_materialize(tmp, dest, mode)?;
        Ok(size)
    }

    /// Write `data` as file `dest` with permission bits `mode`: through a
    /// temp file in the store's `tmp/` when `dest` is on the store's file
    /// system (the rule of [`Store::materialize_blob`]), else through one
    /// next to `dest`; then renamed over it. For inline outputs (depfiles,
    /// dep-info).
    ///
    /// Errors: [`StoreError::Io`] / [`StoreError::ReadOnly`] when neither
    /// way can write `dest`.
    pub(crate) fn materialize_bytes(
        &self,
        data: &[u8],
        dest: &Path,
        mode: u32,
    ) -> Result<(), StoreError> {
        let dir = parent_dir(dest);
        let write = |dir: &Path| -> Result<(), StoreError> {
            let mut tmp = fsutil::temp_in(dir, ".zccache-")
                .map_err(|e| StoreError::write("create temp file for", dest, e))?;
            tmp.write_all(data)
                .map_err(|e| StoreError::write("write", tmp.path(), e))?;
            self.finish_materialize(tmp, dest, Some(mode))
        };
        if self.on_store_device(dir) && write(&self.temp_area.dir()).is_ok() {
            return Ok(());
        }
        write(dir)
    }

    /// True when a temp file made in the store's `tmp/` may stand in for
    /// one made in directory `dir`: `dir` is on the store's file system
    /// (same `st_dev`, so a rename can move it there) and gives new files
    /// nothing a file made elsewhere would lack (no set-group-ID bit, no
    /// default ACL). Creating it in `tmp/` rather than next to the output
    /// spares ext4 without a journal a slow search for a free inode in a
    /// directory whose files were just deleted (`cargo clean`, `ninja
    /// clean`): it skips recently deleted inodes one by one.
    pub(super) fn on_store_device(&self, dir: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let Some(meta) = self.device.and_then(|_| fs::metadata(dir).ok()) else {
            return false;
        };
        Some(meta.dev()) == self.device && meta.mode() & libc::S_ISGID == 0 && !has_default_acl(dir)
    }

    /// Write blob `id` into a new temp file (`.zccache-*`) in `dir`:
    /// reflink (else copy), then verify the copy's blake3. Returns the temp
    /// file (deleted on drop unless persisted; mtime now, mode not yet set)
    /// and its size in bytes. For callers that set times and mode before
    /// putting the file in place themselves (e.g. without replacing an
    /// existing file, `tempfile::NamedTempFile::persist_noclobber`).
    ///
    /// Errors: as for [`Store::materialize_blob`], with `dir` in place of
    /// `dest`.
    pub(crate) fn materialize_blob_temp(
        &self,
        id: &BlobId,
        dir: &Path,
    ) -> Result<(NamedTempFile, u64), StoreError> {
        self.materialize_temp(id, dir, dir)
    }

    /// [`Store::materialize_blob_temp`]; errors name `dest`. A blob this
    /// process verified, whose file's stat is unchanged since, is copied
    /// without hashing (`copy_file_range`, or a reflink); any other is
    /// verified in the same pass: a reflink read back, or a read that
    /// hashes while it writes the temp file.
    fn materialize_temp(
        &self,
        id: &BlobId,
        dir: &Path,
        dest: &Path,
    ) -> Result<(NamedTempFile, u64), StoreError> {
        let src = self.blob_path(id)?;
        let mut input = match File::open(&src) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.forget_blob(id, None);
                return Err(StoreError::NotFound);
            }
            Err(e) => return Err(StoreError::io("open blob", &src, e)),
        };
        let before = fingerprint(&input);
        let mut tmp = tempfile::Builder::new()
            .prefix(".zccache-")
            .tempfile_in(dir)
            .map_err(|e| StoreError::write("materialize blob at", dest, e))?;
        if let Some(fp) = before.filter(|fp| self.verified.holds(id, fp)) {
            if self.copy_trusted(id, (&mut input, &src), &mut tmp, fp)? {
                return Ok((tmp, fp.size));
            }
        }
        let (hash, size) = if reflinked(&input, tmp.as_file()) {
            hash_file(tmp.as_file()).map_err(|e| StoreError::io("read back", tmp.path(), e))?
        } else {
            copy_hashing(&mut input, &src, &mut tmp)?
        };
        self.check_hash(id, &src, &hash, size)?;
        if let Some(fp) = before.filter(|fp| fingerprint(&input).as_ref() == Some(fp)) {
            self.verified.record(id, fp);
        }
        Ok((tmp, size))
    }

    /// Copy the verified blob `id` (`input`, read from `src`, fingerprint
    /// `fp`) into `tmp` without hashing. False (with `tmp` emptied and both
    /// files rewound) when the blob changed while it was copied: the caller
    /// then verifies it in full.
    ///
    /// Errors: [`StoreError::Io`] reading the blob, [`StoreError::write`]
    /// writing the copy.
    fn copy_trusted(
        &self,
        id: &BlobId,
        (input, src): (&mut File, &Path),
        tmp: &mut NamedTempFile,
        fp: StatFingerprint,
    ) -> Result<bool, StoreError> {
        if !reflinked(input, tmp.as_file()) {
            io::copy(input, tmp.as_file_mut())
                .map_err(|e| StoreError::write("copy blob to", tmp.path(), e))?;
        }
        if fingerprint(input) == Some(fp) {
            return Ok(true);
        }
        self.verified.forget(id);
        let rewind = |f: &mut File| f.set_len(0).and_then(|_| f.seek(io::SeekFrom::Start(0)));
        rewind(tmp.as_file_mut()).map_err(|e| StoreError::write("rewind", tmp.path(), e))?;
        input
            .seek(io::SeekFrom::Start(0))
            .map_err(|e| StoreError::io("rewind", src, e))?;
        Ok(false)
    }

    /// Read blob `id` fully into memory, verified.
    ///
    /// Errors: [`StoreError::NotFound`] when absent; [`StoreError::Corrupt`]
    /// on a hash mismatch (the blob is removed); [`StoreError::Io`] otherwise.
    pub(crate) fn read_blob(&self, id: &BlobId) -> Result<Vec<u8>, StoreError> {
        let path = self.blob_path(id)?;
        let data = match fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.forget_blob(id, None);
                return Err(StoreError::NotFound);
            }
            Err(e) => return Err(StoreError::io("read blob", &path, e)),
        };
        self.check_hash(id, &path, &blake3::hash(&data), data.len() as u64)?;
        Ok(data)
    }

    /// True when blob `id` is in the store (index and file). Not verified.
    pub(crate) fn has_blob(&self, id: &BlobId) -> bool {
        let Ok(path) = self.blob_path(id) else {
            return false;
        };
        self.lock().has_blob(id) && path.is_file()
    }

    /// A new temp file in `<root>/tmp` for a blob being written.
    fn blob_temp(&self) -> Result<NamedTempFile, StoreError> {
        let dir = self.temp_area.dir();
        fsutil::temp_in(&dir, ".blob-")
            .map_err(|e| StoreError::write("create temp file in", &dir, e))
    }

    /// Rename a complete temp file into place as blob `id` and index it,
    /// unless the blob is already present (then the temp file is dropped).
    fn publish_blob(
        &self,
        tmp: NamedTempFile,
        id: BlobId,
        size: u64,
    ) -> Result<(BlobId, u64), StoreError> {
        let path = self.blob_path(&id)?;
        if let Some(dir) = path.parent() {
            fsutil::ensure_dir(dir).map_err(|e| StoreError::write("create", dir, e))?;
        }
        let mut index = self.lock();
        if index.has_blob(&id) && path.is_file() {
            drop(index);
            return Ok((id, size));
        }
        tmp.persist(&path)
            .map_err(|e| StoreError::write("move blob into", &path, e.error))?;
        index.add_blob(id.clone(), size);
        drop(index);
        self.verified.verify_later(id.clone(), path);
        Ok((id, size))
    }

    /// Compare a computed hash with `id`; on mismatch remove the blob at
    /// `path` and return [`StoreError::Corrupt`].
    fn check_hash(
        &self,
        id: &BlobId,
        path: &Path,
        hash: &blake3::Hash,
        size: u64,
    ) -> Result<(), StoreError> {
        if BlobId::from_hash(hash) == *id {
            return Ok(());
        }
        tracing::warn!("store: blob {id} is corrupt ({size} bytes); removing it");
        self.forget_blob(id, Some(path));
        Err(StoreError::corrupt(format!(
            "blob {id}: content hash mismatch ({size} bytes)"
        )))
    }

    /// Drop blob `id` from the index and, when `path` is given, delete its file.
    pub(super) fn forget_blob(&self, id: &BlobId, path: Option<&Path>) {
        self.verified.forget(id);
        let mut index = self.lock();
        index.remove_blob(id);
        if let Some(path) = path {
            fsutil::remove_file_logged(path);
        }
    }

    /// Set mode and mtime of a verified temp copy and rename it over `dest`.
    fn finish_materialize(
        &self,
        tmp: NamedTempFile,
        dest: &Path,
        mode: Option<u32>,
    ) -> Result<(), StoreError> {
        let mode = mode.unwrap_or(self.default_mode) & 0o7777;
        let file = tmp.as_file();
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(|e| StoreError::write("chmod", tmp.path(), e))?;
        // A fresh inode already has mtime = now. Removing the old output
        // first avoids ext4's replace-via-rename flush (auto_da_alloc), which
        // doubles the cost of a hit; the new content still appears whole,
        // through the rename.
        if let Err(e) = fs::remove_file(dest) {
            if e.kind() != io::ErrorKind::NotFound {
                return Err(StoreError::write("remove old", dest, e));
            }
        }
        tmp.persist(dest)
            .map_err(|e| StoreError::write("rename over", dest, e.error))?;
        Ok(())
    }
}

/// The directory `dest` is in (`.` for a bare file name).
fn parent_dir(dest: &Path) -> &Path {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// True when directory `dir` has a default ACL, which files created in it
/// inherit (acl(5), `system.posix_acl_default`). Unknown counts as yes.
fn has_default_acl(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return true;
    };
    // SAFETY: both strings are NUL-terminated; a null buffer of size 0
    // only asks for the attribute's size.
    let n = unsafe {
        libc::getxattr(
            path.as_ptr(),
            c"system.posix_acl_default".as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    if n >= 0 {
        return true;
    }
    let err = io::Error::last_os_error().raw_os_error();
    !matches!(err, Some(libc::ENODATA) | Some(libc::ENOTSUP))
}

/// Devices (`st_dev` of a destination file) where a reflink failed
/// once; later copies there skip the attempt.
static NO_REFLINK: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

/// Reflink `input` into the empty file `out` (`FICLONE`), unless an earlier
/// attempt on `out`'s device failed. True when `out` now holds the blob.
fn reflinked(input: &File, out: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(dev) = out.metadata().map(|m| m.dev()) else {
        return false;
    };
    if NO_REFLINK.lock().map(|v| v.contains(&dev)).unwrap_or(true) {
        return false;
    }
    if reflink_copy::reflink_file(input, out).is_ok() {
        return true;
    }
    if let Ok(mut v) = NO_REFLINK.lock() {
        v.push(dev);
    }
    false
}

/// The stat fingerprint of an open file (`fstat`: no path walk); `None`
/// when it cannot be read.
fn fingerprint(file: &File) -> Option<StatFingerprint> {
    file.metadata().ok().map(|m| StatFingerprint::of(&m))
}

/// Copy `input` (read from `src`) into `tmp` while hashing it; returns the
/// hash and the number of bytes copied.
fn copy_hashing(
    input: &mut File,
    src: &Path,
    tmp: &mut NamedTempFile,
) -> Result<(blake3::Hash, u64), StoreError> {
    with_buffer(|buf| {
        let mut hasher = blake3::Hasher::new();
        let mut total = 0u64;
        loop {
            let n = match input.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(StoreError::io("read", src, e)),
            };
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])
                .map_err(|e| StoreError::write("write", tmp.path(), e))?;
            total += n as u64;
        }
        Ok((hasher.finalize(), total))
    })
}

/// Hash a file from its current position to its end; returns hash and length.
fn hash_file(mut file: &File) -> io::Result<(blake3::Hash, u64)> {
    with_buffer(|buf| {
        let mut hasher = blake3::Hasher::new();
        let mut total = 0u64;
        loop {
            match file.read(buf) {
                Ok(0) => return Ok((hasher.finalize(), total)),
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    total += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    })
}

/// Run `f` with this thread's copy buffer ([`BUF_LEN`] bytes). Reused
/// rather than allocated per blob: freeing a 64 KiB block makes glibc's
/// allocator consolidate its free lists, a visible cost on every hit.
fn with_buffer<T>(f: impl FnOnce(&mut [u8]) -> T) -> T {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < BUF_LEN {
                buf.resize(BUF_LEN, 0);
            }
            f(&mut buf[..])
        }
        Err(_) => f(&mut vec![0u8; BUF_LEN]),
    })
}
