//! Both batch wire formats against the fake provider: split at the limits,
//! submitted, polled to the end, results mapped back by custom id, with
//! answers, per-request errors and expired requests in one batch.

use std::collections::BTreeMap;
use std::time::Duration;

use providers::{
    BatchItem, BatchLimits, BatchState, CallOptions, CancellationToken, ChatRequest, PollBackoff, ProviderClient,
    ProviderConfig,
};

use crate::common::{KEY, client, fake};

const FAST: PollBackoff = PollBackoff { first: Duration::from_millis(5), max: Duration::from_millis(20) };

fn items(model: &str, prompts: &[&str]) -> Vec<BatchItem> {
    prompts
        .iter()
        .enumerate()
        .map(|(n, p)| BatchItem { custom_id: format!("req-{n}"), request: ChatRequest::new(model, *p) })
        .collect()
}

/// Submits every chunk, waits for each and reads its results: custom id → answer text or error code.
async fn run_batches(client: &ProviderClient, items: &[BatchItem], limits: BatchLimits) -> BTreeMap<String, String> {
    let options = CallOptions::new();
    let mut outcomes = BTreeMap::new();
    for chunk in client.plan_batches(items, limits).unwrap() {
        let id = client.submit_batch(&chunk, &options).await.unwrap();
        let status = client.wait_for_batch(&id, FAST, &options, |_| {}).await.unwrap();
        assert_eq!(status.state, BatchState::Ended, "{status:?}");
        for result in client.batch_results(&status, &options).await.unwrap() {
            let shown = match result.outcome {
                Ok(answer) => answer.text,
                Err(e) => format!("error {}", e.code),
            };
            outcomes.insert(result.custom_id, shown);
        }
    }
    outcomes
}

