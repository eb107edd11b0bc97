//! Issue 19 point 2 in the real window: a webhook endpoint added in the
//! Admin Dashboard's Notifications section (its URL and signing secret go to
//! the OS keychain: a private gnome-keyring under `cargo xtask test`), its
//! Test button delivering a signed event to a loopback receiver that checks
//! it with `notify_hooks::verify`, and the delivery log showing it. The
//! URL's token and the secret never reach the page.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use fantoccini::{Client, Locator};
use integration_tests::Sandbox;
use serde_json::Value;

use crate::harness::{Driver, app_args, remote_dist, run_async, screenshot, serial, wait_for, wait_for_text};

const TOKEN: &str = "T0KEN-in-the-hook-url-7d1f";
const SECRET: &str = "whsec-webdriver-0123456789abcdef";

/// Each request's event type and whether its signature verified.
type Got = Arc<Mutex<Vec<(String, bool)>>>;

async fn receiver() -> (String, Got) {
    let got: Got = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let seen = seen.clone();
        async move {
            let signature = headers.get(notify_hooks::SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            let verified = notify_hooks::verify(
                SECRET.as_bytes(),
                signature,
                &body,
                notify_hooks::unix_now(),
                notify_hooks::DEFAULT_TOLERANCE,
            )
            .is_ok();
            let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            seen.lock().unwrap().push((event["type"].as_str().unwrap_or("").to_owned(), verified));
            if verified { StatusCode::NO_CONTENT } else { StatusCode::UNAUTHORIZED }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/{TOKEN}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn type_into(app: &Client, css: &str, text: &str) {
    wait_for(app, css).await.send_keys(text).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_added_in_the_admin_dashboard_is_tested_and_logged() {
    let _one = serial().await;
    if !integration_tests::private_keychain("shell::notifications::a_webhook_added…") {
        return;
    }
    let (url, got) = receiver().await;
    let sandbox = Sandbox::new();
    let out = sandbox.publish(&remote_dist("admin-dashboard"));
    assert!(out.status.success(), "publishing the admin dashboard: {}", integration_tests::describe(&out));
    let driver = Driver::start();
    let app = driver.open(&app_args(&sandbox, &sandbox.registry().display().to_string())).await;

    let section = r#"[data-remote="admin-dashboard"][data-state="mounted"] [data-testid="admin-notifications"]"#;
    wait_for(&app, section).await;
    let form = format!(r#"{section} form[aria-label="Add a webhook endpoint"]"#);
    type_into(&app, &format!(r#"{form} input[placeholder="e.g. team channel"]"#), "ops-room").await;
    type_into(&app, &format!(r#"{form} [data-testid="hook-url"]"#), &url).await;
    type_into(&app, &format!(r#"{form} [data-testid="hook-secret"]"#), SECRET).await;
    wait_for(&app, &format!(r#"{form} button[type="submit"]:not([disabled])"#)).await.click().await.unwrap();

    // Listed by its host only, the form emptied.
    let host = url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    let listed = wait_for_text(&app, &format!(r#"{section} [data-testid="hook-endpoint"]"#), "ops-room").await;
    assert!(listed.contains(&host), "{listed}");
    let url_field = wait_for(&app, &format!(r#"{form} [data-testid="hook-url"]"#)).await;
    assert_eq!(url_field.prop("value").await.unwrap().as_deref(), Some(""), "the URL field is emptied after saving");

    app.find(Locator::Css(&format!(r#"{section} button[aria-label="Test ops-room"]"#)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let outcome = wait_for_text(&app, &format!(r#"{section} [data-testid="hook-test-outcome"]"#), "Delivered").await;
    assert!(outcome.contains("HTTP 204"), "{outcome}");
    assert_eq!(
        got.lock().unwrap().clone(),
        [("test".to_owned(), true)],
        "one signed test event, verified by the receiver"
    );
    let logged = wait_for_text(
        &app,
        &format!(r#"{section} table[aria-label="Delivery log"] tr[data-outcome="delivered"]"#),
        "ops-room",
    )
    .await;
    assert!(logged.contains("test"), "{logged}");
    screenshot(&app, "19-notifications-webhook-tested").await;

    let page = run_async(&app, "return document.documentElement.outerHTML;").await;
    let page = page.as_str().unwrap();
    assert!(!page.contains(TOKEN) && !page.contains(SECRET), "neither the URL's token nor the secret is in the page");
    app.close().await.unwrap();
}
