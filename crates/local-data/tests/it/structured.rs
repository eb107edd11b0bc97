//! Structured output and checks (issue 17, point 5): a template version's
//! schema, each answer validated against it, its fields as export columns,
//! and a run's assertions scored per answer.

use local_data::{
    Answer, Assertion, CheckResult, Checker, ExportFormat, JudgeUsage, ModelTarget, PriceTable, RequestStatus,
    ResponseQuery, Store,
};
use records::Format;

use crate::{import, store};

const SCHEMA: &str = r#"{
  "type": "object",
  "properties": {"sentiment": {"type": "string", "enum": ["positive", "negative"]}, "score": {"type": "integer", "minimum": 0, "maximum": 10}},
  "required": ["sentiment", "score"]
}"#;

fn answer(text: &str) -> Answer {
    Answer { text: text.into(), model: "m".into(), finish_reason: None, input_tokens: Some(10), output_tokens: Some(5) }
}

/// A dataset of three reviews with approved requests from a schema'd template.
fn schema_dataset(store: &mut Store) -> (i64, i64) {
    let dataset = import(store, "reviews", Format::Csv, "review\nlovely\nawful\nmeh\n");
    let template = store.create_template_with_schema("rate", "Rate: {{ review }}", Some(SCHEMA)).unwrap();
    store.generate_requests(dataset.id, template.current.id, &[ModelTarget::new("openai", "gpt-4o-mini")]).unwrap();
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    (dataset.id, template.current.id)
}

#[test]
fn a_schema_is_stored_with_its_version_and_a_bad_one_refused_with_its_path() {
    let (_dir, mut store) = store();
    let template = store.create_template_with_schema("t", "Hi {{ x }}", Some(SCHEMA)).unwrap();
    let stored: serde_json::Value = serde_json::from_str(template.current.schema.as_deref().unwrap()).unwrap();
    assert_eq!(stored["required"][1], "score");
    let plain = store.add_template_version(template.id, "Hello {{ x }}").unwrap();
    assert_eq!(plain.schema, None, "a new version without a schema is free text");

    let bad = r#"{"type":"object","properties":{"score":{"type":"integr"}}}"#;
    let e = store.add_template_version_with_schema(template.id, "Hi {{ x }}", Some(bad)).unwrap_err();
    assert_eq!(e.code(), "invalid_schema");
    assert!(e.to_string().contains("at `/properties/score/type`"), "{e}");
    assert_eq!(store.template(template.id).unwrap().version_count, 2, "nothing saved");
    let e = store.create_template_with_schema("u", "Hi", Some("{not json")).unwrap_err();
    assert!(e.to_string().contains("not JSON (line 1"), "{e}");
    assert!(store.templates().unwrap().iter().all(|t| t.name != "u"));
}

#[test]
fn every_answer_is_validated_per_record_and_its_fields_become_columns() {
    let (_dir, mut store) = store();
    let (dataset_id, _) = schema_dataset(&mut store);
    let run = store.create_run(dataset_id, None).unwrap();
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        assert!(claimed.schema.is_some(), "the claimed request carries its schema for the provider");
        let text = match claimed.prompt.as_str() {
            "Rate: lovely" => r#"{"sentiment":"positive","score":9}"#,
            "Rate: awful" => r#"{"sentiment":"negative","score":11}"#,
            _ => "I'd say it is fine.",
        };
        store.record_answer(&claimed, &answer(text)).unwrap();
    }
    let rows = store.responses(&ResponseQuery { dataset_id, limit: 10, ..Default::default() }).unwrap().items;
    let by_review = |review: &str| rows.iter().find(|r| r.record["review"] == review).unwrap();
    let lovely = by_review("lovely");
    assert_eq!(lovely.schema_valid, Some(true));
    assert!(lovely.schema_errors.is_none());
    assert_eq!(lovely.fields.as_ref().unwrap()["score"], 9);
    let awful = by_review("awful");
    assert_eq!(awful.schema_valid, Some(false));
    assert_eq!(awful.schema_errors.as_ref().unwrap()[0].path, "/score");
    assert_eq!(awful.fields.as_ref().unwrap()["sentiment"], "negative", "an invalid object keeps its fields");
    let meh = by_review("meh");
    assert_eq!(meh.schema_valid, Some(false));
    assert!(
        meh.schema_errors.as_ref().unwrap()[0].message.starts_with("the answer is not JSON"),
        "{:?}",
        meh.schema_errors
    );
    let checks = store.run_checks(run.run_id).unwrap();
    assert_eq!((checks.schema_valid, checks.schema_invalid), (1, 2));

    let mut csv = Vec::new();
    store.export_responses(&ResponseQuery { dataset_id, ..Default::default() }, ExportFormat::Csv, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(header.ends_with(",review,valid,schema_errors,score,sentiment"), "{header}");
    let lovely_line = csv.lines().find(|l| l.contains("Rate: lovely")).unwrap();
    assert!(lovely_line.ends_with(",lovely,true,,9,positive"), "{lovely_line}");
    let awful_line = csv.lines().find(|l| l.contains("Rate: awful")).unwrap();
    assert!(
        awful_line.contains(",awful,false,/score: 11 is greater than the maximum of 10,11,negative"),
        "{awful_line}"
    );

    let mut json = Vec::new();
    store.export_responses(&ResponseQuery { dataset_id, ..Default::default() }, ExportFormat::Json, &mut json).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let meh = json.as_array().unwrap().iter().find(|r| r["record"]["review"] == "meh").unwrap();
    assert_eq!(meh["valid"], false);
    assert_eq!(meh["fields"], serde_json::Value::Null);
}

