//! Runs through the shell's commands (`tauri::test`) against the fake
//! provider on loopback and a real SQLite database: start → `run-event`s →
//! responses; cancel and resume; an unreachable provider refuses the run.
//!
//! The provider key goes into the real OS keychain through `set_api_key` (a
//! private gnome-keyring under `cargo xtask test`) and is deleted at the end.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{DataHarness, books_csv};
use fake_provider::{FakeConfig, FakeProvider};
use serde_json::{Value, json};
use tauri::Listener as _;

const KEY: &str = "sk-test-runs-through-the-shell";
const DEADLINE: Duration = Duration::from_secs(30);

struct Harness {
    data: DataHarness,
    events: mpsc::Receiver<Value>,
    runtime: tokio::runtime::Runtime,
}

impl Harness {
    fn new() -> Self {
        let data = DataHarness::new();
        // The person confirms moving the key to the fake provider (issue 15, point 4).
        tauri::Manager::manage(&data.app, augment_desktop::confirm::Confirmation::Answer(true));
        let (send, events) = mpsc::channel();
        data.app.listen("run-event", move |event| {
            let _ = send.send(serde_json::from_str::<Value>(event.payload()).unwrap());
        });
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        Self { data, events, runtime }
    }

    fn fake(&self) -> FakeProvider {
        let config = FakeConfig { expected_key: Some(KEY.to_owned()), ..FakeConfig::default() };
        self.runtime.block_on(FakeProvider::start(config)).unwrap()
    }

    fn point_openai_at(&self, base_url: &str) {
        self.data.ok("save_provider_settings", json!({ "provider": "openai", "baseUrl": base_url }));
    }

    /// A dataset of `rows` books with one approved request per record,
    /// rendered from `body`; returns the dataset id.
    fn approved_requests(&self, rows: usize, body: &str) -> i64 {
        let name = format!("books-{}", rand_suffix());
        let saved = self.data.ok("save_dataset", json!({ "name": name, "format": "csv", "text": books_csv(rows) }));
        let dataset = saved["dataset"]["id"].as_i64().unwrap();
        let template = self.data.ok("create_template", json!({ "name": name, "body": body }));
        let version = template["current"]["id"].as_i64().unwrap();
        let targets = json!([{ "provider": "openai", "model": "gpt-4o-mini" }]);
        self.data
            .ok("generate_requests", json!({ "datasetId": dataset, "templateVersionId": version, "targets": targets }));
        let all = json!({ "datasetId": dataset, "templateVersionId": version, "from": "pending", "to": "approved" });
        assert_eq!(self.data.ok("set_all_request_status", all), rows);
        dataset
    }

    /// `run_id` as `unfinished_runs` lists it, if it does.
    fn unfinished(&self, run_id: i64) -> Option<Value> {
        let runs = self.data.ok("unfinished_runs", json!({}));
        runs.as_array().unwrap().iter().find(|r| r["run_id"] == run_id).cloned()
    }

    /// Every event of `run_id` up to and including its `finished`.
    fn events_until_finished(&self, run_id: i64) -> Vec<Value> {
        let started = Instant::now();
        let mut seen = Vec::new();
        loop {
            let left = DEADLINE.checked_sub(started.elapsed()).expect("the run finished in time");
            let event = self.events.recv_timeout(left).expect("a run event before the deadline");
            if event["runId"] != run_id {
                continue;
            }
            let finished = event["kind"] == "finished";
            seen.push(event);
            if finished {
                return seen;
            }
        }
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

fn kinds(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["kind"] == kind).count()
}

#[test]
fn runs_send_approved_requests_report_events_cancel_resume_and_refuse_offline() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let h = Harness::new();
    let fake = h.fake();
    h.data.ok("set_api_key", json!({ "provider": "openai", "key": KEY }));
    h.point_openai_at(&fake.base_url());

