//! Compiler command-line understanding: which compiler family a driver
//! belongs to, `@file` response-file expansion, and the gcc/clang argument
//! parser that decides whether a compile is cacheable. Nothing here runs a
//! compiler or touches the cache; everything is pure argv analysis (plus
//! reading response files).

pub(crate) mod ar_args;
pub(crate) mod defines;
pub(crate) mod family;
pub(crate) mod gcc;
mod gcc_options;
pub(crate) mod link_args;
pub(crate) mod link_refusal;
pub(crate) mod path_args;
pub(crate) mod response_file;

#[cfg(test)]
mod tests;

pub(crate) use ar_args::{parse_ar_args, parse_ranlib_args, ArInvocation, ArParse};
pub(crate) use defines::{sharing_blocker, split_defines};
pub(crate) use family::CompilerFamily;
pub(crate) use gcc::{parse_gcc_args, CompileInvocation, NonCacheableReason, Parsed};
pub(crate) use link_args::{parse_driver_link, parse_linker, LinkInvocation, LinkParse, LinkTool};
pub(crate) use link_refusal::LinkRefusal;
pub(crate) use response_file::expand_response_files;
pub(crate) mod rustc;
pub(crate) mod rustc_depinfo;
