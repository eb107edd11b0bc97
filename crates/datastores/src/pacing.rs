//! Staying within a service's rate limits: a steady pace per service (a GCRA
//! from `governor`) and, when the service still answers 429, waiting as long
//! as its `Retry-After` says before trying again, a bounded number of times.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{RequestBuilder, Response, StatusCode};

use crate::Error;

/// How many times a 429 or 503 is retried before giving up.
pub const MAX_ATTEMPTS: u32 = 6;

/// The longest single wait a `Retry-After` may ask for; longer ends the call.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// The process's shared pacers by (service, scope, requests per second);
/// dead ones are dropped as new ones come.
type SharedPacers = HashMap<(&'static str, String, NonZeroU32), Weak<Pacer>>;

/// Requests per second to one service (Airtable: 5 per base).
#[derive(Debug)]
pub struct Pacer {
    limiter: DefaultDirectRateLimiter,
    service: &'static str,
    /// The wait after a 429 or 503 without `Retry-After`; `None`: a doubling back-off.
    default_wait: Option<Duration>,
}

impl Pacer {
    pub fn per_second(service: &'static str, requests: NonZeroU32) -> Pacer {
        Pacer { limiter: RateLimiter::direct(Quota::per_second(requests)), service, default_wait: None }
    }

    /// One request every 1/`requests` s, with no burst: never more than
    /// `requests` in any one-second window, for services that count requests
    /// per second rather than refilling a bucket (Airtable's 5 per base).
    pub fn steady(service: &'static str, requests: NonZeroU32) -> Pacer {
        let quota = Quota::with_period(Duration::from_secs(1) / requests.get())
            .map_or_else(|| Quota::per_second(requests), |q| q.allow_burst(NonZeroU32::MIN));
        Pacer { limiter: RateLimiter::direct(quota), service, default_wait: None }
    }

    /// Waits `wait` after a 429 or 503 that gives no `Retry-After` (Airtable
    /// documents 30 s) instead of the doubling back-off.
    pub fn with_default_wait(mut self, wait: Duration) -> Pacer {
        self.default_wait = Some(wait);
        self
    }

    /// The one pace of `service` for `scope` (a workspace, a server, a base)
    /// at `requests` per second in this process; `make` builds it for its
    /// first user. Clients made per call (the connector service makes one per
    /// request) then keep the service's limit together instead of each
    /// starting with a fresh allowance.
    pub fn shared(
        service: &'static str,
        scope: &str,
        requests: NonZeroU32,
        make: impl FnOnce() -> Pacer,
    ) -> Arc<Pacer> {
        static PACERS: OnceLock<Mutex<SharedPacers>> = OnceLock::new();
        let mut pacers = PACERS.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
        let key = (service, scope.to_owned(), requests);
        if let Some(pacer) = pacers.get(&key).and_then(Weak::upgrade) {
            return pacer;
        }
        pacers.retain(|_, pacer| pacer.strong_count() > 0);
        let pacer = Arc::new(make());
        pacers.insert(key, Arc::downgrade(&pacer));
        pacer
    }

    /// Sends the request `build` makes, paced, retrying 429 and 503 answers
    /// after their `Retry-After` (or a doubling back-off without one).
    /// Any other answer is returned as is, for the caller to read.
    pub async fn send(&self, build: impl Fn() -> RequestBuilder) -> Result<Response, Error> {
        let mut backoff = Duration::from_millis(500);
        for attempt in 1..=MAX_ATTEMPTS {
            self.limiter.until_ready().await;
            let response = build().send().await.map_err(|e| network_error(self.service, &e))?;
            let status = response.status();
            if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
                return Ok(response);
            }
            if attempt == MAX_ATTEMPTS {
                break;
            }
            let wait = retry_after(&response).or(self.default_wait).unwrap_or(backoff);
            if wait > MAX_RETRY_AFTER {
                break;
            }
            tracing::info!(
                service = self.service,
                status = status.as_u16(),
                wait_ms = wait.as_millis() as u64,
                attempt,
                "rate limited; waiting"
            );
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
        Err(Error::RateLimited { service: self.service, attempts: MAX_ATTEMPTS })
    }
}

/// `Retry-After` in seconds or as an HTTP date.
pub fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

/// A reqwest error without its URL (which may carry a secret in a query).
pub fn network_error(service: &'static str, error: &reqwest::Error) -> Error {
    let message = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else {
        causes_without_url(error)
    };
    Error::Network { service, message }
}

/// reqwest's own text includes the URL; its causes' texts do not.
fn causes_without_url(error: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if text.is_empty() { "request failed".to_owned() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_of_one_scope_share_one_pace() {
        let shared =
            |service, scope: &str, rate| Pacer::shared(service, scope, rate, || Pacer::per_second(service, rate));
        let rate = NonZeroU32::MIN;
        let first = shared("test", "https://a.example", rate);
        assert!(Arc::ptr_eq(&first, &shared("test", "https://a.example", rate)));
        assert!(!Arc::ptr_eq(&first, &shared("test", "https://b.example", rate)));
        assert!(!Arc::ptr_eq(&first, &shared("other", "https://a.example", rate)));
        assert!(!Arc::ptr_eq(&first, &shared("test", "https://a.example", NonZeroU32::MAX)));
    }
}