    // A whole run: every request answered once, events in order.
    let dataset = h.approved_requests(12, "Describe {{ title }} by {{ author }}.");
    let progress = h.data.ok("start_run", json!({ "datasetId": dataset }));
    let run_id = progress["run_id"].as_i64().unwrap();
    assert_eq!(progress["total"], 12);
    let events = h.events_until_finished(run_id);
    assert_eq!(events[0]["kind"], "started", "{events:?}");
    assert_eq!((kinds(&events, "sending"), kinds(&events, "answered")), (12, 12));
    let finished = events.last().unwrap();
    assert_eq!(finished["progress"]["status"], "completed");
    assert_eq!(finished["progress"]["answered"], 12);
    let chats = fake.requests().into_iter().filter(|r| r.path == "/v1/chat/completions").count();
    assert_eq!(chats, 12, "each request sent once");
    let query = json!({ "dataset_id": dataset, "include_errors": true, "offset": 0, "limit": 100 });
    let responses = h.data.ok("list_responses", json!({ "query": query }));
    assert_eq!(responses["total"], 12);
    assert_eq!(responses["items"][0]["text"], "Hello from the fake provider.");
    assert_eq!(h.data.ok("run_progress", json!({ "runId": run_id }))["status"], "completed");
    let (code, message) = h.data.refused("resume_run", json!({ "runId": run_id }));
    assert_eq!(code, "data", "{message}");
    assert!(message.contains("already completed"), "{message}");
    let (code, message) = h.data.refused("start_run", json!({ "datasetId": dataset }));
    assert!(message.contains("approved"), "{code}: {message}");

    // The same requests in another dataset: answered from the AI cache, no
    // provider call; with noCache they are sent again.
    let again = h.approved_requests(12, "Describe {{ title }} by {{ author }}.");
    let calls_before = fake.request_count();
    let run_id = h.data.ok("start_run", json!({ "datasetId": again }))["run_id"].as_i64().unwrap();
    let events = h.events_until_finished(run_id);
    assert_eq!((kinds(&events, "sending"), kinds(&events, "answered")), (0, 12), "{events:?}");
    assert_eq!(events.last().unwrap()["progress"]["cached"], 12);
    assert_eq!(fake.request_count(), calls_before, "zero provider calls");
    let query = json!({ "dataset_id": again, "include_errors": true, "offset": 0, "limit": 100 });
    let responses = h.data.ok("list_responses", json!({ "query": query }));
    assert!(responses["items"].as_array().unwrap().iter().all(|r| r["cached"] == true), "{responses}");
    let fresh = h.approved_requests(12, "Describe {{ title }} by {{ author }}.");
    let run_id = h.data.ok("start_run", json!({ "datasetId": fresh, "noCache": true }))["run_id"].as_i64().unwrap();
    let events = h.events_until_finished(run_id);
    assert_eq!((kinds(&events, "sending"), events.last().unwrap()["progress"]["cached"].as_u64()), (12, Some(0)));
    let chats = fake.requests().into_iter().filter(|r| r.path == "/v1/chat/completions").count();
    assert_eq!(chats, 24, "noCache sent all twelve again");

    // Cancel: requests that never answer are abandoned and stay queued;
    // the run is offered for resume and resumes.
    let stalled = h.approved_requests(3, "{{ title }} [fake:stall]");
    let run = h.data.ok("start_run", json!({ "datasetId": stalled }))["run_id"].as_i64().unwrap();
    assert!(h.runtime.block_on(fake.wait_for_in_flight(3, DEADLINE)), "three requests reached the provider");
    assert!(h.unfinished(run).is_none(), "a run being sent is not offered for resume");
    assert_eq!(h.data.ok("cancel_run", json!({ "runId": run })), true);
    let progress = h.events_until_finished(run).pop().unwrap()["progress"].clone();
    assert_eq!((progress["status"].as_str(), progress["queued"].as_u64()), (Some("cancelled"), Some(3)));
    // Once stopped, it is offered for resume (its requests are not taken by a new run).
    wait_until("the cancelled run to be offered for resume", || h.unfinished(run).is_some());
    assert_eq!(h.data.ok("cancel_run", json!({ "runId": run })), false, "nothing left to cancel");
    let (_, message) = h.data.refused("start_run", json!({ "datasetId": stalled }));
    assert!(message.contains("no approved requests"), "the queued requests belong to the cancelled run: {message}");
    let resumed = h.data.ok("resume_run", json!({ "runId": run }));
    assert_eq!(resumed["status"], "running");
    assert!(h.runtime.block_on(fake.wait_for_in_flight(3, DEADLINE)), "the resumed run sends again");
    let (code, message) = h.data.refused("resume_run", json!({ "runId": run }));
    assert_eq!(code, "invalidInput", "a run is never sent twice at once: {message}");
    assert!(message.contains("already sending"), "{message}");
    assert_eq!(h.data.ok("cancel_run", json!({ "runId": run })), true);
    h.events_until_finished(run);

