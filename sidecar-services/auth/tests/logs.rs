//! No password, token or hash of either reaches the logs, even at TRACE,
//! on SQLite and on PostgreSQL (whose driver logs statement parameters at
//! debug level).
//!
//! A binary of its own, so that its process-wide log capture sees only this
//! test (see [`CapturedLogs::install`] for why it must be process-wide).
#![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

mod common;

use reqwest::{Method, StatusCode};
use serde_json::json;
use test_support::CapturedLogs;

use common::{ADMIN, Backend, start};

const PASSWORD: &str = "pw-that-must-not-be-logged-7f3a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_and_tokens_never_reach_the_logs_even_at_trace_level() {
    let captured = CapturedLogs::install();
    let mut backends = vec![Backend::Sqlite];
    backends.extend(Backend::postgres());
    for backend in backends {
        let server = start(&backend, |_| {}).await;
        let admin = server.login(ADMIN, &server.admin_password).await;
        server.create_user(&admin.token, "ana", "analyst", PASSWORD).await;
        let session = server.login("ana", PASSWORD).await;
        let (status, created) =
            server.call(Method::POST, "/api/v1/tokens", Some(&session.token), Some(json!({ "scopes": ["run"] }))).await;
        assert_eq!(status, StatusCode::CREATED);
        let api_token = created["token"].as_str().unwrap().to_owned();
        assert_eq!(server.verify(&api_token).await.0, StatusCode::OK);
        let (status, _) = server
            .call(
                Method::DELETE,
                &format!("/api/v1/tokens/{}", created["id"].as_str().unwrap()),
                Some(&session.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(server.verify(&api_token).await.0, StatusCode::UNAUTHORIZED);
        let wrong = "wrong-pw-must-not-be-logged-9c1e";
        let (status, _) =
            server.call(Method::POST, "/api/v1/login", None, Some(json!({ "name": "ana", "password": wrong }))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = server.call(Method::GET, "/api/v1/me", Some("augauth_made-up-bearer-value"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        let ana_hash = server.db.user_by_name("ana").await.unwrap().unwrap().password_hash;
        let admin_hash = server.db.user_by_name(ADMIN).await.unwrap().unwrap().password_hash;
        let secrets = [
            server.admin_password.clone(),
            PASSWORD.to_owned(),
            wrong.to_owned(),
            "made-up-bearer-value".to_owned(),
            admin.token.clone(),
            session.token.clone(),
            api_token.clone(),
            auth_service::secret::token_hash(&admin.token),
            auth_service::secret::token_hash(&session.token),
            auth_service::secret::token_hash(&api_token),
            ana_hash,
            admin_hash,
        ];
        let logs = captured.text();
        assert!(logs.contains("logged in") && logs.contains("login failed"), "the capture works: {logs}");
        for secret in &secrets {
            assert!(!logs.contains(secret.as_str()), "{backend:?}: a secret reached the logs: {secret}\n{logs}");
        }
        // The argon2id PHC prefix: no password hash, whoever's.
        assert!(!logs.contains("$argon2id$"), "{backend:?}: {logs}");
    }
}
