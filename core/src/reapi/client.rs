//! The connection to a REAPI server (Bazel Remote Execution API v2): one
//! lazily connected tonic channel (`grpc://` plain HTTP/2, `grpcs://` TLS
//! with the system's roots), the configured headers added to every call,
//! and gRPC statuses turned into [`ReapiError`] kinds.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bazel_remote_apis::build::bazel::remote::execution::v2::action_cache_client::ActionCacheClient;
use bazel_remote_apis::build::bazel::remote::execution::v2::content_addressable_storage_client::ContentAddressableStorageClient;
use bazel_remote_apis::build::bazel::remote::execution::v2::execution_client::ExecutionClient;
use bazel_remote_apis::google::bytestream::byte_stream_client::ByteStreamClient;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Status};

use super::ReapiError;

/// The largest message the clients accept, in bytes (REAPI servers send
/// batches up to their `max_batch_total_size_bytes`, often 4 MiB; bigger
/// blobs go through ByteStream in chunks).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The configured request headers, added to every call (REAPI servers
/// take API keys this way, e.g. `x-buildbuddy-api-key`).
#[derive(Clone)]
pub(crate) struct Headers(Arc<Vec<(AsciiMetadataKey, AsciiMetadataValue)>>);

impl tonic::service::Interceptor for Headers {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        for (name, value) in self.0.iter() {
            request.metadata_mut().insert(name.clone(), value.clone());
        }
        Ok(request)
    }
}

/// A channel with the headers applied.
pub(crate) type Service = InterceptedService<Channel, Headers>;

/// The connection settings of one REAPI server and its channel, created
/// on first use (inside the backend runtime, which the channel's
/// background task needs).
pub(crate) struct Connection {
    endpoint: Endpoint,
    headers: Headers,
    channel: OnceLock<Channel>,
}

impl Connection {
    /// The connection to `url` (`grpc://host:port`, or `grpcs://…` for TLS)
    /// with the settings of `settings`; nothing is contacted yet.
    ///
    /// Errors: [`ReapiError::Other`] for a URL or header tonic rejects, or
    /// a TLS setup failure.
    pub(crate) fn open(url: &str, settings: &Settings) -> Result<Connection, ReapiError> {
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let tls = scheme.eq_ignore_ascii_case("grpcs");
        let http = match tls {
            true => format!("https://{rest}"),
            false => format!("http://{rest}"),
        };
        let other = |e: &dyn std::fmt::Display| ReapiError::Other(format!("{url}: {e}"));
        let mut endpoint = Endpoint::from_shared(http)
            .map_err(|e| other(&e))?
            .connect_timeout(settings.connect_timeout)
            .tcp_nodelay(true);
        if tls {
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().with_native_roots())
                .map_err(|e| other(&e))?;
        }
        Ok(Connection {
            endpoint,
            headers: headers(&settings.headers)?,
            channel: OnceLock::new(),
        })
    }

    /// The channel with the headers applied (must run on the backend
    /// runtime: the first call spawns the channel's task).
    fn service(&self) -> Service {
        let channel = self
            .channel
            .get_or_init(|| self.endpoint.connect_lazy())
            .clone();
        InterceptedService::new(channel, self.headers.clone())
    }

    /// An ActionCache client.
    pub(crate) fn action_cache(&self) -> ActionCacheClient<Service> {
        ActionCacheClient::new(self.service()).max_decoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// A ContentAddressableStorage client.
    pub(crate) fn cas(&self) -> ContentAddressableStorageClient<Service> {
        ContentAddressableStorageClient::new(self.service())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// An Execution client.
    pub(crate) fn execution(&self) -> ExecutionClient<Service> {
        ExecutionClient::new(self.service()).max_decoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// A ByteStream client.
    pub(crate) fn byte_stream(&self) -> ByteStreamClient<Service> {
        ByteStreamClient::new(self.service()).max_decoding_message_size(MAX_MESSAGE_BYTES)
    }
}

/// The headers as gRPC metadata.
///
/// Errors: [`ReapiError::Other`] naming a header tonic rejects (the
/// configuration parser already checked them).
fn headers(headers: &[(String, String)]) -> Result<Headers, ReapiError> {
    let mut out = Vec::new();
    for (name, value) in headers {
        let key = name
            .parse::<AsciiMetadataKey>()
            .map_err(|e| ReapiError::Other(format!("header {name}: {e}")))?;
        let value = value
            .parse::<AsciiMetadataValue>()
            .map_err(|e| ReapiError::Other(format!("header {name}: {e}")))?;
        out.push((key, value));
    }
    Ok(Headers(Arc::new(out)))
}

/// The [`ReapiError`] of a gRPC status (`NOT_FOUND` is handled by the
/// callers as a miss before this). `UNAVAILABLE` is what tonic reports
/// for a refused or broken connection; `RESOURCE_EXHAUSTED` (a quota) is
/// the server's refusal, not an outage.
pub(crate) fn from_status(status: &Status) -> ReapiError {
    let text = || format!("{}: {}", code_name(status.code()), status.message());
    match status.code() {
        Code::DeadlineExceeded => ReapiError::Timeout,
        Code::Unavailable => ReapiError::Connect(text()),
        Code::Unauthenticated | Code::PermissionDenied => ReapiError::Denied(text()),
        _ if status.message().contains("timed out") => ReapiError::Timeout,
        _ => ReapiError::Other(text()),
    }
}

/// The gRPC name of `code` (e.g. `UNAVAILABLE`).
fn code_name(code: Code) -> String {
    format!("{code:?}")
        .chars()
        .flat_map(|c| {
            let upper = c.to_ascii_uppercase();
            let sep = c.is_ascii_uppercase().then_some('_');
            sep.into_iter().chain(std::iter::once(upper))
        })
        .collect::<String>()
        .trim_start_matches('_')
        .to_string()
}

/// How to reach a server: its connect timeout and request headers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    /// Timeout of establishing the connection.
    pub(crate) connect_timeout: Duration,
    /// Request headers (gRPC metadata): lower-case name, value.
    pub(crate) headers: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_kinds() {
        assert!(matches!(
            from_status(&Status::unavailable("refused")),
            ReapiError::Connect(_)
        ));
        assert!(matches!(
            from_status(&Status::deadline_exceeded("late")),
            ReapiError::Timeout
        ));
        assert!(matches!(
            from_status(&Status::permission_denied("no")),
            ReapiError::Denied(_)
        ));
        let quota = from_status(&Status::resource_exhausted("quota")).to_string();
        assert_eq!(quota, "RESOURCE_EXHAUSTED: quota");
    }
}
