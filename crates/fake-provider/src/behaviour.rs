use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// What the fake provider does with one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum Behaviour {
    /// A normal answer in the request's wire format, streamed if it asked.
    Answer {
        /// The answer text; `None` uses the configured reply.
        text: Option<String>,
    },
    /// 401 with the provider's authentication error.
    InvalidKey,
    /// 404 with the provider's model-not-found error.
    ModelNotFound,
    /// 429 with the provider's rate-limit error and optionally `Retry-After`.
    RateLimited {
        /// The `Retry-After` header to send, if any.
        retry_after: Option<RetryAfter>,
    },
    /// The account's quota is used up: OpenAI's 429 `insufficient_quota`,
    /// Anthropic's 400 "credit balance is too low".
    QuotaExhausted,
    /// A client error (400, 403, 422 …) with the provider's `invalid_request_error`.
    Rejected {
        /// The HTTP status to send.
        status: u16,
    },
    /// An error status (500, 502, 503, 529 …) with the provider's server error.
    ServerError {
        /// The HTTP status to send.
        status: u16,
    },
    /// Waits before answering at all (no headers yet), then behaves as `then`.
    Delay {
        /// How long to wait.
        delay: Duration,
        /// What to do afterwards.
        then: Box<Behaviour>,
    },
    /// Sends headers and `chunks` streamed chunks, then nothing more until the
    /// client goes away. For non-streaming requests: never answers.
    Stall {
        /// Chunks sent before stalling.
        chunks: usize,
    },
    /// A request with a schema gets text that is not JSON (OpenAI's message
    /// content; Anthropic answers with a text block instead of the tool),
    /// as a model that ignored the structured mode would.
    NotJson,
    /// A request with a schema gets a JSON object whose every property has
    /// the wrong type, so it fails validation.
    Misfit,
    /// A normal answer that differs on every call ("Answer 1.", "Answer
    /// 2." …, counted across the server), as a model sampling at a high
    /// temperature would: what repeat runs measure stability against.
    Vary,
}

impl Behaviour {
    /// A normal answer with the configured reply text.
    pub fn answer() -> Self {
        Behaviour::Answer { text: None }
    }

    /// A 429 with `Retry-After: <seconds>`.
    pub fn rate_limited_for(seconds: u64) -> Self {
        Behaviour::RateLimited { retry_after: Some(RetryAfter::Seconds(seconds)) }
    }

    /// Waits `delay`, then answers normally.
    pub fn slow(delay: Duration) -> Self {
        Behaviour::Delay { delay, then: Box::new(Behaviour::answer()) }
    }

    /// Reads a `[fake:…]` directive out of a prompt.
    pub(crate) fn from_directive(text: &str) -> Option<Self> {
        let start = text.find("[fake:")?;
        let rest = &text[start + "[fake:".len()..];
        let body = &rest[..rest.find(']')?];
        let mut parts = body.split(':');
        let behaviour = match (parts.next()?, parts.next()) {
            ("401", _) => Behaviour::InvalidKey,
            ("404", _) => Behaviour::ModelNotFound,
            ("quota", _) => Behaviour::QuotaExhausted,
            ("say", Some(text)) => Behaviour::Answer { text: Some(text.to_owned()) },
            ("429", seconds) => {
                Behaviour::RateLimited { retry_after: seconds.and_then(|s| s.parse().ok()).map(RetryAfter::Seconds) }
            }
            ("delay", Some(ms)) => Behaviour::slow(Duration::from_millis(ms.parse().ok()?)),
            ("stall", chunks) => Behaviour::Stall { chunks: chunks.and_then(|c| c.parse().ok()).unwrap_or(1) },
            ("not-json", _) => Behaviour::NotJson,
            ("misfit", _) => Behaviour::Misfit,
            ("vary", _) => Behaviour::Vary,
            (status, _) => {
                let status: u16 = status.parse().ok()?;
                match status {
                    500..600 => Behaviour::ServerError { status },
                    400..500 => Behaviour::Rejected { status },
                    _ => return None,
                }
            }
        };
        Some(behaviour)
    }
}

/// A provider's request window: at most `requests` chat requests per
/// `window`, counted from the first request of a window. Every chat answer
/// carries the provider's rate-limit headers (OpenAI's
/// `x-ratelimit-remaining-requests` / `x-ratelimit-reset-requests`,
/// Anthropic's `anthropic-ratelimit-requests-remaining` / `-reset`), and a
/// request beyond the limit gets 429 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitWindow {
    /// Requests allowed per window.
    pub requests: u64,
    /// The window's length.
    pub window: Duration,
}

/// A `Retry-After` header value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryAfter {
    /// `Retry-After: 12`
    Seconds(u64),
    /// `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`
    Date(SystemTime),
}

impl RetryAfter {
    pub(crate) fn header_value(&self) -> String {
        match self {
            RetryAfter::Seconds(s) => s.to_string(),
            RetryAfter::Date(t) => httpdate::fmt_http_date(*t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives() {
        let check = |text: &str, expected: Option<Behaviour>| {
            assert_eq!(Behaviour::from_directive(text), expected, "{text}");
        };
        check("hello", None);
        check("please [fake:401] now", Some(Behaviour::InvalidKey));
        check("[fake:404]", Some(Behaviour::ModelNotFound));
        check("[fake:429:3]", Some(Behaviour::rate_limited_for(3)));
        check("[fake:429]", Some(Behaviour::RateLimited { retry_after: None }));
        check("[fake:503]", Some(Behaviour::ServerError { status: 503 }));
        check("[fake:delay:250]", Some(Behaviour::slow(Duration::from_millis(250))));
        check("[fake:stall]", Some(Behaviour::Stall { chunks: 1 }));
        check("[fake:stall:0]", Some(Behaviour::Stall { chunks: 0 }));
        check("[fake:quota]", Some(Behaviour::QuotaExhausted));
        check("[fake:say:Another answer.]", Some(Behaviour::Answer { text: Some("Another answer.".into()) }));
        check("[fake:422]", Some(Behaviour::Rejected { status: 422 }));
        check("[fake:not-json]", Some(Behaviour::NotJson));
        check("[fake:misfit]", Some(Behaviour::Misfit));
        check("[fake:vary]", Some(Behaviour::Vary));
        check("[fake:200]", None);
        check("[fake:nonsense", None);
    }

    #[test]
    fn behaviours_round_trip_as_json_for_the_control_endpoint() {
        let b = Behaviour::Delay { delay: Duration::from_millis(1500), then: Box::new(Behaviour::rate_limited_for(2)) };
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::from_str::<Behaviour>(&json).unwrap(), b);
        let parsed: Behaviour = serde_json::from_str(r#"{"kind":"server_error","status":502}"#).unwrap();
        assert_eq!(parsed, Behaviour::ServerError { status: 502 });
    }
}
