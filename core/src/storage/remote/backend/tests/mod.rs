//! Backend tests against real servers (redis-server, memcached, nginx with
//! WebDAV PUT, moto's S3) started on free ports of 127.0.0.1, each with its
//! own temp dir; a test whose server binary is missing prints a note and
//! passes.

mod failures;
mod http;
mod memcached;
mod redis;
mod s3;
mod server;

use std::time::Duration;

use super::super::spec::{HttpLayout, Scheme, Shard, TierSpec};

/// A tier of `scheme` at `url` (one shard), with `timeout` for connects
/// and operations.
fn spec(scheme: Scheme, url: &str, timeout: Duration) -> TierSpec {
    TierSpec {
        url: url.to_string(),
        scheme,
        read_only: false,
        connect_timeout: timeout,
        timeout,
        layout: HttpLayout::Flat,
        bearer_token: None,
        endpoint: None,
        region: None,
        shards: vec![Shard {
            name: String::new(),
            url: url.to_string(),
            weight: 1.0,
        }],
        reapi: Default::default(),
    }
}

/// A 64-hex name, as the store's keys use.
fn hex(seed: u8) -> String {
    format!("{seed:02x}").repeat(32)
}

/// Put, get, exists and a missing key on `backend`.
fn round_trip(backend: &dyn super::Backend) {
    let key = format!("e/{}", hex(1));
    let missing = format!("b/{}", hex(2));
    let bytes: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    backend.put(&key, &bytes).unwrap();
    assert_eq!(backend.get(&key).unwrap().as_deref(), Some(&bytes[..]));
    assert!(backend.exists(&key).unwrap());
    assert_eq!(backend.get(&missing).unwrap(), None);
    assert!(!backend.exists(&missing).unwrap());
    backend.put(&key, b"replaced").unwrap();
    assert_eq!(
        backend.get(&key).unwrap().as_deref(),
        Some(&b"replaced"[..])
    );
}
