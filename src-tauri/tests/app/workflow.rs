//! The workflow's data commands through Tauri's mock runtime (`tauri::test`)
//! over a real SQLite database in a temp folder: import → browse → template
//! (missing fields flagged, live preview) → requests (generate, review,
//! estimate) → export, and bad input answered with `invalidInput`.

use crate::common::{DataHarness as Harness, books_csv};
use augment_desktop::commands::files::Purpose::{Open, Save};
use serde_json::json;

#[test]
fn import_template_review_and_export_through_the_commands() {
    let h = Harness::new();
    let file = h.dirs.path().join("books.csv");
    std::fs::write(&file, books_csv(50)).unwrap();
    let saved = h.ok("save_dataset", json!({ "name": "books", "format": "csv", "file": h.choose(&file, Open) }));
    assert_eq!(saved["dataset"]["row_count"], 50);
    assert_eq!(saved["parser"], "in-process");
    let dataset = saved["dataset"]["id"].as_i64().unwrap();
    assert_eq!(h.ok("list_datasets", json!({})).as_array().unwrap().len(), 1);

    let page = h.ok("dataset_records", json!({ "datasetId": dataset, "query": { "offset": 10, "limit": 5 } }));
    assert_eq!(page["total"], 50);
    assert_eq!(page["items"][0]["fields"]["title"], "Book 10");
    let first = h.ok("dataset_records", json!({ "datasetId": dataset, "query": { "offset": 0, "limit": 1 } }));
    let record = first["items"][0]["id"].as_i64().unwrap();
    let edited = h.ok("update_record_field", json!({ "recordId": record, "column": "author", "value": "Ada" }));
    assert_eq!(edited["fields"]["author"], "Ada");

    let missing = h.ok("check_template", json!({ "body": "{{ title }} by {{ publisher }}", "datasetId": dataset }));
    assert_eq!(missing["missing_fields"], json!(["publisher"]));
    let (code, message) = h.refused("preview_template", json!({ "body": "{{ publisher }}", "recordId": record }));
    assert_eq!(code, "missingFields");
    assert!(message.contains("publisher"), "{message}");
    let body = "Describe {{ title }} by {{ author }} ({{ year }}).";
    assert_eq!(h.ok("preview_template", json!({ "body": body, "recordId": record })), "Describe Book 0 by Ada (1950).");
    let template = h.ok("create_template", json!({ "name": "blurb", "body": body }));
    let version = template["current"]["id"].as_i64().unwrap();
    assert_eq!(template["current"]["version"], 1);

    let targets = json!([{ "provider": "openai", "model": "gpt-4o-mini" }]);
    let made =
        h.ok("generate_requests", json!({ "datasetId": dataset, "templateVersionId": version, "targets": targets }));
    assert_eq!(made, 50);
    let approved = h.ok(
        "set_all_request_status",
        json!({ "datasetId": dataset, "templateVersionId": version, "from": "pending", "to": "approved" }),
    );
    assert_eq!(approved, 50);
    let query = json!({ "dataset_id": dataset, "status": "approved", "offset": 0, "limit": 100 });
    let requests = h.ok("list_requests", json!({ "query": query }));
    assert_eq!(requests["total"], 50);
    let estimate =
        h.ok("estimate_requests", json!({ "datasetId": dataset, "templateVersionId": version, "outputTokens": 100 }));
    assert_eq!(estimate[0]["requests"], 50);
    assert_eq!(estimate[0]["output_tokens"], 5000);

    let usage = h.ok("usage_metrics", json!({}));
    assert_eq!((usage["records"].as_u64(), usage["approvedRequests"].as_u64()), (Some(50), Some(50)));

    // Nothing has been sent, so the export holds the header only; a second
    // export to the same file is refused and leaves the first one as it was.
    let out = h.dirs.path().join("answers.csv");
    let query = json!({ "dataset_id": dataset, "include_errors": true, "offset": 0, "limit": 100 });
    let exported = h.ok("export_responses", json!({ "query": query, "format": "csv", "file": h.choose(&out, Save) }));
    assert_eq!(exported["rows"], 0);
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.starts_with("response_id,record,provider,model"), "{written}");
    let again = json!({ "query": query, "format": "csv", "file": h.choose(&out, Save) });
    let (code, message) = h.refused("export_responses", again);
    assert_eq!(code, "invalidInput");
    assert!(message.contains("already exists"), "{message}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), written);
    let default = h.ok("export_responses", json!({ "query": query, "format": "markdown" }));
    let default_path = std::path::PathBuf::from(default["path"].as_str().unwrap());
    assert!(default_path.starts_with(h.dirs.path().join("data/exports")) && default_path.exists(), "{default_path:?}");
}

