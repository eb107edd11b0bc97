//! Issue 20's webview and settings points, against the real app: a bundle's
//! own HTML page never becomes the document (point 4), and settings written
//! from the page cannot stop the app from starting nor change where code is
//! loaded from without a native confirmation (point 6).

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use integration_tests::Sandbox;
use serde_json::{Value, json};

use crate::harness::{DEADLINE, Driver, app_args, publish, run_async, screenshot, serial, wait_for, wait_for_content};

/// A script that starts the app with `AUGMENT_TEST_CONFIRM` set to `answer`
/// (native confirmations answered without a dialog; debug builds only) and
/// its standard error appended to `log`. `AUGMENT_E2E_APP_BIN` points it at
/// another build, e.g. the previous commit's, to see these tests fail there.
fn launcher(root: &Path, log: &Path, answer: &str) -> PathBuf {
    let script = root.join("launch-app.sh");
    let xdg = |name: &str| root.join("xdg").join(name).display().to_string();
    let app = std::env::var_os("AUGMENT_E2E_APP_BIN").map_or_else(crate::harness::app_bin, PathBuf::from);
    let body = format!(
        "#!/bin/sh\nexport AUGMENT_LOG=info AUGMENT_TEST_CONFIRM='{answer}' XDG_CONFIG_HOME='{}' XDG_CACHE_HOME='{}' XDG_DATA_HOME='{}'\nexec '{}' \"$@\" 2>>'{}'\n",
        xdg("config"),
        xdg("cache"),
        xdg("data"),
        app.display(),
        log.display()
    );
    std::fs::write(&script, body).unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    script
}

/// A loopback HTTP server that answers anything with 200 and CORS open to
/// all: "another host" a page must not reach. Returns its port.
fn other_host() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut request = [0_u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
            );
        }
    });
    port
}

/// Saves a screenshot once the webview has painted the current DOM: this
/// app is ready so fast that a snapshot taken at once can show the first
/// frame (the static app shell) instead.
async fn screenshot_painted(app: &Client, name: &str) {
    let painted =
        run_async(app, "await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))); return true;")
            .await;
    assert_eq!(painted, Value::Bool(true), "{painted}");
    screenshot(app, name).await;
}

/// Waits until the app's standard error holds `needle`.
async fn wait_for_log(log: &Path, needle: &str) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(start.elapsed() < DEADLINE, "the app never logged {needle:?}; its log:\n{text}");
        // A poll interval inside a deadline, not a wait for readiness.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const ALPHA_MOUNTED: &str = r#"[data-remote="alpha"][data-state="mounted"] [data-testid="alpha-content"]"#;
const BETA_MOUNTED: &str = r#"[data-remote="beta"][data-state="mounted"] [data-testid="beta-content"]"#;

/// Issue 20, point 4: a remote's own HTML page (`mfe://…/page.html`) must
/// not become the document, where it would run outside the shell's CSP
/// with IPC. The navigation is refused and reported; the shell page stays
/// with its remotes mounted. (Had it loaded, `page.js` writes what inline
/// script, `eval`, `fetch` to another host and `invoke` did there.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_4_a_remotes_html_page_never_replaces_the_shell_page() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    publish(&sandbox, &["alpha-1.0.0", "escape-1.0.0"]);
    let log = sandbox.path().join("app-stderr.log");
    let driver = Driver::start();
    let app = driver
        .open_application(
            &launcher(sandbox.path(), &log, "no"),
            &app_args(&sandbox, &sandbox.registry().display().to_string()),
        )
        .await;
    wait_for(&app, ALPHA_MOUNTED).await;
    wait_for(&app, r#"[data-remote="escape"][data-state="mounted"] [data-testid="escape-content"]"#).await;

    // What any script in the page (a remote's included) can do: leave for the bundle's page.
    let page = format!("{}/escape/1.0.0/page.html#{}", mfe_origin(), other_host());
    app.execute("setTimeout(() => { location.href = arguments[0]; }, 0); return true;", vec![json!(page)])
        .await
        .unwrap();
    let start = Instant::now();
    let document = loop {
        // Mid-navigation a script may fail: that is a poll that saw nothing yet.
        let seen = app
            .execute(
                r#"const notices = document.querySelector('[data-testid="notices"]');
                   return { url: document.URL, probes: document.body ? document.body.dataset.probes || null : null,
                            notices: notices ? notices.textContent : "" };"#,
                vec![],
            )
            .await
            .unwrap_or(Value::Null);
        if let Some(probes) = seen["probes"].as_str() {
            panic!("the webview showed {} and there the page could do this: {probes}", seen["url"]);
        }
        if seen["notices"].as_str().is_some_and(|n| n.contains("Refused to leave the shell page")) {
            break seen;
        }
        assert!(start.elapsed() < DEADLINE, "the navigation was neither refused nor done; last seen: {seen}");
        // A poll interval inside a deadline, not a wait for readiness.
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(document["url"].as_str().is_some_and(|u| u.starts_with("tauri://localhost")), "{document}");
    assert!(
        document["notices"].as_str().is_some_and(|n| n.contains("page.html")),
        "the notice names the page: {document}"
    );
    wait_for_log(&log, "refused a navigation away from the shell page").await;
    // The same shell page, not a reload: the remotes are still mounted and IPC still answers.
    app.find(Locator::Css(ALPHA_MOUNTED)).await.expect("alpha still mounted");
    let settings = run_async(&app, "return await window.__TAURI_INTERNALS__.invoke('get_settings');").await;
    assert!(settings["path"].as_str().is_some_and(|p| p.ends_with("settings.json")), "{settings}");
    screenshot_painted(&app, "20-4-navigation-refused").await;
    app.close().await.unwrap();
}

/// `mfe://localhost` on Linux and macOS (`http://mfe.localhost` on Windows).
fn mfe_origin() -> &'static str {
    if cfg!(windows) { "http://mfe.localhost" } else { "mfe://localhost" }
}

