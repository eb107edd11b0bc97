//! Deliveries to a real loopback receiver that verifies signatures with
//! `notify_hooks::verify`, logged in a real SQLite database.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use local_data::Store;
use notify_hooks::{
    DEFAULT_TOLERANCE, DeliveryLog, Dispatcher, Event, EventKind, Preset, Resolver, RetryPolicy, StoreLog, Target,
    VerifyError, verify,
};
use secrets::Secret;
use serde_json::json;
use support::{Receiver, Verdict};

const SECRET: &str = "whsec-0123456789abcdef-test";

fn fast() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        ..RetryPolicy::default()
    }
}

struct Log {
    _dir: tempfile::TempDir,
    store: Arc<Mutex<Store>>,
    log: Arc<dyn DeliveryLog>,
}

fn log() -> Log {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Mutex::new(Store::open(dir.path().join("local.db")).unwrap()));
    Log { _dir: dir, log: Arc::new(StoreLog::new(store.clone())), store }
}

impl Log {
    fn rows(&self) -> Vec<local_data::HookDelivery> {
        let mut rows = self.store.lock().unwrap().hook_deliveries(None, 100).unwrap();
        rows.reverse();
        rows
    }
}

fn target(receiver: &Receiver, secret: &str) -> Target {
    let url = Secret::new(format!("{}/hooks/in", receiver.url));
    Target::new(7, "ops", Preset::Generic, url, Some(Secret::new(secret))).unwrap()
}

fn finished_event() -> Event {
    Event::new(EventKind::RunFinished, "Run 3 finished: 9 answered, 1 failed", json!({ "runId": 3, "answered": 9 }))
}

/// `finished_event()` delivered to `receiver`'s endpoint signed with [`SECRET`].
async fn deliver_finished(receiver: &Receiver, policy: &RetryPolicy, log: &Log) -> notify_hooks::Delivery {
    let client = notify_hooks::client(policy).unwrap();
    notify_hooks::deliver(&client, policy, &target(receiver, SECRET), &finished_event(), &log.log).await
}

#[tokio::test]
async fn a_signed_event_is_verified_and_accepted_and_logged() {
    let receiver = Receiver::start(SECRET).await;
    let log = log();
    let event = finished_event();
    let delivery = notify_hooks::deliver(
        &notify_hooks::client(&fast()).unwrap(),
        &fast(),
        &target(&receiver, SECRET),
        &event,
        &log.log,
    )
    .await;
    assert!(delivery.delivered, "{delivery:?}");
    assert_eq!((delivery.attempts, delivery.status), (1, Some(204)));

    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].verdict, Verdict::Accepted);
    assert_eq!(got[0].headers[notify_hooks::EVENT_ID_HEADER], event.id.as_str());
    assert_eq!(got[0].headers[notify_hooks::EVENT_KIND_HEADER], "run.finished");
    assert_eq!(got[0].headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!((body["type"].as_str(), body["id"].as_str()), (Some("run.finished"), Some(event.id.as_str())));

    let rows = log.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].event.as_str(), rows[0].attempt, rows[0].outcome.as_str()), ("run.finished", 1, "delivered"));
    assert_eq!((rows[0].endpoint.as_str(), rows[0].status), ("ops", Some(204)));
    assert_eq!(rows[0].host, receiver.url.trim_start_matches("http://"));
}

