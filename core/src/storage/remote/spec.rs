//! Remote tier configuration (`ZCCACHE_REMOTE`, TOML `remote = [...]`): one
//! URL per tier, attributes after `|` as in ccache's `remote_storage`
//! (ccache manual, "Remote storage backends"): e.g.
//! `redis://127.0.0.1:6379|read-only|timeout=500`.
//!
//! Supported URLs:
//! - `redis://[user:pass@]host[:port][/db]`, `rediss://…` (TLS),
//!   `redis+unix:///path/to.sock`;
//! - `http://…`/`https://…` (plain GET/PUT/HEAD, WebDAV; `|layout=bazel`
//!   for bazel-remote's `/ac/`, as ccache's; `|bearer-token=…`, user:pass in
//!   the URL);
//! - `s3://bucket[/prefix]` (`|endpoint=…|region=…`, credentials from the
//!   `AWS_*` variables, never in the URL);
//! - `memcached://[user:pass@]host[:port]`;
//! - `grpc://host:port`, `grpcs://…` (TLS): a REAPI server's ActionCache
//!   and CAS (Bazel Remote Execution API v2), with `|instance=…`,
//!   `|header=NAME:VALUE`, `|property=NAME=VALUE`, and `|execute` to run
//!   misses there (see [`reapi`]).
//!
//! Attributes for all: `read-only` (or `read-only=true|false`),
//! `connect-timeout=MS`, `timeout=MS`, and `shards=NAME[(WEIGHT)],…`: the
//! URL then holds exactly one `*`, replaced by each shard name, and each key
//! goes to one shard by weighted rendezvous hashing (see
//! [`super::shards`]); e.g. `redis://cache-*.example.com|shards=a(3),b,c(1.5)`
//! puts 3/5.5 of the keys on `cache-a`, 1/5.5 on `cache-b` and 1.5/5.5 on
//! `cache-c` (ccache's syntax; the weight is a positive number, default 1).
//! Attribute values may be percent-encoded (`%7C` for a `|`), as in ccache.
//! URLs take no query string or fragment.

mod reapi;

pub(crate) use reapi::ReapiOptions;
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
    /// `grpc://host:port` (a REAPI server, plain HTTP/2).
    Grpc,
    /// `grpcs://host:port` (a REAPI server over TLS).
    Grpcs,
}

impl Scheme {
    /// The scheme as written in a URL (lower case, without `://`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Scheme::Redis => "redis",
            Scheme::Rediss => "rediss",
            Scheme::RedisUnix => "redis+unix",
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::S3 => "s3",
            Scheme::Memcached => "memcached",
            Scheme::Grpc => "grpc",
            Scheme::Grpcs => "grpcs",
        }
    }

    /// True for `http://` and `https://`.
    pub(crate) fn is_http(self) -> bool {
        matches!(self, Scheme::Http | Scheme::Https)
    }

    /// True for `grpc://` and `grpcs://` (REAPI).
    pub(crate) fn is_grpc(self) -> bool {
        matches!(self, Scheme::Grpc | Scheme::Grpcs)
    }
}

/// Key layout on an HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpLayout {
    /// `<url>/<namespace>/<key>` (our own layout).
    Flat,
    /// bazel-remote's action cache, as ccache's `layout=bazel`: every
    /// object under `<url>/ac/<64 hex>` (the blake3 of the key name).
    Bazel,
}

/// One shard of a sharded tier.
///
/// A tier without `shards=` has exactly one shard: its own URL, with an
/// empty `name` and weight 1.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shard {
    /// The shard name from `shards=` (empty when the tier is not sharded).
    pub(crate) name: String,
    /// The URL with the `*` replaced by the shard name.
    pub(crate) url: String,
    /// The shard's weight, a positive finite number (default 1; ccache's
    /// `name(weight)` syntax allows fractions such as `c(1.5)`).
    pub(crate) weight: f64,
}

