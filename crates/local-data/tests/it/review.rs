use local_data::{
    Answer, ExportFormat, Failure, Insight, ModelTarget, RequestQuery, RequestStatus, ResponseQuery, Store,
};
use records::Format;
use serde_json::json;

use crate::{import, store};

fn all_requests(store: &Store, dataset_id: i64) -> Vec<local_data::RequestRow> {
    let query = RequestQuery { dataset_id, limit: 1000, ..Default::default() };
    store.requests(&query).unwrap().items
}

/// A dataset of three books with requests for two models, all approved.
fn reviewed(store: &mut Store) -> (i64, i64) {
    let dataset = import(store, "books", Format::Csv, "title,pages\nDune,412\n\"Moby | Dick\",635\nEmma,474\n");
    let template = store.create_template("summary", "Summarise {{ title }} ({{ pages }} pages)").unwrap();
    let targets = [ModelTarget::new("openai", "gpt-4o-mini"), ModelTarget::new("anthropic", "claude-3-5-haiku-latest")];
    assert_eq!(store.generate_requests(dataset.id, template.current.id, &targets).unwrap(), 6);
    assert_eq!(
        store.generate_requests(dataset.id, template.current.id, &targets).unwrap(),
        0,
        "generating again keeps the existing requests"
    );
    (dataset.id, template.current.id)
}

#[test]
fn requests_are_reviewed_edited_and_estimated() {
    let (_dir, mut store) = store();
    let (dataset_id, version_id) = reviewed(&mut store);
    let requests = all_requests(&store, dataset_id);
    assert_eq!(requests.len(), 6);
    assert!(requests.iter().all(|r| r.status == RequestStatus::Pending));
    assert_eq!(requests[0].rendered, "Summarise Dune (412 pages)");

    let estimates = store.estimate(dataset_id, Some(version_id), None, 100).unwrap();
    assert_eq!(estimates.len(), 2);
    let openai = estimates.iter().find(|e| e.provider == "openai").unwrap();
    assert_eq!(openai.requests, 3);
    let chars: u64 =
        requests.iter().filter(|r| r.provider == "openai").map(|r| r.rendered.chars().count() as u64).sum();
    assert_eq!(openai.input_tokens, chars.div_ceil(4));
    assert_eq!(openai.output_tokens, 300);
    assert!(openai.cost_usd.unwrap() > 0.0);

    let approved =
        store.set_all_request_status(dataset_id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    assert_eq!(approved, 6);
    store.set_request_status(&[requests[1].id], RequestStatus::Rejected).unwrap();
    let edited = store.edit_request(requests[2].id, Some("Summarise Moby Dick briefly")).unwrap();
    assert_eq!(edited.prompt(), "Summarise Moby Dick briefly");
    assert_eq!(edited.status, RequestStatus::Pending, "an edit is reviewed again");
    assert_eq!(store.edit_request(requests[2].id, Some(" ")).unwrap_err().code(), "invalid_input");
    assert_eq!(
        store.set_request_status(&[requests[0].id, 999_999], RequestStatus::Approved).unwrap_err().code(),
        "not_found"
    );

    let query = RequestQuery { dataset_id, status: Some(RequestStatus::Approved), limit: 2, ..Default::default() };
    let page = store.requests(&query).unwrap();
    assert_eq!(page.total, 4);
    assert_eq!(page.items.len(), 2);
    let estimates = store.estimate(dataset_id, None, None, 0).unwrap();
    assert_eq!(estimates.iter().map(|e| e.requests).sum::<u64>(), 5, "rejected ones are not counted");
}

/// Answers every approved request through the run state machine, as the engine would.
fn answer_all(store: &mut Store, dataset_id: i64) -> i64 {
    let run = store.create_run(dataset_id, None).unwrap();
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        if claimed.prompt.contains("Emma") && claimed.provider == "anthropic" {
            let failure = Failure { code: "server_error".into(), message: "anthropic failed with HTTP 503".into() };
            store.record_failure(&claimed, &failure).unwrap();
            continue;
        }
        let answer = Answer {
            text: format!("About: {}\nsecond line", claimed.prompt),
            model: claimed.model.clone(),
            finish_reason: Some("stop".into()),
            input_tokens: Some(10),
            output_tokens: Some(5),
        };
        assert!(store.record_answer(&claimed, &answer).unwrap());
    }
    let progress = store.run_progress(run.run_id).unwrap();
    assert_eq!((progress.answered, progress.failed, progress.queued), (5, 1, 0));
    run.run_id
}

