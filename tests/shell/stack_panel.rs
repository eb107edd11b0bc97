//! The "Local stack" panel against a real Docker engine (`DOCKER_HOST`,
//! static binaries from `AUGMENT_STACK_BIN_DIR`; `cargo xtask test` provides
//! both): Start → every service healthy → the Record Collector's import goes
//! through the parsers service and says so → log lines of one service →
//! Stop → nothing with the stack's label left on the engine, and the same
//! import now runs in process. And with a dead engine, Start shows the clear
//! "Docker is not running" message.
//!
//! The stack is `t<pid>-panel` on free ports, so it never meets the stacks
//! of `tests/stack` or of the app's command tests, nor a user's own stack.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};
use fantoccini::{Client, Locator};
use integration_tests::Sandbox;
use stack::{Engine, LABEL_STACK, Stack, StackDefinition};

use crate::harness::{Driver, remote_dist, screenshot, serial, show, wait_for, wait_for_content, wait_for_text};

/// `up` may build the three images first; health waits on a loaded 2-core machine.
const STACK_DEADLINE: Duration = Duration::from_secs(180);
const ENGINE_MESSAGE: &str = "Docker is not running: start Docker Desktop or Podman, or set DOCKER_HOST";

fn bin_dir() -> PathBuf {
    std::env::var_os("AUGMENT_STACK_BIN_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/x86_64-unknown-linux-gnu/release"),
        PathBuf::from,
    )
}

/// The Docker engine to use, or `None` when skipping deliberately (`AUGMENT_SKIP_ENGINE_TESTS=1`).
async fn docker_host() -> Option<String> {
    let host = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty());
    let host = host.unwrap_or_else(|| "unix:///tmp/docker.sock".to_owned());
    match Engine::connect_to(&host).await {
        Ok(_) => Some(host),
        Err(err) if std::env::var("AUGMENT_SKIP_ENGINE_TESTS").is_ok_and(|v| v == "1") => {
            eprintln!("\n!!!!! SKIPPED: no engine at {host} ({err}); AUGMENT_SKIP_ENGINE_TESTS=1 is set !!!!!\n");
            None
        }
        Err(err) => panic!("no Docker engine at {host}: {err}; run `cargo xtask test` or set DOCKER_HOST"),
    }
}

/// A throw-away stack definition in the sandbox, taken down on drop whatever the test did.
struct PanelStack {
    host: String,
    definition: StackDefinition,
    path: PathBuf,
}

impl PanelStack {
    fn new(sandbox: &Sandbox, host: &str, purpose: &str) -> Self {
        let mut definition = StackDefinition::built_in().unwrap();
        definition.name = format!("t{}-{purpose}", std::process::id());
        let ports = test_support::free_loopback_ports(definition.services.len());
        for (service, port) in definition.services.iter_mut().zip(ports) {
            service.host_port = port;
            service.health_timeout_secs = 60;
        }
        let path = sandbox.path().join("stack.toml");
        std::fs::write(&path, toml::to_string(&definition).unwrap()).unwrap();
        Self { host: host.to_owned(), definition, path }
    }

    fn app_args(&self, sandbox: &Sandbox) -> Vec<String> {
        vec![
            "--registry".into(),
            sandbox.registry().display().to_string(),
            "--trust".into(),
            sandbox.public_key().display().to_string(),
            "--cache-dir".into(),
            sandbox.cache().display().to_string(),
            "--config-dir".into(),
            sandbox.path().join("config").display().to_string(),
            "--data-dir".into(),
            sandbox.path().join("data").display().to_string(),
            "--docker-host".into(),
            self.host.clone(),
            "--stack-definition".into(),
            self.path.display().to_string(),
            "--stack-bin-dir".into(),
            bin_dir().display().to_string(),
        ]
    }

