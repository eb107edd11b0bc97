//! The two batch wire formats, in memory: OpenAI's Batch API (`/v1/files`,
//! `/v1/batches`, `/v1/files/{id}/content`) and Anthropic's Message Batches
//! (`/v1/messages/batches`, its `results_url`).
//!
//! A batch reports itself running (OpenAI `validating`, then `in_progress`;
//! Anthropic `in_progress`) for the first [`crate::FakeConfig::batch_polls`]
//! status requests, then ends (`completed` / `ended`) with its results,
//! each line answered as the live endpoint answers it: the configured reply,
//! or the error a `[fake:…]` directive or a `no-such-…` model asks for (in
//! the error file, or as an `errored` result). `[fake:expire]` makes a line
//! expire unprocessed (OpenAI's `batch_expired` error, Anthropic's `expired`).
//! A cancel (`POST …/{id}/cancel`) ends the batch at its next poll with
//! nothing processed (`cancelled`; Anthropic's results each `canceled`).

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Behaviour;
use crate::server::{AppState, InFlight, key_is_wrong, last_message_text, lock};
use crate::wire::{self, Failure, Wire};

/// Files and batches the fake holds.
#[derive(Debug, Default)]
pub(crate) struct Batches {
    next_id: u64,
    files: HashMap<String, Vec<u8>>,
    batches: HashMap<String, FakeBatch>,
}

#[derive(Debug)]
struct FakeBatch {
    wire: Wire,
    /// The requests: OpenAI lines (`{custom_id, method, url, body}`) or Anthropic entries (`{custom_id, params}`).
    requests: Vec<Value>,
    input_file_id: Option<String>,
    polls: u64,
    /// Cancelled by the client before it ended: it ends at its next poll with nothing processed.
    cancelled: bool,
    /// Set once it ended: OpenAI's output and error file ids, or Anthropic's results JSONL.
    ended: Option<Ended>,
    created_at: u64,
}

#[derive(Debug)]
struct Ended {
    output_file_id: Option<String>,
    error_file_id: Option<String>,
    succeeded: u64,
    errored: u64,
    expired: u64,
    canceled: u64,
}

impl Batches {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:06}", self.next_id)
    }

    /// Batches created so far.
    pub(crate) fn created(&self) -> usize {
        self.batches.len()
    }
}

/// Whose batch a path names: Anthropic's are under `/v1/messages/batches`.
fn wire_of(uri: &OriginalUri) -> Wire {
    if uri.0.path().contains("/messages/batches") { Wire::Anthropic } else { Wire::OpenAi }
}

/// Records the request and answers 401 for a wrong key; `None` when it may go on.
fn admit(
    state: &AppState,
    wire: Wire,
    method: &Method,
    uri: &OriginalUri,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    state.record(method, &uri.0, headers, body);
    if wire == Wire::Anthropic && !headers.contains_key("anthropic-version") {
        return Some(failure(wire, Failure::BadRequest, "anthropic-version: header is required"));
    }
    key_is_wrong(state, wire, headers).then(|| failure(wire, Failure::InvalidKey, ""))
}

fn failure(wire: Wire, failure: Failure, detail: &str) -> Response {
    let status = wire::status_of(wire, failure);
    (status, axum::Json(wire::error(wire, failure, status, detail))).into_response()
}

fn not_found(wire: Wire, what: &str) -> Response {
    failure(wire, Failure::Rejected(404), &format!("no such {what}"))
}

