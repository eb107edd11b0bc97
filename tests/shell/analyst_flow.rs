//! The whole analyst flow in the real app, through the five product remotes
//! built by the real pipeline, against the fake provider on loopback:
//! import a 50-row CSV (Record Collector) → write a template and see a field
//! flagged as missing, then fixed (Prompt Template Manager) → generate,
//! approve and run the requests (Request Reviewer) → export the answers as
//! CSV (Insight Assembler) → run again on a second model and compare the two
//! runs by record (Insight Assembler, Compare runs) → watch a rate-limited
//! request retried, then a run sent as a batch (Request Reviewer). The exported file is read back and checked, the
//! fake provider's log shows each record sent once, and every screen is
//! saved as a screenshot.

use std::path::Path;

use fake_provider::{FakeConfig, FakeProvider, RecordedRequest};
use fantoccini::{Client, Locator};
use integration_tests::Sandbox;
use records::{Format, Limits};

use crate::harness::{
    Driver, app_args, axe_violations, remote_dist, screenshot, serial, show, wait_for, wait_for_content, wait_for_text,
    wait_until,
};

const REMOTES: [&str; 5] =
    ["record-collector", "prompt-templates", "request-reviewer", "insight-assembler", "admin-dashboard"];
const ROWS: usize = 50;
const KEY: &str = "sk-analyst-flow-test";
const MODEL: &str = "gpt-4o-mini";
/// The model of the second run, compared with the first.
const SECOND_MODEL: &str = "llama-3.1-8b-instant";

/// `title,author,year` for `ROWS` books, each title unique.
fn books_csv(path: &Path) {
    let mut csv = String::from("title,author,year\n");
    for i in 0..ROWS {
        csv.push_str(&format!("Book number {i},Author {},{}\n", i % 7, 1950 + i));
    }
    std::fs::write(path, csv).unwrap();
}

/// Starts the app with the fake provider's base URL saved and the key given
/// the way a CI machine would: `AUGMENT_OPENAI_API_KEY` (no keychain needed).
/// The native file dialogs are answered from [`answers`] (debug builds only:
/// `AUGMENT_TEST_DIALOG_ANSWERS`, see `src-tauri/src/commands/files.rs`).
fn launcher(root: &Path) -> std::path::PathBuf {
    let variables = [
        ("AUGMENT_OPENAI_API_KEY", KEY.to_owned()),
        ("AUGMENT_DATA_DIR", root.join("data").display().to_string()),
        ("AUGMENT_TEST_DIALOG_ANSWERS", answers(root).display().to_string()),
        ("AUGMENT_TEST_REVEALED", revealed(root).display().to_string()),
    ];
    crate::harness::launcher_script(root, &variables)
}

/// The file the app's next file dialog takes its answer from.
fn answers(root: &Path) -> std::path::PathBuf {
    root.join("dialog-answers")
}

/// Where a debug build writes what "Show in folder" would show (`AUGMENT_TEST_REVEALED`).
fn revealed(root: &Path) -> std::path::PathBuf {
    root.join("revealed")
}

/// What the person picks in the next file dialog.
fn answer_next_dialog(root: &Path, path: &Path) {
    std::fs::write(answers(root), format!("{}\n", path.display())).unwrap();
}

