//! Quota-aware runs (issue 17, point 4) against the fake provider's real
//! wire formats: a used-up quota, a 429 storm, a spent request window, a
//! pause and a budget cap each stop or slow a run cleanly, and a resume
//! finishes it with nothing lost and nothing sent twice.

use std::collections::BTreeSet;
use std::time::Duration;

use fake_provider::{Behaviour, RateLimitWindow};
use local_data::{ResponseQuery, RunProgress, RunStatus, Store};
use runs::{Engine, RunEvent, RunHandle, RunOptions};

use crate::{DEADLINE, approved_requests, approved_requests_for, client, client_as, fake};

fn prompts(n: usize, directive: &str) -> Vec<String> {
    (0..n).map(|i| format!("<<item-{i}>> {directive}")).collect()
}

async fn collect(mut handle: RunHandle) -> (Vec<RunEvent>, RunProgress) {
    let events = async {
        let mut events = Vec::new();
        while let Some(event) = handle.events.recv().await {
            events.push(event);
        }
        events
    };
    let events = tokio::time::timeout(DEADLINE, events).await.expect("the run ended in time");
    (events, handle.wait().await.unwrap())
}

/// The prompt marker (`<<item-N>>`) of every chat request the fake received, in order.
fn sent(fake: &fake_provider::FakeProvider) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .map(|r| {
            let body = r.json().unwrap();
            let prompt = body["messages"][0]["content"].as_str().unwrap().to_owned();
            prompt.split_whitespace().next().unwrap().to_owned()
        })
        .collect()
}

fn stops(events: &[RunEvent]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Stopping { code, reason, .. } => Some((code.clone(), reason.clone())),
            _ => None,
        })
        .collect()
}

fn count(events: &[RunEvent], what: fn(&RunEvent) -> bool) -> usize {
    events.iter().filter(|e| what(e)).count()
}

