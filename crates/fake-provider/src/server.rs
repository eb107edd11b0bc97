use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use crate::batch;
use crate::structured;
use crate::wire::{self, Failure, Wire};
use crate::{Behaviour, FakeConfig, RateLimitWindow, RetryAfter};

/// One request as the fake provider received it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    /// `GET`, `POST` …
    pub method: String,
    /// The path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The query string without `?`, if any.
    pub query: Option<String>,
    /// Every header, names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy if it was not UTF-8).
    pub body: String,
}

impl RecordedRequest {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The token of an `Authorization: Bearer …` header.
    pub fn bearer_token(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }

    /// The `x-api-key` header (Anthropic).
    pub fn api_key(&self) -> Option<&str> {
        self.header("x-api-key")
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: FakeConfig,
    queue: Mutex<VecDeque<Behaviour>>,
    requests: Mutex<Vec<RecordedRequest>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    limits: Mutex<Limits>,
    /// Files and batches of the batch APIs.
    pub(crate) batches: Mutex<crate::batch::Batches>,
    /// Status requests a batch answers as running before it ends.
    pub(crate) batch_polls: AtomicU64,
    /// Answers given for `[fake:vary]` so far (numbers the next one).
    varied: AtomicU64,
    /// Bumped on every arrival and every finished request so waiters can
    /// re-check their condition instead of polling on a timer.
    changed: watch::Sender<u64>,
}

/// The account's quota and request window, and what has used them.
#[derive(Debug, Default)]
struct Limits {
    quota: Option<u64>,
    quota_used: u64,
    rate_limit: Option<RateLimitWindow>,
    window_start: Option<tokio::time::Instant>,
    window_used: u64,
}

/// What the limits decide for one chat request: a behaviour that overrides
/// the rest (quota used up, window spent) and the rate-limit headers to send.
struct Admission {
    verdict: Option<Behaviour>,
    headers: Vec<(&'static str, String)>,
}

/// A test that panicked while holding a lock must not turn every later
/// request into a second panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(config: FakeConfig) -> Self {
        Shared {
            queue: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            limits: Mutex::new(Limits { quota: config.quota, rate_limit: config.rate_limit, ..Limits::default() }),
            batches: Mutex::new(crate::batch::Batches::default()),
            batch_polls: AtomicU64::new(config.batch_polls),
            varied: AtomicU64::new(0),
            changed: watch::channel(0).0,
            config,
        }
    }

    pub(crate) fn set_quota(&self, quota: Option<u64>) {
        let mut limits = lock(&self.limits);
        limits.quota = quota;
        limits.quota_used = 0;
    }

    pub(crate) fn set_rate_limit(&self, window: Option<RateLimitWindow>) {
        let mut limits = lock(&self.limits);
        limits.rate_limit = window;
        limits.window_start = None;
        limits.window_used = 0;
    }

    pub(crate) fn reset_max_in_flight(&self) {
        self.max_in_flight.store(self.in_flight(), Ordering::SeqCst);
    }

    /// Counts a chat request against the quota and the request window.
    fn admit(&self, wire: Wire) -> Admission {
        let mut limits = lock(&self.limits);
        if let Some(quota) = limits.quota {
            if limits.quota_used >= quota {
                return Admission { verdict: Some(Behaviour::QuotaExhausted), headers: Vec::new() };
            }
            limits.quota_used += 1;
        }
        let Some(window) = limits.rate_limit else {
            return Admission { verdict: None, headers: Vec::new() };
        };
        let now = tokio::time::Instant::now();
        let start = match limits.window_start {
            Some(start) if now < start + window.window => start,
            _ => {
                limits.window_start = Some(now);
                limits.window_used = 0;
                now
            }
        };
        let reset_in = (start + window.window).saturating_duration_since(now);
        let verdict = if limits.window_used >= window.requests {
            let seconds = reset_in.as_millis().div_ceil(1000).max(1) as u64;
            Some(Behaviour::RateLimited { retry_after: Some(RetryAfter::Seconds(seconds)) })
        } else {
            limits.window_used += 1;
            None
        };
        let remaining = window.requests.saturating_sub(limits.window_used).to_string();
        let headers = match wire {
            Wire::OpenAi => vec![
                ("x-ratelimit-limit-requests", window.requests.to_string()),
                ("x-ratelimit-remaining-requests", remaining),
                ("x-ratelimit-reset-requests", wire::go_duration(reset_in)),
            ],
            Wire::Anthropic => vec![
                ("anthropic-ratelimit-requests-limit", window.requests.to_string()),
                ("anthropic-ratelimit-requests-remaining", remaining),
                (
                    "anthropic-ratelimit-requests-reset",
                    // Written to the millisecond, truncated: one more keeps it at or after the reset.
                    humantime::format_rfc3339_millis(SystemTime::now() + reset_in + Duration::from_millis(1))
                        .to_string(),
                ),
            ],
        };
        Admission { verdict, headers }
    }

