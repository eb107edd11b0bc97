//! The host's list calls (`Store::list_records`, `list_requests`,
//! `list_responses`, what the app's `dataset_records`, `list_requests` and
//! `list_responses` commands run) over 100,000 records, their requests and
//! answers: a 100-row page at the start vs one 99,000 rows in, by cursor, as
//! a ratio measured in the same run (goal: equal ± 20%), the deprecated
//! offset page at the same depth for contrast, and what the total costs: a
//! page after another connection wrote (the total counted again) vs a page
//! of an unchanged list (the total reused).
//!
//! ```text
//! cargo run -p local-data --release --example list_pages
//! ```

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use local_data::{
    FieldFilter, FilterOp, ImportOptions, ModelTarget, Page, RecordQuery, RecordSort, RequestQuery, RequestStatus,
    ResponseQuery, Store,
};
use records::Format;

const ROWS: u64 = 100_000;
/// The tables' page.
const PAGE: u32 = 100;
/// How deep the far page starts.
const DEEP: u64 = 99_000;
const RUNS: usize = 7;

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("data.sqlite");
    let csv = dir.path().join("rows.csv");
    write_csv(&csv, ROWS)?;
    let mut store = Store::open(&db)?;
    let dataset = store.import(std::fs::File::open(&csv)?, &ImportOptions::new("rows", Format::Csv), |_| {})?;
    let template = store.create_template("t", "Summarise {{ name }} of {{ city }}: {{ comment }}")?;
    let models = [ModelTarget::new("openai", "m")];
    ensure!(store.generate_requests(dataset.id, template.current.id, &models)? == ROWS, "generation");
    answer_every_request(&db, dataset.id)?;
    // The writer: a run storing answers, or the CLI, through its own connection.
    let mut writer = Store::open(&db)?;
    let first_request =
        store.list_requests(&RequestQuery { dataset_id: dataset.id, limit: 1, ..Default::default() }, None)?;
    let touch = first_request.items[0].id;

    println!(
        "| list ({ROWS} rows, pages of {PAGE}) | page 1 | page at row {DEEP} | ratio | offset page at row {DEEP} | page 1 after a write (total counted) | equal ± 20% |"
    );
    println!("|---|---|---|---|---|---|---|");
    let records = |query: RecordQuery| {
        move |store: &Store, cursor: Option<&str>, limit: u32| {
            store.list_records(dataset.id, &RecordQuery { limit, ..query.clone() }, cursor)
        }
    };
    let record_query = RecordQuery { offset: 0, limit: PAGE, filter: None, sort: None };
    let city = FieldFilter { column: "city".into(), op: FilterOp::Contains, value: "city 1".into() };
    let rows: Vec<(&str, Box<List<'static>>, Box<OffsetPage>)> = vec![
        ("records, file order", erase(records(record_query.clone())), offset_records(dataset.id, record_query.clone())),
        (
            "records, sorted by score (desc)",
            erase(records(RecordQuery {
                sort: Some(RecordSort { column: "score".into(), descending: true }),
                ..record_query.clone()
            })),
            offset_records(
                dataset.id,
                RecordQuery {
                    sort: Some(RecordSort { column: "score".into(), descending: true }),
                    ..record_query.clone()
                },
            ),
        ),
        (
            "records, filtered (city contains \"city 1\": 11%)",
            erase(records(RecordQuery { filter: Some(city.clone()), ..record_query.clone() })),
            offset_records(dataset.id, RecordQuery { filter: Some(city), ..record_query.clone() }),
        ),
        (
            "requests, status pending",
            erase({
                let query = RequestQuery {
                    dataset_id: dataset.id,
                    status: Some(RequestStatus::Pending),
                    limit: PAGE,
                    ..Default::default()
                };
                move |store: &Store, cursor: Option<&str>, limit: u32| {
                    store.list_requests(&RequestQuery { limit, ..query.clone() }, cursor)
                }
            }),
            Box::new(move |store: &Store, offset| {
                let query = RequestQuery {
                    dataset_id: dataset.id,
                    status: Some(RequestStatus::Pending),
                    limit: PAGE,
                    offset,
                    ..Default::default()
                };
                Ok(store.list_requests(&query, None)?.items.len())
            }),
        ),
        (
            "responses, errors included",
            erase({
                let query =
                    ResponseQuery { dataset_id: dataset.id, include_errors: true, limit: PAGE, ..Default::default() };
                move |store: &Store, cursor: Option<&str>, limit: u32| {
                    store.list_responses(&ResponseQuery { limit, ..query.clone() }, cursor)
                }
            }),
            Box::new(move |store: &Store, offset| {
                let query = ResponseQuery {
                    dataset_id: dataset.id,
                    include_errors: true,
                    limit: PAGE,
                    offset,
                    ..Default::default()
                };
                Ok(store.list_responses(&query, None)?.items.len())
            }),
        ),
    ];
    for (name, list, offset_page) in rows {
        let first = list(&store, None, PAGE)?;
        let deep = cursor_at(&store, &*list, DEEP)?;
        let (total, full) = (first.total, first.items.len());
        let page_at = |cursor: Option<&str>| -> anyhow::Result<Duration> {
            median(|| {
                let page = list(&store, cursor, PAGE)?;
                ensure!(
                    !page.items.is_empty() && page.items.len() <= full && page.total == total,
                    "{name}: a page changed"
                );
                Ok(())
            })
        };
        let (start, far) = (page_at(None)?, page_at(deep.as_deref())?);
        let offset = median(|| {
            ensure!(
                offset_page(&store, DEEP.min(total.saturating_sub(u64::from(PAGE))))? > 0,
                "{name}: an empty offset page"
            );
            Ok(())
        })?;
        // Another connection writes (a no-op edit still commits), so the next page counts again.
        let after_write = median_with_setup(
            || Ok(writer.set_request_status(&[touch], RequestStatus::Pending).map(|_| ())?),
            || Ok(list(&store, None, PAGE).map(|_| ())?),
        )?;
        let ratio = far.as_secs_f64() / start.as_secs_f64();
        println!(
            "| {name} ({total} match) | {} | {} | {ratio:.2}× | {} | {} | {} |",
            millis(start),
            millis(far),
            millis(offset),
            millis(after_write),
            if (0.8..=1.2).contains(&ratio) { "met" } else { "**not met**" },
        );
    }
    Ok(())
}

