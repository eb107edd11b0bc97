//! The Airtable connector against the fake Airtable over loopback HTTP.

mod common;

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::time::Duration;

use datastores::airtable::Table;
use datastores::mapping::infer_columns;
use datastores::{Connector, Credential, Error, Secret, Source, SourceRow, WriteRow};
use fake_datastores::airtable::{FakeAirtable, Table as FakeTable, record_id};
use fake_datastores::{Served, of_route};
use records::ColumnType;
use serde_json::{Map, Value, json};

const TOKEN: &str = "patA1b2C3.d4e5f6";
const BASE: &str = "appBASE0000000001";
const TABLE_ID: &str = "tblRESPONSES00001";
const TABLE_NAME: &str = "Responses";

fn fake(rows: usize) -> FakeAirtable {
    FakeAirtable::new(BASE, TOKEN).with_table(FakeTable::mixed(TABLE_ID, TABLE_NAME, rows))
}

fn connector(served: &Served, token: &str, table: &str) -> Connector {
    let table =
        Table { api_url: served.url().parse().expect("a URL"), base_id: BASE.into(), table: table.into(), view: None };
    Connector::new(&Source::Airtable(table), Credential(Secret::new(token))).expect("a client")
}

async fn import(connector: &Connector) -> Result<Vec<SourceRow>, Error> {
    let mut rows = Vec::new();
    connector
        .pages(|page| {
            rows.extend(page);
            Ok::<_, String>(())
        })
        .await?;
    Ok(rows)
}

fn answers(rows: impl IntoIterator<Item = usize>, text: &str) -> Vec<WriteRow> {
    rows.into_iter()
        .map(|n| WriteRow {
            key: record_id(n),
            fields: Map::from_iter([("Notes".to_owned(), json!(format!("{text} {n}")))]),
        })
        .collect()
}

fn notes(fake: &FakeAirtable) -> Vec<Value> {
    fake.records(TABLE_ID).iter().map(|r| r.fields.get("Notes").cloned().unwrap_or(Value::Null)).collect()
}

// Fails if the offset token is not passed on (the first page again: duplicates)
// or paging stops before the last page.
#[tokio::test]
async fn paging_by_offset_returns_every_record_exactly_once() {
    let fake = fake(1050);
    let served = fake.serve().await.unwrap();
    let rows = import(&connector(&served, TOKEN, TABLE_NAME)).await.unwrap();
    let expected: Vec<String> = (1..=1050).map(record_id).collect();
    assert_eq!(rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>(), expected, "every record once, in order");
    assert_eq!(rows[1].fields.get("Done"), Some(&json!(true)));
    assert_eq!(rows[0].fields.get("Done"), None, "Airtable leaves unchecked boxes out");
    assert_eq!(of_route(&fake.requests(), "list").count(), 11, "100 records a page");
}

// Fails if the schema is not used: `Reviewer` is empty on every record, so
// Airtable never sends it, and the preview would not list it.
#[tokio::test]
async fn columns_come_from_the_schema_even_when_every_value_is_empty() {
    let fake = fake(30);
    let served = fake.serve().await.unwrap();
    let connector = connector(&served, TOKEN, TABLE_ID);
    let described = connector.columns().await.unwrap();
    let page = connector.page(None).await.unwrap();
    let preview = infer_columns(&page.rows, &described);
    let seen: Vec<(&str, ColumnType, Option<&str>)> =
        preview.iter().map(|c| (c.name.as_str(), c.inferred, c.service_type.as_deref())).collect();
    assert_eq!(
        seen,
        [
            ("Name", ColumnType::String, Some("singleLineText")),
            ("Count", ColumnType::Integer, Some("number")),
            ("Price", ColumnType::Number, Some("currency")),
            ("Done", ColumnType::Boolean, Some("checkbox")),
            ("Notes", ColumnType::String, Some("multilineText")),
            ("Reviewer", ColumnType::Empty, Some("singleLineText")),
        ]
    );
}

// Fails if 401 is not Unauthorized, or the token reaches an error, Debug or a log line.
#[tokio::test]
async fn a_refused_token_says_what_to_do_and_is_never_shown() {
    let logs = test_support::CapturedLogs::install();
    let fake = fake(3);
    let served = fake.serve().await.unwrap();
    let wrong = "patWRONG.77aa88bb";
    let connector = connector(&served, wrong, TABLE_NAME);
    let error = import(&connector).await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized { status: 401, .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("augment data connect airtable"), "says what to do: {text}");
    let write = connector.write_back(&answers([1], "a"), &[]).await.unwrap_err();
    assert!(matches!(write, Error::Unauthorized { .. }), "{write:?}");
    for shown in [text, format!("{error:?}"), format!("{write:?}"), format!("{connector:?}"), logs.text()] {
        assert!(!shown.contains(wrong), "the token leaked: {shown}");
    }
}

// Fails if 429 ends the import or the client comes back before Retry-After.
#[tokio::test]
async fn rate_limited_import_waits_out_retry_after_and_completes() {
    let wait = Duration::from_secs(1);
    let fake = fake(800).with_rate_limit(NonZeroU32::new(2).unwrap(), Some(wait));
    let served = fake.serve().await.unwrap();
    let rows = import(&connector(&served, TOKEN, TABLE_NAME)).await.unwrap();
    assert_eq!(rows.len(), 800);
    assert_eq!(rows.iter().map(|r| r.key.as_str()).collect::<BTreeSet<_>>().len(), 800, "no duplicates");
    common::assert_retry_after_honoured(&fake.requests(), wait);
}

