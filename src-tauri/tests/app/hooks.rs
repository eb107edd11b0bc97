//! Webhooks and notifications through the shell's commands: an endpoint
//! added with its URL and secret in the real OS keychain (a private
//! gnome-keyring), a loopback receiver that checks every request with
//! `notify_hooks::verify`, a run against the fake provider and an import
//! that fire `run.finished` and `import.done`, "Test endpoint", the
//! delivery log, and desktop notifications turned off. No reply carries
//! the URL's token or the secret.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use augment_desktop::commands::hooks::{HooksState, Notify};
use axum::body::Bytes;
use axum::http::HeaderMap;
use fake_provider::{FakeConfig, FakeProvider};
use serde_json::{Value, json};

use crate::common::{DataHarness, books_csv};

const KEY: &str = "sk-test-hooks-through-the-shell";
const TOKEN: &str = "TOKEN-IN-THE-HOOK-URL-5c1e";
const SECRET: &str = "whsec-shell-test-0123456789";

/// What the receiver got: event type, event id header, whether `verify` accepted it, the body.
type Got = Arc<Mutex<Vec<(String, String, bool, Value)>>>;

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
            let id = headers[notify_hooks::EVENT_ID_HEADER].to_str().unwrap().to_owned();
            let body: Value = serde_json::from_slice(&body).unwrap();
            seen.lock().unwrap().push((body["type"].as_str().unwrap().to_owned(), id, verified, body));
            if verified { axum::http::StatusCode::OK } else { axum::http::StatusCode::UNAUTHORIZED }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// Records the notifications the shell asks for (the desktop's daemon is not part of this test).
#[derive(Default)]
struct Shown(Mutex<Vec<(String, String)>>);

impl Notify for Shown {
    fn notify(&self, title: &str, body: &str) {
        self.0.lock().unwrap().push((title.to_owned(), body.to_owned()));
    }
}

