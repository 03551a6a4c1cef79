//! Compiles in flight per define group (see [`crate::daemon::pipeline::cc::define_sibling`]).
//! When a build runs the static and the shared compile of one source at
//! the same time (CMake's Makefile generator builds both targets in
//! parallel, in the same source order), the second cannot be served from
//! the first: nothing is stored yet. With this registry the first to start
//! *leads* its group; a later one with other defines may *follow*: wait
//! (bounded) until the leader's compile is finished and stored, then try
//! the define-sibling proof.
//!
//! A request leads only while its own compile runs and never waits while
//! it leads, so waits cannot form a cycle.

use crate::storage::RecordKey;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One compile in flight.
#[derive(Debug)]
pub(crate) struct Flight {
    context: RecordKey,
    args: Vec<String>,
    done: Mutex<bool>,
    finished: Condvar,
}

impl Flight {
    /// The leader's common args (defines included).
    pub(crate) fn args(&self) -> &[String] {
        &self.args
    }

    /// Block until the leader's compile is over or `limit` passed; true
    /// when it is over.
    pub(crate) fn wait(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let Ok(mut done) = self.done.lock() else {
            return false;
        };
        while !*done {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.finished.wait_timeout(done, left) {
                Ok((d, _)) => done = d,
                Err(_) => return false,
            }
        }
        true
    }
}

/// Group key → the compile leading it.
#[derive(Debug, Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<RecordKey, Arc<Flight>>>,
}

/// How a compile joined its group.
#[derive(Debug)]
pub(crate) enum Joined<'a> {
    /// No other compile of the group runs: this one leads until the guard
    /// drops.
    Lead(LeadGuard<'a>),
    /// Another compile of the group, with another context, runs.
    Follow(Arc<Flight>),
    /// A compile of the same context runs (or the registry is unusable):
    /// nothing to wait for.
    Alone,
}

impl Flights {
    /// Join `group` as the compile of `context` with common args `args`.
    pub(crate) fn join(&self, group: RecordKey, context: RecordKey, args: &[String]) -> Joined<'_> {
        let Ok(mut map) = self.map.lock() else {
            return Joined::Alone;
        };
        match map.get(&group) {
            Some(f) if f.context == context => Joined::Alone,
            Some(f) => Joined::Follow(f.clone()),
            None => {
                let flight = Arc::new(Flight {
                    context,
                    args: args.to_vec(),
                    done: Mutex::new(false),
                    finished: Condvar::new(),
                });
                map.insert(group, flight.clone());
                Joined::Lead(LeadGuard {
                    flights: self,
                    group,
                    flight,
                })
            }
        }
    }
}

/// Leadership of a group; dropping it ends the flight and wakes followers.
#[derive(Debug)]
pub(crate) struct LeadGuard<'a> {
    flights: &'a Flights,
    group: RecordKey,
    flight: Arc<Flight>,
}

impl Drop for LeadGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut map) = self.flights.map.lock() {
            if map
                .get(&self.group)
                .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
            {
                map.remove(&self.group);
            }
        }
        if let Ok(mut done) = self.flight.done.lock() {
            *done = true;
        }
        self.flight.finished.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followers_wait_for_the_leader() {
        let flights = Flights::default();
        let (g, a, b) = (RecordKey([1; 32]), RecordKey([2; 32]), RecordKey([3; 32]));
        let lead = flights.join(g, a, &["-DA".to_string()]);
        assert!(matches!(lead, Joined::Lead(_)));
        assert!(matches!(flights.join(g, a, &[]), Joined::Alone));
        let Joined::Follow(f) = flights.join(g, b, &[]) else {
            panic!("expected to follow");
        };
        assert_eq!(f.args(), ["-DA".to_string()]);
        assert!(!f.wait(Duration::from_millis(10)), "still in flight");
        std::thread::scope(|s| {
            let waiter = s.spawn(|| f.wait(Duration::from_secs(10)));
            std::thread::sleep(Duration::from_millis(20));
            drop(lead);
            assert!(waiter.join().unwrap());
        });
        assert!(matches!(flights.join(g, b, &[]), Joined::Lead(_)));
    }
}
