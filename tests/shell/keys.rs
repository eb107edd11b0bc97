//! Issue 6's canary acceptance test through the real window: a random key is
//! typed into Settings, stored in the real OS keychain (the app inherits this
//! test's D-Bus session: a private gnome-keyring under `cargo xtask test`),
//! tested against the fake provider through a 429 retry and an auth failure,
//! with the app logging at TRACE. The key must reach the fake provider and
//! nothing else: not the DOM, not an IPC reply, not the log, not a file.

use std::path::{Path, PathBuf};
use std::process::Command;

use fake_provider::{Behaviour, FakeConfig, FakeProvider};
use fantoccini::Client;
use serde_json::Value;

use crate::harness::{Driver, run_async, screenshot, serial, wait_for, wait_for_text};

const PROVIDER: &str = "openai";

/// Records every reply and event payload the page receives. `invoke` itself
/// is non-writable, but every reply goes through the internals' callback map.
const RECORD_REPLIES: &str = r#"
    const callbacks = window.__TAURI_INTERNALS__.callbacks;
    window.__augmentReplies = [];
    const get = callbacks.get.bind(callbacks);
    Object.defineProperty(callbacks, "get", {
      value: (id) => {
        const callback = get(id);
        return callback && ((data) => {
          window.__augmentReplies.push(JSON.stringify(data) ?? String(data));
          return callback(data);
        });
      },
    });
    return true;
"#;

/// A script that starts the app with TRACE logging, its standard error in
/// `log`, and every XDG dir inside `root` so WebKit's own storage is scanned too.
/// Native confirmations answer "yes": the person agrees to send the key to
/// the fake provider's address (issue 15, point 4).
fn launcher(root: &Path, log: &Path) -> PathBuf {
    let script = root.join("launch-app.sh");
    let xdg = |name: &str| root.join("xdg").join(name).display().to_string();
    let body = format!(
        "#!/bin/sh\nexport AUGMENT_LOG=trace AUGMENT_TEST_CONFIRM=yes XDG_CONFIG_HOME='{}' XDG_CACHE_HOME='{}' XDG_DATA_HOME='{}'\nunset AUGMENT_OPENAI_API_KEY\nexec '{}' \"$@\" 2>>'{}'\n",
        xdg("config"),
        xdg("cache"),
        xdg("data"),
        crate::harness::app_bin().display(),
        log.display()
    );
    std::fs::write(&script, body).unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    script
}

fn secret_tool(args: &[&str]) -> String {
    let out = Command::new("secret-tool")
        .args(args)
        .output()
        .expect("secret-tool is missing: apt-get install libsecret-tools");
    String::from_utf8(out.stdout).unwrap()
}

/// Every file under `dir` that contains `needle`, SQLite files and WebKit storage included.
fn files_containing(dir: &Path, needle: &[u8], scanned: &mut usize) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            found.extend(files_containing(&path, needle, scanned));
        } else if kind.is_file() {
            *scanned += 1;
            let bytes = std::fs::read(&path).unwrap_or_default();
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found.push(path);
            }
        }
    }
    found
}