/// Issue 20, point 6: settings.json naming a dev-override folder that does
/// not exist and a malformed registry entry (the page can write both) used
/// to make every launch exit 1. The app starts, the other remotes mount from
/// the good registry, and each bad entry is logged and shown as a notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_6_bad_saved_settings_are_reported_and_skipped_and_the_app_starts() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    publish(&sandbox, &["alpha-1.0.0", "beta-1.0.0"]);
    let config_dir = sandbox.path().join("config");
    std::fs::create_dir_all(&config_dir).unwrap();
    let gone = sandbox.path().join("no-such-folder");
    let settings = json!({
        "registries": [
            { "trust": "a registry entry without a url" },
            // First-party, so its remotes share the shell's realm as the selectors expect.
            { "url": sandbox.registry().display().to_string(), "trust": sandbox.public_key().display().to_string(), "trusted": true },
        ],
        "devOverrides": { "beta": gone.display().to_string() },
    });
    std::fs::write(config_dir.join("settings.json"), settings.to_string()).unwrap();
    let log = sandbox.path().join("app-stderr.log");
    // No launch registry: the remotes come from the good saved one.
    let args: Vec<String> = app_args(&sandbox, "unused").into_iter().take(6).collect();
    let driver = Driver::start();
    // An app that exits at start leaves WebDriver waiting: bound it, and say why.
    let script = launcher(sandbox.path(), &log, "no");
    let opening = driver.open_application(&script, &args);
    let Ok(app) = tokio::time::timeout(DEADLINE, opening).await else {
        panic!(
            "the app did not start within {DEADLINE:?}; its standard error:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    };
    wait_for(&app, ALPHA_MOUNTED).await;
    wait_for(&app, BETA_MOUNTED).await;
    let notices = wait_for_content(&app, r#"[data-testid="notices"]"#, "no-such-folder").await;
    assert!(notices.contains("Settings skipped") && notices.contains(r#""beta""#), "{notices}");
    let notices = wait_for_content(&app, r#"[data-testid="notices"]"#, "saved registry 1 was skipped").await;
    assert!(notices.contains("missing field `url`"), "says why: {notices}");
    let text = wait_for_log(&log, "no-such-folder").await;
    assert!(text.contains("skipped"), "{text}");
    screenshot_painted(&app, "20-6-bad-settings-skipped").await;
    app.close().await.unwrap();
}

/// Issue 20, point 6: any script in the page can call `save_settings`; a
/// change of the registries or dev overrides is saved only after a native
/// confirmation. Answered "no" (the test stand-in for Cancel), nothing is
/// written; the update interval alone needs no confirmation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_6_a_page_cannot_add_a_registry_without_a_native_confirmation() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    publish(&sandbox, &["alpha-1.0.0"]);
    let log = sandbox.path().join("app-stderr.log");
    let settings_file = sandbox.path().join("config").join("settings.json");
    let driver = Driver::start();
    let args = app_args(&sandbox, &sandbox.registry().display().to_string());
    let app: Client = driver.open_application(&launcher(sandbox.path(), &log, "no"), &args).await;
    wait_for(&app, ALPHA_MOUNTED).await;

    let attempt = run_async(
        &app,
        r#"try {
             await window.__TAURI_INTERNALS__.invoke('save_settings', { settings: {
               registries: [{ url: 'https://evil.example/registry', trust: 'ab'.repeat(32) }],
               devOverrides: { alpha: 'http://localhost:5173/remoteEntry.js' } } });
             return 'saved';
           } catch (err) { return err; }"#,
    )
    .await;
    assert_eq!(attempt["code"], "declined", "the change needs the person's yes: {attempt}");
    assert!(!settings_file.exists(), "nothing was written: {:?}", std::fs::read_to_string(&settings_file));
    let text = wait_for_log(&log, "confirmation answered").await;
    assert!(text.contains("Answer(false)"), "answered no: {text}");

    let interval = run_async(
        &app,
        r#"await window.__TAURI_INTERNALS__.invoke('save_settings', { settings: { registries: [], updateCheckMinutes: 30 } });
           return 'saved';"#,
    )
    .await;
    assert_eq!(interval, json!("saved"), "no registry change, no question");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&settings_file).unwrap()).unwrap();
    assert_eq!(saved["updateCheckMinutes"], 30);
    assert_eq!(saved["registries"], json!([]), "{saved}");
    app.close().await.unwrap();
}
