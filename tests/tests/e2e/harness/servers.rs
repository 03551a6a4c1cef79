//! Real cache servers on loopback for the remote-tier tests: [`RedisServer`],
//! [`Memcached`], [`NginxDav`] (nginx WebDAV, optionally behind basic auth or
//! a bearer token), [`MotoS3`] (moto's S3 server) and [`HangingServer`] (a
//! listener that accepts and never answers). Each starts on a free port of
//! 127.0.0.1 with its own data dir inside the sandbox, in its own process
//! group, waits until it serves, and is killed (by its pid's group) on drop,
//! pass or fail. `start` returns `None` after a skip note when the server's
//! binary is not installed. [`http`] is a minimal HTTP/1.1 client for
//! readiness probes and for looking at what a server holds.

use super::distcc::free_port;
use super::*;
use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a server may take to start serving (moto imports a lot).
const START_LIMIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------- process

/// A server process in its own process group, logging into `dir/log`.
pub struct ServerProc {
    child: Child,
    /// The TCP port it listens on.
    pub port: u16,
    /// Its private data dir (inside the sandbox).
    pub dir: PathBuf,
}

impl ServerProc {
    /// [`ServerProc::spawn`] for servers defined in other harness modules.
    pub fn spawn_ready(
        cmd: Command,
        port: u16,
        dir: &Path,
        ready: impl Fn(u16) -> bool,
    ) -> Option<Self> {
        Self::spawn(cmd, port, dir, ready)
    }

