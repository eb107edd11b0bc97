//! `/v1/datastores/*` in process on loopback, in front of the fake Databricks
//! warehouse, called with `datastores`' own service client: the same rows
//! and errors as a direct client, the stack's token required, credentials
//! never logged or echoed, server-held keys only for listed hosts.
#![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

use std::net::SocketAddr;

use connector::{AppState, Config, ServerKeys};
use datastores::service::Stack;
use datastores::{Connector, Credential, Error, Secret, Source, SourceRow, WriteRow, databricks};
use fake_datastores::Served;
use fake_datastores::databricks::{Config as FakeConfig, FakeDatabricks};
use serde_json::{Value, json};
use sidecar_http::{Access, AccessToken};
use test_support::CapturedLogs;

const STACK_TOKEN: &str = "0123456789abcdef0123456789abcdef-stack-token";
const TABLE: &str = "main.crm.people";

struct Running {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The connector's router, with the stack's token required, on a loopback port.
async fn connector(keys: ServerKeys, datastore_hosts: &[&str]) -> Running {
    let config = Config {
        access: Access::new(Some(AccessToken::new(STACK_TOKEN).unwrap()), std::iter::empty::<String>()),
        datastore_hosts: datastore_hosts.iter().map(|h| (*h).to_owned()).collect(),
        ..Config::new(Vec::new())
    };
    let app = connector::app(AppState::new(config, keys).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Running { addr, task }
}

fn no_keys() -> ServerKeys {
    ServerKeys::with_lookup(None, std::sync::Arc::new(|_: &str| None))
}

async fn warehouse() -> (FakeDatabricks, Served) {
    let fake = FakeDatabricks::new(FakeConfig { rows_per_chunk: 4, polls_until_done: 1, ..FakeConfig::default() });
    let rows =
        (1..=10).map(|i| vec![Some(i.to_string()), Some(format!("person {i}")), Some(format!("{i}.5"))]).collect();
    fake.add_table(TABLE, &[("id", "BIGINT"), ("name", "STRING"), ("score", "DOUBLE")], rows);
    let served = fake.start().await.unwrap();
    (fake, served)
}

fn source(served: &Served, fake: &FakeDatabricks) -> Source {
    Source::Databricks(databricks::Table {
        host: served.url().parse().unwrap(),
        warehouse_id: fake.config().warehouse_id.clone(),
        table: TABLE.to_owned(),
        key_column: "id".to_owned(),
    })
}

fn through(running: &Running, token: &str, source: &Source, credential: Option<&str>) -> Connector {
    let stack =
        Stack { base_url: format!("http://{}", running.addr).parse().unwrap(), access_token: Secret::new(token) };
    Connector::through_service(stack, source, credential.map(|c| Credential(Secret::new(c)))).unwrap()
}

/// Every row, page by page, with a cap so a token that is not followed fails instead of looping.
async fn all_rows(connector: &Connector) -> Result<Vec<SourceRow>, Error> {
    let mut rows = Vec::new();
    let mut from = None;
    for _ in 0..100 {
        let page = connector.page(from.as_ref()).await?;
        rows.extend(page.rows);
        match page.next {
            Some(next) => from = Some(next),
            None => return Ok(rows),
        }
    }
    panic!("more than 100 pages: the page token is not followed");
}

/// Fails if the service drops `from` (the cap trips), changes rows or
/// columns, or does not write back.
#[tokio::test]
async fn pages_columns_and_write_back_through_the_service_equal_the_direct_calls() {
    let (fake, served) = warehouse().await;
    let running = connector(no_keys(), &[]).await;
    let source = source(&served, &fake);
    let token = fake.config().token.clone();
    let direct = Connector::new(&source, Credential(Secret::new(token.clone()))).unwrap();
    let service = through(&running, STACK_TOKEN, &source, Some(&token));

    let via_service = all_rows(&service).await.unwrap();

    assert_eq!(via_service.len(), 10);
    assert_eq!(via_service, all_rows(&direct).await.unwrap());
    assert_eq!(via_service[2].fields["score"], json!(3.5));
    assert_eq!(service.columns().await.unwrap(), direct.columns().await.unwrap());

    let rows: Vec<WriteRow> = (1..=3)
        .map(|i| WriteRow {
            key: i.to_string(),
            fields: json!({ "answer": format!("a{i}") }).as_object().cloned().unwrap(),
        })
        .collect();
    let report = service.write_back(&rows, &["answer".to_owned()]).await.unwrap();
    assert_eq!((report.updated, report.created_columns.clone()), (3, vec!["answer".to_owned()]), "{report:?}");
    let answers = fake.table(TABLE).unwrap().column("answer").unwrap();
    assert_eq!(answers[..4], [Some("a1".into()), Some("a2".into()), Some("a3".into()), None]);
}

/// Fails if the service logs the credential or the stack token (at TRACE),
/// echoes them in a reply, or turns the store's refusal into another error.
#[tokio::test]
async fn credentials_never_reach_the_logs_or_replies() {
    let logs = CapturedLogs::install();
    let (fake, served) = warehouse().await;
    let running = connector(no_keys(), &[]).await;
    let source = source(&served, &fake);
    let good = fake.config().token.clone();
    let wrong = "dapi-wrong-credential-77777777777777";

    all_rows(&through(&running, STACK_TOKEN, &source, Some(&good))).await.unwrap();
    let err = through(&running, STACK_TOKEN, &source, Some(wrong)).page(None).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized { service: "databricks", status: 403, .. }), "{err:?}");
    assert!(err.to_string().contains("Invalid access token"), "{err}");

