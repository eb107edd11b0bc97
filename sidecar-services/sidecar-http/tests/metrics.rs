//! The standard layer's metrics over real HTTP (issue 18, point 5): errors
//! counted by route and kind, and the requests in flight rising while a
//! request is held and falling back to 0 when it is answered.
#![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use sidecar_http::HttpMetrics;
use tokio::sync::Semaphore;

/// A service with a route that waits until the test lets it answer, one
/// that fails, and one that answers; served on a loopback port.
async fn start(metrics: HttpMetrics, gate: Arc<Semaphore>) -> String {
    let router = Router::new()
        .route(
            "/hold",
            get(move || async move {
                let _permit = gate.acquire().await.unwrap();
                "released"
            }),
        )
        .route("/boom", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route("/ok", get(|| async { "ok" }));
    let app = sidecar_http::standard_layers(router, metrics);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(sidecar_http::serve_listener(listener, app, std::future::pending()));
    format!("http://{address}")
}

/// The value of the sample of `name` whose labels include every one of
/// `labels` (`key="value"` pairs), or `None` when there is none.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        (metric == name && labels.iter().all(|label| rest.contains(label))).then(|| value.parse().ok())?
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_counted_by_kind_and_in_flight_follows_held_requests() {
    let metrics = HttpMetrics::new("demo").unwrap();
    let gate = Arc::new(Semaphore::new(0));
    let base = start(metrics.clone(), gate.clone()).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    assert_eq!(http.get(format!("{base}/ok")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(format!("{base}/nowhere")).send().await.unwrap().status(), 404);
    assert_eq!(http.get(format!("{base}/boom")).send().await.unwrap().status(), 500);
    assert_eq!(http.get(format!("{base}/boom")).send().await.unwrap().status(), 500);
    let text = metrics.render();
    let errors = "demo_http_errors_total";
    assert_eq!(sample(&text, errors, &[r#"route="unmatched""#, r#"kind="client""#]), Some(1.0), "{text}");
    assert_eq!(sample(&text, errors, &[r#"route="/boom""#, r#"kind="server""#]), Some(2.0), "{text}");
    assert_eq!(sample(&text, errors, &[r#"route="/ok""#]), None, "a 200 is no error: {text}");
    assert_eq!(sample(&text, "demo_http_requests_total", &[r#"route="/ok""#, r#"status="200""#]), Some(1.0));
    assert_eq!(sample(&text, "demo_http_requests_in_flight", &[]), Some(0.0), "{text}");

    // Two requests held by the route: the gauge shows both, then none.
    let held: Vec<_> = (0..2).map(|_| tokio::spawn(http.get(format!("{base}/hold")).send())).collect();
    wait_for(&metrics, 2.0).await;
    gate.add_permits(2);
    for request in held {
        assert_eq!(request.await.unwrap().unwrap().status(), 200);
    }
    wait_for(&metrics, 0.0).await;
}

/// Polls the gauge until it reads `expected`, failing after a deadline.
async fn wait_for(metrics: &HttpMetrics, expected: f64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = metrics.render();
        let now = sample(&text, "demo_http_requests_in_flight", &[]);
        if now == Some(expected) {
            return;
        }
        assert!(Instant::now() < deadline, "in flight never reached {expected}: {now:?}\n{text}");
        tokio::time::sleep(Duration::from_millis(5)).await; // poll interval, not a readiness guess
    }
}
