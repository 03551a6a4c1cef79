//! zccache core: a direct-mode compiler cache.
//!
//! The crate holds everything the `zccache` binary does: argv parsing for
//! each compiler family ([`compiler`]), content hashing with an in-memory
//! metadata cache ([`hash`]), cache keys and direct-mode manifests ([`key`]),
//! depfile handling ([`depfile`]), the storage facade over the content-addressed
//! store with the one entry and manifest format ([`storage`]),
//! the daemon ([`daemon`]), the client/daemon protocol ([`ipc`]), the
//! cargo warm snapshot rules shared with `cargo-zccache` ([`cargo_warm`])
//! and the command line ([`cli`]). A compile request flows launcher → IPC → daemon
//! pipeline → storage, as described in `docs/ARCHITECTURE.md` ("The route of
//! one compile request").

pub mod cargo_warm;
pub mod cli;
pub mod compiler;
pub mod config;
pub mod daemon;
pub mod depfile;
pub mod dircache;
pub mod fingerprint;
pub mod hash;
pub mod include_scan;
pub mod ipc;
pub mod key;
pub mod paths;
pub mod storage;
