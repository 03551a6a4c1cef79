//! Why a pipeline refuses a request (the launcher then runs the tool
//! itself, unchanged): not cacheable, with a stable reason label that
//! stats and the journal print, or an internal failure of ours.

use crate::daemon::reason::Uncacheable;

/// A refused request.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Passed through: the stable reason label (`non_cacheable` map of
    /// `zccache stats`, journal `reason`) and a human detail.
    NonCacheable(Uncacheable, String),
    /// Our own failure (counted as an error); the message is logged.
    Internal(String),
}
