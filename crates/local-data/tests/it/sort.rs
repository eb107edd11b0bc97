//! The paged tables sort in SQL over the whole query (issue 16, point 3):
//! records by any column, requests and responses by a whitelisted column.

use local_data::{
    Answer, ExportFormat, Failure, FieldFilter, FilterOp, Insight, ModelTarget, RecordQuery, RecordSort, RequestQuery,
    RequestSort, RequestSortColumn, RequestStatus, ResponseQuery, ResponseSort, ResponseSortColumn, Store,
};
use records::Format;
use serde_json::{Value, json};

use crate::{import, store};

fn sorted(column: &str, descending: bool) -> Option<RecordSort> {
    Some(RecordSort { column: column.into(), descending })
}

/// One column of a sorted page of records.
fn column_of(store: &Store, dataset_id: i64, sort: Option<RecordSort>, column: &str) -> Vec<Value> {
    let query = RecordQuery { offset: 0, limit: 100, filter: None, sort };
    store.records(dataset_id, &query).unwrap().items.into_iter().map(|r| r.fields[column].clone()).collect()
}

#[test]
fn csv_numbers_sort_by_value_and_empty_cells_last_both_ways() {
    let (_dir, mut store) = store();
    // CSV cells are stored as text: "100" < "9" as text, so this fails unless they are typed.
    let dataset = import(&mut store, "scores", Format::Csv, "name,score\nbob,10\nAda,9\ncarl,\ndan,100\nEve,2.5\n");
    assert_eq!(
        column_of(&store, dataset.id, sorted("score", false), "score"),
        [json!(2.5), json!(9.0), json!(10.0), json!(100.0), json!(null)]
    );
    assert_eq!(
        column_of(&store, dataset.id, sorted("score", true), "score"),
        [json!(100.0), json!(10.0), json!(9.0), json!(2.5), json!(null)],
        "descending keeps the empty cell last"
    );
    assert_eq!(
        column_of(&store, dataset.id, sorted("name", false), "name"),
        [json!("Ada"), json!("bob"), json!("carl"), json!("dan"), json!("Eve")],
        "text ignores ASCII case (as bytes, `Eve` would come second)"
    );
    assert_eq!(
        column_of(&store, dataset.id, None, "name"),
        [json!("bob"), json!("Ada"), json!("carl"), json!("dan"), json!("Eve")],
        "no sort: file order"
    );
}

#[test]
fn an_edited_text_cell_in_a_number_column_sorts_as_text_not_as_zero() {
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "scores", Format::Csv, "id,score\n0,10\n1,-3\n2,\n3,7\n");
    let first = store.records(dataset.id, &RecordQuery { offset: 0, limit: 1, filter: None, sort: None }).unwrap();
    store.update_record_field(first.items[0].id, "score", json!("n/a")).unwrap();
    assert_eq!(
        column_of(&store, dataset.id, sorted("score", false), "score"),
        [json!(-3), json!(7), json!("n/a"), json!(null)],
        "numbers, then text, then the empty cell"
    );
}

#[test]
fn csv_booleans_sort_false_before_true_whatever_their_case() {
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "flags", Format::Csv, "id,on\n1,TRUE\n2,false\n3,True\n4,FALSE\n");
    assert_eq!(column_of(&store, dataset.id, sorted("on", false), "id"), [json!(2), json!(4), json!(1), json!(3)]);
}

#[test]
fn typed_json_cells_sort_numbers_before_text_with_null_and_missing_last() {
    let (_dir, mut store) = store();
    let rows = json!([
        { "id": 0, "v": 10 },
        { "id": 1, "v": "apple" },
        { "id": 2, "v": null },
        { "id": 3 },
        { "id": 4, "v": 9.5 },
        { "id": 5, "v": "Banana" },
        { "id": 6, "v": -1 },
    ]);
    let dataset = import(&mut store, "mixed", Format::Json, &rows.to_string());
    assert_eq!(
        column_of(&store, dataset.id, sorted("v", false), "id"),
        [json!(6), json!(4), json!(0), json!(1), json!(5), json!(2), json!(3)],
        "numbers by value, then text, then null and missing in file order"
    );
    assert_eq!(
        column_of(&store, dataset.id, sorted("v", true), "id"),
        [json!(5), json!(1), json!(0), json!(4), json!(6), json!(2), json!(3)],
        "reversed, but null and missing still last and still in file order"
    );
}