#[tokio::test]
async fn a_used_up_quota_stops_the_run_cleanly_and_a_resume_finishes_it_sending_nothing_twice() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    // Slow answers, so two are still in flight when the third request finds the quota used up.
    let dataset = approved_requests(&path, &prompts(8, "[fake:delay:300]"));
    fake.set_quota(Some(2));
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 3);

    let (events, progress) = collect(engine.start(dataset, None).await.unwrap()).await;

    let stops = stops(&events);
    assert_eq!(stops.len(), 1, "{events:?}");
    assert_eq!(stops[0].0, "quota_exhausted");
    assert!(stops[0].1.starts_with("quota exhausted at fake: You exceeded your current quota"), "{}", stops[0].1);
    assert_eq!(progress.status, RunStatus::Paused, "resumable");
    assert_eq!(progress.note.as_deref(), Some(stops[0].1.as_str()), "the run says why it stopped");
    assert_eq!(
        (progress.answered, progress.failed, progress.in_flight, progress.queued),
        (2, 0, 0, 6),
        "the two in flight finished; the refused one went back to the queue, not to the failures"
    );
    assert_eq!(count(&events, |e| matches!(e, RunEvent::Retrying { .. })), 0, "a used-up quota is not retried");
    let first = sent(&fake);
    assert_eq!(first.len(), 3, "nothing was sent after the quota error: {first:?}");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.unfinished_runs().unwrap().len(), 1, "offered for resume");

    fake.set_quota(None);
    let (_, progress) = collect(engine.resume(progress.run_id).await.unwrap()).await;
    assert_eq!((progress.status, progress.answered, progress.failed), (RunStatus::Completed, 8, 0));
    let answered_first: BTreeSet<String> = {
        let query = ResponseQuery { dataset_id: dataset, limit: 100, ..Default::default() };
        store
            .responses(&query)
            .unwrap()
            .items
            .iter()
            .map(|r| r.prompt.split_whitespace().next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(answered_first.len(), 8, "every request has its answer");
    let all = sent(&fake);
    let resumed = &all[first.len()..];
    assert_eq!(resumed.len(), 6, "the six unanswered ones, once each: {resumed:?}");
    let resumed: BTreeSet<&String> = resumed.iter().collect();
    assert_eq!(resumed.len(), 6, "none twice");
    let answered_before: Vec<&String> = first.iter().filter(|p| !resumed.contains(p)).collect();
    assert_eq!(answered_before.len(), 2, "the two answered before the stop were not sent again: {all:?}");
}

#[tokio::test]
async fn a_429_storm_lowers_the_runs_concurrency() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let dataset = approved_requests(&path, &prompts(8, "[fake:delay:150]"));
    // The first behaviour goes to the engine's reachability check (the model list).
    fake.push(Behaviour::answer());
    for _ in 0..4 {
        fake.push(Behaviour::rate_limited_for(1));
    }
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 4);
    let mut handle = engine.start(dataset, None).await.unwrap();

    let mut events = Vec::new();
    let mut answered = 0;
    let follow = async {
        while let Some(event) = handle.events.recv().await {
            if matches!(event, RunEvent::Answered { .. }) {
                answered += 1;
                if answered == 4 {
                    // The storm's four are answered: from here the lowered limit holds.
                    fake.reset_max_in_flight();
                }
            }
            events.push(event);
        }
    };
    tokio::time::timeout(DEADLINE, follow).await.unwrap();
    let progress = handle.wait().await.unwrap();

    assert_eq!((progress.status, progress.answered, progress.failed), (RunStatus::Completed, 8, 0));
    assert!(
        fake.max_in_flight() <= 3,
        "lowered to 2, raised to 3 after {} answers: saw {}",
        runs::RECOVER_AFTER,
        fake.max_in_flight()
    );
    let changes: Vec<(u32, String)> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::ConcurrencyChanged { limit, max, message, .. } => {
                assert_eq!(*max, 4);
                Some((*limit, message.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        changes.first(),
        Some(&(2, "Concurrency lowered to 2 (fake is rate limiting)".to_owned())),
        "one storm halves the limit once: {changes:?}"
    );
    assert_eq!(changes.get(1), Some(&(3, "Concurrency raised to 3 of 4".to_owned())), "{changes:?}");
    assert_eq!(count(&events, |e| matches!(e, RunEvent::Retrying { .. })), 4);
    assert_eq!(sent(&fake).len(), 12, "eight answers and four 429s");
}

#[tokio::test]
async fn a_spent_window_is_waited_out_instead_of_drawing_429s() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let dataset = approved_requests(&path, &prompts(4, ""));
    fake.set_rate_limit(Some(RateLimitWindow { requests: 2, window: Duration::from_millis(1200) }));
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 1);

    let (events, progress) = collect(engine.start(dataset, None).await.unwrap()).await;

    assert_eq!((progress.status, progress.answered), (RunStatus::Completed, 4));
    assert_eq!(sent(&fake).len(), 4, "no request was refused and retried");
    assert_eq!(count(&events, |e| matches!(e, RunEvent::Retrying { .. })), 0, "{events:?}");
    let waits: Vec<(&str, u64)> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Waiting { message, delay_ms, .. } => Some((message.as_str(), *delay_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(waits.len(), 1, "the third request waited for the reset: {events:?}");
    assert!(
        waits[0].0.starts_with("fake: waiting ") && waits[0].0.ends_with("for the rate limit to reset"),
        "{}",
        waits[0].0
    );
    assert!(waits[0].1 > 0 && waits[0].1 <= 1300, "{}", waits[0].1);
}

/// The engine claims as many requests as it sends at once in one commit,
/// so some wait claimed (in flight on record) until a worker takes them. A
/// pause must put those back: nothing is left in flight, and a resume
/// sends each request once.
#[tokio::test]
async fn requests_claimed_ahead_go_back_to_the_queue_when_the_run_pauses() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    // The first answer comes back while the other two still wait, so its
    // worker claims three at once and takes one: two wait claimed.
    let delays = [50, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000];
    let prompts: Vec<String> =
        delays.iter().enumerate().map(|(i, ms)| format!("<<item-{i}>> [fake:delay:{ms}]")).collect();
    let dataset = approved_requests(&path, &prompts);
    let store = Store::open(&path).unwrap();
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 3);
    let live = runs::LiveRuns::new();

    let handle = engine.start(dataset, None).await.unwrap();
    let preflight = fake.request_count(); // the start's check that the provider is reachable
    let run_id = handle.run_id;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let follower = live.follow(handle, {
        let mut tx = Some(tx);
        move |event| {
            if let RunEvent::Finished { progress } = event
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(progress);
            }
        }
    });
    assert!(fake.wait_for_requests(preflight + 4, DEADLINE).await, "the fourth request reached the provider");
    let claimed = store.run_progress(run_id).unwrap();
    assert_eq!((claimed.answered, claimed.in_flight), (1, 5), "three sending and two claimed ahead: {claimed:?}");
    assert!(live.pause(run_id), "the run is live");
    let progress = tokio::time::timeout(DEADLINE, rx).await.unwrap().unwrap();
    follower.await.unwrap();

    assert_eq!(progress.status, RunStatus::Paused);
    assert_eq!(
        (progress.answered, progress.in_flight, progress.queued),
        (4, 0, 5),
        "the three sent were answered; the two claimed ahead are queued again"
    );
    assert_eq!(sent(&fake).len(), 4, "nothing new was sent after the pause");

    let (_, progress) = collect(engine.resume(run_id).await.unwrap()).await;
    assert_eq!((progress.status, progress.answered, progress.failed), (RunStatus::Completed, 9, 0));
    let all = sent(&fake);
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 9, "each request sent once: {all:?}");
    assert_eq!(all.len(), 9, "each request sent once: {all:?}");
}

