//! The Databricks connector against the fake warehouse on loopback: chunked
//! results read once each with their types, polling, auth failures that leak
//! no token, 429 waited out, idempotent write-back with created columns, a
//! failed statement mid-write-back, and table names carrying SQL refused
//! before any request.
#![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

use std::collections::BTreeSet;

use datastores::databricks::{self, Polling};
use datastores::{Connector, Credential, Error, Secret, Source, WriteRow};
use fake_datastores::Served;
use fake_datastores::databricks::{Config, FakeDatabricks};
use serde_json::{Value, json};
use test_support::CapturedLogs;

const TABLE: &str = "main.crm.people";

fn people(count: usize) -> Vec<Vec<Option<String>>> {
    (1..=count)
        .map(|i| {
            vec![
                Some(i.to_string()),
                Some(format!("person {i}")),
                Some(format!("{}.5", i)),
                Some((i % 2 == 0).to_string()),
                Some(format!("{i}.25")),
                (i % 3 != 0).then(|| format!("note {i}")),
            ]
        })
        .collect()
}

const COLUMNS: [(&str, &str); 6] = [
    ("id", "BIGINT"),
    ("name", "STRING"),
    ("score", "DOUBLE"),
    ("active", "BOOLEAN"),
    ("price", "DECIMAL(10,2)"),
    ("note", "STRING"),
];

async fn warehouse(config: Config, rows: usize) -> (FakeDatabricks, Served) {
    let fake = FakeDatabricks::new(config);
    fake.add_table(TABLE, &COLUMNS, people(rows));
    let served = fake.start().await.unwrap();
    (fake, served)
}

fn source(served: &Served, fake: &FakeDatabricks, table: &str) -> databricks::Table {
    databricks::Table {
        host: served.url().parse().unwrap(),
        warehouse_id: fake.config().warehouse_id.clone(),
        table: table.to_owned(),
        key_column: "id".to_owned(),
    }
}

/// Polls quickly, so tests spend little time waiting on the fake's states.
fn client(served: &Served, fake: &FakeDatabricks, token: &str) -> Connector {
    let table = source(served, fake, TABLE);
    let polling = Polling { first_wait: std::time::Duration::from_millis(5), ..Polling::default() };
    Connector::Databricks(databricks::Client::new(table, Credential(Secret::new(token))).unwrap().with_polling(polling))
}

fn count(fake: &FakeDatabricks, path_part: &str) -> usize {
    fake.requests().iter().filter(|r| r.path.contains(path_part)).count()
}

/// Fails if chunks after the first are not fetched (`next_chunk_index`
/// ignored: 7 rows), a chunk is fetched twice, or values stay JSON_ARRAY text.
#[tokio::test]
async fn many_chunks_yield_every_row_once_with_types_converted() {
    let (fake, served) = warehouse(Config { rows_per_chunk: 7, ..Config::default() }, 50).await;
    let connector = client(&served, &fake, &fake.config().token);

    let mut rows = Vec::new();
    let total = connector
        .pages(|page| {
            rows.extend(page);
            Ok::<(), String>(())
        })
        .await
        .unwrap();

    assert_eq!(total, 50);
    let keys: BTreeSet<u64> = rows.iter().map(|r| r.key.parse().unwrap()).collect();
    assert_eq!(keys, (1..=50).collect(), "every row exactly once");
    assert_eq!(rows.len(), 50);
    let third = rows.iter().find(|r| r.key == "3").unwrap();
    assert_eq!(third.fields["id"], json!(3));
    assert_eq!(third.fields["name"], json!("person 3"));
    assert_eq!(third.fields["score"], json!(3.5));
    assert_eq!(third.fields["active"], json!(false));
    assert_eq!(third.fields["price"], json!(3.25));
    assert_eq!(third.fields["note"], Value::Null);
    assert_eq!(count(&fake, "/result/chunks/"), 7, "8 chunks: the first with the statement, 7 fetched");

    let columns = connector.columns().await.unwrap();
    assert_eq!(columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), COLUMNS.map(|c| c.0));
    assert_eq!(columns[4].service_type, "DECIMAL(10,2)");
}

/// Fails if a PENDING or RUNNING answer is taken as final ("ended PENDING"),
/// or if polling stops before SUCCEEDED.
#[tokio::test]
async fn a_running_statement_is_polled_until_it_succeeds() {
    let (fake, served) = warehouse(Config { polls_until_done: 3, ..Config::default() }, 4).await;
    let connector = client(&served, &fake, &fake.config().token);

    let page = connector.page(None).await.unwrap();

    assert_eq!(page.rows.len(), 4);
    assert!(page.next.is_none());
    let polls = fake.requests().iter().filter(|r| r.method == "GET" && !r.path.contains("chunks")).count();
    assert_eq!(polls, 3, "three status polls: PENDING, RUNNING, then SUCCEEDED");
}

