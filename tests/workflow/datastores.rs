//! `augment data connect|import nocodb` and `augment run export --to nocodb`
//! end to end: the real binary, the fake NocoDB (REST v2 on loopback) and the
//! fake provider. The token comes from `AUGMENT_DATASTORE_<NAME>_API_KEY`, so
//! no keychain is needed; the fake refuses any other token.

use std::process::{Command, Output};

use fake_datastores::Served;
use fake_datastores::nocodb::{Column, FakeNocodb, Table};
use integration_tests::{describe, json};
use serde_json::Value;

use super::{Workspace, blocking, chats, fake};

const TOKEN: &str = "nc-token-for-the-workflow-test-0123456789";

/// A NocoDB table `books` of `rows` rows: Id, Title.
fn books(rows: usize) -> Table {
    let mut table = Table::new("books", vec![Column::new("Title", "SingleLineText")]);
    for i in 1..=rows {
        table.push(serde_json::json!({"Id": i, "Title": format!("Book {i}")}));
    }
    table
}

fn nocodb_with(table: Table) -> FakeNocodb {
    FakeNocodb::new(TOKEN).with_table(table)
}

/// `augment …` in the workspace with connection `work`'s token in the environment.
fn store_command(ws: &Workspace, args: &[&str]) -> Command {
    let mut command = ws.command(args);
    command
        .env("AUGMENT_DATASTORE_WORK_API_KEY", TOKEN)
        .env("AUGMENT_DATASTORE_ELSEWHERE_API_KEY", TOKEN)
        .env("AUGMENT_DATASTORE_BAD_API_KEY", "nc-wrong-token-987654321");
    command
}

fn run(ws: &Workspace, args: &[&str]) -> Output {
    store_command(ws, args).output().unwrap()
}

fn ok_json(ws: &Workspace, args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = run(ws, &with_json);
    assert!(out.status.success(), "augment {args:?}: {}", describe(&out));
    assert!(!integration_tests::text(&out).contains(TOKEN), "the token is never printed: {}", describe(&out));
    json(&out)
}

fn connect(ws: &Workspace, name: &str, served: &Served, table: &str) -> Value {
    ok_json(ws, &["data", "connect", "nocodb", "--name", name, "--url", &served.url(), "--table", table])
}

