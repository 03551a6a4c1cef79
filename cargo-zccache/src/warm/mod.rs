//! `cargo zccache warm` and the snapshot it restores.
//!
//! After a `cargo zccache <build|check|test|…>` that exits 0, the unit
//! files of every registry and git crate in the build dir ([`scan`]) are
//! saved by the daemon as the snapshot of a scope ([`scope`]: absolute
//! build dir, `Cargo.lock`, rustc, `CARGO_HOME`). `cargo zccache warm`
//! asks the daemon to write that snapshot back, group by group, wherever
//! nothing of a group exists; a following plain `cargo build` then finds
//! those crates `Fresh` by its own fingerprint check and compiles only the
//! workspace (through the rustc cache when `RUSTC_WRAPPER` is set).

mod scan;
mod scope;

use super::report;
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use zccache_core::cargo_warm::{group_present, WarmScope};
use zccache_core::ipc::{
    Request, Response, RustWarmRequest, WarmGroup, WarmListing, WarmRestoreReport, WarmSaveReport,
};

/// Subcommands after whose success a snapshot is saved.
const SNAPSHOT_SUBCOMMANDS: &[&str] = &[
    "build", "b", "check", "c", "test", "t", "bench", "run", "r", "rustc", "clippy", "doc", "d",
];

/// Environment variable that turns the snapshot off when set to `0`.
const SNAPSHOT_ENV: &str = "ZCCACHE_WARM_SNAPSHOT";

/// `cargo zccache warm [--dry-run] [--manifest-path P]`: restore (or list)
/// the snapshot of the workspace. Returns the exit code: 0 when done or
/// when there is nothing to restore.
///
/// Errors: when the workspace, rustc or the daemon cannot be reached, or
/// the daemon fails to restore a group (what it wrote of that group is
/// removed).
pub fn warm(zccache: &Path, dry_run: bool, manifest_path: Option<PathBuf>) -> Result<i32> {
    let loc = scope::Location {
        manifest_path,
        ..Default::default()
    };
    let ws = scope::workspace(&loc).context("warm: finding the workspace")?;
    let Some((_, scope)) = scope::scope(&ws).context("warm")? else {
        eprintln!(
            "cargo-zccache: warm: no Cargo.lock in {}; nothing to restore",
            ws.root.display()
        );
        return Ok(0);
    };
    report::ensure_daemon(zccache)?;
    let mut client = report::client()?;
    let request = if dry_run {
        RustWarmRequest::List { scope: scope.0 }
    } else {
        RustWarmRequest::Restore {
            scope: scope.0,
            target_dir: ws.build_dir.clone(),
        }
    };
    let reply = client
        .call(&Request::RustWarm(request))
        .context("warm: asking the daemon")?;
    let none = || {
        eprintln!(
            "cargo-zccache: warm: no snapshot for this Cargo.lock, toolchain and target dir ({}, scope {}); nothing to restore (a successful `cargo zccache build` saves one)",
            ws.build_dir.display(),
            scope.short_hex()
        );
        Ok(0)
    };
    match reply {
        Response::RustWarmRestored(r) if !r.found => none(),
        Response::RustArtifacts(None) => none(),
        Response::RustWarmRestored(r) => {
            eprintln!("{}", restored_line(&r, &ws.build_dir));
            Ok(0)
        }
        Response::RustArtifacts(Some(listing)) => {
            print_dry_run(&listing, &ws.build_dir);
            Ok(0)
        }
        Response::Error { message, .. } => bail!("warm: {message}"),
        other => bail!("warm: unexpected daemon reply {other:?}"),
    }
}

/// The summary line of a restore.
fn restored_line(r: &WarmRestoreReport, build_dir: &Path) -> String {
    format!(
        "cargo-zccache: warm: restored {} unit groups ({} files, {}) into {}; skipped {} already present",
        r.restored_groups,
        r.files,
        human_bytes(r.bytes),
        build_dir.display(),
        r.skipped_groups
    )
}

/// List what a restore would do, one group per line, and a summary.
fn print_dry_run(listing: &WarmListing, build_dir: &Path) {
    let (mut restore, mut skip, mut files, mut bytes) = (0u64, 0u64, 0u64, 0u64);
    for g in &listing.groups {
        let paths = g.files.iter().map(|f| f.path.as_str());
        let present = group_present(build_dir, &g.profile, &g.unit, paths);
        let size: u64 = g.files.iter().map(|f| f.size).sum();
        let action = if present { "skip (present)" } else { "restore" };
        println!(
            "{action} {}/{}: {} files, {}",
            g.profile,
            g.unit,
            g.files.len(),
            human_bytes(size)
        );
        if present {
            skip += 1;
        } else {
            restore += 1;
            files += g.files.len() as u64;
            bytes += size;
        }
    }
    eprintln!(
        "cargo-zccache: warm --dry-run: would restore {restore} unit groups ({files} files, {}) into {}; would skip {skip} already present; nothing written",
        human_bytes(bytes),
        build_dir.display()
    );
}

