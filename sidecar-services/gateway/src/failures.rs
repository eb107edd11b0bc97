//! Refused tokens per client address (issue 18): the auth service's
//! `verify` is not cached for refusals, so without this a flood of made-up
//! tokens would reach it unthrottled. Each address may have
//! [`FailureLimit::failures`] tokens refused, refilled one per
//! `window / failures`; past that the gateway answers 429 without asking.
//!
//! Hand-written GCRA rather than governor: only *refusals* count, so the
//! check before asking must not take from the allowance, and governor has
//! no check that does not. In memory, per gateway: with N replicas a flood
//! reaches the auth service at most N × `failures` times per window, which
//! is what this guards against (load on `verify`); the 256-bit tokens are
//! not guessable whatever the rate.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Refused tokens allowed per client address and the window they refill over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimit {
    pub failures: NonZeroU32,
    pub window: Duration,
}

impl Default for FailureLimit {
    /// 20 refusals per minute: a person mistyping or a script with an
    /// expired token is never held up for long.
    fn default() -> Self {
        FailureLimit { failures: NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN), window: Duration::from_secs(60) }
    }
}

/// Addresses not refused for this long are forgotten when the table is swept.
const SWEEP_ABOVE: usize = 4096;

#[derive(Debug)]
pub(crate) struct FailureLimiter {
    /// One refusal's share of the window.
    interval: Duration,
    /// How far ahead of now the theoretical arrival time may be before a
    /// client is held: (failures − 1) intervals.
    tolerance: Duration,
    /// Per address, the theoretical arrival time (GCRA's TAT).
    ahead: Mutex<HashMap<IpAddr, Instant>>,
}

impl FailureLimiter {
    pub(crate) fn new(limit: FailureLimit) -> Self {
        let interval = (limit.window / limit.failures.get()).max(Duration::from_millis(1));
        FailureLimiter { interval, tolerance: interval * (limit.failures.get() - 1), ahead: Mutex::default() }
    }

    /// `Ok` while `client` may still have a token refused; else how long until it may.
    pub(crate) fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let ahead = self.ahead.lock().unwrap_or_else(PoisonError::into_inner);
        match ahead.get(&client) {
            Some(tat) if tat.saturating_duration_since(now) > self.tolerance => {
                Err(tat.saturating_duration_since(now) - self.tolerance)
            }
            _ => Ok(()),
        }
    }

    /// `client` had a token refused.
    pub(crate) fn record(&self, client: IpAddr) {
        let now = Instant::now();
        let mut ahead = self.ahead.lock().unwrap_or_else(PoisonError::into_inner);
        if ahead.len() >= SWEEP_ABOVE {
            ahead.retain(|_, tat| *tat > now);
        }
        let tat = ahead.entry(client).or_insert(now);
        *tat = (*tat).max(now) + self.interval;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_refusals_count_and_the_nth_holds_the_address() {
        let limit =
            FailureLimit { failures: NonZeroU32::new(3).unwrap_or(NonZeroU32::MIN), window: Duration::from_secs(300) };
        let limiter = FailureLimiter::new(limit);
        let (one, other): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        for _ in 0..10 {
            assert!(limiter.check(one).is_ok(), "checking takes nothing");
        }
        for n in 1..=3 {
            assert!(limiter.check(one).is_ok(), "before refusal {n}");
            limiter.record(one);
        }
        let wait = limiter.check(one).expect_err("held after three refusals");
        assert!(wait > Duration::from_secs(90) && wait <= Duration::from_secs(100), "one interval: {wait:?}");
        assert!(limiter.check(other).is_ok(), "another address is not held");
    }
}
