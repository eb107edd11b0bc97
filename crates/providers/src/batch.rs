//! Batch APIs at the providers' batch prices: OpenAI's Batch API (a JSONL
//! file uploaded to `/v1/files` with `purpose=batch`, then `/v1/batches`
//! over it, results in the batch's `output_file_id` and `error_file_id`)
//! and Anthropic's Message Batches (`/v1/messages/batches` with the requests
//! inline, results as JSONL at the batch's `results_url`).
//!
//! A caller plans chunks within the provider's limits
//! ([`ProviderClient::plan_batches`], [`BatchLimits`]), submits each
//! ([`ProviderClient::submit_batch`], which answers the provider's batch id
//! to keep), waits for it ([`ProviderClient::wait_for_batch`]: polls with a
//! capped exponential back-off, no deadline, until the batch ends or the
//! options' token is cancelled) and reads its results
//! ([`ProviderClient::batch_results`]). Each line carries the caller's
//! `custom_id`, so results map back to what was asked whatever their order.
//! A batch that ended early (expired, cancelled) still gives the results it
//! has; a request without one is simply absent from them.

use std::time::Duration;

use bytes::Bytes;
use rand::Rng as _;
use reqwest::Method;
use serde_json::{Value, json};
use tracing::{debug, info};
use url::Url;

use crate::client::{Answered, Payload, cancellable};
use crate::progress::CallOptions;
use crate::types::{ChatRequest, ChatResponse};
use crate::wire;
use crate::{Error, ProviderClient, WireFormat};

/// How much one batch may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Requests per batch.
    pub max_requests: usize,
    /// Bytes of what is uploaded per batch (OpenAI: the JSONL file;
    /// Anthropic: the request body with every request).
    pub max_bytes: usize,
}

impl BatchLimits {
    /// OpenAI's documented limits: 50,000 requests and 200 MB per input file.
    pub const OPENAI: BatchLimits = BatchLimits { max_requests: 50_000, max_bytes: 200 * 1024 * 1024 };
    /// Anthropic's documented limits: 100,000 requests or 256 MB per batch.
    pub const ANTHROPIC: BatchLimits = BatchLimits { max_requests: 100_000, max_bytes: 256 * 1024 * 1024 };

    /// The limits of the provider that speaks `wire`.
    pub fn of(wire: WireFormat) -> Self {
        match wire {
            WireFormat::OpenAi => Self::OPENAI,
            WireFormat::Anthropic => Self::ANTHROPIC,
        }
    }
}

/// One request of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchItem {
    /// Names the request in the results: 1 to 64 of `a-z A-Z 0-9 _ -`
    /// (Anthropic's rule; OpenAI takes any text).
    pub custom_id: String,
    /// What to ask.
    pub request: ChatRequest,
}

/// Requests that fit in one batch, serialized as they are sent.
#[derive(Debug, Clone)]
pub struct BatchChunk {
    /// The requests' ids, in order.
    pub custom_ids: Vec<String>,
    /// One serialized request per id: an OpenAI JSONL line or an Anthropic
    /// `{custom_id, params}` entry.
    entries: Vec<String>,
}

impl BatchChunk {
    /// Bytes of what is uploaded for it.
    pub fn bytes(&self) -> usize {
        self.entries.iter().map(|e| e.len() + 1).sum()
    }
}

/// How often a batch is asked about: `first` after submitting, doubling
/// after each answer that it is still running, never more than `max` apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollBackoff {
    /// The first wait.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for PollBackoff {
    /// 5 s, then 10, 20, 40, then every minute: batches take minutes to
    /// hours, and a poll costs one small GET.
    fn default() -> Self {
        PollBackoff { first: Duration::from_secs(5), max: Duration::from_secs(60) }
    }
}

impl PollBackoff {
    /// The wait before poll `n + 1` (0-based `n` polls done).
    pub fn delay(&self, polls_done: u32) -> Duration {
        self.first.saturating_mul(1 << polls_done.min(16)).min(self.max).max(Duration::from_millis(1))
    }
}

/// Where a batch is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchState {
    /// Validating, in progress, finalizing or being cancelled.
    Running,
    /// Done (completed, expired or cancelled): its results can be read; a
    /// request without a result was not processed.
    Ended,
    /// The provider refused the batch as a whole (OpenAI `failed`), with its reason.
    Failed(String),
}

/// A batch as the provider reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStatus {
    /// The provider's batch id.
    pub id: String,
    /// The provider's own word for its state (`in_progress`, `completed`, `ended` …).
    pub provider_status: String,
    pub state: BatchState,
    /// Requests processed so far, when reported.
    pub processed: Option<u64>,
    /// Requests in the batch, when reported.
    pub total: Option<u64>,
    /// Where its results are (output and error files, or the results URL).
    results: Vec<Url>,
}

