//! The remote and settings commands with a real cache in a temporary folder.

use std::sync::mpsc;
use std::time::Duration;

use augment_desktop::ShellState;
use augment_desktop::settings::RegistryConfig;
use cache::BundleCache;
use serde_json::{Value, json};
use tauri::Listener as _;
use tauri::test::{MockRuntime, mock_context, noop_assets};
use tauri::webview::WebviewWindowBuilder;

struct Harness {
    _dirs: tempfile::TempDir,
    app: tauri::App<MockRuntime>,
    webview: tauri::WebviewWindow<MockRuntime>,
}

impl Harness {
    fn new() -> Self {
        Self::with_launch(None)
    }

    fn with_launch(launch: Option<RegistryConfig>) -> Self {
        Self::with(launch, true)
    }

    /// `confirm`: how the native confirmations of this app are answered.
    fn with(launch: Option<RegistryConfig>, confirm: bool) -> Self {
        let dirs = tempfile::tempdir().expect("tempdir");
        let state = ShellState::open(&dirs.path().join("cache"), &dirs.path().join("config"), launch).expect("state");
        let app = augment_desktop::with_shell(tauri::test::mock_builder())
            .manage(state)
            .manage(augment_desktop::confirm::Confirmation::Answer(confirm))
            .build(mock_context(noop_assets()))
            .expect("build the mock app");
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("webview");
        Self { _dirs: dirs, app, webview }
    }

    fn cache(&self) -> &BundleCache {
        &tauri::Manager::state::<ShellState>(&self.app).inner().cache
    }

    fn config_dir(&self) -> std::path::PathBuf {
        self._dirs.path().join("config")
    }

    /// Invokes `cmd` with `args`; `Err` carries the serialized `{ code, message }`.
    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        crate::common::invoke(&self.webview, cmd, args)
    }

    /// Installs `name@version` with a manifest needing `host_api` and makes it active.
    fn install(&self, name: &str, version: &str, host_api: &str) {
        crate::common::install_remote(self.cache(), name, version, host_api);
    }
}

fn code(err: &Value) -> &str {
    err["code"].as_str().unwrap_or_else(|| panic!("error without a code: {err}"))
}

/// A view says how many grant changes it includes, so the page can tell a
/// background check that read the grants before a consent answer (and must
/// not bring the prompt back) from a newer view.
#[test]
fn every_grant_change_raises_the_grants_revision_of_later_views() {
    let h = Harness::new();
    h.install("alpha", "1.0.0", "^1.0.0");
    let revision = |h: &Harness| h.invoke("remotes_from_cache", json!({})).expect("view")["grantsRevision"].as_u64();
    assert_eq!(revision(&h), Some(0));
    h.invoke("grant_remote_permissions", json!({ "name": "alpha", "permissions": ["data:read"] })).expect("grant");
    assert_eq!(revision(&h), Some(1));
    h.invoke("revoke_remote_permissions", json!({ "name": "alpha" })).expect("revoke");
    assert_eq!(revision(&h), Some(2));
    let refused = h.invoke("grant_remote_permissions", json!({ "name": "alpha", "permissions": ["no:such"] }));
    assert!(refused.is_err(), "an unknown permission is refused");
    assert_eq!(revision(&h), Some(2), "a refused grant changes nothing");
}

#[test]
fn remotes_from_cache_paints_the_newest_compatible_version_with_its_entry_url() {
    let h = Harness::new();
    h.install("alpha", "1.0.0", "^1.0.0");
    h.install("alpha", "2.0.0", "^2.0.0");
    h.install("beta", "0.3.0", "^1.0.0");
    let view = h.invoke("remotes_from_cache", json!({})).expect("view");
    assert_eq!(view["checked"], false, "the cache paint makes no registry check");
    let remotes = view["remotes"].as_array().expect("remotes");
    assert_eq!(remotes.len(), 2);
    let alpha = &remotes[0];
    assert_eq!(alpha["name"], "alpha");
    assert_eq!(alpha["version"], "1.0.0", "2.0.0 needs host API 2");
    assert_eq!(alpha["entryUrl"], format!("{}/alpha/1.0.0/remoteEntry.js", augment_desktop::scheme::ORIGIN));
    assert_eq!(alpha["displayName"], "alpha remote");
    let reason = alpha["reason"].as_str().expect("a reason for passing over 2.0.0");
    assert!(reason.contains("2.0.0") && reason.contains("host API"), "{reason}");
    assert_eq!(remotes[1]["name"], "beta");
}

