//! The API key commands through Tauri's mock runtime (`tauri::test`), against
//! the real OS keychain (a private gnome-keyring under `cargo xtask test`) and
//! the fake provider on loopback. No reply may ever carry a key.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use augment_desktop::ShellState;
use fake_provider::{Behaviour, FakeConfig, FakeProvider};
use serde_json::{Value, json};
use tauri::Listener as _;
use tauri::test::{MockRuntime, mock_context, noop_assets};
use tauri::webview::WebviewWindowBuilder;

/// The keychain entries of the built-in providers are shared by every test here.
static KEYCHAIN: Mutex<()> = Mutex::new(());

struct Harness {
    _dirs: tempfile::TempDir,
    app: tauri::App<MockRuntime>,
    webview: tauri::WebviewWindow<MockRuntime>,
    runtime: tokio::runtime::Runtime,
    /// Every reply, to scan for keys at the end.
    replies: Mutex<Vec<String>>,
}

impl Harness {
    fn new() -> Self {
        let dirs = tempfile::tempdir().unwrap();
        let state = ShellState::open(&dirs.path().join("cache"), &dirs.path().join("config"), None).unwrap();
        let app = augment_desktop::with_shell(tauri::test::mock_builder())
            .manage(state)
            .build(mock_context(noop_assets()))
            .unwrap();
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        Self { _dirs: dirs, app, webview, runtime, replies: Mutex::default() }
    }

    fn fake(&self, expected_key: &str) -> FakeProvider {
        let config = FakeConfig { expected_key: Some(expected_key.to_owned()), ..FakeConfig::default() };
        self.runtime.block_on(FakeProvider::start(config)).unwrap()
    }

    /// Invokes `cmd` with `args`; `Err` carries the serialized `{ code, message }`.
    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let reply = common::invoke(&self.webview, cmd, args);
        let shown = match &reply {
            Ok(value) | Err(value) => value.to_string(),
        };
        self.replies.lock().unwrap().push(shown);
        reply
    }

    fn status(&self, provider: &str) -> Value {
        let all = self.invoke("provider_status", json!({})).unwrap();
        all.as_array().unwrap().iter().find(|p| p["provider"] == provider).cloned().unwrap()
    }

    fn assert_no_reply_contains(&self, key: &str) {
        for reply in self.replies.lock().unwrap().iter() {
            assert!(!reply.contains(key), "an IPC reply carried the key: {reply}");
        }
    }

    fn config_dir(&self) -> std::path::PathBuf {
        self._dirs.path().join("config")
    }
}

/// Only in a throw-away keyring, so a run on a desktop never overwrites a real key.
fn private_keychain() -> Option<std::sync::MutexGuard<'static, ()>> {
    if std::env::var("AUGMENT_SKIP_KEYCHAIN_TESTS").as_deref() == Ok("1") {
        eprintln!("SKIPPED: AUGMENT_SKIP_KEYCHAIN_TESTS=1 (these tests need a private gnome-keyring)");
        return None;
    }
    let temp = std::env::temp_dir();
    let private = ["XDG_DATA_HOME", "HOME"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|dir| Path::new(&dir).starts_with(&temp)));
    assert!(
        private,
        "these tests store keys for the built-in providers, so they run only against a throw-away keyring: \
         use `cargo xtask test`, or crates/secrets/run-keychain-tests.sh -p augment-desktop"
    );
    Some(KEYCHAIN.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}

fn canary() -> String {
    format!("sk-canary-{:032x}", rand_u128())
}

fn rand_u128() -> u128 {
    // Enough randomness for a test key without another dependency.
    let a = std::collections::hash_map::RandomState::new();
    let b = std::collections::hash_map::RandomState::new();
    use std::hash::BuildHasher as _;
    (u128::from(a.hash_one(1u8)) << 64) | u128::from(b.hash_one(2u8))
}

fn secret_tool_lookup(provider: &str) -> String {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", "augment-it", "username", provider])
        .output()
        .expect("secret-tool is missing: apt-get install libsecret-tools");
    String::from_utf8(out.stdout).unwrap()
}

