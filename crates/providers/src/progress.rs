use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Something a caller may want to show while a call is waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// The provider said 429 or 5xx; the call will be retried after `delay`.
    Retrying {
        /// The provider id.
        provider: String,
        /// Why.
        reason: RetryReason,
        /// How long until the next attempt.
        delay: Duration,
        /// The attempt about to be made (2 for the first retry).
        next_attempt: u32,
        /// The most attempts that will be made.
        max_attempts: u32,
    },
    /// The provider said no requests are left in its current window
    /// (rate-limit headers); the call waits for the window to reset.
    WaitingForReset {
        /// The provider id.
        provider: String,
        /// How long until the window resets.
        delay: Duration,
    },
    /// This app's own per-provider request rate limit is holding the call back.
    Throttled {
        /// The provider id.
        provider: String,
        /// How long until the call may go.
        delay: Duration,
    },
}

/// Why a call is being retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryReason {
    /// HTTP 429.
    RateLimited,
    /// An HTTP 5xx status.
    ServerError {
        /// The status received.
        status: u16,
    },
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Progress::Retrying { provider, reason, delay, next_attempt, max_attempts } => {
                match reason {
                    RetryReason::RateLimited => write!(f, "{provider}: rate limited")?,
                    RetryReason::ServerError { status } => write!(f, "{provider}: HTTP {status}")?,
                }
                write!(f, ", retrying in {} (attempt {next_attempt} of {max_attempts})", human_duration(*delay))
            }
            Progress::WaitingForReset { provider, delay } => {
                write!(f, "{provider}: waiting {} for the rate limit to reset", human_duration(*delay))
            }
            Progress::Throttled { provider, delay } => {
                write!(f, "{provider}: waiting {} for the request rate limit", human_duration(*delay))
            }
        }
    }
}

/// Whole seconds ("12 s"), or tenths rounded up below one second ("0.3 s",
/// never "0 s"). Whole seconds are rounded to the nearest so that the jitter
/// added to a `Retry-After: 12` still reads "12 s".
pub(crate) fn human_duration(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{} s", (d.as_millis() + 500) / 1000)
    } else {
        format!("{:.1} s", (d.as_millis().div_ceil(100) as f64) / 10.0)
    }
}

/// Receives [`Progress`] events; called on the task making the request, so it
/// should return quickly (send to a channel, emit a UI event).
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Per-call options: cancellation and progress reporting.
#[derive(Clone, Default)]
pub struct CallOptions {
    pub(crate) cancel: CancellationToken,
    pub(crate) on_progress: Option<ProgressFn>,
}

impl fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallOptions")
            .field("cancelled", &self.cancel.is_cancelled())
            .field("on_progress", &self.on_progress.is_some())
            .finish()
    }
}

impl CallOptions {
    /// No cancellation, no progress reports.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancelling `token` stops the call promptly: a request in flight is
    /// dropped (its connection closed), a retry wait ends, a stream ends with
    /// [`Error::Cancelled`](crate::Error::Cancelled).
    pub fn cancel_with(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// Calls `f` with each [`Progress`] event, e.g. to show "retrying in 12 s".
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(Arc::new(f));
        self
    }

    pub(crate) fn report(&self, progress: Progress) {
        if let Some(f) = &self.on_progress {
            f(&progress);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_up() {
        assert_eq!(human_duration(Duration::from_secs(12)), "12 s");
        assert_eq!(human_duration(Duration::from_millis(12_400)), "12 s");
        assert_eq!(human_duration(Duration::from_millis(11_600)), "12 s");
        assert_eq!(human_duration(Duration::from_millis(250)), "0.3 s");
        assert_eq!(human_duration(Duration::from_millis(1000)), "1 s");
    }

    #[test]
    fn wait_messages_read_well() {
        let p = Progress::WaitingForReset { provider: "openai".into(), delay: Duration::from_secs(3) };
        assert_eq!(p.to_string(), "openai: waiting 3 s for the rate limit to reset");
    }

    #[test]
    fn retry_messages_read_well() {
        let p = Progress::Retrying {
            provider: "openai".into(),
            reason: RetryReason::RateLimited,
            delay: Duration::from_secs(12),
            next_attempt: 2,
            max_attempts: 4,
        };
        assert_eq!(p.to_string(), "openai: rate limited, retrying in 12 s (attempt 2 of 4)");
        let p = Progress::Retrying {
            provider: "groq".into(),
            reason: RetryReason::ServerError { status: 503 },
            delay: Duration::from_millis(400),
            next_attempt: 3,
            max_attempts: 4,
        };
        assert_eq!(p.to_string(), "groq: HTTP 503, retrying in 0.4 s (attempt 3 of 4)");
    }
}