#[test]
fn remotes_from_cache_on_an_empty_cache_is_empty_and_a_broken_settings_file_is_reported() {
    let h = Harness::new();
    let view = h.invoke("remotes_from_cache", json!({})).expect("view");
    assert_eq!(view["remotes"], json!([]));
    std::fs::create_dir_all(h.config_dir()).expect("config dir");
    std::fs::write(h.config_dir().join("settings.json"), "{ not json").expect("write");
    // Issue 20, point 6: a broken file never blanks the shell; it is reported with the view.
    let view = h.invoke("remotes_from_cache", json!({})).expect("a view despite broken settings");
    let problems = view["problems"].as_array().expect("problems");
    assert!(problems.iter().any(|p| p.as_str().is_some_and(|m| m.contains("settings.json"))), "{view}");
}

/// Issue 20, point 6: entries of settings.json that cannot be used are
/// skipped and named; the rest still applies.
#[test]
fn point_6_unusable_saved_registries_are_skipped_and_reported() {
    let h = Harness::new();
    std::fs::create_dir_all(h.config_dir()).expect("config dir");
    let settings = json!({
        "registries": [{ "trust": "no url" }, { "url": "ftp://nowhere.example/r" }, { "url": "/srv/good" }, "text"],
        "devOverrides": { "Bad Name": "./x", "alpha": 7 },
        "updateCheckMinutes": "often",
    });
    std::fs::write(h.config_dir().join("settings.json"), settings.to_string()).expect("write");
    let view = h.invoke("remotes_from_cache", json!({})).expect("view");
    let problems: Vec<&str> = view["problems"].as_array().expect("problems").iter().filter_map(Value::as_str).collect();
    assert_eq!(problems.len(), 6, "{problems:#?}");
    for needle in [
        "saved registry 1 was skipped",
        "ftp://nowhere.example/r",
        "saved registry 4",
        "Bad Name",
        "\"alpha\"",
        "updateCheckMinutes",
    ] {
        assert!(problems.iter().any(|p| p.contains(needle)), "{needle}: {problems:#?}");
    }
    let registries = view["registries"].as_array().expect("registries");
    assert_eq!(registries.len(), 1, "only the usable registry is resolved: {view}");
    assert_eq!(registries[0]["url"], "/srv/good");
}

/// Issue 20, point 6: `save_settings` changes the registries or dev overrides
/// only after a native confirmation; declined, nothing is written.
#[test]
fn point_6_changing_registries_needs_a_confirmation() {
    let h = Harness::with(None, false);
    let settings = json!({ "settings": { "registries": [{ "url": "/srv/evil" }] } });
    let err = h.invoke("save_settings", settings).expect_err("declined");
    assert_eq!(code(&err), "declined");
    assert!(!h.config_dir().join("settings.json").exists(), "nothing was written");
    let err = h
        .invoke("save_settings", json!({ "settings": { "registries": [], "devOverrides": { "alpha": "./dist" } } }))
        .expect_err("a dev override needs it too");
    assert_eq!(code(&err), "declined");
    h.invoke("save_settings", json!({ "settings": { "registries": [], "updateCheckMinutes": 5 } }))
        .expect("the interval alone needs no confirmation");
    let yes = Harness::with(None, true);
    yes.invoke("save_settings", json!({ "settings": { "registries": [{ "url": "/srv/mirror" }] } }))
        .expect("confirmed");
    let saved = yes.invoke("get_settings", json!({})).expect("settings");
    assert_eq!(saved["saved"]["registries"][0]["url"], "/srv/mirror");
}

