//! A sharded tier: one client per shard, each key routed to the shard
//! [`shards::pick`] chooses.

use super::super::shards;
use super::super::spec::Shard;
use super::{Backend, RemoteError};

/// The clients of a sharded tier.
pub(super) struct Sharded {
    /// The shards (URLs and weights), in configuration order.
    shards: Vec<Shard>,
    /// One client per shard, same order.
    backends: Vec<Box<dyn Backend>>,
}

impl Sharded {
    /// Route over `backends`, the clients of `shards` (same length, not
    /// empty).
    pub(super) fn new(shards: Vec<Shard>, backends: Vec<Box<dyn Backend>>) -> Sharded {
        Sharded { shards, backends }
    }

    /// The client that holds `key`.
    fn route(&self, key: &str) -> &dyn Backend {
        let index = shards::pick(key, &self.shards).min(self.backends.len() - 1);
        self.backends[index].as_ref()
    }
}

impl Backend for Sharded {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        self.route(key).get(key)
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), RemoteError> {
        self.route(key).put(key, bytes)
    }

    fn exists(&self, key: &str) -> Result<bool, RemoteError> {
        self.route(key).exists(key)
    }
}
