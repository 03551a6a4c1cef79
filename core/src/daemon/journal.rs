//! The request journal: one JSON line per request, serialised and appended
//! by a background thread so that writing it never delays a build. The
//! daemon-wide journal lives at `<cache>/logs/journal.jsonl`; a session may
//! name its own file. Files rotate by size (one `.1` generation kept).
//! A request's lines can be held back until its reply is sent ([`hold`]):
//! waking the writer thread then costs the launcher nothing.

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
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

/// One queued line: the files it goes to, and the line.
type Queued = (Vec<PathBuf>, JournalLine);
/// A held line and the queue of the journal it belongs to.
type HeldLine = (Sender<Queued>, Queued);

/// The background writer.
#[derive(Debug)]
pub(crate) struct Journal {
    tx: Mutex<Sender<Queued>>,
}

impl Journal {
    /// Start the writer thread.
    pub(crate) fn start() -> Journal {
        let (tx, rx) = channel::<Queued>();
        std::thread::Builder::new()
            .name("zccache-journal".into())
            .spawn(move || {
                for (files, line) in rx {
                    write_line(&files, &line);
                }
            })
            .ok();
        Journal { tx: Mutex::new(tx) }
    }

    /// Queue `line` for each of `files` (never blocks on I/O). Inside
    /// [`hold`] on this thread, the line waits in the [`Held`] instead.
    pub(crate) fn write(&self, files: Vec<PathBuf>, line: JournalLine) {
        let Ok(tx) = self.tx.lock() else { return };
        let queued = (files, line);
        let queued = HELD.with(|held| match held.borrow_mut().as_mut() {
            Some(lines) => {
                lines.push((tx.clone(), queued));
                None
            }
            None => Some(queued),
        });
        if let Some(queued) = queued {
            let _ = tx.send(queued);
        }
    }
}

thread_local! {
    /// Lines written on this thread inside [`hold`], with their journal's
    /// queue; `None` outside it.
    static HELD: RefCell<Option<Vec<HeldLine>>> = const { RefCell::new(None) };
}

/// Journal lines held back by [`hold`]; queued when dropped (or
/// [`Held::release`]d), so after the reply they belong to has been sent.
#[derive(Debug, Default)]
#[must_use = "the held lines are queued when this is dropped"]
pub(crate) struct Held(Vec<HeldLine>);

impl Held {
    /// Queue the held lines now.
    pub(crate) fn release(self) {}
}

impl Drop for Held {
    fn drop(&mut self) {
        for (tx, queued) in self.0.drain(..) {
            let _ = tx.send(queued);
        }
    }
}

/// Run `f`, holding back the journal lines it writes on this thread; they
/// are queued when the returned [`Held`] is dropped. Nested holds add to
/// the outer one. If `f` panics, the lines are queued at once and the
/// thread holds nothing any more.
pub(crate) fn hold<T>(f: impl FnOnce() -> T) -> (T, Held) {
    let outer = HELD.with(|held| {
        let mut held = held.borrow_mut();
        let outer = held.is_some();
        if !outer {
            *held = Some(Vec::new());
        }
        outer
    });
    if outer {
        return (f(), Held::default());
    }
    let holding = Holding;
    let out = f();
    (out, holding.finish())
}

/// The outermost [`hold`] of this thread while it runs; dropped without
/// [`Holding::finish`] (unwinding), it ends the hold and queues the lines.
struct Holding;

impl Holding {
    /// End the hold; the lines it collected.
    fn finish(self) -> Held {
        std::mem::forget(self);
        Held(take_held())
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        drop(Held(take_held()));
    }
}

/// End this thread's hold: its lines, and nothing held any more.
fn take_held() -> Vec<HeldLine> {
    HELD.with(|held| held.borrow_mut().take().unwrap_or_default())
}

/// Serialise `line` and append it to each of `files`.
fn write_line(files: &[PathBuf], line: &JournalLine) {
    let Ok(text) = serde_json::to_string(line) else {
        return;
    };
    for path in files {
        if let Err(e) = append(path, &text) {
            tracing::debug!(error = %e, path = %path.display(), "journal write failed");
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

    fn line(outcome: &str) -> JournalLine {
        JournalLine {
            time_ms: 1,
            session: None,
            outcome: outcome.to_string(),
            reason: None,
            latency_ns: 2,
            compiler: "cc".to_string(),
            args: vec!["-c".to_string()],
            cwd: "/".to_string(),
            source: None,
            output: None,
        }
    }

    /// Wait up to 5 s for `p` to hold `n` lines; returns its lines.
    fn lines_of(p: &Path, n: usize) -> Vec<String> {
        for _ in 0..500 {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            if text.lines().count() >= n {
                return text.lines().map(str::to_string).collect();
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Vec::new()
    }

    #[test]
    fn held_lines_are_written_only_once_released() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("j.jsonl");
        let j = Journal::start();
        let files = vec![p.clone()];
        let ((), held) = hold(|| {
            j.write(files.clone(), line("hit"));
            let ((), inner) = hold(|| j.write(files.clone(), line("miss")));
            inner.release();
        });
        j.write(files.clone(), line("outside"));
        let first = lines_of(&p, 1);
        assert_eq!(first.len(), 1);
        assert!(first[0].contains("\"outside\""), "{first:?}");
        held.release();
        let all = lines_of(&p, 3);
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(
            all[1].contains("\"hit\"") && all[2].contains("\"miss\""),
            "{all:?}"
        );
    }

    #[test]
    fn a_panic_inside_a_hold_queues_its_lines_and_ends_it() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("j.jsonl");
        let j = Journal::start();
        let files = vec![p.clone()];
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            hold(|| {
                j.write(files.clone(), line("before-panic"));
                panic!("probe failed");
            })
        }));
        assert!(panicked.is_err());
        j.write(files.clone(), line("after"));
        let all = lines_of(&p, 2);
        assert_eq!(all.len(), 2, "{all:?}");
        assert!(
            all[0].contains("before-panic") && all[1].contains("after"),
            "{all:?}"
        );
    }

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