fn code(err: &Value) -> &str {
    err["code"].as_str().unwrap_or_else(|| panic!("error without a code: {err}"))
}

#[test]
fn set_replies_only_set_stores_in_the_keychain_and_delete_removes_it() {
    let Some(_keychain) = private_keychain() else { return };
    let h = Harness::new();
    let key = canary();
    let reply = h.invoke("set_api_key", json!({ "provider": "openai", "key": format!("  {key}\n") })).unwrap();
    assert_eq!(reply, json!("set"));
    assert_eq!(secret_tool_lookup("openai"), key, "stored trimmed, under service augment-it");
    let status = h.status("openai");
    assert_eq!(status["key"], "set", "{status}");
    assert_eq!(status["envVar"], "AUGMENT_OPENAI_API_KEY");
    assert_eq!(status["defaultBaseUrl"], "https://api.openai.com");

    assert_eq!(h.invoke("delete_api_key", json!({ "provider": "openai" })).unwrap(), json!("notSet"));
    assert_eq!(secret_tool_lookup("openai"), "");
    assert_eq!(h.status("openai")["key"], "notSet");
    h.assert_no_reply_contains(&key);
}

#[test]
fn set_and_delete_refuse_empty_keys_and_unknown_providers_without_echoing_a_key() {
    let Some(_keychain) = private_keychain() else { return };
    let h = Harness::new();
    let err = h.invoke("set_api_key", json!({ "provider": "groq", "key": " \n" })).unwrap_err();
    assert_eq!(code(&err), "invalidInput");
    assert!(err["message"].as_str().unwrap().contains("empty"), "{err}");

    let err = h.invoke("set_api_key", json!({ "provider": "mistral", "key": "sk-x" })).unwrap_err();
    assert_eq!(code(&err), "invalidInput");
    assert!(err["message"].as_str().unwrap().contains("openai, anthropic, groq"), "{err}");

    // A key pasted into the provider field is described, never echoed.
    let key = canary();
    let err = h.invoke("delete_api_key", json!({ "provider": key })).unwrap_err();
    assert_eq!(code(&err), "invalidInput");
    let err = h.invoke("set_api_key", json!({ "provider": "openai" })).unwrap_err();
    assert!(err.to_string().contains("missing required key key"), "Tauri names the missing argument: {err}");
    assert_eq!(h.status("groq")["key"], "notSet");
    h.assert_no_reply_contains(&key);
}

#[test]
fn test_api_key_reports_ok_retries_a_429_and_names_a_rejected_key() {
    let Some(_keychain) = private_keychain() else { return };
    let h = Harness::new();
    let key = canary();
    let fake = h.fake(&key);
    let saved = h
        .invoke(
            "save_provider_settings",
            json!({ "provider": "anthropic", "baseUrl": fake.base_url(), "defaultModel": "claude-3-5-haiku-latest" }),
        )
        .unwrap();
    assert_eq!(saved["baseUrl"], fake.base_url());

    let none = h.invoke("test_api_key", json!({ "provider": "anthropic" })).unwrap();
    assert_eq!(none["ok"], false, "{none}");
    assert_eq!(none["code"], "no_key", "{none}");
    assert_eq!(fake.request_count(), 0, "nothing is sent without a key");

    assert_eq!(h.invoke("set_api_key", json!({ "provider": "anthropic", "key": key })).unwrap(), json!("set"));
    let ok = h.invoke("test_api_key", json!({ "provider": "anthropic" })).unwrap();
    assert_eq!(ok["ok"], true, "{ok}");
    assert!(ok["message"].as_str().unwrap().contains("3 model"), "{ok}");
    assert_eq!(fake.requests().last().unwrap().api_key(), Some(key.as_str()), "signed with the keychain's key");

    let (tx, rx) = mpsc::channel();
    h.app.listen("provider-progress", move |e| {
        let _ = tx.send(e.payload().to_owned());
    });
    fake.push(Behaviour::rate_limited_for(1));
    let retried = h.invoke("test_api_key", json!({ "provider": "anthropic" })).unwrap();
    assert_eq!(retried["ok"], true, "{retried}");
    let progress = rx.recv_timeout(Duration::from_secs(10)).expect("a provider-progress event");
    assert!(progress.contains("rate limited, retrying in 1 s"), "{progress}");

    fake.push(Behaviour::InvalidKey);
    let rejected = h.invoke("test_api_key", json!({ "provider": "anthropic" })).unwrap();
    assert_eq!(rejected["ok"], false);
    assert_eq!(rejected["code"], "invalid_key");
    assert!(rejected["message"].as_str().unwrap().contains("rejected the key for anthropic"), "{rejected}");

    let err = h.invoke("test_api_key", json!({ "provider": "nope" })).unwrap_err();
    assert_eq!(code(&err), "invalidInput");
    h.invoke("delete_api_key", json!({ "provider": "anthropic" })).unwrap();
    h.assert_no_reply_contains(&key);
    let settings = std::fs::read_to_string(h.config_dir().join("settings.json")).unwrap();
    assert!(!settings.contains(&key), "{settings}");
}

