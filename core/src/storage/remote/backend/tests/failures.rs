//! Unreachable and silent servers, for every scheme: a closed port is
//! [`RemoteError::Connect`], a server that accepts and never answers is
//! [`RemoteError::Timeout`] within about the tier's timeout.

use std::time::{Duration, Instant};

use super::super::super::spec::{Scheme, TierSpec};
use super::super::{open, RemoteError};
use super::server::{free_port, BlackHole};
use super::spec;

/// The tier timeout of these tests.
const TIMEOUT: Duration = Duration::from_millis(300);

/// A tier of `scheme` pointing at 127.0.0.1:`port`.
fn tier_at(scheme: Scheme, port: u16) -> TierSpec {
    let url = match scheme {
        Scheme::Redis => format!("redis://127.0.0.1:{port}"),
        Scheme::Http => format!("http://127.0.0.1:{port}/c"),
        Scheme::S3 => "s3://bucket/prefix".to_string(),
        Scheme::Memcached => format!("memcached://127.0.0.1:{port}"),
        other => unreachable!("not tested here: {other:?}"),
    };
    let mut tier = spec(scheme, &url, TIMEOUT);
    if scheme == Scheme::S3 {
        tier.endpoint = Some(format!("http://127.0.0.1:{port}"));
    }
    tier
}

/// The schemes tested over TCP.
const SCHEMES: [Scheme; 4] = [Scheme::Redis, Scheme::Http, Scheme::S3, Scheme::Memcached];

#[test]
fn a_closed_port_is_a_connect_error() {
    for scheme in SCHEMES {
        let backend = open(&tier_at(scheme, free_port())).unwrap();
        let get = backend.get("e/x");
        assert!(
            matches!(get, Err(RemoteError::Connect(_))),
            "{scheme:?} get: {get:?}"
        );
        let put = backend.put("e/x", b"x");
        assert!(
            matches!(put, Err(RemoteError::Connect(_))),
            "{scheme:?} put: {put:?}"
        );
        let exists = backend.exists("e/x");
        assert!(
            matches!(exists, Err(RemoteError::Connect(_))),
            "{scheme:?}: {exists:?}"
        );
    }
}

#[test]
fn a_silent_server_is_a_timeout() {
    let hole = BlackHole::start();
    for scheme in SCHEMES {
        let backend = open(&tier_at(scheme, hole.port)).unwrap();
        let started = Instant::now();
        let get = backend.get("e/x");
        let elapsed = started.elapsed();
        assert!(
            matches!(get, Err(RemoteError::Timeout)),
            "{scheme:?}: {get:?}"
        );
        assert!(elapsed < TIMEOUT * 3, "{scheme:?} took {elapsed:?}");
        let put = backend.put("e/x", b"x");
        assert!(
            matches!(put, Err(RemoteError::Timeout)),
            "{scheme:?}: {put:?}"
        );
    }
}

#[test]
fn a_missing_unix_socket_is_a_connect_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("redis+unix://{}", dir.path().join("none.sock").display());
    let backend = open(&spec(Scheme::RedisUnix, &url, TIMEOUT)).unwrap();
    let get = backend.get("e/x");
    assert!(matches!(get, Err(RemoteError::Connect(_))), "{get:?}");
}

#[test]
fn callable_from_tokio_spawn_blocking() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let backend = open(&tier_at(Scheme::Http, free_port())).unwrap();
    let task = runtime.spawn_blocking(move || backend.get("e/x"));
    let result = runtime.block_on(task).unwrap();
    assert!(matches!(result, Err(RemoteError::Connect(_))), "{result:?}");
}

#[test]
fn bad_urls_are_rejected_when_opening() {
    let bad = [
        (Scheme::Http, "http://"),
        (Scheme::S3, "s3:///prefix"),
        (Scheme::Memcached, "memcached://nohost"),
        (Scheme::Redis, "redis://:99999999"),
    ];
    for (scheme, url) in bad {
        let result = open(&spec(scheme, url, TIMEOUT));
        assert!(matches!(result, Err(RemoteError::Other(_))), "{url}");
    }
}
