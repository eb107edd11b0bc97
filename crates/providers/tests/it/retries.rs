use std::time::{Duration, Instant, SystemTime};

use fake_provider::{Behaviour, RetryAfter};
use providers::{ChatRequest, Error, Progress, ProviderConfig, RetryReason};

use crate::common::{Recorder, client, fake};

#[tokio::test]
async fn rate_limit_waits_for_retry_after_then_succeeds() {
    let fake = fake().await;
    fake.push(Behaviour::rate_limited_for(1));
    let client = client(ProviderConfig::openai(), &fake);
    let recorder = Recorder::default();

    let started = Instant::now();
    let answer = client.chat(&ChatRequest::new("gpt-4o-mini", "hi"), &recorder.options()).await.unwrap();
    let elapsed = started.elapsed();

    assert_eq!(answer.text, "Hello from the fake provider.");
    assert!(elapsed >= Duration::from_secs(1), "Retry-After: 1 was honoured ({elapsed:?})");
    assert_eq!(fake.request_count(), 2);
    let events = recorder.events();
    assert_eq!(events.len(), 1, "{events:?}");
    match &events[0] {
        Progress::Retrying { reason, delay, next_attempt, .. } => {
            assert_eq!(*reason, RetryReason::RateLimited);
            assert!(*delay >= Duration::from_secs(1), "{delay:?}");
            assert_eq!(*next_attempt, 2);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(events[0].to_string().starts_with("openai: rate limited, retrying in "), "{}", events[0]);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let fake = fake().await;
    fake.push(Behaviour::RateLimited {
        retry_after: Some(RetryAfter::Date(SystemTime::now() + Duration::from_secs(2))),
    });
    let client = client(ProviderConfig::anthropic(), &fake);
    let started = Instant::now();
    client.chat(&ChatRequest::new("claude", "hi"), &providers::CallOptions::new()).await.unwrap();
    // HTTP dates have whole-second resolution, so at least 1 s of the 2 remains.
    assert!(started.elapsed() >= Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let fake = fake().await;
    fake.push(Behaviour::ServerError { status: 500 });
    fake.push(Behaviour::ServerError { status: 503 });
    let client = client(ProviderConfig::openai(), &fake);
    let recorder = Recorder::default();
    let answer = client.chat(&ChatRequest::new("gpt-4o-mini", "hi"), &recorder.options()).await.unwrap();
    assert_eq!(answer.text, "Hello from the fake provider.");
    assert_eq!(fake.request_count(), 3);
    let reasons: Vec<RetryReason> = recorder
        .events()
        .into_iter()
        .map(|e| match e {
            Progress::Retrying { reason, .. } => reason,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(reasons, vec![RetryReason::ServerError { status: 500 }, RetryReason::ServerError { status: 503 }]);
}

#[tokio::test]
async fn server_errors_give_up_after_max_attempts() {
    let fake = fake().await;
    for _ in 0..3 {
        fake.push(Behaviour::ServerError { status: 502 });
    }
    let client = client(ProviderConfig::openai(), &fake);
    let err = client.chat(&ChatRequest::new("gpt-4o-mini", "hi"), &providers::CallOptions::new()).await.unwrap_err();
    assert!(matches!(err, Error::Server { status: 502, attempts: 3, .. }), "{err:?}");
    assert_eq!(fake.request_count(), 3);
}

#[tokio::test]
async fn rate_limit_gives_up_with_the_providers_wait() {
    let fake = fake().await;
    for _ in 0..3 {
        fake.push(Behaviour::rate_limited_for(0));
    }
    let client = client(ProviderConfig::groq(), &fake);
    let err = client.chat(&ChatRequest::new("llama", "hi"), &providers::CallOptions::new()).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::ZERO), "{err:?}");
    assert_eq!(fake.request_count(), 3);
}

#[tokio::test]
async fn retry_after_longer_than_we_wait_fails_at_once() {
    let fake = fake().await;
    fake.push(Behaviour::rate_limited_for(3600));
    let client = client(ProviderConfig::openai(), &fake);
    let started = Instant::now();
    let err = client.chat(&ChatRequest::new("gpt-4o-mini", "hi"), &providers::CallOptions::new()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(fake.request_count(), 1);
    assert_eq!(
        err.to_string(),
        "openai is rate limiting requests (it asks to retry in 3600 s): wait and try again, or lower this provider's request rate"
    );
}

#[tokio::test]
async fn streaming_requests_are_retried_before_the_answer_starts() {
    let fake = fake().await;
    fake.push(Behaviour::ServerError { status: 529 });
    let client = client(ProviderConfig::anthropic(), &fake);
    let text = client
        .chat_stream(&ChatRequest::new("claude", "hi"), &providers::CallOptions::new())
        .await
        .unwrap()
        .collect_text()
        .await
        .unwrap();
    assert_eq!(text, "Hello from the fake provider.");
    assert_eq!(fake.request_count(), 2);
}
