//! The local stack and import commands through Tauri's mock runtime, against
//! a real Docker engine (`DOCKER_HOST`, started by `cargo xtask test`) and a
//! dead socket for the error paths. Each test that touches the engine uses
//! its own stack name and free ports, so it cannot meet `tests/stack` or the
//! WebDriver suite's stacks.
//!
//! Like `tests/stack`, the engine test fails when no engine answers unless
//! `AUGMENT_SKIP_ENGINE_TESTS=1`.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use augment_desktop::commands::data::DataState;
use augment_desktop::commands::files::Purpose::Open;
use augment_desktop::commands::stack::{StackConfig, StackState};
use serde_json::{Value, json};
use stack::StackDefinition;
use tauri::Listener as _;
use tauri::test::{MockRuntime, mock_context, noop_assets};
use tauri::webview::WebviewWindowBuilder;

const ENGINE_MESSAGE: &str = "Docker is not running: start Docker Desktop or Podman, or set DOCKER_HOST";
/// `up` builds images on first use and waits for health on a loaded 2-core machine.
const DEADLINE: Duration = Duration::from_secs(180);

struct Harness {
    _dir: tempfile::TempDir,
    app: tauri::App<MockRuntime>,
    webview: tauri::WebviewWindow<MockRuntime>,
    definition: StackDefinition,
}

impl Harness {
    /// An app whose stack is `t<pid>-<purpose>` on free ports, on the engine at `host`.
    fn new(host: &str, purpose: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut definition = StackDefinition::built_in().expect("built-in definition");
        definition.name = format!("t{}-app-{purpose}", std::process::id());
        let ports = test_support::free_loopback_ports(definition.services.len());
        for (service, port) in definition.services.iter_mut().zip(ports) {
            service.host_port = port;
            service.health_timeout_secs = 60;
        }
        let path = dir.path().join("stack.toml");
        std::fs::write(&path, toml::to_string(&definition).expect("toml")).expect("write definition");
        let config = StackConfig::new(Some(host.to_owned()), Some(path), Some(bin_dir())).expect("config");
        let data = DataState::open(&dir.path().join("data")).expect("local database");
        let app = augment_desktop::with_shell(tauri::test::mock_builder())
            .manage(StackState::new(config))
            .manage(data)
            .build(mock_context(noop_assets()))
            .expect("build the mock app");
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("webview");
        Self { _dir: dir, app, webview, definition }
    }

    fn dead(purpose: &str) -> (Self, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("dead.sock");
        // A socket file nobody listens on: an engine that died.
        drop(std::os::unix::net::UnixListener::bind(&socket).expect("bind"));
        (Self::new(&format!("unix://{}", socket.display()), purpose), dir)
    }

    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        crate::common::invoke(&self.webview, cmd, args)
    }

    fn events(&self, event: &str) -> mpsc::Receiver<Value> {
        let (tx, rx) = mpsc::channel();
        self.app.listen(event, move |e| {
            let _ = tx.send(serde_json::from_str(e.payload()).expect("json payload"));
        });
        rx
    }
}

pub(crate) fn bin_dir() -> PathBuf {
    std::env::var_os("AUGMENT_STACK_BIN_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/x86_64-unknown-linux-gnu/release"),
        PathBuf::from,
    )
}

/// The Docker engine to test against, or `None` when skipping deliberately.
fn docker_host() -> Option<String> {
    let host = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty());
    let host = host.unwrap_or_else(|| "unix:///tmp/docker.sock".to_owned());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    match runtime.block_on(stack::Engine::connect_to(&host)) {
        Ok(_) => Some(host),
        Err(err) if std::env::var("AUGMENT_SKIP_ENGINE_TESTS").is_ok_and(|v| v == "1") => {
            eprintln!("\n!!!!! SKIPPED: no engine at {host} ({err}); AUGMENT_SKIP_ENGINE_TESTS=1 is set !!!!!\n");
            None
        }
        Err(err) => panic!("no Docker engine at {host}: {err}; run `cargo xtask test` or set DOCKER_HOST"),
    }
}

fn code(err: &Value) -> &str {
    err["code"].as_str().unwrap_or_else(|| panic!("error without a code: {err}"))
}

/// The next progress event of `operation` that is not `started`.
fn finished(progress: &mpsc::Receiver<Value>, operation: &str) -> Value {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = progress.recv_timeout(left).unwrap_or_else(|_| panic!("`{operation}` did not finish in time"));
        if event["operation"] == operation && event["phase"] != "started" {
            return event;
        }
    }
}

