//! `zccache remote check`: connect to each configured remote tier, write
//! and read back a probe object, and print the latency or exactly what is
//! wrong ("redis://10.0.0.5:6379: connection failed: …"). Nothing else
//! probes the tiers: a tier that is down never stops the daemon from
//! starting.

use crate::config::Config;
use crate::storage::remote::backend::{self, RemoteError};
use crate::storage::remote::spec::TierSpec;
use clap::Subcommand;
use std::time::{Duration, Instant};

/// `zccache remote …`.
#[derive(Debug, Subcommand)]
pub(crate) enum RemoteCmd {
    /// Write and read a probe object on every tier; exit 1 when any fails.
    Check,
}

/// Run a remote command; returns the exit code.
pub(crate) fn run(cfg: &Config, cmd: &RemoteCmd) -> i32 {
    let RemoteCmd::Check = cmd;
    let tiers = cfg.remote_tiers();
    if tiers.is_empty() {
        println!("no remote tiers configured (ZCCACHE_REMOTE, TOML remote)");
        return 0;
    }
    let mut failed = false;
    for spec in &tiers {
        match check(spec) {
            Ok((put, get)) => println!(
                "{}: ok (write {:.1} ms, read {:.1} ms{})",
                spec.redacted(),
                ms(put),
                ms(get),
                if spec.read_only {
                    ", read-only: write skipped"
                } else {
                    ""
                }
            ),
            Err(why) => {
                failed = true;
                println!("{}: {why}", spec.redacted());
            }
        }
    }
    i32::from(failed)
}

/// Write (unless read-only) and read back a probe object; the durations.
///
/// Errors: what went wrong, as one line.
fn check(spec: &TierSpec) -> Result<(Duration, Duration), String> {
    let backend = backend::open(spec).map_err(|e| e.to_string())?;
    let key = format!("probe/{}", uuid::Uuid::new_v4().simple());
    let value = b"zccache remote check".to_vec();
    let t0 = Instant::now();
    if !spec.read_only {
        backend.put(&key, &value).map_err(describe)?;
    }
    let put = t0.elapsed();
    let t1 = Instant::now();
    let got = backend.get(&key).map_err(describe)?;
    let get = t1.elapsed();
    if !spec.read_only && got.as_deref() != Some(value.as_slice()) {
        return Err("the probe read back differs from what was written".into());
    }
    Ok((put, get))
}

fn describe(e: RemoteError) -> String {
    e.to_string()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
