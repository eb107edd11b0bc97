//! What the fake NocoDB and Airtable share: the log of requests received (for
//! assertions on counts, batch sizes and pace), a rate limit that answers 429
//! with `Retry-After`, scripted write failures, and the reply type.

use std::collections::{BTreeMap, HashSet};
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;

/// One request a fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The route's name (`"list"`, `"update"`, `"meta"`, `"create_column"`…).
    pub route: &'static str,
    /// When the fake received it.
    pub at: Instant,
    pub status: u16,
    /// Records in a write's body (0 for reads).
    pub rows: usize,
}

/// The requests of one route among `log`.
pub fn of_route<'a>(log: &'a [Request], route: &'a str) -> impl Iterator<Item = &'a Request> + 'a {
    log.iter().filter(move |r| r.route == route)
}

/// A service's rate limit: `per_second` requests a second, refilled steadily,
/// up to `per_second` at once (a token bucket, as the services describe
/// "N requests per second"); past it, 429 with `Retry-After`.
#[derive(Debug)]
pub(crate) struct RateLimit {
    limiter: DefaultDirectRateLimiter,
    retry_after: Duration,
    /// Whether a 429 carries `Retry-After` (Airtable documents a fixed 30 s wait instead).
    pub(crate) send_retry_after: bool,
}

impl RateLimit {
    pub(crate) fn new(per_second: NonZeroU32, retry_after: Duration) -> RateLimit {
        RateLimit { limiter: RateLimiter::direct(Quota::per_second(per_second)), retry_after, send_retry_after: true }
    }

    /// `None` when the request may go on, else how long to tell the client to wait.
    pub(crate) fn check(&self) -> Option<Duration> {
        self.limiter.check().err().map(|_| self.retry_after)
    }
}

/// Write failures a test scripts: the nth write request (1-based) answered
/// with a status, and keys whose batch is refused whole.
#[derive(Debug, Default)]
pub(crate) struct Script {
    failing_writes: BTreeMap<usize, u16>,
    pub(crate) failing_keys: HashSet<String>,
    writes: usize,
}

impl Script {
    pub(crate) fn fail_write(&mut self, nth: usize, status: u16) {
        self.failing_writes.insert(nth, status);
    }

    /// Counts a write request; the status it must fail with, if scripted.
    pub(crate) fn next_write(&mut self) -> Option<StatusCode> {
        self.writes += 1;
        self.failing_writes.remove(&self.writes).and_then(|s| StatusCode::from_u16(s).ok())
    }
}

/// What a fake answers.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) rows: usize,
}

impl Reply {
    pub(crate) fn ok(body: Value) -> Reply {
        Reply { status: StatusCode::OK, body, retry_after: None, rows: 0 }
    }

    pub(crate) fn error(status: StatusCode, body: Value) -> Reply {
        Reply { status, body, retry_after: None, rows: 0 }
    }

    pub(crate) fn rows(mut self, rows: usize) -> Reply {
        self.rows = rows;
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if let Some(wait) = self.retry_after {
            let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}
