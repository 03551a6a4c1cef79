//! Effective configuration: defaults, an optional `zccache.toml`, then
//! `ZCCACHE_*` environment variables (env wins), each value remembering where
//! it came from so `zccache config` can show it.
//!
//! The file is `$ZCCACHE_CONFIG`, else `<cache dir>/zccache.toml`, like
//! ccache's `$CCACHE_CONFIGPATH` / `$CCACHE_DIR/ccache.conf`.

use crate::storage::remote::spec::{self, TierSpec};
use lists::{base_dirs_from_file, base_dirs_from_text, checked_tiers, remote_from_file};
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Default size cap: 10 GiB, in bytes.
pub const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024 * 1024;
/// Default daemon idle timeout: 15 minutes, in seconds.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 15 * 60;

/// Where one effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Built-in default.
    Default,
    /// The TOML file at this path.
    File(PathBuf),
    /// This environment variable.
    Env(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Env(v) => write!(f, "env {v}"),
        }
    }
}

/// A configuration value and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    /// The effective value.
    pub value: T,
    /// Where it came from.
    pub source: Source,
}

impl<T> Setting<T> {
    fn default(value: T) -> Self {
        Setting {
            value,
            source: Source::Default,
        }
    }

    fn from(value: T, source: Source) -> Self {
        Setting { value, source }
    }
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Cache root (absolute).
    pub cache_dir: Setting<PathBuf>,
    /// Size cap of the store, in bytes.
    pub max_size: Setting<u64>,
    /// Daemon idle timeout in seconds; 0 means never.
    pub idle_timeout_secs: Setting<u64>,
    /// Mirror zccache's own diagnostics on stderr.
    pub debug: Setting<bool>,
    /// Run compilers directly, never contacting the daemon.
    pub disable: Setting<bool>,
    /// Compiles the daemon runs at once before answering "busy"; 0 means
    /// 4 × the number of cores.
    pub max_jobs: Setting<u64>,
    /// The farm prefix command put in front of the compiler for misses
    /// (`ZCCACHE_PREFIX`, TOML `prefix`; ccache manual, "prefix_command"),
    /// e.g. `distcc`; `None` (or empty) compiles misses locally.
    pub prefix: Setting<Option<String>>,
    /// The share of hits recompiled in the background and compared with
    /// what was served (`ZCCACHE_VERIFY_RATE`, TOML `verify_rate`), a
    /// fraction from 0 (none) to 1 (every hit).
    pub verify_rate: Setting<f64>,
    /// The remote tiers tried in order after the local store
    /// (`ZCCACHE_REMOTE`, whitespace-separated; TOML `remote = [...]`), one
    /// string per tier as configured: `URL[|attribute[=value]]...`, e.g.
    /// `redis://cache.example.com:6379|read-only`. Each was checked at load;
    /// they may hold credentials, so print them redacted. Empty: no tiers.
    pub remote: Setting<Vec<String>>,
    /// A REAPI server (`ZCCACHE_REAPI`, TOML `reapi`; Bazel Remote
    /// Execution API v2): a `grpc://`/`grpcs://` tier string with its
    /// attributes (`|instance=…|header=…|property=…|execute`), tried after
    /// the [`Config::remote`] tiers and, with `execute`, running misses.
    /// Checked at load; print it redacted. `None`: no REAPI server.
    pub reapi: Setting<Option<String>>,
    /// The base dirs (`ZCCACHE_BASE_DIR`, `:`-separated; TOML `base_dir`,
    /// a string or an array of strings; ccache manual, "base_dir"):
    /// absolute directories under which absolute paths in a compile are
    /// rewritten relative to its working directory, so checkouts at
    /// different paths share entries. Empty: none.
    pub base_dir: Setting<Vec<PathBuf>>,
    /// `cargo zccache` remaps the workspace root and `CARGO_HOME` in every
    /// rustc run (`ZCCACHE_PORTABLE`, TOML `portable`; as `--portable`;
    /// rustc book, "--remap-path-prefix"), so checkouts at different paths
    /// share crates.
    pub portable: Setting<bool>,
    /// The config file consulted (it may not exist).
    pub config_file: PathBuf,
}