#[test]
fn with_no_engine_status_and_up_say_docker_is_not_running() {
    let (h, _socket) = Harness::dead("dead");
    let err = h.invoke("stack_status", json!({})).expect_err("no engine");
    assert_eq!(code(&err), "engineNotRunning");
    assert!(err["message"].as_str().is_some_and(|m| m.contains(ENGINE_MESSAGE)), "{err}");

    let progress = h.events("stack-progress");
    assert_eq!(h.invoke("stack_up", json!({})).expect("started"), true);
    let done = finished(&progress, "up");
    assert_eq!(done["phase"], "failed");
    assert_eq!(done["error"]["code"], "engineNotRunning", "{done}");
    assert!(done["error"]["message"].as_str().is_some_and(|m| m.contains(ENGINE_MESSAGE)), "{done}");
}

#[test]
fn logs_of_an_unknown_service_are_refused_with_the_known_ones() {
    let (h, _socket) = Harness::dead("unknown");
    let err = h.invoke("stack_logs_follow", json!({ "service": "nope" })).expect_err("unknown service");
    assert_eq!(code(&err), "invalidInput");
    let message = err["message"].as_str().unwrap_or_default();
    assert!(message.contains("nope") && message.contains("parsers"), "{message}");
    assert_eq!(h.invoke("stack_logs_stop", json!({ "service": "parsers" })).expect("stop"), false, "nothing followed");
}

#[test]
fn import_without_an_engine_runs_in_process_and_reports_where_a_document_is_broken() {
    let (h, _socket) = Harness::dead("import");
    let preview = h
        .invoke(
            "import_records",
            json!({ "format": "yaml", "text": "- name: Ada\n  age: 36\n- name: Alan\n  age: 41\n", "limit": 1 }),
        )
        .expect("imported");
    assert_eq!(preview["parser"], "in-process");
    assert_eq!(preview["columns"], json!(["name", "age"]));
    assert_eq!(preview["totalRows"], 2);
    assert_eq!(preview["rows"], json!([["Ada", 36]]), "one row per page of 1");

    let err =
        h.invoke("import_records", json!({ "format": "json", "text": "[{\"a\": 1},\n {\"a\": ]" })).expect_err("bad");
    assert_eq!(code(&err), "parseError");
    assert!(err["message"].as_str().is_some_and(|m| m.contains("line 2, column")), "{err}");

    for args in [
        json!({ "format": "xls", "text": "a" }),
        json!({ "format": "csv" }),
        json!({ "format": "csv", "text": "a\n1\n", "file": crate::common::choose(&h.app, Path::new("/tmp/x.csv"), Open) }),
        json!({ "format": "csv", "text": "a\n1\n", "limit": 0 }),
        json!({ "format": "csv", "file": crate::common::choose(&h.app, Path::new("/nonexistent/records.csv"), Open) }),
    ] {
        let err = h.invoke("import_records", args.clone()).expect_err("refused");
        assert_eq!(code(&err), "invalidInput", "{args}: {err}");
    }
}

