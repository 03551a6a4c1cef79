//! Build sessions: a window of per-build statistics opened by
//! `zccache session-start` (or `cargo zccache`) and closed by
//! `session-end`, by the exit of its owner process when it named one
//! (dead-man switch: `session-start --pid`, `cargo zccache` itself), or
//! after [`SESSION_IDLE_TIMEOUT`]. A session without an owner watches no
//! process: the parent of `session-start` is often a short-lived
//! command-substitution subshell or a Make recipe's shell. Launchers join a
//! session through the `ZCCACHE_SESSION_ID` environment variable.

use super::stats::Outcome;
use crate::ipc::SessionStats;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The environment variable launchers read to join a session.
pub(crate) const SESSION_ENV: &str = "ZCCACHE_SESSION_ID";

/// A session in which no request was counted for this long ends by itself
/// (one hour). While any session is open the daemon does not stop for
/// idleness, so an ownerless session lasts at least this long.
pub(crate) const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Errors of session ids.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum SessionError {
    /// Not of the form `s-` followed by 32 hex digits.
    #[error("malformed session id {0:?} (expected s- followed by 32 hex digits)")]
    Malformed(String),
}

/// Check the shape of a session id.
///
/// Errors: [`SessionError::Malformed`].
pub(crate) fn validate_id(id: &str) -> Result<(), SessionError> {
    let ok = id
        .strip_prefix("s-")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(SessionError::Malformed(id.to_string()))
    }
}

/// One open session.
#[derive(Debug)]
struct Session {
    owner_pid: Option<u32>,
    working_dir: PathBuf,
    journal: Option<PathBuf>,
    stats: SessionStats,
    sources: HashSet<String>,
    last_activity: Instant,
}

/// What a finished request contributes to its session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Contribution<'a> {
    /// The outcome.
    pub outcome: &'a Outcome,
    /// The source (or primary input) path, for unique-source counting.
    pub source: Option<&'a str>,
    /// Bytes restored from the cache (hits).
    pub bytes_read: u64,
    /// Bytes stored into the cache (misses).
    pub bytes_written: u64,
}