/// Why one request of a batch got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLineError {
    /// The provider's error type or code, or `batch_expired` / `batch_canceled`.
    pub code: String,
    /// The provider's message.
    pub message: String,
}

/// One request's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchResult {
    /// The request's [`BatchItem::custom_id`].
    pub custom_id: String,
    pub outcome: Result<ChatResponse, BatchLineError>,
}

impl ProviderClient {
    /// Splits `items` into batches within `limits` (requests and bytes), in
    /// order. A request larger than a whole batch may be is refused.
    pub fn plan_batches(&self, items: &[BatchItem], limits: BatchLimits) -> Result<Vec<BatchChunk>, Error> {
        let max_requests = limits.max_requests.max(1);
        let mut chunks = Vec::new();
        let mut current = BatchChunk { custom_ids: Vec::new(), entries: Vec::new() };
        let mut bytes = 0;
        for item in items {
            let entry = self.batch_entry(item).to_string();
            let size = entry.len() + 1;
            if size > limits.max_bytes {
                return Err(Error::BatchTooLarge {
                    provider: self.config().id.clone(),
                    detail: format!(
                        "request {} alone is {size} bytes, more than a batch may hold ({} bytes)",
                        item.custom_id, limits.max_bytes
                    ),
                });
            }
            if !current.entries.is_empty() && (current.entries.len() >= max_requests || bytes + size > limits.max_bytes)
            {
                chunks
                    .push(std::mem::replace(&mut current, BatchChunk { custom_ids: Vec::new(), entries: Vec::new() }));
                bytes = 0;
            }
            bytes += size;
            current.custom_ids.push(item.custom_id.clone());
            current.entries.push(entry);
        }
        if !current.entries.is_empty() {
            chunks.push(current);
        }
        Ok(chunks)
    }

    /// One request as its batch line (OpenAI) or batch entry (Anthropic).
    fn batch_entry(&self, item: &BatchItem) -> Value {
        let config = self.config();
        let mut body = wire::request_body(config.wire, &item.request, false, config.default_max_tokens);
        // Batches are never streamed; the field has no place in them.
        if let Some(fields) = body.as_object_mut() {
            fields.remove("stream");
        }
        match config.wire {
            WireFormat::OpenAi => json!({
                "custom_id": item.custom_id,
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": body,
            }),
            WireFormat::Anthropic => json!({ "custom_id": item.custom_id, "params": body }),
        }
    }

    /// Submits one batch and answers the provider's batch id. OpenAI: the
    /// JSONL file is uploaded first, then the batch is created over it with
    /// a 24 h completion window; Anthropic: one request with every entry.
    pub async fn submit_batch(&self, chunk: &BatchChunk, options: &CallOptions) -> Result<String, Error> {
        let id = match self.config().wire {
            WireFormat::OpenAi => {
                let file = self.upload_batch_file(chunk, options).await?;
                let body = json!({
                    "input_file_id": file,
                    "endpoint": "/v1/chat/completions",
                    "completion_window": "24h",
                });
                let created = self.json_call(Method::POST, self.url("v1/batches"), Some(Payload::json(&body)), options);
                id_of(&created.await?).ok_or_else(|| self.bad_response("the created batch has no id".to_owned()))?
            }
            WireFormat::Anthropic => {
                let mut body = String::from("{\"requests\":[");
                body.push_str(&chunk.entries.join(","));
                body.push_str("]}");
                let payload = Payload { bytes: Bytes::from(body), content_type: "application/json".to_owned() };
                let created = self.json_call(Method::POST, self.url("v1/messages/batches"), Some(payload), options);
                id_of(&created.await?).ok_or_else(|| self.bad_response("the created batch has no id".to_owned()))?
            }
        };
        info!(provider = self.config().id, batch = id, requests = chunk.custom_ids.len(), "batch submitted");
        Ok(id)
    }

    /// `POST /v1/files` as multipart/form-data: `purpose=batch` and the JSONL.
    /// Built by hand because reqwest's multipart form is consumed when sent,
    /// and a retry must send the same body again; JSON lines never contain a
    /// raw CR LF, so no boundary can occur inside the file.
    async fn upload_batch_file(&self, chunk: &BatchChunk, options: &CallOptions) -> Result<String, Error> {
        let boundary = format!("augment-batch-{:032x}", rand::thread_rng().r#gen::<u128>());
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"batch.jsonl\"\r\n\
             Content-Type: application/jsonl\r\n\r\n"
        );
        for entry in &chunk.entries {
            body.push_str(entry);
            body.push('\n');
        }
        body.push_str(&format!("\r\n--{boundary}--\r\n"));
        let payload =
            Payload { bytes: Bytes::from(body), content_type: format!("multipart/form-data; boundary={boundary}") };
        let file = self.json_call(Method::POST, self.url("v1/files"), Some(payload), options).await?;
        id_of(&file).ok_or_else(|| self.bad_response("the uploaded file has no id".to_owned()))
    }

