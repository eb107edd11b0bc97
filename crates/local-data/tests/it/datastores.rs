//! Data-store connections, datasets that remember their source, and what a
//! run writes back to it (schema 12, issue 19 point 1).

use local_data::{
    Answer, Error, ImportOptions, Insight, ModelTarget, NewDatasetSource, RequestStatus, ResponseQuery, Store,
};
use records::Format;
use serde_json::json;

use crate::store;

fn answer(text: &str, model: &str) -> Answer {
    Answer { text: text.into(), model: model.into(), finish_reason: None, input_tokens: None, output_tokens: None }
}

fn origin_source() -> serde_json::Value {
    json!({"kind": "nocodb", "base_url": "http://127.0.0.1:1/", "table_id": "m1"})
}

/// Imports `rows` (JSON Lines) as if fetched from connection `work`.
fn import_from_store(store: &mut Store, name: &str, rows: &str) -> local_data::Dataset {
    let source = origin_source();
    let mapping = json!({"keyColumn": "_key", "columns": [{"source": "title", "target": "title"}]});
    let origin = NewDatasetSource { connection: "work", source: &source, key_column: "_key", mapping: &mapping };
    store.import_from_datastore(rows.as_bytes(), &ImportOptions::new(name, Format::JsonLines), &origin, |_| {}).unwrap()
}

#[test]
fn connections_are_saved_replaced_listed_and_deleted_by_name() {
    let (_dir, mut store) = store();
    let first = store.save_datastore_connection("work", "nocodb", &origin_source()).unwrap();
    assert_eq!((first.name.as_str(), first.kind.as_str()), ("work", "nocodb"));
    let moved = json!({"kind": "nocodb", "base_url": "http://127.0.0.1:2/", "table_id": "m2"});
    let second = store.save_datastore_connection("work", "nocodb", &moved).unwrap();
    assert_eq!(second.source, moved, "saving under the same name replaces the source");
    assert_eq!(second.created_at, first.created_at);
    store.save_datastore_connection("base", "airtable", &json!({"kind": "airtable"})).unwrap();
    let names: Vec<String> = store.datastore_connections().unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["base", "work"]);

    let err = store.save_datastore_connection("x", "excel", &json!({})).unwrap_err();
    assert!(matches!(err, Error::Invalid { field: "kind", .. }), "{err}");

    assert!(store.delete_datastore_connection("work").unwrap());
    assert!(!store.delete_datastore_connection("work").unwrap());
    assert_eq!(store.datastore_connection("work").unwrap(), None);
}

#[test]
fn an_import_keeps_its_source_and_a_failed_one_keeps_neither() {
    let (_dir, mut store) = store();
    let dataset = import_from_store(&mut store, "books", "{\"_key\":\"1\",\"title\":\"Dune\"}\n");
    let origin = store.dataset_source(dataset.id).unwrap().expect("the dataset remembers its source");
    assert_eq!((origin.connection.as_str(), origin.key_column.as_str()), ("work", "_key"));
    assert_eq!(origin.source, origin_source());
    assert_eq!(origin.mapping["keyColumn"], "_key");

    // A malformed row half-way: no dataset, and no orphan source row either.
    let source = origin_source();
    let mapping = json!({});
    let from = NewDatasetSource { connection: "work", source: &source, key_column: "_key", mapping: &mapping };
    let broken = "{\"_key\":\"1\",\"title\":\"Dune\"}\n{not json\n";
    let result =
        store.import_from_datastore(broken.as_bytes(), &ImportOptions::new("half", Format::JsonLines), &from, |_| {});
    assert!(result.is_err());
    assert_eq!(store.datasets().unwrap().len(), 1, "no half dataset");
    assert_eq!(store.dataset_source(dataset.id + 1).unwrap(), None);
    // A plain file import has no source.
    let file = store.import("title\nEmma\n".as_bytes(), &ImportOptions::new("file", Format::Csv), |_| {}).unwrap();
    assert_eq!(store.dataset_source(file.id).unwrap(), None);
}

