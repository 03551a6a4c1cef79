//! A memcached tier (`memcached://host:port`) through opendal's Memcached
//! service (binary protocol). Memcached refuses items over 1 MiB by
//! default: a larger object is refused ([`RemoteError::TooLarge`]), so an
//! entry whose blob is too large is not uploaded at all (its record would
//! point at a blob the tier cannot hold).

use std::time::Duration;

use opendal::services::Memcached;
use opendal::Operator;

use super::super::spec::TierSpec;
use super::opendal_tier::OpendalTier;
use super::RemoteError;

/// The largest object we store: memcached's default item size limit
/// (1 MiB) minus room for the key and the item header.
pub(super) const MAX_OBJECT_SIZE: usize = 1024 * 1024 - 1024;

/// The client of the server in `url` with the settings of `spec`.
///
/// Errors: [`RemoteError::Other`] for a URL without `host:port`.
pub(super) fn open(url: &str, spec: &TierSpec) -> Result<OpendalTier, RemoteError> {
    let address = host_port(url)?;
    let builder = Memcached::default()
        .endpoint(&format!("tcp://{address}"))
        .root("/");
    let operator = Operator::new(builder)
        .map_err(|e| RemoteError::Other(format!("memcached tier: {e}")))?
        .finish();
    Ok(OpendalTier {
        operator,
        timeout: spec.timeout,
        max_object_size: Some(MAX_OBJECT_SIZE),
        probe: Some((address, probe_timeout(spec))),
    })
}

/// The connect timeout of the timeout diagnosis (never longer than one
/// operation).
fn probe_timeout(spec: &TierSpec) -> Duration {
    spec.connect_timeout.min(spec.timeout)
}

/// The `host:port` of `memcached://host:port[/]`.
fn host_port(url: &str) -> Result<String, RemoteError> {
    let rest = url
        .strip_prefix("memcached://")
        .ok_or_else(|| RemoteError::Other(format!("not a memcached:// URL: {url}")))?;
    let address = rest.trim_end_matches('/');
    match address.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(address.to_string())
        }
        _ => Err(RemoteError::Other(format!(
            "memcached tier: expected memcached://host:port, got {url}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_of_urls() {
        assert_eq!(host_port("memcached://h:11211").unwrap(), "h:11211");
        assert_eq!(host_port("memcached://h:11211/").unwrap(), "h:11211");
        assert!(host_port("memcached://h").is_err());
        assert!(host_port("memcached://:1").is_err());
        assert!(host_port("redis://h:1").is_err());
    }
}
