//! Issue 15, against the real app: a remote from a registry that is not
//! first-party runs sandboxed, asks before it mounts, and gets nothing it was
//! not granted, however hard it tries (points 1–3). The hostile remote is
//! `tests/fixtures/remotes-src/rogue-1.0.0`, published through `augment
//! publish` to a second registry the settings name without `trusted`.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fantoccini::{Client, Locator};
use integration_tests::Sandbox;
use serde_json::json;

use crate::harness::{Driver, app_args, publish, run_async, screenshot, serial, show, wait_for};

/// The key the app holds for OpenAI in these tests (from its environment,
/// moved into memory at start): it must never reach the attacker.
const CANARY_KEY: &str = "sk-canary-issue-15-never-leaves";

/// A loopback server that counts every connection (and answers 200 to
/// each): the attacker, who must see none, or the legitimate provider.
struct CountingServer {
    port: u16,
    connections: Arc<AtomicUsize>,
    received: Arc<std::sync::Mutex<Vec<String>>>,
}

impl CountingServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (count, log) = (connections.clone(), received.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut request = [0_u8; 8192];
                let read = stream.read(&mut request).unwrap_or(0);
                log.lock().expect("log").push(String::from_utf8_lossy(&request[..read]).into_owned());
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Type: application/json\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"data\":[]}",
                );
            }
        });
        Self { port, connections, received }
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Publishes the rogue remote at `version`, asking for `permissions`, with
/// `attacker` as the origin it tries to reach.
fn publish_rogue(registry: &Sandbox, version: &str, permissions: &[&str], attacker: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/remotes-src/rogue-1.0.0");
    let dir = registry.path().join(format!("rogue-{version}"));
    std::fs::create_dir_all(&dir).expect("dir");
    for file in ["remoteEntry.js", "app.js"] {
        let text = std::fs::read_to_string(src.join(file)).expect("fixture");
        std::fs::write(dir.join(file), text.replace("__ATTACKER__", attacker)).expect("write");
    }
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("remote.json")).expect("remote.json")).expect("json");
    manifest["version"] = json!(version);
    manifest["permissions"] = json!(permissions);
    std::fs::write(dir.join("remote.json"), manifest.to_string()).expect("write");
    let out = registry.publish(&dir);
    assert!(out.status.success(), "publishing rogue {version}: {}", integration_tests::describe(&out));
}

/// The first-party sandbox's settings: the third-party registry (not
/// trusted) and OpenAI at `provider`.
fn write_settings(first_party: &Sandbox, third_party: &Sandbox, provider: &str) -> PathBuf {
    let dir = first_party.path().join("config");
    std::fs::create_dir_all(&dir).expect("config dir");
    let settings = json!({
        "registries": [{ "url": third_party.registry().display().to_string(), "trust": third_party.public_key().display().to_string() }],
        "providers": { "openai": { "baseUrl": provider } },
    });
    let path = dir.join("settings.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&settings).expect("json")).expect("settings");
    path
}

/// Starts the app with the canary key in its environment and its log in `log`.
fn launcher(root: &Path, log: &Path) -> PathBuf {
    let script = root.join("launch-app.sh");
    let xdg = |name: &str| root.join("xdg").join(name).display().to_string();
    let body = format!(
        "#!/bin/sh\nexport AUGMENT_LOG=info AUGMENT_OPENAI_API_KEY='{CANARY_KEY}' XDG_CONFIG_HOME='{}' XDG_CACHE_HOME='{}' XDG_DATA_HOME='{}'\nexec '{}' \"$@\" 2>>'{}'\n",
        xdg("config"),
        xdg("cache"),
        xdg("data"),
        crate::harness::app_bin().display(),
        log.display()
    );
    std::fs::write(&script, body).expect("script");
    let mut perms = std::fs::metadata(&script).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).expect("chmod");
    script
}