    let reply = reqwest::Client::new()
        .post(format!("http://{}/v1/datastores/page", running.addr))
        .bearer_auth(STACK_TOKEN)
        .header("x-datastore-credential", wrong)
        .json(&json!({ "source": source }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 502, "the store refused: a gateway error, not the stack's 401");
    let text = reply.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["code"], "datastore_unauthorized", "{text}");

    let logs = logs.text();
    assert!(logs.contains("datastore call"), "the capture works: {logs}");
    for secret in [good.as_str(), wrong, STACK_TOKEN] {
        assert!(!logs.contains(secret), "{secret} in the logs: {logs}");
        assert!(!text.contains(secret), "{secret} in a reply: {text}");
        assert!(!err.to_string().contains(secret) && !format!("{err:?}").contains(secret));
    }
}

/// Fails if the routes answer without the stack's token (they would spend
/// the caller's or the server's credential for anyone on the machine).
#[tokio::test]
async fn without_the_stack_token_the_routes_answer_401() {
    let (fake, served) = warehouse().await;
    let running = connector(no_keys(), &[]).await;
    let source = source(&served, &fake);
    let token = fake.config().token.clone();

    for route in ["columns", "page", "write"] {
        let reply = reqwest::Client::new()
            .post(format!("http://{}/v1/datastores/{route}", running.addr))
            .header("x-datastore-credential", &token)
            .json(&json!({ "source": source, "rows": [] }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 401, "{route}");
        let body: Value = reply.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized", "{route}: {body}");
    }
    let err = through(&running, "wrong-stack-token-wrong-stack-token-00", &source, Some(&token))
        .page(None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Service { service: "connector", status: 401, .. }), "{err:?}");
    assert!(fake.requests().is_empty(), "nothing reached the store: {:?}", fake.requests());
}

/// Fails if a server-held key is sent to a host the operator did not list
/// (a caller could aim it at a server of their own), or is not used at all.
#[tokio::test]
async fn a_server_held_key_is_sent_only_to_listed_hosts() {
    let (fake, served) = warehouse().await;
    let source = source(&served, &fake);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("datastore-databricks"), format!("{}\n", fake.config().token)).unwrap();
    let keys = || ServerKeys::with_lookup(Some(dir.path().to_owned()), std::sync::Arc::new(|_: &str| None));

    let unlisted = connector(keys(), &["adb-1.azuredatabricks.net"]).await;
    let err = through(&unlisted, STACK_TOKEN, &source, None).page(None).await.unwrap_err();
    assert!(err.to_string().contains("CONNECTOR_DATASTORE_HOSTS"), "{err}");
    assert!(fake.requests().is_empty(), "the key went nowhere");

    let listed = connector(keys(), &["127.0.0.1"]).await;
    assert_eq!(all_rows(&through(&listed, STACK_TOKEN, &source, None)).await.unwrap().len(), 10);

    let keyless = connector(no_keys(), &["127.0.0.1"]).await;
    let err = through(&keyless, STACK_TOKEN, &source, None).page(None).await.unwrap_err();
    assert!(err.to_string().contains("X-Datastore-Credential"), "says what to send: {err}");
}

/// Fails if a write request the service refuses (here: a body over its
/// limit) loses the earlier requests' report, or leaves rows unaccounted for.
#[tokio::test]
async fn a_refused_write_request_lists_its_rows_and_the_rest_as_failed() {
    let fake = FakeDatabricks::new(FakeConfig::default());
    let rows = (1..=1200).map(|i| vec![Some(i.to_string()), None]).collect();
    fake.add_table(TABLE, &[("id", "BIGINT"), ("answer", "STRING")], rows);
    let served = fake.start().await.unwrap();
    let running = connector(no_keys(), &[]).await;
    let source = source(&served, &fake);
    let service = through(&running, STACK_TOKEN, &source, Some(&fake.config().token.clone()));
    // Requests of 500 rows: the second carries 500 answers of 4 kB, over the 1 MiB body limit.
    let rows: Vec<WriteRow> = (1..=1200)
        .map(|i| {
            let answer = if (501..=1000).contains(&i) { "x".repeat(4096) } else { format!("a{i}") };
            WriteRow { key: i.to_string(), fields: json!({ "answer": answer }).as_object().cloned().unwrap() }
        })
        .collect();

    let report = service.write_back(&rows, &[]).await.unwrap();

    assert_eq!(report.updated, 500, "the first request's rows");
    let failed: Vec<u32> = report.failed.iter().map(|f| f.key.parse().unwrap()).collect();
    assert_eq!(failed, (501..=1200).collect::<Vec<_>>());
    assert!(report.failed[0].reason.contains("413"), "{:?}", report.failed[0]);
    let answers = fake.table(TABLE).unwrap().column("answer").unwrap();
    assert_eq!((answers[499].as_deref(), answers[500].as_deref()), (Some("a500"), None));
}
