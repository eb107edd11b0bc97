//! Auth mode (issue 18, point 2): the registry server binary with
//! `REGISTRY_AUTH_URL` pointing at a real auth service (in process, SQLite,
//! loopback). Each role × publish, yank, unyank and the token routes →
//! allowed or 403; expired and revoked tokens refused; the auth service
//! down → 503, while the registry's own tokens keep working.

use auth_service::fixture::AuthServer;
use reqwest::Method;

use crate::support::{Fixture, Server, client, error_of, publish};

/// A server over `fixture` in auth mode; every verification asks the auth
/// service (no cache), so revocation shows at once.
fn team_server(fixture: &Fixture, auth_url: &str) -> Server {
    Server::start(
        &fixture.registry(),
        &fixture.key_file(),
        &[("REGISTRY_AUTH_URL", auth_url), ("REGISTRY_AUTH_CACHE_MS", "0")],
    )
}

async fn call(server: &Server, method: Method, path: &str, token: &str) -> reqwest::Response {
    client().request(method, format!("{}{path}", server.url)).bearer_auth(token).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_may_publish_yank_and_manage_tokens_as_the_table_says() {
    let fixture = Fixture::new();
    let auth = AuthServer::start().await;
    let server = team_server(&fixture, &auth.base);
    let admin = auth.admin_session().await;
    let roles = [
        ("admin", admin.clone()),
        ("publisher", auth.user_session(&admin, "pat", "publisher").await),
        ("analyst", auth.user_session(&admin, "ana", "analyst").await),
        ("viewer", auth.user_session(&admin, "vic", "viewer").await),
    ];
    // The version each role tries to yank.
    let shared = fixture.remote("shared", "1.0.0", &[]);
    assert_eq!(publish(&server.url, Some(&admin), &shared).await.status(), 201);

    for (role, token) in &roles {
        let may_publish = matches!(*role, "admin" | "publisher");
        let may_manage_tokens = *role == "admin";
        let expect = |allowed: bool, ok: u16| if allowed { ok } else { 403 };

        let remote = fixture.remote(&format!("by-{role}"), "1.0.0", &[]);
        let response = publish(&server.url, Some(token), &remote).await;
        let status = response.status().as_u16();
        if status == 403 {
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!((body["code"].as_str(), body["required_scope"].as_str()), (Some("forbidden"), Some("publish")));
            assert!(body["message"].as_str().unwrap().contains(role), "names the role: {body}");
        }
        assert_eq!(status, expect(may_publish, 201), "{role} publishes");

        for action in ["yank", "unyank"] {
            let path = format!("/api/v1/remotes/shared/versions/1.0.0/{action}");
            let (status, code, message) = match call(&server, Method::POST, &path, token).await {
                response if response.status() == 200 => (200, String::new(), String::new()),
                response => error_of(response).await,
            };
            assert_eq!(status, expect(may_publish, 200), "{role} {action}s: {code} {message}");
        }

        let response = call(&server, Method::GET, "/api/v1/tokens", token).await;
        assert_eq!(response.status().as_u16(), expect(may_manage_tokens, 200), "{role} lists tokens");
        let response = client()
            .post(format!("{}/api/v1/tokens", server.url))
            .bearer_auth(token)
            .json(&serde_json::json!({ "remotes": ["ci-only"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expect(may_manage_tokens, 201), "{role} mints a token");
        if may_manage_tokens {
            // What an admin of the team mints is one of the registry's own
            // tokens, scoped to its remote; and it can be revoked the same way.
            let minted: serde_json::Value = response.json().await.unwrap();
            let ci = minted["token"].as_str().unwrap();
            let ci_remote = fixture.remote("ci-only", "1.0.0", &[]);
            assert_eq!(publish(&server.url, Some(ci), &ci_remote).await.status(), 201);
            let path = format!("/api/v1/tokens/{}", minted["id"].as_str().unwrap());
            assert_eq!(call(&server, Method::DELETE, &path, token).await.status(), 200);
        } else {
            let (status, code, _) =
                error_of(call(&server, Method::DELETE, "/api/v1/tokens/000000000000", token).await).await;
            assert_eq!((status, code.as_str()), (403, "forbidden"), "{role} revokes a token");
        }
    }
    let published: Vec<String> = ["by-admin", "by-publisher", "by-analyst", "by-viewer"]
        .into_iter()
        .filter(|name| fixture.index(name).is_some())
        .map(str::to_owned)
        .collect();
    assert_eq!(published, ["by-admin", "by-publisher"], "only what was allowed was published");

    // An API token narrower than its role decides by its scopes: a
    // publisher's `yank`-only token may not publish.
    let (yank_only, _) = auth.api_token(&roles[1].1, &["yank"], 3600).await;
    let remote = fixture.remote("narrow", "1.0.0", &[]);
    assert_eq!(publish(&server.url, Some(&yank_only), &remote).await.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_revoked_tokens_are_refused() {
    let fixture = Fixture::new();
    let auth = AuthServer::start().await;
    let server = team_server(&fixture, &auth.base);
    let admin = auth.admin_session().await;
    let publisher = auth.user_session(&admin, "pat", "publisher").await;
    let (short_lived, _) = auth.api_token(&publisher, &["publish"], 60).await;
    let (revoked, revoked_id) = auth.api_token(&publisher, &["publish"], 3600).await;
    let first = fixture.remote("alpha", "1.0.0", &[]);
    assert_eq!(publish(&server.url, Some(&revoked), &first).await.status(), 201, "valid before revocation");

    auth.revoke(&publisher, &revoked_id).await;
    auth.advance_clock(120);
    let second = fixture.remote("alpha", "2.0.0", &[]);
    for (what, token) in [("revoked", &revoked), ("expired", &short_lived)] {
        let (status, code, message) = error_of(publish(&server.url, Some(token), &second).await).await;
        assert_eq!((status, code.as_str()), (401, "unauthorized"), "{what}: {message}");
        assert!(message.contains(what), "says why: {message}");
    }
    assert_eq!(fixture.index("alpha").unwrap().versions.len(), 1, "nothing was published with them");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auth_service_down_is_503_and_the_registry_tokens_still_work() {
    let fixture = Fixture::new();
    let closed = test_support::free_loopback_ports(1)[0];
    let server = team_server(&fixture, &format!("http://127.0.0.1:{closed}"));
    let remote = fixture.remote("alpha", "1.0.0", &[]);
    let made_up = format!("augauth_{}", "0".repeat(64));
    let (status, code, message) = error_of(publish(&server.url, Some(&made_up), &remote).await).await;
    assert_eq!((status, code.as_str()), (503, "auth_unavailable"), "{message}");
    assert!(message.contains(&format!("127.0.0.1:{closed}")) && message.contains("REGISTRY_AUTH_URL"), "{message}");
    let (status, code, _) = error_of(call(&server, Method::GET, "/api/v1/tokens", &made_up).await).await;
    assert_eq!((status, code.as_str()), (503, "auth_unavailable"), "token admin fails closed too");
    assert_eq!(fixture.index("alpha"), None, "nothing was published");

    // The registry's own tokens do not depend on the auth service.
    let own = fixture.token(&["alpha"]).await;
    assert_eq!(publish(&server.url, Some(&own), &remote).await.status(), 201);
}

/// Without `REGISTRY_AUTH_URL` an auth service token is just an unknown token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_auth_mode_auth_service_tokens_are_unknown() {
    let fixture = Fixture::new();
    let auth = AuthServer::start().await;
    let server = fixture.server();
    let admin = auth.admin_session().await;
    let remote = fixture.remote("alpha", "1.0.0", &[]);
    let (status, code, message) = error_of(publish(&server.url, Some(&admin), &remote).await).await;
    assert_eq!((status, code.as_str()), (401, "unauthorized"), "{message}");
}