/// Issue 20, point 4: a command from any page but the shell's is refused before it runs.
#[test]
fn point_4_ipc_from_a_bundle_page_is_refused() {
    let h = Harness::new();
    h.invoke("get_settings", json!({})).expect("the shell page is answered");
    h.webview.navigate("mfe://localhost/alpha/1.0.0/page.html".parse().expect("url")).expect("navigate");
    let err = h.invoke("get_settings", json!({})).expect_err("refused");
    assert_eq!(code(&err), "refused");
    assert!(err["message"].as_str().is_some_and(|m| m.contains("mfe://localhost/alpha/1.0.0/page.html")), "{err}");
}

/// Waits for the next `event` with a deadline (no fixed sleep).
fn next_event(h: &Harness, event: &str) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    h.app.listen(event, move |e| {
        let _ = tx.send(e.payload().to_owned());
    });
    rx
}

#[test]
fn check_for_updates_runs_in_the_background_and_reports_through_an_event() {
    let h = Harness::new();
    h.install("alpha", "1.0.0", "^1.0.0");
    let checked = next_event(&h, "registry-checked");
    assert_eq!(h.invoke("check_for_updates", json!({})).expect("started"), true);
    let payload = checked.recv_timeout(Duration::from_secs(30)).expect("a registry-checked event");
    let view: Value = serde_json::from_str(&payload).expect("json");
    assert_eq!(view["checked"], true);
    assert_eq!(view["registries"], json!([]), "no registry configured");
    assert_eq!(view["remotes"][0]["version"], "1.0.0");
}

