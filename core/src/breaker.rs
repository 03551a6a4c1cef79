//! A circuit breaker per remote service (each remote tier, the REAPI
//! executor): after a connection error or a timeout the
//! service is skipped for a back-off period that doubles from 1 s up to 60 s,
//! then probed again by the next request; a success closes it. So a dead
//! or hanging server costs at most one timeout per back-off period, not
//! one per compile.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// First back-off period.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest back-off period.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BreakerState {
    /// Requests go through.
    Closed,
    /// Requests are skipped until the back-off ends.
    Open,
}

impl BreakerState {
    /// `closed` or `open`, as stats print it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
        }
    }
}

#[derive(Debug)]
struct Inner {
    open_until: Option<Instant>,
    backoff: Duration,
}

/// One tier's breaker.
#[derive(Debug)]
pub(crate) struct Breaker {
    inner: Mutex<Inner>,
}

impl Default for Breaker {
    fn default() -> Breaker {
        Breaker {
            inner: Mutex::new(Inner {
                open_until: None,
                backoff: FIRST_BACKOFF,
            }),
        }
    }
}

impl Breaker {
    /// True when a request may go to the tier now (closed, or the back-off
    /// is over: this request is the probe).
    pub(crate) fn allows(&self) -> bool {
        let Ok(g) = self.inner.lock() else {
            return true;
        };
        match g.open_until {
            Some(t) => Instant::now() >= t,
            None => true,
        }
    }

    /// The tier answered: close the breaker and reset the back-off.
    pub(crate) fn success(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.open_until = None;
            g.backoff = FIRST_BACKOFF;
        }
    }

    /// The tier is unreachable or hanging: open for the current back-off,
    /// and double it for next time.
    pub(crate) fn failure(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.open_until = Some(Instant::now() + g.backoff);
            g.backoff = (g.backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// The state now.
    pub(crate) fn state(&self) -> BreakerState {
        if self.allows() {
            BreakerState::Closed
        } else {
            BreakerState::Open
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_on_failure_and_closes_on_success() {
        let b = Breaker::default();
        assert!(b.allows());
        b.failure();
        assert!(!b.allows());
        assert_eq!(b.state(), BreakerState::Open);
        b.success();
        assert!(b.allows());
        let g = b.inner.lock().unwrap();
        assert_eq!(g.backoff, FIRST_BACKOFF);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let b = Breaker::default();
        for _ in 0..10 {
            b.failure();
        }
        assert_eq!(b.inner.lock().unwrap().backoff, MAX_BACKOFF);
    }
}