/// One configured tier.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TierSpec {
    /// The URL as configured (with credentials; never printed, see
    /// [`TierSpec::redacted`]). For a sharded tier, the template with a `*`.
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
    /// HTTP bearer token (never printed: [`TierSpec::redacted`] shows
    /// `bearer-token=***`).
    pub(crate) bearer_token: Option<String>,
    /// S3 endpoint (an S3-compatible server), an `http(s)://` URL.
    pub(crate) endpoint: Option<String>,
    /// S3 region.
    pub(crate) region: Option<String>,
    /// The shards (one entry, the URL itself, when not sharded).
    pub(crate) shards: Vec<Shard>,
    /// REAPI settings (`grpc://`, `grpcs://`; empty otherwise).
    pub(crate) reapi: ReapiOptions,
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
        /// The attribute as written (a `bearer-token` value redacted).
        attribute: String,
        /// What is wrong.
        reason: String,
    },
}

impl TierSpec {
    /// The tier as it could be configured again, with any password in the
    /// URL (or the endpoint) and the bearer token replaced by `***`, and
    /// the attributes that differ from the defaults in a fixed order (for
    /// `zccache config`, logs and stats). E.g.
    /// `redis://u:***@host:6379|read-only|timeout=500`.
    pub(crate) fn redacted(&self) -> String {
        let mut out = redact(&self.url);
        let mut attr = |text: String| {
            out.push('|');
            out.push_str(&text);
        };
        if self.read_only {
            attr("read-only".into());
        }
        if self.connect_timeout != DEFAULT_CONNECT_TIMEOUT {
            attr(format!(
                "connect-timeout={}",
                self.connect_timeout.as_millis()
            ));
        }
        if self.timeout != DEFAULT_TIMEOUT {
            attr(format!("timeout={}", self.timeout.as_millis()));
        }
        if self.layout == HttpLayout::Bazel {
            attr("layout=bazel".into());
        }
        if self.bearer_token.is_some() {
            attr("bearer-token=***".into());
        }
        if let Some(e) = &self.endpoint {
            attr(format!("endpoint={}", redact(e)));
        }
        if let Some(r) = &self.region {
            attr(format!("region={r}"));
        }
        for text in reapi::redacted_attributes(&self.reapi) {
            attr(text);
        }
        if self.is_sharded() {
            let names: Vec<String> = self.shards.iter().map(shard_text).collect();
            attr(format!("shards={}", names.join(",")));
        }
        out
    }

    /// True when the tier has a `shards=` attribute (its URL is a template
    /// with a `*`).
    pub(crate) fn is_sharded(&self) -> bool {
        self.shards.iter().any(|s| !s.name.is_empty())
    }
}

/// A shard as written in `shards=`: `name`, or `name(weight)` when the
/// weight is not 1.
fn shard_text(s: &Shard) -> String {
    if s.weight == 1.0 {
        s.name.clone()
    } else {
        format!("{}({})", s.name, s.weight)
    }
}

impl fmt::Display for TierSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// `url` with the password of its user info replaced by `***` (the whole
/// user info when it has no `:`, as `https://TOKEN@host` carries a secret).
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => format!("{scheme}://***@{host}{path}"),
        },
        None => url.to_string(),
    }
}

