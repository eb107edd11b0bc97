use futures_util::StreamExt;
use providers::{CallOptions, ChatRequest, Keyless, Message, ProviderConfig, ProviderKind, StreamEvent};

use crate::common::{KEY, client, client_with, config, fake};

#[tokio::test]
async fn chat_sends_bearer_key_and_reads_the_answer() {
    let fake = fake().await;
    let client = client(ProviderConfig::openai(), &fake);
    let request = ChatRequest::with_messages("gpt-4o-mini", vec![Message::system("be brief"), Message::user("hello")]);
    let answer = client.chat(&request, &CallOptions::new()).await.unwrap();

    assert_eq!(answer.text, "Hello from the fake provider.");
    assert_eq!(answer.model, "gpt-4o-mini");
    assert_eq!(answer.finish_reason.as_deref(), Some("stop"));
    assert!(answer.usage.unwrap().output_tokens.unwrap() > 0);

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.bearer_token(), Some(KEY), "the key arrived as a Bearer token");
    assert_eq!(sent.api_key(), None);
    let body = sent.json().unwrap();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["stream"], false);
    assert_eq!(body["messages"][0]["role"], "system");
    assert!(!fake.requests()[0].path.contains(KEY), "keys never go in URLs");
}

#[tokio::test]
async fn chat_stream_yields_deltas_then_done() {
    let fake = fake().await;
    let client = client(ProviderConfig::openai(), &fake);
    let mut stream = client.chat_stream(&ChatRequest::new("gpt-4o-mini", "hello"), &CallOptions::new()).await.unwrap();

    let mut deltas = Vec::new();
    let mut done = None;
    while let Some(event) = stream.next().await {
        match event.unwrap() {
            StreamEvent::Delta { text } => deltas.push(text),
            StreamEvent::Done { finish_reason, .. } => done = Some(finish_reason),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(deltas.len() > 1, "the answer arrived in pieces: {deltas:?}");
    assert_eq!(deltas.concat(), "Hello from the fake provider.");
    assert_eq!(done, Some(Some("stop".to_owned())), "ended with [DONE]");
    assert_eq!(fake.requests()[0].json().unwrap()["stream"], true);
}

#[tokio::test]
async fn groq_base_url_with_a_path_is_kept() {
    let fake = fake().await;
    let config = config(ProviderConfig::groq(), &fake).with_base_url(format!("{}/openai", fake.base_url()));
    let client = client_with(config, providers::StaticKey::new(secrets::Secret::new(KEY)));
    let text = client
        .chat_stream(&ChatRequest::new("llama-3.1-8b-instant", "hi"), &CallOptions::new())
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap();
    assert_eq!(text, "Hello from the fake provider.");
    assert_eq!(fake.requests()[0].path, "/openai/v1/chat/completions");
}

#[tokio::test]
async fn openai_compatible_server_without_a_key_gets_no_authorization_header() {
    let fake = fake_provider::FakeProvider::start(fake_provider::FakeConfig::default()).await.unwrap();
    let config = config(ProviderConfig::openai_compatible("ollama", &fake.base_url()), &fake);
    let client = client_with(config, Keyless);
    let answer = client.chat(&ChatRequest::new("llama3", "hi"), &CallOptions::new()).await.unwrap();
    assert_eq!(answer.text, "Hello from the fake provider.");
    assert_eq!(fake.requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn list_models_reads_the_openai_list() {
    let fake = fake().await;
    let client = client(ProviderConfig::openai(), &fake);
    let models = client.list_models(&CallOptions::new()).await.unwrap();
    let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    assert!(ids.contains(&"gpt-4o-mini"), "{ids:?}");
    assert_eq!(models[0].owned_by.as_deref(), Some("fake-provider"));
    let sent = &fake.requests()[0];
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("GET", "/v1/models"));
    assert_eq!(sent.bearer_token(), Some(KEY));
}

/// A machine without an OS keychain (CI, a container), as a key source sees it.
struct NoKeychain;

impl providers::KeySource for NoKeychain {
    fn key<'a>(&'a self, provider: &'a str) -> providers::KeyFuture<'a> {
        let err = secrets::Error::NoKeychain {
            reason: "no D-Bus session".to_owned(),
            hint: "start a Secret Service",
            env_var: secrets::env_var_name(provider),
        };
        Box::pin(std::future::ready(Err(err.into())))
    }
}

/// Issue 17, point 7: a local server the person added needs no key, so no
/// keychain is no obstacle; a provider that needs a key still says why it has none.
#[tokio::test]
async fn a_keyless_provider_works_without_a_keychain_and_a_keyed_one_says_so() {
    let fake = fake_provider::FakeProvider::start(fake_provider::FakeConfig::default()).await.unwrap();
    let local =
        ProviderConfig::custom("ollama", ProviderKind::Ollama, Some(&format!("{}/v1", fake.base_url()))).unwrap();
    let answer = client_with(local, NoKeychain).chat(&ChatRequest::new("llama3.2", "hi"), &CallOptions::new()).await;
    assert_eq!(answer.unwrap().text, "Hello from the fake provider.");
    assert_eq!(fake.requests()[0].bearer_token(), None);

    let keyed = client_with(config(ProviderConfig::openai(), &fake), NoKeychain);
    let err = keyed.chat(&ChatRequest::new("gpt-4o-mini", "hi"), &CallOptions::new()).await.unwrap_err();
    assert_eq!(err.code(), "keychain", "{err}");
    assert_eq!(fake.requests().len(), 1, "nothing sent without the key it needs");
}
