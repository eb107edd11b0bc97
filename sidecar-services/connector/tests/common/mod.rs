//! What the connector's test binaries share: the fake provider, presets
//! pointed at it, and calls through the router.
#![allow(dead_code)] // each test binary uses its own subset

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use connector::{AppState, Config, ServerKeys};
use fake_provider::{FakeConfig, FakeProvider};
use http_body_util::BodyExt;
use providers::{ProviderConfig, RetryPolicy};
use serde_json::Value;
use tower::ServiceExt;

pub const OPENAI_KEY: &str = "sk-openai-test-0123456789abcdef";
pub const ANTHROPIC_KEY: &str = "sk-ant-test-0123456789abcdef";

pub async fn fake(expected_key: &str) -> FakeProvider {
    FakeProvider::start(FakeConfig {
        expected_key: Some(expected_key.to_owned()),
        reply: "Paris.".to_owned(),
        ..FakeConfig::default()
    })
    .await
    .unwrap()
}

/// A built-in preset pointed at `fake`, with waits short enough for tests.
pub fn preset(id: &str, fake: &FakeProvider) -> ProviderConfig {
    let mut config = ProviderConfig::builtin(id).unwrap().with_base_url(fake.base_url());
    config.retry = RetryPolicy::new(2, Duration::from_millis(10));
    config.request_timeout = Duration::from_secs(10);
    config
}

pub fn env(vars: &[(&str, &str)]) -> connector::EnvLookup {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Arc::new(move |name| map.get(name).cloned())
}

pub fn service(providers: Vec<ProviderConfig>, keys: ServerKeys) -> Router {
    connector::app(AppState::new(Config::new(providers), keys).unwrap())
}

pub async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), text)
}

pub async fn complete(app: &Router, body: Value) -> (StatusCode, Value, String) {
    let request = Request::post("/v1/complete")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(app, request).await
}
