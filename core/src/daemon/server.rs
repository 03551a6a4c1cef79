//! The daemon's socket server: accept connections, decode versioned frames,
//! dispatch each request group to its handler (admin, compile, exec,
//! session, fingerprint, cargo warm), send heartbeats while a compile, an
//! exec, a fingerprint walk or a warm save/restore runs, and stop on
//! `Shutdown` or after the idle timeout (not while a build session is open).

use super::journal;
use super::launch_settings;
use super::pipeline::farm::Farm;
use super::pipeline::{self, probe, Stage};
use super::services;
use super::session::SESSION_IDLE_TIMEOUT;
use super::state::DaemonState;
use crate::ipc::framing::{decode, encode, encode_with_version, parse_header};
use crate::ipc::{
    AdminRequest, CompileRequest, ErrorKind, Request, Response, RustWarmRequest, StatusReport,
    PROTOCOL_VERSION,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Notify;

/// Interval of `Working` heartbeats during a compile.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// How often the idle timer and the index flush run.
const TICK: Duration = Duration::from_secs(1);
/// Index flush period, in ticks.
const FLUSH_EVERY_TICKS: u64 = 30;
/// Longest wait for in-flight requests at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Suggested wait in a `Busy` reply, ms.
const BUSY_RETRY_MS: u64 = 50;

struct Shared {
    state: Arc<DaemonState>,
    shutdown: Notify,
    active: AtomicUsize,
    /// Compiles running on the blocking pool.
    running: AtomicUsize,
}

/// Counts one running compile for as long as it lives.
struct RunningGuard<'a>(&'a AtomicUsize);

impl<'a> RunningGuard<'a> {
    fn new(c: &'a AtomicUsize) -> Self {
        c.fetch_add(1, Ordering::SeqCst);
        RunningGuard(c)
    }
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serve until shutdown. Returns when no request is in flight any more
/// (or after `DRAIN_TIMEOUT`, 60 s).
pub(crate) async fn serve(listener: UnixListener, state: Arc<DaemonState>) {
    let shared = Arc::new(Shared {
        state,
        shutdown: Notify::new(),
        active: AtomicUsize::new(0),
        running: AtomicUsize::new(0),
    });
    shared.state.lifecycle().touch();
    tokio::spawn(housekeeping(shared.clone()));
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, shared.clone()));
                }
                Err(e) => tracing::warn!(error = %e, "accept failed"),
            },
            _ = shared.shutdown.notified() => break,
        }
    }
    drain(&shared).await;
}

