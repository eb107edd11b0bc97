//! Response bodies in the shapes OpenAI and Anthropic document.

use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    OpenAi,
    Anthropic,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Failure {
    InvalidKey,
    ModelNotFound,
    RateLimited,
    Server,
    BadRequest,
    QuotaExhausted,
    /// A client error with this status (400, 403, 422 …).
    Rejected(u16),
}

fn words(text: &str) -> usize {
    text.split_whitespace().count().max(1)
}

pub(crate) fn answer(wire: Wire, model: &str, text: &str, prompt: &str) -> Value {
    match wire {
        Wire::OpenAi => json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": text },
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": {
                "prompt_tokens": words(prompt),
                "completion_tokens": words(text),
                "total_tokens": words(prompt) + words(text)
            }
        }),
        Wire::Anthropic => json!({
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{ "type": "text", "text": text }],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": { "input_tokens": words(prompt), "output_tokens": words(text) }
        }),
    }
}

/// Anthropic's answer to a forced tool: one `tool_use` block whose input is the answer.
pub(crate) fn tool_answer(model: &str, tool: &str, input: &Value, prompt: &str) -> Value {
    json!({
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{ "type": "tool_use", "id": "toolu_fake", "name": tool, "input": input }],
        "stop_reason": "tool_use",
        "stop_sequence": null,
        "usage": { "input_tokens": words(prompt), "output_tokens": words(&input.to_string()) }
    })
}

fn data_event(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

fn named_event(name: &str, value: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {value}\n\n"))
}

/// Pieces of the answer as the providers send them: a word and its trailing space.
fn pieces(text: &str) -> Vec<&str> {
    text.split_inclusive(' ').collect()
}

/// Every SSE event of a streamed answer, in order, each with its blank-line terminator.
pub(crate) fn stream(wire: Wire, model: &str, text: &str, prompt: &str) -> Vec<Bytes> {
    let mut events = Vec::new();
    match wire {
        Wire::OpenAi => {
            let chunk = |delta: Value, finish: Value| {
                json!({
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                    "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish }]
                })
            };
            events.push(data_event(&chunk(json!({"role": "assistant", "content": ""}), Value::Null)));
            for piece in pieces(text) {
                events.push(data_event(&chunk(json!({ "content": piece }), Value::Null)));
            }
            events.push(data_event(&chunk(json!({}), json!("stop"))));
            events.push(Bytes::from_static(b"data: [DONE]\n\n"));
        }
        Wire::Anthropic => {
            events.push(named_event(
                "message_start",
                &json!({
                    "type": "message_start",
                    "message": {
                        "id": "msg_fake", "type": "message", "role": "assistant", "content": [],
                        "model": model, "stop_reason": null, "stop_sequence": null,
                        "usage": { "input_tokens": words(prompt), "output_tokens": 1 }
                    }
                }),
            ));
            events.push(named_event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ));
            events.push(named_event("ping", &json!({"type": "ping"})));
            for piece in pieces(text) {
                events.push(named_event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}),
                ));
            }
            events.push(named_event("content_block_stop", &json!({"type": "content_block_stop", "index": 0})));
            events.push(named_event(
                "message_delta",
                &json!({
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                    "usage": {"output_tokens": words(text)}
                }),
            ));
            events.push(named_event("message_stop", &json!({"type": "message_stop"})));
        }
    }
    events
}