#[test]
fn equal_values_keep_file_order_so_pages_neither_repeat_nor_skip() {
    let (_dir, mut store) = store();
    let mut csv = String::from("n,bucket\n");
    for n in 0..25 {
        csv.push_str(&format!("{n},{}\n", ["b", "a", "c"][n % 3]));
    }
    let dataset = import(&mut store, "buckets", Format::Csv, &csv);
    for descending in [false, true] {
        let mut seen: Vec<(String, u64)> = Vec::new();
        for offset in (0..25).step_by(4) {
            let query = RecordQuery { offset, limit: 4, filter: None, sort: sorted("bucket", descending) };
            let page = store.records(dataset.id, &query).unwrap();
            assert_eq!(page.total, 25);
            seen.extend(page.items.iter().map(|r| (r.fields["bucket"].as_str().unwrap().to_owned(), r.position)));
        }
        let mut expected = seen.clone();
        // Buckets in the asked direction; within one, positions ascending.
        expected.sort_by(|a, b| (if descending { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) }).then(a.1.cmp(&b.1)));
        assert_eq!(seen, expected, "descending: {descending}");
        let mut positions: Vec<u64> = seen.iter().map(|s| s.1).collect();
        positions.sort_unstable();
        assert_eq!(positions, (0..25).collect::<Vec<u64>>(), "every record exactly once over the pages");
    }
}

#[test]
fn sort_and_filter_work_together() {
    let (_dir, mut store) = store();
    let dataset = import(
        &mut store,
        "cities",
        Format::Csv,
        "city,country,people\nParis,France,2100000\nLyon,France,520000\nBerlin,Germany,3600000\nNice,France,340000\n",
    );
    let query = RecordQuery {
        offset: 0,
        limit: 2,
        filter: Some(FieldFilter { column: "country".into(), op: FilterOp::Equals, value: "France".into() }),
        sort: sorted("people", false),
    };
    let page = store.records(dataset.id, &query).unwrap();
    assert_eq!(page.total, 3, "the total counts the filter's matches");
    let cities: Vec<_> = page.items.iter().map(|r| r.fields["city"].clone()).collect();
    assert_eq!(cities, [json!("Nice"), json!("Lyon")], "Berlin is filtered out before sorting");
    let next = store.records(dataset.id, &RecordQuery { offset: 2, ..query }).unwrap();
    assert_eq!(next.items.len(), 1);
    assert_eq!(next.items[0].fields["city"], json!("Paris"));
}

#[test]
fn an_unknown_sort_column_is_refused_naming_the_columns() {
    let (_dir, mut store) = store();
    let dataset = import(&mut store, "cities", Format::Csv, "city,country\nParis,France\n");
    let query = RecordQuery { offset: 0, limit: 10, filter: None, sort: sorted("population", false) };
    let err = store.records(dataset.id, &query).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    let message = err.to_string();
    assert!(message.contains("no column `population` to sort by"), "{message}");
    assert!(message.contains("`city`, `country`"), "the message says which columns exist: {message}");
}