#[tokio::test]
async fn two_500s_then_200_is_three_attempts_logged_and_delivered() {
    let receiver = Receiver::start(SECRET).await;
    receiver.script(&[(500, None), (503, None)]);
    let log = log();
    let delivery = deliver_finished(&receiver, &fast(), &log).await;
    assert!(delivery.delivered, "{delivery:?}");
    assert_eq!(delivery.attempts, 3);
    let verdicts: Vec<_> = receiver.received().into_iter().map(|r| r.verdict).collect();
    assert_eq!(verdicts, [Verdict::Scripted(500), Verdict::Scripted(503), Verdict::Accepted]);
    let rows: Vec<_> = log.rows().into_iter().map(|r| (r.attempt, r.outcome, r.status)).collect();
    assert_eq!(
        rows,
        [(1, "retrying".into(), Some(500)), (2, "retrying".into(), Some(503)), (3, "delivered".into(), Some(204))]
    );
    // The same event id on every attempt, so a receiver can drop duplicates.
    let ids: std::collections::HashSet<_> =
        receiver.received().iter().map(|r| r.headers[notify_hooks::EVENT_ID_HEADER].clone()).collect();
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn attempts_are_bounded() {
    let receiver = Receiver::start(SECRET).await;
    receiver.script(&[(500, None); 10]);
    let log = log();
    let policy = RetryPolicy { max_attempts: 3, ..fast() };
    let delivery = deliver_finished(&receiver, &policy, &log).await;
    assert!(!delivery.delivered);
    assert_eq!(delivery.attempts, 3);
    assert!(delivery.error.as_deref().unwrap().contains("gave up after 3 attempts"), "{delivery:?}");
    assert_eq!(receiver.received().len(), 3);
    assert_eq!(log.rows().last().unwrap().outcome, "failed");
}

#[tokio::test]
async fn a_replayed_request_is_refused_by_verify_and_by_its_event_id() {
    let receiver = Receiver::start(SECRET).await;
    let log = log();
    let delivery = deliver_finished(&receiver, &fast(), &log).await;
    assert!(delivery.delivered);
    let original = receiver.received().remove(0);
    let header = original.headers[notify_hooks::SIGNATURE_HEADER].to_str().unwrap().to_owned();

    // Replayed after the tolerance: the same body and header, refused as too old.
    let later = notify_hooks::unix_now() + DEFAULT_TOLERANCE.as_secs() + 1;
    assert!(matches!(
        verify(SECRET.as_bytes(), &header, &original.body, later, DEFAULT_TOLERANCE),
        Err(VerifyError::Expired { .. })
    ));

    // Replayed at once: the signature is still fresh, but the event id was handled.
    let replay = reqwest::Client::new()
        .post(format!("{}/hooks/in", receiver.url))
        .headers(original.headers.clone())
        .body(original.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 409);
    assert_eq!(receiver.received()[1].verdict, Verdict::Duplicate);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_a_4xx_is_not_retried() {
    let receiver = Receiver::start(SECRET).await;
    let log = log();
    let wrong = target(&receiver, "whsec-not-the-receivers-secret");
    let delivery =
        notify_hooks::deliver(&notify_hooks::client(&fast()).unwrap(), &fast(), &wrong, &finished_event(), &log.log)
            .await;
    assert!(!delivery.delivered);
    assert_eq!((delivery.attempts, delivery.status), (1, Some(401)), "{delivery:?}");
    assert!(matches!(&receiver.received()[0].verdict, Verdict::BadSignature(why) if why.contains("does not match")));
    let rows = log.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].outcome.as_str(), rows[0].status), ("failed", Some(401)));

    // Every other 4xx is final too.
    for status in [400, 403, 404, 410, 422] {
        let receiver = Receiver::start(SECRET).await;
        receiver.script(&[(status, None)]);
        let delivery = deliver_finished(&receiver, &fast(), &log).await;
        assert_eq!((delivery.delivered, delivery.attempts, delivery.status), (false, 1, Some(status)));
        assert_eq!(receiver.received().len(), 1, "{status} not retried");
    }
}

#[tokio::test]
async fn a_429_waits_for_its_retry_after_and_a_long_one_is_not_waited_for() {
    let receiver = Receiver::start(SECRET).await;
    receiver.script(&[(429, Some("1"))]);
    let log = log();
    let delivery = deliver_finished(&receiver, &fast(), &log).await;
    assert!(delivery.delivered && delivery.attempts == 2, "{delivery:?}");
    let got = receiver.received();
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}, before the Retry-After of 1 s");

    let receiver = Receiver::start(SECRET).await;
    receiver.script(&[(429, Some("3600"))]);
    let delivery = deliver_finished(&receiver, &fast(), &log).await;
    assert!(!delivery.delivered);
    assert_eq!(delivery.attempts, 1);
    assert!(delivery.error.unwrap().contains("3600 s"));
}

