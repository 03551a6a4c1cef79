//! The REAPI setting (`ZCCACHE_REAPI`, TOML `reapi`): one REAPI server in
//! the remote tier syntax (`grpc://host:port|instance=…|header=…|execute`,
//! see [`crate::storage::remote::spec`]), or in TOML a `[reapi]` table:
//!
//! ```toml
//! [reapi]
//! url = "grpcs://remote.example.com:443"
//! instance = "main"
//! execute = true
//! jobs = 32
//! timeout_ms = 5000
//! connect_timeout_ms = 1000
//! execute_timeout_ms = 600000
//! read_only = false
//! headers = { x-buildbuddy-api-key = "SECRET" }
//! platform = { OSFamily = "linux", container-image = "docker://gcc:12" }
//! ```
//!
//! Either way the value is kept as the tier string (checked at load), so
//! it is shown, redacted, and parsed like any other tier.

use super::{bad, ConfigError, Source};
use crate::storage::remote::spec;

/// The tier string of TOML `reapi`: a string as written, or the table
/// turned into one.
///
/// Errors: [`ConfigError::InvalidValue`] naming `reapi` for another type,
/// an unknown or mistyped table key, a missing `url`, or a tier that does
/// not parse or is not `grpc://`/`grpcs://`.
pub(super) fn reapi_from_file(value: toml::Value, src: &Source) -> Result<String, ConfigError> {
    let text = match value {
        toml::Value::String(s) => s,
        toml::Value::Table(table) => tier_text(table).map_err(|m| bad("reapi", src, m))?,
        other => {
            return Err(bad(
                "reapi",
                src,
                format!("expected a string or a table, got {other}"),
            ))
        }
    };
    checked(&text, "reapi", src)
}

/// `text` when it is one valid `grpc://`/`grpcs://` tier.
///
/// Errors: [`ConfigError::InvalidValue`] naming `key`.
pub(super) fn checked(text: &str, key: &str, src: &Source) -> Result<String, ConfigError> {
    let tier = spec::parse_one(text).map_err(|e| bad(key, src, e.to_string()))?;
    if !tier.scheme.is_grpc() {
        return Err(bad(
            key,
            src,
            format!(
                "{}: expected a grpc:// or grpcs:// URL",
                spec::redact_tier(text)
            ),
        ));
    }
    Ok(text.trim().to_string())
}

/// The tier string of a `[reapi]` table.
///
/// Errors: a message naming the bad key.
fn tier_text(table: toml::Table) -> Result<String, String> {
    let mut url = None;
    let mut attrs: Vec<String> = Vec::new();
    for (key, value) in table {
        match (key.as_str(), value) {
            ("url", toml::Value::String(s)) => url = Some(s),
            ("instance", toml::Value::String(s)) => attrs.push(format!("instance={}", enc(&s))),
            ("execute" | "read_only", toml::Value::Boolean(b)) => {
                attrs.push(format!("{}={b}", key.replace('_', "-")))
            }
            (
                "jobs" | "timeout_ms" | "connect_timeout_ms" | "execute_timeout_ms",
                toml::Value::Integer(n),
            ) => {
                let name = key.trim_end_matches("_ms").replace('_', "-");
                attrs.push(format!("{name}={n}"));
            }
            ("headers", toml::Value::Table(t)) => {
                for (name, value) in pairs(t, "headers")? {
                    attrs.push(format!("header={}:{}", enc(&name), enc(&value)));
                }
            }
            ("platform", toml::Value::Table(t)) => {
                for (name, value) in pairs(t, "platform")? {
                    attrs.push(format!("property={}={}", enc(&name), enc(&value)));
                }
            }
            (key, value) => return Err(format!("unknown key or bad value: {key} = {value}")),
        }
    }
    let url = url.ok_or("the [reapi] table needs url = \"grpc://host:port\"")?;
    Ok(std::iter::once(url)
        .chain(attrs)
        .collect::<Vec<_>>()
        .join("|"))
}

/// The string pairs of a sub-table.
///
/// Errors: a message naming `table` and the key whose value is not a
/// string.
fn pairs(t: toml::Table, table: &str) -> Result<Vec<(String, String)>, String> {
    t.into_iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => Ok((k, s)),
            other => Err(format!("{table}.{k}: expected a string, got {other}")),
        })
        .collect()
}

/// Percent-encode the characters the tier syntax reserves (`|`, `%`) and
/// whitespace (ccache's attribute encoding).
fn enc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '%' | ' ' | '\t' | '\n' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}