    /// Everything on the engine labelled with this stack: containers, networks, volumes.
    async fn labelled(&self) -> Vec<String> {
        let engine = Engine::connect_to(&self.host).await.unwrap();
        let docker = engine.client();
        let filters =
            Some(HashMap::from([("label".to_owned(), vec![format!("{LABEL_STACK}={}", self.definition.name)])]));
        let mut found: Vec<String> = docker
            .list_containers(Some(ListContainersOptions { all: true, filters: filters.clone(), ..Default::default() }))
            .await
            .unwrap()
            .into_iter()
            .map(|c| format!("container {:?}", c.names))
            .collect();
        found.extend(
            docker
                .list_networks(Some(ListNetworksOptions { filters: filters.clone() }))
                .await
                .unwrap()
                .into_iter()
                .map(|n| format!("network {:?}", n.name)),
        );
        found.extend(
            docker
                .list_volumes(Some(ListVolumesOptions { filters }))
                .await
                .unwrap()
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(|v| format!("volume {}", v.name)),
        );
        found
    }
}

impl Drop for PanelStack {
    fn drop(&mut self) {
        let host = self.host.clone();
        let definition = self.definition.clone();
        // On its own thread: the test's runtime may be the one dropping us.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                if let Ok(engine) = Engine::connect_to(&host).await {
                    let _ = Stack::new(engine, definition).down().await;
                }
            });
        })
        .join();
    }
}