/// The settings are as written, except that the app may have bound the
/// key to the provider's own origin (a key from before bindings is bound at
/// first load): never anything pointing at the attacker.
fn assert_settings_unchanged(path: &Path, before: &[u8], provider: &str) {
    let before: serde_json::Value = serde_json::from_slice(before).expect("json");
    let mut after: serde_json::Value = serde_json::from_slice(&std::fs::read(path).expect("settings")).expect("json");
    if let Some(bound) = after["providers"]["openai"].as_object_mut().and_then(|openai| openai.remove("keyOrigin")) {
        assert_eq!(bound, json!(provider), "the key stays bound to the provider's own origin");
    }
    assert_eq!(after, before, "settings unchanged");
}

/// Every test's world: a first-party registry with alpha, a third-party one
/// with the rogue remote, an attacker and the legitimate provider, and the
/// app's settings naming both.
struct Scene {
    first_party: Sandbox,
    third_party: Sandbox,
    attacker: CountingServer,
    provider: CountingServer,
    settings: PathBuf,
    log: PathBuf,
    driver: Driver,
}

impl Scene {
    /// The rogue 1.0.0 asks for `permissions`.
    fn new(permissions: &[&str]) -> Self {
        let first_party = Sandbox::new();
        publish(&first_party, &["alpha-1.0.0"]);
        let third_party = Sandbox::new();
        let attacker = CountingServer::start();
        let provider = CountingServer::start();
        publish_rogue(&third_party, "1.0.0", permissions, &attacker.origin());
        let settings = write_settings(&first_party, &third_party, &provider.origin());
        let log = first_party.path().join("app.log");
        Self { first_party, third_party, attacker, provider, settings, log, driver: Driver::start() }
    }

    /// Starts the app on the first-party registry, with the canary key.
    async fn open(&self) -> Client {
        let registry = self.first_party.registry().display().to_string();
        let launch = launcher(self.first_party.path(), &self.log);
        self.driver.open_application(&launch, &app_args(&self.first_party, &registry)).await
    }
}

