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
use std::sync::Mutex;

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
    /// A later fingerprint of `dir` under which every absent path was
    /// found still absent (memory only, never stored).
    #[serde(skip)]
    pub seen: SeenFingerprint,
}

/// The newest non-racy fingerprint a lookup saw for a [`DirCheck`]'s
/// directory with every absent path still absent: a lookup that finds the
/// directory unchanged since then skips the absent paths. Kept in place in
/// a shared manifest (a directory that is also an output dir changes on
/// every compile, and copying the manifest each time cost more than the
/// check it saves). Not part of the record: equal to any other, and never
/// serialised.
#[derive(Debug, Default)]
pub(crate) struct SeenFingerprint(Mutex<Option<StatFingerprint>>);

impl SeenFingerprint {
    /// The fingerprint seen last, if any.
    pub(crate) fn get(&self) -> Option<StatFingerprint> {
        self.0.lock().ok().and_then(|g| *g)
    }

    /// Remember `fp`, which must not be racy (see
    /// [`StatFingerprint::is_racy`]): a later write could keep it.
    pub(crate) fn set(&self, fp: StatFingerprint) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(fp);
        }
    }
}

impl Clone for SeenFingerprint {
    fn clone(&self) -> Self {
        SeenFingerprint(Mutex::new(self.get()))
    }
}

impl PartialEq for SeenFingerprint {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SeenFingerprint {}

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