#[test]
fn check_for_updates_reports_an_unreachable_registry_per_registry() {
    let missing = tempfile::tempdir().expect("tempdir");
    let launch = RegistryConfig {
        url: missing.path().join("no-registry-here").display().to_string(),
        trust: Some("00".repeat(32)),
        trusted: true,
    };
    let h = Harness::with_launch(Some(launch));
    let checked = next_event(&h, "registry-checked");
    assert_eq!(h.invoke("check_for_updates", json!({})).expect("started"), true);
    let payload = checked.recv_timeout(Duration::from_secs(30)).expect("a registry-checked event");
    let view: Value = serde_json::from_str(&payload).expect("json");
    let registry = &view["registries"][0];
    assert_eq!(registry["fromLaunch"], true);
    assert!(registry["error"]["code"].is_string(), "a missing registry is an error with a code: {view}");
    assert!(registry["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[test]
fn remote_versions_lists_installed_versions_newest_first_with_marks() {
    let h = Harness::new();
    h.install("alpha", "1.0.0", "^1.0.0");
    h.install("alpha", "1.10.0", "^1.0.0");
    h.install("alpha", "1.2.0", "^1.0.0");
    h.cache().mark_known_good("alpha", "1.0.0").expect("known good");
    h.cache().pin("alpha", "1.2.0").expect("pin");
    let rows = h.invoke("remote_versions", json!({})).expect("versions");
    let alpha = &rows[0];
    assert_eq!(alpha["name"], "alpha");
    assert_eq!(alpha["active"], "1.2.0");
    assert_eq!(alpha["pinned"], "1.2.0");
    assert_eq!(alpha["lastKnownGood"], "1.0.0");
    let versions: Vec<&str> =
        alpha["versions"].as_array().expect("array").iter().filter_map(|v| v["version"].as_str()).collect();
    assert_eq!(versions, ["1.10.0", "1.2.0", "1.0.0"], "semver order, not string order");
}

#[test]
fn pin_and_unpin_change_what_the_cache_paint_selects() {
    let h = Harness::new();
    h.install("alpha", "1.0.0", "^1.0.0");
    h.install("alpha", "1.1.0", "^1.0.0");
    h.invoke("pin_remote", json!({ "name": "alpha", "version": "1.0.0" })).expect("pin");
    let view = h.invoke("remotes_from_cache", json!({})).expect("view");
    assert_eq!(view["remotes"][0]["version"], "1.0.0");
    assert_eq!(view["remotes"][0]["pinned"], true);
    assert_eq!(h.invoke("unpin_remote", json!({ "name": "alpha" })).expect("unpin"), true);
    assert_eq!(h.invoke("unpin_remote", json!({ "name": "alpha" })).expect("unpin again"), false);
    let view = h.invoke("remotes_from_cache", json!({})).expect("view");
    assert_eq!(view["remotes"][0]["version"], "1.1.0");
}

#[test]
fn pin_and_unpin_refuse_bad_names_and_versions() {
    let h = Harness::new();
    for args in [
        json!({ "name": "../alpha", "version": "1.0.0" }),
        json!({ "name": "Alpha", "version": "1.0.0" }),
        json!({ "name": "alpha", "version": "latest" }),
        json!({ "name": "alpha", "version": "" }),
    ] {
        let err = h.invoke("pin_remote", args.clone()).expect_err("refused");
        assert_eq!(code(&err), "invalidInput", "{args}");
    }
    assert_eq!(code(&h.invoke("unpin_remote", json!({ "name": "a/b" })).expect_err("refused")), "invalidInput");
    // A missing argument is refused by Tauri's deserialization before the command runs.
    assert!(h.invoke("pin_remote", json!({ "name": "alpha" })).is_err());
    assert!(h.cache().pins().expect("pins").is_empty(), "nothing was pinned");
}

#[test]
fn rollback_goes_back_to_the_known_good_version_and_pins_it() {
    let h = Harness::new();
    h.install("alpha", "1.0.0", "^1.0.0");
    h.cache().mark_known_good("alpha", "1.0.0").expect("known good");
    h.install("alpha", "1.1.0", "^1.0.0");
    let rollback = h.invoke("rollback_remote", json!({ "name": "alpha" })).expect("rollback");
    assert_eq!(rollback, json!({ "name": "alpha", "from": "1.1.0", "to": "1.0.0" }));
    assert_eq!(h.cache().pins().expect("pins").get("alpha").map(String::as_str), Some("1.0.0"));
}

#[test]
fn rollback_with_nothing_to_go_back_to_or_a_bad_name_is_refused() {
    let h = Harness::new();
    h.install("alpha", "1.0.0", "^1.0.0");
    let err = h.invoke("rollback_remote", json!({ "name": "alpha" })).expect_err("nothing earlier");
    assert_eq!(code(&err), "nothingToRollBackTo");
    let err = h.invoke("rollback_remote", json!({ "name": "ghost" })).expect_err("not active");
    assert_eq!(code(&err), "nothingToRollBackTo");
    assert_eq!(code(&h.invoke("rollback_remote", json!({ "name": "" })).expect_err("empty")), "invalidInput");
}

#[test]
fn mark_known_good_records_installed_versions_only() {
    let h = Harness::new();
    h.install("alpha", "1.0.0", "^1.0.0");
    h.invoke("mark_known_good", json!({ "name": "alpha", "version": "1.0.0" })).expect("marked");
    assert_eq!(h.cache().last_known_good("alpha").expect("read").as_deref(), Some("1.0.0"));
    let err = h.invoke("mark_known_good", json!({ "name": "alpha", "version": "9.9.9" })).expect_err("not installed");
    assert_eq!(code(&err), "notInstalled");
    let err = h.invoke("mark_known_good", json!({ "name": "alpha", "version": "x" })).expect_err("bad version");
    assert_eq!(code(&err), "invalidInput");
}

#[test]
fn a_load_failure_of_a_new_version_rolls_back_to_the_known_good_one() {
    let h = Harness::new();
    h.install("alpha", "1.0.0", "^1.0.0");
    h.cache().mark_known_good("alpha", "1.0.0").expect("known good");
    h.install("alpha", "1.1.0", "^1.0.0");
    let outcome = h
        .invoke("report_load_failure", json!({ "name": "alpha", "version": "1.1.0", "reason": "SyntaxError" }))
        .expect("reported");
    assert_eq!(outcome["rolledBack"], json!({ "name": "alpha", "from": "1.1.0", "to": "1.0.0" }));
    assert_eq!(h.cache().active("alpha").expect("active").as_deref(), Some("1.0.0"));
}

#[test]
fn a_load_failure_without_another_known_good_version_changes_nothing() {
    let h = Harness::new();
    h.install("alpha", "1.0.0", "^1.0.0");
    h.install("alpha", "1.1.0", "^1.0.0");
    let outcome = h
        .invoke("report_load_failure", json!({ "name": "alpha", "version": "1.1.0", "reason": "boom" }))
        .expect("reported");
    assert_eq!(outcome["rolledBack"], Value::Null, "no version was ever seen working");
    h.cache().mark_known_good("alpha", "1.1.0").expect("known good");
    let outcome = h
        .invoke("report_load_failure", json!({ "name": "alpha", "version": "1.1.0", "reason": "flaky" }))
        .expect("reported");
    assert_eq!(outcome["rolledBack"], Value::Null, "the failing version is the known-good one");
    assert_eq!(h.cache().active("alpha").expect("active").as_deref(), Some("1.1.0"));
    let err = h
        .invoke("report_load_failure", json!({ "name": "ALPHA", "version": "1.1.0", "reason": "x" }))
        .expect_err("bad name");
    assert_eq!(code(&err), "invalidInput");
}

#[test]
fn a_render_failure_or_a_mount_timeout_rolls_back_like_a_load_failure() {
    for phase in ["render", "timeout"] {
        let h = Harness::new();
        h.install("alpha", "1.0.0", "^1.0.0");
        h.cache().mark_known_good("alpha", "1.0.0").expect("known good");
        h.install("alpha", "1.1.0", "^1.0.0");
        let outcome = h
            .invoke(
                "report_load_failure",
                json!({ "name": "alpha", "version": "1.1.0", "reason": "TypeError: x is undefined", "phase": phase }),
            )
            .expect("reported");
        assert_eq!(outcome["rolledBack"], json!({ "name": "alpha", "from": "1.1.0", "to": "1.0.0" }), "{phase}");
        assert_eq!(h.cache().active("alpha").expect("active").as_deref(), Some("1.0.0"), "{phase}");
    }
}

#[test]
fn a_failure_phase_the_shell_does_not_know_is_refused_and_changes_nothing() {
    let h = Harness::new();
    h.install("alpha", "1.0.0", "^1.0.0");
    h.cache().mark_known_good("alpha", "1.0.0").expect("known good");
    h.install("alpha", "1.1.0", "^1.0.0");
    let err = h
        .invoke("report_load_failure", json!({ "name": "alpha", "version": "1.1.0", "reason": "x", "phase": "paint" }))
        .expect_err("unknown phase");
    assert_eq!(code(&err), "invalidInput");
    assert!(err["message"].as_str().is_some_and(|m| m.contains("\"render\"")), "says which phases exist: {err}");
    assert_eq!(h.cache().active("alpha").expect("active").as_deref(), Some("1.1.0"), "nothing was rolled back");
}

#[test]
fn the_update_check_interval_defaults_to_an_hour_and_is_kept_when_not_sent() {
    let h = Harness::new();
    let view = h.invoke("get_settings", json!({})).expect("settings");
    assert_eq!(view["updateCheckMinutes"], 60, "the default is in effect");
    let registries = json!([{ "url": "/srv/mirror" }]);
    h.invoke("save_settings", json!({ "settings": { "registries": registries, "updateCheckMinutes": 15 } }))
        .expect("saved");
    assert_eq!(h.invoke("get_settings", json!({})).expect("settings")["updateCheckMinutes"], 15);
    h.invoke("save_settings", json!({ "settings": { "registries": registries } })).expect("saved");
    let view = h.invoke("get_settings", json!({})).expect("settings");
    assert_eq!(view["updateCheckMinutes"], 15, "a page that does not send it keeps it");
    assert_eq!(view["saved"]["updateCheckMinutes"], 15);
    h.invoke("save_settings", json!({ "settings": { "registries": registries, "updateCheckMinutes": 0 } }))
        .expect("off");
    assert_eq!(h.invoke("get_settings", json!({})).expect("settings")["updateCheckMinutes"], 0, "0 turns it off");
}

#[test]
fn an_update_check_interval_over_a_week_is_refused_with_what_to_enter() {
    let h = Harness::new();
    let err = h
        .invoke("save_settings", json!({ "settings": { "registries": [], "updateCheckMinutes": 10_081 } }))
        .expect_err("refused");
    assert_eq!(code(&err), "invalidInput");
    let message = err["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("10081") && message.contains("1 to 10080") && message.contains("0 to check only"),
        "{message}"
    );
    assert!(!h.config_dir().join("settings.json").exists(), "nothing was written");
    h.invoke("save_settings", json!({ "settings": { "registries": [], "updateCheckMinutes": 10_080 } }))
        .expect("a week is fine");
}

#[test]
fn settings_round_trip_through_the_config_dir() {
    let launch = RegistryConfig { url: "https://registry.example/".into(), trust: None, trusted: true };
    let h = Harness::with_launch(Some(launch));
    let view = h.invoke("get_settings", json!({})).expect("settings");
    assert_eq!(view["saved"], json!({ "registries": [] }));
    assert_eq!(view["launchRegistry"]["url"], "https://registry.example/");
    let settings = json!({ "registries": [
        { "url": "https://team.example/registry/", "trust": "ab".repeat(32) },
        { "url": "/srv/mirror" },
    ]});
    h.invoke("save_settings", json!({ "settings": settings })).expect("saved");
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(h.config_dir().join("settings.json")).expect("file")).expect("json");
    assert_eq!(on_disk["registries"][0]["url"], "https://team.example/registry/");
    let view = h.invoke("get_settings", json!({})).expect("settings");
    assert_eq!(view["saved"]["registries"][1]["url"], "/srv/mirror");
}

#[test]
fn save_settings_refuses_bad_registries_and_keeps_the_old_file() {
    let h = Harness::new();
    for registries in [
        json!([{ "url": "" }]),
        json!([{ "url": "ftp://example.com/" }]),
        json!([{ "url": "https://user:secret@example.com/" }]),
        json!([{ "url": "https://a.example/" }, { "url": "https://a.example" }]),
        json!([{ "url": "https://a.example/", "trust": "  " }]),
    ] {
        let err = h
            .invoke("save_settings", json!({ "settings": { "registries": registries.clone() } }))
            .expect_err("refused");
        assert_eq!(code(&err), "invalidInput", "{registries}");
        assert!(!err["message"].as_str().unwrap_or_default().contains("secret"), "no credential is echoed back");
    }
    assert!(!h.config_dir().join("settings.json").exists(), "nothing was written");
}

#[test]
fn cache_usage_counts_shared_blobs_once_and_every_installed_version() {
    let h = Harness::new();
    assert_eq!(h.invoke("cache_usage", json!({})).expect("usage"), json!({ "bytes": 0, "blobs": 0, "versions": 0 }));
    h.install("alpha", "1.0.0", "^1.0.0");
    h.install("alpha", "2.0.0", "^2.0.0");
    h.install("beta", "0.3.0", "^1.0.0");
    // Both alpha versions hold the same entry file, so they share one blob.
    let entry = |name: &str| format!("export const remote = {name:?};\n").len();
    let usage = h.invoke("cache_usage", json!({})).expect("usage");
    assert_eq!(usage, json!({ "bytes": entry("alpha") + entry("beta"), "blobs": 2, "versions": 3 }));
}
