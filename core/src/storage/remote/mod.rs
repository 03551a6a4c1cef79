//! Remote tiers behind the local store (issue: shared cache tiers): Redis,
//! HTTP/WebDAV, S3 and memcached servers shared by a team or a CI fleet.
//! Work in progress: configuration ([`spec`]), shard selection
//! ([`shards`]) and the network backends ([`backend`]).

// Until the daemon uses the tiers (backend.rs and the wiring are in
// progress), most of this module is not called from outside its tests.
#![allow(dead_code)]

pub(crate) mod backend;
pub(crate) mod shards;
pub(crate) mod spec;
