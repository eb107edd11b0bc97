//! Ctrl-C as a cancellation: long commands (a crawl, an extraction, a
//! streamed answer) stop cleanly at their next step instead of being killed.

use tokio_util::sync::CancellationToken;

/// A token cancelled by the first Ctrl-C while this lives; the listener
/// stops when it is dropped, so a later Ctrl-C ends the process as usual.
#[derive(Debug)]
pub struct CtrlC {
    pub token: CancellationToken,
    listener: tokio::task::JoinHandle<()>,
}

impl CtrlC {
    pub fn listen() -> Self {
        let token = CancellationToken::new();
        let on_interrupt = token.clone();
        let listener = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_interrupt.cancel();
            }
        });
        Self { token, listener }
    }
}

impl Drop for CtrlC {
    fn drop(&mut self) {
        self.listener.abort();
    }
}
