//! `augment data|template|run` end to end: the real `augment` binary, a real
//! SQLite database in a temp dir, and the fake provider (the OpenAI wire
//! format on loopback) as the `openai` provider, its base URL saved in a
//! settings.json as the app saves it. The key comes from
//! `AUGMENT_OPENAI_API_KEY`, so no keychain is needed; the fake provider
//! refuses any other key, which shows the key reached it.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

mod datastores;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use fake_provider::{FakeConfig, FakeProvider};
use integration_tests::{augment_bin, describe, json, wait_until};
use serde_json::Value;

const KEY: &str = "sk-workflow-test-key";
const DEADLINE: Duration = Duration::from_secs(60);

/// A data dir, a config dir pointing `openai` at the fake provider, and a CSV.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(base_url: &str, rows: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        let settings = serde_json::json!({ "providers": { "openai": { "baseUrl": base_url } } });
        std::fs::write(dir.path().join("config/settings.json"), settings.to_string()).unwrap();
        let mut csv = String::from("title,body\n");
        for (title, body) in rows {
            csv.push_str(&format!("{title},{body}\n"));
        }
        std::fs::write(dir.path().join("items.csv"), csv).unwrap();
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(augment_bin());
        command
            .args(args)
            .arg("--data-dir")
            .arg(self.path("data"))
            .env("AUGMENT_CONFIG_DIR", self.path("config"))
            .env("AUGMENT_OPENAI_API_KEY", KEY)
            .env_remove("AUGMENT_DATA_DIR")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok_json(&self, args: &[&str]) -> Value {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        let out = self.run(&with_json);
        assert!(out.status.success(), "augment {args:?}: {}", describe(&out));
        json(&out)
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().unwrap()
    }

    /// Imports items.csv and adds a template over its two columns.
    fn prepare(&self) {
        let imported = self.ok_json(&["data", "import", "items.csv"]);
        assert_eq!(imported["name"], "items", "named after the file: {imported}");
        self.ok_json(&["template", "add", "ask", "--text", "{{ title }}: {{ body }}"]);
    }
}

