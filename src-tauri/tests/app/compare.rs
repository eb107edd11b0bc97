//! Issue 17, point 6 through the commands: `list_runs` offers a dataset's
//! runs to compare, `compare_answers` pairs two of them by record.

use local_data::{Answer, NewRun, Store};
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

/// Issue 17, point 6: `run_stability` reads a run with repeats over the
/// whole run; `start_run` refuses a repeat count outside 1 to 10 before
/// anything is created.
#[test]
fn a_run_with_repeats_reports_its_stability() {
    let h = Harness::new();
    let dataset = answered_dataset(&h);
    let mut store = Store::open(h.dirs.path().join("data/local.db")).unwrap();
    let repeated = store.create_run_as(dataset, None, &NewRun { repeats: 2, ..NewRun::default() }).unwrap();
    assert_eq!(repeated.total, 4, "the second sample of the three books and the failed first one");
    while let Some(claimed) = store.claim_next(repeated.run_id).unwrap() {
        let text =
            if claimed.sample == 1 && claimed.prompt.contains("Book 0") { "Another answer." } else { "A fine book." };
        let answer = Answer {
            text: text.into(),
            model: claimed.model.clone(),
            finish_reason: None,
            input_tokens: None,
            output_tokens: None,
        };
        store.record_answer(&claimed, &answer).unwrap();
    }

    let query = json!({ "run_id": repeated.run_id, "limit": 10 });
    let page = h.ok("run_stability", json!({ "query": query }));
    assert_eq!(page["summary"]["repeats"], 2, "{page}");
    assert_eq!(
        (page["summary"]["complete"].as_u64(), page["summary"]["stable"].as_u64()),
        (Some(3), Some(2)),
        "{page}"
    );
    assert_eq!(page["unstable"][0]["samples"][1]["text"], "Another answer.", "{page}");
    assert_eq!(h.ok("list_runs", json!({ "datasetId": dataset }))[0]["repeats"], 2);

    let once = json!({ "run_id": repeated.run_id - 1, "limit": 10 });
    let (code, message) = h.refused("run_stability", json!({ "query": once }));
    assert_eq!(code, "invalidInput");
    assert!(message.contains("asked each prompt once"), "{message}");
    for bad in [0, 11] {
        let (code, message) = h.refused("start_run", json!({ "datasetId": dataset, "repeats": bad }));
        assert_eq!(code, "invalidInput");
        assert!(message.contains("repeats must be 1 to 10"), "{message}");
    }
}
