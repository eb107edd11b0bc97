//! The API key commands through Tauri's mock runtime (`tauri::test`), against
//! the real OS keychain (a private gnome-keyring under `cargo xtask test`) and
//! the fake provider on loopback. No reply may ever carry a key.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use augment_desktop::ShellState;
use augment_desktop::confirm::Confirmation;
use fake_provider::{Behaviour, FakeConfig, FakeProvider};
use serde_json::{Value, json};
use tauri::Listener as _;
use tauri::Manager as _;
use tauri::test::{MockRuntime, mock_context, noop_assets};
use tauri::webview::WebviewWindowBuilder;
use test_support::secret_tool_lookup;

struct Harness {
    _dirs: Arc<tempfile::TempDir>,
    app: tauri::App<MockRuntime>,
    webview: tauri::WebviewWindow<MockRuntime>,
    runtime: tokio::runtime::Runtime,
    /// Every reply, to scan for keys at the end.
    replies: Mutex<Vec<String>>,
}

impl Harness {
    /// A fresh app whose native confirmations are answered "no", so a dialog
    /// a test did not expect fails it instead of waiting for a person.
    fn new() -> Self {
        Self::open(Arc::new(tempfile::tempdir().unwrap()), false)
    }

    /// Another app over the same settings (a restart), whose native
    /// confirmations are answered `answer`.
    fn reopen(&self, answer: bool) -> Self {
        Self::open(Arc::clone(&self._dirs), answer)
    }

