//! The auth service over real HTTP on loopback, on SQLite and on PostgreSQL:
//! the role × route matrix, expired and revoked tokens, login throttling,
//! and a bootstrap that happens once.
#![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

mod common;

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use auth_service::{AppError, StoreError, Throttle};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use common::{ADMIN, Backend, Server, start};

const PASSWORD: &str = "a long enough password";

on_both_backends!(
    role_matrix,
    expired_tokens_are_refused,
    revoked_tokens_are_refused,
    tokens_carry_only_scopes_their_role_holds,
    logins_are_throttled_per_account_then_allowed_after_the_window,
    logins_are_throttled_per_client_address,
    bootstrap_happens_once,
    concurrent_bootstraps_make_one_admin,
);

/// One protected route as each role calls it, and who the README says may.
struct Case {
    name: &'static str,
    method: Method,
    /// `{role}` is replaced by the caller's role, `{own}` by the id of a
    /// second session of the caller, `{victim}` by an API token of another user.
    path: &'static str,
    body: Option<Value>,
    /// The answer when allowed; everyone else gets 403.
    ok: StatusCode,
    allowed: &'static [&'static str],
}

const ROLES: [&str; 4] = ["admin", "publisher", "analyst", "viewer"];
const EVERYONE: &[&str] = &ROLES;

fn cases() -> Vec<Case> {
    vec![
        Case { name: "me", method: Method::GET, path: "/api/v1/me", body: None, ok: StatusCode::OK, allowed: EVERYONE },
        Case {
            name: "list users",
            method: Method::GET,
            path: "/api/v1/users",
            body: None,
            ok: StatusCode::OK,
            allowed: &["admin"],
        },
        Case {
            name: "create user",
            method: Method::POST,
            path: "/api/v1/users",
            body: Some(json!({ "name": "new-{role}", "role": "viewer", "password": PASSWORD })),
            ok: StatusCode::CREATED,
            allowed: &["admin"],
        },
        Case {
            name: "delete user",
            method: Method::DELETE,
            path: "/api/v1/users/doomed-{role}",
            body: None,
            ok: StatusCode::NO_CONTENT,
            allowed: &["admin"],
        },
        Case {
            name: "list tokens",
            method: Method::GET,
            path: "/api/v1/tokens",
            body: None,
            ok: StatusCode::OK,
            allowed: EVERYONE,
        },
        Case {
            name: "create own token",
            method: Method::POST,
            path: "/api/v1/tokens",
            body: Some(json!({ "scopes": ["read"], "expires_in_secs": 3600 })),
            ok: StatusCode::CREATED,
            allowed: &["admin", "publisher", "analyst"],
        },
        Case {
            name: "create a token for another user",
            method: Method::POST,
            path: "/api/v1/tokens",
            body: Some(json!({ "scopes": ["read"], "user": "victim" })),
            ok: StatusCode::CREATED,
            allowed: &["admin"],
        },
        Case {
            name: "revoke own token",
            method: Method::DELETE,
            path: "/api/v1/tokens/{own}",
            body: None,
            ok: StatusCode::NO_CONTENT,
            allowed: EVERYONE,
        },
        Case {
            name: "revoke another user's token",
            method: Method::DELETE,
            path: "/api/v1/tokens/{victim}",
            body: None,
            ok: StatusCode::NO_CONTENT,
            allowed: &["admin"],
        },
    ]
}

fn fill(template: &str, role: &str, own: &str, victim: &str) -> String {
    template.replace("{role}", role).replace("{own}", own).replace("{victim}", victim)
}

