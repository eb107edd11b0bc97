//! Keyset pages (issue 17, point 8): walking a list by `next` cursors, or
//! back from its end by `previous` cursors, meets every row exactly once and
//! in the order the offset pages give, with ties and empty values in the
//! sort column and under filters.

use local_data::{
    Answer, Failure, FieldFilter, FilterOp, KeysetPage, ModelTarget, PageStart, RecordQuery, RecordSort, RequestQuery,
    RequestSort, RequestSortColumn, RequestStatus, ResponseQuery, ResponseSort, ResponseSortColumn, Store,
};
use records::Format;

use crate::{import, store};

/// Every item's id, walking forward from the first page and then backward
/// from the last one; both must equal `expected` (the offset pages' order).
fn walk_both_ways<T>(
    expected: &[i64],
    id: impl Fn(&T) -> i64,
    mut page: impl FnMut(&PageStart) -> KeysetPage<T>,
    what: &str,
) {
    let mut forward = Vec::new();
    let mut start = PageStart::First;
    let last_page = loop {
        let got = page(&start);
        assert!(got.items.len() <= PAGE as usize, "{what}: a page holds at most the limit");
        forward.extend(got.items.iter().map(&id));
        if forward.len() > expected.len() {
            panic!("{what}: the forward walk repeats rows: {forward:?}");
        }
        match got.next {
            Some(next) => start = PageStart::After(next),
            None => break got,
        }
    };
    assert_eq!(forward, expected, "{what}: forward");

    // Backward: from the last page's `previous`, page by page to the first.
    let mut backward: Vec<Vec<i64>> = vec![last_page.items.iter().map(&id).collect()];
    let mut previous = last_page.previous;
    while let Some(cursor) = previous {
        let got = page(&PageStart::Before(cursor));
        assert!(!got.items.is_empty(), "{what}: a previous cursor leads to rows");
        assert!(got.next.is_some(), "{what}: a page before another has a next cursor");
        backward.push(got.items.iter().map(&id).collect());
        previous = got.previous;
        assert!(backward.len() <= expected.len() + 1, "{what}: the backward walk does not end");
    }
    let backward: Vec<i64> = backward.into_iter().rev().flatten().collect();
    assert_eq!(backward, expected, "{what}: backward");
}

const PAGE: u32 = 4;

/// 23 rows: `score` has ties, empty cells and a text cell among numbers;
/// `city` has ties in every value.
fn people(store: &mut Store) -> i64 {
    let mut csv = String::from("name,score,city\n");
    for i in 0..23 {
        let score = match i % 5 {
            0 => String::new(),
            1 => "7".to_owned(),
            2 => format!("{}", i % 3),
            3 => "7".to_owned(),
            _ => format!("{}.5", i % 4),
        };
        csv.push_str(&format!("person {i},{score},{}\n", ["Oslo", "lima", "Lima", "Rome"][i % 4]));
    }
    import(store, "people", Format::Csv, &csv).id
}

#[test]
fn record_pages_cover_every_record_once_both_ways_sorted_with_ties_and_filtered() {
    let (_dir, mut store) = store();
    let dataset_id = people(&mut store);
    let sorts = [
        None,
        Some(RecordSort { column: "score".into(), descending: false }),
        Some(RecordSort { column: "score".into(), descending: true }),
        Some(RecordSort { column: "city".into(), descending: false }),
        Some(RecordSort { column: "city".into(), descending: true }),
    ];
    let filters = [None, Some(FieldFilter { column: "city".into(), op: FilterOp::Contains, value: "LIM".into() })];
    for sort in &sorts {
        for filter in &filters {
            let query = RecordQuery { offset: 0, limit: 1000, filter: filter.clone(), sort: sort.clone() };
            let expected: Vec<i64> = store.records(dataset_id, &query).unwrap().items.iter().map(|r| r.id).collect();
            assert!(expected.len() >= 10, "the fixture spans several pages");
            let query = RecordQuery { limit: PAGE, ..query };
            walk_both_ways(
                &expected,
                |r: &local_data::RecordRow| r.id,
                |start| store.records_page(dataset_id, &query, start).unwrap(),
                &format!("records sorted {sort:?} filtered {filter:?}"),
            );
        }
    }
}