async fn drain(shared: &Shared) {
    let deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    while shared.active.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn housekeeping(shared: Arc<Shared>) {
    let mut ticks = 0u64;
    let mut interval = tokio::time::interval(TICK);
    loop {
        interval.tick().await;
        ticks += 1;
        let st = &shared.state;
        for id in st.accounting().sessions().reap(SESSION_IDLE_TIMEOUT) {
            tracing::info!(session = %id, "session ended (owner exited or idle)");
        }
        // An open session keeps the daemon (which holds it) alive; sessions
        // end by themselves after SESSION_IDLE_TIMEOUT.
        let idle_limit_ms = st.lifecycle().idle_timeout().as_millis() as u64;
        if idle_limit_ms > 0
            && st.lifecycle().idle_ms() > idle_limit_ms
            && shared.active.load(Ordering::SeqCst) == 0
            && st.accounting().sessions().is_empty()
        {
            tracing::info!("idle timeout reached; stopping");
            shared.shutdown.notify_one();
            return;
        }
        if ticks.is_multiple_of(FLUSH_EVERY_TICKS) {
            let st = st.clone();
            let _ = tokio::task::spawn_blocking(move || st.storage().flush_index()).await;
        }
    }
}

async fn connection(mut stream: UnixStream, shared: Arc<Shared>) {
    loop {
        let Some(request) = read_request(&mut stream).await else {
            return;
        };
        shared.state.lifecycle().touch();
        let stop = matches!(request, Request::Admin(AdminRequest::Shutdown));
        shared.active.fetch_add(1, Ordering::SeqCst);
        let ok = dispatch(&mut stream, &shared, request).await;
        shared.active.fetch_sub(1, Ordering::SeqCst);
        shared.state.lifecycle().touch();
        if stop {
            shared.shutdown.notify_one();
            return;
        }
        if !ok {
            return;
        }
    }
}

/// Read one request frame. `None` when the connection is done: closed,
/// garbage, a client of another protocol version (answered with a
/// [`ErrorKind::ProtocolMismatch`] error in our version) or an undecodable
/// request (answered with [`ErrorKind::BadRequest`]).
async fn read_request(stream: &mut UnixStream) -> Option<Request> {
    let mut header = [0u8; 8];
    stream.read_exact(&mut header).await.ok()?;
    let (len, version) = parse_header(&header).ok()?;
    let mut payload = vec![0u8; len as usize];
    stream.read_exact(&mut payload).await.ok()?;
    if version != PROTOCOL_VERSION {
        let msg = format!(
            "protocol mismatch: daemon speaks version {PROTOCOL_VERSION}, client speaks {version}"
        );
        tracing::warn!("{msg}");
        let reply = Response::error(ErrorKind::ProtocolMismatch, msg);
        if let Ok(bytes) = encode_with_version(&reply, PROTOCOL_VERSION) {
            let _ = stream.write_all(&bytes).await;
        }
        return None;
    }
    match decode(&payload) {
        Ok(r) => Some(r),
        Err(e) => {
            let _ = send(
                stream,
                &Response::error(ErrorKind::BadRequest, e.to_string()),
            )
            .await;
            None
        }
    }
}

async fn send(stream: &mut UnixStream, response: &Response) -> bool {
    match encode(response) {
        Ok(bytes) => stream.write_all(&bytes).await.is_ok(),
        Err(_) => false,
    }
}

/// Serve one request: each service group goes to its own handler. Returns
/// false when the reply could not be sent (the client is gone).
async fn dispatch(stream: &mut UnixStream, shared: &Arc<Shared>, request: Request) -> bool {
    let st = shared.state.clone();
    let response = match request {
        Request::Admin(req) => admin(st, req).await,
        Request::Session(req) => services::session(&st, &req),
        Request::Fingerprint(req) => {
            let job = tokio::task::spawn_blocking(move || services::fingerprint(&st, &req));
            return with_heartbeats(stream, job, internal_error).await;
        }
        Request::Exec(req) => {
            let job = tokio::task::spawn_blocking(move || pipeline::exec::handle_exec(&st, &req));
            return with_heartbeats(stream, job, |e| Response::RunLocally {
                reason: format!("exec task failed: {e}"),
            })
            .await;
        }
        Request::RustWarm(req) => return rust_warm(stream, st, req).await,
        Request::Compile(req) => return compile(stream, shared, req).await,
    };
    send(stream, &response).await
}

/// The reply for a panicked blocking task.
fn internal_error(e: tokio::task::JoinError) -> Response {
    Response::error(ErrorKind::Internal, format!("task failed: {e}"))
}

/// Admin requests: quick, except `Clear`, which removes the store's files
/// on the blocking pool.
async fn admin(st: Arc<DaemonState>, req: AdminRequest) -> Response {
    match req {
        AdminRequest::Ping => Response::Pong {
            pid: std::process::id(),
        },
        AdminRequest::Shutdown => Response::ShuttingDown,
        AdminRequest::Status => Response::Status(Box::new(status(&st))),
        AdminRequest::Clear => blocking(move || clear(&st)).await,
        AdminRequest::Explain { output } => services::explain(&st, output.as_deref()),
    }
}

/// Cargo warm requests: saving hashes and restoring copies whole build
/// dirs, so they run off the event loop, with heartbeats so the client can
/// tell slow from wedged.
async fn rust_warm(stream: &mut UnixStream, st: Arc<DaemonState>, req: RustWarmRequest) -> bool {
    let job = tokio::task::spawn_blocking(move || super::rust_warm::handle(&st, &req));
    with_heartbeats(stream, job, |e| {
        Response::error(ErrorKind::Internal, format!("warm task failed: {e}"))
    })
    .await
}

/// A compile: hits are served right here (a hand-off to the blocking pool
/// costs more than the whole lookup, measured ~1 ms per hit); a compile
/// that has to run goes to the blocking pool with heartbeats, or gets a
/// `Busy` reply when [`Lifecycle::max_jobs`](super::state::Lifecycle::max_jobs) compiles already run.
async fn compile(stream: &mut UnixStream, shared: &Arc<Shared>, req: CompileRequest) -> bool {
    let st = shared.state.clone();
    let req = match launch_settings::apply(&st.layout().root, req) {
        Ok(req) => req,
        Err(reply) => return send(stream, &reply).await,
    };
    // A hit's journal line is queued after its reply is sent.
    let (stage, journal_lines) = journal::hold(|| probe(&st, &req));
    let work = match stage {
        Stage::Done(response) => {
            let sent = send(stream, &response).await;
            journal_lines.release();
            return sent;
        }
        Stage::Work(_) if shared.running.load(Ordering::SeqCst) >= job_limit(&st, &req) => {
            // Backpressure: the launcher retries later or compiles by
            // itself; hits already restored stay valid.
            st.lifecycle().note_busy_reply();
            let busy = Response::Busy {
                retry_after_ms: BUSY_RETRY_MS,
            };
            return send(stream, &busy).await;
        }
        Stage::Work(work) => work,
    };
    journal_lines.release();
    let _running = RunningGuard::new(&shared.running);
    let job = tokio::task::spawn_blocking(move || work.run(&st, &req));
    with_heartbeats(stream, job, |e| Response::RunLocally {
        reason: format!("compile task failed: {e}"),
    })
    .await
}

/// The bound on compiles in flight when `req` must compile: the configured
/// `max_jobs`, else the capacity of the farm its misses go to (distcc's
/// `DISTCC_HOSTS` slots), else the default (4 × the number of cores).
fn job_limit(st: &DaemonState, req: &CompileRequest) -> usize {
    let life = st.lifecycle();
    if life.max_jobs_configured() {
        return life.max_jobs();
    }
    if let Some(executor) = st.executor() {
        return life.max_jobs() + executor.admitted_jobs();
    }
    match Farm::of_request(req) {
        Ok(Some(farm)) => farm.capacity(req).unwrap_or(life.max_jobs()),
        _ => life.max_jobs(),
    }
}

/// Run `f` on the blocking pool; a panic of it becomes an
/// [`ErrorKind::Internal`] error reply.
async fn blocking<F: FnOnce() -> Response + Send + 'static>(f: F) -> Response {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Response::error(ErrorKind::Internal, e.to_string()))
}

