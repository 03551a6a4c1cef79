//! S3 tier against moto's S3 server (`pip install 'moto[server]'`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use super::super::super::spec::Scheme;
use super::super::open;
use super::super::s3_tier::open_with_keys;
use super::server::{binary, free_port, ServerGuard};
use super::{round_trip, spec};

/// A moto S3 server on a free port with bucket `bucket` created; `None`
/// when moto is not installed.
pub(super) fn start_moto(bucket: &str) -> Option<ServerGuard> {
    let binary = binary("moto_server")?;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(binary);
    command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    let server = ServerGuard::start(command, port, dir, Duration::from_secs(60))?;
    create_bucket(port, bucket);
    Some(server)
}

/// S3 CreateBucket: a plain PUT on the bucket path.
fn create_bucket(port: u16, bucket: &str) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let request = format!(
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[test]
fn s3_round_trip() {
    let Some(server) = start_moto("zccache") else {
        return;
    };
    let mut tier = spec(
        Scheme::S3,
        "s3://zccache/team/cache",
        Duration::from_secs(10),
    );
    tier.endpoint = Some(format!("http://127.0.0.1:{}", server.port));
    tier.region = Some("us-east-1".into());
    // Signed requests: S3 (and moto) may answer an anonymous GET of a
    // missing key with 403 (no ListBucket permission).
    let backend = open_with_keys(&tier.url, &tier, Some(("test", "test"))).unwrap();
    round_trip(&backend);
}

#[test]
fn s3_missing_bucket_is_an_error_not_a_miss() {
    let Some(server) = start_moto("zccache") else {
        return;
    };
    let mut tier = spec(Scheme::S3, "s3://nope", Duration::from_secs(10));
    tier.endpoint = Some(format!("http://127.0.0.1:{}", server.port));
    let backend = open(&tier).unwrap();
    assert!(backend.put("e/x", b"x").is_err());
}
