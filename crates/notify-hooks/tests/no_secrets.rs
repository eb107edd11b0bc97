//! A webhook URL (Slack's and Teams' carry their token) and a signing
//! secret never reach a log line (every crate's, at TRACE), a delivery log
//! row, or the delivery outcome a command replies with: deliveries that
//! succeed, are retried, are refused and cannot connect are all checked.
//! Its own test binary, because it installs the process's global subscriber.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify_hooks::{DeliveryLog, Event, EventKind, Preset, RetryPolicy, StoreLog, Target};
use secrets::Secret;
use support::Receiver;

const TOKEN: &str = "XOXB-TOKEN-IN-THE-URL-7f3a";
const SECRET: &str = "whsec-SIGNING-SECRET-91bd";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_url_and_secret_appear_in_no_log_row_or_reply() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Mutex::new(local_data::Store::open(dir.path().join("local.db")).unwrap()));
    let log: Arc<dyn DeliveryLog> = Arc::new(StoreLog::new(store.clone()));
    let policy = RetryPolicy { max_attempts: 2, base_delay: Duration::from_millis(5), ..RetryPolicy::default() };
    let client = notify_hooks::client(&policy).unwrap();
    let event = Event::new(EventKind::RunFinished, "done", serde_json::json!({ "runId": 1 }));

    let receiver = Receiver::start(SECRET).await;
    receiver.script(&[(500, None), (200, None), (404, None)]);
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);

    let mut replies = Vec::new();
    for (base, preset) in [(&receiver.url, Preset::Slack), (&receiver.url, Preset::Generic), (&dead, Preset::Teams)] {
        let url = format!("{base}/services/T0/B0/{TOKEN}?token={TOKEN}");
        let target = Target::new(1, "team", preset, Secret::new(url), Some(Secret::new(SECRET))).unwrap();
        assert!(!format!("{target:?}").contains(TOKEN), "Target's Debug hides the URL");
        let delivery = notify_hooks::deliver(&client, &policy, &target, &event, &log).await;
        replies.push(serde_json::to_string(&delivery).unwrap());
    }
    // The receiver did get the URL: the check below is not vacuous.
    assert!(receiver.received()[0].path_and_query.contains(TOKEN));

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("webhook attempt"), "the attempts were logged at all:\n{logs}");
    let rows = store.lock().unwrap().hook_deliveries(None, 100).unwrap();
    assert_eq!(rows.len(), 5, "{rows:?}");
    let rows = serde_json::to_string(&rows).unwrap();
    for (what, text) in [("logs", &logs), ("log rows", &rows), ("replies", &replies.join("\n"))] {
        for secret in [TOKEN, SECRET, "/services/"] {
            assert!(!text.contains(secret), "{secret} appears in the {what}:\n{text}");
        }
    }
}