#[test]
fn provider_models_lists_what_the_provider_offers_or_a_typed_error() {
    let Some(_keychain) = private_keychain() else { return };
    let h = Harness::new();
    let key = canary();
    let fake = h.fake(&key);
    h.invoke("save_provider_settings", json!({ "provider": "groq", "baseUrl": fake.base_url() })).unwrap();
    h.invoke("set_api_key", json!({ "provider": "groq", "key": key })).unwrap();
    let models = h.invoke("provider_models", json!({ "provider": "groq" })).unwrap();
    let ids: Vec<&str> = models.as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["gpt-4o-mini", "claude-3-5-haiku-latest", "llama-3.1-8b-instant"]);

    fake.push(Behaviour::InvalidKey);
    let err = h.invoke("provider_models", json!({ "provider": "groq" })).unwrap_err();
    assert_eq!(code(&err), "provider");
    assert!(err["message"].as_str().unwrap().contains("rejected the key for groq"), "{err}");
    let err = h.invoke("provider_models", json!({ "provider": "" })).unwrap_err();
    assert_eq!(code(&err), "invalidInput");
    h.invoke("delete_api_key", json!({ "provider": "groq" })).unwrap();
    h.assert_no_reply_contains(&key);
}

#[test]
fn provider_settings_are_checked_saved_kept_by_save_settings_and_cleared_when_empty() {
    let Some(_keychain) = private_keychain() else { return };
    let h = Harness::new();
    for (url, expected) in [
        ("http://user:hunter2@localhost:8080", "user name or password"),
        ("http://localhost:11434/v1", "should not end in /v1"),
        ("ftp://example.com", "http:// or https://"),
    ] {
        let err = h.invoke("save_provider_settings", json!({ "provider": "openai", "baseUrl": url })).unwrap_err();
        assert_eq!(code(&err), "invalidInput", "{url}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(expected) && !message.contains("hunter2"), "{url}: {message}");
    }
    let err = h.invoke("save_provider_settings", json!({ "provider": "openia", "baseUrl": null })).unwrap_err();
    assert_eq!(code(&err), "invalidInput");

    h.invoke(
        "save_provider_settings",
        json!({ "provider": "openai", "baseUrl": " http://127.0.0.1:9 ", "defaultModel": "gpt-4o-mini" }),
    )
    .unwrap();
    let status = h.status("openai");
    assert_eq!(status["settings"], json!({ "baseUrl": "http://127.0.0.1:9", "defaultModel": "gpt-4o-mini" }));
    // Saving the registries from the other settings panel keeps the provider settings.
    h.invoke("save_settings", json!({ "settings": { "registries": [] } })).unwrap();
    assert_eq!(h.status("openai")["settings"]["defaultModel"], "gpt-4o-mini");
    let file: Value = serde_json::from_slice(&std::fs::read(h.config_dir().join("settings.json")).unwrap()).unwrap();
    assert_eq!(file["providers"]["openai"]["baseUrl"], "http://127.0.0.1:9");

    h.invoke("save_provider_settings", json!({ "provider": "openai", "baseUrl": "", "defaultModel": "" })).unwrap();
    assert_eq!(h.status("openai")["settings"], json!({}));
}
