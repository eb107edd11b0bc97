//! The background queue between the events and their deliveries.
//!
//! [`Dispatcher::dispatch`] only puts the event on a bounded channel and
//! returns: a run or an import never waits for, or fails because of, a
//! webhook. A worker task looks up the endpoints subscribed to the event
//! ([`Resolver`], on the blocking pool: SQLite and the keychain block) and
//! delivers to each on a task of its own, so one endpoint's retries never
//! hold another's delivery. A full queue drops the event with a warning.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};

use crate::delivery::deliver_after;
use crate::log::Pending;
use crate::{Delivery, DeliveryLog, Error, Event, EventKind, RetryPolicy, Target, deliver};

/// Events waiting for the worker; beyond this they are dropped (and logged).
const QUEUE: usize = 256;

/// Deliveries in flight at once, across endpoints.
const IN_FLIGHT: usize = 8;

/// Finds the endpoints an event goes to, with their URLs and secrets. Blocking.
pub trait Resolver: Send + Sync {
    fn targets(&self, kind: EventKind) -> Result<Vec<Target>, Error>;

    /// One endpoint by id; `None` when it was deleted.
    fn target(&self, endpoint_id: i64) -> Result<Option<Target>, Error>;
}

/// A delivery left unfinished longer than this is not resumed: word of a
/// run from days ago is noise, and its receiver may have moved on.
pub const MAX_RESUME_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The sending side of the queue. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    queue: mpsc::Sender<Event>,
    client: reqwest::Client,
    policy: RetryPolicy,
    log: Arc<dyn DeliveryLog>,
}

impl std::fmt::Debug for dyn DeliveryLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeliveryLog")
    }
}

impl Dispatcher {
    /// Starts the worker on `runtime`, and resumes the deliveries the last
    /// launch left unfinished (queued in the log's outbox).
    pub fn start(
        runtime: &tokio::runtime::Handle,
        resolver: Arc<dyn Resolver>,
        log: Arc<dyn DeliveryLog>,
        policy: RetryPolicy,
    ) -> Result<Self, Error> {
        let client = crate::client(&policy)?;
        let (queue, mut events) = mpsc::channel::<Event>(QUEUE);
        let dispatcher = Self { queue, client, policy, log };
        // The worker holds no sender of its own queue, so it ends once every `Dispatcher` is dropped.
        let (client, policy, log) = (dispatcher.client.clone(), dispatcher.policy.clone(), dispatcher.log.clone());
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        runtime.spawn(async move {
            // The outbox is read before this launch queues anything, so only
            // the last launch's deliveries are resumed, never one of this
            // launch's own (which would then go out twice). Events dispatched
            // meanwhile wait in the queue.
            let reader = log.clone();
            match tokio::task::spawn_blocking(move || reader.pending()).await {
                Ok(pending) => {
                    tokio::spawn(resume(pending, resolver.clone(), client.clone(), policy.clone(), log.clone(), slots.clone()));
                }
                Err(err) => tracing::warn!(%err, "the webhook outbox could not be read"),
            }
            while let Some(event) = events.recv().await {
                let kind = event.kind;
                let resolver = resolver.clone();
                let targets = match tokio::task::spawn_blocking(move || resolver.targets(kind)).await {
                    Ok(Ok(targets)) => targets,
                    Ok(Err(err)) => {
                        tracing::warn!(%err, event = %kind, event_id = %event.id, "webhook endpoints could not be read; the event is not sent");
                        continue;
                    }
                    Err(err) => {
                        tracing::warn!(%err, event = %kind, "looking up webhook endpoints failed");
                        continue;
                    }
                };
                for target in targets {
                    let (queue_log, queue_target, queue_event) = (log.clone(), target.clone(), event.clone());
                    if let Err(err) =
                        tokio::task::spawn_blocking(move || queue_log.queued(&queue_target, &queue_event)).await
                    {
                        tracing::warn!(%err, "a webhook delivery could not be kept in the outbox");
                    }
                    let Ok(slot) = slots.clone().acquire_owned().await else { return };
                    let (client, policy, log, event) = (client.clone(), policy.clone(), log.clone(), event.clone());
                    tokio::spawn(async move {
                        deliver(&client, &policy, &target, &event, &log).await;
                        drop(slot);
                    });
                }
            }
        });
        Ok(dispatcher)
    }

    /// Queues `event` for every endpoint subscribed to it; never waits.
    /// `false` when the queue is full or stopped (the event is dropped and logged).
    pub fn dispatch(&self, event: Event) -> bool {
        let (kind, id) = (event.kind, event.id.clone());
        match self.queue.try_send(event) {
            Ok(()) => true,
            Err(err) => {
                tracing::warn!(event = %kind, event_id = %id, why = %err, "a webhook event was dropped: the queue is full or stopped");
                false
            }
        }
    }

    /// Delivers `event` to `target` with the retry policy.
    pub async fn send(&self, target: &Target, event: &Event) -> Delivery {
        deliver(&self.client, &self.policy, target, event, &self.log).await
    }

    /// One attempt, no retries ("Test endpoint": the person waits for the answer).
    pub async fn send_once(&self, target: &Target, event: &Event) -> Delivery {
        let once = RetryPolicy { max_attempts: 1, ..self.policy.clone() };
        deliver(&self.client, &once, target, event, &self.log).await
    }
}

/// Delivers again what the outbox holds from the last launch: the same
/// event id (receivers drop a duplicate), attempts numbered on.
async fn resume(
    pending: Vec<Pending>,
    resolver: Arc<dyn Resolver>,
    client: reqwest::Client,
    policy: RetryPolicy,
    log: Arc<dyn DeliveryLog>,
    slots: Arc<Semaphore>,
) {
    let now_ms = i64::try_from(crate::unix_now().saturating_mul(1000)).unwrap_or(i64::MAX);
    for Pending { event, endpoint_id, attempts, queued_at } in pending {
        let age = Duration::from_millis(u64::try_from(now_ms.saturating_sub(queued_at)).unwrap_or(0));
        let (resolver, forget_log) = (resolver.clone(), log.clone());
        let event_id = event.id.clone();
        let found = tokio::task::spawn_blocking(move || {
            if age > MAX_RESUME_AGE {
                tracing::warn!(
                    event_id,
                    endpoint_id,
                    age_s = age.as_secs(),
                    "an unfinished webhook delivery is too old to resume; dropped"
                );
                forget_log.forget(&event_id, endpoint_id);
                return None;
            }
            match resolver.target(endpoint_id) {
                Ok(Some(target)) => Some(target),
                Ok(None) => {
                    forget_log.forget(&event_id, endpoint_id);
                    None
                }
                Err(err) => {
                    // Kept for the next start: the keychain may be locked now.
                    tracing::warn!(%err, event_id, endpoint_id, "an unfinished webhook delivery cannot be resumed now");
                    None
                }
            }
        })
        .await;
        let Ok(Some(target)) = found else { continue };
        tracing::info!(event = %event.kind, event_id = %event.id, endpoint = %target.name, attempts, "resuming an unfinished webhook delivery");
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let (client, policy, log) = (client.clone(), policy.clone(), log.clone());
        tokio::spawn(async move {
            deliver_after(&client, &policy, &target, &event, &log, attempts).await;
            drop(slot);
        });
    }
}
