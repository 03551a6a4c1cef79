//! An S3 tier (`s3://bucket/prefix`, `|endpoint=…` for an S3-compatible
//! server, `|region=…`) through opendal's S3 service: objects are
//! `<prefix>/<key>`; requests are path-style (`<endpoint>/<bucket>/…`, which
//! S3-compatible servers expect); credentials come from the standard
//! `AWS_*` variables and `~/.aws` files, with unsigned requests when there
//! are none (a public bucket); the EC2 instance metadata loader is off so
//! that a machine without credentials does not wait for it.

use opendal::layers::HttpClientLayer;
use opendal::raw::HttpClient;
use opendal::services::S3;
use opendal::Operator;

use super::super::spec::TierSpec;
use super::http_tier::http_client;
use super::opendal_tier::OpendalTier;
use super::RemoteError;

/// The region when neither the spec nor the environment names one.
const DEFAULT_REGION: &str = "us-east-1";

/// The client of the bucket in `url` with the settings of `spec`.
///
/// Errors: [`RemoteError::Other`] for a URL without a bucket or a builder
/// error.
pub(super) fn open(url: &str, spec: &TierSpec) -> Result<OpendalTier, RemoteError> {
    open_with_keys(url, spec, None)
}

/// [`open`] with an explicit access key id and secret instead of the
/// environment's (tests).
///
/// Errors: as [`open`].
pub(super) fn open_with_keys(
    url: &str,
    spec: &TierSpec,
    keys: Option<(&str, &str)>,
) -> Result<OpendalTier, RemoteError> {
    let (bucket, prefix) = bucket_and_prefix(url)?;
    let mut builder = S3::default()
        .bucket(&bucket)
        .root(&format!("/{prefix}"))
        .region(&region(spec))
        .disable_ec2_metadata()
        .allow_anonymous();
    if let Some(endpoint) = &spec.endpoint {
        builder = builder.endpoint(endpoint);
    }
    if let Some((id, secret)) = keys {
        builder = builder.access_key_id(id).secret_access_key(secret);
    }
    let client = HttpClient::with(http_client(spec.connect_timeout, spec.timeout)?);
    let operator = Operator::new(builder)
        .map_err(|e| RemoteError::Other(format!("S3 tier: {e}")))?
        .layer(HttpClientLayer::new(client))
        .finish();
    Ok(OpendalTier {
        operator,
        timeout: spec.timeout,
        max_object_size: None,
        probe: None,
    })
}

/// The bucket and the key prefix (without slashes at either end) of
/// `s3://bucket[/prefix]`.
fn bucket_and_prefix(url: &str) -> Result<(String, String), RemoteError> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| RemoteError::Other(format!("not an s3:// URL: {url}")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(RemoteError::Other("S3 tier: no bucket in the URL".into()));
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// The region: the spec's, else `AWS_REGION`, else `AWS_DEFAULT_REGION`,
/// else [`DEFAULT_REGION`].
fn region(spec: &TierSpec) -> String {
    spec.region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
        .or_else(|| {
            std::env::var("AWS_DEFAULT_REGION")
                .ok()
                .filter(|r| !r.is_empty())
        })
        .unwrap_or_else(|| DEFAULT_REGION.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_and_prefix_of_urls() {
        let split = |url| bucket_and_prefix(url).unwrap();
        assert_eq!(split("s3://b"), ("b".into(), "".into()));
        assert_eq!(split("s3://b/"), ("b".into(), "".into()));
        assert_eq!(
            split("s3://b/team/cache/"),
            ("b".into(), "team/cache".into())
        );
        assert!(bucket_and_prefix("s3:///x").is_err());
        assert!(bucket_and_prefix("http://b").is_err());
    }
}
