//! A Redis tier: GET, SET and EXISTS over one multiplexed connection
//! (`redis://[user:pass@]host:port[/db]`, `rediss://` for TLS,
//! `redis+unix:///path`), opened on first use and again after it broke.
//!
//! The `redis` crate is used directly rather than opendal's Redis service:
//! that one's connection pool retries a refused connection or a rejected
//! password in the background until its own 30 s timeout, so every failure
//! would look like a timeout.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, AsyncConnectionConfig, Client, RedisError};
use tokio::sync::Mutex;

use super::super::spec::TierSpec;
use super::{Backend, RemoteError};
use crate::net_runtime as runtime;

/// The client of one Redis server.
pub(super) struct RedisTier {
    /// The parsed URL (address, credentials, database).
    client: Client,
    /// Connect and response timeouts.
    config: AsyncConnectionConfig,
    /// The open connection, if any (cloned for each operation).
    connection: Mutex<Option<MultiplexedConnection>>,
    /// Timeout of one operation (connecting included).
    timeout: Duration,
}

impl RedisTier {
    /// The client of the server at `url` with the timeouts of `spec`.
    ///
    /// Errors: [`RemoteError::Other`] for a URL the `redis` crate rejects.
    pub(super) fn open(url: &str, spec: &TierSpec) -> Result<RedisTier, RemoteError> {
        let client = Client::open(url).map_err(|e| RemoteError::Other(e.to_string()))?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(spec.connect_timeout)
            .set_response_timeout(spec.timeout);
        Ok(RedisTier {
            client,
            config,
            connection: Mutex::new(None),
            timeout: spec.timeout,
        })
    }

    /// The open connection, connecting first when there is none.
    async fn connection(&self) -> Result<MultiplexedConnection, RemoteError> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await
            .map_err(|e| from_redis(&e))?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Forget the connection after `err` when it says the connection is
    /// unusable, and convert `err`.
    async fn failed(&self, err: RedisError) -> RemoteError {
        if err.is_io_error() || err.is_connection_dropped() || err.is_timeout() {
            *self.connection.lock().await = None;
        }
        from_redis(&err)
    }
}

/// The [`RemoteError`] of a Redis error.
fn from_redis(err: &RedisError) -> RemoteError {
    let code = err.code().unwrap_or("");
    if err.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(code, "NOAUTH" | "WRONGPASS" | "NOPERM")
    {
        RemoteError::Denied(err.to_string())
    } else if err.is_timeout() {
        RemoteError::Timeout
    } else if err.is_connection_refusal() || err.is_connection_dropped() || err.is_io_error() {
        RemoteError::Connect(err.to_string())
    } else {
        RemoteError::Other(err.to_string())
    }
}

impl Backend for RedisTier {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        runtime::run(self.timeout, async {
            let mut connection = self.connection().await?;
            match connection.get::<_, Option<Vec<u8>>>(key).await {
                Ok(value) => Ok(value),
                Err(err) => Err(self.failed(err).await),
            }
        })
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), RemoteError> {
        runtime::run(self.timeout, async {
            let mut connection = self.connection().await?;
            match connection.set::<_, _, ()>(key, bytes).await {
                Ok(()) => Ok(()),
                Err(err) => Err(self.failed(err).await),
            }
        })
    }

    fn exists(&self, key: &str) -> Result<bool, RemoteError> {
        runtime::run(self.timeout, async {
            let mut connection = self.connection().await?;
            match connection.exists::<_, bool>(key).await {
                Ok(found) => Ok(found),
                Err(err) => Err(self.failed(err).await),
            }
        })
    }
}
