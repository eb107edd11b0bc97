//! The Admin Dashboard's team server commands against the real auth
//! service (`auth_service::fixture`: the service in process on loopback
//! HTTP over SQLite, with a bootstrapped admin) and the real OS keychain (a
//! private gnome-keyring): sign in, users, API tokens checked with the
//! service's own `/api/v1/verify`, the role and expiry refusals, throttled
//! logins, sign out, an unreachable service. The session token is in the keychain and in no reply
//! or log line (every crate's, at TRACE).

use augment_desktop::commands::team::{TeamState, session_entry};
use auth_service::fixture::{ADMIN, AuthServer};
use serde_json::{Value, json};

use crate::common::DataHarness;

const ANALYST_PASSWORD: &str = "analyst-password-9f3e2d";

#[test]
fn the_admin_dashboard_signs_in_to_the_team_auth_service() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let logs = crate::common::captured_logs();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let auth = runtime.block_on(AuthServer::start());
    let h = DataHarness::new();
    tauri::Manager::manage(&h.app, TeamState::new(secrets::KeyStore::system()).unwrap());
    let mut replies: Vec<Value> = Vec::new();
    let mut sessions: Vec<String> = Vec::new();
    // The session token the app keeps for `auth.base`, read from the keyring by another client.
    let stored_token = || test_support::secret_tool_lookup(&session_entry(&auth.base));

    // Refusals before anything is stored: plain http off this computer, a wrong password.
    let (code, message) = h.refused(
        "team_sign_in",
        json!({ "url": "http://auth.example.com", "username": ADMIN, "password": auth.admin_password }),
    );
    assert_eq!(code, "invalidInput");
    assert!(message.contains("https://"), "{message}");
    let (code, message) =
        h.refused("team_sign_in", json!({ "url": auth.base, "username": ADMIN, "password": "not the password" }));
    assert_eq!((code.as_str(), message.as_str()), ("refused", "the auth service refused the user name or password"));
    assert_eq!(h.ok("team_session", json!({})), Value::Null);
    assert!(stored_token().is_none());
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (code, message) = h.refused(
        "team_sign_in",
        json!({ "url": format!("http://{dead}"), "username": ADMIN, "password": auth.admin_password }),
    );
    assert_eq!(code, "unreachable");
    assert!(message.contains("cannot be reached"), "{message}");

    // The admin signs in: who and what role, the token only in the keychain and live.
    let signed_in = h.ok(
        "team_sign_in",
        json!({ "url": format!("{}/", auth.base), "username": ADMIN, "password": auth.admin_password }),
    );
    assert_eq!((signed_in["user"].as_str(), signed_in["role"].as_str()), (Some(ADMIN), Some("admin")));
    assert_eq!(signed_in["server"], auth.base.as_str());
    assert!(signed_in["expiresAt"].as_str().is_some_and(|at| at.contains('T')), "{signed_in}");
    let admin_token = stored_token().expect("the session token is in the keychain");
    let (status, verified) = runtime.block_on(auth.verify(&admin_token));
    assert_eq!(
        (status.as_u16(), verified["subject"].as_str(), verified["kind"].as_str()),
        (200, Some(ADMIN), Some("session"))
    );
    sessions.push(admin_token);
    replies.push(signed_in);
    let session = h.ok("team_session", json!({}));
    assert_eq!(session["user"], ADMIN);
    replies.push(session);

    // Users: list, add an analyst.
    let users = h.ok("team_users", json!({}));
    assert_eq!(users.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect::<Vec<_>>(), [ADMIN]);
    let analyst = h.ok("team_create_user", json!({ "name": "ana", "role": "analyst", "password": ANALYST_PASSWORD }));
    assert_eq!((analyst["name"].as_str(), analyst["role"].as_str()), (Some("ana"), Some("analyst")));
    let (code, message) =
        h.refused("team_create_user", json!({ "name": "bob", "role": "wizard", "password": ANALYST_PASSWORD }));
    assert_eq!(code, "invalidInput");
    assert!(message.contains("wizard"), "{message}");
    let users = h.ok("team_users", json!({}));
    assert_eq!(users.as_array().unwrap().len(), 2);
    h.ok("team_create_user", json!({ "name": "bob", "role": "viewer", "password": ANALYST_PASSWORD }));
    assert_eq!(h.ok("team_delete_user", json!({ "name": "bob" })), true);
    let (code, _) = h.refused("team_delete_user", json!({ "name": "bob" }));
    assert_eq!(code, "notFound");
    assert_eq!(h.ok("team_users", json!({})).as_array().unwrap().len(), 2, "bob is gone");
    replies.extend([analyst, users]);

    // An API token: its secret once, accepted by the service's verify until revoked.
    let created = h.ok("team_create_token", json!({ "name": "ci", "scopes": ["read", "publish"], "expiresInDays": 7 }));
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["token"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["token"]["description"], "ci");
    assert_eq!(created["token"]["scopes"], json!(["read", "publish"]));
    let (status, verified) = runtime.block_on(auth.verify(&secret));
    assert_eq!(
        (status.as_u16(), verified["kind"].as_str(), verified["token_id"].as_str()),
        (200, Some("api"), Some(id.as_str()))
    );
    let tokens = h.ok("team_tokens", json!({}));
    let listed = tokens.as_array().unwrap().iter().find(|t| t["id"] == id.as_str()).expect("the new token is listed");
    assert_eq!(listed["revokedAt"], Value::Null);
    assert!(!tokens.to_string().contains(&secret), "a listing never holds a token: {tokens}");
    assert_eq!(h.ok("team_revoke_token", json!({ "id": id })), true);
    let (status, refused) = runtime.block_on(auth.verify(&secret));
    assert_eq!(status.as_u16(), 401, "{refused}");
    let tokens = h.ok("team_tokens", json!({}));
    assert!(
        tokens.as_array().unwrap().iter().any(|t| t["id"] == id.as_str() && t["revokedAt"].is_string()),
        "{tokens}"
    );
    replies.push(tokens);

    // The analyst signs in (replacing the admin's sign-in) and may not list users.
    let analyst_in = h.ok("team_sign_in", json!({ "url": auth.base, "username": "ana", "password": ANALYST_PASSWORD }));
    assert_eq!(analyst_in["role"], "analyst");
    sessions.push(stored_token().expect("the analyst's session is in the keychain"));
    replies.push(analyst_in);
    let (code, message) = h.refused("team_users", json!({}));
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("refused", "your role (analyst) may not list the team's users; ask an admin of the team")
    );

    // The session expires on the server: the app says so and forgets the token.
    auth.advance_clock(13 * 3600);
    let (code, message) = h.refused("team_tokens", json!({}));
    assert_eq!((code.as_str(), message.as_str()), ("refused", "signed out: your session expired, sign in again"));
    assert!(stored_token().is_none(), "the expired token left the keychain");
    assert_eq!(h.ok("team_session", json!({})), Value::Null);

    // Sign in again, sign out: the keychain entry goes.
    let again = h.ok("team_sign_in", json!({ "url": auth.base, "username": ADMIN, "password": auth.admin_password }));
    sessions.push(stored_token().expect("stored again"));
    replies.push(again);
    assert_eq!(h.ok("team_sign_out", json!({})), true);
    assert!(stored_token().is_none(), "signing out removed the session token");
    assert_eq!(h.ok("team_session", json!({})), Value::Null);
    let (code, message) = h.refused("team_users", json!({}));
    assert_eq!(code, "refused");
    assert!(message.contains("sign in first"), "{message}");

    // Guessing the analyst's password is throttled, with the wait the service advertises.
    let throttled = (0..8)
        .map(|_| h.refused("team_sign_in", json!({ "url": auth.base, "username": "ana", "password": "guess-guess" })).1)
        .find(|message| message.starts_with("too many attempts"))
        .expect("the service throttles repeated failed logins");
    let wait: u64 =
        throttled.trim_start_matches("too many attempts; try again in ").trim_end_matches(" s").parse().unwrap();
    assert!((1..=300).contains(&wait), "{throttled}");

    // No session token and no password in any reply or log line.
    let logged = logs.text();
    assert!(logged.contains("signed in to the team server"), "the capture works: {logged}");
    for reply in &replies {
        let text = reply.to_string();
        for secret in sessions.iter().map(String::as_str).chain([auth.admin_password.as_str(), ANALYST_PASSWORD]) {
            assert!(!text.contains(secret), "a reply holds a secret: {text}");
            assert!(!logged.contains(secret), "a log line holds a secret");
        }
    }
}
