//! Typed reasons for outcomes: why a cacheable request missed
//! ([`MissReason`]) and why a request was passed through unchanged
//! ([`Uncacheable`]). Each reason has one stable snake_case label, which is
//! what `zccache stats` (`misses_by_reason`, `non_cacheable_by_reason`),
//! session stats and the journal print (`docs/CONTRACT.md`); the set of
//! labels is closed, so a typo cannot invent a new one.

use crate::compiler::rustc::RustcRefusal;
use crate::compiler::{LinkRefusal, NonCacheableReason};

/// Why a cacheable request was not served from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MissReason {
    /// No manifest (or entry) for this compile's context yet.
    FirstCompile,
    /// A manifest exists, but no recorded input set still holds.
    InputsChanged,
    /// The manifest names an entry that was evicted or cleared.
    EntryMissing,
    /// The entry (or one of its blobs) failed verification.
    CorruptEntry,
    /// No entry for this link call's key yet.
    FirstLink,
    /// No entry for this archive call's key yet.
    FirstArchive,
}

impl MissReason {
    /// The stable label (`first_compile`, `inputs_changed`,
    /// `entry_missing`, `corrupt_entry`, `first_link`, `first_archive`).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::FirstCompile => "first_compile",
            Self::InputsChanged => "inputs_changed",
            Self::EntryMissing => "entry_missing",
            Self::CorruptEntry => "corrupt_entry",
            Self::FirstLink => "first_link",
            Self::FirstArchive => "first_archive",
        }
    }
}

/// Why a request was passed through to the real tool unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Uncacheable {
    /// The gcc/clang/emcc argv parser refused the compile.
    Compile(NonCacheableReason),
    /// The rustc argv parser refused the call.
    Rustc(RustcRefusal),
    /// The link, archive or ranlib argv parser refused the call.
    Link(LinkRefusal),
    /// The tool is not a compiler this cache knows.
    UnsupportedCompiler,
    /// A response file could not be read.
    ResponseFile,
    /// `DEPENDENCIES_OUTPUT`/`SUNPRO_DEPENDENCIES` make gcc write a depfile.
    DependenciesEnv,
    /// An emscripten `-sUSE_*` port builds into emcc's own cache.
    EmscriptenPort,
    /// The source could not be read.
    SourceUnreadable,
    /// An input uses `__DATE__`, `__TIME__` or `__TIMESTAMP__`.
    TimeMacro,
    /// The compile had no key (its source was unreadable when probed).
    NotKeyed,
    /// `zccache exec --non-deterministic`.
    NonDeterministic,
    /// A link input could not be read.
    InputUnreadable,
    /// An `--extern` crate of a rustc call could not be read.
    RustcExternUnreadable,
    /// `-C link-arg(s)` the cache cannot key.
    RustcLinkArgs,
    /// `-C link-arg(s)` naming outputs the cache does not capture.
    RustcLinkOutputs,
    /// An input named by `-C link-arg(s)` could not be read.
    RustcLinkInputUnreadable,
    /// The linker of a linked crate could not be found or hashed.
    RustcLinker,
    /// The hit verifier found this compile not deterministic (two
    /// recompiles differed); its results are no longer stored.
    Nondeterministic,
}

impl Uncacheable {
    /// The stable label (the parsers' labels for parser refusals).
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Compile(r) => r.label(),
            Self::Rustc(r) => r.label(),
            Self::Link(r) => r.label(),
            Self::UnsupportedCompiler => "unsupported_compiler",
            Self::ResponseFile => "response_file",
            Self::DependenciesEnv => "dependencies_env",
            Self::EmscriptenPort => "emscripten_port",
            Self::SourceUnreadable => "source_unreadable",
            Self::TimeMacro => "time_macro",
            Self::NotKeyed => "not_keyed",
            Self::NonDeterministic => "non_deterministic",
            Self::InputUnreadable => "input_unreadable",
            Self::RustcExternUnreadable => "rustc_extern_unreadable",
            Self::RustcLinkArgs => "rustc_link_args",
            Self::RustcLinkOutputs => "rustc_link_outputs",
            Self::RustcLinkInputUnreadable => "rustc_link_input_unreadable",
            Self::RustcLinker => "rustc_linker",
            Self::Nondeterministic => "verify_nondeterministic",
        }
    }
}

impl std::fmt::Display for MissReason {
    /// Writes the label.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl std::fmt::Display for Uncacheable {
    /// Writes the label.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_distinct_snake_case() {
        let all = [
            Uncacheable::UnsupportedCompiler,
            Uncacheable::ResponseFile,
            Uncacheable::DependenciesEnv,
            Uncacheable::EmscriptenPort,
            Uncacheable::SourceUnreadable,
            Uncacheable::TimeMacro,
            Uncacheable::NotKeyed,
            Uncacheable::NonDeterministic,
            Uncacheable::InputUnreadable,
            Uncacheable::RustcExternUnreadable,
            Uncacheable::RustcLinkArgs,
            Uncacheable::RustcLinkOutputs,
            Uncacheable::RustcLinkInputUnreadable,
            Uncacheable::RustcLinker,
            Uncacheable::Nondeterministic,
        ];
        let mut labels: Vec<&str> = all.iter().map(|u| u.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), all.len());
        assert!(labels
            .iter()
            .all(|l| l.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        assert_eq!(MissReason::FirstCompile.label(), "first_compile");
        assert_eq!(
            Uncacheable::Link(LinkRefusal::ArUpdate).label(),
            "ar_update"
        );
    }
}