async fn role_matrix(backend: Backend) {
    let server = start(&backend, |config| {
        config.login_per_account.attempts = NonZeroU32::new(100).unwrap();
        config.login_per_client.attempts = NonZeroU32::new(1000).unwrap();
    })
    .await;
    let admin = server.admin_session().await;
    for role in ROLES.iter().filter(|role| **role != "admin") {
        server.create_user(&admin, role, role, PASSWORD).await;
    }
    server.create_user(&admin, "victim", "publisher", PASSWORD).await;
    let passwords = |role: &str| if role == "admin" { server.admin_password.clone() } else { PASSWORD.to_owned() };
    let login_name = |role: &str| if role == "admin" { ADMIN.to_owned() } else { role.to_owned() };

    let mut failures = Vec::new();
    for role in ROLES {
        let session = server.login(&login_name(role), &passwords(role)).await.token;
        // What the cases act on, made fresh for each caller.
        server.create_user(&admin, &format!("doomed-{role}"), "viewer", PASSWORD).await;
        let own = server.login(&login_name(role), &passwords(role)).await.token_id;
        let (status, victim) = server
            .call(Method::POST, "/api/v1/tokens", Some(&admin), Some(json!({ "scopes": ["read"], "user": "victim" })))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{victim}");
        let victim = victim["id"].as_str().unwrap().to_owned();

        for case in cases() {
            let path = fill(case.path, role, &own, &victim);
            let body = case
                .body
                .as_ref()
                .map(|body| serde_json::from_str(&fill(&body.to_string(), role, &own, &victim)).unwrap());
            let expected = if case.allowed.contains(&role) { case.ok } else { StatusCode::FORBIDDEN };
            let (status, answer) = server.call(case.method.clone(), &path, Some(&session), body.clone()).await;
            if status != expected {
                failures.push(format!("{role} × {}: {status} (expected {expected}) {answer}", case.name));
            }
            // Without a token, every protected route answers 401.
            let (anonymous, _) = server.call(case.method.clone(), &path, None, body).await;
            if anonymous != StatusCode::UNAUTHORIZED {
                failures.push(format!("anonymous × {}: {anonymous}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "the role matrix does not hold:\n{}", failures.join("\n"));

    // An API token, whatever its role, is for the other services: this
    // service's management routes want a session.
    let (_, created) =
        server.call(Method::POST, "/api/v1/tokens", Some(&admin), Some(json!({ "scopes": ["read"] }))).await;
    let api_token = created["token"].as_str().unwrap();
    let (status, body) = server.call(Method::GET, "/api/v1/users", Some(api_token), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("session_required")), "{body}");
}

async fn expired_tokens_are_refused(backend: Backend) {
    let server = start(&backend, |_| {}).await;
    let admin = server.admin_session().await;
    server.create_user(&admin, "ana", "analyst", PASSWORD).await;
    let session = server.login("ana", PASSWORD).await;
    let (status, created) = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(&session.token),
            Some(json!({ "scopes": ["run"], "expires_in_secs": 60 })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();

    let (status, verified) = server.verify(&token).await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(verified["subject"], "ana");
    assert_eq!(verified["role"], "analyst");
    assert_eq!(verified["scopes"], json!(["run"]));
    assert_eq!(verified["kind"], "api");

    server.advance_clock(59);
    assert_eq!(server.verify(&token).await.0, StatusCode::OK, "still valid a second before expiry");
    server.advance_clock(1);
    let (status, refused) = server.verify(&token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("expired"), "{refused}");

    // The login's session (12 h) outlives the API token, then expires too.
    assert_eq!(server.call(Method::GET, "/api/v1/me", Some(&session.token), None).await.0, StatusCode::OK);
    server.advance_clock(12 * 3600);
    let (status, _) = server.call(Method::GET, "/api/v1/me", Some(&session.token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(server.verify(&session.token).await.0, StatusCode::UNAUTHORIZED);
}

async fn revoked_tokens_are_refused(backend: Backend) {
    let server = start(&backend, |_| {}).await;
    let admin = server.admin_session().await;
    server.create_user(&admin, "pub", "publisher", PASSWORD).await;
    let session = server.login("pub", PASSWORD).await.token;
    let (_, created) = server
        .call(Method::POST, "/api/v1/tokens", Some(&session), Some(json!({ "scopes": ["publish", "yank"] })))
        .await;
    let (token, id) = (created["token"].as_str().unwrap(), created["id"].as_str().unwrap());
    assert_eq!(server.verify(token).await.0, StatusCode::OK);

    let (status, _) = server.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&session), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, refused) = server.verify(token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("revoked"), "{refused}");
    let (_, listed) = server.call(Method::GET, "/api/v1/tokens", Some(&session), None).await;
    let listed = listed.as_array().unwrap().iter().find(|t| t["id"] == id).unwrap().clone();
    assert!(listed["revoked_at"].is_string(), "listed as revoked: {listed}");
    assert!(listed.get("sha256").is_none() && !listed.to_string().contains(token), "{listed}");

    // Deleting a user takes their tokens with them.
    let (_, other) = server
        .call(Method::POST, "/api/v1/tokens", Some(&admin), Some(json!({ "scopes": ["read"], "user": "pub" })))
        .await;
    let other = other["token"].as_str().unwrap();
    assert_eq!(server.verify(other).await.0, StatusCode::OK);
    assert_eq!(server.call(Method::DELETE, "/api/v1/users/pub", Some(&admin), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(server.verify(other).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(server.verify(&session).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(server.verify("augauth_not-a-token").await.0, StatusCode::UNAUTHORIZED);
}

async fn tokens_carry_only_scopes_their_role_holds(backend: Backend) {
    let server = start(&backend, |_| {}).await;
    let admin = server.admin_session().await;
    server.create_user(&admin, "ana", "analyst", PASSWORD).await;
    let session = server.login("ana", PASSWORD).await.token;
    let (status, body) = server
        .call(Method::POST, "/api/v1/tokens", Some(&session), Some(json!({ "scopes": ["read", "publish"] })))
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("scope_not_allowed")), "{body}");
    // Nor can an admin hand someone a scope beyond that person's role.
    let (status, body) = server
        .call(Method::POST, "/api/v1/tokens", Some(&admin), Some(json!({ "scopes": ["publish"], "user": "ana" })))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) =
        server.call(Method::POST, "/api/v1/tokens", Some(&session), Some(json!({ "scopes": ["everything"] }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("unknown scope"), "{body}");
    let (status, body) = server
        .call(Method::POST, "/api/v1/tokens", Some(&session), Some(json!({ "scopes": ["read"], "expires_in_secs": 0 })))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// Polls `attempt` until it answers `wanted`, failing after `deadline`.
async fn eventually(deadline: Duration, wanted: StatusCode, mut attempt: impl AsyncFnMut() -> (StatusCode, Value)) {
    let started = Instant::now();
    loop {
        let (status, body) = attempt().await;
        if status == wanted {
            return;
        }
        assert!(started.elapsed() < deadline, "still {status} after {deadline:?}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn logins_are_throttled_per_account_then_allowed_after_the_window(backend: Backend) {
    // 3 attempts per account per 6 s (one back every 2 s, room for slow
    // argon2 on a busy machine); the client allowance is out of the way.
    let window = Duration::from_secs(6);
    let server = start(&backend, |config| {
        config.login_per_account = Throttle { attempts: NonZeroU32::new(3).unwrap(), window };
        config.login_per_client.attempts = NonZeroU32::new(1000).unwrap();
    })
    .await;
    let admin = server.admin_session().await;
    server.create_user(&admin, "alice", "viewer", PASSWORD).await;
    server.create_user(&admin, "bob", "viewer", PASSWORD).await;
    let login = |name: &'static str, password: &'static str| {
        let server = &server;
        async move {
            server.call(Method::POST, "/api/v1/login", None, Some(json!({ "name": name, "password": password }))).await
        }
    };

    for _ in 0..3 {
        assert_eq!(login("alice", "wrong password!").await.0, StatusCode::UNAUTHORIZED);
    }
    // The right password is refused too while the account is throttled.
    let (status, body) = login("alice", PASSWORD).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("login_throttled")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("for this account"), "{body}");
    assert!(body["retry_after_secs"].as_u64().unwrap() >= 1, "{body}");
    // Another account from the same address is not.
    assert_eq!(login("bob", PASSWORD).await.0, StatusCode::OK);

    eventually(window * 2, StatusCode::OK, async || login("alice", PASSWORD).await).await;
}

async fn logins_are_throttled_per_client_address(backend: Backend) {
    let window = Duration::from_secs(8);
    let server = start(&backend, |config| {
        config.login_per_client = Throttle { attempts: NonZeroU32::new(4).unwrap(), window };
        config.login_per_account.attempts = NonZeroU32::new(1000).unwrap();
    })
    .await;
    // Four guesses at four names use up this address's allowance...
    for name in ["a1", "a2", "a3", "a4"] {
        let (status, _) =
            server.call(Method::POST, "/api/v1/login", None, Some(json!({ "name": name, "password": "guess" }))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // ...so even the admin's right password waits.
    let admin = json!({ "name": ADMIN, "password": server.admin_password });
    let (status, body) = server.call(Method::POST, "/api/v1/login", None, Some(admin.clone())).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body["message"].as_str().unwrap().contains("from this address"), "{body}");
    eventually(window * 2, StatusCode::OK, async || {
        server.call(Method::POST, "/api/v1/login", None, Some(admin.clone())).await
    })
    .await;
}

async fn bootstrap_happens_once(backend: Backend) {
    let server: Server = start(&backend, |_| {}).await;
    let now = jiff::Timestamp::now().as_second();
    let again = auth_service::bootstrap_admin(&server.db, "second-admin", now).await;
    assert!(matches!(again, Err(AppError::Store(StoreError::AdminExists))), "{again:?}");
    // Not even after the first admin is gone (another admin deleted it).
    let admin = server.admin_session().await;
    server.create_user(&admin, "other-admin", "admin", PASSWORD).await;
    let other = server.login("other-admin", PASSWORD).await.token;
    assert_eq!(
        server.call(Method::DELETE, &format!("/api/v1/users/{ADMIN}"), Some(&other), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(server.db.delete_user("other-admin").await.unwrap());
    let again = auth_service::bootstrap_admin(&server.db, "third-admin", now).await;
    assert!(matches!(again, Err(AppError::Store(StoreError::AdminExists))), "{again:?}");
    assert!(server.db.user_by_name("third-admin").await.unwrap().is_none());
}

async fn concurrent_bootstraps_make_one_admin(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let location = backend.fresh_location(dir.path()).await;
    // Separate handles, as separate `augment auth bootstrap` processes would have.
    let mut attempts = Vec::new();
    for n in 0..4 {
        let db = auth_service::Database::open(&location).await.unwrap();
        attempts.push(tokio::spawn(async move { auth_service::bootstrap_admin(&db, &format!("admin-{n}"), 0).await }));
    }
    let mut made = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => made += 1,
            Err(AppError::Store(StoreError::AdminExists)) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(made, 1, "exactly one bootstrap wins");
    let db = auth_service::Database::open(&location).await.unwrap();
    assert_eq!(db.list_users().await.unwrap().len(), 1);
}
