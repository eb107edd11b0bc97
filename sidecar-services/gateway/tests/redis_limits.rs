//! Issue 18, point 3: with `REDIS_URL`, rate limits live in Redis, so two
//! gateway replicas take from one allowance per token. Runs on the Redis
//! server `cargo xtask test` starts (`AUGMENT_TEST_REDIS_URL`,
//! xtask/src/redis.rs).
#![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

mod auth_support;

use std::num::NonZeroU32;
use std::time::Duration;

use auth_support::{AuthServer, auth_config, gateway, through};
use reqwest::{Method, StatusCode};

const REDIS_URL_ENV: &str = "AUGMENT_TEST_REDIS_URL";
/// Set to 1 to skip the tests that need a server deliberately (the stack suite's variable).
const SKIP_ENV: &str = "AUGMENT_SKIP_ENGINE_TESTS";

/// The run's Redis, or `None` (said loudly) when skipping was asked for;
/// panics otherwise, naming what starts one.
fn redis_url() -> Option<String> {
    if let Some(url) = std::env::var(REDIS_URL_ENV).ok().filter(|v| !v.is_empty()) {
        return Some(url);
    }
    let message = format!(
        "{REDIS_URL_ENV} is not set: `cargo xtask test` starts a Redis server and sets it (xtask/src/redis.rs); or point it at a server you run"
    );
    if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
        eprintln!("\n!!!!! SKIPPED: {message}; {SKIP_ENV}=1 is set !!!!!\n");
        None
    } else {
        panic!("{message}; set {SKIP_ENV}=1 to skip these tests deliberately");
    }
}

/// A burst of 4, refilled at one request a second: far slower than the test.
fn limit() -> gateway::RateLimit {
    gateway::RateLimit { per_second: NonZeroU32::MIN, burst: NonZeroU32::new(4).unwrap() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_limit_per_token() {
    let Some(redis) = redis_url() else { return };
    let auth = AuthServer::start().await;
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let mut config = auth_config(&auth.base, Duration::from_secs(5)).await;
        config.rate_limit = limit();
        config.redis_url = Some(redis.clone());
        replicas.push(gateway(config).await);
    }
    let admin = auth.admin_session().await;
    let analyst = auth.user_session(&admin, "ana", "analyst").await;
    let (token, _) = auth.api_token(&analyst, &["read"], 3600).await;
    let (other, _) = auth.api_token(&analyst, &["read"], 3600).await;

    // Alternating replicas: in memory each would allow 4, 8 in all.
    let mut allowed = 0;
    let mut refusal = None;
    for i in 0..8 {
        let base = &replicas[i % 2];
        let response =
            auth_support::client().get(format!("{base}/api/echo/thing")).bearer_auth(&token).send().await.unwrap();
        match response.status() {
            StatusCode::OK => allowed += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let retry_after =
                    response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
                refusal.get_or_insert((retry_after, response.text().await.unwrap()));
            }
            other => panic!("unexpected {other}: {}", response.text().await.unwrap()),
        }
    }
    assert_eq!(allowed, 4, "one burst of 4 across both replicas");
    let (retry_after, body) = refusal.unwrap();
    assert_eq!(retry_after.as_deref(), Some("1"), "Retry-After in whole seconds: {body}");
    assert!(body.contains("rate_limited"), "{body}");

    for base in &replicas {
        let (status, body) = through(base, Method::GET, Some(&other)).await;
        assert_eq!(status, StatusCode::OK, "another token has its own allowance: {body}");
    }
}

/// Redis unreachable: the gateway keeps limiting, in memory, and keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_the_limits_fall_back_to_memory() {
    let closed = test_support::free_loopback_ports(1)[0];
    let auth = AuthServer::start().await;
    let mut config = auth_config(&auth.base, Duration::from_secs(5)).await;
    config.rate_limit = limit();
    config.redis_url = Some(format!("redis://127.0.0.1:{closed}"));
    let base = gateway(config).await;
    let admin = auth.admin_session().await;
    let viewer = auth.user_session(&admin, "vic", "viewer").await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(through(&base, Method::GET, Some(&viewer)).await.0);
    }
    let allowed = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(allowed, 4, "the in-memory burst still applies: {statuses:?}");
    assert!(statuses[4..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}
