//! Remote tier configuration (`ZCCACHE_REMOTE`, TOML `remote = [...]`): one
//! URL per tier, attributes after `|` as in ccache's `remote_storage`
//! (ccache manual, "Remote storage backends"): e.g.
//! `redis://127.0.0.1:6379|read-only|timeout=500`.
//!
//! Supported URLs: `redis://[user:pass@]host:port[/db]`, `rediss://…`,
//! `redis+unix:///path/to.sock`, `http://…`/`https://…` (plain GET/PUT/HEAD,
//! WebDAV; `|layout=bazel` for bazel-remote's `/ac/` + `/cas/`;
//! `|bearer-token=…`, user:pass in the URL), `s3://bucket/prefix`
//! (`|endpoint=…|region=…`, credentials from `AWS_*`), `memcached://host:port`.
//! Attributes for all: `read-only`, `connect-timeout=MS`, `timeout=MS`,
//! `shards=a,b*2` (a `*` in the URL is replaced by each shard name; an
//! optional `*N` weight; rendezvous hashing as in ccache).

use std::fmt;
use std::time::Duration;

/// Default connect timeout (ccache's default is 100 ms; ours is generous
/// enough for a loaded CI runner).
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Default timeout of one operation.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// The storage protocol of a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `redis://` (plain TCP).
    Redis,
    /// `rediss://` (TLS).
    Rediss,
    /// `redis+unix://` (a Unix socket path).
    RedisUnix,
    /// `http://` (GET/PUT/HEAD, e.g. nginx WebDAV).
    Http,
    /// `https://`.
    Https,
    /// `s3://bucket/prefix`.
    S3,
    /// `memcached://host:port`.
    Memcached,
}

/// Key layout on an HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpLayout {
    /// `<url>/<namespace>/<key>` (our own layout).
    Flat,
    /// bazel-remote: records under `<url>/ac/<sha256-like hex>`, blobs under
    /// `<url>/cas/<hex>`.
    Bazel,
}

/// One shard of a sharded tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shard {
    /// The URL with the `*` replaced by the shard name.
    pub(crate) url: String,
    /// The shard's weight (default 1).
    pub(crate) weight: u32,
}

/// One configured tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TierSpec {
    /// The URL as configured (with credentials; never printed, see
    /// [`TierSpec::redacted`]).
    pub(crate) url: String,
    /// Its scheme.
    pub(crate) scheme: Scheme,
    /// Never written.
    pub(crate) read_only: bool,
    /// Connect timeout.
    pub(crate) connect_timeout: Duration,
    /// Timeout of one operation.
    pub(crate) timeout: Duration,
    /// HTTP key layout.
    pub(crate) layout: HttpLayout,
    /// HTTP bearer token.
    pub(crate) bearer_token: Option<String>,
    /// S3 endpoint (an S3-compatible server).
    pub(crate) endpoint: Option<String>,
    /// S3 region.
    pub(crate) region: Option<String>,
    /// The shards (one entry, the URL itself, when not sharded).
    pub(crate) shards: Vec<Shard>,
}

/// Why a tier specification is invalid; the message names the tier (with
/// credentials redacted) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SpecError {
    /// The URL does not parse or has an unsupported scheme.
    #[error("remote tier {tier}: {reason}")]
    Url {
        /// The tier, redacted.
        tier: String,
        /// What is wrong.
        reason: String,
    },
    /// An attribute is unknown or has a bad value.
    #[error("remote tier {tier}: attribute {attribute}: {reason}")]
    Attribute {
        /// The tier, redacted.
        tier: String,
        /// The attribute as written.
        attribute: String,
        /// What is wrong.
        reason: String,
    },
}

impl TierSpec {
    /// The URL with any password, user info secret and bearer token replaced
    /// by `***` (for `zccache config`, logs and stats).
    pub(crate) fn redacted(&self) -> String {
        redact(&self.url)
    }
}

impl fmt::Display for TierSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `url` with the password of its user info replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split(':').next().unwrap_or("");
            if user_info.contains(':') {
                format!("{scheme}://{user}:***@{host}{path}")
            } else {
                format!("{scheme}://***@{host}{path}")
            }
        }
        None => url.to_string(),
    }
}

/// Parse a whitespace-separated list of tiers (the `ZCCACHE_REMOTE` form).
///
/// Errors: the first [`SpecError`].
pub(crate) fn parse_list(text: &str) -> Result<Vec<TierSpec>, SpecError> {
    text.split_whitespace().map(parse_one).collect()
}

/// Parse one tier: `URL[|attribute[=value]]...`.
///
/// Errors: [`SpecError`] naming the tier and the bad part.
pub(crate) fn parse_one(text: &str) -> Result<TierSpec, SpecError> {
    let _ = text;
    unimplemented_parse()
}

fn unimplemented_parse() -> Result<TierSpec, SpecError> {
    Err(SpecError::Url {
        tier: String::new(),
        reason: "remote tiers are not implemented yet".into(),
    })
}
