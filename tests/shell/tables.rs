//! The shared table in the real app (issue 16, point 3), through the Record
//! Collector: a file's preview (which holds all its rows) sorts from the
//! keyboard, the saved dataset's records are edited in place with Enter
//! (Enter saves, Escape cancels), the arrows move the active cell, a header
//! click sorts the records in Rust, and axe finds nothing on the screen.
//!
//! The keys go to the focused element, as a person's would. The cells are
//! focused by script: WebKitWebDriver's visibility check does not see into
//! the table's scrolling, transformed rows (see `harness::cell_text`).

use std::path::Path;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use integration_tests::Sandbox;
use serde_json::json;

use crate::harness::{
    Driver, app_args, axe_violations, remote_dist, screenshot, serial, wait_for, wait_for_content, wait_for_text,
    wait_until,
};

const RC: &str = "record-collector";

/// Starts the app with its own data folder, the native file dialog answered from `dialog-answers`.
fn launcher(root: &Path) -> std::path::PathBuf {
    let variables = [
        ("AUGMENT_DATA_DIR", root.join("data").display().to_string()),
        ("AUGMENT_TEST_DIALOG_ANSWERS", root.join("dialog-answers").display().to_string()),
    ];
    crate::harness::launcher_script(root, &variables)
}

fn in_rc(testid: &str) -> String {
    format!(r#"section[data-remote="{RC}"] [data-testid="{testid}"]"#)
}

async fn click(app: &Client, testid: &str) {
    wait_for(app, &format!("{}:not([disabled])", in_rc(testid))).await.click().await.unwrap();
}

/// Focuses the first match of `css` (a grid cell: one tab stop, moved by the keys).
async fn focus(app: &Client, css: &str) {
    wait_for(app, css).await;
    app.execute("document.querySelector(arguments[0]).focus();", vec![json!(css)]).await.unwrap();
}

async fn press(app: &Client, key: Key) {
    app.active_element().await.unwrap().send_keys(&key.to_string()).await.unwrap();
}

/// `data-cell` ("row:column") of the focused element, or null.
async fn focused_cell(app: &Client) -> Option<String> {
    let cell = app.execute("return document.activeElement?.getAttribute('data-cell') ?? null;", vec![]).await.unwrap();
    cell.as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_sorts_and_edits_from_the_keyboard() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    let out = sandbox.publish(&remote_dist(RC));
    assert!(out.status.success(), "publishing {RC}: {}", integration_tests::describe(&out));
    let root = tempfile::tempdir().unwrap();
    let csv = root.path().join("people.csv");
    std::fs::write(&csv, "name,age\nCarol,41\nalice,7\nBob,30\n").unwrap();
    std::fs::write(root.path().join("dialog-answers"), format!("{}\n", csv.display())).unwrap();

    let driver = Driver::start();
    let app = driver
        .open_application(&launcher(root.path()), &app_args(&sandbox, &sandbox.registry().display().to_string()))
        .await;
    wait_for(&app, &format!(r#"section[data-remote="{RC}"][data-state="mounted"]:not([hidden])"#)).await;

    click(&app, "rc-choose-file").await;
    wait_for_text(&app, &in_rc("rc-file"), "people.csv").await;
    click(&app, "rc-preview").await;
    let preview = in_rc("rc-preview-table");
    let first_name = format!(r#"{preview} [role="row"][aria-rowindex="2"] [data-column="c0"]"#);
    wait_for_content(&app, &first_name, "Carol").await;

    // Sort: Enter on the name header orders the rows (natural, case-insensitive), again reverses them.
    let name_header = format!(r#"{preview} [role="columnheader"][data-column="c0"]"#);
    focus(&app, &name_header).await;
    press(&app, Key::Enter).await;
    wait_for_content(&app, &first_name, "alice").await;
    let sort = app.find(Locator::Css(&name_header)).await.unwrap().attr("aria-sort").await.unwrap();
    assert_eq!(sort.as_deref(), Some("ascending"), "the header says how the column is sorted");
    press(&app, Key::Enter).await;
    wait_for_content(&app, &first_name, "Carol").await;
    screenshot(&app, "7-table-sorted").await;

    click(&app, "rc-save").await;
    let records = in_rc("rc-records");
    let cell = |row: usize| format!(r#"{records} [role="row"][aria-rowindex="{}"] [data-column="name"]"#, row + 2);
    wait_for_content(&app, &cell(0), "Carol").await;
    assert!(
        app.find(Locator::Css(&format!(r#"{records} [data-action="edit"]"#))).await.is_err(),
        "no Edit button in the cells any more"
    );

    // Arrows move the one tab stop (the "#" column is column 0, name is 1).
    focus(&app, &cell(0)).await;
    press(&app, Key::Down).await;
    wait_until("the focus on the second row's name", || focused_cell(&app), |c| c.as_deref() == Some("1:1")).await;
    press(&app, Key::Up).await;
    wait_until("the focus back on the first row's name", || focused_cell(&app), |c| c.as_deref() == Some("0:1")).await;

    // Enter edits in place; Enter saves (through Rust) and gives the focus back to the cell.
    press(&app, Key::Enter).await;
    let editor = wait_for(&app, &format!(r#"{records} [data-testid="aui-cell-editor"]"#)).await;
    editor.clear().await.unwrap();
    editor.send_keys("Caroline").await.unwrap();
    press(&app, Key::Enter).await;
    wait_for_content(&app, &cell(0), "Caroline").await;
    wait_until("the focus back on the edited cell", || focused_cell(&app), |c| c.as_deref() == Some("0:1")).await;

    // Escape cancels: nothing saved, the value as it was, the focus back.
    press(&app, Key::Enter).await;
    let editor = wait_for(&app, &format!(r#"{records} [data-testid="aui-cell-editor"]"#)).await;
    editor.send_keys("ZZZ").await.unwrap();
    press(&app, Key::Escape).await;
    wait_until("the editor closed", || focused_cell(&app), |c| c.as_deref() == Some("0:1")).await;
    assert_eq!(wait_for_content(&app, &cell(0), "").await, "Caroline", "Escape left the value unchanged");
    screenshot(&app, "7-table-edited").await;

    // Sort: a click on the age header orders the whole dataset in Rust by
    // number (as text, "7" would come last: a CSV's cells are stored as
    // text); a second click reverses it.
    let age_header = format!(r#"{records} [role="columnheader"][data-column="age"]"#);
    let age_button = format!("{age_header} button");
    wait_for(&app, &age_button).await.click().await.unwrap();
    wait_for_content(&app, &cell(0), "alice").await;
    assert_eq!(wait_for_content(&app, &cell(2), "").await, "Caroline", "7, 30, 41");
    let sort = app.find(Locator::Css(&age_header)).await.unwrap().attr("aria-sort").await.unwrap();
    assert_eq!(sort.as_deref(), Some("ascending"));
    wait_for(&app, &age_button).await.click().await.unwrap();
    wait_for_content(&app, &cell(0), "Caroline").await;
    assert_eq!(wait_for_content(&app, &cell(2), "").await, "alice", "41, 30, 7");
    screenshot(&app, "7-records-sorted-in-rust").await;

    // The edit is in the database: a filter on the new value (SQL in Rust) finds the record.
    let filter = wait_for(&app, &in_rc("rc-filter-value")).await;
    filter.send_keys("Caroline").await.unwrap();
    click(&app, "rc-filter-apply").await;
    wait_for_text(&app, &in_rc("rc-page"), "of 1").await;
    assert_eq!(wait_for_content(&app, &cell(0), "").await, "Caroline");

    let problems = axe_violations(&app).await;
    assert!(problems.is_empty(), "axe on the Record Collector with its tables: {problems:#?}");
    app.close().await.unwrap();
}
