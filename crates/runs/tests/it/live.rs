//! The live-run registry and the `run-event` payload (moved from the shell's
//! `commands/runs.rs`).

use local_data::{RunProgress, RunStatus, Store};
use runs::{Engine, LiveRuns, RunEvent};
use serde_json::json;

use crate::{DEADLINE, approved_requests, client, fake};

fn progress(run_id: i64) -> RunProgress {
    RunProgress {
        run_id,
        status: RunStatus::Running,
        total: 3,
        queued: 2,
        in_flight: 1,
        answered: 0,
        failed: 0,
        note: None,
        cached: Some(0),
        repeats: Some(1),
    }
}

/// The exact shape `RunEvent` has in `remotes/shared/host-client/src/workflow.ts`.
#[test]
fn run_events_serialise_as_the_ui_expects() {
    let counts = json!({
        "run_id": 5, "status": "running", "total": 3, "queued": 2, "in_flight": 1,
        "answered": 0, "failed": 0, "note": null, "cached": 0, "repeats": 1
    });
    let cases = [
        (RunEvent::Started { progress: progress(5) }, json!({ "kind": "started", "runId": 5, "progress": counts })),
        (
            RunEvent::Sending { run_id: 5, request_id: 9, attempt: 2 },
            json!({ "kind": "sending", "runId": 5, "requestId": 9, "attempt": 2 }),
        ),
        (
            RunEvent::Retrying { run_id: 5, request_id: 9, message: "waiting 2 s".into() },
            json!({ "kind": "retrying", "runId": 5, "requestId": 9, "message": "waiting 2 s" }),
        ),
        (RunEvent::Answered { run_id: 5, request_id: 9 }, json!({ "kind": "answered", "runId": 5, "requestId": 9 })),
        (
            RunEvent::Failed { run_id: 5, request_id: 9, code: "invalid_key".into(), message: "no".into() },
            json!({ "kind": "failed", "runId": 5, "requestId": 9, "code": "invalid_key", "message": "no" }),
        ),
        (RunEvent::Progress { progress: progress(5) }, json!({ "kind": "progress", "runId": 5, "progress": counts })),
        (RunEvent::Finished { progress: progress(5) }, json!({ "kind": "finished", "runId": 5, "progress": counts })),
        (
            RunEvent::Waiting { run_id: 5, request_id: 9, message: "fake: waiting 3 s".into(), delay_ms: 3000 },
            json!({ "kind": "waiting", "runId": 5, "requestId": 9, "message": "fake: waiting 3 s", "delayMs": 3000 }),
        ),
        (
            RunEvent::ConcurrencyChanged { run_id: 5, limit: 2, max: 4, message: "lowered".into() },
            json!({ "kind": "concurrencyChanged", "runId": 5, "limit": 2, "max": 4, "message": "lowered" }),
        ),
        (
            RunEvent::Stopping { run_id: 5, code: "paused".into(), reason: "paused by you".into() },
            json!({ "kind": "stopping", "runId": 5, "code": "paused", "reason": "paused by you" }),
        ),
    ];
    for (event, expected) in cases {
        assert_eq!(serde_json::to_value(&event).unwrap(), expected, "{event:?}");
    }
}

#[tokio::test]
async fn a_followed_run_forwards_every_event_and_leaves_the_registry_when_done() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let prompts: Vec<String> = (0..3).map(|i| format!("<<item-{i}>>")).collect();
    let dataset = approved_requests(&path, &prompts);
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 2);
    let live = LiveRuns::new();

    let handle = engine.start(dataset, None).await.unwrap();
    let run_id = handle.run_id;
    let (send, mut events) = tokio::sync::mpsc::unbounded_channel();
    let task = live.follow(handle, move |event| {
        let _ = send.send(event);
    });
    assert!(live.is_live(run_id), "live as soon as it is followed");
    assert!(live.reserve(run_id).is_err(), "a live run cannot be resumed a second time");
    tokio::time::timeout(DEADLINE, task).await.unwrap().unwrap();

    assert!(!live.is_live(run_id), "removed when sending stopped");
    let mut kinds = Vec::new();
    while let Ok(event) = events.try_recv() {
        kinds.push(serde_json::to_value(&event).unwrap()["kind"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds.first().map(String::as_str), Some("started"));
    assert_eq!(kinds.last().map(String::as_str), Some("finished"));
    assert_eq!(kinds.iter().filter(|k| *k == "answered").count(), 3);
}

#[tokio::test]
async fn a_reservation_cancelled_before_the_run_is_followed_cancels_the_run() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let prompts: Vec<String> = (0..4).map(|i| format!("<<item-{i}>> [fake:delay:200]")).collect();
    let dataset = approved_requests(&path, &prompts);
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 1);
    let live = LiveRuns::new();

    // A run to resume: started, then cancelled and finished.
    let first = engine.start(dataset, None).await.unwrap();
    let run_id = first.run_id;
    first.cancel();
    tokio::time::timeout(DEADLINE, first.wait()).await.unwrap().unwrap();

    live.reserve(run_id).unwrap();
    assert!(live.cancel(run_id), "a reserved run can be cancelled by id");
    let resumed = engine.resume(run_id).await.unwrap();
    let (send, mut events) = tokio::sync::mpsc::unbounded_channel();
    let task = live.follow(resumed, move |event| {
        let _ = send.send(event);
    });
    tokio::time::timeout(DEADLINE, task).await.unwrap().unwrap();
    let mut last = None;
    while let Ok(event) = events.try_recv() {
        last = Some(event);
    }
    match last {
        Some(RunEvent::Finished { progress }) => {
            assert_eq!(progress.status, RunStatus::Cancelled, "{progress:?}");
            assert!(progress.answered < 4, "{progress:?}");
        }
        other => panic!("the resumed run ends with Finished, not {other:?}"),
    }
    assert!(!live.is_live(run_id));
}
