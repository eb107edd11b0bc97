//! The NocoDB connector against the fake NocoDB over loopback HTTP.

mod common;

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::time::Duration;

use datastores::mapping::infer_columns;
use datastores::nocodb::{Table, TokenKind};
use datastores::{Connector, Credential, Error, Secret, Source, SourceRow, WriteRow};
use fake_datastores::nocodb::{FakeNocodb, Table as FakeTable};
use fake_datastores::{Served, of_route};
use records::ColumnType;
use serde_json::{Map, Value, json};

const TOKEN: &str = "nc-token-6f1c2a";
const TABLE: &str = "m1tbl";

fn connector(served: &Served, token: &str, kind: TokenKind) -> Connector {
    let table = Table {
        base_url: served.url().parse().expect("a URL"),
        table_id: TABLE.into(),
        view_id: None,
        token_kind: kind,
        key_column: None,
    };
    Connector::new(&Source::Nocodb(table), Credential(Secret::new(token))).expect("a client")
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

fn keys(rows: &[SourceRow]) -> Vec<u64> {
    rows.iter().map(|r| r.key.parse().expect("numeric keys")).collect()
}

fn answers(keys: impl IntoIterator<Item = usize>, text: &str) -> Vec<WriteRow> {
    keys.into_iter()
        .map(|k| WriteRow {
            key: k.to_string(),
            fields: Map::from_iter([("Notes".to_owned(), json!(format!("{text} {k}")))]),
        })
        .collect()
}

// Fails if the next page starts at offset + the limit asked rather than the
// rows received (the server capped the page at 250: rows would be skipped).
#[tokio::test]
async fn paging_returns_every_row_exactly_once() {
    let fake = FakeNocodb::new(TOKEN).with_table(FakeTable::mixed(TABLE, 2345)).with_max_page_size(250);
    let served = fake.serve().await.unwrap();
    let rows = import(&connector(&served, TOKEN, TokenKind::XcToken)).await.unwrap();
    assert_eq!(keys(&rows), (1..=2345).collect::<Vec<_>>(), "every row once, in order");
    assert_eq!(rows[41].fields.get("Title"), Some(&json!("Row 42")));
    let log = fake.requests();
    assert_eq!(of_route(&log, "list").count(), 10, "2345 rows at the server's 250 a page");
    assert_eq!(of_route(&log, "meta").count(), 1, "the key column is looked up once");

    // A client made for one call (the connector service's way) continues from
    // a token without asking the meta API again.
    let first = connector(&served, TOKEN, TokenKind::XcToken).page(None).await.unwrap();
    let second = connector(&served, TOKEN, TokenKind::XcToken).page(first.next.as_ref()).await.unwrap();
    assert_eq!(second.rows[0].key, "251");
    assert_eq!(of_route(&fake.requests(), "meta").count(), 2, "only the first page's client asked");
}

// Fails if the described columns are dropped (Notes is null on some rows and
// the service types would be missing) or a value's type is misread.
#[tokio::test]
async fn column_types_are_inferred_with_the_services_own() {
    let fake = FakeNocodb::new(TOKEN).with_table(FakeTable::mixed(TABLE, 30));
    let served = fake.serve().await.unwrap();
    let connector = connector(&served, TOKEN, TokenKind::XcToken);
    let described = connector.columns().await.unwrap();
    let page = connector.page(None).await.unwrap();
    let preview = infer_columns(&page.rows, &described);
    let seen: Vec<(&str, ColumnType, Option<&str>)> =
        preview.iter().map(|c| (c.name.as_str(), c.inferred, c.service_type.as_deref())).collect();
    assert_eq!(
        seen,
        [
            ("Id", ColumnType::Integer, Some("ID")),
            ("Title", ColumnType::String, Some("SingleLineText")),
            ("Count", ColumnType::Integer, Some("Number")),
            ("Price", ColumnType::Number, Some("Decimal")),
            ("Done", ColumnType::Boolean, Some("Checkbox")),
            ("Notes", ColumnType::String, Some("LongText")),
        ]
    );
    assert_eq!(preview[5].samples, [json!("note 1"), json!("note 2"), json!("note 4")], "nulls are not samples");
}

// Fails if a 401 maps to a generic error, or if the token reaches the error,
// the client's Debug or a log line.
#[tokio::test]
async fn a_refused_token_says_what_to_do_and_is_never_shown() {
    let logs = test_support::CapturedLogs::install();
    let fake = FakeNocodb::new(TOKEN).with_table(FakeTable::mixed(TABLE, 3));
    let served = fake.serve().await.unwrap();
    let wrong = "nc-wrong-token-91d0e7";
    let connector = connector(&served, wrong, TokenKind::XcToken);
    let error = import(&connector).await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized { status: 401, .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("augment data connect nocodb"), "says what to do: {text}");
    assert!(text.contains("Invalid token"), "quotes NocoDB's reason: {text}");
    let write = connector.write_back(&answers([1], "a"), &[]).await.unwrap_err();
    assert!(matches!(write, Error::Unauthorized { .. }), "{write:?}");
    for shown in [text, format!("{error:?}"), format!("{write:?}"), format!("{connector:?}"), logs.text()] {
        assert!(!shown.contains(wrong), "the token leaked: {shown}");
    }
    assert!(fake.rows(TABLE).iter().all(|r| r["Notes"] != json!("a 1")), "nothing written");
}

// Fails if the credential goes in the wrong header for its kind.
#[tokio::test]
async fn a_session_goes_in_xc_auth() {
    let fake = FakeNocodb::new(TOKEN).with_session("jwt-session").with_table(FakeTable::mixed(TABLE, 3));
    let served = fake.serve().await.unwrap();
    let rows = import(&connector(&served, "jwt-session", TokenKind::XcAuth)).await.unwrap();
    assert_eq!(rows.len(), 3);
    let error = import(&connector(&served, "jwt-session", TokenKind::XcToken)).await.unwrap_err();
    assert!(matches!(error, Error::Unauthorized { .. }), "{error:?}");
}

// Fails if 429 ends the import, or if the client retries sooner than
// Retry-After (e.g. its own 500 ms back-off in place of the header).
#[tokio::test]
async fn rate_limited_import_waits_out_retry_after_and_completes() {
    let wait = Duration::from_secs(1);
    let fake = FakeNocodb::new(TOKEN)
        .with_table(FakeTable::mixed(TABLE, 2000))
        .with_max_page_size(250)
        .with_rate_limit(NonZeroU32::new(2).unwrap(), wait);
    let served = fake.serve().await.unwrap();
    let rows = import(&connector(&served, TOKEN, TokenKind::XcToken)).await.unwrap();
    assert_eq!(keys(&rows), (1..=2000).collect::<Vec<_>>());
    common::assert_retry_after_honoured(&fake.requests(), wait);
}

// Fails if rows are written to the wrong keys, batches exceed 100, or a
// second run adds rows or changes anything.
#[tokio::test]
async fn write_back_updates_the_right_rows_and_a_rerun_changes_nothing() {
    let fake = FakeNocodb::new(TOKEN).with_table(FakeTable::mixed(TABLE, 300));
    let served = fake.serve().await.unwrap();
    let connector = connector(&served, TOKEN, TokenKind::XcToken);
    let rows = answers(51..=300, "answer");
    let report = connector.write_back(&rows, &[]).await.unwrap();
    assert_eq!((report.updated, report.failed.len()), (250, 0));
    let after_first = fake.rows(TABLE);
    assert_eq!(after_first.len(), 300);
    for (i, row) in after_first.iter().enumerate() {
        let id = i + 1;
        if id > 50 {
            assert_eq!(row["Notes"], json!(format!("answer {id}")), "row {id}");
        } else {
            assert_ne!(row["Notes"], json!(format!("answer {id}")), "row {id} untouched");
        }
        assert_eq!(row["Title"], json!(format!("Row {id}")), "other columns untouched");
    }
    let second = connector.write_back(&rows, &[]).await.unwrap();
    assert_eq!((second.updated, second.failed.len()), (250, 0));
    assert_eq!(fake.rows(TABLE), after_first, "the same state, no duplicates");
    let log = fake.requests();
    let batches: Vec<usize> = of_route(&log, "update").map(|r| r.rows).collect();
    assert_eq!(batches, [100, 100, 50, 100, 100, 50]);
}

// Fails if a missing column is silently skipped or sent (the fake refuses it
// with 422), or created without being asked.
#[tokio::test]
async fn missing_columns_are_created_when_asked_and_refused_clearly_when_not() {
    let fake = FakeNocodb::new(TOKEN).with_table(FakeTable::mixed(TABLE, 10));
    let served = fake.serve().await.unwrap();
    let connector = connector(&served, TOKEN, TokenKind::XcToken);
    let rows: Vec<WriteRow> = (1..=10)
        .map(|k| WriteRow {
            key: k.to_string(),
            fields: Map::from_iter([("AI answer".to_owned(), json!(format!("yes {k}")))]),
        })
        .collect();
    let refused = connector.write_back(&rows, &[]).await.unwrap_err();
    assert!(matches!(&refused, Error::MissingColumns { columns, .. } if columns == &["AI answer"]), "{refused:?}");
    assert!(refused.to_string().contains("`AI answer`"), "{refused}");
    let log = fake.requests();
    assert_eq!(of_route(&log, "update").count() + of_route(&log, "create_column").count(), 0, "nothing sent");

    let report = connector.write_back(&rows, &["AI answer".to_owned()]).await.unwrap();
    assert_eq!(report.created_columns, ["AI answer"]);
    assert_eq!(report.updated, 10);
    let column = fake.columns(TABLE).into_iter().find(|c| c.title == "AI answer").unwrap();
    assert_eq!(column.uidt, "LongText");
    assert_eq!(fake.rows(TABLE)[9]["AI answer"], json!("yes 10"));

    let again = connector.write_back(&rows, &["AI answer".to_owned()]).await.unwrap();
    assert!(again.created_columns.is_empty(), "an existing column is not created twice");
}

// Fails if a refused batch aborts the rest, if other rows are reported failed,
// or if the failed rows' keys are lost (the re-run could not finish them).
#[tokio::test]
async fn a_partial_failure_reports_exactly_the_failed_keys_and_a_rerun_finishes() {
    let fake = FakeNocodb::new(TOKEN).with_table(FakeTable::mixed(TABLE, 250));
    let served = fake.serve().await.unwrap();
    let connector = connector(&served, TOKEN, TokenKind::XcToken);
    let rows = answers(1..=250, "answer");
    fake.fail_write(2, 500);
    let report = connector.write_back(&rows, &[]).await.unwrap();
    assert_eq!(report.updated, 150);
    let failed: BTreeSet<usize> = report.failed.iter().map(|f| f.key.parse().unwrap()).collect();
    assert_eq!(failed, (101..=200).collect(), "exactly the second batch");
    assert!(report.failed[0].reason.contains("500"), "{:?}", report.failed[0]);
    let notes = |fake: &FakeNocodb| -> Vec<Value> { fake.rows(TABLE).iter().map(|r| r["Notes"].clone()).collect() };
    assert_ne!(notes(&fake)[150], json!("answer 151"), "the failed batch changed nothing");
    assert_eq!(notes(&fake)[210], json!("answer 211"), "later batches went on");

    let rerun: Vec<WriteRow> = rows.iter().filter(|r| failed.contains(&r.key.parse().unwrap())).cloned().collect();
    let finished = connector.write_back(&rerun, &[]).await.unwrap();
    assert_eq!((finished.updated, finished.failed.len()), (100, 0));
    let expected: Vec<Value> = (1..=250).map(|k| json!(format!("answer {k}"))).collect();
    assert_eq!(notes(&fake), expected);

    // A row the server refuses fails its batch with the server's reason.
    fake.fail_keys(["7"]);
    let refused = connector.write_back(&rows[..20], &[]).await.unwrap();
    assert_eq!(refused.failed.len(), 20);
    assert!(refused.failed[0].reason.contains("Record '7' was refused"), "{:?}", refused.failed[0]);

    // A row deleted since the import: its batch fails naming the record, not the table.
    fake.clear_failures();
    let gone = connector.write_back(&answers([9999], "late"), &[]).await.unwrap();
    assert_eq!(gone.failed.len(), 1);
    let reason = &gone.failed[0].reason;
    assert!(reason.contains("a record of the batch") && reason.contains("Record '9999' not found"), "{reason}");
}
