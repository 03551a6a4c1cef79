//! zccache core: a direct-mode compiler cache.
//!
//! The crate holds everything the `zccache` binary does: argv parsing for
//! each compiler family (`compiler`), content hashing with an in-memory
//! metadata cache (`hash`), cache keys and direct-mode lookups (`key`),
//! depfile handling (`depfile`), the storage facade over the
//! content-addressed store with the one entry and manifest format
//! (`storage`), the daemon and its tool pipelines (`daemon`), the
//! client/daemon protocol ([`ipc`]), the cargo warm snapshot rules shared
//! with `cargo-zccache` ([`cargo_warm`]) and the command line ([`cli`]).
//! A compile request flows launcher → IPC → daemon pipeline → storage, as
//! described in `docs/ARCHITECTURE.md` ("The route of one compile
//! request").
//!
//! The public API is what the `zccache` and `cargo-zccache` binaries use:
//! [`cli::main_entry`], [`config`], [`ipc`], [`paths`] and [`cargo_warm`];
//! everything else is internal to the crate.
#![warn(missing_docs)]
#![warn(unreachable_pub)]

pub(crate) mod base_dir;
pub(crate) mod breaker;
pub mod cargo_warm;
pub mod cli;
pub(crate) mod compiler;
pub mod config;
pub(crate) mod daemon;
pub(crate) mod depfile;
pub(crate) mod dircache;
pub(crate) mod fingerprint;
pub(crate) mod hash;
pub(crate) mod include_probes;
pub(crate) mod include_scan;
pub mod ipc;
pub(crate) mod key;
pub(crate) mod net_runtime;
pub(crate) mod once_log;
pub mod paths;
pub(crate) mod reapi;
pub(crate) mod storage;
