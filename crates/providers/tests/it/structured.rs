//! Structured output over the wire (issue 17, point 5): a request's schema
//! reaches the fake provider in each provider's own format, and the answer
//! comes back as the JSON text that fits it.

use fake_provider::{FakeConfig, FakeProvider};
use providers::{CallOptions, ChatRequest, Keyless, ProviderConfig, ProviderKind};
use serde_json::{Value, json};

use crate::common::{client, client_with, config, fake};

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {"label": {"type": "string"}, "score": {"type": "integer", "minimum": 0, "maximum": 10}},
        "required": ["label", "score"],
        "additionalProperties": false
    })
}

fn request() -> ChatRequest {
    ChatRequest::new("gpt-4o-mini", "Rate this review: lovely").with_schema(Some(schema()))
}

fn fits(text: &str) -> Value {
    let answer: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert!(answer["label"].is_string(), "{answer}");
    let score = answer["score"].as_i64().unwrap();
    assert!((0..=10).contains(&score), "{answer}");
    answer
}

#[tokio::test]
async fn openai_sends_the_schema_as_strict_json_schema_and_reads_json_back() {
    let fake = fake().await;
    let answer = client(ProviderConfig::openai(), &fake).chat(&request(), &CallOptions::new()).await.unwrap();
    fits(&answer.text);
    let body = fake.requests()[0].json().unwrap();
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["schema"], schema());
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    assert!(body["response_format"]["json_schema"]["name"].is_string());
}

#[tokio::test]
async fn anthropic_forces_a_tool_whose_input_is_the_answer() {
    let fake = fake().await;
    let request = ChatRequest::new("claude-3-5-haiku-latest", "Rate this review: lovely").with_schema(Some(schema()));
    let answer = client(ProviderConfig::anthropic(), &fake).chat(&request, &CallOptions::new()).await.unwrap();
    fits(&answer.text);
    assert_eq!(answer.finish_reason.as_deref(), Some("tool_use"));
    let body = fake.requests()[0].json().unwrap();
    assert_eq!(body["tools"][0]["input_schema"], schema());
    let tool = body["tools"][0]["name"].clone();
    assert_eq!(body["tool_choice"], json!({"type": "tool", "name": tool}));
    assert!(body.get("response_format").is_none());
}

#[tokio::test]
async fn an_openai_compatible_local_server_gets_json_schema_too() {
    // A local server without a key, as Ollama runs.
    let fake = FakeProvider::start(FakeConfig::default()).await.unwrap();
    let ollama = ProviderConfig::custom("my-ollama", ProviderKind::Ollama, Some(&fake.base_url())).unwrap();
    let answer = client_with(config(ollama, &fake), Keyless).chat(&request(), &CallOptions::new()).await.unwrap();
    fits(&answer.text);
    let body = fake.requests()[0].json().unwrap();
    assert_eq!(body["response_format"]["json_schema"]["schema"], schema());
}

#[tokio::test]
async fn a_request_without_a_schema_sends_none() {
    let fake = fake().await;
    let answer = client(ProviderConfig::openai(), &fake)
        .chat(&ChatRequest::new("gpt-4o-mini", "hello"), &CallOptions::new())
        .await
        .unwrap();
    assert_eq!(answer.text, "Hello from the fake provider.");
    assert!(fake.requests()[0].json().unwrap().get("response_format").is_none());
}