/// Previews a JSON document in the Record Collector and waits until it says
/// `parser` read it; returns the preview table's text.
async fn import_json_preview(app: &Client, parser: &str) -> String {
    const RC: &str = r#"section[data-remote="record-collector"][data-state="mounted"]"#;
    show(app, "record-collector").await;
    let text = wait_for(app, &format!(r#"{RC} [data-testid="rc-text"]"#)).await;
    text.clear().await.unwrap();
    text.send_keys(r#"[{"name": "ada", "year": 1815}, {"name": "grace", "year": 1906}]"#).await.unwrap();
    wait_for(app, &format!(r#"{RC} [data-testid="rc-format"]"#)).await.select_by_value("json").await.unwrap();
    wait_for(app, &format!(r#"{RC} [data-testid="rc-preview"]:not([disabled])"#)).await.click().await.unwrap();
    wait_for(app, &format!(r#"{RC} [data-testid="rc-parser"][data-parser="{parser}"]"#)).await;
    wait_for_content(app, &format!(r#"{RC} [data-testid="rc-preview-table"]"#), "grace").await
}

/// Saves the previewed JSON as a dataset and checks the service parsed it:
/// the dataset list shows it with both rows, and the parser line says so.
async fn save_json_through_the_service(app: &Client) {
    const RC: &str = r#"section[data-remote="record-collector"][data-state="mounted"]"#;
    let name = wait_for(app, &format!(r#"{RC} [data-testid="rc-name"]"#)).await;
    name.clear().await.unwrap();
    name.send_keys("pioneers").await.unwrap();
    wait_for(app, &format!(r#"{RC} [data-testid="rc-save"]:not([disabled])"#)).await.click().await.unwrap();
    let datasets = wait_for_content(app, &format!(r#"{RC} [data-testid="rc-datasets"]"#), "pioneers").await;
    assert!(datasets.contains("2 rows"), "both records were stored: {datasets}");
    // The parser line is set with the dataset list, so it already tells the save's parser.
    let parser = app.find(Locator::Css(&format!(r#"{RC} [data-testid="rc-parser"]"#))).await.unwrap();
    assert_eq!(
        parser.attr("data-parser").await.unwrap().as_deref(),
        Some("service"),
        "the save went through the service"
    );
}

/// Waits until `css` matches, with a deadline longer than the harness's for the stack's own work.
async fn wait_long(client: &Client, css: &str) {
    let start = Instant::now();
    while start.elapsed() < STACK_DEADLINE {
        if client.find(Locator::Css(css)).await.is_ok() {
            return;
        }
        if let Ok(error) = client.find(Locator::Css(r#"[data-testid="stack-error"]"#)).await {
            panic!("the panel shows an error while waiting for `{css}`: {}", error.text().await.unwrap_or_default());
        }
        // A poll interval inside a deadline, not a wait for readiness.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = client.source().await.unwrap_or_default();
    panic!("`{css}` did not appear within {STACK_DEADLINE:?}; page:\n{}", &page[..page.len().min(4000)]);
}

#[tokio::test]
async fn start_shows_every_service_healthy_with_logs_and_stop_leaves_nothing() {
    let _one = serial().await;
    let Some(host) = docker_host().await else { return };
    let sandbox = Sandbox::new();
    let stack = PanelStack::new(&sandbox, &host, "panel");
    let out = sandbox.publish(&remote_dist("record-collector"));
    assert!(out.status.success(), "publishing the Record Collector: {}", integration_tests::describe(&out));
    let driver = Driver::start();
    let app = driver.open(&stack.app_args(&sandbox)).await;

    wait_for(&app, r#"[data-testid="open-stack"]"#).await.click().await.unwrap();
    wait_for(&app, r#"[data-testid="stack-summary"][data-stopped="true"]"#).await;
    app.find(Locator::Css(r#"[data-testid="stack-start"]"#)).await.unwrap().click().await.unwrap();
    wait_long(&app, r#"[data-testid="stack-summary"][data-healthy="true"]"#).await;
    // Start is a plain `up`: the services of no profile (not the monitoring profile's Prometheus).
    for service in stack.definition.with_profiles(&[]).unwrap().service_names() {
        let row = wait_for(&app, &format!(r#"tr[data-service="{service}"][data-health="healthy"]"#)).await;
        let text = row.text().await.unwrap();
        let port = stack.definition.service(&service).unwrap().host_port;
        assert!(text.contains("healthy") && text.contains(&format!("127.0.0.1:{port}")), "{service}: {text}");
    }
    screenshot(&app, "stack-1-healthy").await;

    let preview = import_json_preview(&app, "service").await;
    assert!(preview.contains("ada"), "the service parsed the records: {preview}");
    save_json_through_the_service(&app).await;
    screenshot(&app, "stack-2-import-through-service").await;
    wait_for(&app, r#"[data-testid="open-stack"]"#).await.click().await.unwrap();

    wait_for(&app, r#"tr[data-service="parsers"] button.logs"#).await.click().await.unwrap();
    let logs = wait_for_text(&app, r#"[data-testid="stack-logs"]"#, "listening").await;
    assert!(logs.lines().count() >= 1, "{logs}");
    screenshot(&app, "stack-3-logs").await;

    app.find(Locator::Css(r#"[data-testid="stack-stop"]"#)).await.unwrap().click().await.unwrap();
    wait_long(&app, r#"[data-testid="stack-summary"][data-stopped="true"]"#).await;
    screenshot(&app, "stack-4-stopped").await;
    import_json_preview(&app, "in-process").await;
    app.close().await.unwrap();
    assert_eq!(stack.labelled().await, Vec::<String>::new(), "Stop removed everything with the stack's label");
}

#[tokio::test]
async fn start_with_a_dead_engine_says_docker_is_not_running() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    // A socket file nobody listens on: an engine that died.
    let socket = sandbox.path().join("dead.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let stack = PanelStack::new(&sandbox, &format!("unix://{}", socket.display()), "panel-dead");
    let driver = Driver::start();
    let app = driver.open(&stack.app_args(&sandbox)).await;

    wait_for(&app, r#"[data-testid="open-stack"]"#).await.click().await.unwrap();
    wait_for_text(&app, r#"[data-testid="stack-error"]"#, ENGINE_MESSAGE).await;
    app.find(Locator::Css(r#"[data-testid="stack-start"]"#)).await.unwrap().click().await.unwrap();
    // Start clears the old message; the failed `up` brings it back.
    let text = wait_for_text(&app, r#"[data-testid="stack-error"]"#, ENGINE_MESSAGE).await;
    assert!(text.contains("dead.sock"), "the message names the address tried: {text}");
    wait_for(&app, r#"[data-testid="stack-start"]:not([disabled])"#).await;
    screenshot(&app, "stack-5-no-engine").await;
    app.close().await.unwrap();
}