/// 12 records × 2 models, some approved, some rejected, one edited.
fn reviewed_requests(store: &mut Store) -> i64 {
    let titles: String = (0..12).map(|i| format!("{}\n", ["Dune", "cats", "Beloved"][i % 3])).collect();
    let dataset = import(store, "books", Format::Csv, &format!("title\n{titles}"));
    let template = store.create_template("ask", "About {{ title }}").unwrap();
    let targets = [ModelTarget::new("openai", "gpt-4o-mini"), ModelTarget::new("anthropic", "claude-3-5-haiku-latest")];
    assert_eq!(store.generate_requests(dataset.id, template.current.id, &targets).unwrap(), 24);
    let all = store.requests(&RequestQuery { dataset_id: dataset.id, limit: 100, ..Default::default() }).unwrap();
    let ids: Vec<i64> = all.items.iter().map(|r| r.id).collect();
    store.set_request_status(&ids[..9], RequestStatus::Approved).unwrap();
    store.set_request_status(&ids[15..18], RequestStatus::Rejected).unwrap();
    store.edit_request(ids[20], Some("about DUNE, edited")).unwrap();
    dataset.id
}

#[test]
fn request_pages_cover_every_request_once_both_ways_for_each_sort_and_filter() {
    let (_dir, mut store) = store();
    let dataset_id = reviewed_requests(&mut store);
    let columns = [
        RequestSortColumn::Record,
        RequestSortColumn::Model,
        RequestSortColumn::Text,
        RequestSortColumn::Status,
        RequestSortColumn::Answered,
    ];
    let mut sorts = vec![None];
    sorts.extend(
        columns.iter().flat_map(|&column| [false, true].map(|descending| Some(RequestSort { column, descending }))),
    );
    for sort in sorts {
        for status in [None, Some(RequestStatus::Pending)] {
            let query = RequestQuery { dataset_id, status, limit: 1000, sort, ..Default::default() };
            let expected: Vec<i64> = store.requests(&query).unwrap().items.iter().map(|r| r.id).collect();
            assert!(expected.len() >= 10);
            let query = RequestQuery { limit: PAGE, ..query };
            walk_both_ways(
                &expected,
                |r: &local_data::RequestRow| r.id,
                |start| store.requests_page(&query, start).unwrap(),
                &format!("requests sorted {sort:?} with status {status:?}"),
            );
        }
    }
}

#[test]
fn response_pages_cover_every_response_once_both_ways_with_missing_values() {
    let (_dir, mut store) = store();
    let dataset_id = reviewed_requests(&mut store);
    store.set_all_request_status(dataset_id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let run = store.create_run(dataset_id, None).unwrap();
    let mut n = 0;
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        n += 1;
        if n % 4 == 0 {
            let failure = Failure { code: "server_error".into(), message: "HTTP 503".into() };
            store.record_failure(&claimed, &failure).unwrap();
            continue;
        }
        let answer = Answer {
            // Ties: four distinct answers over 24 requests.
            text: "Yes. ".repeat(n % 3 + 1),
            model: claimed.model.clone(),
            finish_reason: Some("stop".into()),
            input_tokens: Some(10),
            output_tokens: (n % 2 == 0).then_some(5),
        };
        assert!(store.record_answer(&claimed, &answer).unwrap());
    }
    let columns = [
        ResponseSortColumn::Record,
        ResponseSortColumn::Model,
        ResponseSortColumn::Answer,
        ResponseSortColumn::Tokens,
        ResponseSortColumn::Group,
    ];
    let mut sorts = vec![None];
    sorts.extend(
        columns.iter().flat_map(|&column| [false, true].map(|descending| Some(ResponseSort { column, descending }))),
    );
    for sort in sorts {
        for include_errors in [true, false] {
            let query = ResponseQuery { dataset_id, include_errors, limit: 1000, sort, ..Default::default() };
            let expected: Vec<i64> = store.responses(&query).unwrap().items.iter().map(|r| r.response_id).collect();
            assert!(expected.len() >= 10);
            let query = ResponseQuery { limit: PAGE, ..query };
            walk_both_ways(
                &expected,
                |r: &local_data::ResponseRow| r.response_id,
                |start| store.responses_page(&query, start).unwrap(),
                &format!("responses sorted {sort:?}, errors included: {include_errors}"),
            );
        }
    }
}

#[test]
fn a_cursor_of_another_order_or_a_damaged_one_is_refused() {
    let (_dir, mut store) = store();
    let dataset_id = people(&mut store);
    let by_score = RecordQuery {
        offset: 0,
        limit: PAGE,
        filter: None,
        sort: Some(RecordSort { column: "score".into(), descending: false }),
    };
    let next = store.records_page(dataset_id, &by_score, &PageStart::First).unwrap().next.unwrap();
    let by_city = RecordQuery { sort: Some(RecordSort { column: "city".into(), descending: false }), ..by_score };
    let err = store.records_page(dataset_id, &by_city, &PageStart::After(next)).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert!(err.to_string().contains("first page"), "{err}");
    let damaged = PageStart::After(local_data::Cursor::from("{\"order\":\"records\",\"keys\":[1,2]}".to_owned()));
    let err = store.records_page(dataset_id, &RecordQuery { sort: None, ..by_city }, &damaged).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
}
