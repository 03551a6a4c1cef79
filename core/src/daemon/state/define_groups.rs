//! The define-group registry of the C pipeline's define-sibling fallback
//! (see `pipeline::cc::define_sibling`): group key → the last stored
//! compile of the group, and the members in flight. Memory only, bounded.

use super::sibling_flights::Flights;
use crate::storage::RecordKey;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// Groups remembered by [`Siblings`]; the oldest is forgotten first.
pub(crate) const MAX_GROUPS: usize = 4096;

/// The last stored compile of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sibling {
    /// Its context key (direct-mode manifest).
    pub context: RecordKey,
    /// Its common args (defines included), for its `-E` run.
    pub args: Vec<String>,
}

/// Longest wait for a group member in flight.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(120);

/// Group key → the last stored member of the group, at most
/// [`MAX_GROUPS`] groups, and the members in flight (in memory only).
#[derive(Debug, Default)]
pub(crate) struct Siblings {
    inner: Mutex<Registry>,
    /// The group members being compiled now.
    pub flights: Flights,
}

#[derive(Debug, Default)]
struct Registry {
    map: HashMap<RecordKey, Sibling>,
    order: VecDeque<RecordKey>,
}

impl Siblings {
    /// Remember `sibling` as the last stored member of `group`.
    pub(crate) fn insert(&self, group: RecordKey, sibling: Sibling) {
        let Ok(mut r) = self.inner.lock() else { return };
        if r.map.insert(group, sibling).is_none() {
            r.order.push_back(group);
        }
        while r.order.len() > MAX_GROUPS {
            if let Some(old) = r.order.pop_front() {
                r.map.remove(&old);
            }
        }
    }

    /// The last stored member of `group`, if remembered.
    pub(crate) fn get(&self, group: &RecordKey) -> Option<Sibling> {
        self.inner.lock().ok()?.map.get(group).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_bounded_and_keeps_the_latest_member() {
        let s = Siblings::default();
        let sib = |n: u8| Sibling {
            context: RecordKey([n; 32]),
            args: vec![format!("-DN={n}")],
        };
        let key = |n: usize| RecordKey(*blake3::hash(&n.to_le_bytes()).as_bytes());
        s.insert(key(0), sib(1));
        s.insert(key(0), sib(2));
        assert_eq!(s.get(&key(0)), Some(sib(2)));
        for n in 1..=MAX_GROUPS {
            s.insert(key(n), sib(3));
        }
        assert_eq!(s.get(&key(0)), None, "the oldest group is forgotten");
        assert_eq!(s.get(&key(MAX_GROUPS)), Some(sib(3)));
        assert_eq!(s.inner.lock().unwrap().map.len(), MAX_GROUPS);
    }
}
