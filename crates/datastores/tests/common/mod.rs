//! What the connector tests share: checks on the requests a fake recorded.

#![allow(dead_code)] // each test file uses part of it

use std::time::Duration;

use fake_datastores::Request;

/// After every 429 the fake sent, the next request came at least `wait`
/// (less a little for timer granularity) later: `Retry-After` was honoured.
pub fn assert_retry_after_honoured(log: &[Request], wait: Duration) {
    let limited: Vec<usize> = (0..log.len()).filter(|&i| log[i].status == 429).collect();
    assert!(!limited.is_empty(), "the fake rate-limited at least once: {log:?}");
    for i in limited {
        if let Some(next) = log.get(i + 1) {
            let gap = next.at - log[i].at;
            assert!(
                gap >= wait - Duration::from_millis(50),
                "request {} came {gap:?} after a 429 asking {wait:?}",
                i + 1
            );
        }
    }
}