/// A configuration error: always names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be parsed.
    #[error("invalid value for {key} ({origin}): {message}")]
    InvalidValue {
        /// Key or env variable name.
        key: String,
        /// Where the bad value came from.
        origin: String,
        /// What is wrong with it.
        message: String,
    },
    /// The TOML file is not valid TOML or has an unknown key.
    #[error("invalid config file {path}: {message}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// The parser's one-line message.
        message: String,
    },
    /// The file exists but cannot be read. The I/O error is part of the
    /// message and deliberately not an error `source`: a chain printer
    /// (`anyhow`'s `{:#}`, as `cargo zccache` uses) would print it twice.
    #[error("cannot read config file {path}: {error}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// No cache dir could be determined (no `ZCCACHE_CACHE_DIR`, no home).
    #[error("cannot determine a cache directory: set ZCCACHE_CACHE_DIR")]
    NoCacheDir,
}

/// Why a size (`max_size`, `ZCCACHE_MAX_SIZE`) could not be parsed by
/// [`parse_size`]. The message is what [`ConfigError::InvalidValue`] shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// The text is not a number with an optional K/M/G/T suffix (e.g. empty,
    /// `ten`, `12 parsecs`).
    #[error("expected a size like 500M or 10G, got {text:?}")]
    NotASize {
        /// The text as given.
        text: String,
    },
    /// The number is negative, infinite or NaN (e.g. `-1`, `inf`).
    #[error("expected a non-negative size, got {text:?}")]
    OutOfRange {
        /// The text as given.
        text: String,
    },
}

/// The keys of `zccache.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    cache_dir: Option<PathBuf>,
    max_size: Option<toml::Value>,
    idle_timeout_secs: Option<u64>,
    debug: Option<bool>,
    disable: Option<bool>,
    max_jobs: Option<u64>,
    prefix: Option<String>,
    verify_rate: Option<toml::Value>,
    remote: Option<toml::Value>,
    reapi: Option<toml::Value>,
    base_dir: Option<toml::Value>,
    portable: Option<bool>,
}

