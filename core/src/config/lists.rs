//! The list-valued settings: remote tiers (`ZCCACHE_REMOTE`, TOML
//! `remote`) and base dirs (`ZCCACHE_BASE_DIR`, TOML `base_dir`), each
//! accepted as one string or an array of strings and checked item by item.

use super::{bad, ConfigError, Source};
use crate::storage::remote::spec;
use std::path::PathBuf;

/// The tiers of TOML `remote`: an array of strings (a string may also hold
/// several whitespace-separated tiers, as `ZCCACHE_REMOTE` does).
///
/// Errors: [`ConfigError::InvalidValue`] naming `remote` when the value is
/// not a string or an array of strings, or a tier is malformed.
pub(super) fn remote_from_file(
    value: toml::Value,
    src: &Source,
) -> Result<Vec<String>, ConfigError> {
    let items = strings(value, "remote", src, "an array of strings")?;
    checked_tiers(
        items.iter().flat_map(|s| s.split_whitespace()),
        "remote",
        src,
    )
}

/// The tiers as strings, each checked by [`spec::parse_one`].
///
/// Errors: [`ConfigError::InvalidValue`] naming `key` and the first
/// malformed tier (credentials redacted).
pub(super) fn checked_tiers<'a>(
    tiers: impl Iterator<Item = &'a str>,
    key: &str,
    src: &Source,
) -> Result<Vec<String>, ConfigError> {
    tiers
        .map(|t| {
            spec::parse_one(t)
                .map(|_| t.to_string())
                .map_err(|e| bad(key, src, e.to_string()))
        })
        .collect()
}

/// The base dirs of TOML `base_dir`: a string (`:`-separated, as in
/// `ZCCACHE_BASE_DIR`) or an array of strings.
///
/// Errors: [`ConfigError::InvalidValue`] naming `base_dir` for another
/// type or a relative directory.
pub(super) fn base_dirs_from_file(
    value: toml::Value,
    src: &Source,
) -> Result<Vec<PathBuf>, ConfigError> {
    let texts = strings(value, "base_dir", src, "a string or an array of strings")?;
    let mut dirs = Vec::new();
    for t in texts {
        dirs.extend(base_dirs_from_text(&t, "base_dir", src)?);
    }
    Ok(dirs)
}

/// The base dirs of one `:`-separated text (see [`crate::base_dir::parse_list`]).
///
/// Errors: [`ConfigError::InvalidValue`] naming `key` and the relative dir.
pub(super) fn base_dirs_from_text(
    text: &str,
    key: &str,
    src: &Source,
) -> Result<Vec<PathBuf>, ConfigError> {
    crate::base_dir::parse_list(text).map_err(|m| bad(key, src, m))
}

/// A TOML value that must be a string or an array of strings, as strings.
///
/// Errors: [`ConfigError::InvalidValue`] naming `key`, saying it expected
/// `expected` (or, for an element, an array of strings).
fn strings(
    value: toml::Value,
    key: &str,
    src: &Source,
    expected: &str,
) -> Result<Vec<String>, ConfigError> {
    match value {
        toml::Value::String(s) => Ok(vec![s]),
        toml::Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                toml::Value::String(s) => Ok(s),
                other => Err(bad(
                    key,
                    src,
                    format!("expected an array of strings, got an element {other}"),
                )),
            })
            .collect(),
        other => Err(bad(key, src, format!("expected {expected}, got {other}"))),
    }
}