/// Rows the fake received in the write requests since request `from`.
fn written_rows(nocodb: &FakeNocodb, from: usize) -> usize {
    nocodb.requests()[from..].iter().filter(|r| r.route == "update" && r.status == 200).map(|r| r.rows).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nocodb_table_of_2500_rows_is_previewed_then_imported_over_several_pages() {
    let nocodb = nocodb_with(books(2500)).with_max_page_size(1000);
    let served = nocodb.serve().await.unwrap();
    let provider = fake().await;
    let ws = Workspace::new(&provider.base_url(), &[]);
    blocking(|| {
        let saved = connect(&ws, "work", &served, "books");
        assert_eq!((saved["name"].as_str(), saved["kind"].as_str()), (Some("work"), Some("nocodb")), "{saved}");
        assert_eq!(saved["hasCredential"], true, "the token in the environment counts: {saved}");
        let listed = ok_json(&ws, &["data", "connections"]);
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
        assert!(!listed.to_string().contains(TOKEN));

        let preview = ok_json(&ws, &["data", "import", "nocodb", "--connection", "work", "--preview"]);
        assert_eq!(preview["keyColumn"], "Id", "NocoDB's primary key holds each row's key: {preview}");
        assert_eq!(preview["rows"].as_array().map(Vec::len), Some(20), "{preview}");
        let title = preview["columns"].as_array().unwrap().iter().find(|c| c["name"] == "Title").unwrap();
        assert_eq!(title["samples"][0], "Book 1", "{title}");
        assert_eq!(ws.ok_json(&["data", "list"]).as_array().map(Vec::len), Some(0), "a preview imports nothing");

        let before = nocodb.requests().iter().filter(|r| r.route == "list").count();
        let imported = ok_json(
            &ws,
            &["data", "import", "nocodb", "--connection", "work", "--name", "books", "--map", "Title=title"],
        );
        assert_eq!(imported["row_count"], 2500, "{imported}");
        let columns: Vec<&str> =
            imported["columns"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
        assert_eq!(columns, ["Id", "title"], "the key first, then the mapped columns in order");
        let pages = nocodb.requests().iter().filter(|r| r.route == "list").count() - before;
        assert!(pages >= 3, "2500 rows at 1000 a page take 3 pages, not one: {pages}");
        let shown = ws.ok_json(&["data", "show", "books", "--offset", "2499", "--limit", "1"]);
        assert_eq!(shown["records"][0]["fields"]["title"], "Book 2500", "{shown}");

        // The same name again is refused before anything is fetched.
        let again = run(&ws, &["data", "import", "nocodb", "--connection", "work", "--name", "books"]);
        assert_eq!(again.status.code(), Some(2), "{}", describe(&again));
        assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"), "{}", describe(&again));
    });
    assert_eq!(chats(&provider), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_written_back_once_per_row_twice_without_duplicates_and_failures_are_listed() {
    // 250 rows: NocoDB writes at most 100 records a request, so a write-back takes 3 batches.
    let nocodb = nocodb_with(books(250)).with_max_page_size(100);
    let served = nocodb.serve().await.unwrap();
    let provider = fake().await;
    let ws = Workspace::new(&provider.base_url(), &[]);
    blocking(|| {
        connect(&ws, "work", &served, "books");
        ok_json(&ws, &["data", "import", "nocodb", "--connection", "work", "--name", "books"]);
        ws.ok_json(&["template", "add", "ask", "--text", "About {{ Title }}"]);
        let done = ws.ok_json(&[
            "run",
            "start",
            "--dataset",
            "books",
            "--template",
            "ask",
            "--provider",
            "openai",
            "--model",
            "gpt-4o-mini",
            "--approve-all",
        ]);
        assert_eq!(done["answered"], 250, "{done}");
        let run_id = done["run_id"].as_i64().unwrap().to_string();
        let export = |extra: &[&str]| {
            let mut args = vec![
                "run",
                "export",
                run_id.as_str(),
                "--to",
                "nocodb",
                "--connection",
                "work",
                "--answer-column",
                "Answer",
                "--tags-column",
                "Tags",
            ];
            args.extend_from_slice(extra);
            args.push("--json");
            run(&ws, &args)
        };

        // Another table of the same server is not where these records came from.
        connect(&ws, "elsewhere", &served, "other");
        let foreign = run(
            &ws,
            &["run", "export", &run_id, "--to", "nocodb", "--connection", "elsewhere", "--answer-column", "Title"],
        );
        assert_eq!(foreign.status.code(), Some(2), "{}", describe(&foreign));
        assert!(String::from_utf8_lossy(&foreign.stderr).contains("connection `work`"), "{}", describe(&foreign));

        // Without --create-columns a missing column is a clear refusal.
        let missing = export(&[]);
        assert_eq!(missing.status.code(), Some(2), "{}", describe(&missing));
        assert!(String::from_utf8_lossy(&missing.stdout).contains("Answer"), "{}", describe(&missing));

        for round in 1..=2 {
            let from = nocodb.requests().len();
            let out = export(&["--create-columns"]);
            assert!(out.status.success(), "round {round}: {}", describe(&out));
            let report = json(&out);
            assert_eq!(report["updated"], 250, "round {round}: {report}");
            assert_eq!(report["failed"].as_array().map(Vec::len), Some(0), "{report}");
            let created = if round == 1 { vec!["Answer", "Tags"] } else { vec![] };
            assert_eq!(report["createdColumns"], serde_json::json!(created), "round {round}: {report}");
            assert_eq!(written_rows(&nocodb, from), 250, "round {round}: every row written once");
        }
        let rows = nocodb.rows("books");
        assert_eq!(rows.len(), 250, "a second export updates, never adds rows");
        assert!(rows.iter().all(|r| r["Answer"] == "Hello from the fake provider."), "{rows:?}");
        let answer_columns = nocodb.columns("books").iter().filter(|c| c.title == "Answer").count();
        assert_eq!(answer_columns, 1, "the column is created once");

        // A row refused mid-way: its batch is split until only that row
        // fails; it is listed, every other row written, exit 11.
        nocodb.fail_keys(["7"]);
        let out = export(&[]);
        assert_eq!(out.status.code(), Some(11), "{}", describe(&out));
        let report = json(&out);
        let failed: Vec<&str> = report["failed"].as_array().unwrap().iter().filter_map(|f| f["key"].as_str()).collect();
        assert_eq!(failed, ["7"], "only the refused row failed: {report}");
        assert_eq!(report["updated"], 249, "{report}");
        nocodb.clear_failures();
        assert!(export(&[]).status.success(), "a re-run writes the rows that failed");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_and_a_foreign_table_are_refused_with_what_to_do() {
    let nocodb = nocodb_with(books(5)).with_table(Table::new("other", vec![Column::new("Title", "SingleLineText")]));
    let served = nocodb.serve().await.unwrap();
    let provider = fake().await;
    let ws = Workspace::new(&provider.base_url(), &[("alpha", "one")]);
    blocking(|| {
        connect(&ws, "bad", &served, "books");
        let out = run(&ws, &["data", "import", "nocodb", "--connection", "bad", "--name", "books", "-vvv"]);
        assert_eq!(out.status.code(), Some(10), "a refused token exits 10: {}", describe(&out));
        let text = integration_tests::text(&out);
        assert!(text.contains("refused the credential"), "{text}");
        assert!(!text.contains("nc-wrong-token-987654321"), "the token is never printed or logged: {text}");
        assert_eq!(ws.ok_json(&["data", "list"]).as_array().map(Vec::len), Some(0), "nothing stored");

        let unknown = run(&ws, &["data", "import", "nocodb", "--connection", "nowhere"]);
        assert_eq!(unknown.status.code(), Some(2), "{}", describe(&unknown));
        assert!(
            String::from_utf8_lossy(&unknown.stderr).contains("bad"),
            "lists the connections: {}",
            describe(&unknown)
        );

        // A run over a CSV dataset: not from the connection's table, refused unless --key-column says where the keys are.
        connect(&ws, "work", &served, "other");
        ws.prepare();
        let done = ws.ok_json(&[
            "run",
            "start",
            "--dataset",
            "items",
            "--template",
            "ask",
            "--provider",
            "openai",
            "--model",
            "gpt-4o-mini",
            "--approve-all",
        ]);
        let run_id = done["run_id"].as_i64().unwrap().to_string();
        let args = ["run", "export", &run_id, "--to", "nocodb", "--connection", "work", "--answer-column", "Title"];
        let refused = run(&ws, &args);
        assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
        assert!(String::from_utf8_lossy(&refused.stderr).contains("--key-column"), "{}", describe(&refused));
        assert!(nocodb.requests().iter().all(|r| r.route != "update"), "nothing written");
    });
}