fn wait_for(got: &Got, kind: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((_, _, verified, body)) = got.lock().unwrap().iter().find(|(k, ..)| k == kind) {
            assert!(verified, "the receiver verified the signature of {kind}");
            return body.clone();
        }
        assert!(Instant::now() < deadline, "no {kind} before the deadline: {:?}", got.lock().unwrap());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_finished_run_and_an_import_reach_a_verifying_receiver_and_the_desktop() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let h = DataHarness::new();
    tauri::Manager::manage(&h.app, augment_desktop::confirm::Confirmation::Answer(true));
    let shown = Arc::new(Shown::default());
    let data = tauri::Manager::state::<augment_desktop::commands::data::DataState>(&h.app);
    let hooks = HooksState::open(
        &data,
        secrets::KeyStore::system(),
        shown.clone(),
        runtime.handle(),
        notify_hooks::RetryPolicy::default(),
    )
    .unwrap();
    tauri::Manager::manage(&h.app, hooks);
    let (base, got) = runtime.block_on(receiver());

    // Refusals first: a plain-http URL off this computer, a generic endpoint without a secret.
    let (code, message) = h.refused(
        "add_hook_endpoint",
        json!({ "name": "x", "preset": "generic", "events": ["run.finished"], "url": format!("http://example.com/{TOKEN}"), "secret": SECRET }),
    );
    assert_eq!(code, "invalidInput");
    assert!(message.contains("https://") && !message.contains(TOKEN), "{message}");
    let (code, _) = h.refused(
        "add_hook_endpoint",
        json!({ "name": "x", "preset": "generic", "events": ["run.finished"], "url": base }),
    );
    assert_eq!(code, "invalidInput");

    let url = format!("{base}/hook?token={TOKEN}");
    let events = json!(["run.finished", "import.done"]);
    let added = h.ok(
        "add_hook_endpoint",
        json!({ "name": "ops", "preset": "generic", "events": events, "url": url, "secret": SECRET }),
    );
    let id = added["id"].as_i64().unwrap();
    assert_eq!(added["host"], base.trim_start_matches("http://"));
    let listed = h.ok("list_hook_endpoints", json!({}));
    assert_eq!(listed.as_array().unwrap().len(), 1);

    let tested = h.ok("test_hook_endpoint", json!({ "id": id }));
    assert_eq!((tested["delivered"].as_bool(), tested["attempts"].as_u64()), (Some(true), Some(1)), "{tested}");
    assert_eq!(wait_for(&got, "test")["data"]["endpoint"], "ops");

    // A run against the fake provider: its end reaches the receiver, signed.
    let fake = runtime
        .block_on(FakeProvider::start(FakeConfig { expected_key: Some(KEY.into()), ..FakeConfig::default() }))
        .unwrap();
    h.ok("set_api_key", json!({ "provider": "openai", "key": KEY }));
    h.ok("save_provider_settings", json!({ "provider": "openai", "baseUrl": fake.base_url() }));
    let saved = h.ok("save_dataset", json!({ "name": "hooked books", "format": "csv", "text": books_csv(3) }));
    let dataset = saved["dataset"]["id"].as_i64().unwrap();
    let imported = wait_for(&got, "import.done");
    assert_eq!((imported["data"]["datasetId"].as_i64(), imported["data"]["rows"].as_u64()), (Some(dataset), Some(3)));

    let template = h.ok("create_template", json!({ "name": "hooked", "body": "About {{ title }}" }));
    let version = template["current"]["id"].as_i64().unwrap();
    let targets = json!([{ "provider": "openai", "model": "gpt-4o-mini" }]);
    h.ok("generate_requests", json!({ "datasetId": dataset, "templateVersionId": version, "targets": targets }));
    let all = json!({ "datasetId": dataset, "templateVersionId": version, "from": "pending", "to": "approved" });
    h.ok("set_all_request_status", all);
    let run = h.ok("start_run", json!({ "datasetId": dataset }));
    let run_id = run["run_id"].as_i64().unwrap();
    let finished = wait_for(&got, "run.finished");
    assert_eq!(finished["data"]["runId"].as_i64(), Some(run_id));
    assert_eq!(
        (finished["data"]["answered"].as_u64(), finished["data"]["status"].as_str()),
        (Some(3), Some("completed"))
    );
    assert!(finished["summary"].as_str().unwrap().starts_with(&format!("Run {run_id} finished")));

    // The desktop was told too (import and run; not the test).
    let titles: Vec<String> = shown.0.lock().unwrap().iter().map(|(t, _)| t.clone()).collect();
    assert_eq!(titles, ["Import done", "Run finished"]);
    assert_eq!(h.ok("set_desktop_notifications", json!({ "enabled": false }))["desktop"], false);
    assert_eq!(h.ok("notification_settings", json!({}))["desktop"], false);
    h.ok("save_dataset", json!({ "name": "quiet books", "format": "csv", "text": books_csv(1) }));
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.lock().unwrap().iter().filter(|(k, ..)| k == "import.done").count() < 2 {
        assert!(Instant::now() < deadline, "the second import reached the receiver");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(shown.0.lock().unwrap().len(), 2, "notifications off: webhooks still go, the desktop is not told");

    // The log: every delivery, by host; no reply holds the URL's token or the secret.
    let log = h.ok("hook_deliveries", json!({ "endpointId": id }));
    let kinds: Vec<&str> = log.as_array().unwrap().iter().map(|d| d["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["import.done", "run.finished", "import.done", "test"], "newest first");
    assert!(log.as_array().unwrap().iter().all(|d| d["outcome"] == "delivered"));
    for reply in [added, listed, tested, log] {
        let text = reply.to_string();
        assert!(!text.contains(TOKEN) && !text.contains(SECRET) && !text.contains("/hook"), "{text}");
    }

    assert_eq!(h.ok("delete_hook_endpoint", json!({ "id": id })), true);
    let (code, _) = h.refused("test_hook_endpoint", json!({ "id": id }));
    assert_eq!(code, "notFound");
    assert!(secrets::KeyStore::system().get(&format!("hook-{id}-url")).unwrap().is_none(), "the URL left the keychain");
    h.ok("delete_api_key", json!({ "provider": "openai" }));
}

/// The real path of a desktop notification: `PluginNotifier` →
/// tauri-plugin-notification → notify-rust → D-Bus
/// `org.freedesktop.Notifications` → a real notification daemon (dunst,
/// Debian's `dunst` package, on an Xvfb display of its own), asked
/// afterwards what it showed. Runs with AUGMENT_NOTIFICATION_DAEMON_TESTS=1
/// (`cargo xtask test` sets it, inside its private D-Bus session) and starts
/// dunst on that session bus itself.
#[test]
fn a_desktop_notification_reaches_the_session_notification_daemon() {
    use augment_desktop::commands::hooks::PluginNotifier;
    if std::env::var("AUGMENT_NOTIFICATION_DAEMON_TESTS").as_deref() != Ok("1") {
        eprintln!("SKIPPED: needs dunst and Xvfb and a D-Bus session (`cargo xtask test` runs it)");
        return;
    }
    let _daemon = NotificationDaemon::start();
    let h = DataHarness::new();
    let title = format!("Run finished {}", std::process::id());
    PluginNotifier(tauri::Manager::app_handle(&h.app).clone())
        .notify(&title, "Run 1 finished: 3 answered, 0 failed of 3");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // dunst's history holds closed notifications: close what is shown, then read it.
        let _ = std::process::Command::new("dunstctl").arg("close-all").status();
        let history = std::process::Command::new("dunstctl").arg("history").output().expect("dunstctl runs");
        let history = String::from_utf8_lossy(&history.stdout);
        if history.contains(&title) {
            assert!(history.contains("Run 1 finished: 3 answered"), "{history}");
            return;
        }
        assert!(Instant::now() < deadline, "the daemon never showed {title:?}: {history}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Xvfb on a free display and dunst on it, serving the session bus; both
/// killed when dropped.
struct NotificationDaemon {
    xvfb: std::process::Child,
    dunst: std::process::Child,
}

impl NotificationDaemon {
    fn start() -> Self {
        use std::io::Read as _;
        use std::process::{Command, Stdio};
        // -displayfd: Xvfb picks a free display and writes its number once it accepts connections.
        let mut xvfb = Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb runs (apt-get install xvfb)");
        let mut display = String::new();
        let mut stdout = xvfb.stdout.take().expect("Xvfb's stdout");
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).expect("reading Xvfb's display") == 1 && byte[0] != b'\n' {
            display.push(char::from(byte[0]));
        }
        let dunst = Command::new("dunst")
            .env("DISPLAY", format!(":{}", display.trim()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dunst runs (apt-get install dunst)");
        let daemon = NotificationDaemon { xvfb, dunst };
        let deadline = Instant::now() + Duration::from_secs(10);
        // Asked of the bus itself: a call to the name before dunst holds it would
        // make D-Bus start another dunst from its service file, without a display.
        let has_owner = || {
            Command::new("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.Notifications",
                ])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
        };
        while !has_owner() {
            assert!(Instant::now() < deadline, "dunst never took the session's notifications");
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon
    }
}

impl Drop for NotificationDaemon {
    fn drop(&mut self) {
        for child in [&mut self.dunst, &mut self.xvfb] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
