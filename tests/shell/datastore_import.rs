//! Issue 19, point 1, through the real window: the Record Collector imports a
//! NocoDB table from the fake NocoDB on loopback (REST v2, `xc-token`, paging
//! by offset, 1,200 rows over pages of at most 250). A connection is added
//! with its token (typed into a password field, kept by the OS keychain: the
//! app inherits this test's D-Bus session, a private gnome-keyring under
//! `cargo xtask test`), previewed with each column's inferred and NocoDB type,
//! imported with one column renamed and one left out; the dataset's row count
//! and columns are read back from the Record Collector's list and table.

use fake_datastores::nocodb::{FakeNocodb, Table};
use fantoccini::Client;
use integration_tests::Sandbox;
use serde_json::{Value, json};

use crate::harness::{
    Driver, app_args, axe_violations, remote_dist, screenshot, serial, wait_for, wait_for_content, wait_for_text,
    wait_until,
};

const RC: &str = "record-collector";
const TOKEN: &str = "nc-e2e-token-7f3a91";
const TABLE_ID: &str = "mtbl_people";
const ROWS: usize = 1200;
/// The fake's largest page (NocoDB's `DB_QUERY_LIMIT_MAX`): the import needs several pages.
const MAX_PAGE: usize = 250;

fn in_rc(testid: &str) -> String {
    format!(r#"section[data-remote="{RC}"] [data-testid="{testid}"]"#)
}

/// The line of the mapping table for a source column.
fn mapping_line(column: &str) -> String {
    format!(r#"section[data-remote="{RC}"] [data-testid="ds-mapping"] tr[data-column="{column}"]"#)
}

async fn click(app: &Client, css: &str) {
    wait_for(app, &format!("{css}:not([disabled])")).await.click().await.unwrap();
}

async fn type_into(app: &Client, css: &str, text: &str) {
    let field = wait_for(app, css).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// What the page's script sees: WebDriver's element text is empty inside the
/// table's scrolling container, so the values are read as the DOM holds them.
async fn page_value(app: &Client, script: &str, css: &str) -> Value {
    app.execute(script, vec![json!(css)]).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nocodb_table_is_previewed_mapped_and_imported_from_the_record_collector() {
    let _one = serial().await;
    let fake = FakeNocodb::new(TOKEN).with_table(Table::mixed(TABLE_ID, ROWS)).with_max_page_size(MAX_PAGE);
    let served = fake.serve().await.unwrap();
    let sandbox = Sandbox::new();
    let out = sandbox.publish(&remote_dist(RC));
    assert!(out.status.success(), "publishing {RC}: {}", integration_tests::describe(&out));

    let driver = Driver::start();
    let app = driver.open(&app_args(&sandbox, &sandbox.registry().display().to_string())).await;
    wait_for(&app, &format!(r#"section[data-remote="{RC}"][data-state="mounted"]:not([hidden])"#)).await;

    // No saved connection yet: the form to add one is shown.
    wait_for(&app, &in_rc("ds-form")).await;
    type_into(&app, &in_rc("ds-name"), "crm").await;
    type_into(&app, &in_rc("ds-field-base_url"), &served.url()).await;
    type_into(&app, &in_rc("ds-field-table_id"), TABLE_ID).await;
    let token_type = page_value(&app, "return document.querySelector(arguments[0]).type;", &in_rc("ds-token")).await;
    assert_eq!(token_type, json!("password"), "the token is typed into a password field");
    type_into(&app, &in_rc("ds-token"), TOKEN).await;
    click(&app, &in_rc("ds-save-connection")).await;
    wait_for_text(&app, &in_rc("ds-summary"), TABLE_ID).await;
    wait_for_text(&app, &format!(r#"section[data-remote="{RC}"] [data-testid="ds-import"]"#), "token in the keychain")
        .await;
    let source = app.source().await.unwrap();
    assert!(!source.contains(TOKEN), "the token is gone from the page once saved");

    // Preview: every column with the type inferred from the rows and NocoDB's own.
    click(&app, &in_rc("ds-preview")).await;
    wait_for(&app, &in_rc("ds-mapping")).await;
    for (column, inferred, service) in [
        ("Title", "string", "SingleLineText"),
        ("Count", "integer", "Number"),
        ("Price", "number", "Decimal"),
        ("Done", "boolean", "Checkbox"),
        ("Notes", "string", "LongText"),
    ] {
        let line = mapping_line(column);
        wait_for_content(&app, &format!(r#"{line} [data-testid="ds-inferred"]"#), inferred).await;
        wait_for_content(&app, &format!(r#"{line} [data-testid="ds-service-type"]"#), service).await;
    }
    wait_for(&app, &format!(r#"{}[data-key="true"]"#, mapping_line("Id"))).await;
    screenshot(&app, "19-datastore-1-preview").await;
    // Checked by axe (colour contrast included), asserted at the end so an import failure is reported first.
    let axe = axe_violations(&app).await;

    // Title becomes "name", Notes is left out, and the dataset gets its name.
    type_into(&app, &format!(r#"{} [data-testid="ds-target"]"#, mapping_line("Title")), "name").await;
    click(&app, &format!(r#"{} [data-testid="ds-include"]"#, mapping_line("Notes"))).await;
    type_into(&app, &in_rc("ds-dataset-name"), "people-from-nocodb").await;
    click(&app, &in_rc("ds-import-run")).await;

    // The dataset joins the list with every row, and its records are shown.
    let listed = wait_for_content(&app, &in_rc("rc-datasets"), "people-from-nocodb").await;
    assert!(listed.contains(&format!("{ROWS} rows")), "the dataset lists {ROWS} rows: {listed}");
    wait_for_text(&app, &in_rc("rc-page"), &format!("of {ROWS}")).await;
    let columns = wait_until(
        "the records table shows the mapped columns",
        async || {
            page_value(
                &app,
                "return Array.from(document.querySelectorAll(arguments[0])).map((o) => o.value).filter(Boolean);",
                &format!("{} option", in_rc("rc-filter-column")),
            )
            .await
        },
        |seen| seen.as_array().is_some_and(|a| !a.is_empty()),
    )
    .await;
    let mut columns: Vec<String> = serde_json::from_value(columns).unwrap();
    columns.sort();
    assert_eq!(columns, ["Count", "Done", "Id", "Price", "name"], "the renamed column, without the dropped one");
    wait_for_content(&app, &in_rc("rc-records"), "Row 1").await;
    screenshot(&app, "19-datastore-2-imported").await;

    // The import read the table in pages, each with the token.
    let lists: Vec<_> = fake.requests().into_iter().filter(|r| r.route == "list").collect();
    assert!(
        lists.len() >= ROWS.div_ceil(MAX_PAGE),
        "{ROWS} rows need at least {} pages: {lists:?}",
        ROWS.div_ceil(MAX_PAGE)
    );
    assert!(lists.iter().all(|r| r.status == 200), "every page was answered: {lists:?}");
    assert!(axe.is_empty(), "accessibility problems on the mapping table:\n{}", axe.join("\n"));
    app.close().await.unwrap();
}