    /// Spawns `cmd` (stdout and stderr to `dir/log`) and waits until
    /// `ready` says it serves; None (after printing the log) if it exited
    /// or never became ready.
    fn spawn(mut cmd: Command, port: u16, dir: &Path, ready: impl Fn(u16) -> bool) -> Option<Self> {
        let log = File::create(dir.join("log")).expect("create server log");
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let mut p = ServerProc {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        let ok = wait_until(START_LIMIT, || p.exited() || ready(port)) && !p.exited();
        if !ok {
            eprintln!("{cmd:?} did not start on port {port}:\n{}", p.log_text());
        }
        ok.then_some(p)
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// SIGKILLs the server's process group (idempotent).
    pub fn kill(&mut self) {
        if self.exited() {
            return;
        }
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on the process group this guard created.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Tries up to five free ports: `make(port, dir)` builds the command.
fn start_on_free_port(
    parent: &Path,
    name: &str,
    make: impl Fn(u16, &Path) -> Command,
    ready: impl Fn(u16) -> bool,
) -> ServerProc {
    for _ in 0..5 {
        let port = free_port();
        let dir = parent.join(format!("{name}-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(p) = ServerProc::spawn(make(port, &dir), port, &dir, &ready) {
            return p;
        }
    }
    panic!("{name} did not start on any of five ports");
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

fn root_user() -> bool {
    // SAFETY: geteuid(2) has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

// ---------------------------------------------------------------- http

/// A minimal HTTP/1.1 exchange with 127.0.0.1:`port` (`Connection: close`):
/// the status code and the raw body, or None when the server did not
/// answer within 5 s.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    let mut s =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        req.push_str(&format!("{h}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, raw[head_end + 4..].to_vec()))
}

// ---------------------------------------------------------------- redis

/// `redis-server` without persistence, optionally with a password.
pub struct RedisServer {
    /// The process.
    pub proc: ServerProc,
    password: Option<String>,
}

impl RedisServer {
    /// Starts one with its data dir under `parent` (the sandbox root); None (with a note) without redis-server/-cli.
    pub fn start(parent: &Path, password: Option<&str>) -> Option<RedisServer> {
        if missing(&["redis-server", "redis-cli"]) {
            return None;
        }
        let pw = password.map(String::from);
        let make = |port: u16, dir: &Path| {
            let mut c = Command::new("redis-server");
            c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--dir"])
                .arg(dir);
            if let Some(p) = &pw {
                c.args(["--requirepass", p]);
            }
            c
        };
        let proc = start_on_free_port(parent, "redis", make, port_open);
        Some(RedisServer { proc, password: pw })
    }

    /// The tier URL (with the password, if any).
    pub fn url(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}", self.proc.port),
            None => format!("redis://127.0.0.1:{}", self.proc.port),
        }
    }

    /// `redis-cli -p PORT args…` (authenticated), its stdout trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let mut c = Command::new("redis-cli");
        c.args(["-h", "127.0.0.1", "-p", &self.proc.port.to_string()]);
        if let Some(p) = &self.password {
            c.args(["-a", p, "--no-auth-warning"]);
        }
        let out = run_cmd(c.args(args), None);
        assert_ok(&out, &format!("redis-cli {args:?}"));
        text(&out.stdout).trim().to_string()
    }

    /// Number of keys (`DBSIZE`).
    pub fn dbsize(&self) -> u64 {
        let s = self.cli(&["DBSIZE"]);
        s.parse().unwrap_or_else(|_| panic!("DBSIZE said {s:?}"))
    }

    /// All keys (`KEYS *`), sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut k: Vec<String> = self.cli(&["KEYS", "*"]).lines().map(String::from).collect();
        k.retain(|s| !s.is_empty());
        k.sort();
        k
    }

    /// Kills the server now.
    pub fn kill(&mut self) {
        self.proc.kill();
    }
}

// ---------------------------------------------------------------- memcached

/// `memcached` on TCP only (`-U 0`), as `nobody` when run as root.
pub struct Memcached {
    /// The process.
    pub proc: ServerProc,
}

impl Memcached {
    /// Starts one with its data dir under `parent` (the sandbox root); None (with a note) without memcached.
    pub fn start(parent: &Path) -> Option<Memcached> {
        if missing(&["memcached"]) {
            return None;
        }
        let make = |port: u16, _dir: &Path| {
            let mut c = Command::new("memcached");
            c.args(["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0"]);
            c.args(["-m", "256", "-I", "16m"]);
            if root_user() {
                c.args(["-u", "nobody"]);
            }
            c
        };
        let proc = start_on_free_port(parent, "memcached", make, port_open);
        Some(Memcached { proc })
    }

    /// The tier URL.
    pub fn url(&self) -> String {
        format!("memcached://127.0.0.1:{}", self.proc.port)
    }

    /// `curr_items` from the text protocol's `stats`.
    pub fn items(&self) -> u64 {
        let mut s = TcpStream::connect(("127.0.0.1", self.proc.port)).expect("connect memcached");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"stats\r\n").unwrap();
        let mut all = String::new();
        let mut buf = [0u8; 4096];
        while !all.contains("END\r\n") {
            let n = s.read(&mut buf).expect("read memcached stats");
            assert!(n > 0, "memcached closed the stats reply: {all}");
            all.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        stat_value(&all, "curr_items")
    }
}

fn stat_value(stats: &str, name: &str) -> u64 {
    stats
        .lines()
        .find_map(|l| l.strip_prefix(&format!("STAT {name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in memcached stats: {stats}"))
}

// ---------------------------------------------------------------- nginx

/// Who may use an [`NginxDav`] server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DavAuth<'a> {
    /// Anyone.
    Open,
    /// HTTP basic auth with this user and password.
    Basic(&'a str, &'a str),
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
}

/// nginx serving WebDAV (PUT, DELETE, MKCOL; PROPFIND through dav-ext when
/// installed) under `/cache/`, files in `<dir>/root/cache/…`.
pub struct NginxDav {
    /// The process.
    pub proc: ServerProc,
    /// The document root (objects are under `root/cache/`).
    pub root: PathBuf,
    auth: String,
}

impl NginxDav {
    /// Starts one with its data dir under `parent` (the sandbox root) behind `auth`; None (with a note) without nginx.
    pub fn start(parent: &Path, auth: DavAuth) -> Option<NginxDav> {
        if missing(&["nginx"]) {
            return None;
        }
        let make = |port: u16, dir: &Path| {
            std::fs::write(dir.join("nginx.conf"), nginx_conf(port, dir, auth)).unwrap();
            let mut c = Command::new("nginx");
            c.arg("-p").arg(dir).arg("-c").arg(dir.join("nginx.conf"));
            c
        };
        let ready = |port: u16| http(port, "GET", "/", &[], b"").is_some();
        let proc = start_on_free_port(parent, "nginx", make, ready);
        let root = proc.dir.join("root");
        let userinfo = match auth {
            DavAuth::Basic(u, p) => format!("{u}:{p}@"),
            _ => String::new(),
        };
        Some(NginxDav {
            proc,
            root,
            auth: userinfo,
        })
    }

    /// The tier URL (`http://[user:pass@]127.0.0.1:P/cache`).
    pub fn url(&self) -> String {
        format!("http://{}127.0.0.1:{}/cache", self.auth, self.proc.port)
    }

    /// The file of remote key `key` (e.g. `e/<hex>`) on disk.
    pub fn object(&self, key: &str) -> PathBuf {
        self.root.join("cache").join(key)
    }

    /// Keys (`<ns>/<name>`) of the regular files under `root/cache/<ns>/`,
    /// sorted.
    pub fn keys(&self, ns: &str) -> Vec<String> {
        let dir = self.root.join("cache").join(ns);
        let mut k: Vec<String> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().is_file())
                    .map(|e| format!("{ns}/{}", e.file_name().to_string_lossy()))
                    .collect()
            })
            .unwrap_or_default();
        k.sort();
        k
    }

    /// Every regular file under the root, recursively (any layout).
    pub fn file_count(&self) -> usize {
        count_files(&self.root)
    }

    /// Kills the server now.
    pub fn kill(&mut self) {
        self.proc.kill();
    }
}

