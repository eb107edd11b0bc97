//! Dev mode through the real commands (`tauri::test`): what the UI receives
//! for an overridden remote, and settings that keep and check overrides.
//! The scheme's `@dev` paths and the folder watcher have unit tests in the
//! crate; the reload in a real window is in tests/shell/dev_mode.rs.

use std::collections::BTreeMap;

use augment_desktop::ShellState;
use augment_desktop::dev_mode::DevOverrides;
use serde_json::{Value, json};
use tauri::test::{MockRuntime, mock_context, noop_assets};
use tauri::webview::WebviewWindowBuilder;

struct Harness {
    dirs: tempfile::TempDir,
    _app: tauri::App<MockRuntime>,
    webview: tauri::WebviewWindow<MockRuntime>,
}

impl Harness {
    /// An app whose `alpha` is overridden by a folder and `beta` by a dev server.
    fn new() -> Self {
        let dirs = tempfile::tempdir().unwrap();
        let folder = dirs.path().join("alpha-dist");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join("remote.json"),
            r#"{"name":"alpha","version":"1.5.0-dev","entry":"entry.js","hostApi":"^1.0.0","exposes":["./App"],"displayName":"Alpha (dev)"}"#,
        )
        .unwrap();
        let flags = ["alpha=alpha-dist".to_owned(), "beta=http://127.0.0.1:5173/remoteEntry.js".to_owned()];
        let dev = DevOverrides::resolve(&BTreeMap::new(), &flags, dirs.path()).unwrap();
        let state = ShellState::open(&dirs.path().join("cache"), &dirs.path().join("config"), None)
            .unwrap()
            .with_dev_overrides(dev);
        let app = augment_desktop::with_shell(tauri::test::mock_builder())
            .manage(state)
            .build(mock_context(noop_assets()))
            .unwrap();
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
        Self { dirs, _app: app, webview }
    }

    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        crate::common::invoke(&self.webview, cmd, args)
    }
}

#[test]
fn overridden_remotes_are_listed_marked_and_pointed_at_their_override() {
    let harness = Harness::new();
    let view = harness.invoke("remotes_from_cache", json!({})).unwrap();
    let remotes = view["remotes"].as_array().unwrap();
    assert_eq!(remotes.len(), 2, "both overrides are listed though no registry offers them: {view}");
    let alpha = &remotes[0];
    assert_eq!(alpha["name"], "alpha");
    assert_eq!(alpha["version"], "1.5.0-dev", "the folder's remote.json gives the version");
    assert_eq!(alpha["displayName"], "Alpha (dev)");
    assert!(alpha["entryUrl"].as_str().unwrap().ends_with("/@dev/alpha/0/entry.js"), "{alpha}");
    assert_eq!(alpha["devOverride"]["kind"], "folder");
    let folder = harness.dirs.path().join("alpha-dist").canonicalize().unwrap();
    assert_eq!(alpha["devOverride"]["target"], folder.display().to_string());
    let beta = &remotes[1];
    assert_eq!(beta["entryUrl"], "http://127.0.0.1:5173/remoteEntry.js");
    assert_eq!(beta["devOverride"]["kind"], "url");
    assert_eq!(beta["version"], "dev", "nothing cached: shown as dev");
}

#[test]
fn saving_settings_keeps_the_overrides_and_refuses_a_remote_dev_server() {
    let harness = Harness::new();
    let config = harness.dirs.path().join("config/settings.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, r#"{"registries":[],"devOverrides":{"alpha":"/src/alpha/dist"}}"#).unwrap();

    // The settings page sends only the registries.
    harness.invoke("save_settings", json!({ "settings": { "registries": [] } })).unwrap();
    let saved: Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    assert_eq!(saved["devOverrides"]["alpha"], "/src/alpha/dist", "an override survives a save without it");

    let err = harness
        .invoke(
            "save_settings",
            json!({ "settings": { "registries": [], "devOverrides": { "alpha": "http://dev.example.com:5173/e.js" } } }),
        )
        .unwrap_err();
    assert_eq!(err["code"], "invalidInput");
    assert!(err["message"].as_str().unwrap().contains("localhost or 127.0.0.1"), "{err}");
    let err = harness
        .invoke("save_settings", json!({ "settings": { "registries": [], "devOverrides": { "Bad Name": "./x" } } }))
        .unwrap_err();
    assert!(err["message"].as_str().unwrap().contains("not a remote name"), "{err}");
}

// The start-up signal and the mount time the shell benchmark reads.

#[test]
fn shell_painted_answers_and_takes_no_input() {
    let harness = Harness::new();
    assert_eq!(harness.invoke("shell_painted", json!({})).unwrap(), Value::Null);
}

#[test]
fn mark_known_good_takes_an_optional_mount_time_and_checks_it() {
    let harness = Harness::new();
    // Not installed: the mount time does not change what is checked.
    let err =
        harness.invoke("mark_known_good", json!({ "name": "alpha", "version": "1.0.0", "mountMs": 12.5 })).unwrap_err();
    assert_eq!(err["code"], "notInstalled", "{err}");
    let err = harness
        .invoke("mark_known_good", json!({ "name": "alpha", "version": "1.0.0", "mountMs": "fast" }))
        .unwrap_err();
    assert!(err.to_string().contains("mountMs"), "a malformed mount time is refused: {err}");
}
