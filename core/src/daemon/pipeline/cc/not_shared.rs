//! Why a miss was not served from a define sibling (see
//! [`super::define_sibling`]): the compile is then compiled for real. These
//! reasons only reach the daemon log (trace level) and tests.

use crate::depfile::DepfileError;
use crate::key::Mismatch;
use crate::storage::StoreError;

/// A reason a compile may not share, or did not share this time, its
/// define sibling's entry.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotShared {
    /// emcc compiles never share (their identity is a script's).
    #[error("emcc")]
    Emcc,
    /// The source is a header: the compile produces a precompiled header.
    #[error("precompiled header")]
    PchProducer,
    /// The compile includes a precompiled header.
    #[error("uses a precompiled header")]
    PchConsumer,
    /// An option that records the command line or macros in the output.
    #[error("option {0}")]
    Blocker(String),
    /// The two `-E` outputs differ.
    #[error("the preprocessed output differs")]
    PreprocessedDiffers,
    /// A pinned input changed while the preprocessor ran.
    #[error("an input changed while preprocessing")]
    InputChanged,
    /// The launcher exited meanwhile.
    #[error("the launcher exited")]
    LauncherGone,
    /// The sibling's manifest is gone.
    #[error("no sibling manifest")]
    NoManifest,
    /// The sibling's manifest no longer leads to an entry.
    #[error("the sibling misses: {0}")]
    SiblingMisses(Mismatch),
    /// The sibling's input set was replaced meanwhile.
    #[error("the sibling's include set is gone")]
    SetGone,
    /// An input of the sibling cannot be read.
    #[error("{path}: {source}")]
    Unreadable {
        /// The input as recorded.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An input of the sibling changed since it was stored.
    #[error("{0} changed")]
    Changed(String),
    /// An input was written in the current clock tick (racy).
    #[error("{0} was written just now")]
    Racy(String),
    /// The sibling's entry is gone.
    #[error("the sibling's entry is gone")]
    EntryGone,
    /// The sibling's entry could not be read.
    #[error("{0}")]
    Entry(#[from] StoreError),
    /// The sibling's compile printed diagnostics (they would differ).
    #[error("the sibling's compile printed diagnostics")]
    Diagnostics,
    /// The depfile of this compile's `-E` run could not be read.
    #[error("depfile of -E: {0}")]
    PreprocessorDepfile(std::io::Error),
    /// That depfile does not parse.
    #[error("depfile of -E: {0}")]
    DepfileSyntax(#[from] DepfileError),
    /// The preprocessor could not be started.
    #[error("cannot run the preprocessor: {0}")]
    PreprocessorSpawn(std::io::Error),
    /// The preprocessor failed.
    #[error("the preprocessor failed ({0})")]
    PreprocessorFailed(std::process::ExitStatus),
    /// The preprocessor read other files than the sibling's compile.
    #[error("the preprocessor read other files")]
    OtherFiles,
    /// The sibling stored no depfile although this compile wants one.
    #[error("the sibling has no depfile")]
    NoDepfile,
    /// The retargeted depfiles differ.
    #[error("the depfiles differ")]
    DepfilesDiffer,
    /// The sibling's entry could not be restored for this compile.
    #[error("{0}")]
    Restore(#[from] super::hit::RestoreError),
}
