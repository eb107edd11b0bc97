use std::time::Duration;

use fake_provider::Behaviour;
use local_data::{ResponseQuery, RunStatus, Store};
use runs::{Engine, Error, RunEvent};

use crate::{DEADLINE, PROVIDER, approved_requests, client, fake};
use providers::{ProviderClient, ProviderConfig};

fn prompts(n: usize, directive: &str) -> Vec<String> {
    (0..n).map(|i| format!("<<item-{i}>> {directive}")).collect()
}

async fn collect(mut handle: runs::RunHandle) -> (Vec<RunEvent>, Result<local_data::RunProgress, Error>) {
    let mut events = Vec::new();
    while let Some(event) = handle.events.recv().await {
        events.push(event);
    }
    (events, handle.wait().await)
}

#[tokio::test]
async fn a_run_answers_every_approved_request_within_the_concurrency_limit() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let dataset = approved_requests(&path, &prompts(8, "[fake:delay:50]"));
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 3);

    let handle = engine.start(dataset, None).await.unwrap();
    let (events, result) = tokio::time::timeout(DEADLINE, collect(handle)).await.unwrap();
    let progress = result.unwrap();

    assert_eq!((progress.answered, progress.total, progress.status), (8, 8, RunStatus::Completed));
    assert!(fake.max_in_flight() <= 3, "at most 3 at once, saw {}", fake.max_in_flight());
    let chats = fake.requests().into_iter().filter(|r| r.path == "/v1/chat/completions").count();
    assert_eq!(chats, 8, "each request sent once");
    let answered = events.iter().filter(|e| matches!(e, RunEvent::Answered { .. })).count();
    assert_eq!(answered, 8);
    assert!(matches!(events.first(), Some(RunEvent::Started { progress }) if progress.queued == 8));
    assert!(matches!(events.last(), Some(RunEvent::Finished { progress }) if progress.answered == 8));

    let store = Store::open(&path).unwrap();
    let query = ResponseQuery { dataset_id: dataset, limit: 100, ..Default::default() };
    let responses = store.responses(&query).unwrap();
    assert_eq!(responses.total, 8);
    assert_eq!(responses.items[0].text.as_deref(), Some("Hello from the fake provider."));
    assert!(responses.items[0].input_tokens.is_some(), "usage is stored");
    assert_eq!(
        engine.start(dataset, None).await.unwrap_err().code(),
        "nothing_to_run",
        "answered requests are never sent again"
    );
}

#[tokio::test]
async fn rate_limits_are_retried_after_retry_after() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let dataset = approved_requests(&path, &prompts(1, ""));
    // The first behaviour goes to the engine's reachability check (the model list).
    fake.push(Behaviour::answer());
    fake.push(Behaviour::rate_limited_for(1));
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 2);

    let started = std::time::Instant::now();
    let (events, result) = collect(engine.start(dataset, None).await.unwrap()).await;
    let progress = result.unwrap();

    assert_eq!(progress.answered, 1);
    // The preflight model list, the 429, then the retry.
    let chats: Vec<_> = fake.requests().into_iter().filter(|r| r.path == "/v1/chat/completions").collect();
    assert_eq!(chats.len(), 2, "one 429, one retry");
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was honoured");
    let retrying: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Retrying { message, .. } => Some(message.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(retrying.len(), 1, "{events:?}");
    assert!(retrying[0].contains("rate limited"), "{}", retrying[0]);
}

#[tokio::test]
async fn cancel_stops_requests_in_flight_and_requeues_them() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    // Non-streaming requests that stall never get an answer.
    let dataset = approved_requests(&path, &prompts(5, "[fake:stall]"));
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 2);

    let handle = engine.start(dataset, None).await.unwrap();
    assert!(fake.wait_for_in_flight(2, DEADLINE).await, "two requests reached the provider");
    handle.cancel();
    let progress = tokio::time::timeout(DEADLINE, handle.wait()).await.unwrap().unwrap();

    assert_eq!(progress.status, RunStatus::Cancelled);
    assert_eq!((progress.in_flight, progress.answered, progress.queued), (0, 0, 5));
    assert!(fake.wait_for_in_flight(0, DEADLINE).await, "the provider saw the connections close");
    let chats = fake.requests().into_iter().filter(|r| r.path == "/v1/chat/completions").count();
    assert_eq!(chats, 2, "nothing more was sent after the cancel");
}

#[tokio::test]
async fn an_unreachable_provider_refuses_the_run() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let dataset = approved_requests(&path, &prompts(2, ""));
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&url)], 2);

    let err = engine.start(dataset, None).await.unwrap_err();
    assert!(matches!(err, Error::Offline { .. }), "{err:?}");
    assert_eq!(err.code(), "offline");
    assert!(err.to_string().contains("cannot be reached"), "{err}");

    let store = Store::open(&path).unwrap();
    assert!(store.unfinished_runs().unwrap().is_empty(), "no run was left behind");
    let no_client = Engine::new(Store::open(&path).unwrap(), [], 1);
    assert_eq!(no_client.start(dataset, None).await.unwrap_err().code(), "no_client");
}

#[tokio::test]
async fn a_provider_without_a_key_refuses_the_run_before_anything_is_queued() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let dataset = approved_requests(&path, &prompts(3, ""));
    // The same provider, but one that needs a key, and none is set.
    let mut config = ProviderConfig::openai_compatible(PROVIDER, &fake.base_url());
    config.key_required = true;
    let client = ProviderClient::new(config, std::sync::Arc::new(providers::Keyless)).unwrap();
    let engine = Engine::new(Store::open(&path).unwrap(), [client], 2);

    let err = engine.start(dataset, None).await.unwrap_err();
    assert_eq!(err.code(), "no_key", "{err:?}");
    assert!(err.to_string().contains("AUGMENT_FAKE_API_KEY"), "the message says how to set the key: {err}");
    let store = Store::open(&path).unwrap();
    assert!(store.unfinished_runs().unwrap().is_empty(), "no run was left behind");
    assert!(fake.requests().iter().all(|r| r.path != "/v1/chat/completions"), "nothing was sent");
}
