//! Issue 17, point 6 through the commands: `list_runs` offers a dataset's
//! runs to compare, `compare_answers` pairs two of them by record.

use local_data::{Answer, Store};
use serde_json::json;

use crate::charts::answered_dataset;
use crate::common::DataHarness as Harness;

#[test]
fn a_datasets_runs_are_listed_and_compared_by_record() {
    let h = Harness::new();
    let dataset = answered_dataset(&h);
    // The request that failed, sent again by a second run and answered.
    let mut store = Store::open(h.dirs.path().join("data/local.db")).unwrap();
    let retry = store.create_run(dataset, None).unwrap();
    let claimed = store.claim_next(retry.run_id).unwrap().unwrap();
    let answer = Answer {
        text: "Answered on the second try.".into(),
        model: claimed.model.clone(),
        finish_reason: None,
        input_tokens: None,
        output_tokens: None,
    };
    store.record_answer(&claimed, &answer).unwrap();

    let runs = h.ok("list_runs", json!({ "datasetId": dataset }));
    let ids: Vec<i64> = runs.as_array().unwrap().iter().map(|r| r["run_id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [retry.run_id, retry.run_id - 1], "newest first: {runs}");
    assert_eq!(runs[0]["targets"], json!([{ "provider": "openai", "model": "gpt-4o-mini" }]));
    assert_eq!(h.ok("list_runs", json!({ "datasetId": dataset + 1 })), json!([]));

    let query = json!({
        "baseline": { "run_id": ids[1] },
        "candidate": { "run_id": ids[0] },
        "limit": 10,
    });
    let page = h.ok("compare_answers", json!({ "query": query }));
    assert_eq!(page["summary"]["records"], 3, "{page}");
    assert_eq!(page["summary"]["missing"], 3, "the second run answered only the record the first failed: {page}");
    assert_eq!(page["summary"]["agreement_rate"], json!(null));
    assert_eq!(page["pairs"][2]["candidate"]["text"], "Answered on the second try.");
    assert_eq!(page["pairs"][2]["baseline"]["error_code"], "server_error");

    let bad = json!({ "baseline": { "run_id": 0 }, "candidate": { "run_id": ids[0] }, "limit": 10 });
    let (code, message) = h.refused("compare_answers", json!({ "query": bad }));
    assert_eq!(code, "invalidInput");
    assert!(message.contains("positive id"), "{message}");
}
