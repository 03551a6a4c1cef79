//! The per-user daemon: one per cache dir. [`run`] takes the daemon lock,
//! opens the storage, binds the socket and serves until shutdown. The
//! [`server`] reads requests and hands compile requests to the tool
//! [`pipeline`]s; [`state`] is what they share.

pub(crate) mod explain;
pub(crate) mod journal;
pub(crate) mod launch_settings;
pub(crate) mod pipeline;
pub(crate) mod reason;
pub(crate) mod rust_warm;
pub(crate) mod server;
pub(crate) mod services;
pub(crate) mod session;
pub(crate) mod state;
pub(crate) mod stats;

use crate::config::Config;
use crate::paths::CacheLayout;
use crate::storage::Storage;
use fs4::fs_std::FileExt;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

/// Longest the daemon waits at stop for queued remote uploads (a CI job's
/// last build must reach the shared cache); `zccache stop` waits longer.
const UPLOAD_DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Errors that stop a daemon from starting.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DaemonError {
    /// The cache dir or its files cannot be created.
    #[error("cache dir {path}: {source}")]
    CacheDir {
        /// The path involved.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] crate::storage::StoreError),
    /// The async runtime could not start.
    #[error("runtime: {0}")]
    Runtime(std::io::Error),
}

/// What [`run`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RunOutcome {
    /// Served until shutdown.
    Served,
    /// Another daemon already holds the lock for this cache dir.
    AlreadyRunning,
}

fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> DaemonError + '_ {
    move |source| DaemonError::CacheDir {
        path: path.display().to_string(),
        source,
    }
}

/// Run the daemon for `config`'s cache dir in the foreground.
///
/// Errors: [`DaemonError`] when the cache dir, store, socket or runtime
/// cannot be set up.
pub(crate) fn run(config: &Config) -> Result<RunOutcome, DaemonError> {
    let layout = CacheLayout::new(&config.cache_dir.value);
    layout.ensure().map_err(io_err(&layout.root))?;
    init_logging(&layout, config.debug.value);
    let lock_path = layout.daemon_lock();
    let lock = std::fs::File::create(&lock_path).map_err(io_err(&lock_path))?;
    if !matches!(lock.try_lock_exclusive(), Ok(true)) {
        return Ok(RunOutcome::AlreadyRunning);
    }
    let tmp = layout.root.join("tmp");
    std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    let tiers = config.remote_tiers();
    let executor = state::remote_exec::RemoteExecutor::from_tiers(&tiers);
    let storage = Storage::open(&layout.store(), config.max_size.value, tiers)?;
    let state = Arc::new(
        state::DaemonState::new(
            layout.clone(),
            storage,
            config.idle_timeout_secs.value,
            config.max_jobs.value as usize,
        )
        .with_executor(executor),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    let socket = layout.socket();
    let listener = rt
        .block_on(async { bind(&socket) })
        .map_err(io_err(&socket))?;
    let pid_file = layout.pid_file();
    std::fs::write(&pid_file, std::process::id().to_string()).map_err(io_err(&pid_file))?;
    tracing::info!(pid = std::process::id(), cache_dir = %layout.root.display(), "daemon started; compile concurrency uncapped");
    state::verifier::start(state.clone());
    // The accept loop runs as a task on a worker thread, not on this one:
    // the worker that sees a connection's readiness then accepts it and
    // runs its request itself, with no wake-up of another thread on the
    // way (each costs tens of µs under a hypervisor).
    let served = rt.block_on(rt.spawn(server::serve(listener, state.clone())));
    if let Err(e) = served {
        tracing::error!(error = %e, "the server task failed");
    }
    // Without the socket new launchers compile directly (or start a new
    // daemon once this one exits) while the uploads finish.
    let _ = std::fs::remove_file(&socket);
    state.storage().finish_uploads(UPLOAD_DRAIN_LIMIT);
    let _ = state.storage().flush_index();
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_file(&pid_file);
    tracing::info!("daemon stopped");
    drop(lock);
    Ok(RunOutcome::Served)
}

fn bind(socket: &std::path::Path) -> std::io::Result<tokio::net::UnixListener> {
    // We hold the daemon lock, so any socket file left here is stale.
    let _ = std::fs::remove_file(socket);
    let listener = tokio::net::UnixListener::bind(socket)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

fn init_logging(layout: &CacheLayout, debug: bool) {
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(layout.daemon_log())
    else {
        return;
    };
    let level = if debug { "debug" } else { "info" };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}
