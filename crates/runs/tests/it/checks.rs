//! Structured output and checks through the engine, against the fake
//! provider: the template's schema goes on the wire and into the cache key,
//! every answer is validated per record, and the run's assertions (a judge
//! included, whose call is counted) score each answer.

use std::path::Path;

use fake_provider::{FakeConfig, FakeProvider};
use local_data::{Assertion, ImportOptions, ModelTarget, RequestStatus, ResponseQuery, ResponseRow, Store};
use records::Format;
use runs::{Engine, RunOptions};

use crate::{PROVIDER, client, run};

const SCHEMA: &str = r#"{"type":"object","properties":{"label":{"type":"string"},"score":{"type":"integer","minimum":0,"maximum":10}},"required":["label","score"],"additionalProperties":false}"#;

/// A dataset `name` of three reviews (one answered with misfitting JSON, one
/// with text that is not JSON) and a template with `schema`, approved.
fn reviews(path: &Path, name: &str, schema: &str) -> i64 {
    let mut store = Store::open(path).unwrap();
    let jsonl = ["lovely", "awful [fake:misfit]", "meh [fake:not-json]"]
        .iter()
        .map(|r| format!("{}\n", serde_json::json!({ "review": r })))
        .collect::<String>();
    let dataset = store.import(jsonl.as_bytes(), &ImportOptions::new(name, Format::JsonLines), |_| {}).unwrap();
    let template =
        store.create_template_with_schema(&format!("rate {name}"), "Rate: {{ review }}", Some(schema)).unwrap();
    store.generate_requests(dataset.id, template.current.id, &[ModelTarget::new(PROVIDER, "gpt-4o-mini")]).unwrap();
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    dataset.id
}

fn responses(path: &Path, dataset: i64) -> Vec<ResponseRow> {
    let query = ResponseQuery { dataset_id: dataset, limit: 100, ..Default::default() };
    Store::open(path).unwrap().responses(&query).unwrap().items
}

fn by_review<'a>(rows: &'a [ResponseRow], review: &str) -> &'a ResponseRow {
    rows.iter().find(|r| r.record["review"].as_str().unwrap().starts_with(review)).unwrap()
}

#[tokio::test]
async fn answers_are_validated_per_record_and_scored_by_the_run_s_assertions() {
    let fake =
        FakeProvider::start(FakeConfig { reply: "PASS\nIt is fair.".into(), ..FakeConfig::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let dataset = reviews(&path, "reviews", SCHEMA);
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 1);
    let assertions: Vec<Assertion> = ["json", "range:/score:0:10", "judge:fake/gpt-4o-mini:Is it fair?"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();

    let progress = run(&engine, dataset, RunOptions { assertions, ..RunOptions::default() }).await;
    assert_eq!(progress.answered, 3);

    let chats: Vec<serde_json::Value> =
        fake.requests().iter().filter(|r| r.path == "/v1/chat/completions").map(|r| r.json().unwrap()).collect();
    let with_schema = chats.iter().filter(|c| c.get("response_format").is_some()).count();
    assert_eq!(with_schema, 3, "each record's request carried the schema");
    assert_eq!(chats.len(), 6, "and each answer went to the judge once, without it");
    let judged = chats.iter().find(|c| c.get("response_format").is_none()).unwrap();
    assert!(judged["messages"][0]["content"].as_str().unwrap().starts_with("Is it fair?"));

    let rows = responses(&path, dataset);
    let lovely = by_review(&rows, "lovely");
    assert_eq!(lovely.schema_valid, Some(true));
    assert_eq!(lovely.fields.as_ref().unwrap()["label"], "Rate: lovely");
    assert!(lovely.checks.as_ref().unwrap().iter().all(|c| c.passed == Some(true)), "{:?}", lovely.checks);
    let awful = by_review(&rows, "awful");
    assert_eq!(awful.schema_valid, Some(false));
    let paths: Vec<&str> = awful.schema_errors.as_ref().unwrap().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["/label", "/score"], "{:?}", awful.schema_errors);
    assert_eq!(awful.checks.as_ref().unwrap()[1].passed, Some(false), "a score that is not a number is out of range");
    let meh = by_review(&rows, "meh");
    assert_eq!(meh.schema_valid, Some(false));
    assert!(meh.schema_errors.as_ref().unwrap()[0].message.starts_with("the answer is not JSON"));
    assert_eq!(meh.checks.as_ref().unwrap()[0].passed, Some(false));

    let checks = Store::open(&path).unwrap().run_checks(progress.run_id).unwrap();
    assert_eq!((checks.checked, checks.passed), (3, 1));
    assert_eq!((checks.schema_valid, checks.schema_invalid), (1, 2));
    assert_eq!(checks.assertions[2].passed, 3, "the judge said PASS to each");
}

#[tokio::test]
async fn the_schema_is_part_of_the_cache_key() {
    let fake = FakeProvider::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 2);
    let chats = || fake.requests().iter().filter(|r| r.path == "/v1/chat/completions").count();

    let first = reviews(&path, "first", SCHEMA);
    run(&engine, first, RunOptions::default()).await;
    assert_eq!(chats(), 3);

    let other = SCHEMA.replace("\"maximum\":10", "\"maximum\":5");
    let second = reviews(&path, "second", &other);
    let progress = run(&engine, second, RunOptions::default()).await;
    assert_eq!(progress.cached, Some(0), "another schema is another question");
    assert_eq!(chats(), 6);

    let third = reviews(&path, "third", SCHEMA);
    let progress = run(&engine, third, RunOptions::default()).await;
    assert_eq!(progress.cached, Some(3), "the same schema and prompts are answered from the cache");
    assert_eq!(chats(), 6);
    let rows = responses(&path, third);
    assert_eq!(by_review(&rows, "awful").schema_valid, Some(false), "a cached answer is validated too");
}

/// A second identical run asks no provider, its judge included: the
/// judge's answers come from the AI cache, with the same verdicts.
#[tokio::test]
async fn a_second_identical_run_asks_the_judge_nothing() {
    let fake =
        FakeProvider::start(FakeConfig { reply: "PASS\nIt is fair.".into(), ..FakeConfig::default() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let engine = Engine::new(Store::open(&path).unwrap(), [client(&fake.base_url())], 2);
    let judged = || RunOptions {
        assertions: vec!["judge:fake/gpt-4o-mini:Is it fair?".parse().unwrap()],
        ..RunOptions::default()
    };

    let first = run(&engine, reviews(&path, "first", SCHEMA), judged()).await;
    let calls = fake.request_count();
    let second = run(&engine, reviews(&path, "second", SCHEMA), judged()).await;

    assert_eq!(fake.request_count(), calls, "no provider call the second time, for the answers or the judge");
    let store = Store::open(&path).unwrap();
    let (before, after) = (store.run_checks(first.run_id).unwrap(), store.run_checks(second.run_id).unwrap());
    assert_eq!((after.checked, after.passed), (before.checked, before.passed), "the same verdicts: {after:?}");
    assert_eq!(after.assertions[0].passed, 3, "{after:?}");
}
