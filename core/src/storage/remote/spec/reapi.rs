//! The attributes of a REAPI tier (`grpc://host:port`, `grpcs://…`; Bazel
//! Remote Execution API v2): the instance name, request headers (for
//! authentication, e.g. BuildBuddy's `x-buildbuddy-api-key`) and platform
//! properties. Headers and properties may be given several times:
//! `grpc://127.0.0.1:8980|instance=main|header=x-api-key:SECRET|property=OSFamily=linux`.
//! `execute` (or `execute=true`) also runs C/C++ misses on the cluster
//! (REAPI v2, Execution), at most `jobs=N` at a time (default
//! [`DEFAULT_JOBS`]), each given `execute-timeout=MS` (default
//! [`DEFAULT_EXECUTE_TIMEOUT`]).

use std::time::Duration;

/// Default number of remote executions at a time.
pub(crate) const DEFAULT_JOBS: usize = 16;
/// Default time one remote execution may take, queueing included.
pub(crate) const DEFAULT_EXECUTE_TIMEOUT: Duration = Duration::from_secs(300);

/// The REAPI settings of a tier (empty for other schemes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReapiOptions {
    /// The instance name sent with every request (REAPI v2,
    /// `instance_name`); empty is the server's default instance.
    pub(crate) instance: String,
    /// Request headers (gRPC metadata), name (lower case ASCII) and value;
    /// values are secrets and never printed.
    pub(crate) headers: Vec<(String, String)>,
    /// Platform properties of the actions (REAPI v2, `Platform`), name
    /// and value, in the order given.
    pub(crate) properties: Vec<(String, String)>,
    /// Misses run on the cluster (`execute`), not only cached there.
    pub(crate) execute: bool,
    /// Remote executions at a time (`jobs=N`), independent of local cores.
    pub(crate) jobs: usize,
    /// Time one remote execution may take (`execute-timeout=MS`).
    pub(crate) execute_timeout: Duration,
}

impl Default for ReapiOptions {
    fn default() -> ReapiOptions {
        ReapiOptions {
            instance: String::new(),
            headers: Vec::new(),
            properties: Vec::new(),
            execute: false,
            jobs: DEFAULT_JOBS,
            execute_timeout: DEFAULT_EXECUTE_TIMEOUT,
        }
    }
}

/// True for the REAPI attributes (only `grpc://` and `grpcs://` tiers take
/// them).
pub(super) fn is_reapi_attribute(key: &str) -> bool {
    matches!(
        key,
        "instance" | "header" | "property" | "execute" | "jobs" | "execute-timeout"
    )
}

/// True for the attributes that may be given more than once.
pub(super) fn repeatable(key: &str) -> bool {
    matches!(key, "header" | "property")
}

/// Apply the REAPI attribute `key` (with its decoded `value`) to `options`;
/// `None` when `key` is not a REAPI attribute.
///
/// Errors: a message when the value is missing or malformed (a header
/// name that is not lower-case ASCII letters, digits, `-`, `_` or `.`, a
/// header value with a control character, a property without `=`).
pub(super) fn apply(
    options: &mut ReapiOptions,
    key: &str,
    value: Option<String>,
) -> Option<Result<(), String>> {
    let value = value.filter(|v| !v.is_empty());
    Some(match key {
        "instance" => value
            .map(|v| options.instance = v)
            .ok_or_else(|| "needs a value (instance=NAME)".to_string()),
        "header" => parse_header(value).map(|h| options.headers.push(h)),
        "property" => parse_property(value).map(|p| options.properties.push(p)),
        "execute" => super::parse_flag(value.as_deref()).map(|f| options.execute = f),
        "jobs" => match value.as_deref().map(str::parse::<usize>) {
            Some(Ok(n)) if n > 0 => {
                options.jobs = n;
                Ok(())
            }
            _ => Err(format!(
                "expected a positive number, got {:?}",
                value.unwrap_or_default()
            )),
        },
        "execute-timeout" => {
            super::parse_millis(value.as_deref()).map(|t| options.execute_timeout = t)
        }
        _ => return None,
    })
}

/// `name:value` of a `header=` attribute.
fn parse_header(value: Option<String>) -> Result<(String, String), String> {
    let text = value.ok_or("needs a value (header=NAME:VALUE)")?;
    let (name, value) = text
        .split_once(':')
        .ok_or("expected NAME:VALUE (e.g. header=x-api-key:SECRET)")?;
    let name = name.trim().to_ascii_lowercase();
    let good_name = !name.is_empty()
        && !name.ends_with("-bin")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !good_name {
        return Err(format!("bad header name {name:?}"));
    }
    let value = value.trim();
    if value.bytes().any(|b| !(0x20..0x7f).contains(&b)) {
        return Err(format!("header {name}: value must be printable ASCII"));
    }
    Ok((name, value.to_string()))
}

/// `name=value` of a `property=` attribute.
fn parse_property(value: Option<String>) -> Result<(String, String), String> {
    let text = value.ok_or("needs a value (property=NAME=VALUE)")?;
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!("expected NAME=VALUE, got {text:?}")),
    }
}

/// The attributes of `options` as they could be configured again, header
/// values replaced by `***`.
pub(super) fn redacted_attributes(options: &ReapiOptions) -> Vec<String> {
    let mut out = Vec::new();
    if !options.instance.is_empty() {
        out.push(format!("instance={}", options.instance));
    }
    for (name, _) in &options.headers {
        out.push(format!("header={name}:***"));
    }
    for (name, value) in &options.properties {
        out.push(format!("property={name}={value}"));
    }
    if options.execute {
        out.push("execute".into());
    }
    if options.jobs != DEFAULT_JOBS {
        out.push(format!("jobs={}", options.jobs));
    }
    if options.execute_timeout != DEFAULT_EXECUTE_TIMEOUT {
        out.push(format!(
            "execute-timeout={}",
            options.execute_timeout.as_millis()
        ));
    }
    out
}

/// One `header=` attribute as written, with its value replaced by `***`;
/// `None` for any other attribute.
pub(super) fn redact_header(attr: &str) -> Option<String> {
    let (key, value) = attr.split_once('=')?;
    if key.trim() != "header" {
        return None;
    }
    let name = value.split_once(':').map_or(value, |(n, _)| n);
    Some(format!("header={}:***", name.trim()))
}
