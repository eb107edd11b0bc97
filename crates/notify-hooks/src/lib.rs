//! Outgoing webhooks on run and import events (issue 19, point 2).
//!
//! - [`Event`]s of an [`EventKind`] (`run.finished`, `run.failed`,
//!   `run.budget_reached`, `import.done`, and `test`) are handed to a
//!   [`Dispatcher`], a background queue: dispatching never blocks or fails
//!   the run or import that caused it.
//! - Each endpoint subscribed to the event gets the body of its [`Preset`]
//!   (`generic` JSON, a Slack message, a Teams Adaptive Card), with an
//!   [`EVENT_ID_HEADER`] for receivers to drop duplicates and, when it has a
//!   signing secret, a [`SIGNATURE_HEADER`] (`t=<unix seconds>,v1=<hex
//!   HMAC-SHA256(secret, "<t>.<body>")>`) that receivers check with
//!   [`verify`], which refuses a bad signature and an old timestamp (replay).
//! - [`deliver`] retries network errors, 5xx and 429 (honouring
//!   `Retry-After`) with exponential back-off and jitter, never another
//!   4xx, and logs every attempt ([`DeliveryLog`]; [`StoreLog`] writes the
//!   local database's `hook_deliveries`).
//! - [`Endpoints`] keeps endpoints in the local database and each one's URL
//!   and signing secret in the OS keychain (a Slack or Teams webhook URL is
//!   itself a secret): logs, rows, errors and replies show only the host.

mod delivery;
mod dispatcher;
mod endpoints;
mod event;
mod log;
mod preset;
mod signature;

pub use delivery::{Delivery, RetryPolicy, Target, client, deliver, host_of, is_loopback};
pub use dispatcher::{Dispatcher, MAX_RESUME_AGE, Resolver};
pub use endpoints::{Endpoints, NewEndpoint};
pub use event::{EVENT_ID_HEADER, EVENT_KIND_HEADER, Event, EventKind};
pub use log::{AttemptRecord, DeliveryLog, Outcome, Pending, StoreLog};
pub use preset::Preset;
pub use signature::{DEFAULT_TOLERANCE, SIGNATURE_HEADER, VerifyError, sign, verify};

/// What this crate refuses or fails at. Messages never hold a webhook URL or secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad input from the person: the message says what to change.
    #[error("{0}")]
    Invalid(String),
    /// The local database.
    #[error(transparent)]
    Data(#[from] local_data::Error),
    /// The OS keychain.
    #[error(transparent)]
    Keychain(#[from] secrets::Error),
    /// The HTTP client could not be built.
    #[error("the webhook HTTP client could not be set up: {0}")]
    Http(String),
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