impl Config {
    /// Load from the process environment.
    ///
    /// Errors: [`ConfigError`] naming the bad key or file.
    pub fn load() -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("ZCCACHE_"))
            .collect();
        Config::from_env_map(&env)
    }

    /// [`Config::verify_rate`] in millionths, as a compile request carries
    /// it (0 = none, 1 000 000 = every hit).
    pub fn verify_per_million(&self) -> u32 {
        (self.verify_rate.value * 1_000_000.0).round() as u32
    }

    /// Load from an explicit map of `ZCCACHE_*` variables (testable core of
    /// [`Config::load`]).
    pub fn from_env_map(env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        Config::from_env_map_with_default(env, zccache_client::locate::default_cache_dir())
    }

    /// [`Config::from_env_map`] with `default_cache_dir` standing in for
    /// the XDG default (the daemon passes its own root when it resolves a
    /// lean launcher's settings: that launcher found it there).
    ///
    /// Errors: [`ConfigError`]; [`ConfigError::NoCacheDir`] when neither
    /// `ZCCACHE_CACHE_DIR` nor `default_cache_dir` gives one.
    pub fn from_env_map_with_default(
        env: &HashMap<String, String>,
        default_cache_dir: Option<PathBuf>,
    ) -> Result<Config, ConfigError> {
        let mut cache_dir = match env.get("ZCCACHE_CACHE_DIR").filter(|v| !v.is_empty()) {
            Some(v) => Setting {
                value: absolute(Path::new(v)),
                source: Source::Env("ZCCACHE_CACHE_DIR"),
            },
            None => Setting::default(default_cache_dir.ok_or(ConfigError::NoCacheDir)?),
        };
        let config_file = match env.get("ZCCACHE_CONFIG").filter(|v| !v.is_empty()) {
            Some(v) => absolute(Path::new(v)),
            None => cache_dir.value.join("zccache.toml"),
        };
        let file = read_file_config(&config_file)?;
        let from_file = Source::File(config_file.clone());
        if let Some(dir) = file.cache_dir.clone() {
            if cache_dir.source == Source::Default {
                cache_dir = Setting {
                    value: absolute(&dir),
                    source: from_file.clone(),
                };
            }
        }
        let mut cfg = Config {
            cache_dir,
            max_size: Setting::default(DEFAULT_MAX_SIZE),
            idle_timeout_secs: Setting::default(DEFAULT_IDLE_TIMEOUT_SECS),
            debug: Setting::default(false),
            disable: Setting::default(false),
            max_jobs: Setting::default(0),
            prefix: Setting::default(None),
            verify_rate: Setting::default(0.0),
            remote: Setting::default(Vec::new()),
            reapi: Setting::default(None),
            base_dir: Setting::default(Vec::new()),
            portable: Setting::default(false),
            config_file,
        };
        cfg.apply_file(file, &from_file)?;
        cfg.apply_env(env)?;
        Ok(cfg)
    }

    fn apply_file(&mut self, v: FileConfig, src: &Source) -> Result<(), ConfigError> {
        let at = |src: &Source| src.clone();
        if let Some(m) = v.max_size {
            self.max_size = Setting::from(size_from_file(&m, src)?, at(src));
        }
        if let Some(t) = v.idle_timeout_secs {
            self.idle_timeout_secs = Setting::from(t, at(src));
        }
        if let Some(d) = v.debug {
            self.debug = Setting::from(d, at(src));
        }
        if let Some(d) = v.disable {
            self.disable = Setting::from(d, at(src));
        }
        if let Some(n) = v.max_jobs {
            self.max_jobs = Setting::from(n, at(src));
        }
        if let Some(r) = v.verify_rate {
            let rate = parse_rate(r.to_string().trim_matches('"'))
                .map_err(|m| bad("verify_rate", src, m))?;
            self.verify_rate = Setting::from(rate, at(src));
        }
        if let Some(p) = v.prefix {
            self.prefix = Setting::from(non_empty(p), at(src));
        }
        if let Some(r) = v.remote {
            self.remote = Setting::from(remote_from_file(r, src)?, at(src));
        }
        if let Some(r) = v.reapi {
            self.reapi = Setting::from(Some(reapi::reapi_from_file(r, src)?), at(src));
        }
        if let Some(p) = v.portable {
            self.portable = Setting::from(p, at(src));
        }
        if let Some(b) = v.base_dir {
            self.base_dir = Setting::from(base_dirs_from_file(b, src)?, at(src));
        }
        Ok(())
    }

    fn apply_env(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        if let Some(v) = env.get("ZCCACHE_MAX_SIZE") {
            let src = Source::Env("ZCCACHE_MAX_SIZE");
            let value = parse_size(v).map_err(|e| bad("ZCCACHE_MAX_SIZE", &src, e.to_string()))?;
            self.max_size = Setting { value, source: src };
        }
        if let Some(v) = env.get("ZCCACHE_IDLE_TIMEOUT") {
            let src = Source::Env("ZCCACHE_IDLE_TIMEOUT");
            let value = v.trim().parse::<u64>().map_err(|_| {
                bad(
                    "ZCCACHE_IDLE_TIMEOUT",
                    &src,
                    format!("expected seconds, got {v:?}"),
                )
            })?;
            self.idle_timeout_secs = Setting { value, source: src };
        }
        if let Some(v) = env.get("ZCCACHE_MAX_JOBS") {
            let src = Source::Env("ZCCACHE_MAX_JOBS");
            let value = v.trim().parse::<u64>().map_err(|_| {
                bad(
                    "ZCCACHE_MAX_JOBS",
                    &src,
                    format!("expected a number, got {v:?}"),
                )
            })?;
            self.max_jobs = Setting { value, source: src };
        }
        if let Some(v) = env.get("ZCCACHE_VERIFY_RATE") {
            let src = Source::Env("ZCCACHE_VERIFY_RATE");
            let value = parse_rate(v).map_err(|m| bad("ZCCACHE_VERIFY_RATE", &src, m))?;
            self.verify_rate = Setting { value, source: src };
        }
        self.apply_env_texts(env)
    }

    /// The list, text and flag settings of [`Config::apply_env`].
    fn apply_env_texts(&mut self, env: &HashMap<String, String>) -> Result<(), ConfigError> {
        if let Some(v) = env.get("ZCCACHE_REMOTE") {
            let src = Source::Env("ZCCACHE_REMOTE");
            let value = checked_tiers(v.split_whitespace(), "ZCCACHE_REMOTE", &src)?;
            self.remote = Setting { value, source: src };
        }
        if let Some(v) = env.get("ZCCACHE_REAPI") {
            let src = Source::Env("ZCCACHE_REAPI");
            let value = match v.trim() {
                "" => None,
                text => Some(reapi::checked(text, "ZCCACHE_REAPI", &src)?),
            };
            self.reapi = Setting { value, source: src };
        }
        if let Some(v) = env.get("ZCCACHE_BASE_DIR") {
            let src = Source::Env("ZCCACHE_BASE_DIR");
            let value = base_dirs_from_text(v, "ZCCACHE_BASE_DIR", &src)?;
            self.base_dir = Setting { value, source: src };
        }
        if let Some(v) = env.get("ZCCACHE_PREFIX") {
            self.prefix = Setting {
                value: non_empty(v.clone()),
                source: Source::Env("ZCCACHE_PREFIX"),
            };
        }
        if let Some(v) = env.get("ZCCACHE_DEBUG") {
            self.debug = Setting {
                value: parse_bool(v),
                source: Source::Env("ZCCACHE_DEBUG"),
            };
        }
        if let Some(v) = env.get("ZCCACHE_DISABLE") {
            self.disable = Setting {
                value: parse_bool(v),
                source: Source::Env("ZCCACHE_DISABLE"),
            };
        }
        if let Some(v) = env.get("ZCCACHE_PORTABLE") {
            self.portable = Setting {
                value: parse_bool(v),
                source: Source::Env("ZCCACHE_PORTABLE"),
            };
        }
        Ok(())
    }
}

