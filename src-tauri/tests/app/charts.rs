//! The chart commands (issue 16, point 4) over a real cache and a real local
//! database: what the shell records as remotes mount and fail, and what runs
//! left in the database, summed for the dashboards.

use augment_desktop::ShellState;
use local_data::{Answer, Failure, Store};
use serde_json::json;

use crate::common::{DataHarness as Harness, books_csv, install_remote};

fn cache(h: &Harness) -> &cache::BundleCache {
    &tauri::Manager::state::<ShellState>(&h.app).inner().cache
}

#[test]
fn mounts_failures_and_installs_are_charted_per_remote_and_over_time() {
    let h = Harness::new();
    let initial = h.ok("cache_size_history", json!({}));
    assert_eq!(initial.as_array().map(Vec::len), Some(1), "a new cache starts with its empty size: {initial}");

    install_remote(cache(&h), "alpha", "1.0.0", "^1.0.0");
    h.ok("mark_known_good", json!({ "name": "alpha", "version": "1.0.0", "mountMs": 120.0 }));
    h.ok("mark_known_good", json!({ "name": "alpha", "version": "1.0.0", "mountMs": 80.0 }));
    h.ok("report_load_failure", json!({ "name": "alpha", "version": "1.0.0", "reason": "boom", "phase": "render" }));

    let history = h.ok("cache_size_history", json!({}));
    let entry = "export const remote = \"alpha\";\n".len();
    assert_eq!(history[1]["bytes"], entry, "{history}");
    assert_eq!((history[1]["blobs"].as_u64(), history[1]["versions"].as_u64()), (Some(1), Some(1)));
    let stats = h.ok("remote_load_stats", json!({ "days": 7 }));
    assert_eq!(stats.as_array().map(Vec::len), Some(1), "{stats}");
    assert_eq!(
        (stats[0]["name"].as_str(), stats[0]["mounts"].as_u64(), stats[0]["failures"].as_u64()),
        (Some("alpha"), Some(2), Some(1))
    );
    assert_eq!(stats[0]["meanMountMs"], 100.0);
    assert!(stats[0]["lastFailureAt"].as_i64().is_some(), "{stats}");

    let (code, message) = h.refused("remote_load_stats", json!({ "days": 0 }));
    assert_eq!(code, "invalidInput");
    assert!(message.contains("1 to 366 days"), "{message}");
}

/// Imports 3 books, makes a request per book for gpt-4o-mini, approves them
/// and answers them (the last one fails) as the run engine would, through a
/// second connection. Returns the dataset id.
pub(crate) fn answered_dataset(h: &Harness) -> i64 {
    let file = h.dirs.path().join("books.csv");
    std::fs::write(&file, books_csv(3)).unwrap();
    let saved = h.ok(
        "save_dataset",
        json!({ "name": "books", "format": "csv", "file": h.choose(&file, augment_desktop::commands::files::Purpose::Open) }),
    );
    let dataset = saved["dataset"]["id"].as_i64().unwrap();
    let template = h.ok("create_template", json!({ "name": "blurb", "body": "Describe {{ title }}." }));
    let version = template["current"]["id"].as_i64().unwrap();
    let targets = json!([{ "provider": "openai", "model": "gpt-4o-mini" }]);
    h.ok("generate_requests", json!({ "datasetId": dataset, "templateVersionId": version, "targets": targets }));
    h.ok("set_all_request_status", json!({ "datasetId": dataset, "from": "pending", "to": "approved" }));

    let mut store = Store::open(h.dirs.path().join("data/local.db")).unwrap();
    let run = store.create_run(dataset, None).unwrap();
    let mut sent = 0;
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        sent += 1;
        if sent == 3 {
            let failure = Failure { code: "server_error".into(), message: "503".into() };
            store.record_failure(&claimed, &failure).unwrap();
        } else {
            let answer = Answer {
                text: "A fine book.".into(),
                model: claimed.model.clone(),
                finish_reason: Some("stop".into()),
                input_tokens: Some(1000),
                output_tokens: Some(500),
            };
            store.record_answer(&claimed, &answer).unwrap();
        }
    }
    dataset
}

#[test]
fn run_activity_and_response_stats_sum_what_runs_left() {
    let h = Harness::new();
    let empty = h.ok("run_activity", json!({ "days": 7, "utcOffsetMinutes": 60 }));
    assert_eq!(empty["days"].as_array().map(Vec::len), Some(7));
    assert_eq!(empty["providers"], json!([]));

    let dataset = answered_dataset(&h);

    let activity = h.ok("run_activity", json!({}));
    assert_eq!(activity["days"].as_array().map(Vec::len), Some(30), "30 days by default");
    let today = &activity["days"][29];
    assert_eq!((today["answered"].as_u64(), today["failed"].as_u64()), (Some(2), Some(1)), "{today}");
    assert_eq!((today["inputTokens"].as_u64(), today["outputTokens"].as_u64()), (Some(2000), Some(1000)));
    // gpt-4o-mini: 2000 input at $0.15/M, 1000 output at $0.60/M.
    let cost = today["costUsd"].as_f64().unwrap();
    assert!((cost - 0.0009).abs() < 1e-12, "{cost}");
    let provider = &activity["providers"][0];
    assert_eq!(
        (provider["provider"].as_str(), provider["answered"].as_u64(), provider["failed"].as_u64()),
        (Some("openai"), Some(2), Some(1))
    );
    assert!(provider["medianLatencyMs"].as_u64().is_some(), "{provider}");

    let responses = h.ok(
        "list_responses",
        json!({ "query": { "dataset_id": dataset, "include_errors": false, "offset": 0, "limit": 10 } }),
    );
    let first = responses["items"][0]["response_id"].as_i64().unwrap();
    h.ok("tag_responses", json!({ "responseIds": [first], "tag": "classic" }));
    let stats = h.ok("response_stats", json!({ "datasetId": dataset }));
    let model = &stats["models"][0];
    assert_eq!(
        (model["model"].as_str(), model["answers"].as_u64(), model["failures"].as_u64()),
        (Some("gpt-4o-mini"), Some(2), Some(1))
    );
    assert_eq!(model["meanAnswerChars"], 12.0);
    assert_eq!(stats["tags"], json!([{ "tag": "classic", "count": 1 }]));

    let (code, _) = h.refused("run_activity", json!({ "utcOffsetMinutes": 9999 }));
    assert_eq!(code, "invalidInput");
    let (code, _) = h.refused("response_stats", json!({ "datasetId": dataset + 100 }));
    assert_eq!(code, "notFound");
}
