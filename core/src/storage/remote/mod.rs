//! Remote tiers behind the local store (issue: shared cache tiers): Redis,
//! HTTP/WebDAV, S3 and memcached servers shared by a team or a CI fleet.
//! Work in progress: configuration ([`spec`]), shard selection
//! ([`shards`]) and the network backends ([`backend`]).

// Nothing outside this module uses the remote tiers yet (the tiered store
// and the daemon wiring come next): silence dead-code warnings until then.
#![allow(dead_code)]

pub(crate) mod backend;
pub(crate) mod shards;
pub(crate) mod spec;