#[test]
fn save_dataset_without_an_engine_parses_json_in_process() {
    let (h, _socket) = Harness::dead("save");
    let saved = h
        .invoke(
            "save_dataset",
            json!({ "name": "people", "format": "json", "text": r#"[{"name": "Ada", "age": 36}]"# }),
        )
        .expect("saved");
    assert_eq!(saved["parser"], "in-process", "{saved}");
    assert!(saved["parserReason"].as_str().is_some_and(|r| r.contains("engine")), "{saved}");
    assert_eq!(saved["dataset"]["row_count"], 1);
    let err = h
        .invoke("save_dataset", json!({ "name": "broken", "format": "json", "text": "[{\"a\": 1},\n {\"a\": ]" }))
        .expect_err("malformed");
    assert_eq!(code(&err), "parseError");
    assert!(err["message"].as_str().is_some_and(|m| m.contains("line 2")), "{err}");
}

/// up → healthy → logs stream → import through the service → down → nothing left.
#[test]
fn up_status_logs_import_and_down_on_a_real_engine() {
    let Some(host) = docker_host() else { return };
    let h = Harness::new(&host, "flow");
    let progress = h.events("stack-progress");
    let logs = h.events("stack-log");

    let before = h.invoke("stack_status", json!({})).expect("status");
    assert_eq!(before["healthy"], false);
    assert!(before["services"].as_array().expect("services").iter().all(|s| s["state"] == "missing"), "{before}");

    assert_eq!(h.invoke("stack_up", json!({})).expect("started"), true);
    assert_eq!(h.invoke("stack_up", json!({})).expect("second call"), false, "one operation at a time");
    let done = finished(&progress, "up");
    assert_eq!(done["phase"], "done", "{done}");
    let status = h.invoke("stack_status", json!({})).expect("status");
    assert_eq!(status["healthy"], true, "{status}");
    let gateway = status["services"].as_array().expect("services").iter().find(|s| s["service"] == "gateway").cloned();
    let gateway = gateway.expect("gateway listed");
    assert_eq!(gateway["port"], h.definition.service("gateway").expect("gateway").host_port);
    crate::stack_metrics::on_a_running_stack(&|cmd, args| h.invoke(cmd, args), &h.definition);

    h.invoke("stack_logs_follow", json!({ "service": "parsers" })).expect("follow");
    let deadline = Instant::now() + Duration::from_secs(30);
    let line = loop {
        let event = logs.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("a log line");
        if event["service"] == "parsers" && event["line"].as_str().is_some_and(|l| l.contains("listening")) {
            break event;
        }
    };
    assert!(line["line"].as_str().is_some_and(|l| !l.ends_with('\n')), "one line per event");

    let preview =
        h.invoke("import_records", json!({ "format": "csv", "text": "city,people\nParis,2100000\n" })).expect("import");
    assert_eq!(preview["parser"], "service", "{preview}");
    assert_eq!(preview["rows"], json!([["Paris", 2100000]]));
    let err =
        h.invoke("import_records", json!({ "format": "json", "text": "[{\"a\": 1},\n {\"a\": ]" })).expect_err("bad");
    assert_eq!(code(&err), "parseError");
    let message = err["message"].as_str().unwrap_or_default();
    assert!(message.contains("line 2, column") && message.contains("parsers service"), "{message}");
    assert_eq!(h.invoke("stack_status", json!({})).expect("status")["lastImport"], "service");
    save_through_the_service(&h);

    assert_eq!(h.invoke("stack_down", json!({})).expect("started"), true);
    let done = finished(&progress, "down");
    assert_eq!(done["phase"], "done", "{done}");
    assert_eq!(h.invoke("stack_logs_stop", json!({ "service": "parsers" })).expect("stop"), false, "down stopped it");
    let after = h.invoke("stack_status", json!({})).expect("status");
    assert!(after["services"].as_array().expect("services").iter().all(|s| s["state"] == "missing"), "{after}");
    let preview = h.invoke("import_records", json!({ "format": "csv", "text": "a\n1\n" })).expect("import");
    assert_eq!(preview["parser"], "in-process", "the stack is down");
    let saved = h.invoke("save_dataset", json!({ "name": "later", "format": "json", "text": "[{\"a\": 1}]" }));
    assert_eq!(saved.expect("saved")["parser"], "in-process", "the stack is down");
}

/// With the stack up: a JSON file and a YAML text are parsed by the service
/// and every row is stored; CSV still streams in process; a malformed
/// document is refused by the service with its line.
fn save_through_the_service(h: &Harness) {
    let file = h._dir.path().join("cities.json");
    let cities: Vec<Value> = (0..120).map(|i| json!({ "city": format!("City {i}"), "people": i * 1000 })).collect();
    std::fs::write(&file, serde_json::to_vec(&cities).expect("json")).expect("write cities");
    let chosen = crate::common::choose(&h.app, &file, Open);
    let saved = h.invoke("save_dataset", json!({ "name": "cities", "format": "json", "file": chosen })).expect("saved");
    assert_eq!((&saved["parser"], &saved["parserReason"]), (&json!("service"), &Value::Null), "{saved}");
    assert_eq!(saved["dataset"]["row_count"], 120);
    let id = saved["dataset"]["id"].as_i64().expect("dataset id");
    let page = h
        .invoke("dataset_records", json!({ "datasetId": id, "query": { "offset": 119, "limit": 5 } }))
        .expect("records");
    assert_eq!(page["total"], 120);
    assert_eq!(page["items"][0]["fields"], json!({ "city": "City 119", "people": 119000 }));

    let yaml = "- name: Ada\n  age: 36\n- name: Alan\n  age: 41\n";
    let saved = h.invoke("save_dataset", json!({ "name": "people", "format": "yaml", "text": yaml })).expect("saved");
    assert_eq!(saved["parser"], "service", "{saved}");
    assert_eq!(saved["dataset"]["row_count"], 2);

    let saved = h.invoke("save_dataset", json!({ "name": "csv", "format": "csv", "text": "a\n1\n" })).expect("saved");
    assert_eq!(saved["parser"], "in-process", "CSV streams in process: {saved}");
    assert!(saved["parserReason"].as_str().is_some_and(|r| r.contains("CSV")), "{saved}");

    let err = h
        .invoke("save_dataset", json!({ "name": "broken", "format": "json", "text": "[{\"a\": 1},\n {\"a\": ]" }))
        .expect_err("malformed");
    assert_eq!(code(&err), "parseError");
    let message = err["message"].as_str().unwrap_or_default();
    assert!(message.contains("line 2, column") && message.contains("parsers service"), "{message}");
    let names: Vec<Value> = h
        .invoke("list_datasets", json!({}))
        .expect("list")
        .as_array()
        .expect("datasets")
        .iter()
        .map(|d| d["name"].clone())
        .collect();
    assert_eq!(names, [json!("csv"), json!("people"), json!("cities")], "nothing of the broken one is kept");
    assert_eq!(h.invoke("stack_status", json!({})).expect("status")["lastImport"], "in-process", "the CSV save");
}