    pub(crate) fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn push(&self, behaviour: Behaviour) {
        lock(&self.queue).push_back(behaviour);
    }

    fn pop(&self) -> Option<Behaviour> {
        lock(&self.queue).pop_front()
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    pub(crate) fn request_count(&self) -> usize {
        lock(&self.requests).len()
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub(crate) fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    pub(crate) async fn wait_until(&self, timeout: Duration, cond: impl Fn(&Self) -> bool) -> bool {
        let mut rx = self.changed.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if cond(self) {
                return true;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                _ => return cond(self),
            }
        }
    }

    pub(crate) fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
        let recorded = RecordedRequest {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            headers: headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect(),
            body: String::from_utf8_lossy(body).into_owned(),
        };
        lock(&self.requests).push(recorded);
        self.bump();
    }
}

/// Counts a request as in flight for as long as it lives.
pub(crate) struct InFlight(Arc<Shared>);

impl InFlight {
    pub(crate) fn new(shared: &Arc<Shared>) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        shared.bump();
        InFlight(shared.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.bump();
    }
}

pub(crate) type AppState = Arc<Shared>;

pub(crate) fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/v1/chat/completions", post(chat_openai))
        .route("/v1/messages", post(chat_anthropic))
        .route("/v1/models", get(list_models))
        .route("/v1/files", post(batch::upload_file))
        .route("/v1/files/{id}/content", get(batch::file_content))
        .route("/v1/batches", post(batch::create_openai))
        .route("/v1/batches/{id}", get(batch::status))
        .route("/v1/batches/{id}/cancel", post(batch::cancel))
        .route("/v1/messages/batches", post(batch::create_anthropic))
        .route("/v1/messages/batches/{id}", get(batch::status))
        .route("/v1/messages/batches/{id}/cancel", post(batch::cancel))
        .route("/v1/messages/batches/{id}/results", get(batch::results_anthropic));
    Router::new()
        .merge(api.clone())
        // Groq's base URL ends in /openai; serving the same API there lets tests
        // exercise base URLs that carry a path.
        .nest("/openai", api)
        .route("/_fake/behaviours", post(push_behaviour))
        .route("/_fake/requests", get(list_requests))
        .with_state(state)
}

pub(crate) async fn serve(listener: tokio::net::TcpListener, app: Router) {
    // Small SSE chunks must not wait for Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "fake provider stopped");
    }
}

async fn chat_openai(
    State(state): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    chat(state, Wire::OpenAi, method, uri, headers, body).await
}

async fn chat_anthropic(
    State(state): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    chat(state, Wire::Anthropic, method, uri, headers, body).await
}

fn presented_key(wire: Wire, headers: &HeaderMap) -> Option<&str> {
    match wire {
        Wire::OpenAi => headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer "),
        Wire::Anthropic => headers.get("x-api-key")?.to_str().ok(),
    }
}

pub(crate) fn key_is_wrong(state: &Shared, wire: Wire, headers: &HeaderMap) -> bool {
    state.config.expected_key.as_deref().is_some_and(|expected| presented_key(wire, headers) != Some(expected))
}

/// The text of the last message, whether `content` is a string or a list of parts.
pub(crate) fn last_message_text(request: &Value) -> String {
    let content = request["messages"].as_array().and_then(|m| m.last()).map(|m| &m["content"]);
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    }
}