#[tokio::test]
async fn a_network_error_is_retried() {
    // A port that was listening and is closed now: connection refused.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/x", closed.local_addr().unwrap());
    drop(closed);
    let log = log();
    let policy = RetryPolicy { max_attempts: 2, ..fast() };
    let target = Target::new(1, "gone", Preset::Generic, Secret::new(url), Some(Secret::new(SECRET))).unwrap();
    let delivery =
        notify_hooks::deliver(&notify_hooks::client(&policy).unwrap(), &policy, &target, &finished_event(), &log.log)
            .await;
    assert_eq!((delivery.delivered, delivery.attempts, delivery.status), (false, 2, None));
    assert!(delivery.error.as_deref().unwrap().starts_with("could not connect"), "{delivery:?}");
    let outcomes: Vec<_> = log.rows().into_iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, ["retrying", "failed"]);
}

#[tokio::test]
async fn slack_and_teams_presets_arrive_in_their_formats() {
    let receiver = Receiver::start(SECRET).await;
    let log = log();
    for preset in [Preset::Slack, Preset::Teams] {
        let url = Secret::new(format!("{}/services/T0/B0/token", receiver.url));
        let target = Target::new(2, "chat", preset, url, None).unwrap();
        receiver.script(&[(200, None)]); // a chat service checks no signature
        let delivery = notify_hooks::deliver(
            &notify_hooks::client(&fast()).unwrap(),
            &fast(),
            &target,
            &finished_event(),
            &log.log,
        )
        .await;
        assert!(delivery.delivered, "{delivery:?}");
    }
    let got = receiver.received();
    assert!(!got[0].headers.contains_key(notify_hooks::SIGNATURE_HEADER), "no secret, no signature");
    let slack: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert!(slack["text"].as_str().unwrap().starts_with("Run finished"));
    let teams: serde_json::Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(teams["attachments"][0]["content"]["type"], "AdaptiveCard");
}

struct Fixed(Vec<Target>, Arc<Mutex<()>>);

impl Resolver for Fixed {
    fn targets(&self, _kind: EventKind) -> Result<Vec<Target>, notify_hooks::Error> {
        let _held = self.1.lock().unwrap();
        Ok(self.0.clone())
    }

    fn target(&self, endpoint_id: i64) -> Result<Option<Target>, notify_hooks::Error> {
        Ok(self.0.iter().find(|t| t.endpoint_id == endpoint_id).cloned())
    }
}

/// Dispatching only queues: with the worker stuck, a full queue drops
/// events (and says so) instead of making the caller wait; once the worker
/// goes on, the queued events are delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_never_waits_and_delivers_in_the_background() {
    let receiver = Receiver::start(SECRET).await;
    let log = log();
    let gate = Arc::new(Mutex::new(()));
    let held = gate.lock().unwrap();
    let resolver = Arc::new(Fixed(vec![target(&receiver, SECRET)], gate.clone()));
    let dispatcher = Dispatcher::start(&tokio::runtime::Handle::current(), resolver, log.log.clone(), fast()).unwrap();
    let queued = (0..300).filter(|_| dispatcher.dispatch(finished_event())).count();
    assert!((256..300).contains(&queued), "{queued} queued: the queue is bounded and never blocks");
    drop(held);
    let got = receiver.wait_for(queued).await;
    assert!(got.iter().all(|r| r.verdict == Verdict::Accepted));
}

