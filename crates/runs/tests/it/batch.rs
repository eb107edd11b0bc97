//! Batch runs against the fake provider's OpenAI Batch API: split, results
//! stored per request, cache hits not sent, and a run whose process state is
//! dropped mid-poll resumed from its stored batch ids without submitting again.

use std::time::Duration;

use local_data::{RunStatus, Store};
use providers::{BatchLimits, PollBackoff};
use runs::{BatchSettings, Engine, RunOptions};

use crate::{DEADLINE, approved_requests_for, client_as, fake, wait_until};

/// Two requests per batch, polled every few milliseconds.
fn settings() -> BatchSettings {
    BatchSettings {
        poll: PollBackoff { first: Duration::from_millis(5), max: Duration::from_millis(20) },
        limits: Some(BatchLimits { max_requests: 2, max_bytes: 1 << 20 }),
    }
}

fn engine(path: &std::path::Path, base_url: &str) -> Engine {
    Engine::new(Store::open(path).unwrap(), [client_as("openai", base_url)], 4).with_batch_settings(settings())
}

const BATCH: RunOptions =
    RunOptions { no_cache: false, max_cost_usd: None, batch: true, assertions: Vec::new(), repeats: 1 };

fn batch_creates(fake: &fake_provider::FakeProvider) -> usize {
    fake.requests().iter().filter(|r| r.method == "POST" && r.path == "/v1/batches").count()
}

fn chats(fake: &fake_provider::FakeProvider) -> usize {
    fake.requests().iter().filter(|r| r.path == "/v1/chat/completions").count()
}

#[tokio::test]
async fn a_batch_run_stores_every_result_and_sends_no_cache_hit() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let prompts: Vec<String> = ["one", "two", "three [fake:400]"].map(String::from).to_vec();
    let first = approved_requests_for(&path, "first", "openai", &prompts);
    let engine = engine(&path, &fake.base_url());

    let progress = engine.start_with(first, None, BATCH).await.unwrap().wait().await.unwrap();
    assert_eq!(progress.status, RunStatus::Completed, "{progress:?}");
    assert_eq!((progress.answered, progress.failed), (2, 1), "the errored line is that request's failure");
    assert_eq!(batch_creates(&fake), 2, "3 requests at 2 per batch");
    assert_eq!(chats(&fake), 0, "nothing went through the live endpoint");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.batch_job_counts(progress.run_id).unwrap().open, 0, "every job ended");

    // The same two answered prompts and a new one: only the new one is submitted.
    let second = approved_requests_for(&path, "second", "openai", &["one".into(), "two".into(), "four".into()]);
    let progress = engine.start_with(second, None, BATCH).await.unwrap().wait().await.unwrap();
    assert_eq!((progress.status, progress.answered, progress.cached), (RunStatus::Completed, 3, Some(2)));
    assert_eq!(batch_creates(&fake), 3, "one more batch, for the one request the cache could not answer");
    let last_upload = fake.requests().into_iter().rfind(|r| r.path == "/v1/files").unwrap();
    assert_eq!(last_upload.body.matches("\"custom_id\"").count(), 1, "{}", last_upload.body);
}

/// Issue 17 point 6 in batch mode: each repeat is a line of its own
/// (`custom_id` per request), every sample's result is stored, and the
/// same repeated run again is answered whole from the cache, no batch submitted.
#[tokio::test]
async fn a_repeated_batch_run_submits_every_sample_and_a_second_one_none() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let prompts: Vec<String> = ["one", "two"].map(String::from).to_vec();
    let first = approved_requests_for(&path, "first", "openai", &prompts);
    let engine = engine(&path, &fake.base_url());
    let repeated = RunOptions { repeats: 3, ..BATCH };

    let progress = engine.start_with(first, None, repeated.clone()).await.unwrap().wait().await.unwrap();
    assert_eq!((progress.status, progress.total, progress.answered), (RunStatus::Completed, 6, 6), "{progress:?}");
    assert_eq!(batch_creates(&fake), 3, "6 samples at 2 per batch");

    let second = approved_requests_for(&path, "second", "openai", &prompts);
    let progress = engine.start_with(second, None, repeated).await.unwrap().wait().await.unwrap();
    assert_eq!((progress.answered, progress.cached), (6, Some(6)), "{progress:?}");
    assert_eq!(batch_creates(&fake), 3, "nothing submitted for the second run");
}

#[tokio::test]
async fn a_batch_run_without_a_batch_api_or_with_a_cap_is_refused() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let dataset = approved_requests_for(&path, "local", "ollama", &["one".into()]);
    let engine = Engine::new(Store::open(&path).unwrap(), [client_as("ollama", &fake.base_url())], 4);
    let refused = engine.start_with(dataset, None, BATCH).await.unwrap_err();
    assert_eq!(refused.code(), "batch_unsupported", "{refused}");
    let capped = RunOptions { max_cost_usd: Some(1.0), ..BATCH };
    assert_eq!(engine.start_with(dataset, None, capped).await.unwrap_err().code(), "batch_with_budget");
    assert_eq!(fake.batches_created(), 0);
    assert!(Store::open(&path).unwrap().runs().unwrap().is_empty(), "no run is left behind");
}

