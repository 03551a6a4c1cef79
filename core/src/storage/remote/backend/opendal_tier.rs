//! A tier served by an opendal [`Operator`] (S3, memcached): read, write
//! and stat of `<key>` below the operator's root, with the operation
//! timeout, an optional object size limit, and a diagnosis of timeouts for
//! services whose connection pool hides connection failures.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use opendal::{ErrorKind, Operator};

use super::{classify, Backend, RemoteError};
use crate::net_runtime as runtime;

/// One opendal-backed server.
pub(super) struct OpendalTier {
    /// The service.
    pub(super) operator: Operator,
    /// Timeout of one operation.
    pub(super) timeout: Duration,
    /// Objects larger than this are refused with [`RemoteError::TooLarge`]
    /// (memcached's item limit), in bytes.
    pub(super) max_object_size: Option<usize>,
    /// `host:port` to try when an operation times out, with the connect
    /// timeout: a refused connection turns the timeout into
    /// [`RemoteError::Connect`] (memcached: opendal's pool keeps retrying
    /// connections in the background and never reports why).
    pub(super) probe: Option<(String, Duration)>,
}

impl OpendalTier {
    /// Run `operation` with the timeout; diagnose a timeout with the probe.
    fn run<T>(
        &self,
        operation: impl std::future::Future<Output = Result<T, RemoteError>>,
    ) -> Result<T, RemoteError> {
        match runtime::run(self.timeout, operation) {
            Err(RemoteError::Timeout) => Err(self.diagnose_timeout()),
            other => other,
        }
    }

    /// [`RemoteError::Connect`] when the probe address refuses connections,
    /// else [`RemoteError::Timeout`].
    fn diagnose_timeout(&self) -> RemoteError {
        let Some((address, connect_timeout)) = &self.probe else {
            return RemoteError::Timeout;
        };
        let addresses = match address.to_socket_addrs() {
            Ok(addresses) => addresses.collect::<Vec<_>>(),
            Err(e) => return RemoteError::Connect(format!("{address}: {e}")),
        };
        let mut last_error = None;
        for socket in &addresses {
            match TcpStream::connect_timeout(socket, *connect_timeout) {
                Ok(_) => return RemoteError::Timeout,
                Err(e) => last_error = Some(e),
            }
        }
        match last_error {
            Some(e) if classify::is_connection_kind(e.kind()) => {
                RemoteError::Connect(format!("{address}: {e}"))
            }
            _ => RemoteError::Timeout,
        }
    }
}

impl Backend for OpendalTier {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        self.run(async {
            match self.operator.read(key).await {
                Ok(buffer) => Ok(Some(buffer.to_vec())),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(classify::from_opendal(&e)),
            }
        })
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), RemoteError> {
        if let Some(limit) = self.max_object_size.filter(|&limit| bytes.len() > limit) {
            return Err(RemoteError::TooLarge {
                size: bytes.len(),
                limit,
            });
        }
        let body = bytes.to_vec();
        self.run(async {
            match self.operator.write(key, body).await {
                Ok(_) => Ok(()),
                Err(e) => Err(classify::from_opendal(&e)),
            }
        })
    }

    fn exists(&self, key: &str) -> Result<bool, RemoteError> {
        self.run(async {
            match self.operator.stat(key).await {
                Ok(_) => Ok(true),
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
                Err(e) => Err(classify::from_opendal(&e)),
            }
        })
    }
}
