//! The end report of a `cargo zccache` run: the stats of a daemon session
//! opened for the run (through the core library's IPC client). Launchers
//! started by cargo join it through `ZCCACHE_SESSION_ID`, so concurrent
//! builds on the same cache do not show up in each other's reports.

use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;
use zccache_core::config::Config;
use zccache_core::ipc::client::Client;
use zccache_core::ipc::{Request, Response, SessionRequest, SessionStats};
use zccache_core::paths::CacheLayout;

/// Non-cacheable reasons that are cargo's probes, not crates.
const PROBE_REASONS: &[&str] = &["rustc_informational", "rustc_input"];

/// Start the daemon if needed (`zccache start`), so the session can open.
///
/// Errors: when zccache cannot be run.
pub fn ensure_daemon(zccache: &Path) -> Result<()> {
    std::process::Command::new(zccache)
        .arg("start")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .with_context(|| format!("running {} start", zccache.display()))?;
    Ok(())
}

/// Connect to the daemon of the configured cache dir.
///
/// Errors: when the configuration cannot be loaded or nothing listens.
pub fn client() -> Result<Client> {
    let cfg = Config::load().context("loading the zccache configuration")?;
    let socket = CacheLayout::new(&cfg.cache_dir.value).socket();
    Client::connect(&socket).with_context(|| format!("connecting to {}", socket.display()))
}

/// Open a build session owned by this process (it ends if we die).
///
/// Errors: the daemon cannot be reached or refuses.
pub fn start_session() -> Result<String> {
    let req = Request::Session(SessionRequest::Start {
        owner_pid: Some(std::process::id()),
        working_dir: std::env::current_dir().unwrap_or_default(),
        log_file: None,
        journal: None,
    });
    match client()?.call(&req) {
        Ok(Response::SessionStarted { id }) => Ok(id),
        Ok(other) => anyhow::bail!("unexpected daemon reply {other:?}"),
        Err(e) => Err(e).context("starting a zccache session"),
    }
}

/// End the session and return its stats.
///
/// Errors: the daemon cannot be reached, or the session ended already.
pub fn end_session(id: &str) -> Result<SessionStats> {
    match client()?.call(&Request::Session(SessionRequest::End {
        id: id.to_string(),
    })) {
        Ok(Response::Session(Some(st))) => Ok(st),
        Ok(Response::Session(None)) => anyhow::bail!("session {id} had already ended"),
        Ok(other) => anyhow::bail!("unexpected daemon reply {other:?}"),
        Err(e) => Err(e).context("ending the zccache session"),
    }
}

/// The end report of one session: compile units, hits, misses with
/// reasons, non-cacheable calls with reasons (cargo's probes left out) and
/// time saved.
pub fn render(st: &SessionStats) -> String {
    let miss_reasons: Vec<(String, u64)> = st
        .misses_by_reason
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let nc: Vec<(String, u64)> = st
        .non_cacheable_by_reason
        .iter()
        .filter(|(k, _)| !PROBE_REASONS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let non_cacheable: u64 = nc.iter().map(|(_, n)| n).sum();
    let hits = st.hits + st.cached_errors;
    let units = hits + st.misses + non_cacheable;
    let saved = st.time_saved_ms as f64 / 1000.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "zccache: {units} compile units: {hits} hits, {} misses, {non_cacheable} non-cacheable; time saved {saved:.1} s",
        st.misses
    );
    if st.cached_errors > 0 {
        let _ = writeln!(s, "  cached errors replayed: {}", st.cached_errors);
    }
    if !miss_reasons.is_empty() {
        let _ = writeln!(s, "  misses: {}", list(&miss_reasons));
    }
    if !nc.is_empty() {
        let _ = writeln!(s, "  non-cacheable: {}", list(&nc));
    }
    if st.errors > 0 {
        let _ = writeln!(
            s,
            "  internal errors (compiled without the cache): {}",
            st.errors
        );
    }
    s
}

fn list(items: &[(String, u64)]) -> String {
    items
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lists_reasons_and_hides_probes() {
        let mut st = SessionStats {
            hits: 3,
            misses: 1,
            non_cacheable: 5,
            time_saved_ms: 1500,
            ..Default::default()
        };
        st.misses_by_reason.insert("first_compile".into(), 1);
        st.non_cacheable_by_reason
            .insert("rustc_informational".into(), 3);
        st.non_cacheable_by_reason
            .insert("rustc_incremental".into(), 2);
        let r = render(&st);
        assert!(
            r.contains("6 compile units: 3 hits, 1 misses, 2 non-cacheable; time saved 1.5 s"),
            "{r}"
        );
        assert!(r.contains("misses: first_compile 1"), "{r}");
        assert!(r.contains("non-cacheable: rustc_incremental 2"), "{r}");
    }
}