/// Issue 16, point 2: a file saved as a dataset is offered again, and picking
/// it gives a token that reads it; a file gone since is dropped with a clear error.
#[test]
fn an_imported_file_is_a_recent_file_that_can_be_imported_again() {
    let h = Harness::new();
    let file = h.dirs.path().join("books.csv");
    std::fs::write(&file, books_csv(3)).unwrap();
    h.ok("save_dataset", json!({ "name": "books", "format": "csv", "file": h.choose(&file, Open) }));
    let recent = h.ok("recent_files", json!({}));
    assert_eq!(recent.as_array().unwrap().len(), 1, "{recent}");
    assert_eq!(recent[0]["name"], "books.csv");
    assert_eq!(recent[0]["folder"], h.dirs.path().display().to_string());
    assert!(recent[0].get("path").is_none(), "an id, a name and a folder; never a path to pass back");
    let id = recent[0]["id"].clone();
    let chosen = h.ok("choose_recent_file", json!({ "id": id }));
    let again = h.ok("save_dataset", json!({ "name": "books again", "format": "csv", "file": chosen["token"] }));
    assert_eq!(again["dataset"]["row_count"], 3);

    std::fs::remove_file(&file).unwrap();
    let (code, message) = h.refused("choose_recent_file", json!({ "id": id }));
    assert_eq!(code, "invalidInput");
    assert!(message.contains("books.csv is no longer in"), "{message}");
    assert_eq!(h.ok("recent_files", json!({})), json!([]));
}

/// Issue 16, point 5: "approve all pending" can be undone, exactly, once.
#[test]
fn a_bulk_approval_is_undone_once_through_the_commands() {
    let h = Harness::new();
    let file = h.dirs.path().join("books.csv");
    std::fs::write(&file, books_csv(4)).unwrap();
    let saved = h.ok("save_dataset", json!({ "name": "books", "format": "csv", "file": h.choose(&file, Open) }));
    let dataset = saved["dataset"]["id"].as_i64().unwrap();
    let template = h.ok("create_template", json!({ "name": "t", "body": "{{ title }}" }));
    let version = template["current"]["id"].as_i64().unwrap();
    let targets = json!([{ "provider": "openai", "model": "gpt-4o-mini" }]);
    h.ok("generate_requests", json!({ "datasetId": dataset, "templateVersionId": version, "targets": targets }));
    assert_eq!(h.ok("last_bulk_status_change", json!({})), json!(null));
    let all = json!({ "datasetId": dataset, "templateVersionId": version, "from": "pending", "to": "approved" });
    assert_eq!(h.ok("set_all_request_status", all), 4);
    let change = h.ok("last_bulk_status_change", json!({}));
    assert_eq!(
        (change["count"].as_u64(), change["from"].as_str(), change["to"].as_str()),
        (Some(4), Some("pending"), Some("approved"))
    );
    assert_eq!(h.ok("undo_bulk_status_change", json!({ "id": change["id"] })), 4);
    let pending = json!({ "query": { "dataset_id": dataset, "status": "pending", "offset": 0, "limit": 10 } });
    assert_eq!(h.ok("list_requests", pending)["total"], 4);
    let (code, message) = h.refused("undo_bulk_status_change", json!({ "id": change["id"] }));
    assert_eq!(code, "invalidInput");
    assert!(message.contains("can no longer be undone"), "{message}");
}

#[test]
fn bad_input_is_refused_with_what_to_do() {
    let h = Harness::new();
    let csv = books_csv(2);
    let missing = h.choose(std::path::Path::new("/no/such/file.csv"), Open);
    let cases = [
        ("save_dataset", json!({ "name": "  ", "format": "csv", "text": csv }), "name"),
        ("save_dataset", json!({ "name": "x", "format": "xls", "text": csv }), "xls"),
        ("save_dataset", json!({ "name": "x", "format": "csv" }), "exactly one of"),
        ("save_dataset", json!({ "name": "x", "format": "csv", "file": missing }), "/no/such/file.csv"),
        ("delete_dataset", json!({ "datasetId": 0 }), "positive id"),
        ("dataset_records", json!({ "datasetId": 1, "query": { "offset": 0, "limit": 0 } }), "page holds"),
        ("create_template", json!({ "name": "t", "body": "x".repeat(70 * 1024) }), "shorten it"),
        ("tag_responses", json!({ "responseIds": [1], "tag": " " }), "tag"),
    ];
    for (cmd, args, needle) in cases {
        let (code, message) = h.refused(cmd, args);
        assert_eq!(code, "invalidInput", "{cmd}: {message}");
        assert!(message.contains(needle), "{cmd}: {message:?} should mention {needle:?}");
    }
    let query = json!({ "dataset_id": 1, "include_errors": true, "offset": 0, "limit": 10 });
    let relative = h.choose(std::path::Path::new("rel.csv"), Save);
    let (code, message) = h.refused("export_responses", json!({ "query": query, "format": "csv", "file": relative }));
    assert_eq!(code, "invalidInput");
    assert!(message.contains("absolute"), "{message}");
    let (code, _) = h.refused("dataset_records", json!({ "datasetId": 99, "query": { "offset": 0, "limit": 10 } }));
    assert_eq!(code, "notFound");
    let (code, message) =
        h.refused("save_dataset", json!({ "name": "bad", "format": "json", "text": "[{\"a\": 1},\n{\"a\": }]" }));
    assert_eq!(code, "parseError");
    assert!(message.contains("line 2"), "{message}");
    assert_eq!(h.ok("list_datasets", json!({})), json!([]), "nothing half-imported is kept");
}