/// A tier as written (`URL|attr|…`, possibly invalid) made safe to print:
/// everything between `://` and the last `@` of the URL becomes `***` (a
/// malformed URL may hide a password anywhere before its host) and a
/// `bearer-token` value becomes `***`.
pub(crate) fn redact_raw(text: &str) -> String {
    let mut parts = text.split('|');
    let url = parts.next().unwrap_or("");
    let mut out = match url.split_once("://") {
        Some((scheme, rest)) => match rest.rfind('@') {
            Some(i) => format!("{scheme}://***{}", &rest[i..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    };
    for attr in parts {
        out.push('|');
        out.push_str(&redact_attribute(attr));
    }
    out
}

/// One attribute as written, with a `bearer-token` value replaced by `***`.
fn redact_attribute(attr: &str) -> String {
    if let Some(header) = reapi::redact_header(attr) {
        return header;
    }
    match attr.split_once('=') {
        Some((key, _)) if key.trim() == "bearer-token" => "bearer-token=***".to_string(),
        _ => attr.to_string(),
    }
}

/// A tier as configured, redacted for display: the canonical
/// [`TierSpec::redacted`] form when it parses, else [`redact_raw`].
pub(crate) fn redact_tier(text: &str) -> String {
    parse_one(text)
        .map(|t| t.redacted())
        .unwrap_or_else(|_| redact_raw(text.trim()))
}

/// Parse a whitespace-separated list of tiers (the `ZCCACHE_REMOTE` form);
/// an empty or blank text is no tiers.
///
/// Errors: the first [`SpecError`].
#[cfg(test)]
pub(crate) fn parse_list(text: &str) -> Result<Vec<TierSpec>, SpecError> {
    text.split_whitespace().map(parse_one).collect()
}

/// Parse one tier: `URL[|attribute[=value]]...` (surrounding whitespace is
/// ignored).
///
/// Errors: [`SpecError::Url`] for an unsupported scheme, a URL that does
/// not parse (bad port, missing host, bucket or socket path, bad redis
/// database, credentials in an `s3://` URL, a query string), a `*` without
/// `shards=` or more than one `*`; [`SpecError::Attribute`] for an unknown
/// or repeated attribute, a bad value (timeout, flag, weight, layout), an
/// attribute of another scheme (`layout`/`bearer-token` off http(s),
/// `endpoint`/`region` off s3) or `shards=` without a `*` in the URL.
pub(crate) fn parse_one(text: &str) -> Result<TierSpec, SpecError> {
    let text = text.trim();
    let tier = redact_raw(text);
    let url_error = |reason: String| SpecError::Url {
        tier: tier.clone(),
        reason,
    };
    let mut parts = text.split('|');
    let url = parts.next().unwrap_or("");
    let scheme = scheme_of(url).map_err(url_error)?;
    let mut spec = TierSpec {
        url: url.to_string(),
        scheme,
        read_only: false,
        connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        timeout: DEFAULT_TIMEOUT,
        layout: HttpLayout::Flat,
        bearer_token: None,
        endpoint: None,
        region: None,
        shards: Vec::new(),
        reapi: ReapiOptions::default(),
    };
    let mut seen: Vec<&str> = Vec::new();
    for attr in parts {
        let attr_error = |reason: String| SpecError::Attribute {
            tier: tier.clone(),
            attribute: redact_attribute(attr),
            reason,
        };
        let (key, value) = match attr.split_once('=') {
            Some((k, v)) => (
                k.trim(),
                Some(percent_decode(v.trim()).map_err(attr_error)?),
            ),
            None => (attr.trim(), None),
        };
        if seen.contains(&key) && !reapi::repeatable(key) {
            return Err(attr_error("given twice".into()));
        }
        seen.push(key);
        apply_attribute(&mut spec, key, value).map_err(attr_error)?;
    }
    expand_shards(&mut spec, &tier)?;
    for shard in &spec.shards {
        check_url(scheme, &shard.url).map_err(url_error)?;
    }
    Ok(spec)
}

/// The scheme of `url`.
///
/// Errors: a message when there is no `scheme://` or it is not supported.
fn scheme_of(url: &str) -> Result<Scheme, String> {
    let Some((scheme, _)) = url.split_once("://") else {
        return Err(if url.is_empty() {
            "empty URL".to_string()
        } else {
            "not a URL (expected scheme://…)".to_string()
        });
    };
    Ok(match scheme.to_ascii_lowercase().as_str() {
        "redis" => Scheme::Redis,
        "rediss" => Scheme::Rediss,
        "redis+unix" => Scheme::RedisUnix,
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        "s3" => Scheme::S3,
        "memcached" => Scheme::Memcached,
        "grpc" => Scheme::Grpc,
        "grpcs" => Scheme::Grpcs,
        other => {
            return Err(format!(
                "unsupported scheme {other:?} (expected redis, rediss, redis+unix, \
                 http, https, s3, memcached, grpc or grpcs)"
            ))
        }
    })
}

/// Set the attribute `key` (with its percent-decoded `value`) on `spec`.
/// `shards=` records the names and weights; [`expand_shards`] fills in
/// the URLs.
///
/// Errors: a message saying what is wrong with the attribute.
fn apply_attribute(spec: &mut TierSpec, key: &str, value: Option<String>) -> Result<(), String> {
    let scheme = spec.scheme;
    if reapi::is_reapi_attribute(key) {
        only_for(scheme.is_grpc(), scheme, "grpc:// and grpcs://")?;
        return reapi::apply(&mut spec.reapi, key, value).unwrap_or(Ok(()));
    }
    match key {
        "read-only" => spec.read_only = parse_flag(value.as_deref())?,
        "connect-timeout" => spec.connect_timeout = parse_millis(value.as_deref())?,
        "timeout" => spec.timeout = parse_millis(value.as_deref())?,
        "shards" => spec.shards = parse_shards(&required(value)?)?,
        "layout" => {
            only_for(scheme.is_http(), scheme, "http:// and https://")?;
            spec.layout = match required(value)?.as_str() {
                "bazel" => HttpLayout::Bazel,
                "flat" => HttpLayout::Flat,
                v => return Err(format!("expected bazel or flat, got {v:?}")),
            };
        }
        "bearer-token" => {
            only_for(scheme.is_http(), scheme, "http:// and https://")?;
            spec.bearer_token = Some(required(value)?);
        }
        "endpoint" => {
            only_for(scheme == Scheme::S3, scheme, "s3://")?;
            let endpoint = required(value)?;
            let ok = url::Url::parse(&endpoint)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            if !ok {
                return Err(format!(
                    "expected an http:// or https:// URL, got {:?}",
                    redact_raw(&endpoint)
                ));
            }
            spec.endpoint = Some(endpoint);
        }
        "region" => {
            only_for(scheme == Scheme::S3, scheme, "s3://")?;
            spec.region = Some(required(value)?);
        }
        "" => return Err("empty attribute".into()),
        _ => {
            return Err(
                "unknown attribute (expected read-only, connect-timeout, timeout, \
                 shards, layout, bearer-token, endpoint, region, instance, header, \
                 property, execute, jobs or execute-timeout)"
                    .into(),
            )
        }
    }
    Ok(())
}

/// Errors: a message when an attribute of the schemes `which` is given to a
/// tier of `scheme` (`applies` false).
fn only_for(applies: bool, scheme: Scheme, which: &str) -> Result<(), String> {
    if applies {
        Ok(())
    } else {
        Err(format!(
            "only for {which} tiers, not {}://",
            scheme.as_str()
        ))
    }
}

/// The value of an attribute that needs one.
///
/// Errors: a message when it is missing or empty.
fn required(value: Option<String>) -> Result<String, String> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err("needs a value (attribute=value)".into()),
    }
}

/// A flag attribute: absent value or `true` is on, `false` is off.
///
/// Errors: a message for any other value.
fn parse_flag(value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => Err(format!("expected true or false, got {v:?}")),
    }
}