/// Three books with keys 1, 2, (none), answered by two models; the second
/// model answers Dune twice (two template versions).
fn answered_run(store: &mut Store) -> (i64, i64) {
    let rows =
        "{\"_key\":\"1\",\"title\":\"Dune\"}\n{\"_key\":2,\"title\":\"Emma\"}\n{\"_key\":null,\"title\":\"Watt\"}\n";
    let dataset = import_from_store(store, "books", rows);
    let template = store.create_template("genre", "Genre of {{ title }}?").unwrap();
    let targets = [ModelTarget::new("openai", "gpt-4o-mini"), ModelTarget::new("groq", "llama")];
    store.generate_requests(dataset.id, template.current.id, &targets).unwrap();
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let run = store.create_run(dataset.id, Some(template.current.id)).unwrap();
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        let text = format!("{} says {}", claimed.model, claimed.prompt);
        assert!(store.record_answer(&claimed, &answer(&text, &claimed.model)).unwrap());
    }
    (dataset.id, run.run_id)
}

#[test]
fn write_back_rows_give_each_keyed_record_its_answer_tags_and_note() {
    let (_dir, mut store) = store();
    let (dataset_id, run_id) = answered_run(&mut store);

    let err = store.write_back_rows(run_id, "_key", None).unwrap_err();
    assert!(err.to_string().contains("several models"), "{err}");
    assert!(err.to_string().contains("groq/llama, openai/gpt-4o-mini"), "{err}");
    let err = store.write_back_rows(run_id, "_key", Some(&ModelTarget::new("openai", "gpt-5"))).unwrap_err();
    assert!(err.to_string().contains("no answers from openai/gpt-5"), "{err}");

    let responses = store
        .responses(&ResponseQuery { dataset_id, limit: 100, include_errors: true, ..Default::default() })
        .unwrap()
        .items;
    let dune = responses.iter().find(|r| r.text.as_deref() == Some("gpt-4o-mini says Genre of Dune?")).unwrap();
    store.tag_responses(&[dune.response_id], "sci-fi").unwrap();
    store.tag_responses(&[dune.response_id], "classic").unwrap();
    let insight = Insight { tags: vec!["classic".into(), "sci-fi".into()], group: None, note: Some("Arrakis".into()) };
    store.set_insight(dune.response_id, &insight).unwrap();

    let openai = ModelTarget::new("openai", "gpt-4o-mini");
    let back = store.write_back_rows(run_id, "_key", Some(&openai)).unwrap();
    assert_eq!(back.target, openai);
    assert_eq!(back.without_key, 1, "Watt has no key");
    let rows: Vec<(&str, &str, Vec<&str>, Option<&str>)> = back
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.answer.as_str(), r.tags.iter().map(String::as_str).collect(), r.note.as_deref()))
        .collect();
    assert_eq!(
        rows,
        [
            ("1", "gpt-4o-mini says Genre of Dune?", vec!["classic", "sci-fi"], Some("Arrakis")),
            ("2", "gpt-4o-mini says Genre of Emma?", vec![], None),
        ],
        "a numeric key is written as its text; a record without a key is left out"
    );
}

#[test]
fn the_latest_answer_of_a_record_wins() {
    let (_dir, mut store) = store();
    let rows = "{\"_key\":\"1\",\"title\":\"Dune\"}\n";
    let dataset = import_from_store(&mut store, "books", rows);
    let first = store.create_template("genre", "Genre of {{ title }}?").unwrap();
    let second = store.add_template_version(first.id, "Kind of {{ title }}?").unwrap();
    let openai = [ModelTarget::new("openai", "gpt-4o-mini")];
    store.generate_requests(dataset.id, first.current.id, &openai).unwrap();
    store.generate_requests(dataset.id, second.id, &openai).unwrap();
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let run = store.create_run(dataset.id, None).unwrap();
    let mut answered = Vec::new();
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        store.record_answer(&claimed, &answer(&claimed.prompt, "gpt-4o-mini")).unwrap();
        answered.push(claimed.prompt);
    }
    assert_eq!(answered.len(), 2);
    let back = store.write_back_rows(run.run_id, "_key", None).unwrap();
    assert_eq!(back.rows.len(), 1, "one row per record, never one per answer");
    assert_eq!(back.rows[0].answer, answered[1], "the answer stored last");
}

#[test]
fn a_run_without_answers_or_unknown_is_refused() {
    let (_dir, store) = store();
    let err = store.write_back_rows(999, "_key", None).unwrap_err();
    assert!(matches!(err, Error::NotFound { kind: "run", .. }), "{err}");
}