/// After `cargo <args…>` exited 0: save the snapshot of its build dir and
/// print one line about it. `misses` is the session's rustc miss count
/// (`None` when unknown). Never fails the build: problems are printed.
pub fn save_after_build(args: &[OsString], misses: Option<u64>) {
    let sub = args.first().and_then(|a| a.to_str()).unwrap_or("");
    if !SNAPSHOT_SUBCOMMANDS.contains(&sub)
        || std::env::var_os(SNAPSHOT_ENV).is_some_and(|v| v == "0")
    {
        return;
    }
    match save(&args[1..], misses == Some(0)) {
        Ok(Some(line)) => eprintln!("{line}"),
        Ok(None) => {}
        Err(e) => eprintln!("zccache: warm snapshot not saved: {e:#}"),
    }
}

/// Save the snapshot; `None` when there is nothing to save. With
/// `all_hits` (no rustc ran: every unit was fresh or served from the cache)
/// and a snapshot that already lists exactly the scanned groups and files,
/// the snapshot is kept as it is: its outputs are what the cache just
/// restored, and rereading every restored file (fresh mtimes defeat the
/// daemon's size+mtime shortcut) would cost a full pass over the build dir.
fn save(args: &[OsString], all_hits: bool) -> Result<Option<String>> {
    let ws = scope::workspace(&scope::Location::from_args(args))?;
    let Some((lock, scope)) = scope::scope(&ws)? else {
        return Ok(None);
    };
    let names = scan::LockNames::parse(&String::from_utf8_lossy(&lock))?;
    let groups = scan::scan(&ws.build_dir, &names);
    if groups.is_empty() {
        return Ok(None);
    }
    if all_hits && snapshot_lists(&scope, &groups)? {
        return Ok(Some(format!(
            "zccache: warm snapshot kept: {} unit groups, no rustc ran",
            groups.len()
        )));
    }
    let request = Request::RustWarm(RustWarmRequest::Save {
        scope: scope.0,
        target_dir: ws.build_dir,
        groups,
    });
    match report::client()?
        .call(&request)
        .context("asking the daemon")?
    {
        Response::RustWarmSaved(r) => Ok(Some(saved_line(&r))),
        Response::Error { message, .. } => bail!("{message}"),
        other => bail!("unexpected daemon reply {other:?}"),
    }
}

/// True when the scope's snapshot has exactly `groups`: the same units,
/// each with the same files.
fn snapshot_lists(scope: &WarmScope, groups: &[WarmGroup]) -> Result<bool> {
    let request = Request::RustWarm(RustWarmRequest::List { scope: scope.0 });
    let listing = match report::client()?
        .call(&request)
        .context("asking the daemon")?
    {
        Response::RustArtifacts(Some(listing)) => listing,
        Response::RustArtifacts(None) => return Ok(false),
        Response::Error { message, .. } => bail!("{message}"),
        other => bail!("unexpected daemon reply {other:?}"),
    };
    let stored: BTreeSet<(&str, &str, BTreeSet<&str>)> = listing
        .groups
        .iter()
        .map(|g| {
            let files = g.files.iter().map(|f| f.path.as_str()).collect();
            (g.profile.as_str(), g.unit.as_str(), files)
        })
        .collect();
    let scanned: BTreeSet<(&str, &str, BTreeSet<&str>)> = groups
        .iter()
        .map(|g| {
            let files = g.files.iter().map(String::as_str).collect();
            (g.profile.as_str(), g.unit.as_str(), files)
        })
        .collect();
    Ok(stored == scanned)
}

/// The one line printed after a save.
fn saved_line(r: &WarmSaveReport) -> String {
    let skipped = match r.skipped_groups {
        0 => String::new(),
        n => format!("; {n} groups left out (changed while read)"),
    };
    if !r.changed {
        return format!(
            "zccache: warm snapshot unchanged: {} unit groups{skipped}",
            r.groups
        );
    }
    format!(
        "zccache: warm snapshot saved: {} unit groups, {} files, {} ({} files read, {} new in the cache){skipped}",
        r.groups,
        r.files,
        human_bytes(r.bytes),
        r.hashed_files,
        human_bytes(r.stored_bytes)
    )
}

/// `n` bytes as `B`, `KiB`, `MiB` or `GiB` with one decimal.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_lines() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
        let r = WarmSaveReport {
            groups: 2,
            changed: false,
            ..Default::default()
        };
        assert_eq!(
            saved_line(&r),
            "zccache: warm snapshot unchanged: 2 unit groups"
        );
    }
}
