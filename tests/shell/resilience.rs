//! A registry that fails or lies never blanks the workspace (issue 14): the
//! real app, started against a registry that answers 503, a captive portal's
//! HTML, garbage, a trickle, a snapshot signed by the wrong key, an expired
//! or an older snapshot, a tampered blob, or nothing at all, mounts every
//! cached remote and names the registry's state in the header. Layered
//! registries: a failing team registry falls back to its mirror.

use std::path::{Path, PathBuf};

use fantoccini::{Client, Locator};
use integration_tests::Sandbox;
use registry::author::documents;
use test_support::{Fault, RegistryServer};

use crate::harness::{Driver, app_args, publish, screenshot, serial, show, wait_for, wait_for_content};

const MOUNTED_ALPHA: &str = r#"[data-remote="alpha"][data-state="mounted"] [data-testid="alpha-content"]"#;
const MOUNTED_BETA: &str = r#"[data-remote="beta"][data-state="mounted"] [data-testid="beta-content"]"#;

async fn both_mounted(app: &Client) {
    wait_for(app, MOUNTED_ALPHA).await;
    wait_for(app, MOUNTED_BETA).await;
}

/// The header badge once the background check has reported `state`.
async fn badge(app: &Client, state: &str) -> String {
    wait_for(app, &format!(r#"[data-testid="registry-status"][data-state="{state}"]"#)).await.text().await.unwrap()
}

fn forged_snapshot(registry_dir: &Path) -> Vec<u8> {
    let snapshot = integration_tests::read_snapshot(registry_dir);
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let stranger = registry::SigningKey::generate();
    documents::sign_snapshot(&documents::next_snapshot(&snapshot, None, expires), &[&stranger]).unwrap()
}

/// alpha and beta 1.0.0 published, served over loopback, and cached by one
/// launch of the app that found the registry online.
struct Cached {
    sandbox: Sandbox,
    server: RegistryServer,
    driver: Driver,
    args: Vec<String>,
}

async fn cached_alpha_and_beta() -> Cached {
    let sandbox = Sandbox::new();
    publish(&sandbox, &["alpha-1.0.0", "beta-1.0.0"]);
    let server = RegistryServer::start(sandbox.registry()).await.unwrap();
    let driver = Driver::start();
    let args = app_args(&sandbox, &server.url());
    let app = driver.open(&args).await;
    badge(&app, "online").await;
    both_mounted(&app).await;
    app.close().await.unwrap();
    Cached { sandbox, server, driver, args }
}

#[tokio::test]
async fn a_failing_or_lying_registry_never_blanks_the_workspace() {
    let _one = serial().await;
    let Cached { sandbox, server, driver, args } = cached_alpha_and_beta().await;

    for (fault, state, needle) in [
        (Fault::Status(503), "stale", "503"),
        (Fault::CaptivePortal, "stale", "malformed"),
        (Fault::Garbage, "stale", "malformed"),
    ] {
        server.set_fault_everywhere(fault.clone());
        let app = driver.open(&args).await;
        both_mounted(&app).await;
        let text = badge(&app, state).await;
        assert!(text.contains(needle) && text.contains("last verified"), "{fault:?}: {text}");
        screenshot(&app, &format!("14-{state}-{needle}")).await;
        app.close().await.unwrap();
        server.clear_faults();
    }

    let snapshot = sandbox.registry().join("snapshot.json");
    let honest = std::fs::read(&snapshot).unwrap();
    std::fs::write(&snapshot, forged_snapshot(&sandbox.registry())).unwrap();
    let app = driver.open(&args).await;
    both_mounted(&app).await;
    let text = badge(&app, "refused").await;
    assert!(text.contains("key") && text.contains("last verified"), "{text}");
    screenshot(&app, "14-refused-wrong-key").await;
    app.close().await.unwrap();
    std::fs::write(&snapshot, honest).unwrap();

    server.go_offline().await;
    let app = driver.open(&args).await;
    both_mounted(&app).await;
    badge(&app, "offline").await;
    app.close().await.unwrap();

    // The refused answer changed nothing the app trusts: back to normal.
    server.go_online().await.unwrap();
    let app = driver.open(&args).await;
    both_mounted(&app).await;
    badge(&app, "online").await;
    app.close().await.unwrap();
}

/// The rest of the fault matrix: a registry that trickles, an expired
/// snapshot, an older snapshot than one already seen (rollback), and an
/// update whose blob was tampered with: every cached remote mounts, the
/// badge names the state, and the other remote's update still lands.
#[tokio::test]
async fn trickle_expiry_rollback_and_a_tampered_blob_never_blank_the_workspace() {
    let _one = serial().await;
    let Cached { sandbox, server, driver, args } = cached_alpha_and_beta().await;
    let snapshot = sandbox.registry().join("snapshot.json");

    // A byte every 200 ms: the check gives up at its 10 s bound.
    server.set_fault("root.json", Fault::Trickle(std::time::Duration::from_millis(200)));
    let app = driver.open(&args).await;
    both_mounted(&app).await;
    let text = badge(&app, "stale").await;
    assert!(text.contains("did not answer completely") && text.contains("last verified"), "{text}");
    screenshot(&app, "14-stale-trickle").await;
    app.close().await.unwrap();
    server.clear_faults();

    let honest = std::fs::read(&snapshot).unwrap();
    let key = registry::SigningKey::read_pem_file(&sandbox.key()).unwrap();
    let expired_at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let frozen = documents::next_snapshot(&integration_tests::read_snapshot(&sandbox.registry()), None, expired_at);
    std::fs::write(&snapshot, documents::sign_snapshot(&frozen, &[&key]).unwrap()).unwrap();
    let app = driver.open(&args).await;
    both_mounted(&app).await;
    let text = badge(&app, "stale").await;
    assert!(text.contains("expired") && text.contains("last verified"), "{text}");
    app.close().await.unwrap();
    std::fs::write(&snapshot, &honest).unwrap();

    // The app sees a newer snapshot, then a mirror serves the older one.
    let registry_dir = sandbox.registry();
    sandbox.ok(&["registry", "refresh", registry_dir.to_str().unwrap(), "--key", sandbox.key().to_str().unwrap()]);
    let newer = std::fs::read(&snapshot).unwrap();
    let app = driver.open(&args).await;
    badge(&app, "online").await;
    app.close().await.unwrap();
    std::fs::write(&snapshot, &honest).unwrap();
    let app = driver.open(&args).await;
    both_mounted(&app).await;
    let text = badge(&app, "refused").await;
    assert!(text.contains("already seen") && text.contains("last verified"), "{text}");
    screenshot(&app, "14-refused-rollback").await;
    app.close().await.unwrap();
    std::fs::write(&snapshot, &newer).unwrap();

    // alpha 1.1.0 and beta 1.1.0 are published; one of alpha's new blobs is
    // tampered with on the registry. alpha keeps 1.0.0, beta updates.
    let work = sandbox.path().join("work");
    for fixture in ["alpha-1.0.0", "beta-1.0.0"] {
        let dir = fixture_as(&work, fixture, "1.1.0");
        let entry = dir.join("app.js");
        let mut code = std::fs::read_to_string(&entry).unwrap();
        code.push_str("\n// 1.1.0\n");
        std::fs::write(&entry, code).unwrap();
        let out = sandbox.publish(&dir);
        assert!(out.status.success(), "{}", integration_tests::describe(&out));
    }
    let tampered = alpha_app_js_blob(&sandbox.registry(), "1.1.0");
    let mut bytes = std::fs::read(&tampered).unwrap();
    bytes[0] ^= 0x01;
    std::fs::write(&tampered, bytes).unwrap();
    let app = driver.open(&args).await;
    let updated = r#"[data-remote="beta"][data-version="1.1.0"][data-state="mounted"] [data-testid="beta-content"]"#;
    show(&app, "beta").await;
    let start = std::time::Instant::now();
    while app.find(Locator::Css(updated)).await.is_err() {
        if let Ok(reload) = app.find(Locator::Css(r#"[data-remote="beta"] [data-testid="apply-update"]"#)).await {
            let _ = reload.click().await;
        }
        assert!(start.elapsed() < crate::harness::DEADLINE, "beta 1.1.0 never mounted");
        // A poll interval inside a deadline, not a wait for readiness.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    wait_for(
        &app,
        r#"[data-remote="alpha"][data-version="1.0.0"][data-state="mounted"] [data-testid="alpha-content"]"#,
    )
    .await;
    let text = badge(&app, "refused").await;
    assert!(text.contains("alpha 1.1.0 could not be installed"), "{text}");
    screenshot(&app, "14-refused-tampered-blob").await;
    app.close().await.unwrap();
}

/// The blob file of `app.js` in alpha's `version`, in a registry folder.
fn alpha_app_js_blob(registry_dir: &Path, version: &str) -> PathBuf {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(registry_dir.join("remotes/alpha.json")).unwrap()).unwrap();
    let entry = index["versions"].as_array().unwrap().iter().find(|v| v["manifest"]["version"] == version).unwrap();
    let file = entry["files"].as_array().unwrap().iter().find(|f| f["path"] == "app.js").unwrap();
    registry_dir.join("blobs/sha256").join(file["sha256"].as_str().unwrap())
}

/// A fixture remote with another version number (the same files).
fn fixture_as(parent: &Path, fixture: &str, version: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/remotes-src").join(fixture);
    let dir = parent.join(format!("{fixture}-as-{version}"));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let manifest = std::fs::read_to_string(dir.join("remote.json")).unwrap();
    std::fs::write(dir.join("remote.json"), manifest.replace("\"1.0.0\"", &format!("{version:?}"))).unwrap();
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Dev override → team → mirror: the overridden remote comes from its
/// folder; with the team registry failing, updates come from its mirror
/// (same signed tree), and each remote names where it came from.
#[tokio::test]
async fn layered_registries_fall_back_from_a_failing_team_registry_to_its_mirror() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    publish(&sandbox, &["alpha-1.0.0", "beta-1.0.0"]);
    let mirror_dir = sandbox.path().join("mirror");
    copy_tree(&sandbox.registry(), &mirror_dir);
    let team = RegistryServer::start(sandbox.registry()).await.unwrap();
    let mirror = RegistryServer::start(&mirror_dir).await.unwrap();
    let config_dir = sandbox.path().join("config");
    std::fs::create_dir_all(&config_dir).unwrap();
    let settings = serde_json::json!({
        // The mirror serves the team's first-party remotes: trusted like the team registry.
        "registries": [{ "url": mirror.url(), "trust": sandbox.public_key().display().to_string(), "trusted": true }],
    });
    std::fs::write(config_dir.join("settings.json"), settings.to_string()).unwrap();
    let driver = Driver::start();
    let args = app_args(&sandbox, &team.url());
    let app = driver.open(&args).await;
    badge(&app, "online").await;
    both_mounted(&app).await;
    // Both offer beta 1.0.0: the team registry (given at launch) comes first.
    wait_for_content(&app, r#"[data-remote="beta"] .source"#, &team.url()).await;
    app.close().await.unwrap();

    // beta 1.1.0 is published to the team registry and mirrored; then the team registry fails.
    let work = sandbox.path().join("work");
    let out = sandbox.publish(&fixture_as(&work, "beta-1.0.0", "1.1.0"));
    assert!(out.status.success(), "{}", integration_tests::describe(&out));
    copy_tree(&sandbox.registry(), &mirror_dir);
    team.set_fault_everywhere(Fault::Status(503));

    let mut with_dev = args.clone();
    let alpha_folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/remotes-src/alpha-1.0.0");
    with_dev.extend(["--dev-remote".to_owned(), format!("alpha={}", alpha_folder.display())]);
    let app = driver.open(&with_dev).await;
    // beta 1.0.0 may mount from the cache before the check finds 1.1.0 on
    // the mirror: then 1.1.0 waits for Reload instead of remounting it.
    let updated = r#"[data-remote="beta"][data-version="1.1.0"][data-state="mounted"] [data-testid="beta-content"]"#;
    show(&app, "beta").await;
    let start = std::time::Instant::now();
    while app.find(Locator::Css(updated)).await.is_err() {
        if let Ok(reload) = app.find(Locator::Css(r#"[data-remote="beta"] [data-testid="apply-update"]"#)).await {
            let _ = reload.click().await;
        }
        assert!(start.elapsed() < crate::harness::DEADLINE, "beta 1.1.0 never mounted from the mirror");
        // A poll interval inside a deadline, not a wait for readiness.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    wait_for_content(&app, r#"[data-remote="beta"] .source"#, &mirror.url()).await;
    wait_for(&app, MOUNTED_ALPHA).await;
    wait_for(&app, r#"[data-remote="alpha"] [data-testid="dev-override"]"#).await;
    // The worst state is what the header names: the team registry is stale.
    let text = badge(&app, "stale").await;
    assert!(text.contains("503"), "{text}");
    screenshot(&app, "14-layered-registries").await;
    app.close().await.unwrap();
}