type List<'a> = dyn Fn(&Store, Option<&str>, u32) -> Result<Page<serde_json::Value>, local_data::Error> + 'a;
type OffsetPage = dyn Fn(&Store, u64) -> anyhow::Result<usize>;

/// A list call with its rows as JSON, so the lists of every kind fit one table.
fn erase<T: serde::Serialize + 'static>(
    list: impl Fn(&Store, Option<&str>, u32) -> Result<Page<T>, local_data::Error> + 'static,
) -> Box<List<'static>> {
    Box::new(move |store, cursor, limit| {
        let page = list(store, cursor, limit)?;
        let items = page.items.iter().map(|item| serde_json::to_value(item).unwrap_or_default()).collect();
        Ok(Page { total: page.total, items, next_cursor: page.next_cursor, previous_cursor: page.previous_cursor })
    })
}

fn offset_records(dataset_id: i64, query: RecordQuery) -> Box<OffsetPage> {
    Box::new(move |store, offset| {
        Ok(store.list_records(dataset_id, &RecordQuery { offset, ..query.clone() }, None)?.items.len())
    })
}

/// The cursor of the page that starts `row` rows in (walked in pages of
/// 1,000: a cursor does not depend on the page size); `None` for row 0.
fn cursor_at(store: &Store, list: &List<'_>, row: u64) -> anyhow::Result<Option<String>> {
    let mut seen = 0u64;
    let mut cursor: Option<String> = None;
    let total = list(store, None, PAGE)?.total;
    let target = row.min(total.saturating_sub(u64::from(PAGE)));
    while seen < target {
        let limit = u32::try_from((target - seen).min(1000))?;
        let page = list(store, cursor.as_deref(), limit)?;
        seen += page.items.len() as u64;
        cursor = Some(page.next_cursor.context("the list ended early")?);
    }
    Ok(cursor)
}

fn median(f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    median_with_setup(|| Ok(()), f)
}

/// The median time of `f`, each run right after an untimed `setup`.
fn median_with_setup(
    mut setup: impl FnMut() -> anyhow::Result<()>,
    mut f: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Duration> {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        setup()?;
        let started = Instant::now();
        f()?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[RUNS / 2])
}

/// One answer per request, written directly (how fast answers are stored is the runs benchmark's).
fn answer_every_request(db: &Path, dataset_id: i64) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(db)?;
    conn.execute_batch(&format!(
        "BEGIN;
         INSERT INTO runs (id, status, created_at) VALUES (1, 'completed', 0);
         INSERT INTO responses (request_id, run_id, text, model, input_tokens, output_tokens, started_at, finished_at)
             SELECT id, 1, 'An answer for request ' || id, model, 40, 25, 0, 1000
             FROM requests WHERE dataset_id = {dataset_id};
         COMMIT;"
    ))?;
    Ok(())
}

fn write_csv(path: &Path, rows: u64) -> anyhow::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "id,name,score,comment,city")?;
    for i in 0..rows {
        writeln!(out, "{i},name {i},{}.5,a comment about row {i} with a few more words,City {}", i % 1000, i % 97)?;
    }
    out.flush()?;
    Ok(())
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