#[test]
fn column_names_that_look_like_sql_or_json_paths_are_plain_names() {
    let (_dir, mut store) = store();
    // Each name would change the query if it were spliced into SQL or a JSON path.
    let hostile = "x') DESC; DROP TABLE records; --";
    let rows = json!([
        { "a": 1, "a.b": 30, "$": "c", "say \"hi\"": 2, "back\\slash": 2, hostile: "b" },
        { "a": 2, "a.b": 10, "$": "a", "say \"hi\"": 1, "back\\slash": 3, hostile: "c" },
        { "a": 3, "a.b": 20, "$": "b", "say \"hi\"": 3, "back\\slash": 1, hostile: "a" },
    ]);
    let dataset = import(&mut store, "odd names", Format::Json, &rows.to_string());
    let order = |column: &str| column_of(&store, dataset.id, sorted(column, false), "a");
    assert_eq!(order("a.b"), [json!(2), json!(3), json!(1)], "`a.b` is its own column, not a path into `a`");
    assert_eq!(order("$"), [json!(2), json!(3), json!(1)]);
    assert_eq!(order("say \"hi\""), [json!(2), json!(1), json!(3)]);
    assert_eq!(order("back\\slash"), [json!(3), json!(1), json!(2)]);
    assert_eq!(order(hostile), [json!(3), json!(1), json!(2)]);

    for unknown in ["a' OR '1'='1", "a\") --", "$.a", "a; DROP TABLE records"] {
        let query = RecordQuery { offset: 0, limit: 10, filter: None, sort: sorted(unknown, false) };
        let err = store.records(dataset.id, &query).unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{unknown}: {err}");
    }
    assert_eq!(
        store.records(dataset.id, &RecordQuery { offset: 0, limit: 10, filter: None, sort: None }).unwrap().total,
        3
    );
}

/// Three records, one request per record and model; `Some` answers each with that many output tokens.
fn books(store: &mut Store) -> i64 {
    let dataset = import(store, "books", Format::Csv, "title\nDune\ncats\nBeloved\n");
    let template = store.create_template("ask", "About {{ title }}").unwrap();
    let targets = [ModelTarget::new("openai", "gpt-4o-mini"), ModelTarget::new("anthropic", "claude-3-5-haiku-latest")];
    assert_eq!(store.generate_requests(dataset.id, template.current.id, &targets).unwrap(), 6);
    dataset.id
}

fn requests_by(store: &Store, dataset_id: i64, column: RequestSortColumn, descending: bool) -> Vec<(String, String)> {
    let query =
        RequestQuery { dataset_id, limit: 100, sort: Some(RequestSort { column, descending }), ..Default::default() };
    store.requests(&query).unwrap().items.into_iter().map(|r| (r.prompt().to_owned(), r.provider)).collect()
}

#[test]
fn requests_sort_by_a_whitelisted_column_with_ties_in_record_order() {
    let (_dir, mut store) = store();
    let dataset_id = books(&mut store);
    let pair = |title: &str, provider: &str| (format!("About {title}"), provider.to_owned());

    assert_eq!(
        requests_by(&store, dataset_id, RequestSortColumn::Text, false),
        [
            pair("Beloved", "openai"),
            pair("Beloved", "anthropic"),
            pair("cats", "openai"),
            pair("cats", "anthropic"),
            pair("Dune", "openai"),
            pair("Dune", "anthropic"),
        ],
        "text ignoring case (as bytes, `cats` would come last); one record's two models in id order"
    );
    assert_eq!(
        requests_by(&store, dataset_id, RequestSortColumn::Record, true),
        [
            pair("Beloved", "openai"),
            pair("Beloved", "anthropic"),
            pair("cats", "openai"),
            pair("cats", "anthropic"),
            pair("Dune", "openai"),
            pair("Dune", "anthropic"),
        ]
    );
    assert_eq!(
        requests_by(&store, dataset_id, RequestSortColumn::Model, false),
        [
            pair("Dune", "anthropic"),
            pair("cats", "anthropic"),
            pair("Beloved", "anthropic"),
            pair("Dune", "openai"),
            pair("cats", "openai"),
            pair("Beloved", "openai"),
        ]
    );

    let all = store.requests(&RequestQuery { dataset_id, limit: 100, ..Default::default() }).unwrap().items;
    store.set_request_status(&[all[5].id], RequestStatus::Rejected).unwrap();
    store.set_request_status(&[all[0].id], RequestStatus::Approved).unwrap();
    let statuses = |descending| {
        let query = RequestQuery {
            dataset_id,
            limit: 100,
            sort: Some(RequestSort { column: RequestSortColumn::Status, descending }),
            ..Default::default()
        };
        store.requests(&query).unwrap().items.into_iter().map(|r| (r.status, r.id)).collect::<Vec<_>>()
    };
    let pending: Vec<_> = all[1..5].iter().map(|r| (RequestStatus::Pending, r.id)).collect();
    let mut expected = pending.clone();
    expected.extend([(RequestStatus::Approved, all[0].id), (RequestStatus::Rejected, all[5].id)]);
    assert_eq!(statuses(false), expected, "review order, not alphabetical");
    let mut expected = vec![(RequestStatus::Rejected, all[5].id), (RequestStatus::Approved, all[0].id)];
    expected.extend(pending);
    assert_eq!(statuses(true), expected, "descending reverses the statuses, not the ties");

    // A sort with a filter, paged: the filter still applies and pages join up.
    let page = |offset| {
        let query = RequestQuery {
            dataset_id,
            status: Some(RequestStatus::Pending),
            offset,
            limit: 3,
            sort: Some(RequestSort { column: RequestSortColumn::Text, descending: true }),
            ..Default::default()
        };
        store.requests(&query).unwrap()
    };
    let (first, second) = (page(0), page(3));
    assert_eq!(first.total, 4);
    let texts: Vec<_> = first.items.iter().chain(&second.items).map(|r| (r.prompt().to_owned(), r.id)).collect();
    assert_eq!(
        texts,
        [
            ("About Dune".to_owned(), all[1].id),
            ("About cats".to_owned(), all[2].id),
            ("About cats".to_owned(), all[3].id),
            ("About Beloved".to_owned(), all[4].id),
        ]
    );
}