/// Issue 20 point 5: the commands that read or write a file take only what
/// the person chose in the native dialog, as a single-use token for its
/// purpose. A raw path from the page (accepted until now: the page named any
/// file to read or write), an unknown token, a used one and an open-dialog
/// token used to write are all refused, and nothing is read or written.
#[test]
fn point_5_file_commands_take_only_dialog_tokens() {
    let h = Harness::new();
    let file = h.dirs.path().join("books.csv");
    std::fs::write(&file, books_csv(3)).unwrap();
    let out = h.dirs.path().join("out.csv");
    let query = json!({ "dataset_id": 1, "include_errors": true, "offset": 0, "limit": 10 });

    let raw = [
        ("import_records", json!({ "format": "csv", "path": file })),
        ("save_dataset", json!({ "name": "raw", "format": "csv", "path": file })),
        ("export_responses", json!({ "query": query, "format": "csv", "path": out })),
    ];
    for (cmd, args) in raw {
        let (code, message) = h.refused(cmd, args);
        assert_eq!(code, "invalidInput", "{cmd}: {message}");
        assert!(message.contains("file dialog"), "{cmd} says how to choose a file: {message}");
    }
    let (_, message) = h.refused("import_records", json!({ "format": "csv", "file": "file-0123456789abcdef" }));
    assert!(message.contains("unknown or was already used"), "{message}");

    // A token works once; the preview hands back a fresh one for Save.
    let token = h.choose(&file, Open);
    let preview = h.ok("import_records", json!({ "format": "csv", "file": token }));
    assert_eq!(preview["totalRows"], 3);
    assert_eq!(preview["file"]["name"], "books.csv");
    let (_, message) = h.refused("import_records", json!({ "format": "csv", "file": token }));
    assert!(message.contains("already used"), "a reused token is refused: {message}");
    let fresh = preview["file"]["token"].as_str().unwrap();
    assert_ne!(fresh, token);
    let saved = h.ok("save_dataset", json!({ "name": "books", "format": "csv", "file": fresh }));
    assert_eq!(saved["dataset"]["row_count"], 3);
    let (_, message) = h.refused("save_dataset", json!({ "name": "again", "format": "csv", "file": fresh }));
    assert!(message.contains("already used"), "{message}");

    // A file chosen to be read cannot be written.
    let dataset = saved["dataset"]["id"].as_i64().unwrap();
    let query = json!({ "dataset_id": dataset, "include_errors": true, "offset": 0, "limit": 10 });
    let read_only = h.choose(&out, Open);
    let (_, message) = h.refused("export_responses", json!({ "query": query, "format": "csv", "file": read_only }));
    assert!(message.contains("not chosen for writing"), "{message}");
    assert!(!out.exists(), "nothing was written");
    let exported = h.ok("export_responses", json!({ "query": query, "format": "csv", "file": h.choose(&out, Save) }));
    assert_eq!(exported["path"], out.display().to_string());
    assert!(out.exists());
}

#[test]
fn a_deleted_dataset_is_restored_by_undo() {
    let h = Harness::new();
    let file = h.dirs.path().join("books.csv");
    std::fs::write(&file, books_csv(3)).unwrap();
    let saved = h.ok("save_dataset", json!({ "name": "books", "format": "csv", "file": h.choose(&file, Open) }));
    let dataset = saved["dataset"]["id"].as_i64().unwrap();

    h.ok("delete_dataset", json!({ "datasetId": dataset }));
    assert_eq!(h.ok("list_datasets", json!({})), json!([]));
    let (code, _) = h.refused("dataset_records", json!({ "datasetId": dataset, "query": { "offset": 0, "limit": 1 } }));
    assert_eq!(code, "notFound");

    let restored = h.ok("restore_dataset", json!({ "datasetId": dataset }));
    assert_eq!((restored["name"].as_str(), restored["row_count"].as_u64()), (Some("books"), Some(3)));
    let page = h.ok("dataset_records", json!({ "datasetId": dataset, "query": { "offset": 0, "limit": 5 } }));
    assert_eq!(page["total"], 3);
    let (code, message) = h.refused("restore_dataset", json!({ "datasetId": dataset }));
    assert_eq!(code, "notFound", "{message}");
}
