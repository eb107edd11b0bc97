//! The response cache through the engine, against the fake provider: what
//! is asked again is answered locally, errors are asked again, and
//! `no_cache` asks everything.

use std::collections::BTreeSet;

use fake_provider::{Behaviour, FakeProvider};
use local_data::{ResponseQuery, ResponseRow, RunStatus, Store};
use runs::{Engine, RunOptions};

use crate::{DEADLINE, approved_requests_in, client, fake, run};

fn prompts() -> Vec<String> {
    (0..4).map(|i| format!("Describe item {i} in one line.")).collect()
}

fn chats(fake: &FakeProvider) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .map(|r| r.json().unwrap()["messages"][0]["content"].as_str().unwrap().to_owned())
        .collect()
}

fn responses(path: &std::path::Path, dataset: i64) -> Vec<ResponseRow> {
    let query = ResponseQuery { dataset_id: dataset, limit: 100, include_errors: true, ..Default::default() };
    Store::open(path).unwrap().responses(&query).unwrap().items
}

#[tokio::test]
async fn a_second_identical_run_makes_no_provider_call_and_every_answer_says_cached() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let first = approved_requests_in(&path, "first", &prompts());
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 2);

    let progress = run(&engine, first, RunOptions::default()).await;
    assert_eq!((progress.answered, progress.cached, progress.status), (4, Some(0), RunStatus::Completed));
    assert_eq!(chats(&fake).len(), 4, "a cold cache sends everything");
    let live = responses(&path, first);
    assert!(live.iter().all(|r| r.cached == Some(false)), "live answers are not marked cached");

    // The same requests in another dataset: same provider, model, parameters, prompts.
    let second = approved_requests_in(&path, "second", &prompts());
    let calls_before = fake.request_count();
    let progress = run(&engine, second, RunOptions::default()).await;

    assert_eq!(fake.request_count(), calls_before, "zero provider calls, the model-list check included");
    assert_eq!((progress.answered, progress.cached, progress.status), (4, Some(4), RunStatus::Completed));
    let hits = responses(&path, second);
    assert_eq!(hits.len(), 4);
    assert!(hits.iter().all(|r| r.cached == Some(true)), "every answer says it came from the cache");
    let texts = |rows: &[ResponseRow]| rows.iter().map(|r| (r.prompt.clone(), r.text.clone())).collect::<Vec<_>>();
    assert_eq!(texts(&hits), texts(&live), "the cached answers are the live ones");
    assert_eq!(hits[0].input_tokens, live[0].input_tokens, "with the usage they had");
    let usage = Store::open(&path).unwrap().usage().unwrap();
    let live_tokens: u32 = live.iter().map(|r| r.input_tokens.unwrap_or(0)).sum();
    assert_eq!(usage.input_tokens, u64::from(live_tokens), "the hits spent nothing");
}

#[tokio::test]
async fn a_no_cache_run_sends_every_request_and_refreshes_the_cache() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let first = approved_requests_in(&path, "first", &prompts());
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 1);
    run(&engine, first, RunOptions::default()).await;
    assert_eq!(chats(&fake).len(), 4);

    let second = approved_requests_in(&path, "second", &prompts());
    // The model list, then one fresh answer per request.
    fake.push(Behaviour::answer());
    for i in 0..4 {
        fake.push(Behaviour::Answer { text: Some(format!("fresh answer {i}")) });
    }
    let progress = run(&engine, second, RunOptions { no_cache: true, ..RunOptions::default() }).await;

    assert_eq!(chats(&fake).len(), 8, "every request was sent although the cache had it");
    assert_eq!((progress.answered, progress.cached), (4, Some(0)));
    let fresh = responses(&path, second);
    assert!(fresh.iter().all(|r| r.cached == Some(false) && r.text.as_deref().unwrap().starts_with("fresh")));

    // The fresh answers replaced the cached ones.
    let third = approved_requests_in(&path, "third", &prompts());
    let calls_before = fake.request_count();
    run(&engine, third, RunOptions::default()).await;
    assert_eq!(fake.request_count(), calls_before);
    let texts: Vec<_> = responses(&path, third).into_iter().map(|r| r.text.unwrap()).collect();
    assert_eq!(texts.len(), 4);
    assert!(texts.iter().all(|t| t.starts_with("fresh answer ")), "{texts:?}");
}