/// A batch's answers are scored by the run's assertions as they are
/// stored, and so are the ones the cache answers; a judge is asked live.
#[tokio::test]
async fn a_batch_run_scores_its_answers_with_the_run_s_assertions() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let engine = engine(&path, &fake.base_url());
    let warm = approved_requests_for(&path, "warm", "openai", &["[fake:say:yes, a cat]".into()]);
    engine.start_with(warm, None, BATCH).await.unwrap().wait().await.unwrap();

    let prompts: Vec<String> =
        ["[fake:say:yes, a cat]", "[fake:say:no dog here]", "[fake:say:yes, a cow]"].map(String::from).to_vec();
    let dataset = approved_requests_for(&path, "animals", "openai", &prompts);
    let assertions = ["contains:yes", "judge:openai/gpt-4o-mini:Is it an animal?"].map(|a| a.parse().unwrap()).to_vec();
    let progress =
        engine.start_with(dataset, None, RunOptions { assertions, ..BATCH }).await.unwrap().wait().await.unwrap();

    assert_eq!((progress.status, progress.answered, progress.cached), (RunStatus::Completed, 3, Some(1)));
    let checks = Store::open(&path).unwrap().run_checks(progress.run_id).unwrap();
    assert_eq!(checks.checked, 3, "every answer was scored, the cache's too: {checks:?}");
    assert_eq!(checks.assertions[0].passed, 2, "two of the three say yes: {checks:?}");
    assert_eq!(checks.assertions[1].passed + checks.assertions[1].failed, 3, "the judge scored each: {checks:?}");
    assert_eq!(chats(&fake), 3, "the judge's three calls went live, the answers by batch");
}

/// The engine runs on a runtime of its own, shut down mid-poll: its tasks
/// end where they wait, nothing of the run's own stop code runs, as when
/// the app is killed. A new engine resumes from the stored batch ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_run_dropped_mid_poll_resumes_from_its_stored_jobs_without_submitting_again() {
    let fake = fake().await;
    fake.set_batch_polls(u64::MAX);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let prompts: Vec<String> = (0..4).map(|i| format!("item {i}")).collect();
    let dataset = approved_requests_for(&path, "items", "openai", &prompts);

    let (run_path, url) = (path.clone(), fake.base_url());
    // Built and driven on a thread of its own: a runtime cannot block inside this one.
    let (doomed, run_id) = std::thread::spawn(move || {
        let doomed = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let run_id = doomed.block_on(async move {
            let handle = engine(&run_path, &url).start_with(dataset, None, BATCH).await.unwrap();
            let run_id = handle.run_id;
            std::mem::forget(handle); // its events and task die with the runtime
            run_id
        });
        (doomed, run_id)
    })
    .join()
    .unwrap();
    let store = Store::open(&path).unwrap();
    let polled_twice = |fake: &fake_provider::FakeProvider| {
        fake.requests().iter().filter(|r| r.method == "GET" && r.path.starts_with("/v1/batches/")).count() >= 4
    };
    tokio::task::block_in_place(|| {
        wait_until("both batches recorded and polled", || {
            store.batch_job_counts(run_id).unwrap().open == 2 && polled_twice(&fake)
        })
    });
    std::thread::spawn(move || doomed.shutdown_background()).join().unwrap();

    let at_drop = store.run_progress(run_id).unwrap();
    assert_eq!((at_drop.status, at_drop.in_flight), (RunStatus::Running, 4), "mid-poll: {at_drop:?}");
    assert_eq!(batch_creates(&fake), 2);

    fake.set_batch_polls(0);
    let resumed = engine(&path, &fake.base_url()).resume(run_id).await.unwrap();
    let progress = tokio::time::timeout(DEADLINE, resumed.wait()).await.unwrap().unwrap();
    assert_eq!((progress.status, progress.answered, progress.failed), (RunStatus::Completed, 4, 0), "{progress:?}");
    assert_eq!(batch_creates(&fake), 2, "exactly one batch create per chunk: the resume polled the stored ids");
    assert_eq!(store.batch_job_counts(run_id).unwrap(), local_data::BatchJobCounts { jobs: 2, open: 0 });
}

/// Cancelling a batch run cancels its batches at the provider, so they stop
/// processing what is left; a resume collects what they had answered (here
/// nothing) and submits nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_batch_run_cancels_its_batches_at_the_provider() {
    let fake = fake().await;
    fake.set_batch_polls(u64::MAX);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let prompts: Vec<String> = (0..3).map(|i| format!("item {i}")).collect();
    let dataset = approved_requests_for(&path, "items", "openai", &prompts);
    let engine = engine(&path, &fake.base_url());
    let store = Store::open(&path).unwrap();

    let handle = engine.start_with(dataset, None, BATCH).await.unwrap();
    let run_id = handle.run_id;
    tokio::task::block_in_place(|| {
        wait_until("both batches submitted", || store.batch_job_counts(run_id).unwrap().open == 2)
    });
    handle.cancel();
    let progress = tokio::time::timeout(DEADLINE, handle.wait()).await.unwrap().unwrap();
    assert_eq!(progress.status, RunStatus::Cancelled);
    let note = progress.note.unwrap_or_default();
    assert!(note.contains("its 2 batches were cancelled at the provider"), "{note}");
    let cancels: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/cancel"))
        .map(|r| r.path)
        .collect();
    assert_eq!(cancels.len(), 2, "each open batch cancelled once: {cancels:?}");

    let resumed = tokio::time::timeout(DEADLINE, engine.resume(run_id).await.unwrap().wait()).await.unwrap().unwrap();
    assert_eq!((resumed.status, resumed.answered, resumed.failed), (RunStatus::Completed, 0, 3), "{resumed:?}");
    assert_eq!(batch_creates(&fake), 2, "collected, not submitted again");
}
