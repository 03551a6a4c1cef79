//! The request journal: one JSON line per request, appended by a background
//! thread so that writing it never delays a build. The daemon-wide journal
//! lives at `<cache>/logs/journal.jsonl`; a session may name its own file.
//! Files rotate by size (one `.1` generation kept).

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Sender};
use std::sync::Mutex;

/// Size at which a journal file is rotated, in bytes (16 MiB).
pub(crate) const ROTATE_BYTES: u64 = 16 << 20;

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JournalLine {
    /// Wall time, ms since the Unix epoch.
    pub time_ms: u64,
    /// Session id, if the request belonged to one.
    pub session: Option<String>,
    /// `hit`, `miss`, `non_cacheable`, `error`, `cached_error`, `link_hit`, `link_miss`.
    pub outcome: String,
    /// Miss or non-cacheable reason label.
    pub reason: Option<String>,
    /// Time from request arrival to reply, ns.
    pub latency_ns: u64,
    /// The compiler or tool path.
    pub compiler: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: String,
    /// The source this line is about, if any.
    pub source: Option<String>,
    /// The output written, if any.
    pub output: Option<String>,
}

/// The background writer.
#[derive(Debug)]
pub(crate) struct Journal {
    tx: Mutex<Sender<(PathBuf, String)>>,
}

impl Journal {
    /// Start the writer thread.
    pub(crate) fn start() -> Journal {
        let (tx, rx) = channel::<(PathBuf, String)>();
        std::thread::Builder::new()
            .name("zccache-journal".into())
            .spawn(move || {
                for (path, line) in rx {
                    if let Err(e) = append(&path, &line) {
                        tracing::debug!(error = %e, path = %path.display(), "journal write failed");
                    }
                }
            })
            .ok();
        Journal { tx: Mutex::new(tx) }
    }

    /// Queue `line` for each of `files` (never blocks on I/O).
    pub(crate) fn write(&self, files: &[PathBuf], line: &JournalLine) {
        let Ok(text) = serde_json::to_string(line) else {
            return;
        };
        let Ok(tx) = self.tx.lock() else { return };
        for f in files {
            let _ = tx.send((f.clone(), text.clone()));
        }
    }
}

fn append(path: &Path, line: &str) -> std::io::Result<()> {
    if std::fs::metadata(path)
        .map(|m| m.len() >= ROTATE_BYTES)
        .unwrap_or(false)
    {
        let mut rotated = path.as_os_str().to_owned();
        rotated.push(".1");
        std::fs::rename(path, rotated)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(format!("{line}\n").as_bytes())
}

/// Current wall time in ms since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_appended_and_rotated() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("j.jsonl");
        std::fs::write(&p, vec![b'x'; ROTATE_BYTES as usize]).unwrap();
        append(&p, "{\"a\":1}").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\"a\":1}\n");
        assert!(d.path().join("j.jsonl.1").exists());
    }
}
