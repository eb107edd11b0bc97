//! The product remotes built by the real pipeline (`remotes/`, Vite +
//! `@module-federation/vite`), published and mounted by the real shell: the
//! Admin Dashboard's ES-module remoteEntry loads from `mfe://` under the
//! strict CSP, takes React and the shared modules from the shell, and reads
//! the remotes through the host client.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use integration_tests::Sandbox;
use serde_json::json;

use crate::harness::{DEADLINE, Driver, app_args, publish, screenshot, serial, wait_for, wait_for_text};

/// `remotes/admin-dashboard/dist`, built by `cargo xtask test` (or `cargo xtask run`).
fn admin_dashboard_dist() -> PathBuf {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../remotes/admin-dashboard/dist");
    assert!(
        dist.join("remote.json").exists(),
        "{} is missing: build it with `npm ci && npm run build --workspace remotes/admin-dashboard` (or run `cargo xtask test`)",
        dist.display()
    );
    dist
}

/// The `textContent` of the first match of `css`, once it is non-empty.
/// (WebDriver's element text is empty for the table's cells: they sit in a
/// scrolling, transformed container that WebKitWebDriver's visibility check
/// does not see into, although they are on screen.)
async fn cell_text(client: &Client, css: &str) -> String {
    let start = Instant::now();
    loop {
        let text = client
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                vec![json!(css)],
            )
            .await
            .unwrap();
        if let Some(text) = text.as_str().filter(|t| !t.is_empty()) {
            return text.to_owned();
        }
        assert!(start.elapsed() < DEADLINE, "`{css}` had no text within {DEADLINE:?}");
        // A poll interval inside a deadline, not a wait for readiness.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_built_admin_dashboard_mounts_and_lists_every_remote_with_its_version() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    let out = sandbox.publish(&admin_dashboard_dist());
    assert!(out.status.success(), "publishing the admin dashboard: {}", integration_tests::describe(&out));
    publish(&sandbox, &["alpha-1.0.0"]);
    let driver = Driver::start();
    let opened = Instant::now();
    let app = driver.open(&app_args(&sandbox, &sandbox.registry().display().to_string())).await;

    let slot = r#"[data-remote="admin-dashboard"][data-state="loaded"]"#;
    // The shell's HostApi reached the remote's React component.
    wait_for_text(&app, &format!(r#"{slot} [data-testid="admin-self"]"#), "admin-dashboard 1.0.0").await;
    println!("admin-dashboard mounted {:?} after the session was requested", opened.elapsed());
    // Its rows come from the shell's commands through the host client.
    let own_row = format!(r#"{slot} [data-row-key="admin-dashboard"]"#);
    let version = cell_text(&app, &format!(r#"{own_row} [data-column="version"]"#)).await;
    assert_eq!(version, "1.0.0", "the dashboard lists itself with its version");
    let verdict = cell_text(&app, &format!(r#"{own_row} [data-column="compatibility"]"#)).await;
    assert_eq!(verdict, "compatible");
    let alpha_version = cell_text(&app, &format!(r#"{slot} [data-row-key="alpha"] [data-column="version"]"#)).await;
    assert_eq!(alpha_version, "1.0.0", "the other remote is listed too");
    let source = cell_text(&app, &format!(r#"{own_row} [data-column="source"]"#)).await;
    assert!(source.starts_with("file://"), "the source registry is shown: {source}");

    // State updates inside the remote only work with the shell's React (one
    // instance): filtering hides alpha's row.
    let filter = wait_for(&app, &format!(r#"{slot} input[type="search"]"#)).await;
    filter.send_keys("admin").await.unwrap();
    let start = Instant::now();
    while app.find(Locator::Css(&format!(r#"{slot} [data-row-key="alpha"]"#))).await.is_ok() {
        assert!(start.elapsed() < DEADLINE, "the filter never hid alpha's row");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_for(&app, &own_row).await;
    screenshot(&app, "remotes-admin-dashboard").await;
    app.close().await.unwrap();
}