#[tokio::test]
async fn a_paused_run_lets_requests_in_flight_finish_and_resumes_to_the_end() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let dataset = approved_requests(&path, &prompts(6, "[fake:delay:300]"));
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 2);
    let live = runs::LiveRuns::new();

    let handle = engine.start(dataset, None).await.unwrap();
    let run_id = handle.run_id;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut events = Vec::new();
    let mut tx = Some(tx);
    let follower = live.follow(handle, move |event| {
        events.push(event.clone());
        if let RunEvent::Finished { .. } = event
            && let Some(tx) = tx.take()
        {
            let _ = tx.send(std::mem::take(&mut events));
        }
    });
    assert!(fake.wait_for_in_flight(2, DEADLINE).await, "two requests reached the provider");
    assert!(live.pause(run_id), "the run is live");
    let events = tokio::time::timeout(DEADLINE, rx).await.unwrap().unwrap();
    follower.await.unwrap();

    assert_eq!(stops(&events), vec![("paused".to_owned(), "paused by you".to_owned())]);
    let Some(RunEvent::Finished { progress }) = events.last() else { panic!("{events:?}") };
    assert_eq!(progress.status, RunStatus::Paused);
    assert_eq!(progress.note.as_deref(), Some("paused by you"));
    assert_eq!((progress.answered, progress.queued, progress.in_flight), (2, 4, 0), "the two in flight were answered");
    assert_eq!(sent(&fake).len(), 2, "nothing new was sent after the pause");

    let (_, progress) = collect(engine.resume(run_id).await.unwrap()).await;
    assert_eq!((progress.status, progress.answered, progress.failed), (RunStatus::Completed, 6, 0));
    let all = sent(&fake);
    assert_eq!(all.len(), 6, "each request sent once: {all:?}");
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 6);
}

#[tokio::test]
async fn a_budget_cap_stops_the_run_and_is_kept_for_resume() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    // `openai` has list prices: gpt-4o-mini at $0.15 in and $0.60 out per million tokens. The fake
    // counts words: one in ("<<item-N>>"), five out ("Hello from the fake provider."), so
    // $0.00000315 an answer and three answers reach a cap of $0.000009.
    let dataset = approved_requests_for(&path, "prompts", "openai", &prompts(6, ""));
    let engine = Engine::new(Store::open(&path).unwrap(), [client_as("openai", &fake.base_url())], 1);
    let options = RunOptions { max_cost_usd: Some(0.000009), ..RunOptions::default() };

    let (events, progress) = collect(engine.start_with(dataset, None, options).await.unwrap()).await;

    let reason = "budget reached ($0.00000945 of $0.000009)";
    assert_eq!(stops(&events), vec![("budget_reached".to_owned(), reason.to_owned())]);
    assert_eq!((progress.status, progress.answered, progress.queued), (RunStatus::Paused, 3, 3));
    assert_eq!(progress.note.as_deref(), Some(reason));
    assert_eq!(sent(&fake).len(), 3);

    // The cap is the run's: a resume stops at once, sending nothing.
    let (events, progress) = collect(engine.resume(progress.run_id).await.unwrap()).await;
    assert_eq!(stops(&events), vec![("budget_reached".to_owned(), reason.to_owned())]);
    assert_eq!((progress.status, progress.answered), (RunStatus::Paused, 3));
    assert_eq!(sent(&fake).len(), 3, "nothing sent over the cap");

    // Raised, the run finishes.
    Store::open(&path).unwrap().set_run_max_cost_usd(progress.run_id, Some(1.0)).unwrap();
    let (_, progress) = collect(engine.resume(progress.run_id).await.unwrap()).await;
    assert_eq!((progress.status, progress.answered), (RunStatus::Completed, 6));
    assert_eq!(sent(&fake).len(), 6);
}

#[tokio::test]
async fn a_budget_cap_on_a_model_without_a_price_is_refused() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let dataset = approved_requests(&path, &prompts(2, ""));
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 1);
    let options = RunOptions { max_cost_usd: Some(1.0), ..RunOptions::default() };
    let err = engine.start_with(dataset, None, options).await.unwrap_err();
    assert_eq!(err.code(), "unpriced", "{err:?}");
    assert!(err.to_string().contains("fake/gpt-4o-mini has none in the price table"), "{err}");
    assert!(Store::open(&path).unwrap().unfinished_runs().unwrap().is_empty(), "no run was left behind");
    assert!(sent(&fake).is_empty());
}

#[tokio::test]
async fn a_budget_cap_counts_with_the_persons_own_prices() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let dataset = approved_requests(&path, &prompts(6, ""));
    // `fake` has no list price; the person's own row prices it like openai's gpt-4o-mini,
    // so the cap stops it where `a_budget_cap_stops_the_run_and_is_kept_for_resume` stops.
    let rates = local_data::Rates { input: Some(0.15), output: Some(0.60), ..local_data::Rates::default() };
    Store::open(&path).unwrap().set_price("fake", "gpt-4o-mini", rates).unwrap();
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 1);
    let options = RunOptions { max_cost_usd: Some(0.000009), ..RunOptions::default() };

    let (events, progress) = collect(engine.start_with(dataset, None, options).await.unwrap()).await;

    let reason = "budget reached ($0.00000945 of $0.000009)";
    assert_eq!(stops(&events), vec![("budget_reached".to_owned(), reason.to_owned())]);
    assert_eq!((progress.status, progress.answered, progress.queued), (RunStatus::Paused, 3, 3));
    assert_eq!(sent(&fake).len(), 3);
}