async fn chat(state: AppState, wire: Wire, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let guard = InFlight::new(&state);
    state.record(&method, &uri, &headers, &body);

    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return failure(wire, Failure::BadRequest, &format!("invalid JSON body: {e}"), None);
        }
    };
    if wire == Wire::Anthropic && !headers.contains_key("anthropic-version") {
        return failure(wire, Failure::BadRequest, "anthropic-version: header is required", None);
    }
    let model = request["model"].as_str().unwrap_or_default().to_owned();
    let prompt = last_message_text(&request);
    let streaming = request["stream"].as_bool() == Some(true);
    let schema = structured::requested_schema(wire, &request);

    let admission = state.admit(wire);
    let behaviour = state
        .pop()
        .or(admission.verdict)
        .or_else(|| key_is_wrong(&state, wire, &headers).then_some(Behaviour::InvalidKey))
        .or_else(|| Behaviour::from_directive(&prompt))
        .or_else(|| model.starts_with("no-such-").then_some(Behaviour::ModelNotFound))
        .unwrap_or_else(Behaviour::answer);
    tracing::debug!(path = uri.path(), ?behaviour, streaming, "fake provider answering");

    let mut behaviour = behaviour;
    while let Behaviour::Delay { delay, then } = behaviour {
        tokio::time::sleep(delay).await;
        behaviour = *then;
    }
    if behaviour == Behaviour::Vary {
        let n = state.varied.fetch_add(1, Ordering::SeqCst) + 1;
        behaviour = Behaviour::Answer { text: Some(format!("Answer {n}.")) };
    }

    let mut response = match behaviour {
        Behaviour::Answer { text: None } | Behaviour::Misfit if schema.is_some() => {
            let schema = schema.unwrap_or_default();
            let answer = match behaviour {
                Behaviour::Misfit => structured::misfit(&schema),
                _ => structured::fitting(&schema, &prompt),
            };
            match (wire, structured::forced_tool(&request)) {
                (Wire::Anthropic, Some(tool)) if !streaming => {
                    axum::Json(wire::tool_answer(&model, tool, &answer, &prompt)).into_response()
                }
                // Streamed, the JSON goes as text deltas (Anthropic would send input_json_delta).
                _ if streaming => {
                    sse(wire::stream(wire, &model, &answer.to_string(), &prompt), None, state.config.chunk_delay, guard)
                }
                _ => axum::Json(wire::answer(wire, &model, &answer.to_string(), &prompt)).into_response(),
            }
        }
        Behaviour::NotJson | Behaviour::Misfit => {
            let text = "Sure! The label is {lovely} and the score is high.";
            axum::Json(wire::answer(wire, &model, text, &prompt)).into_response()
        }
        Behaviour::Answer { text } => {
            let text = text.unwrap_or_else(|| state.config.reply.clone());
            if streaming {
                let events = wire::stream(wire, &model, &text, &prompt);
                sse(events, None, state.config.chunk_delay, guard)
            } else {
                axum::Json(wire::answer(wire, &model, &text, &prompt)).into_response()
            }
        }
        Behaviour::Stall { chunks } => {
            if streaming {
                let events = wire::stream(wire, &model, &state.config.reply, &prompt);
                sse(events, Some(chunks), state.config.chunk_delay, guard)
            } else {
                // Never answer; the in-flight guard goes when the client hangs up
                // and the server drops this future.
                std::future::pending::<()>().await;
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
        Behaviour::InvalidKey => failure(wire, Failure::InvalidKey, "", None),
        Behaviour::ModelNotFound => failure(wire, Failure::ModelNotFound, &model, None),
        Behaviour::RateLimited { retry_after } => {
            failure(wire, Failure::RateLimited, "", retry_after.map(|r| r.header_value()))
        }
        Behaviour::QuotaExhausted => failure(wire, Failure::QuotaExhausted, "", None),
        Behaviour::Rejected { status } => failure(wire, Failure::Rejected(status), "", None),
        Behaviour::ServerError { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = wire::error(wire, Failure::Server, status, "");
            (status, axum::Json(body)).into_response()
        }
        // Delay was unwrapped above; a future variant answers normally.
        _ => axum::Json(wire::answer(wire, &model, &state.config.reply, &prompt)).into_response(),
    };
    for (name, value) in admission.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn failure(wire: Wire, failure: Failure, detail: &str, retry_after: Option<String>) -> Response {
    let status = wire::status_of(wire, failure);
    let mut response = (status, axum::Json(wire::error(wire, failure, status, detail))).into_response();
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A `text/event-stream` response fed by a task, so that delays and stalls
/// happen while the client is reading the body. `stall_after` stops sending
/// after that many events and holds the connection open until the client leaves.
fn sse(events: Vec<Bytes>, stall_after: Option<usize>, delay: Duration, guard: InFlight) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    tokio::spawn(async move {
        let _guard = guard;
        for (i, event) in events.into_iter().enumerate() {
            if stall_after.is_some_and(|n| i >= n) {
                tx.closed().await;
                return;
            }
            if i > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if tx.send(event).await.is_err() {
                return;
            }
        }
    });
    let body =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx)) });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn list_models(
    State(state): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let _guard = InFlight::new(&state);
    state.record(&method, &uri, &headers, &[]);
    let wire = if headers.contains_key("anthropic-version") { Wire::Anthropic } else { Wire::OpenAi };
    if let Some(behaviour) = state.pop() {
        match behaviour {
            Behaviour::InvalidKey => return failure(wire, Failure::InvalidKey, "", None),
            Behaviour::RateLimited { retry_after } => {
                return failure(wire, Failure::RateLimited, "", retry_after.map(|r| r.header_value()));
            }
            Behaviour::ServerError { .. } => return failure(wire, Failure::Server, "", None),
            _ => {}
        }
    }
    if key_is_wrong(&state, wire, &headers) {
        return failure(wire, Failure::InvalidKey, "", None);
    }
    axum::Json(wire::models(wire, &state.config.models)).into_response()
}

async fn push_behaviour(State(state): State<AppState>, body: Bytes) -> Response {
    match serde_json::from_slice::<Behaviour>(&body) {
        Ok(behaviour) => {
            state.push(behaviour);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("not a behaviour: {e}\n")).into_response(),
    }
}

async fn list_requests(State(state): State<AppState>) -> Response {
    axum::Json(state.requests()).into_response()
}
