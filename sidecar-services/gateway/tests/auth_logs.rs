//! Issue 18: tokens never reach a log. Every log line of this test binary is
//! captured at TRACE while the gateway in auth mode passes, refuses and
//! fails to verify tokens; none of them may appear.
#![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

mod auth_support;

use std::time::Duration;

use auth_support::{AuthServer, STACK_TOKEN, auth_config, gateway, through};
use reqwest::{Method, StatusCode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_never_logged() {
    let logs = test_support::CapturedLogs::install();
    let auth = AuthServer::start().await;
    let base = gateway(auth_config(&auth.base, Duration::from_secs(5)).await).await;
    let admin = auth.admin_session().await;
    let viewer = auth.user_session(&admin, "vic", "viewer").await;
    let unknown = "augauth_ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    assert_eq!(through(&base, Method::GET, Some(&viewer)).await.0, StatusCode::OK);
    assert_eq!(through(&base, Method::POST, Some(&viewer)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(through(&base, Method::GET, Some(unknown)).await.0, StatusCode::UNAUTHORIZED);

    let closed = test_support::free_loopback_ports(1)[0];
    let down = gateway(auth_config(&format!("http://127.0.0.1:{closed}"), Duration::from_secs(5)).await).await;
    assert_eq!(through(&down, Method::GET, Some(&viewer)).await.0, StatusCode::SERVICE_UNAVAILABLE);

    let text = logs.text();
    assert!(text.contains("insufficient_scope") || text.contains("lacks the scope"), "the capture works: {text}");
    for (what, secret) in
        [("a session token", viewer.as_str()), ("an unknown token", unknown), ("the stack token", STACK_TOKEN)]
    {
        assert!(!text.contains(secret), "{what} is in the logs");
    }
    // Not even a prefix long enough to narrow a guess.
    assert!(!text.contains(&viewer[..24]), "a token prefix is in the logs");
}
