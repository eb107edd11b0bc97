use std::num::NonZeroU32;
use std::time::Duration;

use fake_provider::Behaviour;
use providers::{CallOptions, CancellationToken, ChatRequest, Error, Progress, ProviderConfig, StaticKey};
use secrets::Secret;

use crate::common::{KEY, client_with, config, fake};

#[tokio::test]
async fn concurrency_limit_is_honoured() {
    let fake = fake().await;
    for _ in 0..8 {
        fake.push(Behaviour::slow(Duration::from_millis(300)));
    }
    let mut config = config(ProviderConfig::openai(), &fake);
    config.max_concurrent = 2;
    let client = client_with(config, StaticKey::new(Secret::new(KEY)));
    let request = ChatRequest::new("gpt-4o-mini", "hi");
    let options = CallOptions::new();

    let calls = (0..8).map(|_| client.chat(&request, &options));
    let results = futures_util::future::join_all(calls).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(fake.request_count(), 8);
    assert_eq!(fake.max_in_flight(), 2, "never more than 2 at once, and the limit was reached");
}

#[tokio::test]
async fn streams_hold_their_slot_until_they_end() {
    let fake = fake().await;
    let mut config = config(ProviderConfig::anthropic(), &fake);
    config.max_concurrent = 1;
    let client = client_with(config, StaticKey::new(Secret::new(KEY)));
    let request = ChatRequest::new("claude", "hi");
    let options = CallOptions::new();

    let first = client.chat_stream(&request, &options).await.unwrap();
    // The only slot is taken by `first`; a second call must wait for it.
    let second = tokio::time::timeout(Duration::from_millis(300), client.chat(&request, &options)).await;
    assert!(second.is_err(), "the second call waited for the slot");
    assert_eq!(fake.request_count(), 1);

    first.collect_text().await.unwrap();
    client.chat(&request, &options).await.unwrap();
    assert_eq!(fake.max_in_flight(), 1);
}

#[tokio::test]
async fn request_rate_limit_holds_back_and_reports() {
    let fake = fake().await;
    let mut config = config(ProviderConfig::openai(), &fake);
    // Two at once, then one every 30 s.
    config.requests_per_minute = NonZeroU32::new(2);
    let client = client_with(config, StaticKey::new(Secret::new(KEY)));
    let request = ChatRequest::new("gpt-4o-mini", "hi");
    let token = CancellationToken::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = CallOptions::new().cancel_with(token.clone()).on_progress(move |p| {
        let _ = tx.send(p.clone());
    });

    client.chat(&request, &options).await.unwrap();
    client.chat(&request, &options).await.unwrap();
    let (third, ()) = tokio::join!(client.chat(&request, &options), async {
        let progress = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.unwrap().unwrap();
        match &progress {
            Progress::Throttled { delay, .. } => {
                assert!(*delay > Duration::from_secs(20), "{delay:?}")
            }
            other => panic!("unexpected {other:?}"),
        }
        token.cancel();
    });
    assert!(matches!(third, Err(Error::Cancelled { .. })), "{third:?}");
    assert_eq!(fake.request_count(), 2, "the third request was never sent");
}