/// A positive whole number of milliseconds.
///
/// Errors: a message when the value is missing, not a number, or 0.
fn parse_millis(value: Option<&str>) -> Result<Duration, String> {
    match value.map(str::parse::<u64>) {
        Some(Ok(ms)) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(format!(
            "expected a positive number of milliseconds, got {:?}",
            value.unwrap_or("")
        )),
    }
}

/// `shards=` as in ccache: comma-separated names, each optionally followed
/// by a weight in parentheses (`a(3),b,c(1.5)`); URLs are filled in later.
///
/// Errors: a message for an empty or repeated name or a weight that is not
/// a positive finite number.
fn parse_shards(value: &str) -> Result<Vec<Shard>, String> {
    let mut shards: Vec<Shard> = Vec::new();
    for item in value.split(',').map(str::trim) {
        let (name, weight) = match item.strip_suffix(')').and_then(|s| s.split_once('(')) {
            Some((name, w)) => match w.trim().parse::<f64>() {
                Ok(w) if w.is_finite() && w > 0.0 => (name.trim(), w),
                _ => return Err(format!("shard {item:?}: expected a positive weight")),
            },
            None => (item, 1.0),
        };
        if name.is_empty() || name.contains(['(', ')', '*', '/', '@']) {
            return Err(format!("bad shard name {item:?}"));
        }
        if shards.iter().any(|s| s.name == name) {
            return Err(format!("shard {name:?} given twice"));
        }
        shards.push(Shard {
            name: name.to_string(),
            url: String::new(),
            weight,
        });
    }
    Ok(shards)
}