    /// Asks the provider where batch `id` is.
    pub async fn batch_status(&self, id: &str, options: &CallOptions) -> Result<BatchStatus, Error> {
        let path = match self.config().wire {
            WireFormat::OpenAi => format!("v1/batches/{id}"),
            WireFormat::Anthropic => format!("v1/messages/batches/{id}"),
        };
        let value = self.json_call(Method::GET, self.url(&path), None, options).await?;
        self.parse_status(id, &value)
    }

    /// Asks the provider to cancel batch `id` (`POST …/{id}/cancel`); its
    /// status after the request. The provider stops processing it: the
    /// batch ends (OpenAI `cancelled`, Anthropic `ended`) with the results
    /// of what it had processed, read as any ended batch's.
    pub async fn cancel_batch(&self, id: &str, options: &CallOptions) -> Result<BatchStatus, Error> {
        let path = match self.config().wire {
            WireFormat::OpenAi => format!("v1/batches/{id}/cancel"),
            WireFormat::Anthropic => format!("v1/messages/batches/{id}/cancel"),
        };
        let value = self.json_call(Method::POST, self.url(&path), None, options).await?;
        info!(provider = self.config().id, batch = id, "batch cancel asked");
        self.parse_status(id, &value)
    }

    /// Polls batch `id` until it is no longer running, waiting per
    /// `backoff` between polls; `on_poll` sees every answer. No deadline:
    /// a batch may take the provider's whole completion window, and the
    /// options' cancel token ends the wait at once.
    pub async fn wait_for_batch(
        &self,
        id: &str,
        backoff: PollBackoff,
        options: &CallOptions,
        mut on_poll: impl FnMut(&BatchStatus),
    ) -> Result<BatchStatus, Error> {
        let mut polls = 0;
        loop {
            let status = self.batch_status(id, options).await?;
            on_poll(&status);
            if status.state != BatchState::Running {
                return Ok(status);
            }
            let delay = backoff.delay(polls);
            polls = polls.saturating_add(1);
            debug!(provider = self.config().id, batch = id, delay_ms = delay.as_millis() as u64, "batch still running");
            cancellable(options, &self.config().id, tokio::time::sleep(delay)).await?;
        }
    }

