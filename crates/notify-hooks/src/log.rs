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

/// Where attempts are written. Called on the blocking pool.
pub trait DeliveryLog: Send + Sync {
    fn record(&self, attempt: &AttemptRecord);
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
        let store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(err) = store.record_hook_delivery(&row) {
            // The delivery itself goes on: a log that cannot be written must not stop word of a run.
            tracing::warn!(%err, event_id = %attempt.event_id, "a webhook attempt could not be written to the delivery log");
        }
    }
}
