//! No key reaches the connector's logs, even at TRACE.
//!
//! A binary of its own, so that its process-wide log capture sees only this
//! test (see [`CapturedLogs::install`] for why it must be process-wide).
#![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

mod common;

use axum::http::StatusCode;
use connector::ServerKeys;
use serde_json::json;
use test_support::CapturedLogs;

use common::{OPENAI_KEY, complete, env, fake, preset, service};

#[tokio::test]
async fn keys_never_reach_the_logs_even_at_trace_level() {
    let captured = CapturedLogs::install();

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

    let logs = captured.text();
    assert!(logs.contains("completed"), "the capture works: {logs}");
    assert!(!logs.contains(OPENAI_KEY), "{logs}");
    assert!(!logs.contains("sk-ant-wrong"), "{logs}");
}
