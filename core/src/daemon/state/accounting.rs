//! The accounting part of the state: global counters, open build
//! sessions, the request journal and miss explanations, and
//! [`Accounting::record`], which counts one finished request in all of
//! them.

use crate::daemon::explain::Explanations;
use crate::daemon::journal::{now_ms, Journal, JournalLine};
use crate::daemon::session::{Contribution, Sessions, SESSION_ENV};
use crate::daemon::stats::{Outcome, Stats};
use crate::ipc::CompileRequest;
use std::path::PathBuf;
use std::time::Instant;

/// Where finished requests are counted.
#[derive(Debug)]
pub(crate) struct Accounting {
    stats: Stats,
    sessions: Sessions,
    journal: Journal,
    explanations: Explanations,
    journal_file: PathBuf,
}

impl Accounting {
    /// Empty counters; the daemon-wide journal goes to `journal_file`.
    pub(crate) fn new(journal_file: PathBuf) -> Accounting {
        Accounting {
            stats: Stats::default(),
            sessions: Sessions::default(),
            journal: Journal::start(),
            explanations: Explanations::default(),
            journal_file,
        }
    }

    /// The daemon-wide counters.
    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The open build sessions.
    pub(crate) fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Why recent compiles missed (`zccache explain`).
    pub(crate) fn explanations(&self) -> &Explanations {
        &self.explanations
    }

    /// Count a finished request (per source): global counters, its session
    /// and the journal (written by a background thread).
    pub(crate) fn record(&self, f: Finished<'_>) {
        self.stats.record(&f.outcome);
        if f.link {
            self.stats.record_link(&f.outcome);
        }
        let session = session_of(f.req);
        let mut files = vec![self.journal_file.clone()];
        if let Some(id) = &session {
            let contribution = Contribution {
                outcome: &f.outcome,
                source: f.source,
                bytes_read: f.bytes_read,
                bytes_written: f.bytes_written,
            };
            self.sessions.record(id, contribution);
            files.extend(self.sessions.journal(id));
        }
        self.journal.write(files, journal_line(f, session));
    }
}

impl Accounting {
    /// Write a verification verdict to the journal: outcome
    /// `verify_mismatch` or `verify_nondeterministic`, `reason` naming what
    /// differed, with the request's source and output.
    pub(crate) fn journal_verify(&self, v: VerifyLine<'_>) {
        let line = JournalLine {
            time_ms: now_ms(),
            session: session_of(v.req),
            outcome: v.outcome.to_string(),
            reason: Some(v.detail.to_string()),
            latency_ns: 0,
            compiler: v.req.compiler.display().to_string(),
            args: v.req.args.clone(),
            cwd: v.req.cwd.display().to_string(),
            source: Some(v.source.to_string()),
            output: Some(v.output.to_string()),
        };
        self.journal.write(vec![self.journal_file.clone()], line);
    }
}

/// A verification verdict for the journal (see
/// [`Accounting::journal_verify`]).
#[derive(Debug)]
pub(crate) struct VerifyLine<'a> {
    /// The verified request.
    pub(crate) req: &'a CompileRequest,
    /// `verify_mismatch` or `verify_nondeterministic`.
    pub(crate) outcome: &'a str,
    /// What differed (`object`, `depfile`, `stdout`, `stderr`).
    pub(crate) detail: &'a str,
    /// The source.
    pub(crate) source: &'a str,
    /// The output.
    pub(crate) output: &'a str,
}

/// The session id the request's environment names, if any.
fn session_of(req: &CompileRequest) -> Option<String> {
    req.env
        .iter()
        .find(|(k, _)| k == SESSION_ENV)
        .map(|(_, v)| v.clone())
}

/// The journal line of a finished request.
fn journal_line(f: Finished<'_>, session: Option<String>) -> JournalLine {
    let (mut outcome, label) = labels(&f.outcome);
    let reason = match &f.outcome {
        Outcome::RemoteHit { tier, .. } => Some(format!("remote {tier}")),
        _ => label.map(str::to_string),
    };
    if f.link {
        outcome = match outcome {
            "hit" => "link_hit",
            "miss" => "link_miss",
            other => other,
        };
    }
    JournalLine {
        time_ms: now_ms(),
        session,
        outcome: outcome.to_string(),
        reason,
        latency_ns: f.started.elapsed().as_nanos() as u64,
        compiler: f.req.compiler.display().to_string(),
        args: f.req.args.clone(),
        cwd: f.req.cwd.display().to_string(),
        source: f.source.map(str::to_string),
        output: f.output,
    }
}

/// One finished source of a request, for [`Accounting::record`].
#[derive(Debug)]
pub(crate) struct Finished<'a> {
    /// The request.
    pub req: &'a CompileRequest,
    /// When the request arrived.
    pub started: Instant,
    /// The source (or primary input).
    pub source: Option<&'a str>,
    /// The output path, if any.
    pub output: Option<String>,
    /// The outcome.
    pub outcome: Outcome,
    /// Bytes restored from the cache.
    pub bytes_read: u64,
    /// Bytes stored into the cache.
    pub bytes_written: u64,
    /// A link or archive call (counted apart, journal outcome `link_*`).
    pub link: bool,
}

impl<'a> Finished<'a> {
    /// A finished request with no source, output or byte counts (refusals,
    /// errors, tools without a primary source).
    pub(crate) fn outcome(
        req: &'a CompileRequest,
        started: Instant,
        outcome: Outcome,
        link: bool,
    ) -> Self {
        Finished {
            req,
            started,
            source: None,
            output: None,
            outcome,
            bytes_read: 0,
            bytes_written: 0,
            link,
        }
    }
}

/// Journal outcome label and reason of an outcome.
pub(crate) fn labels(o: &Outcome) -> (&'static str, Option<&'static str>) {
    match o {
        Outcome::Hit { .. } | Outcome::RemoteHit { .. } => ("hit", None),
        Outcome::PreprocessorHit { .. } => ("hit", Some("preprocessor")),
        Outcome::CachedError { .. } => ("cached_error", None),
        Outcome::Miss(r) => ("miss", Some(r.label())),
        Outcome::CompileFailed(r) => ("miss", Some(r.label())),
        Outcome::NonCacheable(r) => ("non_cacheable", Some(r.label())),
        Outcome::Error => ("error", None),
    }
}
