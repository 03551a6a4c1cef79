//! Cache keys and direct-mode manifests (ccache manual, "The direct mode").
//!
//! A *context key* hashes everything known before the compile: compiler
//! identity, normalised arguments, relevant environment, the source content
//! and, when output embeds it, the cwd. Its *manifest* lists the include sets
//! seen for that context. An include set holds the content hash of every
//! file the compiler read, plus *shadow checks*: paths that did not exist but
//! would have been found first had they existed (a new `src/foo.h` in front
//! of `include/foo.h`), and the same for every name the compile's files
//! probe (`__has_include`, `#include_next`, `-include`; see
//! `daemon::pipeline::cc::probes`). A lookup hits only when every recorded file still
//! hashes the same and no shadow path has appeared; the *entry key* is then
//! derived from the context key and the include set.
//!
//! This module builds keys ([`KeyBuilder`], [`entry_key`],
//! [`rustc_entry_key`]); [`lookup`] matches a stored
//! [`Manifest`](crate::storage::Manifest) against the file system and
//! [`shadow`] records the shadow checks of a new input set.

pub(crate) mod lookup;
pub(crate) mod shadow;

pub(crate) use crate::paths::{normalize, resolve};
pub(crate) use lookup::{find, Mismatch};
pub(crate) use shadow::{merge_dir_checks, probe_checks, shadow_checks, ProbeChecks};

use crate::storage::{RecordKey, RecordedFile};

/// Bumped whenever the key derivation changes, so old entries never match.
const KEY_SCHEMA: &str = "zccache direct-mode key v3";

/// Incremental builder of a context key: length-prefixed, named fields, so
/// two different field lists can never hash alike.
pub(crate) struct KeyBuilder {
    hasher: blake3::Hasher,
}

impl KeyBuilder {
    /// A builder for keys of the given purpose (e.g. `"c-compile"`).
    pub(crate) fn new(purpose: &str) -> KeyBuilder {
        let mut b = KeyBuilder {
            hasher: blake3::Hasher::new(),
        };
        b.field("schema", KEY_SCHEMA.as_bytes());
        b.field("purpose", purpose.as_bytes());
        b
    }

    /// Add one named field.
    pub(crate) fn field(&mut self, name: &str, value: &[u8]) -> &mut Self {
        self.hasher.update(&(name.len() as u64).to_le_bytes());
        self.hasher.update(name.as_bytes());
        self.hasher.update(&(value.len() as u64).to_le_bytes());
        self.hasher.update(value);
        self
    }

    /// Add a list of strings as one field.
    pub(crate) fn strings(&mut self, name: &str, values: &[String]) -> &mut Self {
        self.field(name, &(values.len() as u64).to_le_bytes());
        for v in values {
            self.field(name, v.as_bytes());
        }
        self
    }

    /// The finished key.
    pub(crate) fn finish(&self) -> RecordKey {
        RecordKey(*self.hasher.finalize().as_bytes())
    }
}

/// The entry key for a context and the include set read under it.
pub(crate) fn entry_key(context: &RecordKey, files: &[RecordedFile]) -> RecordKey {
    let mut b = KeyBuilder::new("entry");
    b.field("context", &context.0);
    for f in files {
        b.field("path", f.path.as_bytes());
        b.field("hash", &f.hash);
    }
    b.finish()
}

/// The entry key of a rustc context and the input set read under it: its
/// dep-info files and `env-dep` variables (`None`: unset).
pub(crate) fn rustc_entry_key(
    context: &RecordKey,
    files: &[RecordedFile],
    env: &[(String, Option<String>)],
) -> RecordKey {
    let mut b = KeyBuilder::new("rustc-entry");
    b.field("context", &context.0);
    for f in files {
        b.field("path", f.path.as_bytes());
        b.field("hash", &f.hash);
    }
    for (k, v) in env {
        b.field("env-name", k.as_bytes());
        match v {
            Some(v) => b.field("env-value", v.as_bytes()),
            None => b.field("env-unset", b""),
        };
    }
    b.finish()
}
