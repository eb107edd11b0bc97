//! What the `tauri::test` suites share: invoking a command the way the
//! webview does, and a test app over temp folders with the workflow's data.
#![allow(dead_code, clippy::unwrap_used)] // each suite uses part of it; tests fail loudly on purpose

use augment_desktop::ShellState;
use augment_desktop::commands::data::DataState;
use augment_desktop::commands::files::{FileChoices, Purpose};
use augment_desktop::commands::stack::{StackConfig, StackState};
use serde_json::Value;
use tauri::test::{INVOKE_KEY, MockRuntime, mock_context, noop_assets};
use tauri::webview::{InvokeRequest, WebviewWindowBuilder};

/// What the person's choice of `path` in the native dialog gives the page:
/// the token the file commands take (the dialog itself cannot run here).
pub fn choose<R: tauri::Runtime>(app: &tauri::App<R>, path: &std::path::Path, purpose: Purpose) -> String {
    use tauri::Manager as _;
    app.state::<FileChoices>().register(path.to_owned(), purpose).token
}

/// Invokes `cmd` with `args` in `webview`; `Err` carries the serialized `{ code, message }`.
pub fn invoke(webview: &tauri::WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: tauri::ipc::CallbackFn(0),
        error: tauri::ipc::CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: tauri::ipc::InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_owned(),
    };
    tauri::test::get_ipc_response(webview, request).map(|body| body.deserialize::<Value>().unwrap())
}

/// The shell with its cache, settings and local database in one temp folder.
pub struct DataHarness {
    pub dirs: tempfile::TempDir,
    pub app: tauri::App<MockRuntime>,
    pub webview: tauri::WebviewWindow<MockRuntime>,
}

impl DataHarness {
    pub fn new() -> Self {
        let dirs = tempfile::tempdir().unwrap();
        let state = ShellState::open(&dirs.path().join("cache"), &dirs.path().join("config"), None).unwrap();
        let data = DataState::open(&dirs.path().join("data")).unwrap();
        // No engine listens there: saving a dataset parses in process, as with the stack down.
        let no_engine = format!("unix://{}", dirs.path().join("no-engine.sock").display());
        let stack = StackConfig::new(Some(no_engine), None, None).unwrap();
        let app = augment_desktop::with_shell(tauri::test::mock_builder())
            .manage(state)
            .manage(data)
            .manage(StackState::new(stack))
            .build(mock_context(noop_assets()))
            .unwrap();
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
        Self { dirs, app, webview }
    }

    pub fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke(&self.webview, cmd, args)
    }

    pub fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args).unwrap_or_else(|err| panic!("{cmd} failed: {err}"))
    }

    /// The token of `path` as if chosen in the open (`Purpose::Open`) or save dialog.
    pub fn choose(&self, path: &std::path::Path, purpose: Purpose) -> String {
        choose(&self.app, path, purpose)
    }

    /// The error code and message of a command that must fail.
    pub fn refused(&self, cmd: &str, args: Value) -> (String, String) {
        let err = self.invoke(cmd, args).expect_err(cmd);
        (err["code"].as_str().unwrap().to_owned(), err["message"].as_str().unwrap().to_owned())
    }
}

/// A CSV of `rows` books: title, author, year.
pub fn books_csv(rows: usize) -> String {
    let mut csv = String::from("title,author,year\n");
    for i in 0..rows {
        csv.push_str(&format!("Book {i},Author {},{}\n", i % 7, 1950 + i));
    }
    csv
}

/// The binary's one process-wide log capture (`test_support::CapturedLogs::install`
/// may run once per binary): every test that reads the logs shares it and
/// reads only the lines of its own work.
pub fn captured_logs() -> test_support::CapturedLogs {
    static CAPTURED: std::sync::OnceLock<test_support::CapturedLogs> = std::sync::OnceLock::new();
    CAPTURED.get_or_init(test_support::CapturedLogs::install).clone()
}

/// The keychain entries of the built-in providers, shared by the key and run tests.
static KEYCHAIN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Only in a throw-away keyring, so a run on a desktop never overwrites a real key.
pub fn private_keychain() -> Option<std::sync::MutexGuard<'static, ()>> {
    if std::env::var("AUGMENT_SKIP_KEYCHAIN_TESTS").as_deref() == Ok("1") {
        eprintln!("SKIPPED: AUGMENT_SKIP_KEYCHAIN_TESTS=1 (these tests need a private gnome-keyring)");
        return None;
    }
    let temp = std::env::temp_dir();
    let private = ["XDG_DATA_HOME", "HOME"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|dir| std::path::Path::new(&dir).starts_with(&temp)));
    assert!(
        private,
        "these tests store keys for the built-in providers, so they run only against a throw-away keyring: \
         use `cargo xtask test`, or crates/secrets/run-keychain-tests.sh -p augment-desktop"
    );
    Some(KEYCHAIN.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
}

/// Installs `name@version` (a one-file remote needing `host_api`) in `cache`
/// as if a registry had, and makes it active.
pub fn install_remote(cache: &cache::BundleCache, name: &str, version: &str, host_api: &str) {
    use cache::{FileEntry, NewVersion, Sha256Digest};
    let entry = format!("export const remote = {name:?};\n");
    let digest = Sha256Digest::of(entry.as_bytes());
    let guard = cache.install_guard().expect("guard");
    cache.write_blob(&guard, &digest, entry.as_bytes()).expect("blob");
    let manifest = serde_json::json!({
        "name": name, "version": version, "entry": "remoteEntry.js", "hostApi": host_api,
        "shared": { "react": "^19.0.0" }, "exposes": ["./App"], "displayName": format!("{name} remote"),
    });
    let version_files = NewVersion {
        registry: "file:///test-registry/".into(),
        name: name.into(),
        version: version.into(),
        manifest_json: manifest.to_string(),
        files: vec![FileEntry { path: "remoteEntry.js".into(), sha256: digest, length: entry.len() as u64 }],
    };
    cache.commit_version(&guard, &version_files).expect("commit");
    cache.set_active(name, version).expect("activate");
}