fn start_args(extra: &[&'static str]) -> Vec<&'static str> {
    start_args_on("openai", "gpt-4o-mini", extra)
}

/// `run start` of the items with the ask template on `provider`'s `model`, then `extra`.
fn start_args_on(provider: &'static str, model: &'static str, extra: &[&'static str]) -> Vec<&'static str> {
    let mut args =
        vec!["run", "start", "--dataset", "items", "--template", "ask", "--provider", provider, "--model", model];
    args.extend_from_slice(extra);
    args
}

async fn fake() -> FakeProvider {
    FakeProvider::start(FakeConfig { expected_key: Some(KEY.to_owned()), ..FakeConfig::default() }).await.unwrap()
}

/// Chat requests the fake provider received (the preflight's model listing aside).
fn chats(fake: &FakeProvider) -> usize {
    fake.requests().iter().filter(|r| r.path.ends_with("/chat/completions")).count()
}

/// In a blocking section: the fake provider keeps serving on the other worker.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn csv_rows(path: &Path) -> Vec<csv_row::Row> {
    csv_row::read(path)
}

/// A tiny CSV reader for the assertions (the export's own escaping is local-data's).
mod csv_row {
    pub type Row = Vec<String>;

    pub fn read(path: &std::path::Path) -> Vec<Row> {
        let text = std::fs::read_to_string(path).unwrap();
        let mut rows = Vec::new();
        let mut row = Vec::new();
        let mut cell = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cell.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => row.push(std::mem::take(&mut cell)),
                ('\n', false) => {
                    row.push(std::mem::take(&mut cell));
                    rows.push(std::mem::take(&mut row));
                }
                (c, _) => cell.push(c),
            }
        }
        rows
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_template_run_status_export() {
    let fake = fake().await;
    let ws = Workspace::new(&fake.base_url(), &[("alpha", "one"), ("beta", "two"), ("gamma", "three")]);
    blocking(|| {
        ws.prepare();
        let listed = ws.ok_json(&["data", "list"]);
        assert_eq!(listed[0]["row_count"], 3, "{listed}");

        let out = ws.run(&start_args(&["--approve-all", "--json", "-vvv"]));
        assert!(out.status.success(), "{}", describe(&out));
        assert!(
            !integration_tests::text(&out).contains(KEY),
            "the key is never printed or logged, even at trace level"
        );
        let done = json(&out);
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["answered"], 3, "{done}");
        assert_eq!(done["failed"], 0, "{done}");
        assert_eq!(done["dataset"], "items", "{done}");
        let run = done["run_id"].as_i64().unwrap();
        assert_eq!(chats(&fake), 3, "one chat call per record");
        assert!(
            fake.requests().iter().all(|r| r.bearer_token() == Some(KEY)),
            "every call carried the key from the environment"
        );

        let status = ws.ok_json(&["run", "status", &run.to_string()]);
        assert_eq!((status["status"].as_str(), status["answered"].as_u64()), (Some("completed"), Some(3)), "{status}");
        let list = ws.ok_json(&["run", "list"]);
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

        let exported = ws.ok_json(&["run", "export", &run.to_string(), "--format", "csv", "--out", "answers.csv"]);
        assert_eq!(exported["rows"], 3, "{exported}");
        let rows = csv_rows(&ws.path("answers.csv"));
        assert_eq!(rows.len(), 4, "a header and one row per record: {rows:?}");
        let answer = rows[0].iter().position(|c| c == "response").expect("a response column");
        for row in &rows[1..] {
            assert_eq!(row[answer], "Hello from the fake provider.", "{row:?}");
        }
        let prompts: Vec<&str> =
            rows[1..].iter().filter_map(|r| r.iter().find(|c| c.ends_with(": one"))).map(String::as_str).collect();
        assert_eq!(prompts, ["alpha: one"], "the prompt rendered from the record is exported");

        ws.ok_json(&["run", "export", &run.to_string(), "--format", "json", "--out", "answers.json"]);
        let answers: Value = serde_json::from_slice(&std::fs::read(ws.path("answers.json")).unwrap()).unwrap();
        assert_eq!(answers.as_array().unwrap().len(), 3, "{answers}");

        let again = ws.run(&["run", "export", &run.to_string(), "--format", "md", "--out", "answers.csv"]);
        assert_eq!(again.status.code(), Some(2), "an existing file is not replaced: {}", describe(&again));
        assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"), "{}", describe(&again));

        // A second start finds every approved request answered: nothing is sent again.
        let nothing = ws.run(&start_args(&["--approve-all"]));
        assert_eq!(nothing.status.code(), Some(2), "{}", describe(&nothing));
        assert_eq!(chats(&fake), 3, "answered requests are never sent again");
    });
}

/// Issue 17, point 7: a local OpenAI-compatible server added under its own
/// name, with the `/v1` base URL its docs show and no key, runs like a
/// built-in provider; `augment prices set` prices its model in the estimate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_keyless_provider_runs_and_prices_set_change_the_estimate() {
    // A local server that takes no key: the fake checks none.
    let fake = FakeProvider::start(FakeConfig::default()).await.unwrap();
    let ws = Workspace::new("https://api.openai.com", &[("alpha", "one"), ("beta", "two")]);
    let v1 = format!("{}/v1/", fake.base_url());
    // `augment providers` works on the app's settings (AUGMENT_CONFIG_DIR), not its database.
    let providers = |args: &[&str]| {
        Command::new(augment_bin())
            .arg("providers")
            .args(args)
            .arg("--json")
            .env("AUGMENT_CONFIG_DIR", ws.path("config"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let providers_json = |args: &[&str]| {
        let out = providers(args);
        assert!(out.status.success(), "augment providers {args:?}: {}", describe(&out));
        json(&out)
    };
    blocking(|| {
        ws.prepare();
        let added = providers_json(&["add", "local-llm", "--kind", "openai-compatible", "--base-url", v1.as_str()]);
        assert_eq!(added["baseUrl"], fake.base_url(), "stored without /v1: {added}");
        let listed = providers_json(&["list"]);
        let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|p| p["provider"].as_str().unwrap()).collect();
        assert_eq!(ids, ["openai", "anthropic", "groq", "local-llm"], "{listed}");
        assert_eq!(listed[3]["kind"], "openai-compatible", "{listed}");
        let file: Value = serde_json::from_slice(&std::fs::read(ws.path("config/settings.json")).unwrap()).unwrap();
        assert_eq!(file["providers"]["openai"]["baseUrl"], "https://api.openai.com", "the rest is kept: {file}");
        assert_eq!(
            file["providers"]["local-llm"],
            serde_json::json!({ "kind": "openai-compatible", "baseUrl": fake.base_url() })
        );
        let models = providers_json(&["models", "local-llm"]);
        assert_eq!(models.as_array().map(Vec::len), Some(3), "the fake's /v1/models: {models}");
        assert_eq!(fake.requests().last().unwrap().path, "/v1/models");
        let again = providers(&["add", "local-llm", "--kind", "vllm"]);
        assert_eq!(again.status.code(), Some(2), "{}", describe(&again));

        let on_local = |model: &'static str, extra: &[&'static str]| start_args_on("local-llm", model, extra);
        let done = ws.ok_json(&on_local("llama3.2", &["--approve-all"]));
        assert_eq!((done["status"].as_str(), done["answered"].as_u64()), (Some("completed"), Some(2)), "{done}");
        assert_eq!(chats(&fake), 2, "one chat call per record");
        for request in fake.requests() {
            assert!(request.path.starts_with("/v1/") && !request.path.starts_with("/v1/v1"), "{}", request.path);
            assert_eq!(request.header("authorization"), None, "no key stored, none sent");
        }

        // Unpriced until `prices set`; then priced live and batch; reset: unpriced again.
        let plan = ws.ok_json(&on_local("llama3.3", &["--dry-run", "--approve-all"]));
        assert_eq!(plan["estimate"][0]["model"], "llama3.3", "{plan}");
        assert_eq!(plan["costUsd"], Value::Null, "{plan}");
        let set = ws.ok_json(&[
            "prices",
            "set",
            "local-llm",
            "llama3.3",
            "--input",
            "1",
            "--output",
            "2",
            "--batch-input",
            "0.5",
            "--batch-output",
            "1",
        ]);
        assert_eq!(set["overridden"], true, "{set}");
        let plan = ws.ok_json(&on_local("llama3.3", &["--dry-run", "--approve-all"]));
        let estimate = &plan["estimate"][0];
        let (input, output) = (estimate["input_tokens"].as_f64().unwrap(), estimate["output_tokens"].as_f64().unwrap());
        let cost = plan["costUsd"].as_f64().unwrap();
        assert!((cost - (input + 2.0 * output) / 1e6).abs() < 1e-12, "{plan}");
        let batch = estimate["batch_cost_usd"].as_f64().unwrap();
        assert!((batch - cost / 2.0).abs() < 1e-12, "{plan}");
        let prices = ws.ok_json(&["prices", "list"]);
        assert!(
            prices.as_array().unwrap().iter().any(|p| p["model"] == "llama3.3" && p["rates"]["input"] == 1.0),
            "{prices}"
        );
        ws.ok_json(&["prices", "reset", "local-llm", "llama3.3"]);
        let plan = ws.ok_json(&on_local("llama3.3", &["--dry-run", "--approve-all"]));
        assert_eq!(plan["costUsd"], Value::Null, "{plan}");
        let bad = ws.run(&["prices", "set", "local-llm", "llama3.3", "--input", "-1"]);
        assert_eq!(bad.status.code(), Some(2), "{}", describe(&bad));

        // Removed: no run can name it any more, and the message says what exists.
        providers_json(&["remove", "local-llm"]);
        let gone = ws.run(&on_local("llama3.2", &["--dry-run"]));
        assert_eq!(gone.status.code(), Some(2), "{}", describe(&gone));
        assert!(String::from_utf8_lossy(&gone.stderr).contains("openai, anthropic, groq"), "{}", describe(&gone));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_estimates_and_sends_nothing() {
    let fake = fake().await;
    let ws = Workspace::new(&fake.base_url(), &[("alpha", "one"), ("beta", "two")]);
    blocking(|| {
        ws.prepare();
        let plan = ws.ok_json(&start_args(&["--dry-run"]));
        assert_eq!(plan["generated"], 2, "{plan}");
        assert_eq!(plan["pendingReview"], 2, "without --approve-all nothing is approved: {plan}");
        assert_eq!(plan["wouldSend"], 0, "{plan}");

        let plan = ws.ok_json(&start_args(&["--dry-run", "--approve-all"]));
        assert_eq!(plan["generated"], 0, "the requests exist already and are kept: {plan}");
        assert_eq!(plan["wouldSend"], 2, "{plan}");
        assert_eq!(plan["estimate"][0]["requests"], 2, "{plan}");
        assert_eq!(plan["estimate"][0]["output_tokens"], 2 * 256, "{plan}");
        assert!(plan["estimate"][0]["input_tokens"].as_u64().unwrap() > 0, "{plan}");
        assert!(plan["costUsd"].as_f64().unwrap() > 0.0, "gpt-4o-mini is priced: {plan}");
        assert_eq!(plan["sent"], 0, "{plan}");

        // Without approvals, a real start is refused and says how to approve.
        let refused = ws.run(&start_args(&[]));
        assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
        assert!(String::from_utf8_lossy(&refused.stderr).contains("--approve-all"), "{}", describe(&refused));

        assert_eq!(fake.request_count(), 0, "a dry run, and a refused start, call nothing (no model listing either)");
        assert_eq!(ws.ok_json(&["run", "list"]), Value::Array(vec![]), "no run was created");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_fail_with_the_usage_code_and_list_what_exists() {
    let fake = fake().await;
    let ws = Workspace::new(&fake.base_url(), &[("alpha", "one")]);
    blocking(|| {
        ws.prepare();
        let mut args = start_args(&[]);
        args[3] = "itmes";
        let out = ws.run(&args);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("no dataset called `itmes`") && stderr.contains("`items`"), "{stderr}");

        args.push("--json");
        let out = ws.run(&args);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        let error = json(&out);
        assert_eq!(error["error"]["code"], 2, "{error}");
        assert!(error["error"]["message"].as_str().unwrap().contains("augment data list"), "{error}");

        let out = ws.run(&["template", "render", "nope", "--dataset", "items"]);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("`ask`"), "{}", describe(&out));

        let out = ws.run(&["run", "status", "42"]);
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no run 42"), "{}", describe(&out));

        // A field the dataset lacks is named by `template check` (exit 1) and refused by `run start`.
        ws.ok_json(&["template", "version", "ask", "--text", "{{ titel }}"]);
        let check = ws.run(&["template", "check", "ask", "--dataset", "items", "--json"]);
        assert_eq!(check.status.code(), Some(1), "{}", describe(&check));
        assert_eq!(json(&check)["missing_fields"], serde_json::json!(["titel"]));
        let out = ws.run(&start_args(&["--approve-all"]));
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("titel"), "{}", describe(&out));
        assert_eq!(fake.request_count(), 0);
    });
}

/// A workspace whose run is slow enough to interrupt: each answer takes
/// 400 ms (the fake provider reads the directive from the prompt); 20 of
/// them, 4 at a time, take two seconds at least.
fn slow_workspace(base_url: &str) -> Workspace {
    let titles: Vec<String> = (0..20).map(|i| format!("row{i}")).collect();
    let rows: Vec<(&str, &str)> = titles.iter().map(|title| (title.as_str(), "[fake:delay:400]")).collect();
    Workspace::new(base_url, &rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cancelled_from_another_process_then_resumed_finishes() {
    let fake = fake().await;
    let ws = slow_workspace(&fake.base_url());
    blocking(|| {
        ws.prepare();
        let mut sender = ws.spawn(&start_args(&["--approve-all", "--json"]));
        let mut run = None;
        assert!(
            wait_until(DEADLINE, || {
                let list = ws.ok_json(&["run", "list"]);
                let first = &list[0];
                run = first["run_id"].as_i64();
                first["answered"].as_u64().is_some_and(|n| n >= 1)
            }),
            "the run answered nothing within {DEADLINE:?}"
        );
        let run = run.unwrap().to_string();
        let second = ws.run(&["run", "resume", &run]);
        assert_eq!(second.status.code(), Some(2), "one process sends a run at a time: {}", describe(&second));
        assert!(String::from_utf8_lossy(&second.stderr).contains("another augment process"), "{}", describe(&second));
        let cancelled = ws.ok_json(&["run", "cancel", &run]);
        assert_eq!(cancelled["status"], "cancelled", "{cancelled}");

        let out = wait_for_exit(&mut sender);
        assert_eq!(out.status.code(), Some(8), "a cancelled run exits 8: {}", describe(&out));
        let stopped = json(&out);
        assert_eq!(stopped["status"], "cancelled", "{stopped}");
        assert!(stopped["answered"].as_u64().unwrap() < 20, "cancelled before the end: {stopped}");
        assert!(stopped["queued"].as_u64().unwrap() > 0, "unsent requests stay queued: {stopped}");
        assert_eq!(stopped["in_flight"], 0, "requests in flight went back to the queue: {stopped}");

        let resumed = ws.ok_json(&["run", "resume", &run]);
        assert_eq!(resumed["status"], "completed", "{resumed}");
        assert_eq!((resumed["answered"].as_u64(), resumed["total"].as_u64()), (Some(20), Some(20)), "{resumed}");
        assert!(chats(&fake) >= 20, "every request was sent");

        let again = ws.run(&["run", "resume", &run]);
        assert_eq!(again.status.code(), Some(2), "a completed run cannot be resumed: {}", describe(&again));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_from_a_url_and_exports_the_records() {
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("people.csv"), "name,note\nAda,=SUM(A1)\nGrace,\"commas, quoted\"\n").unwrap();
    let server = test_support::RegistryServer::start(served.path()).await.unwrap();
    let ws = Workspace::new("http://127.0.0.1:9", &[]);
    let url = format!("{}people.csv", server.url());
    blocking(|| {
        let imported = ws.ok_json(&["data", "import", &url, "--name", "people"]);
        assert_eq!(
            (imported["name"].as_str(), imported["row_count"].as_u64()),
            (Some("people"), Some(2)),
            "{imported}"
        );
        let shown = ws.ok_json(&["data", "show", "people", "--limit", "1"]);
        assert_eq!(shown["total"], 2, "{shown}");
        assert_eq!(shown["records"].as_array().unwrap().len(), 1, "{shown}");
        assert_eq!(shown["records"][0]["fields"]["name"], "Ada", "{shown}");

        ws.ok_json(&["data", "export", "people", "--out", "people-out.csv"]);
        let rows = csv_rows(&ws.path("people-out.csv"));
        assert_eq!(
            rows,
            [vec!["name", "note"], vec!["Ada", "'=SUM(A1)"], vec!["Grace", "commas, quoted"]],
            "a formula is defused as in the app's exports"
        );
        let twice = ws.run(&["data", "import", &url, "--name", "people"]);
        assert_eq!(twice.status.code(), Some(2), "a name in use is refused: {}", describe(&twice));
        let missing = ws.run(&["data", "import", &format!("{}absent.csv", server.url())]);
        assert_eq!(missing.status.code(), Some(1), "{}", describe(&missing));
        assert!(String::from_utf8_lossy(&missing.stderr).contains("404"), "{}", describe(&missing));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_not_sent_to_an_origin_it_was_not_stored_for() {
    let fake = fake().await;
    let ws = Workspace::new(&fake.base_url(), &[("alpha", "one")]);
    // The app recorded the key for api.openai.com; settings.json now points elsewhere
    // without the app's confirmation.
    let settings = serde_json::json!({
        "providers": { "openai": { "baseUrl": fake.base_url(), "keyOrigin": "https://api.openai.com" } }
    });
    std::fs::write(ws.path("config/settings.json"), settings.to_string()).unwrap();
    blocking(|| {
        ws.prepare();
        let out = ws.run(&start_args(&["--approve-all"]));
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("was stored for https://api.openai.com"),
            "{}",
            describe(&out)
        );
        assert_eq!(fake.request_count(), 0, "nothing was sent, not even the model listing");
        assert_eq!(ws.ok_json(&["run", "list"]), Value::Array(vec![]), "no run was left behind");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_the_run_and_exits_8() {
    let fake = fake().await;
    let ws = slow_workspace(&fake.base_url());
    blocking(|| {
        ws.prepare();
        let mut sender = ws.spawn(&start_args(&["--approve-all", "--json"]));
        assert!(
            wait_until(DEADLINE, || ws.ok_json(&["run", "list"])[0]["answered"].as_u64().is_some_and(|n| n >= 1)),
            "the run answered nothing within {DEADLINE:?}"
        );
        let kill = Command::new("kill").args(["-INT", &sender.id().to_string()]).status().unwrap();
        assert!(kill.success());
        let out = wait_for_exit(&mut sender);
        assert_eq!(out.status.code(), Some(8), "{}", describe(&out));
        let stopped = json(&out);
        assert_eq!(stopped["status"], "cancelled", "{stopped}");
        assert!(stopped["queued"].as_u64().unwrap() > 0, "{stopped}");
    });
}

/// `run start` on another dataset named `dataset` (same template and model).
fn start_on(dataset: &'static str, extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = start_args(extra);
    args[3] = dataset;
    args
}

/// The values of `column` in an exported CSV, header left out.
fn csv_column(path: &Path, column: &str) -> Vec<String> {
    let rows = csv_rows(path);
    let index = rows[0].iter().position(|c| c == column).unwrap_or_else(|| panic!("no {column} column: {:?}", rows[0]));
    rows[1..].iter().map(|r| r[index].clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_run_is_answered_from_the_ai_cache_until_it_is_pruned() {
    let fake = fake().await;
    let ws = Workspace::new(&fake.base_url(), &[("alpha", "one"), ("beta", "two"), ("gamma", "three")]);
    blocking(|| {
        ws.prepare();
        assert_eq!(ws.ok_json(&["cache-ai", "size"])["entries"], 0, "a new database has an empty AI cache");

        let first = ws.ok_json(&start_args(&["--approve-all"]));
        assert_eq!((first["answered"].as_u64(), first["cached"].as_u64()), (Some(3), Some(0)), "{first}");
        assert_eq!(chats(&fake), 3);
        let size = ws.ok_json(&["cache-ai", "size"]);
        assert_eq!(size["entries"], 3, "every answer went into the cache: {size}");
        assert!(size["bytes"].as_u64().unwrap() > 0, "{size}");
        assert!(size["oldestStoredAt"].as_i64().is_some(), "{size}");
        let human = ws.run(&["cache-ai", "size"]);
        assert!(String::from_utf8_lossy(&human.stdout).contains("holds 3 answers"), "{}", describe(&human));

        // The same rows in another dataset render the same prompts for the same
        // provider, base URL, model and parameters: the cache answers them all.
        ws.ok_json(&["data", "import", "items.csv", "--name", "again"]);
        let calls = fake.request_count();
        let second = ws.ok_json(&start_on("again", &["--approve-all"]));
        assert_eq!(second["status"], "completed", "{second}");
        assert_eq!(
            fake.request_count(),
            calls,
            "a repeated run makes no provider call at all, not even the model listing"
        );
        let run = second["run_id"].as_i64().unwrap().to_string();
        let status = ws.ok_json(&["run", "status", &run]);
        assert_eq!(
            (status["answered"].as_u64(), status["cached"].as_u64(), status["no_cache"].as_bool()),
            (Some(3), Some(3), Some(false)),
            "every answer came from the cache: {status}"
        );
        let human = ws.run(&["run", "status", &run]);
        assert!(
            String::from_utf8_lossy(&human.stdout).contains("3 answered (3 from the AI cache)"),
            "{}",
            describe(&human)
        );

        // The export says which answers the cache gave, in every format.
        ws.ok_json(&["run", "export", &run, "--format", "csv", "--out", "cached.csv"]);
        assert_eq!(csv_column(&ws.path("cached.csv"), "cached"), ["true"; 3]);
        let first_run = first["run_id"].as_i64().unwrap().to_string();
        ws.ok_json(&["run", "export", &first_run, "--format", "csv", "--out", "live.csv"]);
        assert_eq!(csv_column(&ws.path("live.csv"), "cached"), ["false"; 3]);
        ws.ok_json(&["run", "export", &run, "--format", "json", "--out", "cached.json"]);
        let rows: Value = serde_json::from_slice(&std::fs::read(ws.path("cached.json")).unwrap()).unwrap();
        let flags: Vec<&Value> = rows.as_array().unwrap().iter().map(|r| &r["cached"]).collect();
        assert_eq!(flags, [&Value::Bool(true); 3], "{rows}");
        ws.ok_json(&["run", "export", &run, "--format", "md", "--out", "cached.md"]);
        let md = std::fs::read_to_string(ws.path("cached.md")).unwrap();
        assert!(md.lines().next().unwrap().contains("| cached |"), "{md}");
        assert_eq!(md.matches("| true |").count(), 3, "{md}");

        // --no-cache sends every request, and the status says so.
        ws.ok_json(&["data", "import", "items.csv", "--name", "fresh"]);
        let fresh = ws.ok_json(&start_on("fresh", &["--approve-all", "--no-cache"]));
        assert_eq!((fresh["answered"].as_u64(), fresh["cached"].as_u64()), (Some(3), Some(0)), "{fresh}");
        assert_eq!(fresh["no_cache"], true, "{fresh}");
        assert_eq!(chats(&fake), 6, "--no-cache asked the provider again");
        assert_eq!(ws.ok_json(&["cache-ai", "size"])["entries"], 3, "the fresh answers replaced the cached ones");

        // Answers stored just now are not older than a day; a prune without the flag removes them all.
        let kept = ws.ok_json(&["cache-ai", "prune", "--older-than-days", "1"]);
        assert_eq!((kept["removedEntries"].as_u64(), kept["left"]["entries"].as_u64()), (Some(0), Some(3)), "{kept}");
        let pruned = ws.ok_json(&["cache-ai", "prune"]);
        assert_eq!(pruned["removedEntries"], 3, "{pruned}");
        assert_eq!(pruned["removedBytes"], size["bytes"], "{pruned}");
        assert_eq!(pruned["left"]["entries"], 0, "{pruned}");
        let empty = ws.ok_json(&["cache-ai", "size"]);
        assert_eq!((empty["entries"].as_u64(), empty["bytes"].as_u64()), (Some(0), Some(0)), "{empty}");

        // With the cache empty, the same prompts go to the provider again.
        ws.ok_json(&["data", "import", "items.csv", "--name", "after"]);
        let after = ws.ok_json(&start_on("after", &["--approve-all"]));
        assert_eq!((after["answered"].as_u64(), after["cached"].as_u64()), (Some(3), Some(0)), "{after}");
        assert_eq!(chats(&fake), 9, "a pruned answer is asked for again");
        assert_eq!(ws.ok_json(&["cache-ai", "size"])["entries"], 3, "{after}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_ai_prune_refuses_a_bad_age() {
    let ws = Workspace::new("http://127.0.0.1:9", &[]);
    blocking(|| {
        for bad in ["0", "-3", "a week"] {
            let out = ws.run(&["cache-ai", "prune", "--older-than-days", bad]);
            assert_eq!(out.status.code(), Some(2), "{bad}: {}", describe(&out));
            assert!(String::from_utf8_lossy(&out.stderr).contains("--older-than-days"), "{}", describe(&out));
        }
        let human = ws.run(&["cache-ai", "prune"]);
        assert!(human.status.success(), "{}", describe(&human));
        assert!(String::from_utf8_lossy(&human.stdout).contains("nothing was removed"), "{}", describe(&human));
    });
}

/// Waits for the child to exit, within [`DEADLINE`], and collects its output.
fn wait_for_exit(child: &mut Child) -> Output {
    let exited = wait_until(DEADLINE, || child.try_wait().unwrap().is_some());
    if !exited {
        let _ = child.kill();
    }
    assert!(exited, "the sending process did not stop within {DEADLINE:?} of the cancel");
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    use std::io::Read as _;
    child.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
    child.stderr.take().unwrap().read_to_end(&mut stderr).unwrap();
    Output { status: child.wait().unwrap(), stdout, stderr }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_up_quota_stops_the_run_with_exit_8_and_says_why_then_resume_finishes_it() {
    let fake =
        FakeProvider::start(FakeConfig { expected_key: Some(KEY.to_owned()), quota: Some(2), ..FakeConfig::default() })
            .await
            .unwrap();
    let ws = slow_workspace(&fake.base_url());
    blocking(|| {
        ws.prepare();
        let out = ws.run(&start_args(&["--approve-all"]));
        assert_eq!(out.status.code(), Some(8), "stopped unfinished: {}", describe(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stdout.contains(": paused — 2 answered"), "the two in flight finished: {}", describe(&out));
        assert!(
            stdout.contains("note: quota exhausted at openai: You exceeded your current quota"),
            "the run says why: {}",
            describe(&out)
        );
        assert!(stdout.contains("go on with `augment run resume "), "{}", describe(&out));
        assert!(stderr.contains("stopping, quota exhausted at openai"), "announced as it happened: {}", describe(&out));

        let run = ws.ok_json(&["run", "list"])[0]["run_id"].as_i64().unwrap().to_string();
        let status = ws.ok_json(&["run", "status", &run]);
        assert_eq!((status["status"].as_str(), status["failed"].as_u64()), (Some("paused"), Some(0)), "{status}");
        assert_eq!(status["queued"], 18, "nothing lost: {status}");
        fake.set_quota(None);
        let resumed = ws.ok_json(&["run", "resume", &run]);
        assert_eq!(
            (resumed["status"].as_str(), resumed["answered"].as_u64()),
            (Some("completed"), Some(20)),
            "{resumed}"
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_cap_stops_the_run_with_exit_8_and_a_raised_cap_finishes_it() {
    let fake = fake().await;
    let ws = slow_workspace(&fake.base_url());
    blocking(|| {
        ws.prepare();
        // One answer of gpt-4o-mini costs about $0.0000033 here: the first answers reach the cap.
        let out = ws.run(&start_args(&["--approve-all", "--max-cost-usd", "0.000001", "--json"]));
        assert_eq!(out.status.code(), Some(8), "stopped unfinished: {}", describe(&out));
        let stopped = json(&out);
        assert_eq!(stopped["status"], "paused", "{stopped}");
        let note = stopped["note"].as_str().unwrap();
        assert!(note.starts_with("budget reached ($0.00000") && note.ends_with(" of $0.000001)"), "{note}");
        let answered = stopped["answered"].as_u64().unwrap();
        assert!((1..20).contains(&answered), "stopped before the end: {stopped}");
        assert_eq!(chats(&fake) as u64, answered, "nothing sent beyond the requests in flight: {stopped}");

        let run = stopped["run_id"].as_i64().unwrap().to_string();
        let bad = ws.run(&["run", "resume", &run, "--max-cost-usd", "0"]);
        assert_eq!(bad.status.code(), Some(2), "{}", describe(&bad));
        let resumed = ws.ok_json(&["run", "resume", &run, "--max-cost-usd", "5"]);
        assert_eq!(
            (resumed["status"].as_str(), resumed["answered"].as_u64()),
            (Some("completed"), Some(20)),
            "{resumed}"
        );
    });
}

/// Issue 17, point 6: a baseline run and a new one (a new template version)
/// compared record by record: the agreement rate counts only the records both
/// answered, and `--show differ` lists the disagreement over the whole runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_compare_record_by_record_with_the_agreement_rate() {
    let fake = fake().await;
    let ws = Workspace::new(&fake.base_url(), &[("alpha", "one"), ("beta", "two"), ("gamma", "three")]);
    blocking(|| {
        ws.prepare();
        let baseline = ws.ok_json(&start_args(&["--approve-all"]))["run_id"].as_i64().unwrap().to_string();
        // The fake provider's directives: beta gets another answer, gamma a 400.
        let v2 = "Briefly. {{ title }}: {{ body }}\
                  {% if title == 'beta' %} [fake:say:A different answer.]{% endif %}\
                  {% if title == 'gamma' %} [fake:400]{% endif %}";
        ws.ok_json(&["template", "version", "ask", "--text", v2]);
        let out = ws.run(&start_args(&["--approve-all", "--json"]));
        assert_eq!(out.status.code(), Some(9), "one request failed for good: {}", describe(&out));
        let new = json(&out)["run_id"].as_i64().unwrap().to_string();

        let compared = ws.ok_json(&["run", "compare", &baseline, &new]);
        let summary = &compared["summary"];
        assert_eq!(
            (&summary["records"], &summary["agree"], &summary["differ"], &summary["missing"]),
            (&serde_json::json!(3), &serde_json::json!(1), &serde_json::json!(1), &serde_json::json!(1)),
            "{compared}"
        );
        assert_eq!(summary["agreement_rate"], 0.5, "{compared}");
        assert_eq!(compared["pairs"].as_array().unwrap().len(), 3, "{compared}");

        let differ = ws.ok_json(&["run", "compare", &baseline, &new, "--show", "differ"]);
        let pairs = differ["pairs"].as_array().unwrap();
        assert_eq!(pairs.len(), 1, "{differ}");
        assert_eq!(pairs[0]["candidate"]["text"], "A different answer.", "{differ}");
        assert_eq!(pairs[0]["baseline"]["text"], "Hello from the fake provider.", "{differ}");

        let human = ws.run(&["run", "compare", &baseline, &new, "--limit", "1"]);
        let text = String::from_utf8_lossy(&human.stdout);
        assert!(text.contains("agreement 50.0% (1 of 2 records with both answers)"), "{text}");
        assert!(text.contains("more: add --after"), "a page of one says where the next starts: {text}");

        let bad = ws.run(&["run", "compare", &baseline, &new, "--new-model", "gpt-4o-mini"]);
        assert_eq!(bad.status.code(), Some(2), "{}", describe(&bad));
        assert!(String::from_utf8_lossy(&bad.stderr).contains("PROVIDER/MODEL"), "{}", describe(&bad));
        let same = ws.run(&["run", "compare", &baseline, &baseline]);
        assert_eq!(same.status.code(), Some(2), "{}", describe(&same));
    });
}

/// Batch creates the fake provider received (OpenAI's `POST /v1/batches`).
fn batch_creates(fake: &FakeProvider) -> usize {
    fake.requests().iter().filter(|r| r.method == "POST" && r.path == "/v1/batches").count()
}

/// Status requests of batches the fake provider received.
fn batch_polls(fake: &FakeProvider) -> usize {
    fake.requests().iter().filter(|r| r.method == "GET" && r.path.starts_with("/v1/batches/")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_run_submits_polls_and_stores_every_answer() {
    let fake = fake().await;
    fake.set_batch_polls(2);
    let ws = Workspace::new(&fake.base_url(), &[("alpha", "one"), ("beta", "two"), ("gamma", "three")]);
    blocking(|| {
        ws.prepare();
        let plan = ws.ok_json(&start_args(&["--approve-all", "--dry-run"]));
        let (live, batch) = (plan["costUsd"].as_f64().unwrap(), plan["batchCostUsd"].as_f64().unwrap());
        assert!(batch > 0.0 && batch < live, "the batch price beside the live one: {plan}");

        let out = ws.run(&start_args(&["--approve-all", "--batch", "--batch-poll-max", "20ms", "--json"]));
        assert!(out.status.success(), "{}", describe(&out));
        let done = json(&out);
        assert_eq!((done["status"].as_str(), done["answered"].as_u64()), (Some("completed"), Some(3)), "{done}");
        assert_eq!(done["batch"], serde_json::json!({ "jobs": 1, "open": 0 }), "{done}");
        assert_eq!(batch_creates(&fake), 1, "3 requests fit in one batch");
        assert!(batch_polls(&fake) >= 3, "polled until it ended");
        assert_eq!(chats(&fake), 0, "nothing went through the live endpoint");
        assert!(fake.requests().iter().all(|r| r.bearer_token() == Some(KEY)), "every call carried the key");

        let run = done["run_id"].as_i64().unwrap().to_string();
        ws.ok_json(&["run", "export", &run, "--format", "csv", "--out", "answers.csv"]);
        let rows = csv_rows(&ws.path("answers.csv"));
        let answer = rows[0].iter().position(|c| c == "response").expect("a response column");
        assert_eq!(rows.len(), 4, "{rows:?}");
        assert!(rows[1..].iter().all(|r| r[answer] == "Hello from the fake provider."), "{rows:?}");
    });
}

/// `augment` killed with SIGKILL while it polls: the batch id is in the
/// database, and `run resume` collects that batch without submitting again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_run_killed_mid_poll_is_collected_by_resume_without_a_second_batch() {
    let fake = fake().await;
    fake.set_batch_polls(u64::MAX);
    let ws = Workspace::new(&fake.base_url(), &[("alpha", "one"), ("beta", "two"), ("gamma", "three")]);
    blocking(|| {
        ws.prepare();
        let mut sender = ws.spawn(&start_args(&["--approve-all", "--batch", "--batch-poll-max", "20ms"]));
        let mut run = None;
        let stored = wait_until(DEADLINE, || {
            let first = ws.ok_json(&["run", "list"])[0].clone();
            run = first["run_id"].as_i64();
            first["batch"]["jobs"] == 1 && batch_polls(&fake) >= 2
        });
        assert!(stored, "the batch was not recorded and polled within {DEADLINE:?}");
        sender.kill().unwrap(); // SIGKILL: no destructor, no cleanup
        sender.wait().unwrap();

        let run = run.unwrap().to_string();
        let killed = ws.ok_json(&["run", "status", &run]);
        assert_eq!(killed["status"], "running", "killed, not finished: {killed}");
        assert_eq!((killed["in_flight"].as_u64(), killed["answered"].as_u64()), (Some(3), Some(0)), "{killed}");
        assert_eq!(batch_creates(&fake), 1);

        fake.set_batch_polls(0);
        let resumed = ws.ok_json(&["run", "resume", &run, "--batch-poll-max", "20ms"]);
        assert_eq!(
            (resumed["status"].as_str(), resumed["answered"].as_u64()),
            (Some("completed"), Some(3)),
            "{resumed}"
        );
        assert_eq!(resumed["batch"], serde_json::json!({ "jobs": 1, "open": 0 }), "{resumed}");
        assert_eq!(batch_creates(&fake), 1, "the resume polled the stored batch; nothing was submitted again");
        let uploads = fake.requests().iter().filter(|r| r.path == "/v1/files").count();
        assert_eq!(uploads, 1, "the requests were uploaded once");
        assert_eq!(chats(&fake), 0);
    });
}

/// Ctrl-C while a batch run polls stops waiting and leaves the batch at the
/// provider (the run pauses); `run cancel` then cancels it there, and a
/// resume collects what it had answered without submitting again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_leaves_a_batch_at_the_provider_and_run_cancel_cancels_it() {
    let fake = fake().await;
    fake.set_batch_polls(u64::MAX);
    let ws = Workspace::new(&fake.base_url(), &[("alpha", "one"), ("beta", "two")]);
    let cancels = |fake: &FakeProvider| {
        fake.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/cancel")).count()
    };
    blocking(|| {
        ws.prepare();
        let mut sender = ws.spawn(&start_args(&["--approve-all", "--batch", "--batch-poll-max", "20ms", "--json"]));
        assert!(
            wait_until(DEADLINE, || batch_polls(&fake) >= 2),
            "the batch was not submitted and polled within {DEADLINE:?}"
        );
        let kill = Command::new("kill").args(["-INT", &sender.id().to_string()]).status().unwrap();
        assert!(kill.success());
        let out = wait_for_exit(&mut sender);
        assert_eq!(out.status.code(), Some(8), "{}", describe(&out));
        let stopped = json(&out);
        assert_eq!(stopped["status"], "paused", "Ctrl-C stops waiting, not the batch: {stopped}");
        assert_eq!(cancels(&fake), 0, "the batch goes on at the provider");

        let run = stopped["run_id"].as_i64().unwrap().to_string();
        let cancelled = ws.ok_json(&["run", "cancel", &run]);
        assert_eq!(cancels(&fake), 1, "run cancel cancelled the batch at the provider: {cancelled}");
        let status = ws.ok_json(&["run", "status", &run]);
        assert_eq!(status["status"], "cancelled", "{status}");
        let note = status["note"].as_str().unwrap_or_default();
        assert!(note.contains("its 1 batch was cancelled at the provider"), "{status}");

        let out = ws.run(&["run", "resume", &run, "--batch-poll-max", "20ms", "--json"]);
        assert_eq!(out.status.code(), Some(9), "completed with failures: {}", describe(&out));
        let resumed = json(&out);
        assert_eq!((resumed["status"].as_str(), resumed["failed"].as_u64()), (Some("completed"), Some(2)), "{resumed}");
        assert_eq!(batch_creates(&fake), 1, "collected, never submitted again");
    });
}

/// Issue 17, point 5: a template with a JSON Schema, a run with assertions
/// against the fake provider: the schema goes on the wire, the records whose
/// answers do not fit are reported per record, the schema's fields are
/// export columns, and each answer's checks are scored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_run_reports_invalid_records_and_exports_fields_as_columns() {
    let fake = fake().await;
    let ws = Workspace::new(
        &fake.base_url(),
        &[("alpha", "one"), ("beta", "two [fake:misfit]"), ("gamma", "three [fake:not-json]")],
    );
    let schema = r#"{"type": "object", "additionalProperties": false, "required": ["label", "score"],
        "properties": {"label": {"type": "string"}, "score": {"type": "integer", "minimum": 0, "maximum": 10}}}"#;
    std::fs::write(ws.path("schema.json"), schema).unwrap();
    std::fs::write(ws.path("bad-schema.json"), r#"{"type": "object", "properties": {"score": {"type": "integr"}}}"#)
        .unwrap();
    blocking(|| {
        ws.ok_json(&["data", "import", "items.csv"]);
        let bad =
            ws.run(&["template", "add", "rate", "--text", "{{ title }}: {{ body }}", "--schema", "bad-schema.json"]);
        assert_eq!(bad.status.code(), Some(2), "{}", describe(&bad));
        assert!(String::from_utf8_lossy(&bad.stderr).contains("/properties/score/type"), "{}", describe(&bad));

        ws.ok_json(&["template", "add", "rate", "--text", "{{ title }}: {{ body }}", "--schema", "schema.json"]);
        let checked = ws.ok_json(&["template", "check", "rate", "--dataset", "items"]);
        assert_eq!(checked["schema"]["fields"], serde_json::json!(["label", "score"]), "{checked}");

        let mut start = vec![
            "run",
            "start",
            "--dataset",
            "items",
            "--template",
            "rate",
            "--provider",
            "openai",
            "--model",
            "gpt-4o-mini",
        ];
        let mut bogus = start.clone();
        bogus.extend(["--approve-all", "--assert", "startswith:x"]);
        let refused = ws.run(&bogus);
        assert_eq!(refused.status.code(), Some(2), "a bad assertion is a usage error: {}", describe(&refused));
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("unknown kind `startswith`"),
            "{}",
            describe(&refused)
        );
        assert_eq!(chats(&fake), 0, "nothing was sent");

        start.extend([
            "--approve-all",
            "--assert",
            "json",
            "--assert",
            "range:/score:0:10",
            "--assert",
            "judge:openai/gpt-4o-mini:Is it polite?",
            "--json",
        ]);
        let out = ws.run(&start);
        assert!(out.status.success(), "invalid answers are answers, not failures: {}", describe(&out));
        let done = json(&out);
        let run = done["run_id"].as_i64().unwrap().to_string();
        let bodies: Vec<Value> = fake
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/chat/completions"))
            .map(|r| r.json().unwrap())
            .collect();
        let schema_sent: Value = serde_json::from_str(schema).unwrap();
        let with_schema: Vec<&Value> = bodies.iter().filter(|b| b.get("response_format").is_some()).collect();
        assert_eq!(with_schema.len(), 3, "one structured request per record");
        assert!(with_schema.iter().all(|b| b["response_format"]["json_schema"]["schema"] == schema_sent));
        assert_eq!(bodies.len(), 6, "and one judge call per answer");

        let status = ws.ok_json(&["run", "status", &run]);
        assert_eq!(
            (status["checks"]["schema_valid"].as_u64(), status["checks"]["schema_invalid"].as_u64()),
            (Some(1), Some(2)),
            "{status}"
        );
        let failures = status["schema_failures"].as_array().unwrap();
        let records: Vec<u64> = failures.iter().map(|f| f["record"].as_u64().unwrap()).collect();
        assert_eq!(records, [2, 3], "the invalid answers are named by record: {status}");
        assert_eq!(failures[0]["errors"][0]["path"], "/label", "{status}");
        assert!(failures[1]["errors"][0]["message"].as_str().unwrap().starts_with("the answer is not JSON"));
        assert_eq!(status["checks"]["checked"], 3, "{status}");
        assert_eq!(status["checks"]["passed"], 0, "the fake judge never says PASS: {status}");
        assert_eq!(status["checks"]["assertions"][1]["passed"], 1, "{status}");

        let human = ws.run(&["run", "status", &run]);
        let text = String::from_utf8_lossy(&human.stdout);
        assert!(text.contains("schema: 1 answers valid, 2 invalid"), "{text}");
        assert!(text.contains("record 2: /label:"), "{text}");
        assert!(text.contains("record 3: the answer is not JSON"), "{text}");
        assert!(text.contains("range:/score:0:10: 1 passed, 2 failed"), "{text}");

        ws.ok_json(&["run", "export", &run, "--format", "csv", "--out", "answers.csv"]);
        assert_eq!(csv_column(&ws.path("answers.csv"), "label"), ["alpha: one", "42", ""]);
        assert_eq!(csv_column(&ws.path("answers.csv"), "score"), ["2", "not a number", ""]);
        assert_eq!(csv_column(&ws.path("answers.csv"), "valid"), ["true", "false", "false"]);
        assert_eq!(csv_column(&ws.path("answers.csv"), "checks_passed"), ["false", "false", "false"]);
        ws.ok_json(&["run", "export", &run, "--format", "json", "--out", "answers.json"]);
        let answers: Value = serde_json::from_slice(&std::fs::read(ws.path("answers.json")).unwrap()).unwrap();
        assert_eq!(answers[0]["fields"]["score"], 2, "{answers}");
        assert_eq!(answers[1]["schema_errors"][0]["path"], "/label", "{answers}");
    });
}

/// Issue 17, point 6: `run start --repeat 3` asks each prompt three times
/// (three requests per record, each sent: beta's `[fake:vary]` answers
/// differently every time), `run stability` reports the rate over every
/// record and beta's three answers, the dry run counts every repeat, and a
/// second identical repeated run (the same rows in another dataset) is
/// answered whole from the AI cache, sample by sample: zero provider calls,
/// the same stability.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_run_reports_stability_and_a_second_identical_one_makes_no_provider_call() {
    let fake = fake().await;
    let rows = [("alpha", "one"), ("beta", "two [fake:vary]"), ("gamma", "three")];
    let ws = Workspace::new(&fake.base_url(), &rows);
    blocking(|| {
        ws.prepare();
        let once = ws.ok_json(&start_args(&["--approve-all", "--dry-run"]));
        let thrice = ws.ok_json(&start_args(&["--approve-all", "--dry-run", "--repeat", "3"]));
        assert_eq!((thrice["repeats"].as_u64(), thrice["wouldSend"].as_u64()), (Some(3), Some(9)), "{thrice}");
        let tokens = |plan: &Value, field: &str| plan["estimate"][0][field].as_i64().unwrap();
        assert_eq!(tokens(&thrice, "requests"), 3 * tokens(&once, "requests"), "{once} {thrice}");
        assert_eq!(tokens(&thrice, "output_tokens"), 3 * tokens(&once, "output_tokens"));
        // Characters ÷ 4 of all the prompts, rounded once: three times as many, give or take the rounding.
        assert!((tokens(&thrice, "input_tokens") - 3 * tokens(&once, "input_tokens")).abs() <= 3, "{once} {thrice}");
        assert_eq!(chats(&fake), 0, "a dry run sends nothing");

        let bad = ws.run(&start_args(&["--approve-all", "--repeat", "11"]));
        assert_eq!(bad.status.code(), Some(2), "{}", describe(&bad));
        assert!(String::from_utf8_lossy(&bad.stderr).contains("1..=10"), "{}", describe(&bad));

        let first = ws.ok_json(&start_args(&["--approve-all", "--repeat", "3"]));
        assert_eq!(
            (first["status"].as_str(), first["total"].as_u64(), first["answered"].as_u64(), first["repeats"].as_u64()),
            (Some("completed"), Some(9), Some(9), Some(3)),
            "{first}"
        );
        assert_eq!(chats(&fake), 9, "every repeat of every prompt went to the provider");
        let run = first["run_id"].as_i64().unwrap().to_string();
        let stability = ws.ok_json(&["run", "stability", &run]);
        let summary = &stability["summary"];
        assert_eq!(
            (&summary["records"], &summary["complete"], &summary["stable"], &summary["unstable"]),
            (&serde_json::json!(3), &serde_json::json!(3), &serde_json::json!(2), &serde_json::json!(1)),
            "{stability}"
        );
        let unstable = stability["unstable"].as_array().unwrap();
        assert_eq!(unstable.len(), 1, "{stability}");
        assert_eq!(unstable[0]["record"]["title"], "beta");
        let answers: Vec<&str> =
            unstable[0]["samples"].as_array().unwrap().iter().map(|s| s["text"].as_str().unwrap()).collect();
        assert_eq!(answers.iter().collect::<std::collections::BTreeSet<_>>().len(), 3, "{answers:?}");
        let status = ws.run(&["run", "status", &run]);
        assert!(
            String::from_utf8_lossy(&status.stdout).contains("each prompt asked 3 times: see `augment run stability"),
            "{}",
            describe(&status)
        );
        let human = ws.run(&["run", "stability", &run]);
        let text = String::from_utf8_lossy(&human.stdout);
        assert!(text.contains("stability 66.7% (2 of 3 records answered alike all 3 times)"), "{text}");
        assert!(text.contains(answers[0]) && text.contains(answers[2]), "{text}");
        // The export says which repeat each answer is.
        ws.ok_json(&["run", "export", &run, "--format", "csv", "--out", "repeated.csv"]);
        let mut samples = csv_column(&ws.path("repeated.csv"), "sample");
        samples.sort();
        assert_eq!(samples, ["0", "0", "0", "1", "1", "1", "2", "2", "2"]);

        ws.ok_json(&["data", "import", "items.csv", "--name", "again"]);
        let calls = fake.request_count();
        let second = ws.ok_json(&start_on("again", &["--approve-all", "--repeat", "3"]));
        assert_eq!(fake.request_count(), calls, "a second identical repeated run makes no provider call at all");
        assert_eq!((second["answered"].as_u64(), second["cached"].as_u64()), (Some(9), Some(9)), "{second}");
        let again = ws.ok_json(&["run", "stability", &second["run_id"].as_i64().unwrap().to_string()]);
        assert_eq!(again["summary"], stability["summary"], "the same answers, so the same stability");
    });
}

/// A loopback site for `augment data collect`: robots.txt keeps `/private/`
/// out, and each product page names its product and price in its text.
async fn product_site() -> (String, tokio::task::JoinHandle<()>) {
    use axum::extract::Path as UrlPath;
    use axum::response::Html;
    let router = axum::Router::new()
        .route("/robots.txt", axum::routing::get(|| async { "User-agent: *\nDisallow: /private/\n" }))
        .route(
            "/product/{n}",
            axum::routing::get(|UrlPath(n): UrlPath<String>| async move {
                let paragraph = format!(
                    "<p>The Widget {n} is our sturdiest widget yet. It costs 12.50 euros and ships in a week. \
                     Every widget is tested twice before it leaves the workshop, and each comes with a manual.</p>"
                );
                Html(format!(
                    "<html><head><title>Widget {n}</title></head><body><article><h1>Widget {n}</h1>{}</article></body></html>",
                    paragraph.repeat(4)
                ))
            }),
        )
        .route(
            "/odd",
            axum::routing::get(|| async {
                Html(
                    "<html><head><title>Odd</title></head><body><article><h1>Odd</h1><p>This page makes the model \
                     answer [fake:misfit] something that does not fit. It is long enough to be the main content \
                     of the page, with more words here so the extractor keeps it as an article.</p></article></body></html>",
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (base, task)
}

/// `augment data collect` of urls.txt into `web`, the loopback site allowed,
/// extracting schema.json's fields with the fake provider's `gpt-4o-mini`.
const COLLECT_WITH_EXTRACTION: [&str; 14] = [
    "data",
    "collect",
    "--urls",
    "urls.txt",
    "--dataset",
    "web",
    "--allow-address",
    "127.0.0.1",
    "--per-host-rps",
    "50",
    "--extract-schema",
    "schema.json",
    "--extract-model",
    "gpt-4o-mini",
];

const PRODUCT_SCHEMA: &str = r#"{
  "type": "object",
  "properties": { "product": { "type": "string" }, "price": { "type": "number" } },
  "required": ["product", "price"],
  "additionalProperties": false
}"#;

/// Issue 19 point 3: `--extract-schema` asks the provider once per collected
/// page with the schema on the wire, keeps the fields that fit it as columns,
/// says why for an answer that does not fit, and never asks about a page
/// robots.txt kept out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_extracts_schema_fields_into_columns() {
    let fake = fake().await;
    let ws = Workspace::new(&fake.base_url(), &[]);
    let (site, _server) = product_site().await;
    let urls = format!("{site}/product/1\n{site}/product/2\n{site}/odd\n{site}/private/secret\n");
    std::fs::write(ws.path("urls.txt"), urls).unwrap();
    std::fs::write(ws.path("schema.json"), PRODUCT_SCHEMA).unwrap();
    let collected = blocking(|| ws.ok_json(&COLLECT_WITH_EXTRACTION));
    assert_eq!(collected["extraction"]["extracted"], 2, "{collected}");
    assert_eq!(collected["extraction"]["failed"], 1, "the misfit answer: {collected}");
    assert_eq!(collected["extraction"]["skipped"], 1, "the robots-refused page: {collected}");

    // One chat per collected page, each asking for the schema.
    let asked: Vec<Value> = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/chat/completions"))
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(asked.len(), 3, "one request per collected page, none for /private/");
    for body in &asked {
        assert_eq!(body["response_format"]["type"], "json_schema", "{body}");
        assert_eq!(body["response_format"]["json_schema"]["schema"]["required"][1], "price");
    }

    let shown = blocking(|| ws.ok_json(&["data", "show", "web", "--limit", "10"]));
    let records = shown["records"].as_array().unwrap();
    let row = |suffix: &str| {
        records
            .iter()
            .map(|r| &r["fields"])
            .find(|v| v["url"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("no record for {suffix}: {shown}"))
            .clone()
    };
    let widget = row("/product/1");
    assert!(widget["product"].is_string(), "the product field is a column: {widget}");
    assert!(widget["price"].is_number(), "the price field keeps its type: {widget}");
    assert!(widget["extract_error"].is_null(), "{widget}");
    let odd = row("/odd");
    assert!(odd["product"].is_null(), "{odd}");
    assert!(odd["extract_error"].as_str().unwrap().contains("does not fit the schema"), "{odd}");
    let private = row("/private/secret");
    assert_eq!(private["error_code"], "robots_disallowed", "{private}");
    assert_eq!(private["extract_error"], "the page was not collected", "{private}");
    // The journals are gone once the dataset exists.
    let left: Vec<_> = std::fs::read_dir(ws.path("data/collector")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A refused key would fail every page the same way: extraction stops at
/// the first such answer instead of asking about every page, says what to
/// fix, and keeps the crawl for the next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_extraction_stops_on_a_refused_key_and_keeps_the_pages() {
    let fake = fake().await;
    let ws = Workspace::new(&fake.base_url(), &[]);
    let (site, _server) = product_site().await;
    let urls: String = (0..12).map(|n| format!("{site}/product/{n}\n")).collect();
    std::fs::write(ws.path("urls.txt"), urls).unwrap();
    std::fs::write(ws.path("schema.json"), PRODUCT_SCHEMA).unwrap();
    let out =
        blocking(|| ws.command(&COLLECT_WITH_EXTRACTION).env("AUGMENT_OPENAI_API_KEY", "sk-wrong").output().unwrap());
    assert!(!out.status.success(), "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("extraction stopped"), "{stderr}");
    assert!(!stderr.contains("sk-wrong"), "the key is never shown: {stderr}");
    assert!(chats(&fake) <= 4, "at most the pages already in flight were asked: {}", chats(&fake));
    let journals: Vec<String> = std::fs::read_dir(ws.path("data/collector"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(journals.contains(&"web.jsonl".to_owned()), "the crawl is kept: {journals:?}");
    let listed = blocking(|| ws.ok_json(&["data", "list"]));
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "no dataset yet: {listed}");
}
