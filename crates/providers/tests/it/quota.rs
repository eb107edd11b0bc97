//! Quota-aware calls (issue 17, point 4): rate-limit headers hold new sends
//! until the provider's window resets, a used-up quota is never retried, and
//! refusals of the request itself are never retried either.

use std::time::Duration;

use fake_provider::{Behaviour, RateLimitWindow};
use providers::{CallOptions, CancellationToken, ChatRequest, Error, Progress, ProviderConfig};

use crate::common::{Recorder, client, fake};

#[tokio::test]
async fn a_used_up_quota_is_not_retried_and_says_what_to_do() {
    let fake = fake().await;
    for (preset, status) in [(ProviderConfig::openai(), 429), (ProviderConfig::anthropic(), 400)] {
        fake.push(Behaviour::QuotaExhausted);
        let before = fake.request_count();
        let client = client(preset, &fake);
        let recorder = Recorder::default();
        let err = client.chat(&ChatRequest::new("m", "hi"), &recorder.options()).await.unwrap_err();
        let provider = client.config().id.clone();
        assert!(matches!(&err, Error::QuotaExhausted { provider: p, .. } if *p == provider), "HTTP {status}: {err:?}");
        assert_eq!(err.code(), "quota_exhausted");
        let text = err.to_string();
        assert!(text.starts_with(&format!("quota exhausted at {provider}: ")), "{text}");
        assert!(text.contains("billing settings, then resume"), "the message says what to do: {text}");
        assert_eq!(fake.request_count() - before, 1, "HTTP {status} for a quota is not retried");
        assert!(recorder.events().is_empty(), "no retry was announced: {:?}", recorder.events());
    }
}

#[tokio::test]
async fn refusals_of_the_request_are_never_retried() {
    let fake = fake().await;
    for status in [400u16, 401, 403, 404, 422] {
        let behaviour = match status {
            401 => Behaviour::InvalidKey,
            404 => Behaviour::ModelNotFound,
            _ => Behaviour::Rejected { status },
        };
        for preset in [ProviderConfig::openai(), ProviderConfig::anthropic()] {
            fake.push(behaviour.clone());
            let before = fake.request_count();
            let client = client(preset, &fake);
            let err = client.chat(&ChatRequest::new("m", "hi"), &CallOptions::new()).await.unwrap_err();
            assert_eq!(fake.request_count() - before, 1, "HTTP {status} was sent once: {err:?}");
            assert!(!matches!(err, Error::QuotaExhausted { .. } | Error::RateLimited { .. }), "{status}: {err:?}");
        }
    }
}

/// Three calls in a window of two: the second answer says none is left, so
/// the third waits for the reset instead of drawing a 429.
#[tokio::test]
async fn an_empty_window_holds_the_next_call_until_it_resets() {
    for preset in [ProviderConfig::openai(), ProviderConfig::anthropic()] {
        let fake = fake().await;
        let window = Duration::from_millis(1500);
        fake.set_rate_limit(Some(RateLimitWindow { requests: 2, window }));
        let client = client(preset, &fake);
        let recorder = Recorder::default();
        for _ in 0..3 {
            client.chat(&ChatRequest::new("m", "hi"), &recorder.options()).await.unwrap();
        }
        let provider = client.config().id.clone();
        assert_eq!(fake.request_count(), 3, "{provider}: no 429 and no retry, the client waited");
        let events = recorder.events();
        assert_eq!(events.len(), 1, "{provider}: {events:?}");
        match &events[0] {
            Progress::WaitingForReset { delay, .. } => {
                assert!(*delay > Duration::ZERO && *delay <= window + Duration::from_secs(1), "{delay:?}")
            }
            other => panic!("{provider}: expected a wait for the reset, got {other:?}"),
        }
        assert!(events[0].to_string().ends_with("for the rate limit to reset"), "{}", events[0]);
    }
}

#[tokio::test]
async fn a_wait_for_the_reset_can_be_cancelled() {
    let fake = fake().await;
    fake.set_rate_limit(Some(RateLimitWindow { requests: 1, window: Duration::from_secs(50) }));
    let client = client(ProviderConfig::openai(), &fake);
    client.chat(&ChatRequest::new("m", "hi"), &CallOptions::new()).await.unwrap();
    let cancel = CancellationToken::new();
    let waiting = Recorder::default();
    let options = waiting.options().cancel_with(cancel.clone());
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.chat(&ChatRequest::new("m", "hi"), &options).await }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while waiting.events().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the call never reported its wait");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    cancel.cancel();
    let err = tokio::time::timeout(Duration::from_secs(5), call).await.unwrap().unwrap().unwrap_err();
    assert!(matches!(err, Error::Cancelled { .. }), "{err:?}");
    assert_eq!(fake.request_count(), 1, "the held call was never sent");
}
