//! A client of the Bazel Remote Execution API v2 (REAPI): the connection
//! to a server ([`client`]: tonic over the `bazel-remote-apis` protos,
//! headers, TLS), its CAS ([`cas`]: digests, `FindMissingBlobs`, batch and
//! ByteStream transfers, every blob checked against its digest) and
//! remote execution ([`execute`]: input roots as Merkle trees, `Execute`,
//! outputs downloaded). The remote tier `grpc://` (storage) and the REAPI
//! executor of the C pipeline both build on it; it knows nothing about
//! cache keys or compilers.

pub(crate) mod cas;
pub(crate) mod client;
pub(crate) mod execute;
pub(crate) mod input_root;

/// What went wrong talking to a REAPI server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ReapiError {
    /// The call did not finish within its timeout (`DEADLINE_EXCEEDED`
    /// or our own).
    #[error("timed out")]
    Timeout,
    /// The server could not be reached or the connection broke
    /// (`UNAVAILABLE`).
    #[error("connection failed: {0}")]
    Connect(String),
    /// The server refused our credentials (`UNAUTHENTICATED`,
    /// `PERMISSION_DENIED`).
    #[error("access denied: {0}")]
    Denied(String),
    /// Anything else: another status (a quota's `RESOURCE_EXHAUSTED`,
    /// `INTERNAL`, …), a malformed reply, a blob not matching its digest.
    #[error("{0}")]
    Other(String),
}

impl ReapiError {
    /// True when the error says the server is away (unreachable or not
    /// answering in time): what opens a circuit breaker.
    pub(crate) fn is_outage(&self) -> bool {
        matches!(self, ReapiError::Timeout | ReapiError::Connect(_))
    }
}

impl From<crate::net_runtime::NetFailure> for ReapiError {
    fn from(failure: crate::net_runtime::NetFailure) -> ReapiError {
        match failure {
            crate::net_runtime::NetFailure::TimedOut => ReapiError::Timeout,
            crate::net_runtime::NetFailure::NoRuntime(m) => ReapiError::Other(m),
        }
    }
}