pub(crate) fn error(wire: Wire, failure: Failure, status: StatusCode, detail: &str) -> Value {
    match wire {
        Wire::OpenAi => {
            let (message, kind, code) = match failure {
                Failure::InvalidKey => (
                    "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.".to_owned(),
                    "invalid_request_error",
                    json!("invalid_api_key"),
                ),
                Failure::ModelNotFound => (
                    format!("The model `{detail}` does not exist or you do not have access to it."),
                    "invalid_request_error",
                    json!("model_not_found"),
                ),
                Failure::RateLimited => (
                    "Rate limit reached for requests. Please try again later.".to_owned(),
                    "requests",
                    json!("rate_limit_exceeded"),
                ),
                Failure::Server => (
                    "The server had an error while processing your request. Sorry about that!".to_owned(),
                    "server_error",
                    Value::Null,
                ),
                Failure::BadRequest => (detail.to_owned(), "invalid_request_error", Value::Null),
                Failure::QuotaExhausted => (
                    "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.".to_owned(),
                    "insufficient_quota",
                    json!("insufficient_quota"),
                ),
                Failure::Rejected(status) => {
                    (format!("The request was refused (fake HTTP {status})."), "invalid_request_error", Value::Null)
                }
            };
            json!({ "error": { "message": message, "type": kind, "param": null, "code": code } })
        }
        Wire::Anthropic => {
            let (kind, message) = match failure {
                Failure::InvalidKey => ("authentication_error", "invalid x-api-key".to_owned()),
                Failure::ModelNotFound => ("not_found_error", format!("model: {detail}")),
                Failure::RateLimited => {
                    ("rate_limit_error", "Number of requests has exceeded your rate limit.".to_owned())
                }
                Failure::Server if status.as_u16() == 529 => ("overloaded_error", "Overloaded".to_owned()),
                Failure::Server => ("api_error", "Internal server error".to_owned()),
                Failure::BadRequest => ("invalid_request_error", detail.to_owned()),
                Failure::QuotaExhausted => (
                    "invalid_request_error",
                    "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.".to_owned(),
                ),
                Failure::Rejected(403) => {
                    ("permission_error", "Your API key does not have permission to use the specified resource.".to_owned())
                }
                Failure::Rejected(status) => ("invalid_request_error", format!("The request was refused (fake HTTP {status}).")),
            };
            json!({ "type": "error", "error": { "type": kind, "message": message } })
        }
    }
}

pub(crate) fn models(wire: Wire, models: &[String]) -> Value {
    match wire {
        Wire::OpenAi => json!({
            "object": "list",
            "data": models.iter().map(|id| json!({
                "id": id, "object": "model", "created": 0, "owned_by": "fake-provider"
            })).collect::<Vec<_>>()
        }),
        Wire::Anthropic => json!({
            "data": models.iter().map(|id| json!({
                "type": "model", "id": id, "display_name": id, "created_at": "2025-01-01T00:00:00Z"
            })).collect::<Vec<_>>(),
            "has_more": false,
            "first_id": models.first(),
            "last_id": models.last()
        }),
    }
}

pub(crate) fn status_of(wire: Wire, failure: Failure) -> StatusCode {
    match failure {
        Failure::QuotaExhausted if wire == Wire::Anthropic => StatusCode::BAD_REQUEST,
        Failure::QuotaExhausted => StatusCode::TOO_MANY_REQUESTS,
        Failure::Rejected(status) => StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Failure::InvalidKey => StatusCode::UNAUTHORIZED,
        Failure::ModelNotFound => StatusCode::NOT_FOUND,
        Failure::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Failure::Server => StatusCode::INTERNAL_SERVER_ERROR,
        Failure::BadRequest => StatusCode::BAD_REQUEST,
    }
}

/// A duration as Go prints one, the way OpenAI writes its reset headers
/// (`1s`, `6m0s`, `120ms`, `1.5s`), rounded up to a millisecond so that a
/// client waiting that long never comes back before the reset.
pub(crate) fn go_duration(d: std::time::Duration) -> String {
    let millis = d.as_nanos().div_ceil(1_000_000);
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let minutes = millis / 60_000;
    let rest = millis % 60_000;
    let seconds =
        if rest.is_multiple_of(1000) { format!("{}s", rest / 1000) } else { format!("{}s", rest as f64 / 1000.0) };
    if minutes > 0 { format!("{minutes}m{seconds}") } else { seconds }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn durations_read_as_go_prints_them() {
        assert_eq!(super::go_duration(Duration::from_millis(120)), "120ms");
        assert_eq!(super::go_duration(Duration::from_micros(119_001)), "120ms");
        assert_eq!(super::go_duration(Duration::from_secs(1)), "1s");
        assert_eq!(super::go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(super::go_duration(Duration::from_secs(360)), "6m0s");
    }
}
