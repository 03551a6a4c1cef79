//! The background verifier of sampled hits (`ZCCACHE_VERIFY_RATE`): a
//! bounded queue drained by one low-priority thread, so at most one
//! verification runs at a time and a hit is never delayed by one. A full
//! queue drops the sample (verification is best effort by design).

use super::DaemonState;
use crate::storage::RecordKey;
use std::collections::HashSet;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

/// Samples waiting at most; more are dropped.
const QUEUE_LEN: usize = 64;

/// One verification to run on the verifier thread.
pub(crate) type VerifyTask = Box<dyn FnOnce(&DaemonState) + Send>;

/// The verification queue and what verification learned.
pub(crate) struct Verifier {
    sender: SyncSender<VerifyTask>,
    receiver: Mutex<Option<Receiver<VerifyTask>>>,
    nondeterministic: Mutex<HashSet<RecordKey>>,
    stale: Mutex<HashSet<RecordKey>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").finish_non_exhaustive()
    }
}

impl Default for Verifier {
    fn default() -> Verifier {
        let (sender, receiver) = sync_channel(QUEUE_LEN);
        Verifier {
            sender,
            receiver: Mutex::new(Some(receiver)),
            nondeterministic: Mutex::new(HashSet::new()),
            stale: Mutex::new(HashSet::new()),
        }
    }
}

impl Verifier {
    /// Queue `task`; false (and the sample is dropped) when the queue is
    /// full or the verifier stopped.
    pub(crate) fn enqueue(&self, task: VerifyTask) -> bool {
        match self.sender.try_send(task) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Remember that the compile context `key` is not deterministic: its
    /// results are no longer stored.
    pub(crate) fn mark_nondeterministic(&self, key: RecordKey) {
        if let Ok(mut set) = self.nondeterministic.lock() {
            set.insert(key);
        }
    }

    /// Remember that the entry `key` was found stale: remote tiers still
    /// hold it (nothing deletes there), so this daemon never takes it from
    /// a tier again.
    pub(crate) fn mark_stale(&self, key: RecordKey) {
        if let Ok(mut set) = self.stale.lock() {
            set.insert(key);
        }
    }

    /// True when verification found the entry `key` stale.
    pub(crate) fn is_stale(&self, key: &RecordKey) -> bool {
        self.stale
            .lock()
            .map(|set| set.contains(key))
            .unwrap_or(false)
    }

    /// True when verification found the context `key` non-deterministic.
    pub(crate) fn is_nondeterministic(&self, key: &RecordKey) -> bool {
        self.nondeterministic
            .lock()
            .map(|set| set.contains(key))
            .unwrap_or(false)
    }
}

/// Start the verifier thread of `state` (once; later calls do nothing).
/// The thread runs at a lower CPU priority (nice 10) and ends with the
/// daemon process.
pub(crate) fn start(state: Arc<DaemonState>) {
    let Some(receiver) = state
        .verifier()
        .receiver
        .lock()
        .ok()
        .and_then(|mut r| r.take())
    else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("zccache-verify".into())
        .spawn(move || {
            // SAFETY: nice(2) only changes this thread's scheduling priority.
            unsafe {
                libc::nice(10);
            }
            while let Ok(task) = receiver.recv() {
                task(&state);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the hit verifier");
    }
}
