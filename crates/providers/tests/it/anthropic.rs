use futures_util::StreamExt;
use providers::{CallOptions, ChatRequest, Message, ProviderConfig, StreamEvent, Usage};

use crate::common::{KEY, client, fake};

#[tokio::test]
async fn messages_sends_x_api_key_and_version() {
    let fake = fake().await;
    let client = client(ProviderConfig::anthropic(), &fake);
    let request = ChatRequest::with_messages(
        "claude-3-5-haiku-latest",
        vec![Message::system("be brief"), Message::user("hello")],
    );
    let answer = client.chat(&request, &CallOptions::new()).await.unwrap();
    assert_eq!(answer.text, "Hello from the fake provider.");
    assert_eq!(answer.finish_reason.as_deref(), Some("end_turn"));

    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.api_key(), Some(KEY), "the key arrived in x-api-key");
    assert_eq!(sent.header("authorization"), None, "and nowhere else");
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    let body = sent.json().unwrap();
    assert_eq!(body["system"], "be brief");
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    assert!(body["max_tokens"].as_u64().unwrap() > 0, "Anthropic requires max_tokens");
}

#[tokio::test]
async fn messages_stream_yields_deltas_then_done_with_usage() {
    let fake = fake().await;
    let client = client(ProviderConfig::anthropic(), &fake);
    let mut stream = client
        .chat_stream(&ChatRequest::new("claude-3-5-haiku-latest", "hello there"), &CallOptions::new())
        .await
        .unwrap();
    let mut text = String::new();
    let mut pieces = 0;
    let mut done = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            StreamEvent::Delta { text: t } => {
                pieces += 1;
                text.push_str(&t);
            }
            StreamEvent::Done { finish_reason, usage } => done = Some((finish_reason, usage)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(pieces > 1);
    assert_eq!(text, "Hello from the fake provider.");
    let (reason, usage) = done.expect("message_stop ends the stream with Done");
    assert_eq!(reason.as_deref(), Some("end_turn"));
    assert_eq!(usage, Some(Usage { input_tokens: Some(2), output_tokens: Some(5) }));
}

#[tokio::test]
async fn list_models_reads_the_anthropic_list() {
    let fake = fake().await;
    let client = client(ProviderConfig::anthropic(), &fake);
    let models = client.list_models(&CallOptions::new()).await.unwrap();
    assert!(models.iter().any(|m| m.id == "claude-3-5-haiku-latest"));
    assert!(models.iter().all(|m| m.display_name.is_some()), "{models:?}");
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/models");
    assert_eq!(sent.query.as_deref(), Some("limit=1000"), "one page holds the whole list");
    assert_eq!(sent.api_key(), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
}