    fn open(dirs: Arc<tempfile::TempDir>, answer: bool) -> Self {
        static APPS: AtomicUsize = AtomicUsize::new(0);
        let cache = dirs.path().join(format!("cache-{}", APPS.fetch_add(1, Ordering::Relaxed)));
        let state = ShellState::open(&cache, &dirs.path().join("config"), None).unwrap();
        let app = augment_desktop::with_shell(tauri::test::mock_builder())
            .manage(state)
            .manage(Confirmation::Answer(answer))
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
        let reply = crate::common::invoke(&self.webview, cmd, args);
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

    /// The ids `provider_status` lists, in its order.
    fn provider_ids(&self) -> Vec<String> {
        let all = self.invoke("provider_status", json!({})).unwrap();
        all.as_array().unwrap().iter().map(|p| p["provider"].as_str().unwrap().to_owned()).collect()
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

fn code(err: &Value) -> &str {
    err["code"].as_str().unwrap_or_else(|| panic!("error without a code: {err}"))
}

#[test]
fn set_replies_only_set_stores_in_the_keychain_and_delete_removes_it() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let h = Harness::new();
    let key = canary();
    let reply = h.invoke("set_api_key", json!({ "provider": "openai", "key": format!("  {key}\n") })).unwrap();
    assert_eq!(reply, json!("set"));
    assert_eq!(secret_tool_lookup("openai").as_deref(), Some(key.as_str()), "stored trimmed, under service augment-it");
    let status = h.status("openai");
    assert_eq!(status["key"], "set", "{status}");
    assert_eq!(status["envVar"], "AUGMENT_OPENAI_API_KEY");
    assert_eq!(status["defaultBaseUrl"], "https://api.openai.com");

    assert_eq!(h.invoke("delete_api_key", json!({ "provider": "openai" })).unwrap(), json!("notSet"));
    assert_eq!(secret_tool_lookup("openai"), None);
    assert_eq!(h.status("openai")["key"], "notSet");
    h.assert_no_reply_contains(&key);
}

#[test]
fn set_and_delete_refuse_empty_keys_and_unknown_providers_without_echoing_a_key() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
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
    let Some(_keychain) = crate::common::private_keychain() else { return };
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
    let Some(_keychain) = crate::common::private_keychain() else { return };
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
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let h = Harness::new();
    for (url, expected) in
        [("http://user:hunter2@localhost:8080", "user name or password"), ("ftp://example.com", "http:// or https://")]
    {
        let err = h.invoke("save_provider_settings", json!({ "provider": "openai", "baseUrl": url })).unwrap_err();
        assert_eq!(code(&err), "invalidInput", "{url}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(expected) && !message.contains("hunter2"), "{url}: {message}");
    }
    let err = h.invoke("save_provider_settings", json!({ "provider": "openia", "baseUrl": null })).unwrap_err();
    assert_eq!(code(&err), "invalidInput");

    // A `/v1` copied from the provider's docs, and a trailing slash, are dropped (issue 17, point 7).
    h.invoke(
        "save_provider_settings",
        json!({ "provider": "openai", "baseUrl": " http://127.0.0.1:9/v1/ ", "defaultModel": "gpt-4o-mini" }),
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

// Issue 15, point 4: where a key goes is decided outside the webview. Each
// test has a legitimate fake provider and an "attacker" one that would accept
// the key too, so a key sent to the wrong place shows as a request there.

fn settings_file(h: &Harness) -> std::path::PathBuf {
    h.config_dir().join("settings.json")
}

fn read_settings(h: &Harness) -> Value {
    serde_json::from_slice(&std::fs::read(settings_file(h)).unwrap()).unwrap()
}

/// Changes settings.json the way an editor or another program would, behind the app's back.
fn edit_settings(h: &Harness, edit: impl FnOnce(&mut Value)) {
    let mut settings = read_settings(h);
    edit(&mut settings);
    std::fs::write(settings_file(h), serde_json::to_vec_pretty(&settings).unwrap()).unwrap();
}

fn message(err: &Value) -> &str {
    err["message"].as_str().unwrap_or_else(|| panic!("error without a message: {err}"))
}

#[test]
fn point_4_moving_a_stored_key_to_another_origin_needs_a_native_yes() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let h = Harness::new(); // every confirmation answered "no"
    let key = canary();
    let (legit, attacker) = (h.fake(&key), h.fake(&key));
    h.invoke("delete_api_key", json!({ "provider": "openai" })).unwrap(); // left by a failed test

    // No key yet: nothing to confirm, even with every answer "no".
    h.invoke("save_provider_settings", json!({ "provider": "openai", "baseUrl": legit.base_url() })).unwrap();
    h.invoke("set_api_key", json!({ "provider": "openai", "key": key })).unwrap();
    assert_eq!(h.status("openai")["settings"]["keyOrigin"], legit.base_url(), "bound to where it was typed in");
    // Same origin (a path, the default model): no question.
    h.invoke(
        "save_provider_settings",
        json!({ "provider": "openai", "baseUrl": format!("{}/", legit.base_url()), "defaultModel": "gpt-4o-mini" }),
    )
    .unwrap();

    // A script in the page points the provider at its own server; the person says no.
    let before = std::fs::read(settings_file(&h)).unwrap();
    let err = h.invoke("save_provider_settings", json!({ "provider": "openai", "baseUrl": attacker.base_url() }));
    let err = err.unwrap_err();
    assert_eq!(code(&err), "declined", "{err}");
    assert!(message(&err).contains(&attacker.base_url()) && message(&err).contains("not confirmed"), "{err}");
    assert_eq!(std::fs::read(settings_file(&h)).unwrap(), before, "the settings are unchanged");
    // The key still goes only where it was stored for.
    assert_eq!(h.invoke("test_api_key", json!({ "provider": "openai" })).unwrap()["ok"], true);
    h.invoke("provider_models", json!({ "provider": "openai" })).unwrap();
    assert_eq!(legit.request_count(), 2);
    assert_eq!(attacker.request_count(), 0, "the attacker received nothing");
    // Going back to the provider's own API is a move too.
    let err = h.invoke("save_provider_settings", json!({ "provider": "openai", "baseUrl": "" })).unwrap_err();
    assert_eq!(code(&err), "declined", "{err}");

    // The person says yes: saved, rebound, and the next test goes there.
    let yes = h.reopen(true);
    let saved = yes.invoke("save_provider_settings", json!({ "provider": "openai", "baseUrl": attacker.base_url() }));
    assert_eq!(saved.unwrap()["keyOrigin"], attacker.base_url());
    assert_eq!(read_settings(&h)["providers"]["openai"]["keyOrigin"], attacker.base_url());
    assert_eq!(yes.invoke("test_api_key", json!({ "provider": "openai" })).unwrap()["ok"], true);
    assert_eq!(attacker.requests().last().unwrap().bearer_token(), Some(key.as_str()), "confirmed, so sent");
    assert_eq!(legit.request_count(), 2);

    // Deleting the key drops its binding: a provider without a key moves freely.
    yes.invoke("delete_api_key", json!({ "provider": "openai" })).unwrap();
    assert_eq!(read_settings(&h)["providers"]["openai"].get("keyOrigin"), None);
    h.invoke("save_provider_settings", json!({ "provider": "openai", "baseUrl": legit.base_url() })).unwrap();
    h.assert_no_reply_contains(&key);
    yes.assert_no_reply_contains(&key);
    assert!(!String::from_utf8_lossy(&before).contains(&key));
}

#[test]
fn point_4_a_base_url_changed_on_disk_is_refused_before_anything_is_sent() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let data = crate::common::DataHarness::new();
    data.app.manage(Confirmation::Answer(false));
    let h = Harness::new();
    let key = canary();
    let (legit, attacker) = (h.fake(&key), h.fake(&key));
    data.ok("delete_api_key", json!({ "provider": "openai" })); // left by a failed test
    data.ok("save_provider_settings", json!({ "provider": "openai", "baseUrl": legit.base_url() }));
    data.ok("set_api_key", json!({ "provider": "openai", "key": key }));
    let dataset = approved_requests(&data);

    let settings = data.dirs.path().join("config").join("settings.json");
    let mut file: Value = serde_json::from_slice(&std::fs::read(&settings).unwrap()).unwrap();
    file["providers"]["openai"]["baseUrl"] = json!(attacker.base_url());
    std::fs::write(&settings, serde_json::to_vec(&file).unwrap()).unwrap();

    for cmd in ["test_api_key", "provider_models"] {
        let (code, message) = data.refused(cmd, json!({ "provider": "openai" }));
        assert_eq!(code, "refused", "{cmd}: {message}");
        assert!(
            message.contains(&legit.base_url())
                && message.contains(&attacker.base_url())
                && message.contains("Settings → Keys"),
            "{cmd} names both origins and where to confirm: {message}"
        );
    }
    let (code, message) = data.refused("start_run", json!({ "datasetId": dataset }));
    assert_eq!(code, "refused", "a run's clients are refused too: {message}");
    assert!(message.contains(&attacker.base_url()), "{message}");
    assert_eq!(attacker.request_count(), 0, "the attacker received nothing");
    assert_eq!(legit.request_count(), 0);
    assert_eq!(data.ok("unfinished_runs", json!({})), json!([]), "the refused run left nothing behind");

    // Without a key there is nothing to leak: the same settings are not refused.
    data.ok("delete_api_key", json!({ "provider": "openai" }));
    let tested = data.ok("test_api_key", json!({ "provider": "openai" }));
    assert_eq!(tested["code"], "no_key", "{tested}");
    assert_eq!(attacker.request_count(), 0, "openai needs a key, so nothing was sent");
    assert!(!std::fs::read_to_string(&settings).unwrap().contains(&key));
}

/// A dataset of two books with an approved request each for openai; its id.
fn approved_requests(data: &crate::common::DataHarness) -> i64 {
    let saved =
        data.ok("save_dataset", json!({ "name": "books", "format": "csv", "text": crate::common::books_csv(2) }));
    let dataset = saved["dataset"]["id"].as_i64().unwrap();
    let template = data.ok("create_template", json!({ "name": "books", "body": "Describe {{ title }}." }));
    let version = template["current"]["id"].as_i64().unwrap();
    let targets = json!([{ "provider": "openai", "model": "gpt-4o-mini" }]);
    data.ok("generate_requests", json!({ "datasetId": dataset, "templateVersionId": version, "targets": targets }));
    let all = json!({ "datasetId": dataset, "templateVersionId": version, "from": "pending", "to": "approved" });
    assert_eq!(data.ok("set_all_request_status", all), 2);
    dataset
}

#[test]
fn point_4_a_key_stored_before_bindings_is_bound_at_first_load_and_works() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let h = Harness::new();
    let key = canary();
    let (legit, attacker) = (h.fake(&key), h.fake(&key));
    h.invoke("delete_api_key", json!({ "provider": "anthropic" })).unwrap(); // left by a failed test
    h.invoke("save_provider_settings", json!({ "provider": "anthropic", "baseUrl": legit.base_url() })).unwrap();
    h.invoke("set_api_key", json!({ "provider": "anthropic", "key": key })).unwrap();
    // What an install from before bindings has: the key, and settings without its origin.
    edit_settings(&h, |s| {
        s["providers"]["anthropic"].as_object_mut().unwrap().remove("keyOrigin");
    });
    assert_eq!(read_settings(&h)["providers"]["anthropic"], json!({ "baseUrl": legit.base_url() }));

    let upgraded = h.reopen(false);
    assert_eq!(upgraded.invoke("test_api_key", json!({ "provider": "anthropic" })).unwrap()["ok"], true);
    assert_eq!(legit.requests().last().unwrap().api_key(), Some(key.as_str()), "the upgraded key still works");
    assert_eq!(read_settings(&h)["providers"]["anthropic"]["keyOrigin"], legit.base_url(), "bound and saved");
    assert_eq!(upgraded.status("anthropic")["settings"]["keyOrigin"], legit.base_url());
    // From now on the binding holds.
    let err = upgraded
        .invoke("save_provider_settings", json!({ "provider": "anthropic", "baseUrl": attacker.base_url() }))
        .unwrap_err();
    assert_eq!(code(&err), "declined", "{err}");
    assert_eq!(attacker.request_count(), 0);
    upgraded.invoke("delete_api_key", json!({ "provider": "anthropic" })).unwrap();
    upgraded.assert_no_reply_contains(&key);
}

// Issue 17, point 7: providers the person adds (Ollama, LM Studio, vLLM, any
// OpenAI-compatible endpoint) are listed, keyed and used like the built-in ones.

#[test]
fn an_added_provider_is_listed_after_the_built_in_ones_and_lists_models_without_a_key() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let h = Harness::new();
    // A keyless local server: the fake answers any request without a key when none is expected.
    let fake = h.runtime.block_on(FakeProvider::start(FakeConfig::default())).unwrap();
    let added = h
        .invoke(
            "add_provider",
            json!({ "provider": "my-llm", "kind": "openai-compatible", "baseUrl": format!("{}/v1/", fake.base_url()) }),
        )
        .unwrap();
    assert_eq!(added["kind"], "openai-compatible");
    assert_eq!(added["baseUrl"], fake.base_url(), "stored without /v1 and the slash");
    h.invoke("add_provider", json!({ "provider": "ollama", "kind": "ollama" })).unwrap();

