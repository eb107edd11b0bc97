//! Test-only AI provider server that speaks the OpenAI and Anthropic wire formats
//! and records what it received.
//!
//! [`FakeProvider::start`] binds a loopback port and serves:
//!
//! - `POST /v1/chat/completions` — OpenAI Chat Completions (also what Groq,
//!   Ollama, vLLM and LM Studio speak), plain JSON or SSE with `data: [DONE]`;
//! - `POST /v1/messages` — Anthropic Messages, plain JSON or SSE with
//!   `message_start` … `content_block_delta` … `message_stop` events;
//! - `GET /v1/models` — the OpenAI list, or the Anthropic one when the request
//!   carries `anthropic-version`;
//! - the batch APIs, in memory: OpenAI's `POST /v1/files` (multipart,
//!   `purpose=batch`), `POST /v1/batches`, `GET /v1/batches/{id}`,
//!   `GET /v1/files/{id}/content`, and Anthropic's `POST /v1/messages/batches`,
//!   `GET /v1/messages/batches/{id}` and its `results_url`; a batch ends after
//!   [`FakeConfig::batch_polls`] status requests (see `batch.rs`).
//!
//! What each request gets is scriptable, checked in this order:
//!
//! 1. the next queued [`Behaviour`] ([`FakeProvider::push`]), else
//!    the account's limits, [`FakeConfig::quota`] (then the provider's quota
//!    error) and [`FakeConfig::rate_limit`] (then 429 with `Retry-After`);
//!    with a window set, every chat answer carries the rate-limit headers;
//! 2. if [`FakeConfig::expected_key`] is set, a wrong or missing key gets 401;
//! 3. a directive in the last message's text: `[fake:401]`, `[fake:404]`,
//!    `[fake:429:SECONDS]`, `[fake:500]`, `[fake:400]` (any 4xx), `[fake:quota]`,
//!    `[fake:delay:MILLIS]`, `[fake:stall]`, `[fake:say:TEXT]` (answers TEXT),
//!    `[fake:vary]` (answers differently on every call: "Answer 1.", "Answer 2." …);
//!    for a request with a schema, `[fake:not-json]` (text that is not JSON)
//!    and `[fake:misfit]` (JSON that does not fit the schema);
//! 4. a model named `no-such-…` gets 404 model-not-found;
//! 5. otherwise a normal answer ([`FakeConfig::reply`]), streamed if asked.
//!    A request with a schema (OpenAI `response_format: {type: "json_schema",
//!    json_schema: {schema}}`, or Anthropic `tools` with `tool_choice: {type:
//!    "tool", name}`) gets JSON made to fit it (`structured.rs`: each
//!    property by its type, `enum`, `minimum`/`maximum`, strings from the
//!    prompt), in OpenAI's message content or an Anthropic `tool_use` block.
//!
//! Every request is recorded with all its headers and its body
//! ([`FakeProvider::requests`]) so tests can assert that the key arrived, and the
//! server tracks how many requests are in flight at once
//! ([`FakeProvider::max_in_flight`]).
//!
//! The `fake-provider` binary serves the same thing on a fixed address for
//! end-to-end tests of the app, with `POST /_fake/behaviours` (a JSON
//! [`Behaviour`]) to script it and `GET /_fake/requests` to read the recordings.
//!
//! The recordings hold real keys by design; nothing here logs them.

mod batch;
mod behaviour;
mod server;
mod structured;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use behaviour::{Behaviour, RateLimitWindow, RetryAfter};
pub use server::RecordedRequest;

/// How the fake provider starts.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Where to listen; the default `127.0.0.1:0` picks a free loopback port.
    pub listen: SocketAddr,
    /// When set, requests whose key differs get 401 in the provider's format.
    pub expected_key: Option<String>,
    /// The text of a normal answer.
    pub reply: String,
    /// Pause between streamed chunks.
    pub chunk_delay: Duration,
    /// Models listed by `GET /v1/models`.
    pub models: Vec<String>,
    /// Chat requests answered before the account's quota is used up; every
    /// later one gets the provider's quota error (OpenAI 429
    /// `insufficient_quota`, Anthropic 400 "credit balance is too low").
    pub quota: Option<u64>,
    /// A request window with rate-limit headers on every chat answer and
    /// 429 + `Retry-After` beyond it.
    pub rate_limit: Option<RateLimitWindow>,
    /// Status requests each batch answers as still running before it ends
    /// with its results (0: it ends at the first status request).
    pub batch_polls: u64,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            expected_key: None,
            reply: "Hello from the fake provider.".to_owned(),
            chunk_delay: Duration::ZERO,
            models: vec![
                "gpt-4o-mini".to_owned(),
                "claude-3-5-haiku-latest".to_owned(),
                "llama-3.1-8b-instant".to_owned(),
            ],
            quota: None,
            rate_limit: None,
            batch_polls: 0,
        }
    }
}

/// A running fake provider. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeProvider {
    addr: SocketAddr,
    state: Arc<server::Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeProvider {
    /// Binds `config.listen` and serves in the background on the current Tokio runtime.
    pub async fn start(config: FakeConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(server::Shared::new(config));
        let app = server::app(state.clone());
        let task = tokio::spawn(server::serve(listener, app));
        tracing::info!(%addr, "fake provider listening");
        Ok(FakeProvider { addr, state, task })
    }

    /// `http://127.0.0.1:PORT`, the base URL to give a client (it adds `/v1/…`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues a behaviour for the next request that has none (first in, first out).
    pub fn push(&self, behaviour: Behaviour) {
        self.state.push(behaviour);
    }

    /// Sets (or lifts) the quota, counting from now.
    pub fn set_quota(&self, quota: Option<u64>) {
        self.state.set_quota(quota);
    }

    /// Sets (or lifts) the request window, a fresh one starting with the next request.
    pub fn set_rate_limit(&self, window: Option<RateLimitWindow>) {
        self.state.set_rate_limit(window);
    }

    /// Sets how many status requests a batch answers as running before it
    /// ends, counted over its whole life: a batch polled that often already
    /// ends at its next status request.
    pub fn set_batch_polls(&self, polls: u64) {
        self.state.batch_polls.store(polls, std::sync::atomic::Ordering::SeqCst);
    }

    /// Batches created so far (both wire formats).
    pub fn batches_created(&self) -> usize {
        server::lock(&self.state.batches).created()
    }

    /// Starts [`FakeProvider::max_in_flight`] over from the requests in flight now.
    pub fn reset_max_in_flight(&self) {
        self.state.reset_max_in_flight();
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests()
    }

    /// How many requests have arrived.
    pub fn request_count(&self) -> usize {
        self.state.request_count()
    }

    /// Requests being answered right now (a streaming answer counts until its
    /// body ends or the client goes away).
    pub fn in_flight(&self) -> usize {
        self.state.in_flight()
    }

    /// The most requests that were in flight at the same moment.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight()
    }

    /// Waits until at least `count` requests have arrived, up to `timeout`.
    /// Returns whether that happened.
    pub async fn wait_for_requests(&self, count: usize, timeout: Duration) -> bool {
        self.state.wait_until(timeout, |s| s.request_count() >= count).await
    }

    /// Waits until exactly `count` requests are in flight, up to `timeout`.
    pub async fn wait_for_in_flight(&self, count: usize, timeout: Duration) -> bool {
        self.state.wait_until(timeout, |s| s.in_flight() == count).await
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}
