//! The network side of a remote tier: get, put and exists of whole objects
//! by key, with connect and operation timeouts, shards, and error kinds the
//! circuit breaker and the stats understand.
//!
//! One client per scheme:
//! - `redis://`, `rediss://`, `redis+unix://`: the `redis` crate directly
//!   ([`redis_tier`]; opendal's Redis service hides connection and AUTH
//!   failures behind its connection pool, which retries them silently);
//! - `http://`, `https://`: plain GET/PUT/HEAD with `reqwest`
//!   ([`http_tier`]; works with nginx WebDAV, bazel-remote and any plain
//!   HTTP cache server);
//! - `s3://`: opendal's S3 service ([`s3_tier`]);
//! - `memcached://`: opendal's Memcached service ([`memcached_tier`]);
//! - `grpc://`, `grpcs://`: a REAPI server's ActionCache and CAS through
//!   tonic and the `bazel-remote-apis` protos ([`reapi_tier`]).
//!
//! All operations run on the private tokio runtime of
//! [`crate::net_runtime`] through `block_on`: callers must be plain threads or tokio's `spawn_blocking`
//! pool, never a tokio worker thread.

mod classify;
mod http_auth;
mod http_tier;
mod keys;
mod memcached_tier;
mod opendal_tier;
mod reapi_object;
mod reapi_tier;
mod redis_tier;
mod s3_tier;
mod sharded;
#[cfg(test)]
mod tests;

use super::spec::{Scheme, TierSpec};

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
    /// The object is larger than the tier stores (memcached's item size
    /// limit); sizes in bytes. Not the server's fault: it never opens the
    /// breaker.
    #[error("object of {size} bytes is over the tier's limit of {limit} bytes")]
    TooLarge {
        /// The framed object's size, in bytes.
        size: usize,
        /// The tier's limit, in bytes.
        limit: usize,
    },
}

/// One remote tier's storage operations (blocking; called from the
/// daemon's blocking pool and its background writer, never from the event
/// loop or any other tokio worker thread).
///
/// Keys are relative names such as `e/<hex>` (entry record), `m/<hex>`
/// (manifest) and `b/<hex>` (blob); a backend may map them to its own
/// layout (bazel-remote's `ac/`).
pub(crate) trait Backend: Send + Sync {
    /// The object under `key`, or `None` when absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RemoteError>;
    /// Store `bytes` under `key`, replacing any previous object.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), RemoteError>;
    /// True when an object exists under `key`.
    fn exists(&self, key: &str) -> Result<bool, RemoteError>;
}

/// Open the backend of `spec` (nothing is contacted yet: a tier that is
/// down must not stop the daemon from starting). A spec with several
/// shards opens one client per shard and routes each key with
/// [`super::shards::pick`].
///
/// Errors: [`RemoteError::Other`] when the specification cannot be turned
/// into a client (e.g. a bad endpoint).
pub(crate) fn open(spec: &TierSpec) -> Result<Box<dyn Backend>, RemoteError> {
    if spec.shards.len() <= 1 {
        let url = spec.shards.first().map_or(spec.url.as_str(), |s| &s.url);
        return open_one(spec, url);
    }
    let backends = spec
        .shards
        .iter()
        .map(|shard| open_one(spec, &shard.url))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Box::new(sharded::Sharded::new(
        spec.shards.clone(),
        backends,
    )))
}

/// The client of one server (`url`: the tier URL or one shard's URL) with
/// the settings of `spec`.
fn open_one(spec: &TierSpec, url: &str) -> Result<Box<dyn Backend>, RemoteError> {
    Ok(match spec.scheme {
        Scheme::Redis | Scheme::Rediss | Scheme::RedisUnix => {
            Box::new(redis_tier::RedisTier::open(url, spec)?)
        }
        Scheme::Http | Scheme::Https => Box::new(http_tier::HttpTier::open(url, spec)?),
        Scheme::S3 => Box::new(s3_tier::open(url, spec)?),
        Scheme::Memcached => Box::new(memcached_tier::open(url, spec)?),
        Scheme::Grpc | Scheme::Grpcs => Box::new(reapi_tier::ReapiTier::open(url, spec)?),
    })
}

impl From<crate::net_runtime::NetFailure> for RemoteError {
    fn from(failure: crate::net_runtime::NetFailure) -> RemoteError {
        match failure {
            crate::net_runtime::NetFailure::TimedOut => RemoteError::Timeout,
            crate::net_runtime::NetFailure::NoRuntime(m) => RemoteError::Other(m),
        }
    }
}