/// Allows the rogue's consent prompt and returns its probes' outcomes, read inside its frame.
async fn allow_and_read_probes(app: &Client) -> Vec<(String, String, String)> {
    // The workspace moves while alpha mounts beside the prompt: a click aimed
    // before that lands beside the button (seen as a prompt that never left).
    wait_for(app, r#"[data-remote="alpha"][data-state="mounted"]"#).await;
    show(app, "rogue").await;
    wait_for(app, r#"[data-remote="rogue"][data-state="consent"] [data-testid="consent-allow"]"#)
        .await
        .click()
        .await
        .expect("allow");
    let frame = wait_for(app, r#"[data-remote="rogue"] iframe[data-testid="sandbox-frame"]"#).await;
    frame.enter_frame().await.expect("enter the rogue's frame");
    wait_for(app, r#"[data-testid="rogue-results"][data-done="true"]"#).await;
    let mut probes = Vec::new();
    for item in app.find_all(Locator::Css(r#"[data-testid="rogue-results"] li"#)).await.expect("probes") {
        let probe = item.attr("data-probe").await.expect("attr").unwrap_or_default();
        let outcome = item.attr("data-outcome").await.expect("attr").unwrap_or_default();
        let text = item.prop("textContent").await.expect("text").unwrap_or_default();
        probes.push((probe, outcome, text));
    }
    app.enter_parent_frame().await.expect("back to the shell page");
    probes
}

fn outcome<'a>(probes: &'a [(String, String, String)], probe: &str) -> &'a (String, String, String) {
    probes.iter().find(|(name, _, _)| name == probe).unwrap_or_else(|| panic!("no probe {probe:?} in {probes:#?}"))
}

/// What is true of every probe whatever the grants: no way out of the frame.
/// (`sendBeacon` only says whether it queued the beacon; whether anything
/// left is the attacker's connection count, asserted by the tests.)
fn assert_no_escape(probes: &[(String, String, String)]) {
    for stage in ["evaluation", "load", "mount"] {
        for window in ["own", "parent", "top"] {
            let (_, outcome, text) = outcome(probes, &format!("{stage}: {window} __TAURI_INTERNALS__"));
            assert_eq!(outcome, "threw", "no Tauri internals reachable: {text}");
        }
    }
    for stage in ["load", "mount"] {
        for probe in [
            "raw plugin:event|listen",
            "raw save_settings as alpha",
            "ipc URL",
            "fetch attacker",
            "import attacker",
            "image from attacker",
            "open a window",
            "write the shell's DOM",
            "navigate the shell",
            "read the shell's storage",
        ] {
            let (_, outcome, text) = outcome(probes, &format!("{stage}: {probe}"));
            assert_ne!(outcome, "allowed", "{text}");
        }
        for command in [
            "save_settings",
            "save_provider_settings",
            "set_api_key",
            "delete_api_key",
            "grant_remote_permissions",
            "report_load_failure",
        ] {
            let (_, outcome, text) = outcome(probes, &format!("{stage}: call {command}"));
            assert_eq!(outcome, "refused", "{text}");
            assert!(text.contains("may not call"), "refused by the grant check in Rust: {text}");
        }
    }
}

/// Issue 15's hostile-remote test with no permissions granted: every
/// command but the open ones is refused by Rust, nothing reaches the
/// attacker, settings are unchanged, no dataset is touched, and the shell
/// and its first-party remote keep working. Then the grant is revoked on
/// the Remotes page and the remote asks again.
#[tokio::test]
async fn point_3_a_sandboxed_hostile_remote_reaches_nothing_it_was_not_granted() {
    let _one = serial().await;
    let scene = Scene::new(&[]);
    let Scene { attacker, provider, settings, log, .. } = &scene;
    let settings_before = std::fs::read(settings).expect("settings");
    let app = scene.open().await;

    wait_for(&app, r#"[data-remote="alpha"][data-state="mounted"] [data-testid="alpha-content"]"#).await;
    show(&app, "rogue").await;
    let prompt = wait_for(&app, r#"[data-remote="rogue"][data-sandboxed="true"] [data-testid="consent"]"#).await;
    let text = prompt.text().await.expect("text");
    assert!(text.contains("No permissions"), "{text}");
    let frames = app.find_all(Locator::Css(r#"[data-remote="rogue"] iframe"#)).await.expect("find");
    assert!(frames.is_empty(), "nothing of the remote loads before consent");

    let probes = allow_and_read_probes(&app).await;
    assert_no_escape(&probes);
    for stage in ["load", "mount"] {
        for (probe, outcome, text) in probes.iter().filter(|(p, _, _)| p.starts_with(&format!("{stage}: call "))) {
            let command = probe.trim_start_matches(&format!("{stage}: call "));
            if command == "cache_usage" || command == "stack_status" {
                assert_ne!(outcome, "refused", "an open command runs (it may still fail, e.g. no Docker): {text}");
            } else {
                assert_eq!(outcome, "refused", "{text}");
            }
        }
    }
    wait_for(&app, r#"[data-remote="rogue"][data-state="mounted"]"#).await;
    screenshot(&app, "15-rogue-sandboxed").await;

    // Nothing left the machine, nothing changed.
    assert_eq!(attacker.connections(), 0, "the attacker was reached: {:?}", attacker.received.lock().expect("log"));
    assert_eq!(provider.connections(), 0, "no provider call was allowed");
    assert_settings_unchanged(settings, &settings_before, &provider.origin());
    let datasets = run_async(&app, "return await window.__TAURI_INTERNALS__.invoke('list_datasets');").await;
    assert_eq!(datasets, json!([]), "no dataset was created");
    let log_text = std::fs::read_to_string(log).unwrap_or_default();
    assert!(!log_text.contains(CANARY_KEY), "the key is in the log");
    assert!(log_text.contains("refused a sandboxed remote's call"), "refusals are logged");

    // The shell keeps working: the first-party remote, the pages.
    show(&app, "alpha").await;
    wait_for(&app, r#"[data-testid="alpha-click"]"#).await.click().await.expect("click");
    wait_for(&app, r#"[data-remote="alpha"][data-state="mounted"]"#).await;
    wait_for(&app, r#"[data-testid="open-remotes"]"#).await.click().await.expect("remotes page");
    let grants = wait_for(&app, r#"[data-testid="grants"] li[data-remote="rogue"]"#).await;
    assert!(grants.text().await.expect("text").contains("granted nothing"));
    grants.find(Locator::Css(r#"[data-testid="revoke"]"#)).await.expect("revoke").click().await.expect("click");
    show(&app, "rogue").await;
    wait_for(&app, r#"[data-remote="rogue"][data-state="consent"]"#).await;
    assert_eq!(attacker.connections(), 0);
    app.close().await.expect("close");
}

/// The same remote granted `providers:use` only: the provider calls run,
/// against the provider's configured address, and still nothing reaches the
/// attacker or changes where the key goes.
#[tokio::test]
async fn point_3_a_remote_granted_providers_use_only_still_cannot_move_the_key() {
    let _one = serial().await;
    let scene = Scene::new(&["providers:use"]);
    let Scene { attacker, provider, settings, .. } = &scene;
    let settings_before = std::fs::read(settings).expect("settings");
    let app = scene.open().await;

    show(&app, "rogue").await;
    let prompt =
        wait_for(&app, r#"[data-remote="rogue"] [data-testid="consent"] li[data-permission="providers:use"]"#).await;
    assert!(prompt.text().await.expect("text").contains("never sees the key"));
    let probes = allow_and_read_probes(&app).await;
    assert_no_escape(&probes);
    for stage in ["load", "mount"] {
        for command in ["provider_status", "provider_models", "test_api_key"] {
            let (_, _, text) = outcome(&probes, &format!("{stage}: call {command}"));
            assert!(!text.contains("may not call"), "granted, so not refused by the grant check: {text}");
        }
        for command in [
            "start_run",
            "list_datasets",
            "delete_dataset",
            "stack_up",
            "stack_metrics",
            "choose_file",
            "export_responses",
        ] {
            let (_, outcome, text) = outcome(&probes, &format!("{stage}: call {command}"));
            assert_eq!(outcome, "refused", "{text}");
        }
    }
    assert_eq!(attacker.connections(), 0, "the attacker was reached: {:?}", attacker.received.lock().expect("log"));
    assert_settings_unchanged(settings, &settings_before, &provider.origin());
    for request in provider.received.lock().expect("log").iter() {
        assert!(!request.contains(&attacker.origin()), "{request}");
    }
    app.close().await.expect("close");
}

/// Consent like browser extensions: an update that asks for more stays on
/// the old version until the person allows it (point 2).
#[tokio::test]
async fn point_2_an_update_that_asks_for_more_waits_for_consent() {
    let _one = serial().await;
    let scene = Scene::new(&[]);
    let Scene { third_party, attacker, .. } = &scene;
    let app = scene.open().await;
    allow_and_read_probes(&app).await;
    app.close().await.expect("close");

    // 1.1.0 asks for runs:start as well: the next launch stays on 1.0.0 and says why.
    publish_rogue(third_party, "1.1.0", &["runs:start"], &attacker.origin());
    let app = scene.open().await;
    show(&app, "rogue").await;
    let held = wait_for(
        &app,
        r#"[data-remote="rogue"][data-version="1.0.0"] [data-testid="held-back"][data-version="1.1.0"]"#,
    )
    .await;
    assert!(held.text().await.expect("text").contains("runs:start"));
    held.find(Locator::Css(r#"[data-testid="review-update"]"#)).await.expect("review").click().await.expect("click");
    wait_for(
        &app,
        r#"[data-remote="rogue"] [data-testid="consent"][data-version="1.1.0"] li[data-permission="runs:start"]"#,
    )
    .await;
    wait_for(&app, r#"[data-remote="rogue"] [data-testid="consent"] [data-testid="consent-allow"]"#)
        .await
        .click()
        .await
        .expect("allow");
    // Mounted, so the allowed version waits for Reload like any update.
    wait_for(&app, r#"[data-remote="rogue"] [data-testid="apply-update"]"#).await.click().await.expect("reload");
    wait_for(&app, r#"[data-remote="rogue"][data-version="1.1.0"][data-state="mounted"]"#).await;
    assert_eq!(attacker.connections(), 0);
    app.close().await.expect("close");
}
