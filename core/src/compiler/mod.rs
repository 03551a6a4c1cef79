//! Compiler command-line understanding: which compiler family a driver
//! belongs to, `@file` response-file expansion, and the gcc/clang argument
//! parser that decides whether a compile is cacheable. Nothing here runs a
//! compiler or touches the cache; everything is pure argv analysis (plus
//! reading response files).

pub mod ar_args;
pub mod defines;
pub mod family;
pub mod gcc;
mod gcc_options;
pub mod link_args;
pub mod link_refusal;
pub mod response_file;

#[cfg(test)]
mod tests;

pub use ar_args::{parse_ar_args, parse_ranlib_args, ArInvocation, ArParse};
pub use defines::{sharing_blocker, split_defines, DefineSplit};
pub use family::{is_masquerade_name, CompilerFamily};
pub use gcc::{
    parse_gcc_args, CompileInvocation, DepKind, DepTarget, DepfileRequest, NonCacheableReason,
    Parsed, SearchDirKind, SourceInput,
};
pub use link_args::{parse_driver_link, parse_linker, LinkInvocation, LinkParse, LinkTool};
pub use link_refusal::LinkRefusal;
pub use response_file::{expand_response_files, ResponseFileError, MAX_RESPONSE_FILE_DEPTH};
pub mod rustc;
pub mod rustc_depinfo;