/// Answers every request: record `i`'s answer has `i + 1` sentences, the
/// later records took less time (whole seconds apart, so the test's own
/// pace cannot reorder them), and anthropic fails on the second record.
fn answered_books(store: &mut Store) -> i64 {
    let dataset_id = books(store);
    store.set_all_request_status(dataset_id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let run = store.create_run(dataset_id, None).unwrap();
    while let Some(mut claimed) = store.claim_next(run.run_id).unwrap() {
        let index = ["Dune", "cats", "Beloved"].iter().position(|t| claimed.prompt.ends_with(t)).unwrap();
        claimed.started_at -= 1000 * ((3 - index as i64) * 2 + i64::from(claimed.provider == "openai"));
        if index == 1 && claimed.provider == "anthropic" {
            let failure = Failure { code: "server_error".into(), message: "HTTP 503".into() };
            store.record_failure(&claimed, &failure).unwrap();
            continue;
        }
        let answer = Answer {
            text: "Yes. ".repeat(index + 1),
            model: claimed.model.clone(),
            finish_reason: Some("stop".into()),
            input_tokens: Some(10),
            output_tokens: (claimed.provider == "openai").then_some(index as u32 * 10),
        };
        assert!(store.record_answer(&claimed, &answer).unwrap());
    }
    dataset_id
}

/// (record position, provider) of each response in the order `sort` gives.
fn responses_by(store: &Store, dataset_id: i64, sort: Option<ResponseSort>) -> Vec<(u64, String)> {
    let query = ResponseQuery { dataset_id, include_errors: true, limit: 100, sort, ..Default::default() };
    store.responses(&query).unwrap().items.into_iter().map(|r| (r.record_position, r.provider)).collect()
}

fn by(column: ResponseSortColumn, descending: bool) -> Option<ResponseSort> {
    Some(ResponseSort { column, descending })
}

#[test]
fn responses_sort_by_a_whitelisted_column_with_missing_values_last() {
    let (_dir, mut store) = store();
    let dataset_id = answered_books(&mut store);
    let r = |position: u64, provider: &str| (position, provider.to_owned());
    assert_eq!(
        responses_by(&store, dataset_id, None),
        [r(0, "anthropic"), r(0, "openai"), r(1, "anthropic"), r(1, "openai"), r(2, "anthropic"), r(2, "openai")],
        "record order, then model"
    );
    assert_eq!(
        responses_by(&store, dataset_id, by(ResponseSortColumn::AnswerLength, true)),
        [r(2, "anthropic"), r(2, "openai"), r(1, "openai"), r(0, "anthropic"), r(0, "openai"), r(1, "anthropic")],
        "longest first, the failed request (no answer) last"
    );
    assert_eq!(
        responses_by(&store, dataset_id, by(ResponseSortColumn::AnswerLength, false)),
        [r(0, "anthropic"), r(0, "openai"), r(1, "openai"), r(2, "anthropic"), r(2, "openai"), r(1, "anthropic")],
        "shortest first, the failed request still last"
    );
    assert_eq!(
        responses_by(&store, dataset_id, by(ResponseSortColumn::Latency, false)),
        [r(2, "anthropic"), r(2, "openai"), r(1, "anthropic"), r(1, "openai"), r(0, "anthropic"), r(0, "openai")],
    );
    // openai: 10 + 0, 10 + 10, 10 + 20 tokens; anthropic: 10 + unknown; the failure: none.
    assert_eq!(
        responses_by(&store, dataset_id, by(ResponseSortColumn::Tokens, true)),
        [r(2, "openai"), r(1, "openai"), r(0, "anthropic"), r(0, "openai"), r(2, "anthropic"), r(1, "anthropic")],
    );
    let query = RequestQuery {
        dataset_id,
        limit: 100,
        sort: Some(RequestSort { column: RequestSortColumn::Answered, descending: false }),
        ..Default::default()
    };
    let requests = store.requests(&query).unwrap().items;
    let answered: Vec<_> = requests.iter().map(|q| (q.prompt(), q.provider.as_str(), q.answered)).collect();
    assert_eq!(answered[0], ("About cats", "anthropic", false), "the failed request first: {answered:?}");
    assert!(answered[1..].iter().all(|a| a.2), "{answered:?}");

    assert_eq!(
        responses_by(&store, dataset_id, by(ResponseSortColumn::Model, true)),
        [r(0, "openai"), r(1, "openai"), r(2, "openai"), r(0, "anthropic"), r(1, "anthropic"), r(2, "anthropic")],
    );

    let all = store.responses(&ResponseQuery { dataset_id, include_errors: true, limit: 100, ..Default::default() });
    let all = all.unwrap().items;
    let mut group = |response: usize, name: &str| {
        let insight = Insight { tags: vec![], group: Some(name.into()), note: None };
        store.set_insight(all[response].response_id, &insight).unwrap();
    };
    group(5, "alpha");
    group(0, "Beta");
    assert_eq!(
        responses_by(&store, dataset_id, by(ResponseSortColumn::Group, true)),
        [r(0, "anthropic"), r(2, "openai"), r(0, "openai"), r(1, "anthropic"), r(1, "openai"), r(2, "anthropic")],
        "groups ignore case, ungrouped last even descending"
    );
}

#[test]
fn an_export_follows_the_sort_and_keeps_its_order_without_one() {
    let (_dir, mut store) = store();
    let dataset_id = answered_books(&mut store);
    let response_ids = |sort| {
        let query = ResponseQuery { dataset_id, include_errors: true, limit: 1, sort, ..Default::default() };
        let mut out = Vec::new();
        store.export_responses(&query, ExportFormat::Json, &mut out).unwrap();
        let rows: Vec<Value> = serde_json::from_slice(&out).unwrap();
        rows.iter().map(|row| row["response_id"].as_i64().unwrap()).collect::<Vec<_>>()
    };
    let listed = |sort| {
        let query = ResponseQuery { dataset_id, include_errors: true, limit: 100, sort, ..Default::default() };
        store.responses(&query).unwrap().items.iter().map(|r| r.response_id).collect::<Vec<_>>()
    };
    assert_eq!(response_ids(None), listed(None));
    let latest_first = by(ResponseSortColumn::Record, true);
    assert_eq!(response_ids(latest_first), listed(latest_first));
    assert_ne!(response_ids(latest_first), response_ids(None));
}
