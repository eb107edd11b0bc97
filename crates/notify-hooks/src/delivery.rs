//! One event to one endpoint: POST the preset's body, signed, with retries.
//!
//! Retried: network errors (connect, timeout, a dropped connection), 5xx and
//! 429, after an exponential back-off with jitter, or after the answer's
//! `Retry-After` when it asks for longer. Not retried: any other status
//! (a 4xx means the request itself is wrong; a 3xx is not followed, since a
//! redirect could carry the body and a secret URL's token elsewhere). Each
//! attempt is written to the [`DeliveryLog`] as it ends. Neither the URL (a
//! Slack or Teams webhook URL *is* a secret) nor the signing secret reaches a
//! log line, a log row or an error: only the URL's host does.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng as _;
use reqwest::StatusCode;
use secrets::Secret;
use serde::Serialize;

use crate::log::{AttemptRecord, DeliveryLog, Outcome};
use crate::{EVENT_ID_HEADER, EVENT_KIND_HEADER, Error, Event, Preset, SIGNATURE_HEADER};

/// An endpoint ready to send to: its settings and, from the keychain, its
/// URL and signing secret (both [`Secret`]s, so they print as `***`).
#[derive(Debug, Clone)]
pub struct Target {
    pub endpoint_id: i64,
    pub name: String,
    pub preset: Preset,
    // Shared, not copied: `Secret` zeroizes on drop and is deliberately not `Clone`.
    url: Arc<Secret>,
    host: String,
    signing_secret: Option<Arc<Secret>>,
}

impl Target {
    /// Checks the URL ([`host_of`]) and keeps it with its host.
    pub fn new(
        endpoint_id: i64,
        name: impl Into<String>,
        preset: Preset,
        url: Secret,
        signing_secret: Option<Secret>,
    ) -> Result<Self, Error> {
        let host = host_of(url.expose())?;
        Ok(Self {
            endpoint_id,
            name: name.into(),
            preset,
            url: Arc::new(url),
            host,
            signing_secret: signing_secret.map(Arc::new),
        })
    }

