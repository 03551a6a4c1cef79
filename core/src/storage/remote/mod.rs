//! Remote tiers behind the local store: Redis, HTTP/WebDAV, S3 and
//! memcached servers shared by a team or a CI fleet (ccache manual,
//! "Remote storage backends"; sccache's multi-level chain). The chain
//! ([`chain`]) looks up each tier in order after a local miss, verifies
//! what it gets ([`wire`]), backfills faster tiers and writes in the
//! background ([`writer`]); each [`tier`] has a circuit [`breaker`] and
//! counters. Configuration is [`spec`], shard selection [`shards`], the
//! network clients [`backend`].

pub(crate) mod backend;
pub(crate) mod chain;
pub(crate) mod names;
pub(crate) mod shards;
pub(crate) mod spec;
pub(crate) mod tier;
pub(crate) mod wire;
pub(crate) mod writer;

pub(crate) use chain::RemoteChain;
