//! Token verification latency (issue 18: p99 ≤ 1 ms), over HTTP on loopback
//! against the service on SQLite, next to `GET /health` on the same
//! connection as the baseline measured in the same run. `cargo xtask bench`
//! runs it in release mode; `-- N` sets the number of requests (5000).
#![allow(clippy::unwrap_used)] // a benchmark: a failed setup step should fail loudly

use std::time::{Duration, Instant};

use auth_service::fixture::AuthServer;
use serde_json::json;

#[tokio::main]
async fn main() {
    let count: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(5000);
    let auth = AuthServer::start().await;
    let base = auth.base.clone();
    let session = auth.admin_session().await;
    let (token, _) = auth.api_token(&session, &["publish"], 3600).await;
    let http = reqwest::Client::new();
    let body = serde_json::to_vec(&json!({ "token": token })).unwrap();

    let health = measure(count, || {
        let request = http.get(format!("{base}/health"));
        async move { request.send().await.unwrap().status().as_u16() }
    })
    .await;
    let verify = measure(count, || {
        let request =
            http.post(format!("{base}/api/v1/verify")).header("content-type", "application/json").body(body.clone());
        async move { request.send().await.unwrap().status().as_u16() }
    })
    .await;
    println!("{count} sequential requests each, one keep-alive connection, SQLite");
    println!("GET /health (baseline)   p50 {:>7.1} µs   p99 {:>7.1} µs", micros(health.0), micros(health.1));
    println!("POST /api/v1/verify      p50 {:>7.1} µs   p99 {:>7.1} µs", micros(verify.0), micros(verify.1));
    println!(
        "verify p99 = {:.2}× the baseline's p99; goal p99 ≤ 1000 µs: {}",
        verify.1.as_secs_f64() / health.1.as_secs_f64(),
        if verify.1 <= Duration::from_millis(1) { "met" } else { "NOT met" }
    );
}

/// p50 and p99 of `count` calls (after 200 to warm up), each expected to answer 200.
async fn measure<F, Fut>(count: usize, mut call: F) -> (Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = u16>,
{
    for _ in 0..200 {
        assert_eq!(call().await, 200);
    }
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        assert_eq!(call().await, 200);
        times.push(started.elapsed());
    }
    times.sort();
    (times[count / 2], times[(count * 99 / 100).min(count - 1)])
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}
