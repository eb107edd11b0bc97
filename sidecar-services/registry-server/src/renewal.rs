//! Re-signing the snapshot before it expires, so a registry nobody
//! publishes to never goes stale.
//!
//! Every [`Config::snapshot_check_interval`](crate::Config) (and once at
//! start) the server loads the current snapshot; when it expires within
//! [`Config::snapshot_renew_window`](crate::Config::snapshot_renew_window),
//! it signs a successor (same contents, version + 1, a new expiry) through
//! [`Publisher::renew_if_due`](crate::Publisher::renew_if_due), the
//! compare-and-swap path publishes use. Replicas need no coordination: when
//! two renew at once, one conditional write wins and the other reloads a
//! snapshot that is no longer due.
//!
//! The root cannot be renewed here (that needs the root key, which stays
//! offline), so the task warns, at most once a day, when the root expires
//! within [`ROOT_EXPIRY_WARNING`](registry::author::documents::ROOT_EXPIRY_WARNING).

use std::time::{Duration, Instant};

use jiff::Timestamp;
use registry::author::documents;

use crate::AppState;

/// How often the root-expiry warning may repeat.
const ROOT_WARNING_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Checks forever; the caller aborts the task at shutdown. Does nothing
/// when the check interval is zero.
pub(crate) async fn run(state: AppState) {
    let interval = state.inner.config.snapshot_check_interval;
    if interval.is_zero() {
        tracing::info!("snapshot renewal is off (check interval 0)");
        return;
    }
    let window = state.inner.config.snapshot_renew_window();
    tracing::info!(?interval, ?window, "renewing the snapshot when it expires within the window");
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut root_warned: Option<Instant> = None;
    loop {
        ticker.tick().await;
        let outcome = state.inner.publisher.renew_if_due(window).await;
        match outcome {
            Ok(check) => {
                if check.renewed.is_some() {
                    state.inner.tree_cache.forget_documents();
                    state.inner.operations.with_label_values(&["renew", "ok"]).inc();
                }
                let now = Timestamp::now();
                let warned_lately = root_warned.is_some_and(|at| at.elapsed() < ROOT_WARNING_EVERY);
                if !warned_lately && documents::expires_within(check.root_expires, now, documents::ROOT_EXPIRY_WARNING)
                {
                    tracing::warn!(
                        root_expires = %check.root_expires,
                        "root.json expires soon and the server cannot renew it (that needs the root key): run \
                         `augment registry rotate-root DIR --key ROOT.key` where the root key is kept, or every \
                         client will refuse the registry after that date"
                    );
                    root_warned = Some(Instant::now());
                }
            }
            Err(err) => {
                state.inner.operations.with_label_values(&["renew", "error"]).inc();
                tracing::warn!(error = %err, ?interval, "could not renew the snapshot; trying again at the next check");
            }
        }
    }
}