/// Fails if 401/403 are not mapped to `Error::Unauthorized`, or if the token
/// reaches an error text, its Debug form or a log line (at TRACE).
#[tokio::test]
async fn a_refused_token_is_unauthorized_and_never_shown() {
    let logs = CapturedLogs::install();
    let (fake, served) = warehouse(Config::default(), 3).await;
    let wrong = "dapi-wrong-token-0000000000000000";
    let connector = client(&served, &fake, wrong);

    let err = connector.page(None).await.unwrap_err();

    assert!(matches!(err, Error::Unauthorized { status: 403, .. }), "{err:?}");
    let report = connector.write_back(&[], &[]).await.unwrap_err();
    for text in [err.to_string(), format!("{err:?}"), report.to_string(), format!("{connector:?}"), logs.text()] {
        assert!(!text.contains(wrong) && !text.contains("wrong-token"), "{text}");
    }
    assert!(err.to_string().contains("Invalid access token"), "says why: {err}");
    assert_eq!(fake.requests().len(), 2, "one request each, no retries of a refusal");
}

/// Fails if a 429 is not retried after its Retry-After (the call errors).
#[tokio::test]
async fn answers_429_are_waited_out() {
    let (fake, served) = warehouse(Config { retry_after_secs: 1, ..Config::default() }, 5).await;
    let connector = client(&served, &fake, &fake.config().token);
    fake.throttle_next(2);

    let page = connector.page(None).await.unwrap();

    assert_eq!(page.rows.len(), 5);
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200]);
}

fn answers(keys: impl IntoIterator<Item = u32>, answer: &str) -> Vec<WriteRow> {
    keys.into_iter()
        .map(|i| WriteRow {
            key: i.to_string(),
            fields: json!({ "ai_answer": format!("{answer} {i}"), "ai_tags": ["a", "b"] })
                .as_object()
                .cloned()
                .unwrap(),
        })
        .collect()
}

