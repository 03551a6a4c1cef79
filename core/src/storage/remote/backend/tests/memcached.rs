//! Memcached tier against a real memcached.

use std::process::Command;
use std::time::Duration;

use super::super::super::spec::Scheme;
use super::super::memcached_tier::MAX_OBJECT_SIZE;
use super::super::open;
use super::server::{binary, free_port, ServerGuard};
use super::{hex, round_trip, spec};

/// A memcached on a free port; `None` when not installed.
pub(super) fn start_memcached() -> Option<ServerGuard> {
    let binary = binary("memcached")?;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(binary);
    command.args(["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0"]);
    // memcached refuses to run as root without a user to switch to.
    // SAFETY: getuid has no preconditions and cannot fail.
    if unsafe { libc::getuid() } == 0 {
        command.args(["-u", "root"]);
    }
    ServerGuard::start(command, port, dir, Duration::from_secs(10))
}

#[test]
fn memcached_round_trip() {
    let Some(server) = start_memcached() else {
        return;
    };
    let url = format!("memcached://127.0.0.1:{}", server.port);
    let backend = open(&spec(Scheme::Memcached, &url, Duration::from_secs(5))).unwrap();
    round_trip(backend.as_ref());
}

#[test]
fn memcached_refuses_objects_over_the_item_limit() {
    let Some(server) = start_memcached() else {
        return;
    };
    let url = format!("memcached://127.0.0.1:{}", server.port);
    let backend = open(&spec(Scheme::Memcached, &url, Duration::from_secs(5))).unwrap();
    let big = format!("b/{}", hex(5));
    let refused = backend.put(&big, &vec![7u8; MAX_OBJECT_SIZE + 1]);
    assert!(
        matches!(refused, Err(super::super::RemoteError::TooLarge { .. })),
        "{refused:?}"
    );
    assert_eq!(backend.get(&big).unwrap(), None);
    assert!(!backend.exists(&big).unwrap());
    let fits = format!("b/{}", hex(6));
    backend.put(&fits, &vec![7u8; MAX_OBJECT_SIZE]).unwrap();
    assert_eq!(
        backend.get(&fits).unwrap().map(|b| b.len()),
        Some(MAX_OBJECT_SIZE)
    );
}
