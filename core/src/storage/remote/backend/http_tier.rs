//! An HTTP tier: plain GET (read), PUT (write) and HEAD (exists) of
//! `<url>/<path>`, as ccache's HTTP storage does. Works with nginx's WebDAV
//! module (`dav_methods PUT; create_full_put_path on;`), bazel-remote
//! (`layout=bazel`) and any server that stores what is PUT.

use std::time::Duration;

use reqwest::{Client, StatusCode, Url};

use super::super::spec::{HttpLayout, TierSpec};
use super::http_auth::HttpAuth;
use super::{classify, keys, Backend, RemoteError};
use crate::net_runtime as runtime;

/// The client of one HTTP server.
pub(super) struct HttpTier {
    /// The shared connection pool (connect and request timeouts set).
    client: Client,
    /// The tier URL without user info, ending in `/`.
    base: Url,
    /// Credentials.
    auth: HttpAuth,
    /// Key layout.
    layout: HttpLayout,
    /// Timeout of one operation.
    timeout: Duration,
}

impl HttpTier {
    /// The client of the server at `url` with the settings of `spec`.
    ///
    /// Errors: [`RemoteError::Other`] for a URL that does not parse or a
    /// client that cannot be built (TLS set-up).
    pub(super) fn open(url: &str, spec: &TierSpec) -> Result<HttpTier, RemoteError> {
        let mut base =
            Url::parse(url).map_err(|e| RemoteError::Other(format!("bad HTTP URL: {e}")))?;
        let auth = HttpAuth::take_from(&mut base, spec.bearer_token.as_deref());
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let client = http_client(spec.connect_timeout, spec.timeout)?;
        Ok(HttpTier {
            client,
            base,
            auth,
            layout: spec.layout,
            timeout: spec.timeout,
        })
    }

    /// The URL of `key`.
    fn url(&self, key: &str) -> Result<Url, RemoteError> {
        self.base
            .join(&keys::http_path(self.layout, key))
            .map_err(|e| RemoteError::Other(format!("bad key {key:?}: {e}")))
    }
}

/// A reqwest client with our timeouts (shared by the HTTP and S3 tiers).
///
/// Errors: [`RemoteError::Other`] when the client cannot be built.
pub(super) fn http_client(connect: Duration, request: Duration) -> Result<Client, RemoteError> {
    Client::builder()
        .connect_timeout(connect)
        .timeout(request)
        .user_agent(concat!("zccache/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| RemoteError::Other(format!("HTTP client: {e}")))
}

/// The error of an unexpected HTTP status.
fn status_error(status: StatusCode) -> RemoteError {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            RemoteError::Denied(format!("HTTP {status}"))
        }
        _ => RemoteError::Other(format!("HTTP {status}")),
    }
}

impl Backend for HttpTier {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        let url = self.url(key)?;
        runtime::run(self.timeout, async {
            let request = self.auth.apply(self.client.get(url));
            let response = request
                .send()
                .await
                .map_err(|e| classify::from_reqwest(&e))?;
            match response.status() {
                status if status.is_success() => {
                    let body = response.bytes().await;
                    Ok(Some(body.map_err(|e| classify::from_reqwest(&e))?.to_vec()))
                }
                StatusCode::NOT_FOUND => Ok(None),
                status => Err(status_error(status)),
            }
        })
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), RemoteError> {
        let url = self.url(key)?;
        let body = bytes.to_vec();
        runtime::run(self.timeout, async {
            let request = self.auth.apply(self.client.put(url).body(body));
            let response = request
                .send()
                .await
                .map_err(|e| classify::from_reqwest(&e))?;
            match response.status() {
                status if status.is_success() => Ok(()),
                status => Err(status_error(status)),
            }
        })
    }

    fn exists(&self, key: &str) -> Result<bool, RemoteError> {
        let url = self.url(key)?;
        runtime::run(self.timeout, async {
            let request = self.auth.apply(self.client.head(url));
            let response = request
                .send()
                .await
                .map_err(|e| classify::from_reqwest(&e))?;
            match response.status() {
                status if status.is_success() => Ok(true),
                StatusCode::NOT_FOUND => Ok(false),
                status => Err(status_error(status)),
            }
        })
    }
}
