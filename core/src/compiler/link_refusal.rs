//! Why the link and archive argv parsers refuse a call (the launcher then
//! runs the tool unchanged). Each reason has the stable label that
//! `zccache stats` and the journal print (`docs/CONTRACT.md`).

/// A link, archive or ranlib call that is not cacheable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkRefusal {
    /// An option without its value, or a driver call without inputs.
    LinkArgs,
    /// The driver would also compile sources (`cc a.c -o app`, `-x c`).
    CompileAndLink,
    /// An input read from stdin (`-`).
    StdinInput,
    /// The output written to stdout (`-o -`).
    StdoutOutput,
    /// LTO with a jobserver (`-flto=jobserver`, `-flto=auto`).
    LtoJobserver,
    /// A driver prefix option (`-B`), which changes the tools the driver runs.
    DriverPrefix,
    /// An option naming outputs the cache does not capture.
    ExtraOutputs,
    /// A response file that cannot be read.
    ResponseFile,
    /// `--build-id=uuid`: a random id in every output.
    BuildIdUuid,
    /// An `ar` option or key letter the cache does not handle.
    ArOption,
    /// An `ar` operation other than `r`, `q` or `s`.
    ArOperation,
    /// `ar u`: the result depends on the archive's old member times.
    ArUpdate,
    /// A `ranlib` option, or not exactly one archive.
    RanlibOption,
}

impl LinkRefusal {
    /// The stable snake_case label used in stats and the journal.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::LinkArgs => "link_args",
            Self::CompileAndLink => "compile_and_link",
            Self::StdinInput => "stdin_input",
            Self::StdoutOutput => "stdout_output",
            Self::LtoJobserver => "lto_jobserver",
            Self::DriverPrefix => "driver_prefix",
            Self::ExtraOutputs => "extra_outputs",
            Self::ResponseFile => "response_file",
            Self::BuildIdUuid => "build_id_uuid",
            Self::ArOption => "ar_option",
            Self::ArOperation => "ar_operation",
            Self::ArUpdate => "ar_update",
            Self::RanlibOption => "ranlib_option",
        }
    }
}