/// Send `Working` every [`HEARTBEAT`] until `job` is done, then its
/// response (`on_panic` of the join error if the job panicked).
async fn with_heartbeats(
    stream: &mut UnixStream,
    mut job: tokio::task::JoinHandle<Response>,
    on_panic: fn(tokio::task::JoinError) -> Response,
) -> bool {
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.tick().await;
    loop {
        tokio::select! {
            done = &mut job => {
                let response = done.unwrap_or_else(on_panic);
                return send(stream, &response).await;
            }
            _ = beat.tick() => {
                if !send(stream, &Response::Working).await {
                    // The launcher is gone; let the compile finish so no temp file leaks.
                    let _ = job.await;
                    return false;
                }
            }
        }
    }
}

/// The status report of this daemon.
pub(crate) fn status(st: &DaemonState) -> StatusReport {
    let (entries, bytes) = st.storage().usage();
    let mut r = StatusReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        protocol_version: PROTOCOL_VERSION,
        pid: std::process::id(),
        uptime_ms: st.lifecycle().uptime().as_millis() as u64,
        cache_dir: st.layout().root.display().to_string(),
        socket: st.layout().socket().display().to_string(),
        entries,
        bytes,
        max_size: st.storage().max_size(),
        metadata_entries: st.meta().len() as u64,
        active_sessions: st.accounting().sessions().len() as u64,
        backpressure_replies: st.lifecycle().busy_replies(),
        max_jobs: st.lifecycle().max_jobs() as u64,
        dep_graph_contexts: st.storage().manifests_in_memory() as u64,
        remote: st
            .storage()
            .remote()
            .map(|r| r.tiers().iter().map(|t| t.report()).collect())
            .unwrap_or_default(),
        remote_exec: st.executor().map(|e| e.report()),
        ..StatusReport::default()
    };
    st.accounting().stats().fill(&mut r);
    r
}

fn clear(st: &DaemonState) -> Response {
    st.meta().clear();
    st.listings().clear();
    match st.storage().clear() {
        Ok((entries, bytes)) => Response::Cleared { entries, bytes },
        Err(e) => Response::error(ErrorKind::Store, format!("clear failed: {e}")),
    }
}
