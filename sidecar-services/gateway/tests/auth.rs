//! Issue 18, point 3: the gateway in auth mode in front of a real auth
//! service (SQLite, loopback): the role matrix, expired and revoked tokens,
//! the auth service down, per-token rate limits, and the binary's refusal to
//! listen beyond loopback without auth.
#![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

mod auth_support;

use std::process::Command;
use std::time::{Duration, Instant};

use auth_support::{AuthServer, STACK_TOKEN, auth_config, gateway, through};
use reqwest::{Method, StatusCode};

/// Each role's session token (all of the role's scopes) × a read route
/// (GET → `read`) and a run route (POST → `run`); and an analyst's API
/// token with `read` only, to show the scope decides, not the role. On the
/// auth service's SQLite store, and on PostgreSQL below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix_through_the_gateway() {
    role_matrix(AuthServer::start().await).await;
}

/// The same matrix with the auth service on the PostgreSQL server `cargo
/// xtask test` starts (`AUGMENT_TEST_POSTGRES_URL`); without it, fails
/// saying so unless `AUGMENT_SKIP_ENGINE_TESTS=1` (then skips loudly).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_matrix_through_the_gateway_on_postgres() {
    let Some(backend) = auth_service::fixture::Backend::postgres() else { return };
    role_matrix(AuthServer::start_on(&backend, |_| {}).await).await;
}

async fn role_matrix(auth: AuthServer) {
    let base = gateway(auth_config(&auth.base, Duration::from_secs(5)).await).await;
    let admin = auth.admin_session().await;
    let publisher = auth.user_session(&admin, "pat", "publisher").await;
    let analyst = auth.user_session(&admin, "ana", "analyst").await;
    let viewer = auth.user_session(&admin, "vic", "viewer").await;
    let (analyst_read_only, _) = auth.api_token(&analyst, &["read"], 3600).await;

    let ok = StatusCode::OK;
    let forbidden = StatusCode::FORBIDDEN;
    let matrix = [
        ("admin", &admin, ok, ok),
        ("publisher", &publisher, ok, forbidden),
        ("analyst", &analyst, ok, ok),
        ("viewer", &viewer, ok, forbidden),
        ("analyst's read-only API token", &analyst_read_only, ok, forbidden),
    ];
    for (who, token, read, run) in matrix {
        for (method, expected, scope) in
            [(Method::GET, read, "read"), (Method::HEAD, read, "read"), (Method::POST, run, "run")]
        {
            let (status, body) = through(&base, method.clone(), Some(token)).await;
            assert_eq!(status, expected, "{who} {method}: {body}");
            if status == forbidden {
                assert_eq!(body["code"], "insufficient_scope", "{body}");
                assert_eq!(body["required_scope"], scope, "{body}");
            } else if method != Method::HEAD {
                assert_eq!(body["method"], method.as_str(), "reached the upstream: {body}");
                assert_eq!(
                    body["authorization"],
                    format!("Bearer {STACK_TOKEN}"),
                    "the upstream gets the gateway's token, not the caller's"
                );
            }
        }
    }

    for (what, token) in
        [("no token", None), ("an unknown token", Some("augauth_0000")), ("the stack token", Some(STACK_TOKEN))]
    {
        let (status, body) = through(&base, Method::GET, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(body["code"], "unauthorized", "{what}: {body}");
    }
    let (status, _) =
        auth_support::client().get(format!("{base}/health")).send().await.map(|r| (r.status(), ())).unwrap();
    assert_eq!(status, StatusCode::OK, "probes need no token");
}

/// A token the auth service calls expired is refused, though it was valid
/// when minted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refused() {
    let auth = AuthServer::start().await;
    let base = gateway(auth_config(&auth.base, Duration::from_secs(5)).await).await;
    let admin = auth.admin_session().await;
    let analyst = auth.user_session(&admin, "ana", "analyst").await;
    let (token, _) = auth.api_token(&analyst, &["read", "run"], 60).await;
    auth.now.fetch_add(120, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = through(&base, Method::GET, Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["message"].as_str().unwrap().contains("expired"), "says why: {body}");
}

/// A revoked token stops passing within the documented delay (the cache
/// time), though the gateway had just verified it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_tokens_are_refused_within_the_cache_time() {
    let cache_ttl = Duration::from_secs(1);
    let auth = AuthServer::start().await;
    let base = gateway(auth_config(&auth.base, cache_ttl).await).await;
    let admin = auth.admin_session().await;
    let analyst = auth.user_session(&admin, "ana", "analyst").await;
    let (token, id) = auth.api_token(&analyst, &["read", "run"], 3600).await;
    let (status, body) = through(&base, Method::POST, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "valid before revocation: {body}");

    let (status, body) = auth.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&analyst), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "revoking: {body}");
    let revoked = Instant::now();
    // The condition, with a deadline: the cache time plus slack for a slow machine.
    let deadline = revoked + cache_ttl + Duration::from_secs(2);
    loop {
        let (status, body) = through(&base, Method::POST, Some(&token)).await;
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(body["code"], "unauthorized", "{body}");
            assert!(body["message"].as_str().unwrap().contains("revoked"), "says why: {body}");
            break;
        }
        assert_eq!(status, StatusCode::OK, "only the cached answer may still pass: {body}");
        assert!(Instant::now() < deadline, "a revoked token still passes {:?} after revocation", revoked.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fails closed: with the auth service unreachable nothing passes, and the
/// answer says what is wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_service_down_is_503_not_a_pass() {
    let closed = test_support::free_loopback_ports(1)[0];
    let auth_url = format!("http://127.0.0.1:{closed}");
    let base = gateway(auth_config(&auth_url, Duration::from_secs(5)).await).await;
    for method in [Method::GET, Method::POST] {
        let (status, body) = through(&base, method, Some("augauth_0123456789abcdef")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["code"], "auth_unavailable", "{body}");
        assert!(body["message"].as_str().unwrap().contains(&format!("127.0.0.1:{closed}")), "names it: {body}");
    }
}

