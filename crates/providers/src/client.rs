use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use governor::clock::{Clock, DefaultClock};
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use reqwest::header::{self, HeaderValue};
use reqwest::{Method, StatusCode};
use secrets::Secret;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tracing::{debug, warn};
use url::Url;
use zeroize::Zeroizing;

use crate::progress::{CallOptions, Progress, RetryReason};
use crate::stream::ChatStream;
use crate::types::{ChatRequest, ChatResponse, ModelInfo};
use crate::wire::{self, ProviderError};
use crate::{Error, KeySource, ProviderConfig, WireFormat};

const ANTHROPIC_VERSION: &str = "2023-06-01";
/// Error bodies are read only this far: enough for any provider's JSON error,
/// not enough for a misconfigured URL that serves a huge page to hurt.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Provider messages quoted in errors are cut to this many characters.
const MESSAGE_LIMIT: usize = 300;

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock>;

/// A client for one provider. Clones share the connection pool, the
/// concurrency limit and the rate limit, so make one per provider and clone it.
#[derive(Clone)]
pub struct ProviderClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ProviderConfig,
    base: Url,
    http: reqwest::Client,
    keys: Arc<dyn KeySource>,
    permits: Arc<Semaphore>,
    limiter: Option<Limiter>,
    /// No new attempt starts before this: the provider's rate-limit headers
    /// said no request is left in its window until then.
    hold_until: Mutex<Option<Instant>>,
}

