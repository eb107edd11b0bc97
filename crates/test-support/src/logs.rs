//! Every log line of the process, kept in memory, for tests that check no
//! secret ever reaches a log.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

/// What `tracing` (and `log`, through its bridge) wrote since [`CapturedLogs::install`].
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Installs a process-wide subscriber at TRACE that writes here.
    ///
    /// Process-wide on purpose: `tracing` caches per callsite, for the whole
    /// process, whether any subscriber listens, and with a thread-local one a
    /// sibling test that reaches a callsite first from another thread turns
    /// that callsite off for everyone. Only one test per binary may call this.
    ///
    /// # Panics
    /// If the binary already has a global subscriber.
    pub fn install() -> Self {
        let captured = Self::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .unwrap_or_else(|e| panic!("only one test per binary may install the log capture: {e}"));
        // A callsite another test thread reached between the subscriber's
        // creation and its installation cached "nobody listens"; ask again.
        tracing::callsite::rebuild_interest_cache();
        captured
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