#[test]
fn responses_are_tagged_grouped_and_exported() {
    let (dir, mut store) = store();
    let (dataset_id, _) = reviewed(&mut store);
    store.set_all_request_status(dataset_id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    answer_all(&mut store, dataset_id);
    let retry = store.create_run(dataset_id, None).unwrap();
    assert_eq!(retry.total, 1, "a new run holds only the request that failed: answered ones are never queued again");

    let mut query = ResponseQuery { dataset_id, limit: 100, ..Default::default() };
    let page = store.responses(&query).unwrap();
    assert_eq!(page.total, 5, "errors are left out unless asked for");
    query.include_errors = true;
    assert_eq!(store.responses(&query).unwrap().total, 6);
    query.include_errors = false;

    let dune: Vec<_> = page.items.iter().filter(|r| r.record["title"] == json!("Dune")).collect();
    assert_eq!(dune.len(), 2, "both models' answers next to the record");
    let saved = store
        .set_insight(
            dune[0].response_id,
            &Insight {
                tags: vec!["sci-fi".into(), " classic ".into(), "sci-fi".into()],
                group: Some("favourites".into()),
                note: Some("good".into()),
            },
        )
        .unwrap();
    assert_eq!(saved.tags, ["classic", "sci-fi"]);
    let ids: Vec<i64> = page.items.iter().map(|r| r.response_id).collect();
    assert_eq!(store.tag_responses(&ids, "reviewed").unwrap(), 5);

    query.tag = Some("sci-fi".into());
    assert_eq!(store.responses(&query).unwrap().total, 1);
    query.tag = None;
    query.group = Some("favourites".into());
    assert_eq!(store.responses(&query).unwrap().items[0].note.as_deref(), Some("good"));
    query.group = None;

    let path = dir.path().join("export.csv");
    let written = store.export_responses(&query, ExportFormat::Csv, std::fs::File::create(&path).unwrap()).unwrap();
    assert_eq!(written, 5);
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[5], "response");
    assert_eq!(&headers[headers.len() - 2], "title");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 5);
    let dune_row = rows.iter().find(|r| r[5].contains("Dune") && r[9].contains("sci-fi")).unwrap();
    assert_eq!(&dune_row[9], "classic, reviewed, sci-fi");
    assert_eq!(&dune_row[10], "favourites");
    assert_eq!(&dune_row[headers.len() - 1], "412");
    assert!(dune_row[5].contains('\n'), "multi-line answers survive CSV quoting");

    let mut json_out = Vec::new();
    store.export_responses(&query, ExportFormat::Json, &mut json_out).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&json_out).unwrap();
    let array = parsed.as_array().unwrap();
    assert_eq!(array.len(), 5);
    assert_eq!(array[0]["record"]["title"], json!("Dune"));
    assert_eq!(array[0]["record"]["pages"], json!(412));
    assert_eq!(array[0]["input_tokens"], json!(10));

    let mut md = Vec::new();
    store.export_responses(&query, ExportFormat::Markdown, &mut md).unwrap();
    let md = String::from_utf8(md).unwrap();
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(lines.len(), 7, "header, rule and five rows:\n{md}");
    assert!(lines[0].starts_with("| response_id | record | provider |"), "{}", lines[0]);
    assert!(md.contains("Moby \\| Dick"), "pipes are escaped:\n{md}");
    assert!(md.contains("<br>second line"), "line breaks stay in the cell:\n{md}");
    // The Markdown export reads back as a table with the same rows.
    let table = records::parse(Format::Markdown, md.as_bytes(), &records::Limits::default()).unwrap();
    assert_eq!(table.rows.len(), 5);
}

#[test]
fn a_cancelled_run_with_requests_left_is_offered_for_resume_until_they_are_sent() {
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "books", Format::Csv, "title\nEmma\nMiddlemarch\n");
    let template = store.create_template("t", "Summarise {{ title }}").unwrap();
    store.generate_requests(dataset.id, template.current.id, &[ModelTarget::new("openai", "gpt-4o-mini")]).unwrap();
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let run = store.create_run(dataset.id, None).unwrap().run_id;
    let claimed = store.claim_next(run).unwrap().unwrap();
    store.requeue(&claimed).unwrap();
    store.finish_run(run, local_data::RunStatus::Cancelled, Some("cancelled by the user")).unwrap();

    let listed: Vec<i64> = store.unfinished_runs().unwrap().iter().map(|p| p.run_id).collect();
    assert_eq!(listed, [run], "its queued requests can only be sent by resuming it");
    assert_eq!(store.create_run(dataset.id, None).unwrap_err().code(), "nothing_to_run");

    store.resume_run(run).unwrap();
    while let Some(claimed) = store.claim_next(run).unwrap() {
        let answer = Answer {
            text: "ok".into(),
            model: claimed.model.clone(),
            finish_reason: None,
            input_tokens: None,
            output_tokens: None,
        };
        store.record_answer(&claimed, &answer).unwrap();
    }
    store.finish_run(run, local_data::RunStatus::Cancelled, None).unwrap();
    assert!(store.unfinished_runs().unwrap().is_empty(), "a cancelled run with nothing left is not offered");
}

#[test]
fn a_bulk_approval_is_undone_exactly_leaving_later_changes_alone() {
    let (_dir, mut store) = store();
    let (dataset_id, _) = reviewed(&mut store);
    let before = all_requests(&store, dataset_id);
    // One was rejected before the bulk approval: the approval does not touch it, nor does the undo.
    store.set_request_status(&[before[0].id], RequestStatus::Rejected).unwrap();
    let approved =
        store.set_all_request_status_ids(dataset_id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let mut pending_before: Vec<i64> = before[1..].iter().map(|r| r.id).collect();
    pending_before.sort_unstable();
    assert_eq!(approved, pending_before, "exactly the pending ones, in id order");
    // After the approval, one is edited (so pending again): the undo leaves it as it is now.
    store.set_request_status(&[before[1].id], RequestStatus::Rejected).unwrap();

    let reverted = store.revert_request_status(&approved, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    assert_eq!(reverted, 4);
    let after: Vec<_> = all_requests(&store, dataset_id).into_iter().map(|r| (r.id, r.status)).collect();
    let mut expected = vec![(before[0].id, RequestStatus::Rejected), (before[1].id, RequestStatus::Rejected)];
    expected.extend(before[2..].iter().map(|r| (r.id, RequestStatus::Pending)));
    assert_eq!(after, expected);
    assert_eq!(store.revert_request_status(&approved, RequestStatus::Pending, RequestStatus::Approved).unwrap(), 0);
}
