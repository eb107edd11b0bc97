//! Data stores through the shell's commands (issue 19 point 1) against the
//! fake NocoDB on loopback: a connection saved with its token in the real OS
//! keychain (a private gnome-keyring), a preview, an import that remembers
//! its source, a run against the fake provider, and its answers written back
//! to the same rows twice without a duplicate. No reply and no TRACE log line
//! carries the token.

use std::time::{Duration, Instant};

use fake_datastores::nocodb::{Column, FakeNocodb, Table};
use fake_provider::{FakeConfig, FakeProvider};
use serde_json::{Value, json};

use crate::common::{DataHarness, captured_logs};

const TOKEN: &str = "nc-app-test-token-6d2f9a0b1c";
const KEY: &str = "sk-test-datastores-through-the-shell";

fn books(rows: usize) -> Table {
    let mut table = Table::new("books", vec![Column::new("Title", "SingleLineText")]);
    for i in 1..=rows {
        table.push(json!({"Id": i, "Title": format!("Book {i}")}));
    }
    table
}

fn source(url: &str) -> Value {
    json!({ "kind": "nocodb", "base_url": url, "table_id": "books" })
}

#[test]
fn a_refused_connection_never_reaches_the_keychain_or_echoes_the_token() {
    let h = DataHarness::new();
    let (code, message) = h.refused(
        "save_datastore_connection",
        json!({ "name": "Work Base", "source": source("https://nocodb.example.com"), "credential": TOKEN }),
    );
    assert_eq!(code, "invalidInput");
    assert!(message.contains("lowercase letters") && !message.contains(TOKEN), "{message}");
    let (code, message) = h.refused(
        "save_datastore_connection",
        json!({ "name": "work", "source": source("http://nocodb.example.com"), "credential": TOKEN }),
    );
    assert_eq!(code, "invalidInput", "plain http:// off this machine would send the token in clear");
    assert!(message.contains("https://") && !message.contains(TOKEN), "{message}");
    let (code, _) = h.refused(
        "save_datastore_connection",
        json!({ "name": "work", "source": { "kind": "excel" }, "credential": TOKEN }),
    );
    assert_eq!(code, "invalidInput");
    let (code, message) = h.refused("preview_datastore", json!({ "connection": "nowhere" }));
    assert_eq!(code, "notFound", "{message}");
    assert_eq!(h.ok("list_datastore_connections", json!({})), json!([]));
}

#[test]
fn a_saved_connection_previews_imports_and_takes_a_runs_answers_back() {
    let Some(_keychain) = crate::common::private_keychain() else { return };
    let logs = captured_logs();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let nocodb = FakeNocodb::new(TOKEN).with_table(books(120)).with_max_page_size(50);
    let served = runtime.block_on(nocodb.serve()).unwrap();
    let fake = runtime
        .block_on(FakeProvider::start(FakeConfig { expected_key: Some(KEY.into()), ..FakeConfig::default() }))
        .unwrap();
    let h = DataHarness::new();
    // `save_provider_settings` asks a native confirmation: answered yes here.
    tauri::Manager::manage(&h.app, augment_desktop::confirm::Confirmation::Answer(true));
    let mut replies = Vec::new();

    let saved = h.ok(
        "save_datastore_connection",
        json!({ "name": "app-work", "source": source(&served.url()), "credential": TOKEN }),
    );
    assert_eq!((saved["kind"].as_str(), saved["hasCredential"].as_bool()), (Some("nocodb"), Some(true)), "{saved}");
    assert_eq!(secrets::KeyStore::system().get("datastore-app-work").unwrap().unwrap().expose(), TOKEN);
    let listed = h.ok("list_datastore_connections", json!({}));
    assert_eq!(listed[0]["name"], "app-work");

    let preview = h.ok("preview_datastore", json!({ "connection": "app-work", "rows": 5 }));
    assert_eq!(preview["keyColumn"], "Id", "{preview}");
    assert_eq!(preview["rows"].as_array().map(Vec::len), Some(5));
    let title = preview["columns"].as_array().unwrap().iter().find(|c| c["name"] == "Title").unwrap().clone();
    assert_eq!((title["serviceType"].as_str(), title["inferred"].as_str()), (Some("SingleLineText"), Some("string")));

    let mapping = json!({ "keyColumn": "Id", "columns": [{ "source": "Title", "target": "title" }] });
    let (code, message) = h.refused(
        "import_datastore",
        json!({ "connection": "app-work", "name": "x", "mapping": { "keyColumn": "Id", "columns": [{ "source": "Titel", "target": "title" }] } }),
    );
    assert_eq!(code, "invalidInput");
    assert!(message.contains("`Titel`"), "{message}");
    assert_eq!(h.ok("list_datasets", json!({})), json!([]), "a refused mapping stores nothing");
    let dataset = h.ok("import_datastore", json!({ "connection": "app-work", "name": "books", "mapping": mapping }));
    assert_eq!(dataset["row_count"], 120, "{dataset}");
    let dataset_id = dataset["id"].as_i64().unwrap();

    // A run over the imported records, against the fake provider.
    h.ok("set_api_key", json!({ "provider": "openai", "key": KEY }));
    h.ok("save_provider_settings", json!({ "provider": "openai", "baseUrl": fake.base_url() }));
    let template = h.ok("create_template", json!({ "name": "about", "body": "About {{ title }}" }));
    let version = template["current"]["id"].as_i64().unwrap();
    let targets = json!([{ "provider": "openai", "model": "gpt-4o-mini" }]);
    h.ok("generate_requests", json!({ "datasetId": dataset_id, "templateVersionId": version, "targets": targets }));
    let all = json!({ "datasetId": dataset_id, "templateVersionId": version, "from": "pending", "to": "approved" });
    h.ok("set_all_request_status", all);
    let run_id = h.ok("start_run", json!({ "datasetId": dataset_id }))["run_id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while h.ok("run_progress", json!({ "runId": run_id }))["status"] != "completed" {
        assert!(Instant::now() < deadline, "the run did not complete");
        std::thread::sleep(Duration::from_millis(20));
    }

    let write =
        json!({ "run": run_id, "connection": "app-work", "columns": { "answer": "Answer" }, "createColumns": true });
    for round in 1..=2 {
        let report = h.ok("write_back_run", write.clone());
        assert_eq!(report["updated"], 120, "round {round}: {report}");
        assert_eq!(report["failed"], json!([]), "{report}");
        replies.push(report);
    }
    let rows = nocodb.rows("books");
    assert_eq!(rows.len(), 120, "written twice, no row added");
    assert!(rows.iter().all(|r| r["Answer"] == "Hello from the fake provider."), "{:?}", rows[0]);

    // A token the service refuses: a clear error, the token in neither the reply nor the logs.
    h.ok(
        "save_datastore_connection",
        json!({ "name": "app-work", "source": source(&served.url()), "credential": "nc-wrong" }),
    );
    let (code, message) = h.refused("preview_datastore", json!({ "connection": "app-work" }));
    assert_eq!(code, "refused");
    assert!(message.contains("save the connection again"), "{message}");

    replies.extend([saved, listed, preview, dataset]);
    for reply in &replies {
        assert!(!reply.to_string().contains(TOKEN), "{reply}");
    }
    assert!(!logs.text().contains(TOKEN), "the token never reaches a log line, even at TRACE");

    h.ok("delete_datastore_connection", json!({ "name": "app-work" }));
    assert!(secrets::KeyStore::system().get("datastore-app-work").unwrap().is_none(), "the token left the keychain");
    h.ok("delete_api_key", json!({ "provider": "openai" }));
}
