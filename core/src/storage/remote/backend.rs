//! The network side of a remote tier: get, put and exists of whole objects
//! by key, over opendal's services (redis, webdav/http, s3, memcached),
//! with connect and operation timeouts, shards, and error kinds the
//! circuit breaker and the stats understand.

use super::spec::TierSpec;

/// What went wrong talking to a tier.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RemoteError {
    /// The operation did not finish within the tier's timeout.
    #[error("timed out")]
    Timeout,
    /// The server could not be reached (refused, unreachable, DNS).
    #[error("connection failed: {0}")]
    Connect(String),
    /// The server refused our credentials (HTTP 401/403, redis AUTH).
    #[error("access denied: {0}")]
    Denied(String),
    /// Any other failure (HTTP 5xx, protocol error, I/O).
    #[error("{0}")]
    Other(String),
}

/// One remote tier's storage operations (blocking; called from the
/// daemon's blocking pool and its background writer, never from the event
/// loop).
pub(crate) trait Backend: Send + Sync {
    /// The object under `key`, or `None` when absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RemoteError>;
    /// Store `bytes` under `key`, replacing any previous object.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), RemoteError>;
    /// True when an object exists under `key`.
    fn exists(&self, key: &str) -> Result<bool, RemoteError>;
}

/// Open the backend of `spec` (nothing is contacted yet: a tier that is
/// down must not stop the daemon from starting).
///
/// Errors: [`RemoteError::Other`] when the specification cannot be turned
/// into a client (e.g. a bad endpoint).
pub(crate) fn open(spec: &TierSpec) -> Result<Box<dyn Backend>, RemoteError> {
    let _ = spec;
    Err(RemoteError::Other(
        "remote backends are not implemented yet".into(),
    ))
}