impl Config {
    /// The remote tiers of [`Config::remote`], parsed, in order. The strings
    /// were checked by [`Config::load`]; one that no longer parses (the
    /// field is public) is left out with a warning.
    /// The REAPI server of [`Config::reapi`] comes last.
    pub(crate) fn remote_tiers(&self) -> Vec<TierSpec> {
        self.remote
            .value
            .iter()
            .chain(self.reapi.value.iter())
            .filter_map(|t| match spec::parse_one(t) {
                Ok(tier) => Some(tier),
                Err(e) => {
                    tracing::warn!("ignoring {e}");
                    None
                }
            })
            .collect()
    }
}

/// TOML `max_size`: a number of bytes or a size string such as `"10G"`.
///
/// Errors: [`ConfigError::InvalidValue`] naming `max_size`.
fn size_from_file(value: &toml::Value, src: &Source) -> Result<u64, ConfigError> {
    match value {
        toml::Value::Integer(i) if *i >= 0 => Ok(*i as u64),
        toml::Value::String(s) => parse_size(s).map_err(|e| bad("max_size", src, e.to_string())),
        other => Err(bad(
            "max_size",
            src,
            format!("expected a size, got {other}"),
        )),
    }
}

/// A verification rate: a fraction from 0 to 1 (`0.01` = one hit in a
/// hundred).
///
/// Errors: a message when the text is not such a number.
fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("expected a fraction from 0 to 1, got {text:?}")),
    }
}

