//! What a provider's rate-limit headers say about the request budget left,
//! and whether an error body means the account's quota is used up.
//!
//! OpenAI (and Groq, which copies it) sends `x-ratelimit-remaining-requests`
//! and `x-ratelimit-reset-requests` as a Go duration (`1s`, `6m0s`, `120ms`,
//! `1m30.5s`); Anthropic sends `anthropic-ratelimit-requests-remaining` and
//! `anthropic-ratelimit-requests-reset` as an RFC 3339 time.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

use crate::wire::ProviderError;

/// The request budget a response reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestBudget {
    /// Requests left in the provider's current window.
    pub(crate) remaining: u64,
    /// How long until the window resets (`None` when not said or unreadable).
    pub(crate) reset_in: Option<Duration>,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// The request budget in `headers`, if the provider sent one we can read.
pub(crate) fn request_budget(headers: &HeaderMap, now: SystemTime) -> Option<RequestBudget> {
    if let Some(remaining) = header(headers, "x-ratelimit-remaining-requests").and_then(|v| v.parse().ok()) {
        let reset_in = header(headers, "x-ratelimit-reset-requests").and_then(parse_go_duration);
        return Some(RequestBudget { remaining, reset_in });
    }
    let remaining = header(headers, "anthropic-ratelimit-requests-remaining")?.parse().ok()?;
    let reset_in = header(headers, "anthropic-ratelimit-requests-reset")
        .and_then(|v| humantime::parse_rfc3339_weak(v).ok())
        .map(|at| at.duration_since(now).unwrap_or(Duration::ZERO));
    Some(RequestBudget { remaining, reset_in })
}

/// A Go `time.Duration` string as OpenAI writes it: one or more
/// `<number><unit>` pairs, units `h`, `m`, `s`, `ms`, `us`/`µs`, `ns`, the
/// number possibly with a fraction. `None` for anything else (no sign: a
/// reset is never in the past).
pub(crate) fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        if number.is_empty() {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        let unit_end = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let seconds = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += value * seconds;
        rest = next;
    }
    // A year is far beyond any window a provider resets; refuse nonsense rather than overflow.
    (total.is_finite() && total < 365.0 * 86_400.0).then(|| Duration::from_secs_f64(total))
}

/// Whether an error answer says the account has no quota or credit left
/// (no retry helps; the person must add credit or raise the limit):
/// OpenAI's `insufficient_quota` (sent with 429), Anthropic's
/// `billing_error` (402) and its "credit balance is too low" refusal (400).
pub(crate) fn is_quota_exhausted(status: u16, error: Option<&ProviderError>) -> bool {
    if status == 402 {
        return true;
    }
    let Some(error) = error else { return false };
    let says = |field: &Option<String>, what: &str| field.as_deref() == Some(what);
    if says(&error.code, "insufficient_quota") || says(&error.kind, "insufficient_quota") {
        return true;
    }
    if says(&error.kind, "billing_error") {
        return true;
    }
    let message = error.message.as_deref().unwrap_or_default().to_ascii_lowercase();
    (status == 400 || status == 429) && message.contains("credit balance is too low")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_headers::headers;
    use crate::wire::parse_error;

    #[test]
    fn go_durations() {
        let check = |text: &str, expected: Option<Duration>| assert_eq!(parse_go_duration(text), expected, "{text}");
        check("1s", Some(Duration::from_secs(1)));
        check("6m0s", Some(Duration::from_secs(360)));
        check("120ms", Some(Duration::from_millis(120)));
        check("1m30.5s", Some(Duration::from_millis(90_500)));
        check("2h", Some(Duration::from_secs(7200)));
        check("0.5s", Some(Duration::from_millis(500)));
        check("250us", Some(Duration::from_micros(250)));
        check("0", Some(Duration::ZERO));
        check(" 3s ", Some(Duration::from_secs(3)));
        check("", None);
        check("s", None);
        check("12", None);
        check("1x", None);
        check("-1s", None);
        check("1.2.3s", None);
        check("99999999h", None);
    }

    #[test]
    fn openai_headers() {
        let now = SystemTime::UNIX_EPOCH;
        let h = headers(&[("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-reset-requests", "6m0s")]);
        assert_eq!(
            request_budget(&h, now),
            Some(RequestBudget { remaining: 0, reset_in: Some(Duration::from_secs(360)) })
        );
        let h = headers(&[("x-ratelimit-remaining-requests", "59"), ("x-ratelimit-reset-requests", "soon")]);
        assert_eq!(request_budget(&h, now), Some(RequestBudget { remaining: 59, reset_in: None }));
        assert_eq!(request_budget(&headers(&[("x-ratelimit-remaining-requests", "many")]), now), None);
        assert_eq!(request_budget(&HeaderMap::new(), now), None);
    }

    #[test]
    fn anthropic_headers() {
        let now = humantime::parse_rfc3339("2025-01-01T00:00:00Z").unwrap();
        let h = headers(&[
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2025-01-01T00:00:03Z"),
        ]);
        assert_eq!(
            request_budget(&h, now),
            Some(RequestBudget { remaining: 0, reset_in: Some(Duration::from_secs(3)) })
        );
        // A reset already past means "now".
        let h = headers(&[
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2024-12-31T23:59:00Z"),
        ]);
        assert_eq!(request_budget(&h, now), Some(RequestBudget { remaining: 0, reset_in: Some(Duration::ZERO) }));
        let h = headers(&[("anthropic-ratelimit-requests-remaining", "7")]);
        assert_eq!(request_budget(&h, now), Some(RequestBudget { remaining: 7, reset_in: None }));
    }

    #[test]
    fn quota_errors_are_told_from_rate_limits() {
        let openai_quota = parse_error(
            br#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
        );
        assert!(is_quota_exhausted(429, openai_quota.as_ref()));
        let openai_rate = parse_error(
            br#"{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
        );
        assert!(!is_quota_exhausted(429, openai_rate.as_ref()));
        let anthropic_credit = parse_error(
            br#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}"#,
        );
        assert!(is_quota_exhausted(400, anthropic_credit.as_ref()));
        let anthropic_billing = parse_error(
            br#"{"type":"error","error":{"type":"billing_error","message":"There is an issue with billing"}}"#,
        );
        assert!(is_quota_exhausted(403, anthropic_billing.as_ref()));
        let anthropic_rate = parse_error(
            br#"{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit."}}"#,
        );
        assert!(!is_quota_exhausted(429, anthropic_rate.as_ref()));
        assert!(is_quota_exhausted(402, None));
        assert!(!is_quota_exhausted(429, None));
        let bad_request =
            parse_error(br#"{"error":{"message":"max_tokens is too large","type":"invalid_request_error"}}"#);
        assert!(!is_quota_exhausted(400, bad_request.as_ref()));
    }
}
