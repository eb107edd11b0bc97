use std::time::Duration;

use fake_provider::Behaviour;
use providers::{CallOptions, ChatRequest, Error, Keyless, ProviderConfig, StaticKey};
use secrets::Secret;

use crate::common::{client, client_with, config, fake};

#[tokio::test]
async fn wrong_key_is_invalid_key_for_both_formats() {
    let fake = fake().await;
    for preset in [ProviderConfig::openai(), ProviderConfig::anthropic()] {
        let client = client_with(config(preset, &fake), StaticKey::new(Secret::new("sk-wrong-key-xyz")));
        let err = client.chat(&ChatRequest::new("m", "hi"), &CallOptions::new()).await.unwrap_err();
        assert!(matches!(err, Error::InvalidKey { .. }), "{err:?}");
        assert_eq!(err.code(), "invalid_key");
        let provider = &client.config().id;
        assert_eq!(
            err.to_string(),
            format!("the provider rejected the key for {provider}: set a new one with `augment keys set {provider}`")
        );
    }
    assert_eq!(fake.request_count(), 2, "401 is not retried");
}

#[tokio::test]
async fn unknown_model_is_model_not_found() {
    let fake = fake().await;
    for preset in [ProviderConfig::openai(), ProviderConfig::anthropic()] {
        let client = client(preset, &fake);
        let err = client.chat(&ChatRequest::new("no-such-model-9", "hi"), &CallOptions::new()).await.unwrap_err();
        match &err {
            Error::ModelNotFound { model, .. } => assert_eq!(model, "no-such-model-9"),
            other => panic!("expected ModelNotFound, got {other:?}"),
        }
        assert!(err.to_string().contains("check the model name"), "{err}");
    }
}

#[tokio::test]
async fn wrong_base_path_is_endpoint_not_found() {
    let fake = fake().await;
    let config = config(ProviderConfig::openai(), &fake).with_base_url(format!("{}/wrong", fake.base_url()));
    let client = client_with(config, StaticKey::new(Secret::new(crate::common::KEY)));
    let err = client.chat(&ChatRequest::new("gpt-4o-mini", "hi"), &CallOptions::new()).await.unwrap_err();
    assert!(matches!(err, Error::EndpointNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("/wrong"), "{err}");
}

#[tokio::test]
async fn missing_key_fails_before_sending() {
    let fake = fake().await;
    let client = client_with(config(ProviderConfig::openai(), &fake), Keyless);
    let err = client.chat(&ChatRequest::new("gpt-4o-mini", "hi"), &CallOptions::new()).await.unwrap_err();
    assert!(matches!(err, Error::NoKey { .. }), "{err:?}");
    assert!(err.to_string().contains("AUGMENT_OPENAI_API_KEY"), "{err}");
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn closed_port_is_unreachable_with_the_cause() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = ProviderConfig::openai().with_base_url(format!("http://127.0.0.1:{port}"));
    let client = client_with(config, StaticKey::new(Secret::new("sk-x")));
    let err = client.chat(&ChatRequest::new("m", "hi"), &CallOptions::new()).await.unwrap_err();
    match &err {
        Error::Unreachable { url, reason, .. } => {
            assert_eq!(url, &format!("http://127.0.0.1:{port}"));
            assert!(reason.to_lowercase().contains("refused"), "{reason}");
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

#[tokio::test]
async fn slow_answer_is_a_timeout() {
    let fake = fake().await;
    fake.push(Behaviour::slow(Duration::from_secs(30)));
    let mut config = config(ProviderConfig::openai(), &fake);
    config.request_timeout = Duration::from_millis(300);
    let client = client_with(config, StaticKey::new(Secret::new(crate::common::KEY)));
    let started = std::time::Instant::now();
    let err = client.chat(&ChatRequest::new("m", "hi"), &CallOptions::new()).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { after, .. } if after == Duration::from_millis(300)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(err.to_string().contains("did not answer within 0.3 s"), "{err}");
}

#[tokio::test]
async fn stalled_stream_is_a_timeout_after_the_first_events() {
    let fake = fake().await;
    fake.push(Behaviour::Stall { chunks: 2 });
    let mut config = config(ProviderConfig::openai(), &fake);
    config.stream_idle_timeout = Duration::from_millis(300);
    let client = client_with(config, StaticKey::new(Secret::new(crate::common::KEY)));
    let stream = client.chat_stream(&ChatRequest::new("m", "hi"), &CallOptions::new()).await.unwrap();
    let started = std::time::Instant::now();
    let err = stream.collect_text().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn bad_settings_are_refused_up_front() {
    let config = ProviderConfig::openai().with_base_url("https://user:hunter2@api.openai.com");
    let err = providers::ProviderClient::new(config, std::sync::Arc::new(Keyless)).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("hunter2"));
}

/// Issue 20 point 8: a key never travels over plain http except to loopback.
/// A provider that needs a key is refused when built with a non-loopback
/// `http://` base URL; a keyless OpenAI-compatible server may be reached
/// over http, but once it has a key the call is refused before any
/// connection (`example.invalid` never resolves, so a connection attempt
/// would surface as `Unreachable`, not as this refusal). Loopback http works.
#[tokio::test]
async fn point_8_keys_are_never_sent_over_plain_http_to_a_remote_host() {
    let key = || StaticKey::new(Secret::new(crate::common::KEY));
    let refused = providers::ProviderClient::new(
        ProviderConfig::openai().with_base_url("http://example.invalid"),
        std::sync::Arc::new(key()),
    )
    .expect_err("a key-bearing provider over plain http to a remote host is refused");
    assert_eq!(refused.code(), "invalid_config", "{refused}");
    assert!(refused.to_string().contains("https://"), "the error says to use https: {refused}");

    let custom = ProviderConfig::openai_compatible("lan-llm", "http://example.invalid:11434");
    let keyless = client_with(custom.clone(), Keyless);
    let err = keyless.chat(&ChatRequest::new("m", "hi"), &CallOptions::new()).await.unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "no key, so plain http may be tried: {err:?}");
    let with_key = client_with(custom, key());
    let err = with_key.chat(&ChatRequest::new("m", "hi"), &CallOptions::new()).await.unwrap_err();
    assert_eq!(err.code(), "invalid_config", "refused before connecting: {err:?}");
    assert!(err.to_string().contains("https://"), "{err}");

    let fake = fake().await;
    let local = client(ProviderConfig::openai(), &fake);
    assert!(fake.base_url().starts_with("http://127.0.0.1"), "{}", fake.base_url());
    local.chat(&ChatRequest::new("gpt-4o-mini", "hi"), &CallOptions::new()).await.expect("loopback http works");
}