fn in_remote(remote: &str, testid: &str) -> String {
    format!(r#"section[data-remote="{remote}"] [data-testid="{testid}"]"#)
}

async fn click(app: &Client, remote: &str, testid: &str) {
    let css = format!("{}:not([disabled])", in_remote(remote, testid));
    wait_for(app, &css).await.click().await.unwrap();
}

async fn type_into(app: &Client, remote: &str, testid: &str, text: &str) {
    let field = wait_for(app, &in_remote(remote, testid)).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_template_review_run_and_export_fifty_records() {
    let _one = serial().await;
    let fake =
        FakeProvider::start(FakeConfig { expected_key: Some(KEY.to_owned()), ..FakeConfig::default() }).await.unwrap();
    let sandbox = Sandbox::new();
    for remote in REMOTES {
        let out = sandbox.publish(&remote_dist(remote));
        assert!(out.status.success(), "publishing {remote}: {}", integration_tests::describe(&out));
    }
    let root = tempfile::tempdir().unwrap();
    let csv = root.path().join("books.csv");
    books_csv(&csv);
    let config_dir = sandbox.path().join("config");
    std::fs::create_dir_all(&config_dir).unwrap();
    let settings =
        serde_json::json!({ "providers": { "openai": { "baseUrl": fake.base_url(), "defaultModel": MODEL } } });
    std::fs::write(config_dir.join("settings.json"), settings.to_string()).unwrap();

    let driver = Driver::start();
    let app = driver
        .open_application(&launcher(root.path()), &app_args(&sandbox, &sandbox.registry().display().to_string()))
        .await;
    for remote in REMOTES {
        wait_for(&app, &format!(r#"section[data-remote="{remote}"][data-state="mounted"]"#)).await;
    }

    // Each screen with data on it is checked by axe too (colour contrast included).
    let mut axe_problems = Vec::new();

    // Record Collector, the workflow's first step, is the first screen.
    let rc = "record-collector";
    wait_for(&app, &format!(r#"section[data-remote="{rc}"]:not([hidden])"#)).await;
    answer_next_dialog(root.path(), &csv);
    click(&app, rc, "rc-choose-file").await;
    wait_for_text(&app, &in_remote(rc, "rc-file"), "books.csv").await;
    type_into(&app, rc, "rc-name", "books").await;
    click(&app, rc, "rc-preview").await;
    wait_for_text(&app, &in_remote(rc, "rc-parser"), "in-process").await;
    wait_for_content(&app, &in_remote(rc, "rc-preview-table"), "Book number 0").await;
    screenshot(&app, "5-analyst-1-record-collector-preview").await;
    click(&app, rc, "rc-save").await;
    wait_for_content(&app, &in_remote(rc, "rc-datasets"), "books").await;
    wait_for_content(&app, &in_remote(rc, "rc-records"), "Book number 0").await;
    screenshot(&app, "5-analyst-2-record-collector-dataset").await;
    axe_problems
        .extend(axe_violations(&app).await.into_iter().map(|v| format!("5-analyst-2-record-collector-dataset: {v}")));
    // The file is now a recent one: picking it again needs no dialog.
    let recent = wait_for(&app, &in_remote(rc, "rc-recent")).await;
    let offered = recent.text().await.unwrap();
    assert!(offered.contains(&format!("books.csv — {}", root.path().display())), "{offered}");
    recent.select_by_index(1).await.unwrap();
    wait_for_text(&app, &in_remote(rc, "rc-file"), "books.csv").await;
    click(&app, rc, "rc-clear-file").await;

    // Prompt Template Manager: a field the dataset lacks is flagged, then fixed.
    let pt = "prompt-templates";
    show(&app, pt).await;
    type_into(&app, pt, "pt-name", "blurb").await;
    type_into(&app, pt, "pt-body", "Describe {{ title }} by {{ publisher }}.").await;
    wait_for_text(&app, &in_remote(pt, "pt-missing"), "publisher").await;
    screenshot(&app, "5-analyst-3-template-missing-field").await;
    type_into(&app, pt, "pt-body", "Describe {{ title }} by {{ author }} ({{ year }}).").await;
    wait_for_text(&app, &in_remote(pt, "pt-preview"), "Describe Book number 0 by Author 0 (1950).").await;
    assert!(
        app.find(Locator::Css(&in_remote(pt, "pt-missing"))).await.is_err(),
        "nothing is flagged once every field exists"
    );
    click(&app, pt, "pt-save").await;
    wait_for_content(&app, &in_remote(pt, "pt-templates"), "blurb").await;
    screenshot(&app, "5-analyst-4-template-saved").await;
    axe_problems.extend(axe_violations(&app).await.into_iter().map(|v| format!("5-analyst-4-template-saved: {v}")));

    // Request Reviewer: generate for one model, approve all, run.
    let rr = "request-reviewer";
    show(&app, rr).await;
    type_into(&app, rr, "rr-model", MODEL).await;
    click(&app, rr, "rr-generate").await;
    wait_for_content(&app, &in_remote(rr, "rr-requests"), "Describe Book number 0 by Author 0").await;
    click(&app, rr, "rr-approve-all").await;
    wait_for(&app, &format!(r#"{} [data-status="approved"]"#, in_remote(rr, "rr-requests"))).await;
    // Undo from the toast puts them back to pending; approve them again.
    wait_for(&app, ".aui-toast .aui-toast-action").await.click().await.unwrap();
    wait_for_text(&app, ".aui-toaster", &format!("Undone: {ROWS} requests are pending again")).await;
    wait_for(&app, &format!(r#"{} [data-status="pending"]"#, in_remote(rr, "rr-requests"))).await;
    click(&app, rr, "rr-approve-all").await;
    wait_for(&app, &format!(r#"{} [data-status="approved"]"#, in_remote(rr, "rr-requests"))).await;
    wait_for_content(&app, &in_remote(rr, "rr-estimate"), MODEL).await;
    screenshot(&app, "5-analyst-5-requests-approved").await;
    axe_problems.extend(axe_violations(&app).await.into_iter().map(|v| format!("5-analyst-5-requests-approved: {v}")));
    click(&app, rr, "rr-run").await;
    let done = format!(r#"{}[data-status="completed"]"#, in_remote(rr, "rr-run-status"));
    wait_for_content(&app, &done, &format!("answered {ROWS} of {ROWS}")).await;
    screenshot(&app, "5-analyst-6-run-completed").await;

    // Insight Assembler: the answers next to their records, exported as CSV.
    let ia = "insight-assembler";
    show(&app, ia).await;
    wait_for_content(&app, &in_remote(ia, "ia-responses"), &fake_reply()).await;
    let export = root.path().join("books-answers.csv");
    wait_for(&app, &in_remote(ia, "ia-export-format")).await.select_by_value("csv").await.unwrap();
    answer_next_dialog(root.path(), &export);
    click(&app, ia, "ia-export-choose").await;
    wait_for_text(&app, &in_remote(ia, "ia-export-file"), "books-answers.csv").await;
    click(&app, ia, "ia-export").await;
    wait_for_content(&app, &in_remote(ia, "ia-export-result"), &format!("Exported {ROWS} responses")).await;
    screenshot(&app, "5-analyst-7-exported").await;
    axe_problems.extend(axe_violations(&app).await.into_iter().map(|v| format!("5-analyst-7-exported: {v}")));
    click(&app, ia, "ia-show-in-folder").await;
    wait_for_revealed(&revealed(root.path()), &export).await;

    // The charts of the run (issue 16, point 4), in both themes.
    crate::charts::charts_are_drawn_after_a_run(&app, &mut axe_problems).await;

    // Issue 17, point 6: a second run on another model, compared with the first by record.
    show(&app, rr).await;
    type_into(&app, rr, "rr-model", SECOND_MODEL).await;
    dismiss_toasts(&app).await;
    click(&app, rr, "rr-generate").await;
    wait_for_content(&app, &in_remote(rr, "rr-requests"), SECOND_MODEL).await;
    click(&app, rr, "rr-approve-all").await;
    wait_for_text(&app, ".aui-toaster", &format!("{ROWS} requests approved")).await;
    click(&app, rr, "rr-run").await;
    let second = format!(r#"{}[data-run-id="2"][data-status="completed"]"#, in_remote(rr, "rr-run-status"));
    wait_for_content(&app, &second, &format!("answered {ROWS} of {ROWS}")).await;
    show(&app, ia).await;
    wait_for(&app, &format!("{} summary", in_remote(ia, "ia-compare-runs-section"))).await.click().await.unwrap();
    wait_for(&app, &in_remote(ia, "ia-baseline-run")).await.select_by_value("1").await.unwrap();
    wait_for(&app, &in_remote(ia, "ia-candidate-run")).await.select_by_value("2").await.unwrap();
    wait_for_content(
        &app,
        &in_remote(ia, "ia-compare-summary"),
        &format!("Agreement 100% ({ROWS} of {ROWS} records with both answers)"),
    )
    .await;
    wait_for(&app, &format!(r#"{}[data-verdict="agree"]"#, in_remote(ia, "ia-pair"))).await;
    screenshot(&app, "5-analyst-8-compare-runs").await;
    axe_problems.extend(axe_violations(&app).await.into_iter().map(|v| format!("5-analyst-8-compare-runs: {v}")));
    wait_for(&app, &in_remote(ia, "ia-compare-show")).await.select_by_value("differ").await.unwrap();
    wait_for_content(&app, &in_remote(ia, "ia-compare-runs"), "No records to show with this filter.").await;

    // Issue 17, point 4: a new template version whose prompt for one record the
    // fake provider rate-limits (429, Retry-After 1 s) every time: the Request
    // Reviewer shows the retries while they wait, and the run ends with that one
    // request failed and the other 49 answered from the AI cache (same prompts as run 1).
    show(&app, pt).await;
    let limited = "Describe {{ title }} by {{ author }} ({{ year }}).\
                   {% if title == 'Book number 3' %} [fake:429:1]{% endif %}";
    type_into(&app, pt, "pt-body", limited).await;
    click(&app, pt, "pt-save").await;
    wait_for_content(&app, &in_remote(pt, "pt-versions"), "Version 2 current").await;
    show(&app, rr).await;
    type_into(&app, rr, "rr-model", MODEL).await;
    dismiss_toasts(&app).await;
    click(&app, rr, "rr-generate").await;
    wait_for_text(&app, ".aui-toaster", &format!("{ROWS} requests generated")).await;
    click(&app, rr, "rr-approve-all").await;
    wait_for_text(&app, ".aui-toaster", &format!("{ROWS} requests approved")).await;
    click(&app, rr, "rr-run").await;
    wait_for_text(&app, &in_remote(rr, "rr-run-waits"), "openai: rate limited, retrying in 1 s").await;
    screenshot(&app, "5-analyst-9-run-retrying").await;
    let third = format!(r#"{}[data-run-id="3"][data-status="completed"]"#, in_remote(rr, "rr-run-status"));
    let status = wait_for_content(&app, &third, "failed 1").await;
    assert!(status.contains(&format!("answered {} ({} from the AI cache)", ROWS - 1, ROWS - 1)), "{status}");

    // Issue 17, point 3: version 2 for the second model, sent as a batch. Its
    // 49 prompts the second run already sent are answered from the AI cache;
    // the batch holds the rest, the two rate-limited requests (this one and
    // the third run's failed one), which the provider's batch returns as errors.
    type_into(&app, rr, "rr-model", SECOND_MODEL).await;
    dismiss_toasts(&app).await;
    click(&app, rr, "rr-generate").await;
    wait_for_text(&app, ".aui-toaster", &format!("{ROWS} requests generated")).await;
    click(&app, rr, "rr-approve-all").await;
    wait_for_text(&app, ".aui-toaster", &format!("{ROWS} requests approved")).await;
    click(&app, rr, "rr-batch").await;
    click(&app, rr, "rr-run").await;
    wait_for_text(&app, &in_remote(rr, "rr-batch-status"), "batch").await;
    screenshot(&app, "5-analyst-10-run-as-batch").await;
    let fourth = format!(r#"{}[data-run-id="4"][data-status="completed"]"#, in_remote(rr, "rr-run-status"));
    let status = wait_for_content(&app, &fourth, "failed 2").await;
    assert!(
        status.contains(&format!("answered {} ({} from the AI cache) of {}", ROWS - 1, ROWS - 1, ROWS + 1)),
        "{status}"
    );
    app.close().await.unwrap();
    drop(driver);

    assert!(axe_problems.is_empty(), "axe found {} problems:\n{}", axe_problems.len(), axe_problems.join("\n"));
    check_export(&export);
    check_provider_saw_each_record_once(&fake);
}

/// Dismisses every toast, so the next toast waited for is the next action's.
async fn dismiss_toasts(app: &Client) {
    let dismiss = r#"document.querySelectorAll('.aui-toast button[aria-label="Dismiss"]').forEach((b) => b.click());
                     return document.querySelectorAll('.aui-toast').length;"#;
    let left = async || app.execute(dismiss, vec![]).await.unwrap();
    wait_until("every toast dismissed", left, |n| n == &serde_json::json!(0)).await;
}

/// Waits until "Show in folder" has named `file` (the test double writes it down).
async fn wait_for_revealed(log: &Path, file: &Path) {
    let read = async || std::fs::read_to_string(log).unwrap_or_default();
    let what = format!("showed {} in its folder", file.display());
    wait_until(&what, read, |shown| shown.lines().any(|line| Path::new(line) == file)).await;
}

fn fake_reply() -> String {
    FakeConfig::default().reply
}

/// One row per record, each with its own fields, the model and the answer.
fn check_export(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let table = records::parse(Format::Csv, &bytes, &Limits::default()).unwrap();
    assert_eq!(table.rows.len(), ROWS, "one exported row per record");
    let column = |name: &str| {
        table
            .columns
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no `{name}` column in {:?}", table.columns))
    };
    let (title, model, answer) = (column("title"), column("model"), column("response"));
    let mut titles: Vec<String> = table.rows.iter().map(|row| row[title].to_string()).collect();
    titles.sort();
    titles.dedup();
    assert_eq!(titles.len(), ROWS, "every record is exported once");
    for row in &table.rows {
        assert_eq!(row[model].as_str(), Some(MODEL));
        assert_eq!(row[answer].as_str(), Some(fake_reply().as_str()));
    }
}

/// Every chat request carried the key. The first run sent each record once
/// with its rendered prompt, the second run (another model) each record once
/// more, and the third only its rate-limited request, 4 times: the rest of
/// its prompts were the first run's, answered from the AI cache; the fourth
/// went out as one batch, not through the chat endpoint.
fn check_provider_saw_each_record_once(fake: &FakeProvider) {
    let all: Vec<_> = fake.requests().into_iter().filter(|r| r.path == "/v1/chat/completions").collect();
    let limited: Vec<_> = all.iter().filter(|r| r.body.contains("[fake:429:1]")).collect();
    assert_eq!(
        limited.len(),
        4,
        "the rate-limited request is tried 4 times, then fails (live; the batch run sent none)"
    );
    let batches = fake.requests().into_iter().filter(|r| r.method == "POST" && r.path == "/v1/batches").count();
    assert_eq!(batches, 1, "the fourth run went out as one batch");
    assert_eq!(all.len(), 2 * ROWS + limited.len(), "each approved request of the first two runs is sent exactly once");
    assert!(all.iter().all(|r| r.bearer_token() == Some(KEY)));
    let first_run =
        |r: &&RecordedRequest| r.body.contains(&format!(r#""model":"{MODEL}""#)) && !r.body.contains("[fake:");
    let chats: Vec<_> = all.iter().filter(first_run).collect();
    assert_eq!(chats.len(), ROWS, "each approved request of the first run is sent exactly once");
    for i in 0..ROWS {
        let prompt = format!("Describe Book number {i} by Author {} ({}).", i % 7, 1950 + i);
        let sent = chats.iter().filter(|r| r.body.contains(&prompt)).count();
        assert_eq!(sent, 1, "record {i} was sent {sent} times");
    }
}