/// In auth mode the rate limit is per token: one caller using up its
/// allowance leaves another's, from the same address, untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_per_token() {
    let auth = AuthServer::start().await;
    let mut config = auth_config(&auth.base, Duration::from_secs(5)).await;
    config.rate_limit =
        gateway::RateLimit { per_second: std::num::NonZeroU32::MIN, burst: std::num::NonZeroU32::new(3).unwrap() };
    let base = gateway(config).await;
    let admin = auth.admin_session().await;
    let analyst = auth.user_session(&admin, "ana", "analyst").await;
    let (first, _) = auth.api_token(&analyst, &["read"], 3600).await;
    let (second, _) = auth.api_token(&analyst, &["read"], 3600).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(through(&base, Method::GET, Some(&first)).await.0);
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "the first token ran out: {statuses:?}");
    let (status, body) = through(&base, Method::GET, Some(&second)).await;
    assert_eq!(status, StatusCode::OK, "the second token has its own allowance: {body}");
}

/// The binary will not listen beyond loopback without auth, says what to
/// set, and does with it.
#[test]
fn the_binary_refuses_to_listen_beyond_loopback_without_auth() {
    let port = test_support::free_loopback_ports(1)[0];
    let command = |auth: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gateway"));
        command
            .env("GATEWAY_LISTEN", format!("0.0.0.0:{port}"))
            .env("GATEWAY_UPSTREAMS", "echo=http://127.0.0.1:9")
            .env("SIDECAR_TOKEN", STACK_TOKEN)
            .env_remove("SIDECAR_TOKEN_FILE")
            .env_remove("GATEWAY_PUBLISHED_ON_LOOPBACK")
            .env_remove("GATEWAY_AUTH_URL");
        if let Some(url) = auth {
            command.env("GATEWAY_AUTH_URL", url);
        }
        command
    };
    let (status, stderr) = test_support::exit_and_stderr(command(None));
    assert!(!status.success(), "started on 0.0.0.0 without auth");
    assert!(stderr.contains("GATEWAY_AUTH_URL"), "says what to set: {stderr}");

    let gateway = test_support::ServiceProcess::start(command(Some("http://127.0.0.1:8084")), port);
    let (status, body) = gateway.request("GET", "/api/echo/x", &[("Host", &gateway.host())]);
    assert_eq!(status, 401, "with auth it starts, and asks for a token: {body}");
    drop(gateway);

    // The desktop's container stack: published on the host's loopback only.
    let mut stack = command(None);
    stack.env("GATEWAY_PUBLISHED_ON_LOOPBACK", "1");
    let gateway = test_support::ServiceProcess::start(stack, port);
    let bearer = format!("Bearer {STACK_TOKEN}");
    let (status, body) =
        gateway.request("GET", "/api/echo/x", &[("Host", &gateway.host()), ("Authorization", &bearer)]);
    assert_eq!(status, 503, "stack-token mode: the token passes, the (absent) upstream is down: {body}");
    assert_eq!(body["code"], "upstream_unavailable", "{body}");
}

/// Refused tokens are not cached, so a flood of made-up ones would reach
/// the auth service unthrottled: after `failures` refusals from one address
/// the gateway answers 429 with `Retry-After` without asking (the auth
/// service's `auth_verifications_total` shows it was not asked), while a
/// good token from another address still passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_made_up_tokens_is_held_per_address_before_verify() {
    const FAILURES: u32 = 5;
    let auth = AuthServer::start().await;
    let mut config = auth_config(&auth.base, Duration::from_secs(5)).await;
    config.auth_failures = gateway::FailureLimit {
        failures: std::num::NonZeroU32::new(FAILURES).unwrap(),
        window: Duration::from_secs(600),
    };
    let base = gateway(config).await;
    let admin = auth.admin_session().await;
    let analyst = auth.user_session(&admin, "ana", "analyst").await;

    let before = auth.verifications().await;
    let mut statuses = Vec::new();
    for n in 0..100 {
        let made_up = format!("augauth_{n:064x}");
        let response =
            auth_support::client().get(format!("{base}/api/echo/thing")).bearer_auth(&made_up).send().await.unwrap();
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=600).contains(&retry_after), "Retry-After {retry_after}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["code"], "auth_throttled", "{body}");
        }
    }
    let asked = auth.verifications().await - before;
    assert!(asked <= u64::from(FAILURES), "100 made-up tokens made {asked} verify calls; at most {FAILURES} expected");
    let refused = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert_eq!(refused, FAILURES as usize, "the first ones are refused by the auth service: {statuses:?}");
    assert!(statuses[FAILURES as usize..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");

    // Another address (127.0.0.2 is loopback too) with a good token is not held.
    let other =
        reqwest::Client::builder().no_proxy().local_address(std::net::IpAddr::from([127, 0, 0, 2])).build().unwrap();
    let response = other.get(format!("{base}/api/echo/thing")).bearer_auth(&analyst).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
}
