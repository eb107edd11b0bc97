use std::time::{Duration, Instant};

use fake_provider::Behaviour;
use futures_util::StreamExt;
use providers::{CallOptions, CancellationToken, ChatRequest, Error, Progress, ProviderConfig, StreamEvent};

use crate::common::{client, fake};

const PROMPTLY: Duration = Duration::from_secs(1);
const DEADLINE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn cancel_stops_a_request_that_gets_no_answer() {
    let fake = fake().await;
    fake.push(Behaviour::Stall { chunks: 0 });
    let client = client(ProviderConfig::openai(), &fake);
    let token = CancellationToken::new();
    let options = CallOptions::new().cancel_with(token.clone());
    let request = ChatRequest::new("gpt-4o-mini", "hi");

    let (result, cancelled_at) = tokio::join!(client.chat(&request, &options), async {
        assert!(fake.wait_for_requests(1, DEADLINE).await, "the request reached the server");
        token.cancel();
        Instant::now()
    });
    assert!(cancelled_at.elapsed() < PROMPTLY, "{:?}", cancelled_at.elapsed());
    assert!(matches!(result, Err(Error::Cancelled { .. })), "{result:?}");
    // The connection was closed, so the server stops working on it.
    assert!(fake.wait_for_in_flight(0, DEADLINE).await, "the server saw the client leave");
}

#[tokio::test]
async fn cancel_ends_a_stalled_stream() {
    let fake = fake().await;
    fake.push(Behaviour::Stall { chunks: 2 });
    let client = client(ProviderConfig::anthropic(), &fake);
    let token = CancellationToken::new();
    let options = CallOptions::new().cancel_with(token.clone());
    let mut stream = client.chat_stream(&ChatRequest::new("claude", "hi"), &options).await.unwrap();

    let (next, cancelled_at) = tokio::join!(stream.next(), async {
        assert!(fake.wait_for_in_flight(1, DEADLINE).await);
        token.cancel();
        Instant::now()
    });
    assert!(cancelled_at.elapsed() < PROMPTLY, "{:?}", cancelled_at.elapsed());
    assert!(matches!(next, Some(Err(Error::Cancelled { .. }))), "{next:?}");
    assert!(stream.next().await.is_none(), "nothing follows the cancellation");
    drop(stream);
    assert!(fake.wait_for_in_flight(0, DEADLINE).await, "the server saw the client leave");
}

#[tokio::test]
async fn cancel_ends_a_retry_wait() {
    let fake = fake().await;
    fake.push(Behaviour::rate_limited_for(30));
    let client = client(ProviderConfig::openai(), &fake);
    let token = CancellationToken::new();
    let (retrying_tx, mut retrying_rx) = tokio::sync::mpsc::unbounded_channel();
    let options = CallOptions::new().cancel_with(token.clone()).on_progress(move |p| {
        let _ = retrying_tx.send(p.clone());
    });
    let request = ChatRequest::new("gpt-4o-mini", "hi");

    let (result, cancelled_at) = tokio::join!(client.chat(&request, &options), async {
        let progress = tokio::time::timeout(DEADLINE, retrying_rx.recv()).await.unwrap().unwrap();
        assert!(
            matches!(progress, Progress::Retrying { delay, .. } if delay >= Duration::from_secs(30)),
            "{progress:?}"
        );
        token.cancel();
        Instant::now()
    });
    assert!(cancelled_at.elapsed() < PROMPTLY);
    assert!(matches!(result, Err(Error::Cancelled { .. })), "{result:?}");
    assert_eq!(fake.request_count(), 1, "no retry after cancellation");
}

#[tokio::test]
async fn a_stream_can_be_read_to_the_end_with_cancellation_armed() {
    // Guards against the cancellation branch firing spuriously.
    let fake = fake().await;
    let client = client(ProviderConfig::openai(), &fake);
    let options = CallOptions::new().cancel_with(CancellationToken::new());
    let events: Vec<_> =
        client.chat_stream(&ChatRequest::new("gpt-4o-mini", "hi"), &options).await.unwrap().collect().await;
    assert!(matches!(events.last(), Some(Ok(StreamEvent::Done { .. }))), "{events:?}");
}
