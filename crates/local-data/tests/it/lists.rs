//! The host's lists (`list_records`, `list_requests`, `list_responses`):
//! cursors as opaque tokens, tied to the list's filters, and a total that is
//! reused only while the database is unchanged, whichever connection wrote.

use local_data::{Answer, ModelTarget, RequestQuery, RequestStatus, ResponseQuery, Store};
use records::Format;

use crate::import;

/// A dataset of `rows` records with one pending request each, in a file
/// database (so a second connection can write to it).
fn requests(store: &mut Store, rows: usize) -> (i64, Vec<i64>) {
    let csv: String = std::iter::once("title\n".to_owned()).chain((0..rows).map(|i| format!("Book {i}\n"))).collect();
    let dataset = import(store, "books", Format::Csv, &csv).id;
    let template = store.create_template("t", "{{ title }}").unwrap();
    store.generate_requests(dataset, template.current.id, &[ModelTarget::new("openai", "m")]).unwrap();
    let all = RequestQuery { dataset_id: dataset, limit: 1000, ..Default::default() };
    let ids = store.list_requests(&all, None).unwrap().items.iter().map(|r| r.id).collect();
    (dataset, ids)
}

#[test]
fn a_total_is_counted_again_once_another_connection_or_this_one_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.sqlite");
    let mut app = Store::open(&path).unwrap();
    let (dataset, ids) = requests(&mut app, 9);
    let pending =
        RequestQuery { dataset_id: dataset, status: Some(RequestStatus::Pending), limit: 4, ..Default::default() };
    let first = app.list_requests(&pending, None).unwrap();
    assert_eq!(first.total, 9);
    let next = first.next_cursor.clone().unwrap();
    assert_eq!(app.list_requests(&pending, Some(&next)).unwrap().total, 9, "unchanged: the same total");

    // A run or the CLI writes through its own connection.
    let mut other = Store::open(&path).unwrap();
    other.set_request_status(&ids[..3], RequestStatus::Approved).unwrap();
    assert_eq!(app.list_requests(&pending, Some(&next)).unwrap().total, 6, "another connection's commit is seen");

    app.set_request_status(&ids[3..5], RequestStatus::Rejected).unwrap();
    assert_eq!(app.list_requests(&pending, None).unwrap().total, 4, "this connection's write is seen");
    let approved = RequestQuery { status: Some(RequestStatus::Approved), ..pending.clone() };
    assert_eq!(app.list_requests(&approved, None).unwrap().total, 3, "each filter has its own total");
}

#[test]
fn a_responses_cursor_holds_only_under_the_filters_it_was_taken_with() {
    let (_dir, mut store) = crate::store();
    let (dataset, ids) = requests(&mut store, 3);
    store.set_request_status(&ids, RequestStatus::Approved).unwrap();
    let run = store.create_run(dataset, None).unwrap();
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        let answer = Answer {
            text: format!("about {}", claimed.prompt),
            model: claimed.model.clone(),
            finish_reason: None,
            input_tokens: None,
            output_tokens: None,
        };
        store.record_answer(&claimed, &answer).unwrap();
    }
    let query = ResponseQuery { dataset_id: dataset, include_errors: true, limit: 1, ..Default::default() };
    let first = store.list_responses(&query, None).unwrap();
    assert_eq!((first.total, first.items.len()), (3, 1));
    let cursor = first.next_cursor.unwrap();
    let second = store.list_responses(&query, Some(&cursor)).unwrap();
    assert_eq!(second.items[0].text.as_deref(), Some("about Book 1"));

    for other in [
        ResponseQuery { tag: Some("x".into()), ..query.clone() },
        ResponseQuery { include_errors: false, ..query.clone() },
        ResponseQuery { target: Some(ModelTarget::new("openai", "m")), ..query.clone() },
    ] {
        let err = store.list_responses(&other, Some(&cursor)).unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{other:?}: {err}");
        assert!(err.to_string().contains("start again from the first page"), "{err}");
    }
    let requests_cursor =
        store.list_requests(&RequestQuery { dataset_id: dataset, limit: 1, ..Default::default() }, None);
    let err = store.list_responses(&query, requests_cursor.unwrap().next_cursor.as_deref()).unwrap_err();
    assert_eq!(err.code(), "invalid_input", "a requests cursor is not a responses position: {err}");

    let pending = RequestQuery { dataset_id: dataset, limit: 1, ..Default::default() };
    let err = store.list_responses(&ResponseQuery { offset: 1, ..query.clone() }, Some(&cursor)).unwrap_err();
    assert!(err.to_string().contains("not both"), "{err}");
    let deprecated = store.list_requests(&RequestQuery { offset: 1, ..pending }, None).unwrap();
    assert_eq!((deprecated.items[0].rendered.as_str(), deprecated.next_cursor), ("Book 1", None), "the offset page");
}