    /// What may be shown of the URL: its host (and port, when not the scheme's default).
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// Whether `url` names this computer: `localhost` or a loopback address
/// (the one place plain `http://` is allowed, for webhooks and team servers).
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The host (and a non-default port) of a webhook URL, after checking it is
/// `https://`, or `http://` to a loopback address only (the URL and the body
/// may carry secrets). The error never repeats the URL.
pub fn host_of(url: &str) -> Result<String, Error> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| {
        Error::Invalid(format!("the webhook URL is not a valid URL ({e}); paste it whole, starting with https://"))
    })?;
    let host = parsed
        .host_str()
        .ok_or_else(|| Error::Invalid("the webhook URL has no host; paste it whole, starting with https://".into()))?;
    let loopback = is_loopback(&parsed);
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::Invalid(format!(
                "the webhook URL to {host} uses plain http://, which would send its token and the event unencrypted; use https:// (http:// is allowed to this computer only)"
            )));
        }
        other => {
            return Err(Error::Invalid(format!("the webhook URL's scheme `{other}` is not supported; use https://")));
        }
    }
    Ok(match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// How hard one delivery tries.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The back-off before the second attempt; it doubles each time.
    pub base_delay: Duration,
    /// The longest back-off (before jitter).
    pub max_delay: Duration,
    /// The longest `Retry-After` waited for; an answer asking for longer ends the delivery.
    pub max_retry_after: Duration,
    /// Per attempt, connecting and answering included.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts over about 15 s of back-off (1, 2, 4, 8 s, jittered); `Retry-After` up to 5 minutes.
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(300),
            timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`: the doubled base capped at
    /// `max_delay`, then "equal jitter" (half fixed, half random), so
    /// endpoints failing together do not retry in lockstep.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doubled = self.base_delay.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let capped = doubled.min(self.max_delay);
        let half = capped / 2;
        half + half.mul_f64(rand::thread_rng().r#gen::<f64>())
    }
}

/// How a delivery ended: what "Test endpoint" shows.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "HookDeliveryOutcome"))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub event_id: String,
    pub endpoint: String,
    pub host: String,
    pub delivered: bool,
    pub attempts: u32,
    /// The last answer's HTTP status, if there was an answer.
    pub status: Option<u16>,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

/// A client fit for webhooks: no redirects followed, a user agent naming us.
pub fn client(policy: &RetryPolicy) -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(policy.timeout)
        .user_agent(concat!("Augment-It-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Http(e.without_url().to_string()))
}

/// What one attempt came to.
enum Attempt {
    Delivered(u16),
    Retry { status: Option<u16>, error: String, at_least: Option<Duration> },
    GiveUp { status: Option<u16>, error: String },
}

/// Sends `event` to `target` until it is accepted (2xx), refused for good,
/// or out of attempts; every attempt goes to `log`.
pub async fn deliver(
    client: &reqwest::Client,
    policy: &RetryPolicy,
    target: &Target,
    event: &Event,
    log: &Arc<dyn DeliveryLog>,
) -> Delivery {
    deliver_after(client, policy, target, event, log, 0).await
}

/// [`deliver`] for a delivery that already made `done` attempts (resumed
/// after a restart): it goes on numbering from there, and makes at least one
/// attempt even when `done` used up the policy (the quit cut its wait short).
pub(crate) async fn deliver_after(
    client: &reqwest::Client,
    policy: &RetryPolicy,
    target: &Target,
    event: &Event,
    log: &Arc<dyn DeliveryLog>,
    done: u32,
) -> Delivery {
    let max_attempts = policy.max_attempts.max(done + 1);
    let body = match serde_json::to_vec(&target.preset.body(event)) {
        Ok(body) => body,
        Err(e) => {
            return finished(target, event, 0, None, Some(format!("the event could not be written as JSON: {e}")));
        }
    };
    let mut attempt = done;
    loop {
        attempt += 1;
        let result = send_once(client, target, event, &body).await;
        let last = attempt >= max_attempts;
        let (outcome, status, error, wait) = match result {
            Attempt::Delivered(status) => (Outcome::Delivered, Some(status), None, None),
            Attempt::GiveUp { status, error } => (Outcome::Failed, status, Some(error), None),
            Attempt::Retry { status, error, .. } if last => {
                let attempts = if attempt == 1 { "1 attempt".to_owned() } else { format!("{attempt} attempts") };
                (Outcome::Failed, status, Some(format!("{error}; gave up after {attempts}")), None)
            }
            Attempt::Retry { status, error, at_least } => match at_least {
                Some(asked) if asked > policy.max_retry_after => (
                    Outcome::Failed,
                    status,
                    Some(format!(
                        "{error}; the endpoint asked to wait {} s, more than the {} s allowed, so it was not retried",
                        asked.as_secs(),
                        policy.max_retry_after.as_secs()
                    )),
                    None,
                ),
                _ => {
                    let wait = policy.backoff(attempt).max(at_least.unwrap_or_default());
                    (Outcome::Retrying, status, Some(error), Some(wait))
                }
            },
        };
        tracing::info!(
            event = %event.kind, event_id = %event.id, endpoint = %target.name, host = %target.host,
            attempt, status, error = error.as_deref().unwrap_or(""), outcome = outcome.as_str(),
            "webhook attempt"
        );
        record(log, AttemptRecord::of(target, event, attempt, outcome, status, error.clone())).await;
        match wait {
            Some(wait) => tokio::time::sleep(wait).await,
            None => return finished(target, event, attempt, status, error),
        }
    }
}

fn finished(target: &Target, event: &Event, attempts: u32, status: Option<u16>, error: Option<String>) -> Delivery {
    Delivery {
        event_id: event.id.clone(),
        endpoint: target.name.clone(),
        host: target.host.clone(),
        delivered: error.is_none() && status.is_some_and(|s| (200..300).contains(&s)),
        attempts,
        status,
        error,
    }
}

/// Writes the attempt on the blocking pool (SQLite), never failing the delivery.
async fn record(log: &Arc<dyn DeliveryLog>, attempt: AttemptRecord) {
    let log = log.clone();
    if let Err(e) = tokio::task::spawn_blocking(move || log.record(&attempt)).await {
        tracing::warn!(%e, "a webhook attempt could not be logged");
    }
}

async fn send_once(client: &reqwest::Client, target: &Target, event: &Event, body: &[u8]) -> Attempt {
    let mut request = client
        .post(target.url.expose())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_ID_HEADER, &event.id)
        .header(EVENT_KIND_HEADER, event.kind.as_str());
    if let Some(secret) = &target.signing_secret {
        // Signed at each attempt, so a retry after a long wait is not refused as a replay.
        request = request.header(SIGNATURE_HEADER, crate::sign(secret.expose().as_bytes(), crate::unix_now(), body));
    }
    match request.body(body.to_vec()).send().await {
        Ok(response) => judge(response),
        Err(e) => Attempt::Retry { status: None, error: network_error(&e), at_least: None },
    }
}

fn judge(response: reqwest::Response) -> Attempt {
    let status = response.status();
    let code = Some(status.as_u16());
    if status.is_success() {
        return Attempt::Delivered(status.as_u16());
    }
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        let at_least = retry_after(response.headers());
        return Attempt::Retry { status: code, error: format!("the endpoint answered {status}"), at_least };
    }
    let error = if status.is_redirection() {
        format!("the endpoint answered {status} (a redirect, not followed): check the URL")
    } else {
        format!("the endpoint refused the request with {status}: check the URL, the preset and the secret")
    };
    Attempt::GiveUp { status: code, error }
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

/// A network error in words, without the URL reqwest would put in it.
fn network_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        cause = inner.to_string();
        source = inner.source();
    }
    if cause.is_empty() { kind.to_owned() } else { format!("{kind}: {cause}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_shown_and_plain_http_is_for_loopback_only() {
        assert_eq!(host_of("https://hooks.slack.com/services/T0/B0/secret").unwrap(), "hooks.slack.com");
        assert_eq!(host_of("http://127.0.0.1:8080/hook?token=x").unwrap(), "127.0.0.1:8080");
        assert_eq!(host_of("http://localhost:1/x").unwrap(), "localhost:1");
        assert_eq!(host_of("http://[::1]:9/x").unwrap(), "[::1]:9");
        let err = host_of("http://example.com/hook?token=sekrit").unwrap_err().to_string();
        assert!(err.contains("example.com") && err.contains("https://") && !err.contains("sekrit"), "{err}");
        let err = host_of("not a url sekrit").unwrap_err().to_string();
        assert!(!err.contains("sekrit"), "{err}");
        assert!(host_of("ftp://example.com/x").is_err());
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_half() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            ..RetryPolicy::default()
        };
        for (attempt, full) in [(1, 100), (2, 200), (3, 350), (9, 350)] {
            for _ in 0..50 {
                let wait = policy.backoff(attempt).as_millis();
                assert!((full / 2..=full).contains(&wait), "attempt {attempt}: {wait} ms");
            }
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        headers.insert(reqwest::header::RETRY_AFTER, later.parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120), "{wait:?}");
    }
}