    /// The results of an ended batch, read from its output and error files
    /// (OpenAI) or its results URL (Anthropic).
    pub async fn batch_results(&self, status: &BatchStatus, options: &CallOptions) -> Result<Vec<BatchResult>, Error> {
        let mut results = Vec::new();
        for url in &status.results {
            let body = self.read_all(url.clone(), options).await?;
            for line in body.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)) {
                let value: Value =
                    serde_json::from_slice(line).map_err(|e| self.bad_response(format!("a result line: {e}")))?;
                results.push(self.parse_result(&value)?);
            }
        }
        Ok(results)
    }

    async fn json_call(
        &self,
        method: Method,
        url: Url,
        body: Option<Payload>,
        options: &CallOptions,
    ) -> Result<Value, Error> {
        let bytes = self.read_all_with(method, url, body, options).await?;
        serde_json::from_slice(&bytes).map_err(|e| self.bad_response(format!("invalid JSON: {e}")))
    }

    async fn read_all(&self, url: Url, options: &CallOptions) -> Result<Bytes, Error> {
        self.read_all_with(Method::GET, url, None, options).await
    }

    async fn read_all_with(
        &self,
        method: Method,
        url: Url,
        body: Option<Payload>,
        options: &CallOptions,
    ) -> Result<Bytes, Error> {
        let Answered { response, permit, deadline } = self.execute(method, url, body, None, options).await?;
        let bytes = self.read_body(response, deadline, options).await?;
        drop(permit);
        Ok(bytes)
    }

    fn parse_status(&self, id: &str, value: &Value) -> Result<BatchStatus, Error> {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let provider_status = match self.config().wire {
            WireFormat::OpenAi => text(&value["status"]),
            WireFormat::Anthropic => text(&value["processing_status"]),
        }
        .ok_or_else(|| self.bad_response(format!("batch {id} has no status")))?;
        let counts = &value["request_counts"];
        let count = |k: &str| counts[k].as_u64();
        let (state, processed, total, results) = match self.config().wire {
            WireFormat::OpenAi => {
                let state = match provider_status.as_str() {
                    "completed" | "expired" | "cancelled" => BatchState::Ended,
                    "failed" => {
                        let reasons: Vec<&str> = value["errors"]["data"]
                            .as_array()
                            .map(|errors| errors.iter().filter_map(|e| e["message"].as_str()).collect())
                            .unwrap_or_default();
                        BatchState::Failed(if reasons.is_empty() {
                            "no reason given".to_owned()
                        } else {
                            reasons.join("; ")
                        })
                    }
                    _ => BatchState::Running,
                };
                let files = ["output_file_id", "error_file_id"]
                    .iter()
                    .filter_map(|k| value[*k].as_str())
                    .map(|file| self.url(&format!("v1/files/{file}/content")))
                    .collect();
                let processed = count("completed").zip(count("failed")).map(|(c, f)| c + f);
                (state, processed, count("total"), files)
            }
            WireFormat::Anthropic => {
                let state = if provider_status == "ended" { BatchState::Ended } else { BatchState::Running };
                let ended: Option<u64> = ["succeeded", "errored", "canceled", "expired"].iter().map(|k| count(k)).sum();
                let total = ended.zip(count("processing")).map(|(e, p)| e + p);
                let results = match value["results_url"].as_str() {
                    Some(url) => vec![self.same_origin(url)?],
                    None => Vec::new(),
                };
                (state, ended, total, results)
            }
        };
        Ok(BatchStatus { id: id.to_owned(), provider_status, state, processed, total, results })
    }

    /// A URL the provider gave, refused unless it is on the client's own
    /// origin: the key goes with the request, and only to where it belongs.
    fn same_origin(&self, url: &str) -> Result<Url, Error> {
        let base = self.url("");
        match Url::parse(url) {
            Ok(parsed) if parsed.origin() == base.origin() => Ok(parsed),
            Ok(_) => Err(self.bad_response(format!(
                "the batch's results are at another address than {}, and the key is not sent there",
                crate::client::display_url(&base)
            ))),
            Err(e) => Err(self.bad_response(format!("the batch's results URL is not a URL: {e}"))),
        }
    }

    fn parse_result(&self, value: &Value) -> Result<BatchResult, Error> {
        let custom_id = value["custom_id"]
            .as_str()
            .ok_or_else(|| self.bad_response("a result line has no custom_id".to_owned()))?
            .to_owned();
        let wire = self.config().wire;
        let error_of = |body: &Value, fallback: &str| {
            let parsed = wire::parse_error(body.to_string().as_bytes()).unwrap_or_default();
            BatchLineError {
                code: parsed.kind.or(parsed.code).unwrap_or_else(|| fallback.to_owned()),
                message: parsed.message.unwrap_or_else(|| "no reason given".to_owned()),
            }
        };
        let outcome = match wire {
            WireFormat::OpenAi => {
                if let Some(error) = value.get("error").filter(|e| !e.is_null()) {
                    Err(BatchLineError {
                        code: error["code"].as_str().unwrap_or("batch_error").to_owned(),
                        message: error["message"].as_str().unwrap_or("no reason given").to_owned(),
                    })
                } else {
                    let response = &value["response"];
                    let status = response["status_code"].as_u64().unwrap_or(0);
                    let body = &response["body"];
                    if (200..300).contains(&status) {
                        let model = body["model"].as_str().unwrap_or_default().to_owned();
                        Ok(wire::parse_answer(wire, body.to_string().as_bytes(), &model)
                            .map_err(|detail| self.bad_response(detail))?)
                    } else {
                        Err(error_of(body, &format!("http_{status}")))
                    }
                }
            }
            WireFormat::Anthropic => {
                let result = &value["result"];
                match result["type"].as_str().unwrap_or_default() {
                    "succeeded" => {
                        let message = &result["message"];
                        let model = message["model"].as_str().unwrap_or_default().to_owned();
                        Ok(wire::parse_answer(wire, message.to_string().as_bytes(), &model)
                            .map_err(|detail| self.bad_response(detail))?)
                    }
                    "errored" => Err(error_of(&result["error"], "batch_error")),
                    other => Err(BatchLineError {
                        code: format!("batch_{other}"),
                        message: format!("the provider did not process this request: the batch {other}"),
                    }),
                }
            }
        };
        Ok(BatchResult { custom_id, outcome })
    }
}

fn id_of(value: &Value) -> Option<String> {
    value["id"].as_str().filter(|id| !id.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let backoff = PollBackoff { first: Duration::from_millis(100), max: Duration::from_millis(1000) };
        let delays: Vec<u128> = (0..6).map(|n| backoff.delay(n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.delay(u32::MAX), Duration::from_millis(1000), "no overflow");
    }
}
