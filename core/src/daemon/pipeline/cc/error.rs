//! Why the C pipeline could not serve a compile it started: the launcher
//! then runs the compiler itself, so the build never breaks.

/// A failure of ours while compiling a miss.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CompileError {
    /// The compiler could not be started.
    #[error("cannot run {compiler}: {source}")]
    Spawn {
        /// The compiler as requested.
        compiler: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The launcher exited before the compile finished (make deleted the
    /// target then): no output is created behind the build's back.
    #[error("launcher exited before the compile finished")]
    LauncherGone,
    /// The outputs could not be renamed into place.
    #[error("cannot move outputs into place: {0}")]
    Publish(std::io::Error),
}
