//! A run killed with SIGKILL mid-way, then resumed.
//!
//! The engine runs in a child process: this same test binary, re-run with
//! only [`engine_child_process`] selected. The fake provider lives in this
//! (parent) process, so its request log survives the kill.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};

use local_data::{ResponseQuery, RunStatus, Store};
use runs::Engine;

use crate::{DEADLINE, approved_requests, client, fake, wait_until};

const DB_VAR: &str = "RUNS_CRASH_CHILD_DB";
const URL_VAR: &str = "RUNS_CRASH_CHILD_URL";
const RUN_VAR: &str = "RUNS_CRASH_CHILD_RUN";
const REQUESTS: usize = 16;

/// The marker of request `i`, unique in every prompt.
fn marker(i: usize) -> String {
    format!("<<item-{i}>>")
}

#[tokio::test]
#[ignore = "run as a child process by crash_mid_run_then_resume"]
async fn engine_child_process() {
    let (Ok(db), Ok(url), Ok(run)) = (std::env::var(DB_VAR), std::env::var(URL_VAR), std::env::var(RUN_VAR)) else {
        panic!("only crash_mid_run_then_resume runs this, with {DB_VAR}, {URL_VAR} and {RUN_VAR} set");
    };
    let engine = Engine::new(Store::open(db).unwrap(), [client(&url)], 2);
    let handle = engine.resume(run.parse().unwrap()).await.unwrap();
    handle.wait().await.unwrap();
}

// Multi-threaded: this thread blocks polling the database while the fake provider answers the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_mid_run_then_resume() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    // The first few answer at once; the rest take a while, so some are in flight at the kill.
    let prompts: Vec<String> = (0..REQUESTS)
        .map(|i| {
            let delay = if i < 4 { "" } else { "[fake:delay:300]" };
            format!("{} {delay}", marker(i))
        })
        .collect();
    let dataset = approved_requests(&path, &prompts);
    let mut store = Store::open(&path).unwrap();
    let run_id = store.create_run(dataset, None).unwrap().run_id;

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash::engine_child_process", "--ignored", "--nocapture", "--test-threads=1"])
        .env(DB_VAR, &path)
        .env(URL_VAR, fake.base_url())
        .env(RUN_VAR, run_id.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("4 answers stored by the child", || store.run_progress(run_id).unwrap().answered >= 4);
    child.kill().unwrap(); // SIGKILL: no destructor, no cleanup
    child.wait().unwrap();

    let at_crash = store.run_progress(run_id).unwrap();
    assert_eq!(at_crash.status, RunStatus::Running, "the run was interrupted, not finished");
    assert!(at_crash.answered < REQUESTS as u64, "the kill came mid-run: {at_crash:?}");
    assert!(at_crash.in_flight >= 1, "some requests were in flight at the kill: {at_crash:?}");
    let answered_before = answered_markers(&store, dataset);
    assert_eq!(answered_before.len() as u64, at_crash.answered);
    assert_eq!(store.unfinished_runs().unwrap().len(), 1, "the app would offer to resume it");

    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 2);
    let progress = tokio::time::timeout(DEADLINE, engine.resume(run_id).await.unwrap().wait()).await.unwrap().unwrap();

    assert_eq!(progress.status, RunStatus::Completed);
    assert_eq!((progress.answered, progress.failed), (REQUESTS as u64, 0), "none lost");
    let answered_after = answered_markers(&store, dataset);
    assert_eq!(answered_after.len(), REQUESTS, "every approved request has an answer");

    let sent = sent_counts(&fake);
    for marker in &answered_before {
        assert_eq!(sent.get(marker), Some(&1), "{marker} was answered before the crash and must not be sent again");
    }
    let resent: Vec<_> = sent.iter().filter(|(_, n)| **n > 1).map(|(m, _)| m.clone()).collect();
    assert!(
        resent.len() as u64 <= at_crash.in_flight,
        "only requests in flight at the crash may be sent twice: {resent:?}, {at_crash:?}"
    );
}

/// Markers of the requests that have a stored answer.
fn answered_markers(store: &Store, dataset_id: i64) -> BTreeSet<String> {
    let query = ResponseQuery { dataset_id, limit: 1000, ..Default::default() };
    store.responses(&query).unwrap().items.iter().map(|r| marker_of(&r.prompt)).collect()
}

/// How many times the fake provider received each request.
fn sent_counts(fake: &fake_provider::FakeProvider) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in fake.requests().iter().filter(|r| r.path == "/v1/chat/completions") {
        let body = request.json().unwrap();
        let prompt = body["messages"][0]["content"].as_str().unwrap().to_owned();
        *counts.entry(marker_of(&prompt)).or_insert(0) += 1;
    }
    counts
}

fn marker_of(prompt: &str) -> String {
    prompt.split_whitespace().next().unwrap().to_owned()
}
