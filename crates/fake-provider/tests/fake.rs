//! The fake provider's own contract: wire shapes, scripting and recording.

// Tests may unwrap, helpers included (clippy's allow-unwrap-in-tests covers only #[test] fns).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use fake_provider::{Behaviour, FakeConfig, FakeProvider};
use serde_json::{Value, json};

async fn post(url: String, headers: &[(&str, &str)], body: Value) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(url).json(&body);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn records_headers_and_bodies() {
    let fake = FakeProvider::start(FakeConfig::default()).await.unwrap();
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    let response = post(
        format!("{}/v1/chat/completions", fake.base_url()),
        &[("authorization", "Bearer sk-recorded")],
        body.clone(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["object"], "chat.completion");
    assert_eq!(answer["choices"][0]["message"]["content"], "Hello from the fake provider.");

    let recorded = fake.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].bearer_token(), Some("sk-recorded"));
    assert_eq!(recorded[0].header("Authorization"), Some("Bearer sk-recorded"));
    assert_eq!(recorded[0].json(), Some(body));
}

#[tokio::test]
async fn expected_key_is_enforced_in_each_wire_format() {
    let fake =
        FakeProvider::start(FakeConfig { expected_key: Some("right".into()), ..FakeConfig::default() }).await.unwrap();
    let body = json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]});
    let openai =
        post(format!("{}/v1/chat/completions", fake.base_url()), &[("authorization", "Bearer wrong")], body.clone())
            .await;
    assert_eq!(openai.status(), 401);
    let error: Value = openai.json().await.unwrap();
    assert_eq!(error["error"]["code"], "invalid_api_key");

    let anthropic = post(
        format!("{}/v1/messages", fake.base_url()),
        &[("x-api-key", "wrong"), ("anthropic-version", "2023-06-01")],
        body.clone(),
    )
    .await;
    assert_eq!(anthropic.status(), 401);
    let error: Value = anthropic.json().await.unwrap();
    assert_eq!(error["error"]["type"], "authentication_error");

    let ok = post(
        format!("{}/v1/messages", fake.base_url()),
        &[("x-api-key", "right"), ("anthropic-version", "2023-06-01")],
        body,
    )
    .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn anthropic_requires_the_version_header() {
    let fake = FakeProvider::start(FakeConfig::default()).await.unwrap();
    let response = post(
        format!("{}/v1/messages", fake.base_url()),
        &[("x-api-key", "k")],
        json!({"model": "m", "max_tokens": 5, "messages": []}),
    )
    .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn prompt_directives_script_failures() {
    let fake = FakeProvider::start(FakeConfig::default()).await.unwrap();
    let ask = |prompt: &str| json!({"model": "m", "messages": [{"role": "user", "content": prompt}]});
    let url = format!("{}/v1/chat/completions", fake.base_url());

    let limited = post(url.clone(), &[], ask("go [fake:429:2]")).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "2");
    assert_eq!(post(url.clone(), &[], ask("[fake:503]")).await.status(), 503);
    assert_eq!(post(url.clone(), &[], ask("[fake:404]")).await.status(), 404);
    let missing = post(url.clone(), &[], json!({"model": "no-such-model", "messages": []})).await;
    assert_eq!(missing.status(), 404);
    let error: Value = missing.json().await.unwrap();
    assert_eq!(error["error"]["code"], "model_not_found");
}

#[tokio::test]
async fn streams_use_the_documented_event_shapes() {
    let fake = FakeProvider::start(FakeConfig::default()).await.unwrap();
    let openai = post(
        format!("{}/v1/chat/completions", fake.base_url()),
        &[],
        json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(openai.headers()["content-type"], "text/event-stream");
    let text = openai.text().await.unwrap();
    assert!(text.contains("\"object\":\"chat.completion.chunk\""), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");

    let anthropic = post(
        format!("{}/v1/messages", fake.base_url()),
        &[("anthropic-version", "2023-06-01")],
        json!({"model": "m", "stream": true, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    let text = anthropic.text().await.unwrap();
    let names: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert!(names.contains(&"content_block_delta"));
    assert_eq!(names.last(), Some(&"message_stop"));
}

#[tokio::test]
async fn queue_comes_before_directives_and_runs_in_order() {
    let fake = FakeProvider::start(FakeConfig::default()).await.unwrap();
    fake.push(Behaviour::ServerError { status: 502 });
    fake.push(Behaviour::Answer { text: Some("scripted".into()) });
    let url = format!("{}/v1/chat/completions", fake.base_url());
    let ask = json!({"model": "m", "messages": [{"role": "user", "content": "[fake:401]"}]});
    assert_eq!(post(url.clone(), &[], ask.clone()).await.status(), 502);
    let second: Value = post(url.clone(), &[], ask.clone()).await.json().await.unwrap();
    assert_eq!(second["choices"][0]["message"]["content"], "scripted");
    assert_eq!(post(url, &[], ask).await.status(), 401, "queue empty: the directive applies");
}

/// Kills the child process even when an assertion fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_serves_and_is_scriptable_over_http() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_fake-provider"))
            .args(["--listen", "127.0.0.1:0", "--reply", "from the binary"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    // Reading the announcement line is the readiness signal; bounded by the
    // process printing it or exiting.
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    });
    let line = tokio::time::timeout(Duration::from_secs(30), line).await.unwrap().unwrap();
    let base = line.trim().strip_prefix("listening on ").unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");

    let client = reqwest::Client::new();
    let pushed =
        client.post(format!("{base}/_fake/behaviours")).json(&Behaviour::rate_limited_for(7)).send().await.unwrap();
    assert_eq!(pushed.status(), 204);
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let limited =
        post(format!("{base}/v1/chat/completions"), &[("authorization", "Bearer sk-bin")], body.clone()).await;
    assert_eq!(limited.headers()["retry-after"], "7");
    let answer: Value = post(format!("{base}/v1/chat/completions"), &[], body).await.json().await.unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], "from the binary");

    let recorded: Value = client.get(format!("{base}/_fake/requests")).send().await.unwrap().json().await.unwrap();
    assert_eq!(recorded.as_array().unwrap().len(), 2);
    assert_eq!(
        recorded[0]["headers"].as_array().unwrap().iter().find(|h| h[0] == "authorization").unwrap()[1],
        "Bearer sk-bin"
    );
}

#[test]
fn binary_refuses_non_loopback_addresses() {
    let out = Command::new(env!("CARGO_BIN_EXE_fake-provider")).args(["--listen", "0.0.0.0:0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