    assert_eq!(h.provider_ids(), ["openai", "anthropic", "groq", "my-llm", "ollama"]);
    let ollama = h.status("ollama");
    assert_eq!(ollama["defaultBaseUrl"], "http://localhost:11434");
    assert_eq!(ollama["key"], "notSet");
    assert_eq!(ollama["envVar"], "AUGMENT_OLLAMA_API_KEY");
    assert_eq!(ollama["settings"], json!({ "kind": "ollama" }));

    let models = h.invoke("provider_models", json!({ "provider": "my-llm" })).unwrap();
    assert_eq!(models.as_array().unwrap().len(), 3, "{models}");
    let seen = fake.requests();
    assert_eq!(seen.last().unwrap().path, "/v1/models", "one /v1, not two");
    assert!(seen.last().unwrap().header("authorization").is_none(), "no key stored, none sent");

    // Its settings are edited like a built-in provider's; the kind stays.
    h.invoke(
        "save_provider_settings",
        json!({ "provider": "ollama", "baseUrl": "http://127.0.0.1:11435/v1", "defaultModel": "llama3.2" }),
    )
    .unwrap();
    assert_eq!(
        h.status("ollama")["settings"],
        json!({ "baseUrl": "http://127.0.0.1:11435", "defaultModel": "llama3.2", "kind": "ollama" })
    );
    // Back to the kind's address when cleared; a generic endpoint cannot be cleared.
    h.invoke("save_provider_settings", json!({ "provider": "ollama", "baseUrl": "" })).unwrap();
    assert_eq!(h.status("ollama")["settings"], json!({ "kind": "ollama" }));
    let err = h.invoke("save_provider_settings", json!({ "provider": "my-llm", "baseUrl": "" })).unwrap_err();
    assert_eq!(code(&err), "invalidInput");
    assert!(err["message"].as_str().unwrap().contains("needs its base URL"), "{err}");
}

