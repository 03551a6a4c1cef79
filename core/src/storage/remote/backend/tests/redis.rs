//! Redis tier against a real redis-server.

use std::process::Command;
use std::time::Duration;

use super::super::super::spec::{Scheme, Shard};
use super::super::{open, RemoteError};
use super::server::{binary, free_port, ServerGuard};
use super::{hex, round_trip, spec};

/// A redis-server on a free port (no persistence), with `requirepass`
/// when `password` is given; `None` when not installed.
pub(super) fn start_redis(password: Option<&str>) -> Option<ServerGuard> {
    let binary = binary("redis-server")?;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(binary);
    command.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
    command.args(["--save", "", "--appendonly", "no"]);
    command.arg("--dir").arg(dir.path());
    if let Some(password) = password {
        command.args(["--requirepass", password]);
    }
    ServerGuard::start(command, port, dir, Duration::from_secs(10))
}

#[test]
fn redis_round_trip() {
    let Some(server) = start_redis(None) else {
        return;
    };
    let url = format!("redis://127.0.0.1:{}/3", server.port);
    let backend = open(&spec(Scheme::Redis, &url, Duration::from_secs(5))).unwrap();
    round_trip(backend.as_ref());
}

#[test]
fn redis_with_the_right_password() {
    let Some(server) = start_redis(Some("s3cret")) else {
        return;
    };
    let url = format!("redis://:s3cret@127.0.0.1:{}", server.port);
    let backend = open(&spec(Scheme::Redis, &url, Duration::from_secs(5))).unwrap();
    round_trip(backend.as_ref());
}

#[test]
fn redis_with_a_wrong_password_is_denied() {
    let Some(server) = start_redis(Some("s3cret")) else {
        return;
    };
    let url = format!("redis://:wrong@127.0.0.1:{}", server.port);
    let backend = open(&spec(Scheme::Redis, &url, Duration::from_secs(5))).unwrap();
    let result = backend.get(&format!("e/{}", hex(1)));
    assert!(matches!(result, Err(RemoteError::Denied(_))), "{result:?}");
}

#[test]
fn redis_without_a_password_is_denied() {
    let Some(server) = start_redis(Some("s3cret")) else {
        return;
    };
    let url = format!("redis://127.0.0.1:{}", server.port);
    let backend = open(&spec(Scheme::Redis, &url, Duration::from_secs(5))).unwrap();
    let result = backend.put(&format!("e/{}", hex(1)), b"x");
    assert!(matches!(result, Err(RemoteError::Denied(_))), "{result:?}");
}

#[test]
fn redis_shards_round_trip() {
    let (Some(a), Some(b)) = (start_redis(None), start_redis(None)) else {
        return;
    };
    let urls = [a.port, b.port].map(|port| format!("redis://127.0.0.1:{port}"));
    let mut tier = spec(Scheme::Redis, "redis://127.0.0.1:*", Duration::from_secs(5));
    tier.shards = urls
        .iter()
        .enumerate()
        .map(|(i, url)| Shard {
            name: i.to_string(),
            url: url.clone(),
            weight: 1.0,
        })
        .collect();
    let backend = open(&tier).unwrap();
    for seed in 0..8 {
        let key = format!("b/{}", hex(seed));
        backend.put(&key, &[seed]).unwrap();
        assert_eq!(backend.get(&key).unwrap(), Some(vec![seed]));
    }
}

#[test]
fn redis_reconnects_after_a_restart() {
    let Some(server) = start_redis(None) else {
        return;
    };
    let port = server.port;
    let url = format!("redis://127.0.0.1:{port}");
    let backend = open(&spec(Scheme::Redis, &url, Duration::from_secs(5))).unwrap();
    backend.put("e/k", b"1").unwrap();
    drop(server);
    assert!(backend.get("e/k").is_err());
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(binary("redis-server").unwrap());
    command.args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
    ]);
    command.arg("--dir").arg(dir.path());
    let Some(_again) = ServerGuard::start(command, port, dir, Duration::from_secs(10)) else {
        return;
    };
    assert_eq!(backend.get("e/k").unwrap(), None);
}

/// At stop the daemon waits for the background writer: an upload queued
/// while the server is stalled (SIGSTOP) is still pending, and written
/// once the server resumes.
#[test]
fn writer_waits_for_uploads_to_a_stalled_server() {
    use super::super::super::tier::Tier;
    use super::super::super::writer::{Upload, Writer};
    use crate::storage::local::{RecordKey, Store};
    use std::sync::Arc;
    let Some(server) = start_redis(None) else {
        return;
    };
    let url = format!("redis://127.0.0.1:{}", server.port);
    let tier = Tier::new(spec(Scheme::Redis, &url, Duration::from_secs(30)));
    let store_dir = tempfile::tempdir().unwrap();
    let local = Arc::new(Store::open(store_dir.path(), 1 << 30).unwrap());
    let writer = Writer::start(vec![Arc::new(tier)], local);
    server.signal(libc::SIGSTOP);
    let key = RecordKey([9; 32]);
    let upload = Upload::Manifest {
        key,
        manifest: Default::default(),
    };
    writer.send(upload, vec![0], false);
    let stalled = writer.wait_idle(Duration::from_millis(500));
    server.signal(libc::SIGCONT);
    assert_eq!(stalled, 1, "the upload waits for the stalled server");
    assert_eq!(
        writer.wait_idle(Duration::from_secs(30)),
        0,
        "written once it resumes"
    );
    let backend = open(&spec(Scheme::Redis, &url, Duration::from_secs(5))).unwrap();
    let name = format!("m/{}", key.to_hex());
    assert!(backend.exists(&name).unwrap(), "{name} on the server");
}
