//! The end report of a `cargo zccache` run: the daemon's counters taken
//! before and after the cargo run (through the core library's IPC client)
//! and their difference. Counters are per daemon, so concurrent builds on
//! the same cache show up in each other's reports.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use zccache_core::config::Config;
use zccache_core::ipc::client::Client;
use zccache_core::ipc::{Request, Response, StatusReport};
use zccache_core::paths::CacheLayout;

/// Non-cacheable reasons that are cargo's probes, not crates.
const PROBE_REASONS: &[&str] = &["rustc_informational", "rustc_input"];

/// Start the daemon if needed (`zccache start`), so the report's first
/// snapshot exists.
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

/// The daemon's counters now.
///
/// Errors: when the config cannot be loaded or the daemon does not answer.
pub fn snapshot() -> Result<StatusReport> {
    let cfg = Config::load().context("loading the zccache configuration")?;
    let socket = CacheLayout::new(&cfg.cache_dir.value).socket();
    let mut client =
        Client::connect(&socket).with_context(|| format!("connecting to {}", socket.display()))?;
    match client.call(&Request::Status) {
        Ok(Response::Status(r)) => Ok(*r),
        Ok(other) => anyhow::bail!("unexpected daemon reply {other:?}"),
        Err(e) => Err(e).context("asking the daemon for its counters"),
    }
}

/// The report text for the counters between `before` and `after`.
pub fn render(before: &StatusReport, after: &StatusReport) -> String {
    let hits = after.cache_hits.saturating_sub(before.cache_hits);
    let misses = after.cache_misses.saturating_sub(before.cache_misses);
    let miss_reasons = diff(&before.misses_by_reason, &after.misses_by_reason);
    let mut nc = diff(
        &before.non_cacheable_by_reason,
        &after.non_cacheable_by_reason,
    );
    nc.retain(|(k, _)| !PROBE_REASONS.contains(&k.as_str()));
    let non_cacheable: u64 = nc.iter().map(|(_, n)| n).sum();
    let units = hits + misses + non_cacheable;
    let saved = after.time_saved_ms.saturating_sub(before.time_saved_ms) as f64 / 1000.0;
    let mut s = String::new();
    let _ = writeln!(s, "zccache: {units} compile units: {hits} hits, {misses} misses, {non_cacheable} non-cacheable; time saved {saved:.1} s");
    if !miss_reasons.is_empty() {
        let _ = writeln!(s, "  misses: {}", list(&miss_reasons));
    }
    if !nc.is_empty() {
        let _ = writeln!(s, "  non-cacheable: {}", list(&nc));
    }
    let errors = after.errors.saturating_sub(before.errors);
    if errors > 0 {
        let _ = writeln!(
            s,
            "  internal errors (compiled without the cache): {errors}"
        );
    }
    s
}

fn diff(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    after
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.saturating_sub(before.get(k).copied().unwrap_or(0)),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect()
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
    fn report_counts_the_difference_and_hides_probes() {
        let before = StatusReport {
            cache_hits: 1,
            ..Default::default()
        };
        let mut after = before.clone();
        after.cache_hits = 4;
        after.cache_misses = 1;
        after.time_saved_ms = 1500;
        after.misses_by_reason.insert("first_compile".into(), 1);
        after
            .non_cacheable_by_reason
            .insert("rustc_informational".into(), 3);
        after
            .non_cacheable_by_reason
            .insert("rustc_incremental".into(), 2);
        let r = render(&before, &after);
        assert!(
            r.contains("6 compile units: 3 hits, 1 misses, 2 non-cacheable; time saved 1.5 s"),
            "{r}"
        );
        assert!(r.contains("misses: first_compile 1"), "{r}");
        assert!(r.contains("non-cacheable: rustc_incremental 2"), "{r}");
    }
}