#[test]
fn adding_a_provider_refuses_bad_input_clearly_and_changes_nothing() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let h = Harness::new();
    h.invoke("add_provider", json!({ "provider": "vllm", "kind": "vllm", "defaultModel": "qwen" })).unwrap();
    let before = std::fs::read(h.config_dir().join("settings.json")).unwrap();
    for (args, expected) in [
        (json!({ "provider": "openai", "kind": "ollama" }), "built-in provider"),
        (json!({ "provider": "My LLM", "kind": "ollama" }), "`My LLM`"),
        (json!({ "provider": "x", "kind": "llamafile" }), "one of ollama, lm-studio, vllm, openai-compatible"),
        (json!({ "provider": "x", "kind": "openai-compatible" }), "needs its base URL"),
        (
            json!({ "provider": "x", "kind": "openai-compatible", "baseUrl": "http://u:hunter2@localhost" }),
            "user name or password",
        ),
        (json!({ "provider": "vllm", "kind": "vllm" }), "already a provider named vllm"),
    ] {
        let err = h.invoke("add_provider", args.clone()).unwrap_err();
        assert_eq!(code(&err), "invalidInput", "{args}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(expected) && !message.contains("hunter2"), "{args}: {message}");
    }
    assert_eq!(std::fs::read(h.config_dir().join("settings.json")).unwrap(), before, "nothing was written");

    let err = h.invoke("remove_provider", json!({ "provider": "groq" })).unwrap_err();
    assert!(err["message"].as_str().unwrap().contains("built in"), "{err}");
    let err = h.invoke("remove_provider", json!({ "provider": "nope" })).unwrap_err();
    assert!(err["message"].as_str().unwrap().contains("use one of openai, anthropic, groq, vllm"), "{err}");
    let err = h.invoke("set_api_key", json!({ "provider": "nope", "key": "sk-x" })).unwrap_err();
    assert_eq!(code(&err), "invalidInput");
}