/// Fill in the shard URLs (the `*` of the URL replaced by each name), or
/// make the single unnamed shard of an unsharded tier.
///
/// Errors: [`SpecError::Url`] for a `*` without `shards=` or more than one
/// `*`; [`SpecError::Attribute`] for `shards=` without a `*`.
fn expand_shards(spec: &mut TierSpec, tier: &str) -> Result<(), SpecError> {
    let stars = spec.url.matches('*').count();
    let url_error = |reason: &str| SpecError::Url {
        tier: tier.to_string(),
        reason: reason.to_string(),
    };
    if stars > 1 {
        return Err(url_error("more than one * in the URL"));
    }
    if spec.shards.is_empty() {
        if stars == 1 {
            return Err(url_error(
                "a * in the URL needs the shards attribute (|shards=a,b,…)",
            ));
        }
        spec.shards.push(Shard {
            name: String::new(),
            url: spec.url.clone(),
            weight: 1.0,
        });
        return Ok(());
    }
    if stars == 0 {
        let names: Vec<String> = spec.shards.iter().map(shard_text).collect();
        return Err(SpecError::Attribute {
            tier: tier.to_string(),
            attribute: format!("shards={}", names.join(",")),
            reason: "needs a * in the URL, replaced by each shard name".into(),
        });
    }
    for shard in &mut spec.shards {
        shard.url = spec.url.replacen('*', &shard.name, 1);
    }
    Ok(())
}

/// Check one concrete URL (a shard's) of a tier of `scheme`.
///
/// Errors: a message saying what is wrong.
fn check_url(scheme: Scheme, text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("not a valid URL: {e}"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("query strings and fragments are not supported".into());
    }
    if url.port() == Some(0) {
        return Err("invalid port number 0".into());
    }
    // The host as written: for http(s) the url crate would read
    // `https:///path` as host `path`, which is not what the user meant.
    let host = if raw_host(text).is_empty() {
        ""
    } else {
        url.host_str().unwrap_or("")
    };
    let path = url.path().trim_start_matches('/');
    match scheme {
        Scheme::RedisUnix if !host.is_empty() || url.port().is_some() => {
            Err("redis+unix:// takes a socket path, not a host (redis+unix:///path/to.sock)".into())
        }
        Scheme::RedisUnix if path.is_empty() => Err("missing socket path".into()),
        Scheme::RedisUnix => Ok(()),
        Scheme::S3 if host.is_empty() => Err("missing bucket (s3://bucket/prefix)".into()),
        _ if host.is_empty() => Err("missing host".into()),
        Scheme::Redis | Scheme::Rediss if !path.is_empty() && path.parse::<u32>().is_err() => {
            Err(format!("bad database {path:?} (expected a number: /0)"))
        }
        Scheme::S3 if !url.username().is_empty() || url.password().is_some() => Err(
            "no credentials in an s3:// URL (they come from AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY)"
                .into(),
        ),
        Scheme::S3 if url.port().is_some() => {
            Err("s3:// takes a bucket, not host:port (use |endpoint=…)".into())
        }
        Scheme::Memcached if !path.is_empty() => Err("memcached:// takes no path".into()),
        Scheme::Grpc | Scheme::Grpcs if !path.is_empty() => Err(format!(
            "{}:// takes host:port, no path (the instance is |instance=NAME)",
            scheme.as_str()
        )),
        Scheme::Grpc | Scheme::Grpcs if !url.username().is_empty() => Err(format!(
            "no credentials in a {}:// URL (use |header=NAME:VALUE)",
            scheme.as_str()
        )),
        _ => Ok(()),
    }
}

/// The host and port of `url` as written: the authority after `://`, up
/// to the path, query or fragment, without the user info.
fn raw_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or("", |(_, rest)| rest);
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

/// Decode `%XX` escapes in an attribute value (ccache's attribute values
/// are percent-encoded, so a value can hold a `|`).
///
/// Errors: a message when an escape is malformed or the result is not
/// UTF-8.
fn percent_decode(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3).unwrap_or("");
            let byte = u8::from_str_radix(hex, 16)
                .ok()
                .filter(|_| hex.len() == 2 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| "bad percent-encoding (expected %XX)".to_string())?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-encoding is not UTF-8".to_string())
}

#[cfg(test)]
mod tests;