    // Pause (host API 1.5.0): the four in flight finish, the rest stay queued,
    // the run says why and is offered for resume.
    let slow = h.approved_requests(6, "{{ title }} [fake:delay:400]");
    let run = h.data.ok("start_run", json!({ "datasetId": slow }))["run_id"].as_i64().unwrap();
    assert!(h.runtime.block_on(fake.wait_for_in_flight(4, DEADLINE)), "four requests reached the provider");
    assert_eq!(h.data.ok("pause_run", json!({ "runId": run })), true);
    let events = h.events_until_finished(run);
    let stopping: Vec<_> = events.iter().filter(|e| e["kind"] == "stopping").collect();
    assert_eq!(stopping.len(), 1, "{events:?}");
    assert_eq!((stopping[0]["code"].as_str(), stopping[0]["reason"].as_str()), (Some("paused"), Some("paused by you")));
    let progress = events.last().unwrap()["progress"].clone();
    assert_eq!(
        (progress["status"].as_str(), progress["answered"].as_u64(), progress["queued"].as_u64()),
        (Some("paused"), Some(4), Some(2)),
        "{progress}"
    );
    assert_eq!(progress["note"], "paused by you");
    wait_until("the paused run to be offered for resume", || h.unfinished(run).is_some());
    assert_eq!(h.data.ok("pause_run", json!({ "runId": run })), false, "nothing left to pause");
    let (code, message) = h.data.refused("start_run", json!({ "datasetId": slow, "maxCostUsd": 0.0 }));
    assert_eq!(code, "invalidInput", "{message}");
    assert!(message.contains("maxCostUsd must be more than 0"), "{message}");
    let (code, message) = h.data.refused("resume_run", json!({ "runId": run, "maxCostUsd": -1.0 }));
    assert_eq!(code, "invalidInput", "{message}");
    // A cap on resume the four answers already passed: the run stops at once, sending nothing.
    let chats = |fake: &FakeProvider| fake.requests().into_iter().filter(|r| r.path == "/v1/chat/completions").count();
    let sent_before = chats(&fake);
    h.data.ok("resume_run", json!({ "runId": run, "maxCostUsd": 0.0000001 }));
    let progress = h.events_until_finished(run).pop().unwrap()["progress"].clone();
    assert_eq!((progress["status"].as_str(), progress["answered"].as_u64()), (Some("paused"), Some(4)), "{progress}");
    assert!(progress["note"].as_str().unwrap().starts_with("budget reached ($"), "{progress}");
    assert_eq!(chats(&fake), sent_before, "nothing sent over the cap");
    // A raised cap goes on to the end.
    wait_until("the capped run to be offered for resume", || h.unfinished(run).is_some());
    h.data.ok("resume_run", json!({ "runId": run, "maxCostUsd": 5.0 }));
    let progress = h.events_until_finished(run).pop().unwrap()["progress"].clone();
    assert_eq!((progress["status"].as_str(), progress["answered"].as_u64()), (Some("completed"), Some(6)));

    // Offline: nothing is sent and no run is left behind.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    h.point_openai_at(&closed_url);
    let fresh = h.approved_requests(2, "{{ title }}");
    let before = h.data.ok("unfinished_runs", json!({}));
    let (code, message) = h.data.refused("start_run", json!({ "datasetId": fresh }));
    assert_eq!(code, "offline", "{message}");
    assert!(message.contains("cannot be reached"), "{message}");
    assert_eq!(h.data.ok("unfinished_runs", json!({})), before, "the refused run left nothing behind");

    for (args, needle) in
        [(json!({ "datasetId": 0 }), "positive"), (json!({ "datasetId": 1, "templateVersionId": -1 }), "positive")]
    {
        let (code, message) = h.data.refused("start_run", args);
        assert_eq!(code, "invalidInput");
        assert!(message.contains(needle), "{message}");
    }
    h.data.ok("delete_api_key", json!({ "provider": "openai" }));
}

