//! No key reaches the connector's logs, even at TRACE.
//!
//! A binary of its own, with one test and a global subscriber, because
//! `tracing` caches per callsite, process-wide, whether anyone listens: with
//! a thread-local subscriber, a sibling test that reaches a callsite first
//! from a thread without one turns it off for this test too (CI saw the
//! "completed" line vanish that way; tokio-rs/tracing `Rebuilder::JustOne`).
#![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use connector::ServerKeys;
use serde_json::json;

use common::{OPENAI_KEY, complete, env, fake, preset, service};

/// A `tracing` writer that keeps everything in memory.
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

#[tokio::test]
async fn keys_never_reach_the_logs_even_at_trace_level() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only test in this binary installs the only subscriber");

    let openai = fake(OPENAI_KEY).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("anthropic"), "sk-ant-wrong-key-00000000").unwrap();
    let keys = ServerKeys::with_lookup(Some(dir.path().to_owned()), env(&[("AUGMENT_OPENAI_API_KEY", OPENAI_KEY)]));
    let app = service(vec![preset("openai", &openai), preset("anthropic", &openai)], keys);
    let (ok, _, _) = complete(&app, json!({ "provider": "openai", "model": "gpt-4o-mini", "prompt": "hi" })).await;
    assert_eq!(ok, StatusCode::OK);
    let (rejected, _, text) =
        complete(&app, json!({ "provider": "anthropic", "model": "claude-3-5-haiku-latest", "prompt": "hi" })).await;
    assert_eq!(rejected, StatusCode::BAD_GATEWAY, "the fake only accepts the OpenAI key");
    assert!(!text.contains("sk-ant-wrong"), "{text}");

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(logs.contains("completed"), "the capture works: {logs}");
    assert!(!logs.contains(OPENAI_KEY), "{logs}");
    assert!(!logs.contains("sk-ant-wrong"), "{logs}");
}
