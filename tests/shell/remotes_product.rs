//! The product remotes built by the real pipeline (`remotes/`, Vite +
//! `@module-federation/vite`), published and mounted by the real shell: the
//! Admin Dashboard's ES-module remoteEntry loads from `mfe://` under the
//! strict CSP, takes React and the shared modules from the shell, and reads
//! the remotes through the host client.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use integration_tests::Sandbox;

use crate::harness::{
    DEADLINE, Driver, app_args, cell_text, publish, remote_dist, screenshot, serial, wait_for, wait_for_text,
};

#[tokio::test]
async fn the_built_admin_dashboard_mounts_and_lists_every_remote_with_its_version() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    let out = sandbox.publish(&remote_dist("admin-dashboard"));
    assert!(out.status.success(), "publishing the admin dashboard: {}", integration_tests::describe(&out));
    publish(&sandbox, &["alpha-1.0.0"]);
    let driver = Driver::start();
    let opened = Instant::now();
    let app = driver.open(&app_args(&sandbox, &sandbox.registry().display().to_string())).await;

    let slot = r#"[data-remote="admin-dashboard"][data-state="mounted"]"#;
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

/// Copies a remote's sources next to the workspace's node_modules (under
/// target/, so Node resolves the same packages), with `version` in its
/// remote.json and `marker` added to its self line, and builds it with Vite.
fn rebuild_with_version(name: &str, version: &str, marker: &str) -> tempfile::TempDir {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let source = workspace.join("remotes").join(name);
    let scratch = workspace.join("target/remote-rebuilds");
    std::fs::create_dir_all(&scratch).unwrap();
    // Every remote's vite.config.ts builds with the shared ../vite.remote.ts.
    std::fs::copy(workspace.join("remotes/vite.remote.ts"), scratch.join("vite.remote.ts")).unwrap();
    let copy = tempfile::tempdir_in(&scratch).unwrap();
    for file in ["package.json", "vite.config.ts", "tsconfig.json"] {
        std::fs::copy(source.join(file), copy.path().join(file)).unwrap();
    }
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(source.join("remote.json")).unwrap()).unwrap();
    manifest["version"] = version.into();
    std::fs::write(copy.path().join("remote.json"), manifest.to_string()).unwrap();
    std::fs::create_dir(copy.path().join("src")).unwrap();
    for entry in std::fs::read_dir(source.join("src")).unwrap() {
        let entry = entry.unwrap();
        let text = std::fs::read_to_string(entry.path()).unwrap().replace("This is {", &format!("{marker} This is {{"));
        std::fs::write(copy.path().join("src").join(entry.file_name()), text).unwrap();
    }
    let vite = workspace.join("node_modules/.bin/vite");
    let out = Command::new(&vite).arg("build").current_dir(copy.path()).output().unwrap();
    assert!(out.status.success(), "vite build of {name} {version}: {}", integration_tests::describe(&out));
    copy
}

#[tokio::test]
async fn a_remote_rebuilt_and_republished_alone_is_picked_up_without_rebuilding_the_shell() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    let out = sandbox.publish(&remote_dist("admin-dashboard"));
    assert!(out.status.success(), "publishing the admin dashboard: {}", integration_tests::describe(&out));
    let driver = Driver::start();
    let app = driver.open(&app_args(&sandbox, &sandbox.registry().display().to_string())).await;
    let self_line = r#"[data-remote="admin-dashboard"][data-state="mounted"] [data-testid="admin-self"]"#;
    wait_for_text(&app, self_line, "admin-dashboard 1.0.0").await;

    // The remote alone is rebuilt with a bumped version and published while the app runs.
    let rebuilt = rebuild_with_version("admin-dashboard", "1.0.1", "Rebuilt.");
    let out = sandbox.publish(&rebuilt.path().join("dist"));
    assert!(out.status.success(), "publishing 1.0.1: {}", integration_tests::describe(&out));

    wait_for(&app, r#"[data-testid="check-updates"]:not([disabled])"#).await.click().await.unwrap();
    // The dashboard is mounted, so the update waits for Reload instead of remounting it under the user.
    let banner = wait_for_text(
        &app,
        r#"[data-remote="admin-dashboard"][data-version="1.0.0"] [data-testid="update-ready"]"#,
        "Admin Dashboard 1.0.1 is ready",
    )
    .await;
    assert!(banner.ends_with("Reload"), "{banner}");
    wait_for(&app, self_line).await;
    wait_for(&app, r#"[data-remote="admin-dashboard"] [data-testid="apply-update"]"#).await.click().await.unwrap();
    let updated =
        r#"[data-remote="admin-dashboard"][data-version="1.0.1"][data-state="mounted"] [data-testid="admin-self"]"#;
    let text = wait_for_text(&app, updated, "admin-dashboard 1.0.1").await;
    assert!(text.starts_with("Rebuilt."), "the new build's code runs, not the old bundle: {text}");
    screenshot(&app, "5-remote-republished-alone").await;
    app.close().await.unwrap();
}
