//! Keyset paging through the list commands (host API 1.7.0): a page's
//! `next_cursor` / `previous_cursor`, handed back as `cursor`, give the page
//! after or before it in the list's order and filters, with the total on
//! every page; a cursor of another list, filter or sort (or a damaged one)
//! is refused, saying to start again from the first page, never read as a
//! position; the deprecated `offset` still pages for older remotes.

use serde_json::{Value, json};

use crate::charts::answered_dataset;
use crate::common::{DataHarness as Harness, books_csv};

fn books(h: &Harness, rows: usize) -> i64 {
    let saved = h.ok("save_dataset", json!({ "name": "books", "format": "csv", "text": books_csv(rows) }));
    saved["dataset"]["id"].as_i64().unwrap()
}

/// `args` with `cursor` set (or left out for the first page).
fn with_cursor(args: &Value, cursor: Option<&str>) -> Value {
    let mut args = args.clone();
    if let Some(cursor) = cursor {
        args["cursor"] = json!(cursor);
    }
    args
}

/// The values of `field` on a page, in order.
fn column(page: &Value, field: &str) -> Vec<Value> {
    page["items"].as_array().unwrap().iter().map(|item| item[field].clone()).collect()
}

/// Every page of `cmd` from the first, following `next_cursor` to the end.
fn pages_forward(h: &Harness, cmd: &str, args: &Value) -> Vec<Value> {
    let mut pages = vec![h.ok(cmd, args.clone())];
    while let Some(next) = pages.last().unwrap()["next_cursor"].as_str().map(str::to_owned) {
        assert!(pages.len() < 100, "{cmd} never reached its last page");
        pages.push(h.ok(cmd, with_cursor(args, Some(&next))));
    }
    pages
}

#[test]
fn records_page_forward_to_the_end_and_back_in_the_order_asked() {
    let h = Harness::new();
    let dataset = books(&h, 25);
    let sort = json!({ "column": "year", "descending": true });
    let args = json!({ "datasetId": dataset, "query": { "offset": 0, "limit": 10, "sort": sort } });

    let pages = pages_forward(&h, "dataset_records", &args);
    let sizes: Vec<usize> = pages.iter().map(|p| p["items"].as_array().unwrap().len()).collect();
    assert_eq!(sizes, [10, 10, 5], "25 records in pages of 10");
    assert!(pages.iter().all(|p| p["total"] == 25), "the total is on every page");
    assert!(pages[0].get("previous_cursor").is_none(), "nothing comes before the first page");
    assert!(pages[2].get("next_cursor").is_none(), "nothing comes after the last page");
    // The same rows, in the same order, as the (deprecated) offset pages.
    for (i, page) in pages.iter().enumerate() {
        let by_offset = h.ok(
            "dataset_records",
            json!({ "datasetId": dataset, "query": { "offset": i * 10, "limit": 10, "sort": sort } }),
        );
        assert_eq!(column(page, "id"), column(&by_offset, "id"), "page {i}");
        // Offset 0 is the first page by keyset; a deeper offset page is the old scan, without cursors.
        assert_eq!(by_offset.get("next_cursor").is_some(), i == 0, "page {i}");
    }
    assert_eq!(pages[0]["items"][0]["fields"]["year"], 1974, "newest first: 1950 + 24");

    // Back from the last page: the middle one, then the first.
    let back = h.ok("dataset_records", with_cursor(&args, pages[2]["previous_cursor"].as_str()));
    assert_eq!(column(&back, "id"), column(&pages[1], "id"));
    let first = h.ok("dataset_records", with_cursor(&args, back["previous_cursor"].as_str()));
    assert_eq!(column(&first, "id"), column(&pages[0], "id"));
    assert!(first.get("previous_cursor").is_none(), "back at the start");
}

