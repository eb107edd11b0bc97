//! A random key goes through every path that could leak it (streaming, a 429
//! retry, an auth failure, a timeout) with all logging at TRACE; it must show
//! up nowhere but at the provider.

use std::sync::Arc;
use std::time::Duration;

use fake_provider::{Behaviour, FakeConfig, FakeProvider};
use providers::{ChatRequest, ProviderClient, ProviderConfig, StaticKey};
use secrets::Secret;
use test_support::CapturedLogs;

use crate::common::{Recorder, config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_key_reaches_the_provider_and_nothing_else() {
    // At TRACE, so reqwest, hyper, h2 and rustls (through the `log` bridge)
    // are captured as well as this crate.
    let captured = CapturedLogs::install();

    let canary = format!("sk-canary-{:032x}", rand_u128());
    let fake =
        FakeProvider::start(FakeConfig { expected_key: Some(canary.clone()), ..FakeConfig::default() }).await.unwrap();
    let recorder = Recorder::default();
    let options = recorder.options();
    let mut config = config(ProviderConfig::openai(), &fake);
    config.request_timeout = Duration::from_millis(300);
    let client = ProviderClient::new(config, Arc::new(StaticKey::new(Secret::new(canary.clone())))).unwrap();
    let anthropic = ProviderClient::new(
        crate::common::config(ProviderConfig::anthropic(), &fake),
        Arc::new(StaticKey::new(Secret::new(canary.clone()))),
    )
    .unwrap();
    let request = ChatRequest::new("gpt-4o-mini", "hello");
    let mut surfaces: Vec<String> = vec![format!("{client:?}"), format!("{anthropic:?}"), format!("{options:?}")];

    // 1. A stream, after a 429 that is retried.
    fake.push(Behaviour::rate_limited_for(1));
    let text = client.chat_stream(&request, &options).await.unwrap().collect_text().await.unwrap();
    assert_eq!(text, "Hello from the fake provider.");
    let text = anthropic.chat_stream(&request, &options).await.unwrap().collect_text().await.unwrap();
    assert_eq!(text, "Hello from the fake provider.");

    // 2. An auth failure and 3. a timeout.
    fake.push(Behaviour::InvalidKey);
    let auth = client.chat(&request, &options).await.unwrap_err();
    assert_eq!(auth.code(), "invalid_key");
    fake.push(Behaviour::slow(Duration::from_secs(30)));
    let timeout = client.chat(&request, &options).await.unwrap_err();
    assert_eq!(timeout.code(), "timeout");
    // 4. Models, and a stalled stream.
    client.list_models(&options).await.unwrap();
    fake.push(Behaviour::Stall { chunks: 1 });
    let mut stalled_config = crate::common::config(ProviderConfig::openai(), &fake);
    stalled_config.stream_idle_timeout = Duration::from_millis(200);
    let stalled = ProviderClient::new(stalled_config, Arc::new(StaticKey::new(Secret::new(canary.clone()))))
        .unwrap()
        .chat_stream(&request, &options)
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap_err();

    for error in [&auth, &timeout, &stalled] {
        surfaces.push(error.to_string());
        surfaces.push(format!("{error:?}"));
        surfaces.push(format!("{error:#?}"));
    }
    let events = recorder.events();
    assert!(!events.is_empty(), "the 429 produced a retry event");
    for event in &events {
        surfaces.push(event.to_string());
        surfaces.push(format!("{event:?}"));
    }

    // The key did arrive, in the right header, on every request.
    let requests = fake.requests();
    assert_eq!(requests.len(), 7);
    for r in &requests {
        let presented = if r.path == "/v1/messages" { r.api_key() } else { r.bearer_token() };
        assert_eq!(presented, Some(canary.as_str()), "{} {}", r.method, r.path);
        assert!(!r.path.contains(&canary) && !r.body.contains(&canary));
    }

    let logs = captured.text();
    assert!(logs.contains("sending request"), "the capture saw this crate's logs");
    assert!(logs.contains("TRACE"), "the capture ran at TRACE");
    assert!(logs.contains("hyper_util"), "the HTTP stack's own logs were captured");
    surfaces.push(logs);
    let tail = &canary[canary.len() - 16..];
    for text in &surfaces {
        assert!(!text.contains(&canary), "canary leaked into:\n{text}");
        assert!(!text.contains(tail), "part of the canary leaked into:\n{text}");
    }
}

fn rand_u128() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    // Two independently seeded SipHashers: random enough for a canary without
    // another dependency.
    let a = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(a);
    (u128::from(a) << 64) | u128::from(h.finish())
}
