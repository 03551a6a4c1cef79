//! Request and response messages. The wire format is bincode inside the
//! frames of [`super::framing`]; every frame carries [`PROTOCOL_VERSION`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Version of this protocol; bump on any change to the types below.
pub const PROTOCOL_VERSION: u32 = 2;

/// One compile through the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompileRequest {
    /// The real compiler, as resolved by the launcher (absolute; symlinks
    /// kept, since clang++ and clang differ only by name).
    pub compiler: PathBuf,
    /// Arguments after argv[0], unexpanded (`@rsp` still in place).
    pub args: Vec<String>,
    /// The launcher's working directory.
    pub cwd: PathBuf,
    /// The launcher's whole environment; the compiler runs with exactly it.
    pub env: Vec<(String, String)>,
    /// The launcher's pid.
    pub client_pid: u32,
    /// The launcher's umask; files the compile creates get `0o666 & !umask`.
    pub umask: u32,
}

/// A request from a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Health check.
    Ping,
    /// Stop the daemon after replying.
    Shutdown,
    /// Counters and store usage.
    Status,
    /// Drop every entry and cached metadata.
    Clear,
    /// Compile through the cache.
    Compile(CompileRequest),
}

/// Counters and facts about a running daemon (`zccache status`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// zccache version.
    pub version: String,
    /// [`PROTOCOL_VERSION`] of the daemon.
    pub protocol_version: u32,
    /// Daemon pid.
    pub pid: u32,
    /// Time since start, ms.
    pub uptime_ms: u64,
    /// Cache root.
    pub cache_dir: String,
    /// Socket path.
    pub socket: String,
    /// Compiles served from the cache (per source).
    pub cache_hits: u64,
    /// Compiles that ran the compiler and were stored (or tried to be).
    pub cache_misses: u64,
    /// Requests passed through unchanged.
    pub non_cacheable: u64,
    /// Internal failures that fell back to a plain compile.
    pub errors: u64,
    /// Misses whose compile failed (not stored).
    pub compile_failed: u64,
    /// Sum of the original compile times of all hits, ms.
    pub time_saved_ms: u64,
    /// Records in the store.
    pub entries: u64,
    /// Bytes in the store.
    pub bytes: u64,
    /// Size cap, bytes.
    pub max_size: u64,
    /// Files with a cached digest in memory.
    pub metadata_entries: u64,
    /// Miss count per reason label.
    pub misses_by_reason: BTreeMap<String, u64>,
    /// Non-cacheable count per reason label.
    pub non_cacheable_by_reason: BTreeMap<String, u64>,
    /// Warnings per label (e.g. `ar_nondeterministic`), also in the
    /// daemon log; never printed on the tool's stderr.
    pub warnings_by_reason: BTreeMap<String, u64>,
}

/// A reply from the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Reply to [`Request::Ping`].
    Pong {
        /// Daemon pid.
        pid: u32,
    },
    /// The daemon will stop.
    ShuttingDown,
    /// Reply to [`Request::Status`].
    Status(Box<StatusReport>),
    /// Reply to [`Request::Clear`]: records and bytes freed.
    Cleared {
        /// Records removed.
        entries: u64,
        /// Bytes freed.
        bytes: u64,
    },
    /// Still compiling; sent every second so the client can tell a slow
    /// compile from a wedged daemon.
    Working,
    /// The compile finished (from cache or not): replay these exactly.
    Compiled {
        /// The compiler's exit code.
        exit_code: i32,
        /// Its stdout bytes.
        stdout: Vec<u8>,
        /// Its stderr bytes.
        stderr: Vec<u8>,
    },
    /// Not cacheable: the client runs the compiler itself, unchanged.
    RunLocally {
        /// Why, for the client log.
        reason: String,
    },
    /// The request could not be served.
    Error {
        /// One-line description.
        message: String,
    },
}