/// `POST /v1/files`: multipart/form-data with `purpose` and `file`.
pub(crate) async fn upload_file(
    State(state): State<AppState>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _guard = InFlight::new(&state);
    if let Some(refused) = admit(&state, Wire::OpenAi, &method, &uri, &headers, &body) {
        return refused;
    }
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("boundary=").nth(1))
        .map(|b| b.trim_matches('"').to_owned());
    let Some(boundary) = boundary else {
        return failure(Wire::OpenAi, Failure::BadRequest, "expected multipart/form-data with a boundary");
    };
    let parts = multipart_parts(&body, &boundary);
    if parts.get("purpose").map(Vec::as_slice) != Some(b"batch".as_slice()) {
        return failure(Wire::OpenAi, Failure::BadRequest, "purpose must be `batch`");
    }
    let Some(file) = parts.get("file") else {
        return failure(Wire::OpenAi, Failure::BadRequest, "a `file` part is required");
    };
    let mut batches = lock(&state.batches);
    let id = batches.id("file-fake");
    let bytes = file.len();
    batches.files.insert(id.clone(), file.clone());
    axum::Json(json!({
        "id": id, "object": "file", "bytes": bytes, "created_at": 0,
        "filename": "batch.jsonl", "purpose": "batch",
    }))
    .into_response()
}

