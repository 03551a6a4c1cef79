//! The result of compiling or serving one source of a compile request.

use crate::daemon::stats::Outcome;

/// The result of one source of a request.
#[derive(Debug)]
pub(crate) struct SourceResult {
    /// Exit code of this source's compile (0 on a hit).
    pub exit_code: i32,
    /// stdout bytes.
    pub stdout: Vec<u8>,
    /// stderr bytes.
    pub stderr: Vec<u8>,
    /// How it was served.
    pub outcome: Outcome,
    /// Bytes restored from the cache.
    pub bytes_read: u64,
    /// Bytes stored into the cache.
    pub bytes_written: u64,
    /// The compile was stored as a new entry (a miss that may become a
    /// define sibling).
    pub stored: bool,
}