impl fmt::Debug for ProviderClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderClient")
            .field("provider", &self.inner.config.id)
            .field("wire", &self.inner.config.wire)
            .field("base_url", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// A successful response, with the concurrency permit it still occupies.
pub(crate) struct Answered {
    pub(crate) response: reqwest::Response,
    pub(crate) permit: OwnedSemaphorePermit,
    pub(crate) deadline: Instant,
}

/// A request body as sent: bytes and their content type, built once so a
/// retry sends exactly the same thing.
pub(crate) struct Payload {
    pub(crate) bytes: Bytes,
    pub(crate) content_type: String,
}

impl Payload {
    pub(crate) fn json(value: &serde_json::Value) -> Self {
        Payload { bytes: Bytes::from(value.to_string()), content_type: "application/json".to_owned() }
    }
}

/// Runs `fut` unless `cancel` fires first.
pub(crate) async fn cancellable<T>(
    options: &CallOptions,
    provider: &str,
    fut: impl Future<Output = T>,
) -> Result<T, Error> {
    tokio::select! {
        biased;
        () = options.cancel.cancelled() => Err(Error::Cancelled { provider: provider.to_owned() }),
        out = fut => Ok(out),
    }
}

impl ProviderClient {
    /// Checks `config` and builds a client that takes keys from `keys`
    /// (normally a [`secrets::KeyStore`]).
    pub fn new(mut config: ProviderConfig, keys: Arc<dyn KeySource>) -> Result<Self, Error> {
        // One spelling, so what callers read back (and the AI cache's key) is the same with or without `/v1`.
        config.base_url = crate::config::normalize_base_url(&config.base_url);
        let base = config.validate()?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            // Never follow redirects: reqwest strips `Authorization` on a
            // cross-host redirect but not `x-api-key`, and no provider API redirects.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("augment-it/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::InvalidConfig {
                provider: config.id.clone(),
                detail: format!("the HTTP client could not be set up: {}", root_cause(&e)),
            })?;
        let limiter = config.requests_per_minute.map(|rpm: NonZeroU32| RateLimiter::direct(Quota::per_minute(rpm)));
        Ok(ProviderClient {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(config.max_concurrent)),
                config,
                base,
                http,
                keys,
                limiter,
                hold_until: Mutex::new(None),
            }),
        })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &ProviderConfig {
        &self.inner.config
    }

    fn provider(&self) -> &str {
        &self.inner.config.id
    }

    /// Sends a chat request and waits for the whole answer.
    pub async fn chat(&self, request: &ChatRequest, options: &CallOptions) -> Result<ChatResponse, Error> {
        let config = &self.inner.config;
        let body = wire::request_body(config.wire, request, false, config.default_max_tokens);
        let url = self.url(wire::chat_path(config.wire));
        let answered =
            self.execute(Method::POST, url, Some(Payload::json(&body)), Some(&request.model), options).await?;
        let Answered { response, permit, deadline } = answered;
        let bytes = self.read_body(response, deadline, options).await?;
        drop(permit);
        wire::parse_answer(config.wire, &bytes, &request.model).map_err(|detail| self.bad_response(detail))
    }

    /// Sends a chat request and streams the answer as it is written.
    ///
    /// Retries happen only before the first byte of the answer; once streaming,
    /// a failure ends the stream with an error. The stream keeps its
    /// concurrency slot until it ends or is dropped; dropping it closes the connection.
    pub async fn chat_stream(&self, request: &ChatRequest, options: &CallOptions) -> Result<ChatStream, Error> {
        let config = &self.inner.config;
        let body = wire::request_body(config.wire, request, true, config.default_max_tokens);
        let url = self.url(wire::chat_path(config.wire));
        let answered =
            self.execute(Method::POST, url, Some(Payload::json(&body)), Some(&request.model), options).await?;
        let is_sse = answered
            .response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !is_sse {
            // Some OpenAI-compatible servers ignore `stream: true` and answer in one piece.
            debug!(provider = self.provider(), "server did not stream; reading a whole answer");
            let Answered { response, permit, deadline } = answered;
            let bytes = self.read_body(response, deadline, options).await?;
            drop(permit);
            let answer =
                wire::parse_answer(config.wire, &bytes, &request.model).map_err(|detail| self.bad_response(detail))?;
            return Ok(ChatStream::from_answer(answer));
        }
        Ok(ChatStream::new(
            answered,
            config.wire,
            self.provider().to_owned(),
            config.stream_idle_timeout,
            options.cancel.clone(),
        ))
    }

    /// The models the provider offers (`GET /v1/models`).
    pub async fn list_models(&self, options: &CallOptions) -> Result<Vec<ModelInfo>, Error> {
        let url = self.url(wire::models_path(self.inner.config.wire));
        let answered = self.execute(Method::GET, url, None, None, options).await?;
        let Answered { response, permit, deadline } = answered;
        let bytes = self.read_body(response, deadline, options).await?;
        drop(permit);
        wire::parse_models(self.inner.config.wire, &bytes).map_err(|detail| self.bad_response(detail))
    }

    pub(crate) fn bad_response(&self, detail: String) -> Error {
        Error::BadResponse { provider: self.provider().to_owned(), detail, expected: self.inner.config.wire.describe() }
    }

    /// `path` relative to the base URL; a `?query` part becomes the query.
    pub(crate) fn url(&self, path: &str) -> Url {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path, None),
        };
        let mut url = self.inner.base.clone();
        let joined = format!("{}/{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url.set_query(query);
        url
    }

    pub(crate) async fn read_body(
        &self,
        response: reqwest::Response,
        deadline: Instant,
        options: &CallOptions,
    ) -> Result<Bytes, Error> {
        let read = tokio::time::timeout_at(deadline, response.bytes());
        match cancellable(options, self.provider(), read).await? {
            Err(_) => Err(self.timeout()),
            Ok(Err(e)) => Err(self.transport_error(&e)),
            Ok(Ok(bytes)) => Ok(bytes),
        }
    }

    fn timeout(&self) -> Error {
        Error::Timeout { provider: self.provider().to_owned(), after: self.inner.config.request_timeout }
    }

    pub(crate) fn transport_error(&self, e: &reqwest::Error) -> Error {
        if e.is_timeout() && !e.is_connect() {
            return self.timeout();
        }
        if e.is_decode() {
            return self.bad_response(root_cause(e));
        }
        Error::Unreachable {
            provider: self.provider().to_owned(),
            url: display_url(&self.inner.base),
            reason: root_cause(e),
        }
    }

    async fn wait_for_rate_limit(&self, options: &CallOptions) -> Result<(), Error> {
        let Some(limiter) = &self.inner.limiter else {
            return Ok(());
        };
        loop {
            match limiter.check() {
                Ok(()) => return Ok(()),
                Err(not_until) => {
                    let wait = not_until.wait_time_from(limiter.clock().now());
                    debug!(
                        provider = self.provider(),
                        wait_ms = wait.as_millis() as u64,
                        "request rate limit reached; waiting"
                    );
                    if wait >= Duration::from_secs(1) {
                        options.report(Progress::Throttled { provider: self.provider().to_owned(), delay: wait });
                    }
                    cancellable(options, self.provider(), tokio::time::sleep(wait)).await?;
                }
            }
        }
    }

    /// Waits while the provider's last rate-limit headers said its window
    /// is spent (remaining requests 0), until the reset they named; reported
    /// as [`Progress::WaitingForReset`] so a caller does not look stalled.
    async fn wait_for_window_reset(&self, options: &CallOptions) -> Result<(), Error> {
        loop {
            let until = *self.inner.hold_until.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(until) = until.filter(|until| *until > Instant::now()) else {
                return Ok(());
            };
            let delay = until - Instant::now();
            debug!(
                provider = self.provider(),
                wait_ms = delay.as_millis() as u64,
                "provider window spent; waiting for its reset"
            );
            options.report(Progress::WaitingForReset { provider: self.provider().to_owned(), delay });
            cancellable(options, self.provider(), tokio::time::sleep_until(until)).await?;
        }
    }

    /// Reads the request budget a response reports: none left holds new
    /// attempts until the reset (one longer than we would wait for a
    /// `Retry-After` is not held: the provider's 429 then says how long,
    /// and the retry policy decides); some left lifts a hold.
    fn observe_budget(&self, headers: &header::HeaderMap) {
        let Some(budget) = crate::ratelimit::request_budget(headers, SystemTime::now()) else {
            return;
        };
        let mut hold = self.inner.hold_until.lock().unwrap_or_else(PoisonError::into_inner);
        match budget.reset_in {
            Some(reset_in) if budget.remaining == 0 && reset_in <= self.inner.config.retry.max_retry_after => {
                let until = Instant::now() + reset_in;
                *hold = Some(hold.map_or(until, |held| held.max(until)));
            }
            _ if budget.remaining > 0 => *hold = None,
            _ => {}
        }
    }

    /// Adds the key in the provider's header, marked sensitive so that the HTTP
    /// stack's own Debug output shows it as `Sensitive`.
    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        key: Option<&Secret>,
    ) -> Result<reqwest::RequestBuilder, Error> {
        let config = &self.inner.config;
        let malformed = || Error::MalformedKey { provider: config.id.clone() };
        let request = match config.wire {
            WireFormat::OpenAi => match key {
                Some(key) => {
                    let bearer = Zeroizing::new(format!("Bearer {}", key.expose()));
                    let mut value = HeaderValue::from_str(&bearer).map_err(|_| malformed())?;
                    value.set_sensitive(true);
                    request.header(header::AUTHORIZATION, value)
                }
                None => request,
            },
            WireFormat::Anthropic => {
                let request = request.header("anthropic-version", ANTHROPIC_VERSION);
                match key {
                    Some(key) => {
                        let mut value = HeaderValue::from_str(key.expose()).map_err(|_| malformed())?;
                        value.set_sensitive(true);
                        request.header("x-api-key", value)
                    }
                    None => request,
                }
            }
        };
        Ok(request)
    }

    async fn key(&self, options: &CallOptions) -> Result<Option<Secret>, Error> {
        let config = &self.inner.config;
        let key = match cancellable(options, &config.id, self.inner.keys.key(&config.id)).await? {
            // A keyless server on a machine without a keychain (CI, a container): no keychain, no key
            // stored in it. A keychain that is there but fails still fails the call: it may hold the key.
            Err(Error::Keychain(secrets::Error::NoKeychain { .. })) if !config.key_required => {
                debug!(
                    provider = config.id,
                    "no OS keychain; sending without a key, which this provider does not need"
                );
                None
            }
            other => other?,
        };
        let key = key.filter(|k| !k.is_empty());
        if key.is_none() && config.key_required {
            return Err(Error::NoKey { provider: config.id.clone(), env_var: secrets::env_var_name(&config.id) });
        }
        if key.is_some() {
            // A keyless server may be reached over plain http; a key may not.
            config.check_key_transport(&self.inner.base)?;
        }
        Ok(key)
    }

    /// Sends one logical request: rate limit, concurrency slot, key, attempt,
    /// and retries on 429/5xx until it succeeds or the policy gives up.
    pub(crate) async fn execute(
        &self,
        method: Method,
        url: Url,
        body: Option<Payload>,
        model: Option<&str>,
        options: &CallOptions,
    ) -> Result<Answered, Error> {
        let config = &self.inner.config;
        let provider = config.id.as_str();
        let max_attempts = config.retry.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            self.wait_for_rate_limit(options).await?;
            self.wait_for_window_reset(options).await?;
            let permit = cancellable(options, provider, self.inner.permits.clone().acquire_owned())
                .await?
                .map_err(|_| Error::Cancelled { provider: provider.to_owned() })?;
            let key = self.key(options).await?;
            let mut request = self.authorize(self.inner.http.request(method.clone(), url.clone()), key.as_ref())?;
            if let Some(body) = &body {
                request = request.header(header::CONTENT_TYPE, body.content_type.as_str()).body(body.bytes.clone());
            }
            debug!(provider, %method, path = url.path(), model, attempt, "sending request");
            let started = Instant::now();
            let deadline = started + config.request_timeout;
            let sent = cancellable(options, provider, tokio::time::timeout_at(deadline, request.send())).await?;
            let response = match sent {
                Ok(Ok(response)) => response,
                failed => {
                    let error = match failed {
                        Ok(Err(e)) => self.transport_error(&e),
                        _ => self.timeout(),
                    };
                    warn!(provider, code = error.code(), "request failed: {error}");
                    return Err(error);
                }
            };
            let status = response.status();
            self.observe_budget(response.headers());
            debug!(
                provider,
                status = status.as_u16(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "provider answered"
            );
            if status.is_success() {
                return Ok(Answered { response, permit, deadline });
            }

            if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                let retry_after = wire_retry_after(&response);
                if status == StatusCode::TOO_MANY_REQUESTS {
                    // OpenAI says "no quota left" with a 429 too; only its body tells them apart.
                    let body = self.read_error_body(response, deadline, options).await?;
                    let parsed = wire::parse_error(&body);
                    if crate::ratelimit::is_quota_exhausted(status.as_u16(), parsed.as_ref()) {
                        drop(permit);
                        let error = self.quota_error(parsed, &body, key.as_ref());
                        warn!(provider, status = status.as_u16(), code = error.code(), "not retried: {error}");
                        return Err(error);
                    }
                } else {
                    drop(response);
                }
                // Free the slot and the connection while we wait.
                drop(permit);
                let give_up = |retry_after| {
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        Error::RateLimited { provider: provider.to_owned(), retry_after }
                    } else {
                        Error::Server { provider: provider.to_owned(), status: status.as_u16(), attempts: attempt }
                    }
                };
                if attempt >= max_attempts {
                    warn!(provider, status = status.as_u16(), attempts = attempt, "giving up after retries");
                    return Err(give_up(retry_after));
                }
                if retry_after.is_some_and(|wait| wait > config.retry.max_retry_after) {
                    warn!(provider, status = status.as_u16(), "Retry-After is longer than we wait; giving up");
                    return Err(give_up(retry_after));
                }
                let delay = config.retry.delay(attempt, retry_after);
                let reason = if status == StatusCode::TOO_MANY_REQUESTS {
                    RetryReason::RateLimited
                } else {
                    RetryReason::ServerError { status: status.as_u16() }
                };
                let progress = Progress::Retrying {
                    provider: provider.to_owned(),
                    reason,
                    delay,
                    next_attempt: attempt + 1,
                    max_attempts,
                };
                warn!(provider, status = status.as_u16(), delay_ms = delay.as_millis() as u64, "{progress}");
                options.report(progress);
                cancellable(options, provider, tokio::time::sleep(delay)).await?;
                attempt += 1;
                continue;
            }

            let error_body = self.read_error_body(response, deadline, options).await?;
            drop(permit);
            let error = self.status_error(status, &error_body, model, key.as_ref());
            warn!(provider, status = status.as_u16(), code = error.code(), "request failed: {error}");
            return Err(error);
        }
    }

    async fn read_error_body(
        &self,
        mut response: reqwest::Response,
        deadline: Instant,
        options: &CallOptions,
    ) -> Result<Vec<u8>, Error> {
        let read = async {
            let mut body = Vec::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                body.extend_from_slice(&chunk);
                if body.len() >= ERROR_BODY_LIMIT {
                    break;
                }
            }
            body
        };
        // A slow error body is not worth a timeout error of its own: use what arrived.
        Ok(cancellable(options, self.provider(), tokio::time::timeout_at(deadline, read)).await?.unwrap_or_default())
    }

    fn status_error(&self, status: StatusCode, body: &[u8], model: Option<&str>, key: Option<&Secret>) -> Error {
        let provider = self.provider().to_owned();
        let parsed = wire::parse_error(body);
        if status != StatusCode::UNAUTHORIZED && crate::ratelimit::is_quota_exhausted(status.as_u16(), parsed.as_ref())
        {
            return self.quota_error(parsed, body, key);
        }
        match (status, model) {
            (StatusCode::UNAUTHORIZED, _) => Error::InvalidKey { provider },
            (StatusCode::NOT_FOUND, Some(model)) if parsed.as_ref().is_some_and(ProviderError::is_about_model) => {
                Error::ModelNotFound { provider, model: model.to_owned() }
            }
            (StatusCode::NOT_FOUND, _) => Error::EndpointNotFound { provider, url: display_url(&self.inner.base) },
            _ => {
                let message =
                    parsed.and_then(|p| p.message).unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
                Error::Rejected { provider, status: status.as_u16(), message: redact(&message, key) }
            }
        }
    }
}