#[test]
fn a_free_text_template_exports_as_before() {
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "d", Format::Csv, "name\nAda\n");
    let template = store.create_template("plain", "About {{ name }}").unwrap();
    store.generate_requests(dataset.id, template.current.id, &[ModelTarget::new("openai", "gpt-4o-mini")]).unwrap();
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let run = store.create_run(dataset.id, None).unwrap();
    let claimed = store.claim_next(run.run_id).unwrap().unwrap();
    assert_eq!(claimed.schema, None);
    store.record_answer(&claimed, &answer("{}")).unwrap();
    let row =
        &store.responses(&ResponseQuery { dataset_id: dataset.id, limit: 1, ..Default::default() }).unwrap().items[0];
    assert_eq!((row.schema_valid, row.fields.as_ref()), (None, None));
    let mut csv = Vec::new();
    store
        .export_responses(&ResponseQuery { dataset_id: dataset.id, ..Default::default() }, ExportFormat::Csv, &mut csv)
        .unwrap();
    assert!(String::from_utf8(csv).unwrap().lines().next().unwrap().ends_with(",cached,name"));
}

#[test]
fn assertions_are_kept_with_the_run_scored_per_answer_and_judges_cost_money() {
    let (_dir, mut store) = store();
    let (dataset_id, _) = schema_dataset(&mut store);
    let assertions: Vec<Assertion> = ["json", "range:/score:0:10", "judge:openai/gpt-4o-mini:Is it fair?"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    let bad = vec![Assertion::Regex { pattern: "(".into() }];
    let e = store.create_checked_run(dataset_id, None, false, None, &bad).unwrap_err();
    assert_eq!(e.code(), "invalid_assertion");
    assert!(store.unfinished_runs().unwrap().is_empty(), "a refused run leaves nothing behind");

    let run = store.create_checked_run(dataset_id, None, false, None, &assertions).unwrap();
    assert_eq!(store.run_assertions(run.run_id).unwrap(), assertions);
    let checker = Checker::new(&store.run_assertions(run.run_id).unwrap()).unwrap();
    let prices = PriceTable::defaults();
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        let text = match claimed.prompt.as_str() {
            "Rate: lovely" => r#"{"sentiment":"positive","score":9}"#,
            "Rate: awful" => r#"{"sentiment":"negative","score":11}"#,
            _ => "not json",
        };
        store.record_answer(&claimed, &answer(text)).unwrap();
        if claimed.prompt == "Rate: meh" {
            continue; // as a crash between storing and checking would leave it
        }
        let results: Vec<CheckResult> = checker
            .score_local(text)
            .into_iter()
            .zip(checker.assertions())
            .enumerate()
            .map(|(position, (outcome, assertion))| {
                let (outcome, judge) = match outcome {
                    Some(outcome) => (outcome, None),
                    None => (
                        assertion.judge_verdict("PASS\nfair"),
                        Some(JudgeUsage {
                            provider: "openai".into(),
                            model: "gpt-4o-mini".into(),
                            input_tokens: Some(1_000_000),
                            output_tokens: Some(0),
                        }),
                    ),
                };
                CheckResult {
                    position: position as u32,
                    assertion: assertion.to_string(),
                    passed: outcome.passed,
                    reason: outcome.reason,
                    judge,
                }
            })
            .collect();
        store.record_checks(run.run_id, claimed.request_id, &results).unwrap();
    }
    let unchecked = store.unchecked_answers(run.run_id).unwrap();
    assert_eq!(unchecked.len(), 1, "the answer left unchecked is found: {unchecked:?}");
    assert_eq!(unchecked[0].1, "not json");

    let checks = store.run_checks(run.run_id).unwrap();
    assert_eq!((checks.checked, checks.passed, checks.pass_rate), (2, 1, Some(0.5)));
    let range = &checks.assertions[1];
    assert_eq!((range.assertion.as_str(), range.passed, range.failed), ("range:/score:0:10", 1, 1));
    assert_eq!(checks.assertions[2].passed, 2, "the judge passed both");

    let rows = store.responses(&ResponseQuery { dataset_id, limit: 10, ..Default::default() }).unwrap().items;
    let awful = rows.iter().find(|r| r.record["review"] == "awful").unwrap();
    assert_eq!(awful.checks.as_ref().unwrap().len(), 3);
    assert_eq!(
        (awful.checks.as_ref().unwrap()[1].passed, awful.checks.as_ref().unwrap()[1].reason.as_str()),
        (Some(false), "11 is outside [0, 10]")
    );
    // Two judge calls of a million input tokens at gpt-4o-mini's list price, beside the answers' own tokens.
    let answers_only = 3.0 * prices.cost("openai", "gpt-4o-mini", 10, 5).unwrap();
    let judges = 2.0 * prices.cost("openai", "gpt-4o-mini", 1_000_000, 0).unwrap();
    let spent = store.run_cost_usd(run.run_id, &prices).unwrap();
    assert!((spent - (answers_only + judges)).abs() < 1e-9, "{spent} vs {}", answers_only + judges);

    let mut csv = Vec::new();
    store.export_responses(&ResponseQuery { dataset_id, ..Default::default() }, ExportFormat::Csv, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.lines().next().unwrap().contains(",valid,schema_errors,checks_passed,checks,score,sentiment"));
    assert!(
        csv.contains(",awful,false,/score: 11 is greater than the maximum of 10,false,\"PASS json (is JSON); FAIL range:/score:0:10 (11 is outside [0, 10]); PASS judge:"),
        "{csv}"
    );
}