// Fails if records are matched wrongly, other fields are touched, a re-run
// changes anything, or a request carries more than 10 records.
#[tokio::test]
async fn write_back_updates_the_right_records_and_a_rerun_changes_nothing() {
    let fake = fake(40);
    let served = fake.serve().await.unwrap();
    let connector = connector(&served, TOKEN, TABLE_NAME);
    let rows = answers(11..=35, "answer");
    let report = connector.write_back(&rows, &[]).await.unwrap();
    assert_eq!((report.updated, report.failed.len()), (25, 0));
    let after_first = fake.records(TABLE_ID);
    assert_eq!(after_first.len(), 40);
    for (i, record) in after_first.iter().enumerate() {
        let n = i + 1;
        let written = record.fields.get("Notes") == Some(&json!(format!("answer {n}")));
        assert_eq!(written, (11..=35).contains(&n), "record {n}");
        assert_eq!(record.fields.get("Name"), Some(&json!(format!("Row {n}"))));
    }
    let second = connector.write_back(&rows, &[]).await.unwrap();
    assert_eq!((second.updated, second.failed.len()), (25, 0));
    assert_eq!(fake.records(TABLE_ID), after_first, "the same state, no duplicates");
    let log = fake.requests();
    let batches: Vec<usize> = of_route(&log, "update").map(|r| r.rows).collect();
    assert_eq!(batches, [10, 10, 5, 10, 10, 5]);
}

// Fails if a missing field is sent anyway (Airtable: 422 UNKNOWN_FIELD_NAME)
// or created without being asked, or created twice.
#[tokio::test]
async fn missing_fields_are_created_when_asked_and_refused_clearly_when_not() {
    let fake = fake(12);
    let served = fake.serve().await.unwrap();
    let connector = connector(&served, TOKEN, TABLE_NAME);
    let rows: Vec<WriteRow> = (1..=12)
        .map(|n| WriteRow { key: record_id(n), fields: Map::from_iter([("Tag".to_owned(), json!(format!("t{n}")))]) })
        .collect();
    let refused = connector.write_back(&rows, &[]).await.unwrap_err();
    assert!(matches!(&refused, Error::MissingColumns { columns, .. } if columns == &["Tag"]), "{refused:?}");
    let log = fake.requests();
    assert_eq!(of_route(&log, "update").count() + of_route(&log, "create_field").count(), 0, "nothing sent");

    let report = connector.write_back(&rows, &["Tag".to_owned()]).await.unwrap();
    assert_eq!((report.created_columns.as_slice(), report.updated), (&["Tag".to_owned()][..], 12));
    let field = fake.fields(TABLE_ID).into_iter().find(|f| f.name == "Tag").unwrap();
    assert_eq!(field.kind, "multilineText");
    assert_eq!(fake.records(TABLE_ID)[11].fields.get("Tag"), Some(&json!("t12")));
    let again = connector.write_back(&rows, &["Tag".to_owned()]).await.unwrap();
    assert!(again.created_columns.is_empty());
}

// Fails if a refused request stops the rest, if the wrong keys are reported,
// or if the re-run cannot finish them.
#[tokio::test]
async fn a_partial_failure_reports_exactly_the_failed_keys_and_a_rerun_finishes() {
    let fake = fake(35);
    let served = fake.serve().await.unwrap();
    let connector = connector(&served, TOKEN, TABLE_NAME);
    let rows = answers(1..=35, "answer");
    fake.fail_write(2, 422);
    let report = connector.write_back(&rows, &[]).await.unwrap();
    assert_eq!(report.updated, 25);
    let failed: BTreeSet<String> = report.failed.iter().map(|f| f.key.clone()).collect();
    assert_eq!(failed, (11..=20).map(record_id).collect(), "exactly the second request's records");
    assert!(report.failed[0].reason.contains("422"), "{:?}", report.failed[0]);
    assert_ne!(notes(&fake)[14], json!("answer 15"));
    assert_eq!(notes(&fake)[30], json!("answer 31"), "later requests went on");

    let rerun: Vec<WriteRow> = rows.iter().filter(|r| failed.contains(&r.key)).cloned().collect();
    let finished = connector.write_back(&rerun, &[]).await.unwrap();
    assert_eq!((finished.updated, finished.failed.len()), (10, 0));
    let expected: Vec<Value> = (1..=35).map(|n| json!(format!("answer {n}"))).collect();
    assert_eq!(notes(&fake), expected);
}

// Fails if the client bursts (governor's default quota sends 5 at once, then
// 5 more within the same second), paces faster than 5 a second, if two clients
// of one base each keep their own pace, or if a request carries more than 10
// records. Measured on the fake's clock.
#[tokio::test]
async fn requests_stay_within_5_a_second_and_10_records_a_write() {
    let fake = fake(450).with_rate_limit(NonZeroU32::new(5).unwrap(), Some(Duration::from_secs(30)));
    let served = fake.serve().await.unwrap();
    let connector = connector(&served, TOKEN, TABLE_NAME);
    let rows = import(&connector).await.unwrap();
    assert_eq!(rows.len(), 450);
    // Another client of the same base (as the connector service makes one per
    // call) keeps the same pace: the base's limit is shared, not per client.
    let writer = self::connector(&served, TOKEN, TABLE_ID);
    let report = writer.write_back(&answers(1..=95, "paced"), &[]).await.unwrap();
    assert_eq!(report.updated, 95);
    let log = fake.requests();
    assert!(log.iter().all(|r| r.status == 200), "never rate-limited: {log:?}");
    assert!(of_route(&log, "update").all(|r| r.rows <= 10));
    assert_eq!(of_route(&log, "update").count(), 10);
    // 5 requests a second: any 6 consecutive requests span at least a second
    // (less 50 ms for scheduling noise on a loaded machine).
    for window in log.windows(6) {
        let span = window[5].at - window[0].at;
        assert!(span >= Duration::from_millis(950), "6 requests within {span:?}");
    }
}