fn expected(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[tokio::test]
async fn openai_batches_upload_a_jsonl_file_and_map_results_back_by_custom_id() {
    let fake = fake().await;
    fake.set_batch_polls(2);
    let client = client(ProviderConfig::openai(), &fake);
    let items = items("gpt-4o-mini", &["one", "two [fake:400]", "three [fake:expire]", "four", "five"]);
    let limits = BatchLimits { max_requests: 2, max_bytes: 1 << 20 };
    let outcomes = run_batches(&client, &items, limits).await;
    let hello = "Hello from the fake provider.";
    assert_eq!(
        outcomes,
        expected(&[
            ("req-0", hello),
            ("req-1", "error invalid_request_error"),
            ("req-2", "error batch_expired"),
            ("req-3", hello),
            ("req-4", hello),
        ])
    );
    assert_eq!(fake.batches_created(), 3, "5 requests at 2 per batch");

    let sent = fake.requests();
    let uploads: Vec<_> = sent.iter().filter(|r| r.path == "/v1/files").collect();
    assert_eq!(uploads.len(), 3);
    assert!(uploads.iter().all(|r| r.bearer_token() == Some(KEY)), "every call carries the key");
    assert!(uploads[0].body.contains("name=\"purpose\"\r\n\r\nbatch\r\n"), "{}", uploads[0].body);
    let line = uploads[0].body.lines().find(|l| l.starts_with('{')).unwrap();
    let line: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(line["custom_id"], "req-0");
    assert_eq!((line["method"].as_str(), line["url"].as_str()), (Some("POST"), Some("/v1/chat/completions")));
    assert_eq!(line["body"]["model"], "gpt-4o-mini");
    assert!(line["body"].get("stream").is_none(), "a batch is never streamed");
    let create = sent.iter().find(|r| r.path == "/v1/batches").unwrap().json().unwrap();
    assert_eq!(
        (create["endpoint"].as_str(), create["completion_window"].as_str()),
        (Some("/v1/chat/completions"), Some("24h"))
    );
    let polls = sent.iter().filter(|r| r.path.starts_with("/v1/batches/")).count();
    assert_eq!(polls, 3 * 3, "each batch polled until it ended (2 running answers, then the end)");
}

#[tokio::test]
async fn anthropic_message_batches_carry_the_requests_inline_and_read_the_results_url() {
    let fake = fake().await;
    fake.set_batch_polls(1);
    let client = client(ProviderConfig::anthropic(), &fake);
    let items = items("claude-3-5-haiku-latest", &["one", "two [fake:500]", "three [fake:expire]"]);
    let outcomes = run_batches(&client, &items, BatchLimits::ANTHROPIC).await;
    assert_eq!(
        outcomes,
        expected(&[
            ("req-0", "Hello from the fake provider."),
            ("req-1", "error api_error"),
            ("req-2", "error batch_expired"),
        ])
    );
    assert_eq!(fake.batches_created(), 1);
    let sent = fake.requests();
    let create = sent.iter().find(|r| r.path == "/v1/messages/batches").unwrap();
    assert_eq!(create.api_key(), Some(KEY));
    assert_eq!(create.header("anthropic-version"), Some("2023-06-01"));
    let body = create.json().unwrap();
    assert_eq!(body["requests"][0]["custom_id"], "req-0");
    assert!(body["requests"][0]["params"]["max_tokens"].as_u64().unwrap() > 0, "Anthropic requires max_tokens");
    assert!(sent.iter().any(|r| r.path.ends_with("/results")), "results read from the results_url");
}

#[tokio::test]
async fn batches_are_split_at_the_byte_limit_too_and_an_oversized_request_is_refused() {
    let fake = fake().await;
    let client = client(ProviderConfig::openai(), &fake);
    let items = items("gpt-4o-mini", &["a", "b", "c", "d"]);
    let one = client.plan_batches(&items[..1], BatchLimits::OPENAI).unwrap()[0].bytes();
    let two_per_batch = BatchLimits { max_requests: 100, max_bytes: 2 * one + 2 };
    let chunks = client.plan_batches(&items, two_per_batch).unwrap();
    let ids: Vec<Vec<String>> = chunks.iter().map(|c| c.custom_ids.clone()).collect();
    assert_eq!(ids, [vec!["req-0", "req-1"], vec!["req-2", "req-3"]], "order kept, two lines per batch by size");
    assert!(chunks.iter().all(|c| c.bytes() <= two_per_batch.max_bytes));

    let too_small = BatchLimits { max_requests: 100, max_bytes: one - 1 };
    let refused = client.plan_batches(&items, too_small).unwrap_err();
    assert_eq!(refused.code(), "batch_too_large", "{refused}");
    assert_eq!(fake.request_count(), 0, "planning sends nothing");
}

#[tokio::test]
async fn waiting_for_a_batch_stops_when_cancelled() {
    let fake = fake().await;
    fake.set_batch_polls(u64::MAX);
    let client = client(ProviderConfig::openai(), &fake);
    let chunk = client.plan_batches(&items("gpt-4o-mini", &["x"]), BatchLimits::OPENAI).unwrap().remove(0);
    let id = client.submit_batch(&chunk, &CallOptions::new()).await.unwrap();
    let cancel = CancellationToken::new();
    let options = CallOptions::new().cancel_with(cancel.clone());
    let slow = PollBackoff { first: Duration::from_secs(3600), max: Duration::from_secs(3600) };
    let mut polls = 0;
    let waiting = client.wait_for_batch(&id, slow, &options, |status| {
        assert_eq!(status.state, BatchState::Running);
        polls += 1;
        cancel.cancel();
    });
    let stopped = tokio::time::timeout(Duration::from_secs(10), waiting).await.expect("the wait ends at the cancel");
    assert_eq!(stopped.unwrap_err().code(), "cancelled");
    assert_eq!(polls, 1);
}

/// A cancelled batch: the provider says it is cancelling, then it ends with
/// what it processed, here nothing (Anthropic lists each request as
/// `canceled`; OpenAI's files hold processed requests only).
#[tokio::test]
async fn a_batch_cancelled_at_the_provider_ends_with_nothing_processed() {
    let fake = fake().await;
    fake.set_batch_polls(u64::MAX);
    for (config, model, cancelling, ended) in [
        (ProviderConfig::openai(), "gpt-4o-mini", "cancelling", "cancelled"),
        (ProviderConfig::anthropic(), "claude-3-5-haiku-latest", "canceling", "ended"),
    ] {
        let client = client(config, &fake);
        let options = CallOptions::new();
        let chunk = client.plan_batches(&items(model, &["a", "b"]), BatchLimits::OPENAI).unwrap().remove(0);
        let id = client.submit_batch(&chunk, &options).await.unwrap();

        let asked = client.cancel_batch(&id, &options).await.unwrap();
        assert_eq!((asked.provider_status.as_str(), &asked.state), (cancelling, &BatchState::Running), "{asked:?}");
        let status = client.wait_for_batch(&id, FAST, &options, |_| {}).await.unwrap();
        assert_eq!((status.provider_status.as_str(), &status.state), (ended, &BatchState::Ended), "{status:?}");
        let codes: Vec<String> = client
            .batch_results(&status, &options)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.outcome.map(|a| a.text).unwrap_or_else(|e| e.code))
            .collect();
        let expected: Vec<String> = match ended {
            "ended" => vec!["batch_canceled".into(), "batch_canceled".into()],
            _ => vec![],
        };
        assert_eq!(codes, expected, "{}", client.config().id);
    }
    let cancels = fake.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/cancel")).count();
    assert_eq!(cancels, 2);
}
