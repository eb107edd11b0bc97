//! The runs this process is sending, so a command that only has a run id can
//! cancel or pause it, and a second resume of a run being sent is refused.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use providers::CancellationToken;
use tokio::task::JoinHandle;

use crate::{Error, RunEvent, RunHandle};

/// The live runs' cancel and pause tokens, by run id. Cheap to clone: clones
/// share the registry. A run left `running` by a crash is not here, which is
/// how a shell tells it apart from one being sent.
#[derive(Debug, Clone, Default)]
pub struct LiveRuns {
    live: Arc<Mutex<HashMap<i64, Controls>>>,
}

#[derive(Debug, Clone, Default)]
struct Controls {
    cancel: CancellationToken,
    pause: CancellationToken,
}

impl LiveRuns {
    /// A new, empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn live(&self) -> MutexGuard<'_, HashMap<i64, Controls>> {
        // A panic while holding the lock cannot leave the map inconsistent:
        // every change is one insert or remove.
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks an existing run as being sent before anything else happens, so
    /// two resumes of one run cannot both send it. Until [`LiveRuns::follow`]
    /// takes over, a [`LiveRuns::cancel`] or [`LiveRuns::pause`] is remembered
    /// and applied as soon as the run is followed. Refused with [`Error::AlreadySending`].
    pub fn reserve(&self, run_id: i64) -> Result<(), Error> {
        match self.live().entry(run_id) {
            Entry::Occupied(_) => Err(Error::AlreadySending { run_id }),
            Entry::Vacant(slot) => {
                slot.insert(Controls::default());
                Ok(())
            }
        }
    }

    /// Forgets a run (a reservation whose resume failed, or a run that stopped).
    pub fn release(&self, run_id: i64) {
        self.live().remove(&run_id);
    }

    /// Cancels a live (or reserved) run; whether there was one.
    pub fn cancel(&self, run_id: i64) -> bool {
        let token = self.live().get(&run_id).map(|c| c.cancel.clone());
        token.inspect(CancellationToken::cancel).is_some()
    }

    /// Pauses a live (or reserved) run cleanly ([`crate::RunHandle::pause`]);
    /// whether there was one.
    pub fn pause(&self, run_id: i64) -> bool {
        let token = self.live().get(&run_id).map(|c| c.pause.clone());
        token.inspect(CancellationToken::cancel).is_some()
    }

    /// Whether the run is being sent (or reserved) by this process.
    pub fn is_live(&self, run_id: i64) -> bool {
        self.live().contains_key(&run_id)
    }

    /// Registers the handle's run as live (taking over its reservation: one
    /// cancelled meanwhile cancels the run), gives every event of the run
    /// to `forward` on a task of its own, and removes the run when sending
    /// has stopped. Call from within a Tokio runtime.
    pub fn follow(&self, mut handle: RunHandle, mut forward: impl FnMut(RunEvent) + Send + 'static) -> JoinHandle<()> {
        let run_id = handle.run_id;
        {
            let mut live = self.live();
            if let Some(reserved) = live.get(&run_id) {
                if reserved.cancel.is_cancelled() {
                    handle.cancel();
                }
                if reserved.pause.is_cancelled() {
                    handle.pause();
                }
            }
            live.insert(run_id, Controls { cancel: handle.cancel_token(), pause: handle.pause_token() });
        }
        let registry = self.clone();
        tokio::spawn(async move {
            while let Some(event) = handle.events.recv().await {
                forward(event);
            }
            if let Err(err) = handle.wait().await {
                tracing::error!(run_id, code = err.code(), %err, "the run stopped with an error");
            }
            registry.release(run_id);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_reserved_once_and_cancelled_by_id() {
        let runs = LiveRuns::new();
        runs.reserve(7).unwrap();
        assert!(matches!(runs.reserve(7), Err(Error::AlreadySending { run_id: 7 })));
        assert!(runs.is_live(7) && !runs.is_live(8));
        assert!(runs.cancel(7));
        assert!(!runs.cancel(8), "no such run");
        assert!(runs.pause(7));
        assert!(!runs.pause(8), "no such run");
        runs.release(7);
        assert!(!runs.is_live(7));
        runs.reserve(7).unwrap();
    }

    #[test]
    fn clones_share_the_registry() {
        let runs = LiveRuns::new();
        runs.clone().reserve(1).unwrap();
        assert!(runs.is_live(1));
    }
}