/// The named parts of a multipart/form-data body. A test fake's parser: no
/// nested multiparts, no transfer encodings.
fn multipart_parts(body: &[u8], boundary: &str) -> HashMap<String, Vec<u8>> {
    let delimiter = format!("--{boundary}");
    let text = body;
    let mut parts = HashMap::new();
    let positions: Vec<usize> = find_all(text, delimiter.as_bytes());
    for pair in positions.windows(2) {
        let part = &text[pair[0] + delimiter.len()..pair[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split) = find_all(part, b"\r\n\r\n").first().copied() else { continue };
        let head = String::from_utf8_lossy(&part[..split]);
        let content = &part[split + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        if let Some(name) = head.split("name=\"").nth(1).and_then(|rest| rest.split('"').next()) {
            parts.insert(name.to_owned(), content.to_vec());
        }
    }
    parts
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    (0..haystack.len().saturating_sub(needle.len() - 1)).filter(|&i| haystack[i..].starts_with(needle)).collect()
}

/// `GET /v1/files/{id}/content`.
pub(crate) async fn file_content(
    State(state): State<AppState>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let _guard = InFlight::new(&state);
    if let Some(refused) = admit(&state, Wire::OpenAi, &method, &uri, &headers, &[]) {
        return refused;
    }
    match lock(&state.batches).files.get(&id) {
        Some(content) => ([(header::CONTENT_TYPE, "application/octet-stream")], content.clone()).into_response(),
        None => not_found(Wire::OpenAi, "file"),
    }
}

/// `POST /v1/batches`: `{input_file_id, endpoint, completion_window}`.
pub(crate) async fn create_openai(
    State(state): State<AppState>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _guard = InFlight::new(&state);
    if let Some(refused) = admit(&state, Wire::OpenAi, &method, &uri, &headers, &body) {
        return refused;
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return failure(Wire::OpenAi, Failure::BadRequest, "invalid JSON body");
    };
    if request["endpoint"] != "/v1/chat/completions" || request["completion_window"] != "24h" {
        return failure(Wire::OpenAi, Failure::BadRequest, "endpoint must be /v1/chat/completions, window 24h");
    }
    let mut batches = lock(&state.batches);
    let file_id = request["input_file_id"].as_str().unwrap_or_default().to_owned();
    let Some(file) = batches.files.get(&file_id) else {
        return not_found(Wire::OpenAi, "file");
    };
    let lines: Result<Vec<Value>, _> =
        String::from_utf8_lossy(file).lines().filter(|l| !l.trim().is_empty()).map(serde_json::from_str).collect();
    let Ok(lines) = lines else {
        return failure(Wire::OpenAi, Failure::BadRequest, "the input file is not JSON Lines");
    };
    if lines.iter().any(|l| l["custom_id"].as_str().is_none() || l["url"] != "/v1/chat/completions") {
        return failure(Wire::OpenAi, Failure::BadRequest, "every line needs a custom_id and url /v1/chat/completions");
    }
    let id = batches.id("batch_fake");
    let batch = FakeBatch {
        wire: Wire::OpenAi,
        requests: lines,
        input_file_id: Some(file_id),
        polls: 0,
        cancelled: false,
        ended: None,
        created_at: 0,
    };
    let view = openai_view(&id, &batch, "validating");
    batches.batches.insert(id, batch);
    state.bump();
    axum::Json(view).into_response()
}

/// `POST /v1/messages/batches`: `{requests: [{custom_id, params}]}`.
pub(crate) async fn create_anthropic(
    State(state): State<AppState>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _guard = InFlight::new(&state);
    if let Some(refused) = admit(&state, Wire::Anthropic, &method, &uri, &headers, &body) {
        return refused;
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return failure(Wire::Anthropic, Failure::BadRequest, "invalid JSON body");
    };
    let Some(requests) = request["requests"].as_array().filter(|r| !r.is_empty()).cloned() else {
        return failure(Wire::Anthropic, Failure::BadRequest, "requests: a non-empty list is required");
    };
    if requests.iter().any(|r| r["custom_id"].as_str().is_none() || !r["params"].is_object()) {
        return failure(Wire::Anthropic, Failure::BadRequest, "every request needs a custom_id and params");
    }
    let mut batches = lock(&state.batches);
    let id = batches.id("msgbatch_fake");
    let batch = FakeBatch {
        wire: Wire::Anthropic,
        requests,
        input_file_id: None,
        polls: 0,
        cancelled: false,
        ended: None,
        created_at: 0,
    };
    let view = anthropic_view(&id, &batch, &headers);
    batches.batches.insert(id, batch);
    state.bump();
    axum::Json(view).into_response()
}

/// `GET /v1/batches/{id}` and `GET /v1/messages/batches/{id}`.
pub(crate) async fn status(
    State(state): State<AppState>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let wire = wire_of(&uri);
    let _guard = InFlight::new(&state);
    if let Some(refused) = admit(&state, wire, &method, &uri, &headers, &[]) {
        return refused;
    }
    let polls_before_end = state.batch_polls.load(Ordering::SeqCst);
    let reply = state.config.reply.clone();
    let mut guard = lock(&state.batches);
    let batches = &mut *guard;
    let Some(batch) = batches.batches.get_mut(&id).filter(|b| b.wire == wire) else {
        return not_found(wire, "batch");
    };
    batch.polls += 1;
    if batch.ended.is_none() && (batch.cancelled || batch.polls > polls_before_end) {
        let (output, errors, counts) = if batch.cancelled { canceled_results(batch) } else { results(batch, &reply) };
        let mut file = |lines: Vec<Value>| {
            (!lines.is_empty()).then(|| {
                let id = {
                    batches.next_id += 1;
                    format!("file-fake{:06}", batches.next_id)
                };
                let content: String = lines.iter().map(|l| format!("{l}\n")).collect();
                batches.files.insert(id.clone(), content.into_bytes());
                id
            })
        };
        let (output_file_id, error_file_id) = (file(output), file(errors));
        let (succeeded, errored, expired) = counts;
        let batch = batches.batches.get_mut(&id).expect("looked up above");
        let canceled = if batch.cancelled { batch.requests.len() as u64 } else { 0 };
        batch.ended = Some(Ended { output_file_id, error_file_id, succeeded, errored, expired, canceled });
    }
    let batch = &batches.batches[&id];
    let view = match wire {
        Wire::OpenAi => {
            let status = match (&batch.ended, batch.polls) {
                (Some(_), _) if batch.cancelled => "cancelled",
                (Some(_), _) => "completed",
                (None, 1) => "validating",
                (None, _) => "in_progress",
            };
            openai_view(&id, batch, status)
        }
        Wire::Anthropic => anthropic_view(&id, batch, &headers),
    };
    drop(guard);
    state.bump();
    axum::Json(view).into_response()
}

/// `POST /v1/batches/{id}/cancel` and `POST /v1/messages/batches/{id}/cancel`.
/// Cancels a batch that has not ended: the answer says it is cancelling
/// (`cancelling` / `canceling`), and it ends at its next poll with none of
/// its requests processed (Anthropic: each `canceled`; OpenAI: no lines).
pub(crate) async fn cancel(
    State(state): State<AppState>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let wire = wire_of(&uri);
    let _guard = InFlight::new(&state);
    if let Some(refused) = admit(&state, wire, &method, &uri, &headers, &[]) {
        return refused;
    }
    let mut batches = lock(&state.batches);
    let Some(batch) = batches.batches.get_mut(&id).filter(|b| b.wire == wire) else {
        return not_found(wire, "batch");
    };
    let running = batch.ended.is_none();
    batch.cancelled |= running;
    let view = match wire {
        Wire::OpenAi => openai_view(&id, batch, if running { "cancelling" } else { "completed" }),
        Wire::Anthropic => {
            let mut view = anthropic_view(&id, batch, &headers);
            if running {
                view["processing_status"] = json!("canceling");
            }
            view
        }
    };
    drop(batches);
    state.bump();
    axum::Json(view).into_response()
}

/// `GET /v1/messages/batches/{id}/results`: JSONL, once the batch ended.
pub(crate) async fn results_anthropic(
    State(state): State<AppState>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let _guard = InFlight::new(&state);
    if let Some(refused) = admit(&state, Wire::Anthropic, &method, &uri, &headers, &[]) {
        return refused;
    }
    let batches = lock(&state.batches);
    let Some(file) = batches.batches.get(&id).and_then(|b| b.ended.as_ref()).and_then(|e| e.output_file_id.as_ref())
    else {
        return not_found(Wire::Anthropic, "batch results (the batch has not ended)");
    };
    match batches.files.get(file) {
        Some(content) => ([(header::CONTENT_TYPE, "application/binary")], content.clone()).into_response(),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A batch cancelled before anything was processed: Anthropic lists each
/// request as `canceled`; OpenAI's files hold only processed requests, so none.
fn canceled_results(batch: &FakeBatch) -> (Vec<Value>, Vec<Value>, (u64, u64, u64)) {
    let lines = match batch.wire {
        Wire::OpenAi => Vec::new(),
        Wire::Anthropic => batch
            .requests
            .iter()
            .map(|r| json!({ "custom_id": r["custom_id"], "result": { "type": "canceled" } }))
            .collect(),
    };
    (lines, Vec::new(), (0, 0, 0))
}

/// Every request's result: OpenAI output and error lines, or Anthropic result
/// lines (all in the first list); and the counts succeeded, errored, expired.
fn results(batch: &FakeBatch, reply: &str) -> (Vec<Value>, Vec<Value>, (u64, u64, u64)) {
    let (mut output, mut errors) = (Vec::new(), Vec::new());
    let mut counts = (0, 0, 0);
    for (n, request) in batch.requests.iter().enumerate() {
        let custom_id = request["custom_id"].clone();
        let params = match batch.wire {
            Wire::OpenAi => &request["body"],
            Wire::Anthropic => &request["params"],
        };
        let model = params["model"].as_str().unwrap_or_default();
        let prompt = last_message_text(params);
        let request_id = format!("req_fake{n}");
        if prompt.contains("[fake:expire]") {
            counts.2 += 1;
            match batch.wire {
                Wire::OpenAi => errors.push(json!({
                    "id": format!("batch_req_{n}"), "custom_id": custom_id, "response": null,
                    "error": { "code": "batch_expired",
                               "message": "This request could not be executed before the completion window expired." },
                })),
                Wire::Anthropic => output.push(json!({ "custom_id": custom_id, "result": { "type": "expired" } })),
            }
            continue;
        }
        let behaviour = Behaviour::from_directive(&prompt)
            .or_else(|| model.starts_with("no-such-").then_some(Behaviour::ModelNotFound));
        // `[fake:say:TEXT]` answers TEXT in a batch as it does live.
        let reply = match &behaviour {
            Some(Behaviour::Answer { text: Some(text) }) => text.as_str(),
            _ => reply,
        };
        let failed = match behaviour {
            Some(Behaviour::InvalidKey) => Some(Failure::InvalidKey),
            Some(Behaviour::ModelNotFound) => Some(Failure::ModelNotFound),
            Some(Behaviour::RateLimited { .. }) => Some(Failure::RateLimited),
            Some(Behaviour::QuotaExhausted) => Some(Failure::QuotaExhausted),
            Some(Behaviour::Rejected { status }) => Some(Failure::Rejected(status)),
            Some(Behaviour::ServerError { .. }) => Some(Failure::Server),
            _ => None,
        };
        match (failed, batch.wire) {
            (None, Wire::OpenAi) => {
                counts.0 += 1;
                output.push(json!({
                    "id": format!("batch_req_{n}"), "custom_id": custom_id,
                    "response": { "status_code": 200, "request_id": request_id,
                                  "body": wire::answer(Wire::OpenAi, model, reply, &prompt) },
                    "error": null,
                }));
            }
            (None, Wire::Anthropic) => {
                counts.0 += 1;
                output.push(json!({ "custom_id": custom_id, "result": {
                    "type": "succeeded", "message": wire::answer(Wire::Anthropic, model, reply, &prompt) } }));
            }
            (Some(failure), Wire::OpenAi) => {
                counts.1 += 1;
                let status = wire::status_of(Wire::OpenAi, failure);
                errors.push(json!({
                    "id": format!("batch_req_{n}"), "custom_id": custom_id,
                    "response": { "status_code": status.as_u16(), "request_id": request_id,
                                  "body": wire::error(Wire::OpenAi, failure, status, model) },
                    "error": null,
                }));
            }
            (Some(failure), Wire::Anthropic) => {
                counts.1 += 1;
                let status = wire::status_of(Wire::Anthropic, failure);
                output.push(json!({ "custom_id": custom_id, "result": {
                    "type": "errored", "error": wire::error(Wire::Anthropic, failure, status, model) } }));
            }
        }
    }
    (output, errors, counts)
}

fn openai_view(id: &str, batch: &FakeBatch, status: &str) -> Value {
    let total = batch.requests.len() as u64;
    let (completed, failed, output, error) = match &batch.ended {
        Some(e) => (e.succeeded, e.errored + e.expired, e.output_file_id.clone(), e.error_file_id.clone()),
        None => (0, 0, None, None),
    };
    json!({
        "id": id, "object": "batch", "endpoint": "/v1/chat/completions", "errors": null,
        "input_file_id": batch.input_file_id, "completion_window": "24h", "status": status,
        "output_file_id": output, "error_file_id": error, "created_at": batch.created_at,
        "request_counts": { "total": total, "completed": completed, "failed": failed },
        "metadata": null,
    })
}

fn anthropic_view(id: &str, batch: &FakeBatch, headers: &HeaderMap) -> Value {
    let total = batch.requests.len() as u64;
    let (status, counts, results_url) = match &batch.ended {
        Some(e) => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
            (
                "ended",
                json!({ "processing": 0, "succeeded": e.succeeded, "errored": e.errored, "canceled": e.canceled,
                        "expired": e.expired }),
                Some(format!("http://{host}/v1/messages/batches/{id}/results")),
            )
        }
        None => (
            "in_progress",
            json!({ "processing": total, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0 }),
            None,
        ),
    };
    json!({
        "id": id, "type": "message_batch", "processing_status": status, "request_counts": counts,
        "ended_at": null, "created_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-02T00:00:00Z",
        "cancel_initiated_at": null, "results_url": results_url,
    })
}