#[test]
fn an_added_provider_s_key_is_bound_to_its_origin_and_removed_with_it() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let h = Harness::new();
    let key = canary();
    let fake = h.fake(&key);
    h.invoke("add_provider", json!({ "provider": "lan-llm", "kind": "openai-compatible", "baseUrl": fake.base_url() }))
        .unwrap();
    h.invoke("set_api_key", json!({ "provider": "lan-llm", "key": key })).unwrap();
    assert_eq!(secret_tool_lookup("lan-llm").as_deref(), Some(key.as_str()), "under the entry's id");
    let status = h.status("lan-llm");
    assert_eq!(status["key"], "set");
    assert_eq!(status["settings"]["keyOrigin"], fake.base_url());
    let test = h.invoke("test_api_key", json!({ "provider": "lan-llm" })).unwrap();
    assert_eq!(test["ok"], true, "{test}");

    // Moved behind the app's back: refused like a built-in provider's.
    let mut file = read_settings(&h);
    file["providers"]["lan-llm"]["baseUrl"] = json!("http://127.0.0.2:9");
    std::fs::write(settings_file(&h), file.to_string()).unwrap();
    let err = h.invoke("provider_models", json!({ "provider": "lan-llm" })).unwrap_err();
    assert_eq!(code(&err), "refused", "{err}");

    h.invoke("remove_provider", json!({ "provider": "lan-llm" })).unwrap();
    assert_eq!(secret_tool_lookup("lan-llm"), None, "the key went with it");
    assert!(read_settings(&h)["providers"].get("lan-llm").is_none());
    assert_eq!(h.provider_ids(), ["openai", "anthropic", "groq"]);
    h.assert_no_reply_contains(&key);
}

#[test]
fn a_broken_provider_entry_is_skipped_reported_and_kept_in_the_file() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let h = Harness::new();
    std::fs::create_dir_all(h.config_dir()).unwrap();
    let broken = json!({ "kind": "openai-compatible" });
    std::fs::write(
        settings_file(&h),
        json!({ "providers": {
            "ollama": { "kind": "ollama" },
            "typo": broken,
            "groq": { "defaultModel": "llama-3.1-8b-instant" },
        } })
        .to_string(),
    )
    .unwrap();
    assert_eq!(h.provider_ids(), ["openai", "anthropic", "groq", "ollama"], "the good entries are used");
    let state = h.app.state::<ShellState>();
    let (_, problems) = state.settings.load_reporting().unwrap();
    assert!(problems.iter().any(|p| p.contains("\"typo\"") && p.contains("needs its base URL")), "{problems:?}");

    // A save from the app keeps the broken entry for the person to fix.
    h.invoke("save_provider_settings", json!({ "provider": "groq", "defaultModel": "llama-3.3-70b-versatile" }))
        .unwrap();
    let file = read_settings(&h);
    assert_eq!(file["providers"]["typo"], broken);
    assert_eq!(file["providers"]["groq"]["defaultModel"], "llama-3.3-70b-versatile");
    h.invoke("save_settings", json!({ "settings": { "registries": [] } })).unwrap();
    assert_eq!(read_settings(&h)["providers"]["typo"], broken, "the other settings panel keeps it too");
    // Removing it is how the app lets it go.
    h.invoke("remove_provider", json!({ "provider": "typo" })).unwrap();
    assert!(read_settings(&h)["providers"].get("typo").is_none());
}
