//! The scenarios of issue 4's acceptance list, one test each.

use fantoccini::Locator;
use integration_tests::Sandbox;
use test_support::{Fault, RegistryServer};

use crate::harness::{Driver, app_args, publish, run_async, screenshot, serial, show, wait_for, wait_for_text};

fn folder_registry(sandbox: &Sandbox) -> String {
    sandbox.registry().display().to_string()
}

#[tokio::test]
async fn two_remotes_are_listed_with_versions_and_mounted() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    publish(&sandbox, &["alpha-1.0.0", "beta-1.0.0"]);
    let driver = Driver::start();
    let app = driver.open(&app_args(&sandbox, &folder_registry(&sandbox))).await;

    let alpha = wait_for(&app, r#"[data-remote="alpha"][data-state="mounted"] [data-testid="alpha-content"]"#).await;
    assert!(alpha.text().await.unwrap().contains("Alpha says hello (React 19"), "alpha renders with the host's React");
    show(&app, "beta").await;
    let beta = wait_for(&app, r#"[data-remote="beta"][data-state="mounted"] [data-testid="beta-content"]"#).await;
    assert_eq!(beta.text().await.unwrap(), "Beta is mounted (beta 1.0.0)", "beta loaded its second module");
    for name in ["alpha", "beta"] {
        let version = app
            .find(Locator::Css(&format!(r#"[data-testid="remote-nav"] li[data-remote="{name}"] .version"#)))
            .await
            .unwrap();
        assert_eq!(version.text().await.unwrap(), "1.0.0", "{name} is listed with its version");
    }
    wait_for(&app, r#"[data-testid="registry-status"][data-state="online"]"#).await;
    // A hook in the remote only updates when the remote shares the shell's React.
    show(&app, "alpha").await;
    app.find(Locator::Css(r#"[data-testid="alpha-click"]"#)).await.unwrap().click().await.unwrap();
    wait_for_text(&app, r#"[data-testid="alpha-click"]"#, "clicked 1 times").await;
    screenshot(&app, "1-two-remotes-mounted").await;
    app.close().await.unwrap();
}

#[tokio::test]
async fn with_the_registry_gone_a_restarted_app_mounts_from_cache_after_one_probe() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    publish(&sandbox, &["alpha-1.0.0", "beta-1.0.0"]);
    let server = RegistryServer::start(sandbox.registry()).await.unwrap();
    let driver = Driver::start();
    let args = app_args(&sandbox, &server.url());

    let app = driver.open(&args).await;
    wait_for(&app, r#"[data-testid="registry-status"][data-state="online"]"#).await;
    wait_for(&app, r#"[data-remote="alpha"][data-state="mounted"] [data-testid="alpha-content"]"#).await;
    wait_for(&app, r#"[data-remote="beta"][data-state="mounted"] [data-testid="beta-content"]"#).await;
    app.close().await.unwrap();

    // The registry vanishes: every path drops the connection unanswered, and
    // every attempt is still recorded.
    for path in ["root.json", "snapshot.json", "remotes/alpha.json", "remotes/beta.json", "roots/2.root.json"] {
        server.set_fault(path, Fault::Offline);
    }
    server.clear_requests();
    let app = driver.open(&args).await;
    wait_for(&app, r#"[data-remote="alpha"][data-state="mounted"] [data-testid="alpha-content"]"#).await;
    wait_for(&app, r#"[data-remote="beta"][data-state="mounted"] [data-testid="beta-content"]"#).await;
    let badge = wait_for(&app, r#"[data-testid="registry-status"][data-state="offline"]"#).await;
    let text = badge.text().await.unwrap();
    assert!(text.starts_with("offline — registry last reached at "), "{text}");
    assert!(!text.ends_with("never"), "the first run reached the registry: {text}");
    screenshot(&app, "2-offline-from-cache").await;
    app.close().await.unwrap();

    // One probe: the two conditional documents, sent together, and nothing else.
    let requests = server.requests();
    let mut paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["root.json", "snapshot.json"], "one probe and nothing else: {requests:?}");
    assert!(requests.iter().all(|r| r.status.is_none()), "the probe was dropped unanswered: {requests:?}");
}

#[tokio::test]
async fn a_remote_whose_entry_throws_shows_its_fallback_and_retry_recovers() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    publish(&sandbox, &["alpha-1.0.0", "flaky-1.0.0"]);
    let driver = Driver::start();
    let app = driver.open(&app_args(&sandbox, &folder_registry(&sandbox))).await;

    show(&app, "flaky").await;
    let fallback =
        wait_for(&app, r#"[data-remote="flaky"][data-state="failed"] .fallback[data-why="failed to load"]"#).await;
    let text = fallback.text().await.unwrap();
    assert!(text.contains("Flaky 1.0.0 cannot be shown: failed to load"), "names the remote, version and why: {text}");
    assert!(text.contains("simulated outage"), "gives the error: {text}");
    wait_for(&app, r#"[data-remote="alpha"][data-state="mounted"] [data-testid="alpha-content"]"#).await;
    screenshot(&app, "3a-throwing-remote-fallback").await;

    // The outage ends; Retry must evaluate the entry again, not reuse the failed module record.
    app.execute("globalThis.__flakyFixed = true;", vec![]).await.unwrap();
    app.find(Locator::Css(r#"[data-remote="flaky"] button.retry"#)).await.unwrap().click().await.unwrap();
    let content = wait_for(&app, r#"[data-remote="flaky"][data-state="mounted"] [data-testid="flaky-content"]"#).await;
    assert_eq!(content.text().await.unwrap(), "Flaky recovered");
    wait_for(&app, r#"[data-remote="alpha"] [data-testid="alpha-content"]"#).await;
    screenshot(&app, "3b-throwing-remote-retried").await;
    app.close().await.unwrap();
}

#[tokio::test]
async fn a_newer_version_needing_another_host_api_falls_back_to_the_older_one_and_says_why() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    publish(&sandbox, &["gamma-1.0.0"]);
    // Publishing 2.0.0 succeeds with a note: a newer shell could run it.
    publish(&sandbox, &["gamma-2.0.0"]);
    let driver = Driver::start();
    let app = driver.open(&app_args(&sandbox, &folder_registry(&sandbox))).await;

    let content = wait_for(
        &app,
        r#"[data-remote="gamma"][data-version="1.0.0"][data-state="mounted"] [data-testid="gamma-content"]"#,
    )
    .await;
    assert_eq!(content.text().await.unwrap(), "Gamma 1.0.0 is mounted");
    let reason =
        wait_for_text(&app, r#"[data-remote="gamma"] [data-testid="fallback-reason"]"#, "2.0.0 needs host API ^2.0.0")
            .await;
    let host_api = manifest::HostProfile::builtin().host_api;
    assert!(reason.contains(&format!("this app provides {host_api}")), "{reason}");
    screenshot(&app, "4-incompatible-newer-version").await;
    app.close().await.unwrap();
}

#[tokio::test]
async fn a_version_that_fails_to_load_after_an_update_is_rolled_back_automatically() {
    update_then_rolled_back("delta-1.1.0", "Delta 1.1.0 failed to load", "5-automatic-rollback").await;
}

/// A version that loads but throws while mounting counts like one that
/// fails to load: rolled back without a restart.
#[tokio::test]
async fn a_version_that_throws_while_rendering_after_an_update_is_rolled_back_automatically() {
    update_then_rolled_back("delta-1.2.0", "Delta 1.2.0 failed while rendering", "5b-render-failure-rollback").await;
}

/// delta 1.0.0 mounts and is marked known good; `bad` is published, found by
/// "Check for updates" and applied with Reload; it fails, and the app rolls
/// back to 1.0.0 with a notice that says `failure`.
async fn update_then_rolled_back(bad: &str, failure: &str, shot: &str) {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    publish(&sandbox, &["delta-1.0.0"]);
    let driver = Driver::start();
    let app = driver.open(&app_args(&sandbox, &folder_registry(&sandbox))).await;
    wait_for(
        &app,
        r#"[data-remote="delta"][data-version="1.0.0"][data-state="mounted"] [data-testid="delta-content"]"#,
    )
    .await;
    wait_for(&app, r#"[data-testid="registry-status"][data-state="online"]"#).await;
    // The mount is recorded as known good (asynchronously): wait for it.
    let start = std::time::Instant::now();
    loop {
        let rows = run_async(&app, "return await window.__TAURI_INTERNALS__.invoke('remote_versions');").await;
        if rows[0]["lastKnownGood"] == "1.0.0" {
            break;
        }
        assert!(start.elapsed() < crate::harness::DEADLINE, "1.0.0 was never marked known good: {rows}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    publish(&sandbox, &[bad]);
    // The start-up check is over, so the button must be usable (it once
    // stayed "Checking…" when the check's event beat the command's reply).
    wait_for(&app, r#"[data-testid="check-updates"]:not([disabled])"#).await.click().await.unwrap();
    // Delta 1.0.0 is mounted: 1.1.0 waits for Reload rather than remounting it.
    let version = bad.trim_start_matches("delta-");
    wait_for_text(&app, r#"[data-remote="delta"] [data-testid="update-ready"]"#, &format!("Delta {version} is ready"))
        .await;
    wait_for(&app, r#"[data-remote="delta"] [data-testid="apply-update"]"#).await.click().await.unwrap();
    let notice = wait_for_text(&app, r#"[data-testid="notices"]"#, "rolled back to 1.0.0").await;
    assert!(notice.contains(failure), "{notice}");
    let content = wait_for(
        &app,
        r#"[data-remote="delta"][data-version="1.0.0"][data-state="rolled-back"][data-mounted="true"] [data-testid="delta-content"]"#,
    )
    .await;
    assert_eq!(content.text().await.unwrap(), "Delta 1.0.0 is mounted");
    let nav = wait_for(&app, r#"[data-testid="remote-nav"] li[data-remote="delta"] .version"#).await;
    assert_eq!(nav.text().await.unwrap(), "1.0.0");
    screenshot(&app, shot).await;
    app.close().await.unwrap();
    let cached = sandbox.cached_versions();
    assert!(cached.contains(&("delta".into(), "1.0.0".into(), true)), "1.0.0 is active again: {cached:?}");
}

#[tokio::test]
async fn a_hostile_remote_is_refused_ungranted_commands_and_paths_outside_its_bundle() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    publish(&sandbox, &["alpha-1.0.0", "hostile-1.0.0"]);
    let driver = Driver::start();
    let app = driver.open(&app_args(&sandbox, &folder_registry(&sandbox))).await;

    show(&app, "hostile").await;
    wait_for(&app, r#"[data-testid="hostile-results"][data-done="true"]"#).await;
    let probes = app.find_all(Locator::Css(r#"[data-testid="hostile-results"] li"#)).await.unwrap();
    assert_eq!(probes.len(), 8, "every probe reported");
    for probe in probes {
        let text = probe.text().await.unwrap();
        assert_eq!(probe.attr("data-outcome").await.unwrap().as_deref(), Some("refused"), "{text}");
    }
    let ipc =
        app.find(Locator::Css(r#"li[data-probe="invoke plugin:app|version"]"#)).await.unwrap().text().await.unwrap();
    assert!(ipc.contains("not allowed"), "refused by the capability, not by chance: {ipc}");

    // The same scheme serves the bundle itself, with the right headers.
    let served = run_async(
        &app,
        "const r = await fetch('mfe://localhost/alpha/1.0.0/remoteEntry.js');
         const bad = await fetch('mfe://localhost/alpha/1.0.0/%2e%2e/%2e%2e/index.sqlite');
         return { status: r.status, type: r.headers.get('content-type'), cache: r.headers.get('cache-control'), bad: bad.status };",
    )
    .await;
    assert_eq!(served["status"], 200, "{served}");
    assert_eq!(served["type"], "text/javascript; charset=utf-8", "{served}");
    assert_eq!(served["cache"], "public, max-age=31536000, immutable", "{served}");
    assert_eq!(served["bad"], 400, "{served}");
    wait_for(&app, r#"[data-remote="alpha"][data-state="mounted"] [data-testid="alpha-content"]"#).await;
    screenshot(&app, "6-hostile-remote-refused").await;
    app.close().await.unwrap();
}
