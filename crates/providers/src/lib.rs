//! AI provider clients: OpenAI Chat Completions, Anthropic Messages, Groq and
//! any OpenAI-compatible endpoint (Ollama, vLLM, LM Studio).
//!
//! One [`ProviderClient`] per provider, built from a [`ProviderConfig`] preset
//! and a [`KeySource`] (the app passes its [`secrets::KeyStore`]):
//!
//! ```no_run
//! # async fn demo() -> Result<(), providers::Error> {
//! use std::sync::Arc;
//! use providers::{CallOptions, ChatRequest, ProviderClient, ProviderConfig};
//!
//! let client = ProviderClient::new(ProviderConfig::openai(), Arc::new(secrets::KeyStore::system()))?;
//! let options = CallOptions::new().on_progress(|p| eprintln!("{p}"));
//! let answer = client.chat(&ChatRequest::new("gpt-4o-mini", "Hello"), &options).await?;
//! println!("{}", answer.text);
//! # Ok(()) }
//! ```
//!
//! What every call does, in order: waits for the per-provider request-rate
//! limit (if set), takes a slot of the per-provider concurrency limit, fetches
//! the key from the [`KeySource`] and puts it in a header (never the URL), and
//! sends with a connect timeout and a per-attempt timeout. On 429 or 5xx it
//! waits — `Retry-After` (seconds, HTTP date, or OpenAI's `retry-after-ms`)
//! when given, else exponential backoff with jitter — reports
//! [`Progress::Retrying`] so a UI can say "rate limited, retrying in 12 s",
//! and tries again up to [`RetryPolicy::max_attempts`]. Only 429 and 5xx are
//! retried, and not a 429 that says the account's quota is used up
//! ([`Error::QuotaExhausted`]). When a response's rate-limit headers say no
//! request is left in the provider's window, the next attempts wait for its
//! reset ([`Progress::WaitingForReset`]). Cancelling the [`CallOptions`]
//! token stops any of these steps at once.
//!
//! Failures are [`Error`] variants a person can act on; none contains the key,
//! and provider messages quoted in them have the key removed. Logs (`tracing`)
//! name the provider, path, status and timings, never headers.
//!
//! Streaming uses the `eventsource-stream` crate for SSE framing (`data:`
//! lines, multi-line data, comments, CRLF), and interprets the events per wire
//! format: `[DONE]` for OpenAI, `content_block_delta` … `message_stop` for Anthropic.
//!
//! Batches ([`ProviderClient::submit_batch`] and the rest of `batch.rs`) go
//! through the same steps, one HTTP call at a time: OpenAI's Batch API and
//! Anthropic's Message Batches, split at the providers' limits, polled with
//! a capped back-off.
//!
//! Request rates use `governor` (GCRA), waited on with Tokio's timer so that a
//! wait can be cancelled like everything else.

mod batch;
mod client;
mod config;
mod error;
mod keys;
mod progress;
mod ratelimit;
mod retry;
mod stream;
mod types;
mod wire;

pub use batch::{
    BatchChunk, BatchItem, BatchLimits, BatchLineError, BatchResult, BatchState, BatchStatus, PollBackoff,
};
pub use client::ProviderClient;
pub use config::{ProviderConfig, ProviderKind, RetryPolicy, WireFormat, normalize_base_url};
pub use error::Error;
pub use keys::{KeyFuture, KeySource, Keyless, StaticKey};
pub use progress::{CallOptions, Progress, ProgressFn, RetryReason};
pub use stream::ChatStream;
pub use types::{ChatRequest, ChatResponse, Message, ModelInfo, Role, StreamEvent, Usage};

/// Re-exported so callers can cancel without depending on tokio-util themselves.
pub use tokio_util::sync::CancellationToken;

#[cfg(test)]
mod test_headers {
    use reqwest::header::{HeaderMap, HeaderValue};

    /// Response headers from `(name, value)` pairs.
    pub(crate) fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }
}
