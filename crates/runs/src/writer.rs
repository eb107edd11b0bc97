//! Group commit for a live run's claims and answers.
//!
//! The run's workers queue their writes here; one blocking thread stores
//! everything waiting in one transaction ([`Store::write_run_batch`]) and
//! answers each worker. One commit per request made SQLite's commits, taken
//! one at a time behind the store's lock, the run's bottleneck.

use std::sync::{Arc, Mutex, PoisonError};

use local_data::{RunWrite, RunWritten, Store};
use tokio::sync::{mpsc, oneshot};

use crate::Error;

/// The most writes in one transaction; a queue longer than this is stored
/// in several, so no worker waits on one huge commit.
const MAX_WRITES_PER_COMMIT: usize = 256;

struct Queued {
    write: RunWrite,
    reply: oneshot::Sender<Result<RunWritten, Error>>,
}

/// A run's writer. Its thread ends when the writer is dropped.
pub(crate) struct Writer {
    queue: mpsc::UnboundedSender<Queued>,
}

impl Writer {
    /// Starts the writer's thread. Call from within a Tokio runtime.
    pub(crate) fn start(store: Arc<Mutex<Store>>) -> Self {
        let (queue, mut waiting) = mpsc::unbounded_channel::<Queued>();
        tokio::task::spawn_blocking(move || {
            let mut batch = Vec::new();
            while let Some(first) = waiting.blocking_recv() {
                batch.push(first);
                while batch.len() < MAX_WRITES_PER_COMMIT
                    && let Ok(next) = waiting.try_recv()
                {
                    batch.push(next);
                }
                let (writes, replies): (Vec<_>, Vec<_>) = batch.drain(..).map(|q| (q.write, q.reply)).unzip();
                // A panic elsewhere cannot leave the connection inconsistent: every write is a transaction.
                let stored = store.lock().unwrap_or_else(PoisonError::into_inner).write_run_batch(writes);
                match stored {
                    Ok(results) => {
                        for (reply, result) in replies.into_iter().zip(results) {
                            let _ = reply.send(result.map_err(Error::from));
                        }
                    }
                    Err(e) => {
                        tracing::error!(code = e.code(), %e, "a run's writes could not be stored");
                        let message = format!("the run's answers could not be stored: {e}");
                        let mut replies = replies.into_iter();
                        if let Some(first) = replies.next() {
                            let _ = first.send(Err(Error::from(e)));
                        }
                        for reply in replies {
                            let _ = reply.send(Err(Error::Engine(message.clone())));
                        }
                    }
                }
            }
        });
        Writer { queue }
    }

    /// Queues `write` and waits until it is committed (or failed).
    pub(crate) async fn write(&self, write: RunWrite) -> Result<RunWritten, Error> {
        let stopped = || Error::Engine("the run's writer stopped".to_owned());
        let (reply, written) = oneshot::channel();
        self.queue.send(Queued { write, reply }).map_err(|_| stopped())?;
        written.await.map_err(|_| stopped())?
    }
}
