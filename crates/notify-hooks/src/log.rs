//! The delivery log: one row per attempt (event, endpoint, attempt,
//! status or error, time), in the local database's `hook_deliveries`
//! (schema 11) through [`StoreLog`]. Rows hold the endpoint's name and
//! host, never its URL or secret.

use std::sync::{Arc, Mutex, PoisonError};

use local_data::{NewHookDelivery, Store};

use crate::{Event, EventKind, Target};

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted (2xx).
    Delivered,
    /// Failed; another attempt follows.
    Retrying,
    /// Failed; the last attempt.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Retrying => "retrying",
            Outcome::Failed => "failed",
        }
    }
}

/// One attempt, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub event_id: String,
    pub event: EventKind,
    pub endpoint_id: i64,
    pub endpoint: String,
    pub host: String,
    pub attempt: u32,
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl AttemptRecord {
    pub(crate) fn of(
        target: &Target,
        event: &Event,
        attempt: u32,
        outcome: Outcome,
        status: Option<u16>,
        error: Option<String>,
    ) -> Self {
        Self {
            event_id: event.id.clone(),
            event: event.kind,
            endpoint_id: target.endpoint_id,
            endpoint: target.name.clone(),
            host: target.host().to_owned(),
            attempt,
            outcome,
            status,
            error,
        }
    }
}

/// A delivery queued and not finished when the last launch ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub event: Event,
    pub endpoint_id: i64,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was queued, unix milliseconds.
    pub queued_at: i64,
}

/// Where attempts are written, and where deliveries wait to be finished
/// (the outbox). Called on the blocking pool.
pub trait DeliveryLog: Send + Sync {
    /// Logs an attempt; an attempt that delivered or gave up also takes the
    /// delivery out of the outbox.
    fn record(&self, attempt: &AttemptRecord);

    /// Keeps a delivery about to start, so a quit before it ends does not lose it.
    fn queued(&self, target: &Target, event: &Event);

    /// The deliveries queued and not finished, oldest first.
    fn pending(&self) -> Vec<Pending>;

    /// Drops a queued delivery that will not be resumed.
    fn forget(&self, event_id: &str, endpoint_id: i64);
}

/// The log in the local database.
#[derive(Debug, Clone)]
pub struct StoreLog {
    store: Arc<Mutex<Store>>,
}

impl StoreLog {
    pub fn new(store: Arc<Mutex<Store>>) -> Self {
        Self { store }
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl DeliveryLog for StoreLog {
    fn record(&self, attempt: &AttemptRecord) {
        let row = NewHookDelivery {
            event_id: &attempt.event_id,
            event: attempt.event.as_str(),
            endpoint_id: attempt.endpoint_id,
            endpoint: &attempt.endpoint,
            host: &attempt.host,
            attempt: attempt.attempt,
            outcome: attempt.outcome.as_str(),
            status: attempt.status,
            error: attempt.error.as_deref(),
        };
        let mut store = self.store();
        if let Err(err) = store.record_hook_delivery(&row) {
            // The delivery itself goes on: a log that cannot be written must not stop word of a run.
            tracing::warn!(%err, event_id = %attempt.event_id, "a webhook attempt could not be written to the delivery log");
        }
    }

    fn queued(&self, target: &Target, event: &Event) {
        let queued = serde_json::to_string(event).map_err(|e| e.to_string()).and_then(|json| {
            self.store().queue_hook_delivery(&event.id, target.endpoint_id, &json).map_err(|e| e.to_string())
        });
        if let Err(err) = queued {
            // Sent anyway; only a quit during its retries would lose it.
            tracing::warn!(%err, event_id = %event.id, "a webhook delivery could not be kept in the outbox");
        }
    }

    fn pending(&self) -> Vec<Pending> {
        let rows = match self.store().pending_hook_deliveries() {
            Ok(rows) => rows,
            Err(err) => {
                tracing::warn!(%err, "the webhook outbox could not be read; unfinished deliveries wait for the next start");
                return Vec::new();
            }
        };
        let mut pending = Vec::with_capacity(rows.len());
        for row in rows {
            match serde_json::from_str::<Event>(&row.event) {
                Ok(event) => pending.push(Pending {
                    event,
                    endpoint_id: row.endpoint_id,
                    attempts: row.attempts,
                    queued_at: row.created_at,
                }),
                Err(err) => {
                    tracing::warn!(%err, event_id = %row.event_id, "an unreadable webhook outbox entry is dropped");
                    self.forget(&row.event_id, row.endpoint_id);
                }
            }
        }
        pending
    }

    fn forget(&self, event_id: &str, endpoint_id: i64) {
        if let Err(err) = self.store().drop_hook_delivery(event_id, endpoint_id) {
            tracing::warn!(%err, event_id, "a webhook outbox entry could not be removed");
        }
    }
}
