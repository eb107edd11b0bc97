//! What a delivery costs, measured against a baseline in the same run:
//! N sequential deliveries of a `run.finished` event to a loopback receiver
//! that answers 204, signed (HMAC-SHA256 header) vs unsigned, each attempt
//! logged in SQLite; and `Dispatcher::dispatch` (what a run's end pays) vs
//! a bare `Vec::push`. `cargo run -p notify-hooks --release --example delivery_cost`
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Instant;

use notify_hooks::{DeliveryLog, Dispatcher, Event, EventKind, Preset, Resolver, RetryPolicy, StoreLog, Target};
use secrets::Secret;

const N: usize = 2000;

struct NoTargets;
impl Resolver for NoTargets {
    fn targets(&self, _: EventKind) -> Result<Vec<Target>, notify_hooks::Error> {
        Ok(Vec::new())
    }
    fn target(&self, _: i64) -> Result<Option<Target>, notify_hooks::Error> {
        Ok(None)
    }
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(|| async { axum::http::StatusCode::NO_CONTENT });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Mutex::new(local_data::Store::open(dir.path().join("local.db")).unwrap()));
    let log: Arc<dyn DeliveryLog> = Arc::new(StoreLog::new(store));
    let policy = RetryPolicy::default();
    let client = notify_hooks::client(&policy).unwrap();
    let event = Event::new(EventKind::RunFinished, "Run 1 finished", serde_json::json!({ "runId": 1 }));
    let unsigned = Target::new(1, "u", Preset::Generic, Secret::new(url.clone()), None).unwrap();
    let signed =
        Target::new(2, "s", Preset::Generic, Secret::new(url), Some(Secret::new("whsec-0123456789abcdef"))).unwrap();

    let mut times = Vec::new();
    for target in [&unsigned, &signed, &unsigned, &signed] {
        let start = Instant::now();
        for _ in 0..N {
            assert!(notify_hooks::deliver(&client, &policy, target, &event, &log).await.delivered);
        }
        times.push(start.elapsed());
    }
    let (u, s) = ((times[0] + times[2]) / 2, (times[1] + times[3]) / 2);
    println!(
        "{N} deliveries (logged): unsigned {:.1} ms, signed {:.1} ms, ratio {:.3}",
        u.as_secs_f64() * 1e3,
        s.as_secs_f64() * 1e3,
        s.as_secs_f64() / u.as_secs_f64()
    );
    println!(
        "per delivery: unsigned {:.1} µs, signed {:.1} µs",
        u.as_secs_f64() * 1e6 / N as f64,
        s.as_secs_f64() * 1e6 / N as f64
    );

    let dispatcher = Dispatcher::start(&tokio::runtime::Handle::current(), Arc::new(NoTargets), log, policy).unwrap();
    let events: Vec<Event> = (0..200).map(|_| event.clone()).collect();
    let start = Instant::now();
    for e in events.clone() {
        dispatcher.dispatch(e);
    }
    let dispatch = start.elapsed();
    let mut sink = Vec::with_capacity(200);
    let start = Instant::now();
    for e in events {
        sink.push(e);
    }
    let push = start.elapsed();
    println!(
        "200 dispatches {:.1} µs ({:.2} µs each) vs 200 Vec::push {:.1} µs",
        dispatch.as_secs_f64() * 1e6,
        dispatch.as_secs_f64() * 1e6 / 200.0,
        push.as_secs_f64() * 1e6
    );
}