/// All open sessions of a daemon.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    open: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Open a session; returns its id (`s-` + 32 hex digits). It ends when
    /// `owner_pid` exits (`None`: no process is watched). A per-session
    /// `log_file` is accepted (protocol) but not written: the daemon log
    /// has every line.
    pub(crate) fn start(
        &self,
        owner_pid: Option<u32>,
        working_dir: PathBuf,
        journal: Option<PathBuf>,
        _log_file: Option<PathBuf>,
    ) -> String {
        let id = format!("s-{}", uuid::Uuid::new_v4().simple());
        let s = Session {
            owner_pid,
            working_dir,
            journal,
            stats: SessionStats::default(),
            sources: HashSet::new(),
            last_activity: Instant::now(),
        };
        if let Ok(mut m) = self.open.lock() {
            m.insert(id.clone(), s);
        }
        id
    }

    /// The stats of an open session (`None` when unknown or ended).
    pub(crate) fn stats(&self, id: &str) -> Option<SessionStats> {
        self.open.lock().ok()?.get(id).map(|s| s.stats.clone())
    }

    /// End a session, returning its final stats; unknown ids are a no-op.
    pub(crate) fn end(&self, id: &str) -> Option<SessionStats> {
        self.open.lock().ok()?.remove(id).map(|s| s.stats)
    }

    /// The journal file of a session, if it asked for one.
    pub(crate) fn journal(&self, id: &str) -> Option<PathBuf> {
        self.open.lock().ok()?.get(id)?.journal.clone()
    }

    /// Count a finished request in session `id` (ignored when unknown).
    pub(crate) fn record(&self, id: &str, c: Contribution<'_>) {
        let Ok(mut m) = self.open.lock() else { return };
        let Some(s) = m.get_mut(id) else { return };
        s.last_activity = Instant::now();
        let st = &mut s.stats;
        st.compilations += 1;
        match c.outcome {
            Outcome::Hit { saved_ms }
            | Outcome::PreprocessorHit { saved_ms }
            | Outcome::RemoteHit { saved_ms, .. } => {
                st.hits += 1;
                st.time_saved_ms += saved_ms;
            }
            Outcome::CachedError { saved_ms } => {
                st.cached_errors += 1;
                st.time_saved_ms += saved_ms;
            }
            Outcome::Miss(r) | Outcome::CompileFailed(r) => {
                st.misses += 1;
                *st.misses_by_reason.entry(r.label().into()).or_default() += 1;
            }
            Outcome::NonCacheable(r) => {
                st.non_cacheable += 1;
                *st.non_cacheable_by_reason
                    .entry(r.label().into())
                    .or_default() += 1;
            }
            Outcome::Error => st.errors += 1,
        }
        st.bytes_read += c.bytes_read;
        st.bytes_written += c.bytes_written;
        if let Some(src) = c.source {
            if s.sources.insert(src.to_string()) {
                st.unique_sources += 1;
            }
        }
    }

    /// End sessions whose owner exited or that idled past `idle`; returns
    /// the ids ended.
    pub(crate) fn reap(&self, idle: Duration) -> Vec<String> {
        let Ok(mut m) = self.open.lock() else {
            return Vec::new();
        };
        let dead: Vec<String> = m
            .iter()
            .filter(|(_, s)| {
                s.owner_pid.is_some_and(|p| !pid_alive(p)) || s.last_activity.elapsed() > idle
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in &dead {
            m.remove(id);
        }
        dead
    }

    /// End every session whose working dir is under `dir`; returns their ids.
    pub(crate) fn release_under(&self, dir: &Path) -> Vec<String> {
        let Ok(mut m) = self.open.lock() else {
            return Vec::new();
        };
        let ids: Vec<String> = m
            .iter()
            .filter(|(_, s)| s.working_dir.starts_with(dir))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            m.remove(id);
        }
        ids
    }

    /// Number of open sessions.
    pub(crate) fn len(&self) -> usize {
        self.open.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// True when no session is open.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// True while process `pid` exists (also when it belongs to another user:
/// signal 0 then fails with `EPERM`, not `ESRCH`). Pid 0 and pids beyond
/// `pid_t` never exist.
pub(crate) fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let sent = unsafe { libc::kill(pid, 0) } == 0;
    sent || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        let s = Sessions::default();
        let id = s.start(None, PathBuf::from("/tmp"), None, None);
        assert_eq!(validate_id(&id), Ok(()));
        assert!(validate_id("s-xyz").is_err());
        assert!(validate_id("").is_err());
    }

    #[test]
    fn stats_accumulate_and_end_is_idempotent() {
        let s = Sessions::default();
        let id = s.start(Some(std::process::id()), PathBuf::from("/w"), None, None);
        let hit = Outcome::Hit { saved_ms: 7 };
        s.record(
            &id,
            Contribution {
                outcome: &hit,
                source: Some("a.c"),
                bytes_read: 10,
                bytes_written: 0,
            },
        );
        s.record(
            &id,
            Contribution {
                outcome: &hit,
                source: Some("a.c"),
                bytes_read: 10,
                bytes_written: 0,
            },
        );
        let miss = Outcome::Miss(crate::daemon::reason::MissReason::FirstCompile);
        s.record(
            &id,
            Contribution {
                outcome: &miss,
                source: Some("b.c"),
                bytes_read: 0,
                bytes_written: 5,
            },
        );
        let st = s.end(&id).unwrap();
        assert_eq!(
            (st.compilations, st.hits, st.misses, st.unique_sources),
            (3, 2, 1, 2)
        );
        assert_eq!(
            (st.time_saved_ms, st.bytes_read, st.bytes_written),
            (14, 20, 5)
        );
        assert_eq!(s.end(&id), None);
    }

    #[test]
    fn dead_clients_and_released_dirs_end_sessions() {
        let s = Sessions::default();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let dead = s.start(Some(pid), PathBuf::from("/a"), None, None);
        let live = s.start(
            Some(std::process::id()),
            PathBuf::from("/work/tree/sub"),
            None,
            None,
        );
        assert_eq!(s.reap(SESSION_IDLE_TIMEOUT), vec![dead]);
        assert_eq!(s.release_under(Path::new("/work/tree")), vec![live]);
        assert!(s.is_empty());
    }

    #[test]
    fn ownerless_sessions_end_only_by_idling_or_end() {
        let s = Sessions::default();
        let id = s.start(None, PathBuf::from("/a"), None, None);
        assert!(s.reap(SESSION_IDLE_TIMEOUT).is_empty());
        assert!(s.stats(&id).is_some());
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(s.reap(Duration::ZERO), vec![id]);
        assert!(!pid_alive(0));
        assert!(pid_alive(1), "init exists (EPERM counts as alive)");
    }
}
