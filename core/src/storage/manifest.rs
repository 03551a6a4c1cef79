//! The one manifest type (ccache manual, "The direct mode"): for one
//! context key, the input sets seen so far and the entry each led to.
//! Shared by the C, rustc and `exec` pipelines.
//!
//! An input set records the content hash of every file the tool read
//! besides the primary source, the environment variables the run depended
//! on (rustc's `# env-dep:` lines), and *shadow checks*: paths that did not
//! exist but would have been found first had they existed. This module is
//! the stored data and its codec; matching a set against the file system
//! is [`crate::key::lookup`].

use super::local::RecordKey;
use crate::hash::{Digest, StatFingerprint};
use serde::{Deserialize, Serialize};

/// Layout version of [`Manifest`]; a manifest of another version is
/// ignored (a miss). Version 2 merged the C and rustc manifests.
const MANIFEST_FORMAT: u32 = 2;

/// Most input sets one manifest remembers (oldest dropped first).
pub(crate) const MAX_INPUT_SETS: usize = 16;

/// One file of an input set: the path as the tool named it (relative paths
/// resolve against the request's cwd) and its content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RecordedFile {
    /// Path as written in the depfile or dep-info.
    pub path: String,
    /// blake3 of the content.
    pub hash: Digest,
}

/// Paths that must stay absent, grouped under the nearest existing
/// directory whose fingerprint changes when any of them is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DirCheck {
    /// The directory: absolute, or relative to the request's cwd when it
    /// lies under a base dir (a portable set).
    pub dir: String,
    /// Its stat fingerprint when the set was recorded.
    pub fingerprint: StatFingerprint,
    /// The fingerprint was racy when recorded: always stat `absent`.
    pub racy: bool,
    /// Paths that did not exist (absolute, or relative to the cwd as
    /// `dir` is).
    pub absent: Vec<String>,
}

/// One input set of a manifest and the entry it leads to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InputSet {
    /// Every file the tool read besides the source.
    pub files: Vec<RecordedFile>,
    /// Environment variables and their values (`None`: unset) the run
    /// depended on (rustc `env!`/`option_env!`); empty for C.
    pub env: Vec<(String, Option<String>)>,
    /// Shadowing guards (C only).
    pub dir_checks: Vec<DirCheck>,
    /// The entry these inputs produce.
    pub entry: RecordKey,
}

/// A directory whose fingerprint changed while its absent paths stayed
/// absent: the new fingerprint to record (see [`Manifest::refresh`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DirRefresh {
    /// Index of the input set.
    pub set: usize,
    /// Index of the dir check within it.
    pub check: usize,
    /// The directory's current fingerprint.
    pub fingerprint: StatFingerprint,
}

/// The input sets seen for one context key, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    format: u32,
    /// Newest first, at most [`MAX_INPUT_SETS`].
    pub sets: Vec<InputSet>,
}

impl Default for Manifest {
    fn default() -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            sets: Vec::new(),
        }
    }
}

impl Manifest {
    /// Record a new set (newest first, a set with the same entry key
    /// replaced, at most [`MAX_INPUT_SETS`]).
    pub(crate) fn add(&mut self, set: InputSet) {
        self.sets.retain(|s| s.entry != set.entry);
        self.sets.insert(0, set);
        self.sets.truncate(MAX_INPUT_SETS);
    }

    /// Apply fingerprint refreshes found by a lookup.
    pub(crate) fn refresh(&mut self, updates: &[DirRefresh]) {
        for u in updates {
            if let Some(check) = self
                .sets
                .get_mut(u.set)
                .and_then(|s| s.dir_checks.get_mut(u.check))
            {
                check.fingerprint = u.fingerprint;
                check.racy = u.fingerprint.is_racy();
            }
        }
    }

    /// Serialise with bincode.
    pub(crate) fn encode(&self) -> Vec<u8> {
        bincode::serialize(self).unwrap_or_default()
    }

    /// Deserialise; `None` for undecodable bytes or another format
    /// (treated as absent).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Manifest> {
        let m: Manifest = bincode::deserialize(bytes).ok()?;
        (m.format == MANIFEST_FORMAT).then_some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(entry: u8) -> InputSet {
        InputSet {
            files: vec![RecordedFile {
                path: "h.h".into(),
                hash: [entry; 32],
            }],
            env: vec![("X".into(), None)],
            dir_checks: vec![],
            entry: RecordKey([entry; 32]),
        }
    }

    #[test]
    fn round_trip_bounded_newest_first() {
        let mut m = Manifest::default();
        for i in 0..20 {
            m.add(set(i));
        }
        m.add(set(19));
        assert_eq!(m.sets.len(), MAX_INPUT_SETS);
        assert_eq!(m.sets[0].entry, RecordKey([19; 32]));
        assert_eq!(Manifest::decode(&m.encode()), Some(m));
        assert_eq!(Manifest::decode(b"garbage"), None);
    }
}
