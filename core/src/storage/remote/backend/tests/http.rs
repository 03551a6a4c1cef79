//! HTTP tier against a real nginx with the WebDAV module (PUT with
//! `create_full_put_path`), optionally behind basic auth.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::super::super::spec::{HttpLayout, Scheme};
use super::super::{open, RemoteError};
use super::server::{binary, free_port, ServerGuard};
use super::{hex, round_trip, spec};

/// The nginx configuration of a cache server on `port` storing under
/// `<dir>/data`, with basic auth (`user:{PLAIN}password` file) when
/// `htpasswd` is given.
fn nginx_conf(dir: &Path, port: u16, htpasswd: Option<&Path>) -> String {
    let d = dir.display();
    let mut auth = String::new();
    if let Some(file) = htpasswd {
        let _ = write!(
            auth,
            "auth_basic \"zccache\";\n            auth_basic_user_file {};",
            file.display()
        );
    }
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {d}/data;
        client_max_body_size 0;
        location / {{
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
            {auth}
        }}
    }}
}}
"#
    )
}

/// An nginx WebDAV server on a free port; with basic auth for `user`
/// (password `password`) when given; `None` when nginx is not installed.
pub(super) fn start_nginx(user: Option<(&str, &str)>) -> Option<ServerGuard> {
    let binary = binary("nginx")?;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let htpasswd = user.map(|(name, password)| {
        let file = dir.path().join("htpasswd");
        std::fs::write(&file, format!("{name}:{{PLAIN}}{password}\n")).unwrap();
        file
    });
    let port = free_port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir.path(), port, htpasswd.as_deref())).unwrap();
    let mut command = Command::new(binary);
    command.arg("-p").arg(dir.path()).arg("-c").arg(&conf);
    command.arg("-e").arg(dir.path().join("error.log"));
    ServerGuard::start(command, port, dir, Duration::from_secs(10))
}

#[test]
fn http_round_trip_flat_layout() {
    let Some(server) = start_nginx(None) else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/cache", server.port);
    let backend = open(&spec(Scheme::Http, &url, Duration::from_secs(5))).unwrap();
    round_trip(backend.as_ref());
    let stored = server.dir.path().join("data/cache/e").join(hex(1));
    assert!(stored.is_file(), "{} missing", stored.display());
}

#[test]
fn http_bazel_layout_keeps_everything_under_ac() {
    let Some(server) = start_nginx(None) else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/", server.port);
    let mut tier = spec(Scheme::Http, &url, Duration::from_secs(5));
    tier.layout = HttpLayout::Bazel;
    let backend = open(&tier).unwrap();
    let (record, blob) = (format!("e/{}", hex(3)), format!("b/{}", hex(4)));
    backend.put(&record, b"record").unwrap();
    backend.put(&blob, b"blob").unwrap();
    let data = server.dir.path().join("data");
    let ac: Vec<_> = std::fs::read_dir(data.join("ac"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(ac.len(), 2, "both objects under ac/");
    assert!(!data.join("cas").exists(), "nothing under cas/");
    assert!(!data.join("ac").join(hex(3)).exists(), "names are hashed");
    assert_eq!(backend.get(&record).unwrap().unwrap(), b"record");
    assert_eq!(backend.get(&blob).unwrap().unwrap(), b"blob");
    assert!(backend.get(&format!("m/{}", hex(3))).unwrap().is_none());
}

#[test]
fn http_basic_auth_from_the_url() {
    let Some(server) = start_nginx(Some(("ci", "p@ss"))) else {
        return;
    };
    let url = format!("http://ci:p%40ss@127.0.0.1:{}/c", server.port);
    let backend = open(&spec(Scheme::Http, &url, Duration::from_secs(5))).unwrap();
    round_trip(backend.as_ref());
}

#[test]
fn http_wrong_password_is_denied() {
    let Some(server) = start_nginx(Some(("ci", "right"))) else {
        return;
    };
    let url = format!("http://ci:wrong@127.0.0.1:{}/c", server.port);
    let backend = open(&spec(Scheme::Http, &url, Duration::from_secs(5))).unwrap();
    let get = backend.get(&format!("e/{}", hex(1)));
    assert!(matches!(get, Err(RemoteError::Denied(_))), "{get:?}");
    let put = backend.put(&format!("e/{}", hex(1)), b"x");
    assert!(matches!(put, Err(RemoteError::Denied(_))), "{put:?}");
    let exists = backend.exists(&format!("e/{}", hex(1)));
    assert!(matches!(exists, Err(RemoteError::Denied(_))), "{exists:?}");
}

#[test]
fn http_bearer_token_is_sent() {
    // nginx cannot check a bearer token; a wrong one must at least be
    // sent instead of the URL's basic credentials, and be refused.
    let Some(server) = start_nginx(Some(("ci", "right"))) else {
        return;
    };
    let url = format!("http://ci:right@127.0.0.1:{}/c", server.port);
    let mut tier = spec(Scheme::Http, &url, Duration::from_secs(5));
    tier.bearer_token = Some("token".into());
    let backend = open(&tier).unwrap();
    let get = backend.get("e/x");
    assert!(matches!(get, Err(RemoteError::Denied(_))), "{get:?}");
}
