//! What the connector tests share: a log capture (to show no secret is logged)
//! and checks on the requests a fake recorded.

#![allow(dead_code)] // each test file uses part of it

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_datastores::Request;

/// Every log line written while the returned guard lives (this thread's
/// subscriber; `#[tokio::test]` runs on the test's thread).
pub fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

#[derive(Debug, Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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