/// Issue 17, point 7: a local OpenAI-compatible server the person added
/// (a `/v1` base URL, no key) is a provider runs send to like the built-in ones.
#[test]
fn a_run_sends_to_an_added_keyless_provider() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let h = Harness::new();
    let fake = h.runtime.block_on(FakeProvider::start(FakeConfig::default())).unwrap();
    let base_url = format!("{}/v1", fake.base_url());
    h.data.ok("add_provider", json!({ "provider": "local-llm", "kind": "openai-compatible", "baseUrl": base_url }));

    let saved = h.data.ok("save_dataset", json!({ "name": "local", "format": "csv", "text": books_csv(3) }));
    let dataset = saved["dataset"]["id"].as_i64().unwrap();
    let version =
        h.data.ok("create_template", json!({ "name": "local", "body": "About {{ title }}" }))["current"]["id"]
            .as_i64()
            .unwrap();
    let targets = json!([{ "provider": "local-llm", "model": "llama3.2" }]);
    h.data.ok("generate_requests", json!({ "datasetId": dataset, "templateVersionId": version, "targets": targets }));
    let all = json!({ "datasetId": dataset, "templateVersionId": version, "from": "pending", "to": "approved" });
    h.data.ok("set_all_request_status", all);

    let run_id = h.data.ok("start_run", json!({ "datasetId": dataset }))["run_id"].as_i64().unwrap();
    let events = h.events_until_finished(run_id);
    let finished = &events.last().unwrap()["progress"];
    assert_eq!(
        (finished["status"].as_str(), finished["answered"].as_u64()),
        (Some("completed"), Some(3)),
        "{events:?}"
    );
    let requests = fake.requests();
    assert_eq!(requests.iter().filter(|r| r.path == "/v1/chat/completions").count(), 3, "one /v1, not two");
    assert!(requests.iter().all(|r| r.header("authorization").is_none()), "no key stored, none sent");
    h.data.ok("remove_provider", json!({ "provider": "local-llm" }));
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The app quits while a batch run is polling; at the next start it polls
/// the same batch again and stores its results, without submitting again.
/// The quit is an engine on a runtime of its own shut down mid-poll (no
/// stop code of the run runs, as when the app is closed or killed).
#[test]
fn a_batch_run_the_app_was_polling_when_it_quit_is_collected_at_the_next_start() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let h = Harness::new();
    let fake = h.fake();
    h.data.ok("set_api_key", json!({ "provider": "openai", "key": KEY }));
    h.point_openai_at(&fake.base_url());
    let dataset = h.approved_requests(3, "Describe {{ title }}.");
    let database = h.data.dirs.path().join("data").join("local.db");
    fake.set_batch_polls(u64::MAX); // in progress until the app is back

    let before_quit = tokio::runtime::Runtime::new().unwrap();
    let run_id = before_quit.block_on(async {
        let mut config = providers::ProviderConfig::openai();
        config.base_url = fake.base_url();
        let key = providers::StaticKey::new(secrets::Secret::new(KEY));
        let client = providers::ProviderClient::new(config, std::sync::Arc::new(key)).unwrap();
        let store = local_data::Store::open(&database).unwrap();
        let engine = runs::Engine::new(store, [client], 4);
        let options = runs::RunOptions { batch: true, ..runs::RunOptions::default() };
        let handle = engine.start_with(dataset, None, options).await.unwrap();
        let store = local_data::Store::open(&database).unwrap();
        let started = Instant::now();
        while store.batch_job_counts(handle.run_id).unwrap().open == 0 {
            assert!(started.elapsed() < DEADLINE, "the batch was submitted");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        handle.run_id
    });
    before_quit.shutdown_background();
    assert_eq!(h.data.ok("run_progress", json!({ "runId": run_id }))["status"], "running", "interrupted mid-poll");

    fake.set_batch_polls(1);
    augment_desktop::commands::runs::resume_interrupted_batch_runs(h.data.app.handle().clone());
    let events = h.events_until_finished(run_id);
    let finished = events.last().unwrap();
    assert_eq!(finished["progress"]["status"], "completed", "{finished}");
    assert_eq!(finished["progress"]["answered"], 3, "{finished}");
    let creates = fake.requests().into_iter().filter(|r| r.method == "POST" && r.path == "/v1/batches").count();
    assert_eq!(creates, 1, "the batch was collected, never submitted again");
    assert!(h.unfinished(run_id).is_none(), "nothing left to offer for resume");
}