/// Fails if write-back inserts (an unknown key adds a row), re-creates an
/// existing column (the second run's ALTER fails), or leaves a value unwritten.
#[tokio::test]
async fn write_back_creates_columns_updates_rows_and_is_idempotent() {
    let (fake, served) = warehouse(Config::default(), 6).await;
    let connector = client(&served, &fake, &fake.config().token);
    let mut rows = answers(1..=6, "yes");
    rows.push(WriteRow { key: "999".into(), fields: rows[0].fields.clone() });
    let create = ["ai_answer".to_owned(), "ai_tags".to_owned(), "name".to_owned()];

    let first = connector.write_back(&rows, &create).await.unwrap();

    assert_eq!(first.created_columns, ["ai_answer", "ai_tags"], "`name` exists already");
    assert_eq!(first.updated, 6, "the unknown key 999 updates nothing");
    assert!(first.failed.is_empty(), "{first:?}");
    let after_first = fake.table(TABLE).unwrap();
    assert_eq!(after_first.rows.len(), 6, "nothing inserted");
    assert_eq!(after_first.column("ai_answer").unwrap()[1].as_deref(), Some("yes 2"));
    assert_eq!(after_first.column("ai_tags").unwrap()[1].as_deref(), Some(r#"["a","b"]"#));
    assert_eq!(after_first.column("name").unwrap()[1].as_deref(), Some("person 2"), "untouched");

    let second = connector.write_back(&rows, &create).await.unwrap();

    assert!(second.created_columns.is_empty());
    assert_eq!(second.updated, 6);
    assert_eq!(fake.table(TABLE).unwrap(), after_first, "a second run leaves the same table");
}

/// Fails if a failed MERGE aborts the write-back, marks the wrong keys, or is
/// not reported; a re-run must then complete the remaining rows.
#[tokio::test]
async fn a_failed_statement_fails_exactly_its_batch_and_a_rerun_finishes() {
    let (fake, served) = warehouse(Config::default(), 250).await;
    let connector = client(&served, &fake, &fake.config().token);
    let rows: Vec<WriteRow> = (1..=250)
        .map(|i| WriteRow {
            key: i.to_string(),
            fields: json!({ "note": format!("done {i}") }).as_object().cloned().unwrap(),
        })
        .collect();
    fake.fail_merge(2);

    let report = connector.write_back(&rows, &[]).await.unwrap();

    // 2 parameters per row, at most 100 rows a statement: batches 1–100, 101–200, 201–250.
    let failed: BTreeSet<u32> = report.failed.iter().map(|f| f.key.parse().unwrap()).collect();
    assert_eq!(failed, (101..=200).collect(), "exactly the second batch");
    assert!(report.failed[0].reason.contains("scripted failure"), "{:?}", report.failed[0]);
    assert_eq!(report.updated, 150);
    let notes = fake.table(TABLE).unwrap().column("note").unwrap();
    assert_eq!(notes[150].as_deref(), Some("note 151"), "the failed batch changed nothing");
    assert_eq!(notes[210].as_deref(), Some("done 211"), "later batches still ran");

    let rerun = connector.write_back(&rows, &[]).await.unwrap();

    assert!(rerun.failed.is_empty(), "{rerun:?}");
    assert_eq!(rerun.updated, 250);
    let notes = fake.table(TABLE).unwrap().column("note").unwrap();
    assert!(notes.iter().enumerate().all(|(i, n)| n.as_deref() == Some(&*format!("done {}", i + 1))));
}

/// Fails if a table name with SQL in it reaches the warehouse.
#[tokio::test]
async fn table_names_carrying_sql_are_refused_before_any_request() {
    let (fake, served) = warehouse(Config::default(), 2).await;
    for name in [
        "main.crm.people; DROP TABLE main.crm.people",
        "main.crm.people WHERE 1=1",
        "main.crm.people --",
        "main.crm.`people",
        "a.b.c.d",
    ] {
        let source = Source::Databricks(source(&served, &fake, name));
        let err = Connector::new(&source, Credential(Secret::new(fake.config().token.clone()))).unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{name}: {err:?}");
        assert!(err.to_string().contains("catalog.schema.table"), "says what to write: {err}");
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

/// Fails if a missing or null key column is not a clear error (rows would get empty keys).
#[tokio::test]
async fn a_missing_or_null_key_column_is_a_clear_error() {
    let (fake, served) = warehouse(Config::default(), 2).await;
    let mut table = source(&served, &fake, TABLE);
    table.key_column = "customer_id".into();
    let connector =
        Connector::new(&Source::Databricks(table), Credential(Secret::new(fake.config().token.clone()))).unwrap();
    let err = connector.page(None).await.unwrap_err().to_string();
    assert!(err.contains("`customer_id`") && err.contains("id, name"), "{err}");

    fake.add_table(TABLE, &COLUMNS, vec![vec![None, Some("nobody".into()), None, None, None, None]]);
    let err = client(&served, &fake, &fake.config().token).page(None).await.unwrap_err().to_string();
    assert!(err.contains("no value in the key column `id`"), "{err}");
}

/// Fails if polling has no deadline (the test would poll for 1000 rounds and
/// then succeed) or if the statement is left running on the warehouse.
#[tokio::test]
async fn a_statement_still_running_at_the_deadline_is_cancelled_and_reported() {
    let (fake, served) = warehouse(Config { polls_until_done: 1000, ..Config::default() }, 2).await;
    let polling = Polling {
        first_wait: std::time::Duration::from_millis(5),
        max_wait: std::time::Duration::from_millis(10),
        deadline: std::time::Duration::from_millis(200),
    };
    let table = source(&served, &fake, TABLE);
    let connector = Connector::Databricks(
        databricks::Client::new(table, Credential(Secret::new(fake.config().token.clone())))
            .unwrap()
            .with_polling(polling),
    );

    let err = connector.page(None).await.unwrap_err();

    assert!(matches!(err, Error::Statement { .. }), "{err:?}");
    assert!(err.to_string().contains("cancelled"), "{err}");
    assert_eq!(count(&fake, "/cancel"), 1, "the statement is cancelled on the warehouse");
}

/// Fails if the warehouse's own rate limit (429 past N requests a second,
/// `Retry-After: 1`) is not waited out while paging.
#[tokio::test]
async fn paging_keeps_within_the_warehouse_rate_limit() {
    let config = Config { rows_per_chunk: 2, requests_per_second: Some(3), retry_after_secs: 1, ..Config::default() };
    let (fake, served) = warehouse(config, 10).await;
    let connector = client(&served, &fake, &fake.config().token);

    let mut keys = Vec::new();
    connector
        .pages(|page| {
            keys.extend(page.into_iter().map(|r| r.key));
            Ok::<(), String>(())
        })
        .await
        .unwrap();

    assert_eq!(keys, (1..=10).map(|i| i.to_string()).collect::<Vec<_>>());
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert!(statuses.contains(&429), "the fake's limit was reached: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 5, "a submit and 4 chunks, each once: {statuses:?}");
}