#[test]
fn requests_page_by_cursor_under_a_filter_and_the_total_follows_a_review() {
    let h = Harness::new();
    let dataset = books(&h, 12);
    let template = h.ok("create_template", json!({ "name": "blurb", "body": "Describe {{ title }}." }));
    let version = template["current"]["id"].as_i64().unwrap();
    let targets = json!([{ "provider": "openai", "model": "m" }]);
    h.ok("generate_requests", json!({ "datasetId": dataset, "templateVersionId": version, "targets": targets }));
    let pending = json!({ "query": { "dataset_id": dataset, "status": "pending", "offset": 0, "limit": 5 } });

    let first = h.ok("list_requests", pending.clone());
    assert_eq!(first["total"], 12);
    let ids = column(&first, "id");
    // Approving the first page takes it out of the pending list: the next
    // page still starts after the cursor, and its total is counted again.
    h.ok("set_request_status", json!({ "requestIds": ids, "status": "approved" }));
    let next = h.ok("list_requests", with_cursor(&pending, first["next_cursor"].as_str()));
    assert_eq!(next["total"], 7, "the review changed the list: its total is not the one counted before");
    assert_eq!(next["items"][0]["rendered"], "Describe Book 5.", "the page after the first five records");
    assert!(column(&next, "status").iter().all(|s| s == "pending"), "the filter is evaluated in SQL");

    let pages = pages_forward(&h, "list_requests", &pending);
    let seen: usize = pages.iter().map(|p| p["items"].as_array().unwrap().len()).sum();
    assert_eq!((pages.len(), seen), (2, 7), "7 pending requests in pages of 5");
}

#[test]
fn responses_page_by_cursor_to_the_last_one() {
    let h = Harness::new();
    let dataset = answered_dataset(&h);
    let args = json!({ "query": { "dataset_id": dataset, "include_errors": true, "offset": 0, "limit": 1 } });
    let pages = pages_forward(&h, "list_responses", &args);
    assert_eq!(pages.len(), 3, "two answers and a failure, one a page");
    let positions: Vec<Value> = pages.iter().map(|p| p["items"][0]["record_position"].clone()).collect();
    assert_eq!(positions, [json!(0), json!(1), json!(2)], "record order");
    assert!(pages.iter().all(|p| p["total"] == 3));
    let answers_only = json!({ "query": { "dataset_id": dataset, "include_errors": false, "offset": 0, "limit": 1 } });
    assert_eq!(pages_forward(&h, "list_responses", &answers_only).len(), 2, "the failure left out in SQL");
}

#[test]
fn a_cursor_of_another_list_filter_or_sort_is_refused_never_read_as_a_position() {
    let h = Harness::new();
    let dataset = books(&h, 30);
    let records = |sort: Value| json!({ "datasetId": dataset, "query": { "offset": 0, "limit": 10, "sort": sort } });
    let by_title = records(json!({ "column": "title", "descending": false }));
    let cursor = h.ok("dataset_records", by_title.clone())["next_cursor"].as_str().unwrap().to_owned();

    let template = h.ok("create_template", json!({ "name": "blurb", "body": "{{ title }}" }));
    let version = template["current"]["id"].as_i64().unwrap();
    let targets = json!([{ "provider": "openai", "model": "m" }]);
    h.ok("generate_requests", json!({ "datasetId": dataset, "templateVersionId": version, "targets": targets }));
    let requests =
        |status: &str| json!({ "query": { "dataset_id": dataset, "status": status, "offset": 0, "limit": 10 } });
    let pending_cursor = h.ok("list_requests", requests("pending"))["next_cursor"].as_str().unwrap().to_owned();

    let filtered = json!({ "datasetId": dataset, "query": {
        "offset": 0, "limit": 10, "filter": { "column": "author", "op": "equals", "value": "Author 1" } } });
    let refused = [
        ("dataset_records", with_cursor(&by_title, Some("garbage")), "damaged"),
        ("dataset_records", with_cursor(&by_title, Some("after:{\"order\":1}")), "damaged"),
        (
            "dataset_records",
            with_cursor(&records(json!({ "column": "title", "descending": true })), Some(&cursor)),
            "sort changed",
        ),
        (
            "dataset_records",
            with_cursor(&records(json!({ "column": "year", "descending": false })), Some(&cursor)),
            "another column",
        ),
        ("dataset_records", with_cursor(&records(Value::Null), Some(&cursor)), "file order"),
        ("dataset_records", with_cursor(&filtered, Some(&cursor)), "a filter added"),
        ("list_requests", with_cursor(&requests("approved"), Some(&pending_cursor)), "another status"),
        ("list_requests", with_cursor(&requests("pending"), Some(&cursor)), "a records cursor"),
    ];
    for (cmd, args, case) in refused {
        let (code, message) = h.refused(cmd, args);
        assert_eq!(code, "invalidInput", "{case}: {message}");
        assert!(message.contains("start again from the first page"), "{case}: {message}");
    }

    let mut both = with_cursor(&by_title, Some(&cursor));
    both["query"]["offset"] = json!(10);
    let (code, message) = h.refused("dataset_records", both);
    assert_eq!(code, "invalidInput");
    assert!(message.contains("not both"), "{message}");
}
