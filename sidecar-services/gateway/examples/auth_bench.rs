//! The gateway with auth on vs off (issue 18: ≥ 0.9× at concurrency 64):
//! the same GETs through a stack-token gateway (the baseline) and an
//! auth-mode gateway in front of a real auth service on SQLite, in
//! alternating rounds of one run, all on loopback. A third row asks the auth
//! service on every request (`GATEWAY_AUTH_CACHE_MS=0`), for scale.
//! `cargo xtask bench` runs it in release mode; `-- N C` sets the requests
//! per round (20000) and the concurrency (64).
#![allow(clippy::unwrap_used)] // a benchmark: a failed setup step should fail loudly

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use axum::Router;
use futures_util::StreamExt as _;
use gateway::{AppState, AuthConfig, Config, RateLimit};

const STACK_TOKEN: &str = "0123456789abcdef0123456789abcdef-bench";
const ROUNDS: usize = 3;

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(sidecar_http::serve_listener(listener, router, std::future::pending()));
    addr
}

fn config(echo: SocketAddr, auth: Option<AuthConfig>) -> Config {
    let token = sidecar_http::AccessToken::new(STACK_TOKEN).unwrap();
    Config {
        access: sidecar_http::Access::new(Some(token), std::iter::empty::<String>()),
        // Out of the way: this measures verification, not the limiter's refusals.
        rate_limit: RateLimit { per_second: NonZeroU32::MAX, burst: NonZeroU32::MAX },
        auth,
        ..Config::new(format!("echo=http://{echo}").parse().unwrap())
    }
}

/// `count` GETs of `url` with `token`, `concurrency` at a time: requests per second.
async fn throughput(http: &reqwest::Client, url: &str, token: &str, count: usize, concurrency: usize) -> f64 {
    let started = Instant::now();
    let statuses: Vec<u16> = futures_util::stream::iter(0..count)
        .map(|_| {
            let request = http.get(url).bearer_auth(token);
            async move { request.send().await.unwrap().status().as_u16() }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    assert!(statuses.iter().all(|s| *s == 200), "every request passes");
    count as f64 / elapsed.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let concurrency: usize = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(64);

    let echo = serve(Router::new().fallback(|| async { "ok" })).await;
    let auth = auth_service::fixture::AuthServer::start().await;
    let auth_url = auth.base.clone();
    let session = auth.admin_session().await;
    let http = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(concurrency).build().unwrap();

    let gateway = |auth: Option<AuthConfig>| {
        let app = gateway::app(AppState::new(config(echo, auth)).unwrap());
        async move { format!("http://{}/api/echo/thing", serve(app).await) }
    };
    let off = gateway(None).await;
    let on = gateway(Some(AuthConfig::new(auth_url.parse().unwrap()))).await;
    let uncached =
        gateway(Some(AuthConfig { cache_ttl: Duration::ZERO, ..AuthConfig::new(auth_url.parse().unwrap()) })).await;

    // Warm up connections and the cache, then alternate so drift hits all alike.
    for (url, token) in [(&off, STACK_TOKEN), (&on, session.as_str()), (&uncached, session.as_str())] {
        throughput(&http, url, token, concurrency * 4, concurrency).await;
    }
    let (mut off_rps, mut on_rps, mut uncached_rps) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        off_rps.push(throughput(&http, &off, STACK_TOKEN, count, concurrency).await);
        on_rps.push(throughput(&http, &on, &session, count, concurrency).await);
        uncached_rps.push(throughput(&http, &uncached, &session, count / 4, concurrency).await);
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let (off, on, uncached) = (median(&mut off_rps), median(&mut on_rps), median(&mut uncached_rps));
    println!(
        "GET through the gateway to an echo upstream, concurrency {concurrency}, median of {ROUNDS} alternating rounds"
    );
    println!("auth off (stack token, baseline)        {off:>9.0} req/s");
    println!("auth on (verification cached ≤ 5 s)     {on:>9.0} req/s   {:.2}× baseline (goal ≥ 0.9×)", on / off);
    println!("auth on, every request verified         {uncached:>9.0} req/s   {:.2}× baseline", uncached / off);
}
