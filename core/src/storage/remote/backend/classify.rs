//! Turning client errors (opendal, reqwest, I/O) into [`RemoteError`]
//! kinds: credentials refused → `Denied`, unreachable server → `Connect`,
//! out of time → `Timeout`, anything else → `Other` with the message.

use std::error::Error as StdError;
use std::io;

use super::RemoteError;

/// The kind of an opendal error that is not `NotFound` (the callers turn
/// that one into a miss first).
pub(super) fn from_opendal(err: &opendal::Error) -> RemoteError {
    if err.kind() == opendal::ErrorKind::PermissionDenied {
        return RemoteError::Denied(err.to_string());
    }
    let mut source = StdError::source(err);
    while let Some(cause) = source {
        if let Some(kind) = from_cause(cause) {
            return kind;
        }
        source = cause.source();
    }
    RemoteError::Other(err.to_string())
}

/// The kind of a reqwest error (the HTTP status is handled by the caller).
pub(super) fn from_reqwest(err: &reqwest::Error) -> RemoteError {
    if err.is_timeout() {
        RemoteError::Timeout
    } else if err.is_connect() {
        RemoteError::Connect(chain(err))
    } else {
        RemoteError::Other(chain(err))
    }
}

/// The kind of a low-level error, when it tells one.
fn from_cause(cause: &(dyn StdError + 'static)) -> Option<RemoteError> {
    if let Some(err) = cause.downcast_ref::<reqwest::Error>() {
        if err.is_timeout() || err.is_connect() {
            return Some(from_reqwest(err));
        }
    }
    let err = cause.downcast_ref::<io::Error>()?;
    match err.kind() {
        io::ErrorKind::TimedOut => Some(RemoteError::Timeout),
        kind if is_connection_kind(kind) => Some(RemoteError::Connect(err.to_string())),
        _ => None,
    }
}

/// True for I/O error kinds that mean the server cannot be reached or the
/// connection broke.
pub(super) fn is_connection_kind(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
            | io::ErrorKind::AddrNotAvailable
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::NotFound
            | io::ErrorKind::PermissionDenied
    )
}

/// `err` followed by its causes, `: `-separated (reqwest's own message
/// alone says little: "error sending request").
fn chain(err: &dyn StdError) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
