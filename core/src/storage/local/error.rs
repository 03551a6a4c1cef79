//! Typed errors of the local store. Every failure of the store, including a
//! read-only or full disk and corrupt files on disk, is reported as a
//! [`StoreError`]; the store never panics on bad disk data.

use std::fmt;
use std::io;
use std::path::Path;

/// An error returned by [`super::Store`] operations.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// An I/O operation failed; `context` says what was being done and on which path.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, e.g. `"write blob temp file /x/tmp/.blob-abc"`.
        context: String,
        /// The underlying OS error.
        #[source]
        source: io::Error,
    },
    /// Writing into the store was refused by the OS: permission denied, or a
    /// read-only file system when the OS error is not wrapped (a wrapped
    /// `EROFS` comes as [`StoreError::Io`]). `context` says what was written.
    #[error("store is not writable: {context}: {source}")]
    ReadOnly {
        /// What was being written, and where.
        context: String,
        /// The underlying OS error (`EACCES`, `EPERM` or `EROFS`).
        #[source]
        source: io::Error,
    },
    /// Stored data failed verification (bad hash, truncation, bad header, bad
    /// id). The offending file has been removed from the store where possible.
    #[error("corrupt {what}")]
    Corrupt {
        /// Which object was corrupt and how, e.g. `"blob <id>: hash mismatch"`.
        what: String,
    },
    /// The requested blob is not in the store.
    #[error("not found in the store")]
    NotFound,
}

impl StoreError {
    /// Wrap an I/O error that happened while reading (or doing anything that
    /// is not a write into the store) on `path`.
    pub(super) fn io(what: &str, path: &Path, source: io::Error) -> StoreError {
        StoreError::Io {
            context: format!("{what} {}", path.display()),
            source,
        }
    }

    /// Wrap an I/O error that happened while writing into the store at
    /// `path`: permission and read-only errors become [`StoreError::ReadOnly`].
    pub(super) fn write(what: &str, path: &Path, source: io::Error) -> StoreError {
        let context = format!("{what} {}", path.display());
        let refused = source.kind() == io::ErrorKind::PermissionDenied
            || matches!(source.raw_os_error(), Some(libc::EROFS) | Some(libc::EPERM));
        if refused {
            StoreError::ReadOnly { context, source }
        } else {
            StoreError::Io { context, source }
        }
    }

    /// Build a [`StoreError::Corrupt`] from a description: a text, or a typed
    /// error such as `FormatError` whose message becomes the description.
    pub(super) fn corrupt(what: impl fmt::Display) -> StoreError {
        StoreError::Corrupt {
            what: what.to_string(),
        }
    }
}