async fn click(app: &Client, testid: &str) {
    wait_for(app, &format!(r#"[data-testid="{testid}"]:not([disabled])"#)).await.click().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_key_typed_in_settings_reaches_the_provider_and_nothing_else() {
    let _one = serial().await;
    if !integration_tests::private_keychain("shell::keys::a_canary_key…") {
        return;
    }
    let canary = format!("sk-canary-{:032x}", rand::random::<u128>());
    let fake =
        FakeProvider::start(FakeConfig { expected_key: Some(canary.clone()), ..FakeConfig::default() }).await.unwrap();
    secret_tool(&["clear", "service", "augment-it", "username", PROVIDER]);
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("app-stderr.log");
    let config_dir = root.path().join("config");
    let cache_dir = root.path().join("cache");
    let args = vec![
        "--config-dir".to_owned(),
        config_dir.display().to_string(),
        "--cache-dir".to_owned(),
        cache_dir.display().to_string(),
    ];
    let driver = Driver::start();
    let app = driver.open_application(&launcher(root.path(), &log), &args).await;

    click(&app, "open-settings").await;
    wait_for(&app, &format!(r#"[data-provider="{PROVIDER}"][data-key-state="notSet"]"#)).await;
    assert_eq!(run_async(&app, RECORD_REPLIES).await, Value::Bool(true), "reply recorder installed");

    // The key, typed like a person would, then saved: the field empties.
    let input = wait_for(&app, &format!(r#"[data-testid="key-input-{PROVIDER}"]"#)).await;
    assert_eq!(input.attr("type").await.unwrap().as_deref(), Some("password"));
    input.send_keys(&canary).await.unwrap();
    click(&app, &format!("key-save-{PROVIDER}")).await;
    wait_for(&app, &format!(r#"[data-provider="{PROVIDER}"][data-key-state="set"]"#)).await;
    wait_for_text(&app, &format!(r#"[data-testid="key-status-{PROVIDER}"]"#), "set").await;
    assert_eq!(input.prop("value").await.unwrap().as_deref(), Some(""), "the input is cleared after saving");
    assert_eq!(secret_tool(&["lookup", "service", "augment-it", "username", PROVIDER]), canary, "in the real keychain");

    // Point the provider at the fake one.
    wait_for(&app, &format!(r#"[data-testid="base-url-{PROVIDER}"]"#)).await.send_keys(&fake.base_url()).await.unwrap();
    click(&app, &format!("settings-save-{PROVIDER}")).await;
    let result = format!(r#"[data-testid="key-result-{PROVIDER}"]"#);
    wait_for_text(&app, &result, "Provider settings saved").await;

    // Test: a 429 with Retry-After 1 is retried, then the key works.
    fake.push(Behaviour::rate_limited_for(1));
    click(&app, &format!("key-test-{PROVIDER}")).await;
    wait_for_text(&app, &result, "the key works").await;
    // Test again: the provider rejects the key.
    fake.push(Behaviour::InvalidKey);
    click(&app, &format!("key-test-{PROVIDER}")).await;
    wait_for_text(&app, &result, "the provider rejected the key for openai").await;
    screenshot(&app, "6-api-keys-write-only").await;

    // It arrived where it belongs, in the Authorization header, each time.
    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "429, retry, rejected: {:?}", requests.iter().map(|r| &r.path).collect::<Vec<_>>());
    assert!(requests.iter().all(|r| r.path == "/v1/models" && r.bearer_token() == Some(canary.as_str())));

    // Nowhere in the DOM, nor in any reply or event the page received.
    let source = app.source().await.unwrap();
    assert!(!source.contains(&canary), "the canary is in the page's DOM");
    let replies = run_async(&app, "return window.__augmentReplies;").await;
    let replies: Vec<&str> = replies.as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    let all = replies.join("\n");
    assert!(all.contains("\"set\"") && all.contains("the key works") && all.contains("retrying in 1 s"), "{all}");
    assert!(!all.contains(&canary), "an IPC reply carried the canary: {all}");
    app.close().await.unwrap();
    drop(driver);

    // Nowhere in the TRACE log.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("TRACE"), "the app logged at TRACE:\n{}", &logged[..logged.len().min(2000)]);
    assert!(logged.contains("stored API key in the OS keychain"), "the log covers the key flow");
    assert!(!logged.contains(&canary), "the canary is in the app's log");

    // Nowhere on disk: config dir, cache dir (SQLite), WebKit's data and cache.
    let settings = std::fs::read_to_string(config_dir.join("settings.json")).unwrap();
    assert!(settings.contains(&fake.base_url()), "{settings}");
    assert!(cache_dir.join("index.sqlite").exists(), "the cache's SQLite index is among the files scanned");
    let mut scanned = 0;
    let leaks = files_containing(root.path(), canary.as_bytes(), &mut scanned);
    assert!(leaks.is_empty(), "the canary is in {leaks:?}");
    assert!(scanned >= 3, "scanned {scanned} files");
    secret_tool(&["clear", "service", "augment-it", "username", PROVIDER]);
}

/// Every process descended from `pid` (WebKit's web and network processes,
/// and anything under a sandbox helper), as (pid, command name).
fn descendants(pid: u32) -> Vec<(u32, String)> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid …`: the name may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let comm = stat[open + 1..close].to_owned();
        let Some(ppid) = stat[close + 1..].split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        parents.push((child, ppid, comm));
    }
    let mut found: Vec<(u32, String)> = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for (child, _, comm) in parents.iter().filter(|(_, ppid, _)| *ppid == parent) {
            found.push((*child, comm.clone()));
            frontier.push(*child);
        }
    }
    found
}

/// Issue 20 point 8: an API key from the environment reaches the app (Settings
/// says "from environment") but not the WebKit processes it starts: their
/// environment (`/proc/<pid>/environ`) holds no canary. (The app's own
/// `/proc/<pid>/environ` is not checked: it shows the environment as the
/// process was started, whatever the process removed since.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_8_env_api_keys_are_not_inherited_by_webkit_processes() {
    let _one = serial().await;
    let canary = format!("sk-envcanary-{:032x}", rand::random::<u128>());
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("app-stderr.log");
    let pid_file = root.path().join("app.pid");
    // Every built-in provider has a key from the environment, so the status never asks a keychain.
    let script = root.path().join("launch-with-env-keys.sh");
    let body = format!(
        "#!/bin/sh\nexport AUGMENT_OPENAI_API_KEY='{canary}' AUGMENT_ANTHROPIC_API_KEY='{canary}' \
         AUGMENT_GROQ_API_KEY='{canary}' AUGMENT_MY_LLM_API_KEY='{canary}'\necho $$ > '{}'\nexec '{}' \"$@\" 2>>'{}'\n",
        pid_file.display(),
        crate::harness::app_bin().display(),
        log.display()
    );
    std::fs::write(&script, body).unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    let args = vec![
        "--config-dir".to_owned(),
        root.path().join("config").display().to_string(),
        "--cache-dir".to_owned(),
        root.path().join("cache").display().to_string(),
        "--data-dir".to_owned(),
        root.path().join("data").display().to_string(),
    ];
    let driver = Driver::start();
    let app = driver.open_application(&script, &args).await;

    click(&app, "open-settings").await;
    wait_for(&app, &format!(r#"[data-provider="{PROVIDER}"][data-key-state="fromEnvironment"]"#)).await;
    let app_pid: u32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    let children = descendants(app_pid);
    let webkit: Vec<_> = children.iter().filter(|(_, comm)| comm.starts_with("WebKit")).collect();
    assert!(!webkit.is_empty(), "the app {app_pid} has WebKit processes: {children:?}");
    for (pid, comm) in &children {
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else { continue };
        assert!(
            !environ.windows(canary.len()).any(|w| w == canary.as_bytes()),
            "{comm} ({pid}), started by the app, inherited an API key from its environment"
        );
        assert!(
            !environ
                .split(|b| *b == 0)
                .any(|var| var.starts_with(b"AUGMENT_") && var.windows(9).any(|w| w == b"_API_KEY=")),
            "{comm} ({pid}) has an AUGMENT_*_API_KEY variable"
        );
    }
    screenshot(&app, "20-8-env-keys-not-inherited").await;
    app.close().await.unwrap();
    drop(driver);
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!logged.contains(&canary), "the canary is in the app's log");
}