impl ProviderClient {
    fn quota_error(&self, parsed: Option<ProviderError>, body: &[u8], key: Option<&Secret>) -> Error {
        let message = parsed.and_then(|p| p.message).unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
        let message = redact(&message, key);
        Error::QuotaExhausted {
            provider: self.provider().to_owned(),
            message: message.trim_end_matches('.').to_owned(),
        }
    }
}

fn wire_retry_after(response: &reqwest::Response) -> Option<Duration> {
    crate::retry::retry_after(response.headers(), SystemTime::now())
}

/// The innermost cause of an HTTP client error ("Connection refused (os error
/// 111)"), without the URL that reqwest's own message leads with.
pub(crate) fn root_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    let mut depth = 0;
    while let Some(next) = cause.source() {
        cause = next;
        depth += 1;
    }
    if depth > 0 {
        return cause.to_string();
    }
    // No source: describe the kind rather than echo a message that names the URL.
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        "the connection failed".to_owned()
    }
}

/// The URL as shown to a person: scheme, host, port and path only.
pub(crate) fn display_url(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or("?"));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown.push_str(url.path().trim_end_matches('/'));
    shown
}

/// A provider's message made safe to show: the key removed wherever it is
/// echoed, and the length capped.
fn redact(message: &str, key: Option<&Secret>) -> String {
    let mut text = message.trim().to_owned();
    if let Some(key) = key.filter(|k| k.expose().len() >= 4) {
        text = text.replace(key.expose(), "***");
    }
    if text.chars().count() > MESSAGE_LIMIT {
        text = text.chars().take(MESSAGE_LIMIT).collect::<String>() + "…";
    }
    if text.is_empty() {
        text = "no reason given".to_owned();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_removes_echoed_keys_and_caps_length() {
        let key = Secret::new("sk-echoed-key-123");
        let shown = redact("Invalid parameter for key sk-echoed-key-123, see docs", Some(&key));
        assert_eq!(shown, "Invalid parameter for key ***, see docs");
        let long = redact(&"x".repeat(1000), None);
        assert_eq!(long.chars().count(), MESSAGE_LIMIT + 1);
        assert_eq!(redact("  ", None), "no reason given");
    }

    #[test]
    fn urls_are_shown_without_anything_but_the_location() {
        let url = Url::parse("https://api.groq.com/openai/").unwrap();
        assert_eq!(display_url(&url), "https://api.groq.com/openai");
        let url = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(display_url(&url), "http://127.0.0.1:8080");
    }
}