/// Waits (deadline 10 s) until `done` holds for the log's rows.
async fn wait_for_rows(log: &Log, done: impl Fn(&[local_data::HookDelivery]) -> bool) -> Vec<local_data::HookDelivery> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = log.rows();
        if done(&rows) {
            return rows;
        }
        assert!(std::time::Instant::now() < deadline, "the log never got there: {rows:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A delivery still retrying when the app quits is not lost: the next
/// launch's dispatcher sends it again from the outbox, with the same event
/// id, numbering its attempts on, and the outbox is empty once it is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_retrying_at_quit_is_finished_by_the_next_launch() {
    let receiver = Receiver::start(SECRET).await;
    receiver.script(&[(503, None)]);
    let log = log();
    let resolver = Arc::new(Fixed(vec![target(&receiver, SECRET)], Arc::default()));
    // The first launch waits a minute before its second attempt: it quits first.
    let patient = RetryPolicy { base_delay: Duration::from_secs(60), max_delay: Duration::from_secs(60), ..fast() };
    let first_launch = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let dispatcher = Dispatcher::start(first_launch.handle(), resolver.clone(), log.log.clone(), patient).unwrap();
    let event = finished_event();
    assert!(dispatcher.dispatch(event.clone()));
    wait_for_rows(&log, |rows| rows.iter().any(|r| r.outcome == "retrying")).await;
    first_launch.shutdown_background();
    drop(dispatcher);
    let pending = log.store.lock().unwrap().pending_hook_deliveries().unwrap();
    assert_eq!(pending.len(), 1, "kept in the outbox across the quit");
    assert_eq!((pending[0].event_id.as_str(), pending[0].attempts), (event.id.as_str(), 1));

    let _next_launch =
        Dispatcher::start(&tokio::runtime::Handle::current(), resolver, log.log.clone(), fast()).unwrap();
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1].verdict, Verdict::Accepted);
    assert_eq!(
        got[1].headers[notify_hooks::EVENT_ID_HEADER],
        event.id.as_str(),
        "the same event, so receivers can drop a duplicate"
    );
    let rows = wait_for_rows(&log, |rows| rows.iter().any(|r| r.outcome == "delivered")).await;
    let attempts: Vec<_> = rows.iter().map(|r| (r.attempt, r.outcome.as_str())).collect();
    assert_eq!(attempts, [(1, "retrying"), (2, "delivered")]);
    assert!(
        log.store.lock().unwrap().pending_hook_deliveries().unwrap().is_empty(),
        "finished deliveries leave the outbox"
    );
}

/// What the outbox holds for an endpoint deleted since is dropped at start, not sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_delivery_to_a_deleted_endpoint_is_dropped() {
    let receiver = Receiver::start(SECRET).await;
    let log = log();
    let event = finished_event();
    log.store.lock().unwrap().queue_hook_delivery(&event.id, 99, &serde_json::to_string(&event).unwrap()).unwrap();
    let resolver = Arc::new(Fixed(vec![target(&receiver, SECRET)], Arc::default()));
    let _dispatcher = Dispatcher::start(&tokio::runtime::Handle::current(), resolver, log.log.clone(), fast()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !log.store.lock().unwrap().pending_hook_deliveries().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the outbox entry was never dropped");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(receiver.received().is_empty(), "nothing sent for a deleted endpoint");
}

/// The store's log, its outbox read made slow, noting when the read ends and
/// when a delivery is queued.
struct SlowOutboxRead {
    inner: Arc<dyn DeliveryLog>,
    order: Mutex<Vec<&'static str>>,
}

impl DeliveryLog for SlowOutboxRead {
    fn record(&self, attempt: &notify_hooks::AttemptRecord) {
        self.inner.record(attempt);
    }
    fn queued(&self, target: &Target, event: &Event) {
        self.order.lock().unwrap().push("queued");
        self.inner.queued(target, event);
    }
    fn pending(&self) -> Vec<notify_hooks::Pending> {
        // Widens the window in which a launch's own first event could be queued before the read ends.
        std::thread::sleep(Duration::from_millis(300));
        let pending = self.inner.pending();
        self.order.lock().unwrap().push("outbox read");
        pending
    }
    fn forget(&self, event_id: &str, endpoint_id: i64) {
        self.inner.forget(event_id, endpoint_id);
    }
}

/// A launch resumes only what the last launch left: it reads the outbox
/// before queuing its own first event, which would otherwise be read back
/// and sent twice (a race the CI dry run hit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_is_read_before_this_launch_queues_anything() {
    let receiver = Receiver::start(SECRET).await;
    let log = log();
    let slow = Arc::new(SlowOutboxRead { inner: log.log.clone(), order: Mutex::default() });
    let resolver = Arc::new(Fixed(vec![target(&receiver, SECRET)], Arc::default()));
    let dispatcher = Dispatcher::start(&tokio::runtime::Handle::current(), resolver, slow.clone(), fast()).unwrap();
    assert!(dispatcher.dispatch(finished_event()));
    wait_for_rows(&log, |rows| rows.iter().any(|r| r.outcome == "delivered")).await;
    assert_eq!(slow.order.lock().unwrap().clone(), ["outbox read", "queued"]);
    assert_eq!(receiver.received().len(), 1, "sent once");
}