fn count_files(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(|e| e.ok())
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                count_files(&p)
            } else {
                usize::from(p.is_file())
            }
        })
        .sum()
}

/// The nginx.conf of one server: foreground, one process, everything in
/// `dir`.
fn nginx_conf(port: u16, dir: &Path, auth: DavAuth) -> String {
    let d = dir.display();
    std::fs::create_dir_all(dir.join("root/cache")).unwrap();
    std::fs::create_dir_all(dir.join("body")).unwrap();
    format!(
        "{modules}daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/err.log;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n\
         client_max_body_size 0;\n  proxy_temp_path {d}/body;\n  fastcgi_temp_path {d}/body;\n\
         uwsgi_temp_path {d}/body;\n  scgi_temp_path {d}/body;\n\
         server {{\n    listen 127.0.0.1:{port};\n    root {d}/root;\n\
         location / {{\n      {auth}\n      dav_methods PUT DELETE MKCOL;\n{ext}\
         create_full_put_path on;\n      dav_access user:rw group:rw all:r;\n      autoindex on;\n    }}\n  }}\n}}\n",
        modules = dav_ext_module().map(|m| format!("load_module {};\n", m.display())).unwrap_or_default(),
        auth = auth_lines(dir, auth),
        ext = if dav_ext_module().is_some() { "      dav_ext_methods PROPFIND OPTIONS;\n      " } else { "      " },
    )
}

/// The dav-ext module's .so when the Debian package is installed.
fn dav_ext_module() -> Option<PathBuf> {
    let so = PathBuf::from("/usr/lib/nginx/modules/ngx_http_dav_ext_module.so");
    so.is_file().then_some(so)
}

/// The auth directives of the location; a basic-auth password file in
/// nginx's `{PLAIN}` scheme.
fn auth_lines(dir: &Path, auth: DavAuth) -> String {
    match auth {
        DavAuth::Open => String::new(),
        DavAuth::Basic(user, pass) => {
            let file = dir.join("htpasswd");
            std::fs::write(&file, format!("{user}:{{PLAIN}}{pass}\n")).unwrap();
            format!(
                "auth_basic \"zccache\";\n      auth_basic_user_file {};",
                file.display()
            )
        }
        DavAuth::Bearer(token) => {
            format!("if ($http_authorization != \"Bearer {token}\") {{ return 401; }}")
        }
    }
}

// ---------------------------------------------------------------- moto

/// Bucket every [`MotoS3`] server has.
pub const BUCKET: &str = "zccache";

/// moto's S3 server with the bucket [`BUCKET`]; any credentials work.
pub struct MotoS3 {
    /// The process.
    pub proc: ServerProc,
}

impl MotoS3 {
    /// Starts one with its data dir under `parent` (the sandbox root) and creates the bucket; None (with a note)
    /// without moto_server.
    pub fn start(parent: &Path) -> Option<MotoS3> {
        if missing(&["moto_server"]) {
            return None;
        }
        let make = |port: u16, _dir: &Path| {
            let mut c = Command::new("moto_server");
            c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            c
        };
        let ready = |port: u16| http(port, "GET", "/", &[], b"").is_some();
        let proc = start_on_free_port(parent, "moto", make, ready);
        let made = http(proc.port, "PUT", &format!("/{BUCKET}"), &[], b"");
        assert!(
            matches!(made, Some((200, _))),
            "creating bucket {BUCKET}: {made:?}\n{}",
            proc.log_text()
        );
        Some(MotoS3 { proc })
    }

    /// The tier URL for objects under `prefix` of the bucket.
    pub fn url(&self, prefix: &str) -> String {
        format!(
            "s3://{BUCKET}/{prefix}|endpoint=http://127.0.0.1:{}|region=us-east-1",
            self.proc.port
        )
    }

    /// Object keys in the bucket (first 1000), from a ListObjectsV2.
    pub fn keys(&self) -> Vec<String> {
        let path = format!("/{BUCKET}?list-type=2");
        let (code, body) = http(self.proc.port, "GET", &path, &[], b"").expect("list bucket");
        let body = text(&body);
        assert_eq!(code, 200, "list bucket: {body}");
        body.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next().map(String::from))
            .collect()
    }
}

// ---------------------------------------------------------------- hanging

/// A listener on 127.0.0.1 that accepts every connection and never
/// answers (connections are held open until drop).
pub struct HangingServer {
    /// The port.
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HangingServer {
    pub fn start() -> HangingServer {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = l.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in l.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                held.extend(conn.ok());
            }
        });
        HangingServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for HangingServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