/// `None` for an empty or blank prefix (an empty `ZCCACHE_PREFIX` turns a
/// TOML prefix off, as an empty `CCACHE_PREFIX` does).
fn non_empty(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

fn bad(key: &str, src: &Source, message: String) -> ConfigError {
    ConfigError::InvalidValue {
        key: key.to_string(),
        origin: src.to_string(),
        message,
    }
}

fn read_file_config(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileConfig::default()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(FileConfig::default()),
        Err(error) => {
            return Err(ConfigError::Unreadable {
                path: path.to_path_buf(),
                error,
            })
        }
    };
    let table: toml::Table = toml::from_str(&text).map_err(|e| syntax_error(path, &text, &e))?;
    let origin = Source::File(path.to_path_buf());
    // Convert key by key so that a type error names its key.
    let mut cfg = FileConfig::default();
    for (key, value) in table {
        let typed = |v: toml::Value| -> Result<FileConfig, ConfigError> {
            let mut one = toml::Table::new();
            one.insert(key.clone(), v);
            toml::Value::Table(one)
                .try_into()
                .map_err(|e: toml::de::Error| bad(&key, &origin, e.message().replace('\n', " ")))
        };
        let one = typed(value)?;
        cfg.cache_dir = cfg.cache_dir.or(one.cache_dir);
        cfg.max_size = cfg.max_size.or(one.max_size);
        cfg.idle_timeout_secs = cfg.idle_timeout_secs.or(one.idle_timeout_secs);
        cfg.debug = cfg.debug.or(one.debug);
        cfg.disable = cfg.disable.or(one.disable);
        cfg.max_jobs = cfg.max_jobs.or(one.max_jobs);
        cfg.prefix = cfg.prefix.or(one.prefix);
        cfg.verify_rate = cfg.verify_rate.or(one.verify_rate);
        cfg.remote = cfg.remote.or(one.remote);
        cfg.reapi = cfg.reapi.or(one.reapi);
        cfg.base_dir = cfg.base_dir.or(one.base_dir);
        cfg.portable = cfg.portable.or(one.portable);
    }
    Ok(cfg)
}

/// A TOML syntax error as one line: with the key and line number when it
/// lies in the value of a `key = value` line (e.g. `max_size = 10G`, an
/// unquoted string), else with the line number.
fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let message = one_line(e.message());
    let Some(start) = e.span().map(|s| s.start.min(text.len())) else {
        return ConfigError::BadFile {
            path: path.to_path_buf(),
            message,
        };
    };
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..start].matches('\n').count() + 1;
    let line = text[line_start..].lines().next().unwrap_or("");
    match line.split_once('=') {
        Some((key, value)) if is_bare_key(key.trim()) && start - line_start > key.len() => {
            let (key, value) = (key.trim(), value.trim());
            ConfigError::InvalidValue {
                key: key.to_string(),
                origin: format!("file {}, line {line_no}", path.display()),
                message: format!("{message} in `{value}`{}", quote_hint(key, value)),
            }
        }
        _ => ConfigError::BadFile {
            path: path.to_path_buf(),
            message: format!("line {line_no}: {message}"),
        },
    }
}

/// The parser's message on one line (`toml` puts its expectations on a
/// line of their own).
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn is_bare_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A hint for a value written without quotes (`10G`, `distcc`).
fn quote_hint(key: &str, value: &str) -> String {
    let word = value.split('#').next().unwrap_or("").trim();
    let bare = word.bytes().any(|b| b.is_ascii_alphabetic())
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b));
    if bare {
        format!(" (text values need quotes: {key} = \"{word}\")")
    } else {
        String::new()
    }
}

/// Parse a size: plain bytes, or a number with suffix K, M, G or T (powers
/// of 1024, optional trailing `B`/`iB`), e.g. `500M`, `10G`, `1.5G`.
///
/// Errors: [`SizeError::NotASize`] when the text is not such a number,
/// [`SizeError::OutOfRange`] when it is negative, infinite or NaN. Values too
/// large for a u64 saturate to `u64::MAX`.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    let stripped = upper.trim_end_matches("IB").trim_end_matches('B');
    let (num, mult) = match stripped.chars().last() {
        Some('K') => (&stripped[..stripped.len() - 1], 1u64 << 10),
        Some('M') => (&stripped[..stripped.len() - 1], 1u64 << 20),
        Some('G') => (&stripped[..stripped.len() - 1], 1u64 << 30),
        Some('T') => (&stripped[..stripped.len() - 1], 1u64 << 40),
        _ => (stripped, 1),
    };
    let value: f64 = num.trim().parse().map_err(|_| SizeError::NotASize {
        text: text.to_string(),
    })?;
    if !value.is_finite() || value < 0.0 {
        return Err(SizeError::OutOfRange {
            text: text.to_string(),
        });
    }
    Ok((value * mult as f64) as u64)
}

fn parse_bool(v: &str) -> bool {
    !matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "" | "0" | "false" | "no" | "off"
    )
}

use zccache_client::locate::absolute;

mod lists;
mod reapi;
#[cfg(test)]
mod tests;
