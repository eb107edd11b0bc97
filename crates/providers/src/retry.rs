use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::HeaderMap;

use crate::RetryPolicy;

/// What the provider asked us to wait: `retry-after-ms` (OpenAI sends it) or
/// `Retry-After` as seconds or an HTTP date. A date in the past means "now".
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

impl RetryPolicy {
    /// How long to wait before attempt `failed_attempt + 1`.
    ///
    /// With a `Retry-After`, that long plus a little jitter (never less, the
    /// provider would only refuse again). Without, exponential backoff with
    /// "equal jitter" (half fixed, half random) so that many clients that failed
    /// together do not all come back at the same instant.
    pub(crate) fn delay(&self, failed_attempt: u32, retry_after: Option<Duration>) -> Duration {
        let mut rng = rand::thread_rng();
        if let Some(wait) = retry_after {
            let spread = (wait / 10).min(Duration::from_millis(500));
            return wait + spread.mul_f64(rng.gen_range(0.0..=1.0));
        }
        let exponent = failed_attempt.saturating_sub(1).min(16);
        let ceiling = self.base_delay.saturating_mul(1 << exponent).min(self.max_delay);
        ceiling / 2 + (ceiling / 2).mul_f64(rng.gen_range(0.0..=1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_headers::headers;

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after(&headers(&[("retry-after", "12")]), now), Some(Duration::from_secs(12)));
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "250"), ("retry-after", "1")]), now),
            Some(Duration::from_millis(250))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(retry_after(&headers(&[("retry-after", &date)]), now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(retry_after(&headers(&[("retry-after", &past)]), now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_never_undercuts_retry_after() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(60),
        };
        for _ in 0..100 {
            let first = policy.delay(1, None);
            assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first), "{first:?}");
            let third = policy.delay(3, None);
            assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&third), "{third:?}");
            assert!(policy.delay(30, None) <= Duration::from_millis(1000));
            let honoured = policy.delay(1, Some(Duration::from_secs(2)));
            assert!((Duration::from_secs(2)..=Duration::from_millis(2200)).contains(&honoured), "{honoured:?}");
        }
    }
}