#[tokio::test]
async fn requests_that_failed_are_sent_again_not_answered_from_the_cache() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let first = approved_requests_in(&path, "first", &prompts());
    // One at a time, so the queued behaviours meet the requests in order.
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 1);
    fake.push(Behaviour::answer()); // the model list
    fake.push(Behaviour::answer());
    fake.push(Behaviour::ModelNotFound); // a final error: not retried
    fake.push(Behaviour::answer());
    fake.push(Behaviour::ModelNotFound);

    let progress = run(&engine, first, RunOptions::default()).await;
    assert_eq!((progress.answered, progress.failed), (2, 2));
    assert_eq!(Store::open(&path).unwrap().ai_cache_size().unwrap().entries, 2, "the errors were not cached");

    // The same dataset again: its failed requests go in a new run.
    let calls_before = chats(&fake).len();
    let progress = run(&engine, first, RunOptions::default()).await;
    let sent_again = &chats(&fake)[calls_before..];
    assert_eq!(sent_again, [prompts()[1].clone(), prompts()[3].clone()], "the failed ones were sent again");
    assert_eq!((progress.answered, progress.failed, progress.cached), (2, 0, Some(0)));

    // Now all four are cached: the same prompts elsewhere make no call.
    let second = approved_requests_in(&path, "second", &prompts());
    let calls_before = fake.request_count();
    let progress = run(&engine, second, RunOptions::default()).await;
    assert_eq!(fake.request_count(), calls_before);
    assert_eq!(progress.cached, Some(4));
}

#[tokio::test]
async fn a_cancelled_request_leaves_nothing_in_the_cache() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    // Non-streaming requests that stall never get an answer.
    let stalled: Vec<String> = (0..2).map(|i| format!("item {i} [fake:stall]")).collect();
    let dataset = approved_requests_in(&path, "stalled", &stalled);
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 2);

    let handle = engine.start_with(dataset, None, RunOptions::default()).await.unwrap();
    assert!(fake.wait_for_in_flight(2, DEADLINE).await, "both requests reached the provider");
    handle.cancel();
    let progress = tokio::time::timeout(DEADLINE, handle.wait()).await.unwrap().unwrap();

    assert_eq!((progress.status, progress.queued), (RunStatus::Cancelled, 2));
    assert_eq!(Store::open(&path).unwrap().ai_cache_size().unwrap().entries, 0, "an abandoned call is not an answer");
}

/// Issue 17 point 6: a run asking each prompt three times sends every
/// sample (a later sample is not answered with the first one's cached
/// answer, which would make every repeat agree), and a second identical
/// repeated run is answered whole from the cache, sample by sample, with
/// no provider call: the same answers, so the same stability.
#[tokio::test]
async fn each_repeat_is_asked_and_a_second_identical_repeated_run_makes_no_provider_call() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let prompts = vec!["Describe item 0 [fake:vary]".to_owned(), "Describe item 1.".to_owned()];
    let first = approved_requests_in(&path, "first", &prompts);
    // One at a time: sample 0 of each prompt is answered (and cached) before its later samples are sent.
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 1);
    let repeated = RunOptions { repeats: 3, ..RunOptions::default() };

    let progress = run(&engine, first, repeated.clone()).await;
    assert_eq!((progress.total, progress.answered, progress.cached), (6, 6, Some(0)));
    assert_eq!(chats(&fake).len(), 6, "every sample of every prompt went to the provider");
    let stability = |run_id: i64| {
        let query = local_data::StabilityQuery { run_id, target: None, after: None, limit: 10 };
        Store::open(&path).unwrap().run_stability(&query).unwrap()
    };
    let before = stability(progress.run_id);
    let summary = before.summary.unwrap();
    assert_eq!((summary.complete, summary.stable, summary.unstable), (2, 1, 1), "{summary:?}");
    let varied: Vec<Option<String>> = before.unstable[0].samples.iter().map(|s| s.text.clone()).collect();
    assert_eq!(varied.iter().collect::<BTreeSet<_>>().len(), 3, "three different answers: {varied:?}");

    let second = approved_requests_in(&path, "second", &prompts);
    let calls_before = fake.request_count();
    let progress = run(&engine, second, repeated).await;
    assert_eq!(fake.request_count(), calls_before, "zero provider calls, the model-list check included");
    assert_eq!((progress.answered, progress.cached), (6, Some(6)));
    let after = stability(progress.run_id);
    assert_eq!(after.summary, before.summary);
    let again: Vec<Option<String>> = after.unstable[0].samples.iter().map(|s| s.text.clone()).collect();
    assert_eq!(again, varied, "each sample got its own cached answer back");
}
