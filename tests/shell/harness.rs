//! Starting tauri-driver under Xvfb, opening the app, and waiting for the
//! page, with deadlines rather than sleeps.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use integration_tests::Sandbox;
use serde_json::{Value, json};

/// How long any UI condition may take: generous for a loaded 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// One app session at a time: WebKit instances are heavy on two cores, and
/// a test that waits on a starved webview would time out for no reason.
/// (An async mutex: each test has its own runtime and holds it across awaits;
/// a failed test releases it without poisoning the others.)
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

/// `target/debug` (the test binary is in `target/debug/deps`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().and_then(Path::parent).expect("target profile dir").to_path_buf()
}

/// The app binary, built by `cargo build --workspace` (or `cargo xtask test`).
pub fn app_bin() -> PathBuf {
    let bin = profile_dir().join("augment-desktop");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo xtask test`, or build the shell UI and `cargo build -p augment-desktop`",
        bin.display()
    );
    bin
}

/// A script in `dir` that sets `variables` (name, value) and then starts the
/// app: WebDriver starts the script as the application, so one test's app
/// gets an environment of its own.
pub fn launcher_script(dir: &Path, variables: &[(&str, String)]) -> PathBuf {
    launcher_script_for(&app_bin(), dir, variables, None)
}

/// Like [`launcher_script`], for the executable `bin`; with `pid_file`, the
/// script writes its pid there first (the app keeps it: the script execs).
pub fn launcher_script_for(bin: &Path, dir: &Path, variables: &[(&str, String)], pid_file: Option<&Path>) -> PathBuf {
    let script = dir.join("launch-app.sh");
    let exports: String = variables.iter().map(|(name, value)| format!("export {name}='{value}'\n")).collect();
    let pid = pid_file.map(|file| format!("echo $$ > '{}'\n", file.display())).unwrap_or_default();
    let body = format!("#!/bin/sh\n{exports}{pid}exec '{}' \"$@\"\n", bin.display());
    std::fs::write(&script, body).unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    script
}

fn find_tool(name: &str, extra: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain(extra.iter().cloned()).map(|dir| dir.join(name)).find(|p| p.is_file())
}

fn require_tool(name: &str, extra: &[PathBuf], install: &str) -> PathBuf {
    find_tool(name, extra).unwrap_or_else(|| panic!("`{name}` is not installed, and the shell's end-to-end tests need it: {install} (or run `cargo xtask setup`)"))
}

/// Whether `GET /status` on a loopback port answers 200 with `"ready":true`.
fn status_ok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
        && answer.replace(' ', "").contains("\"ready\":true")
}

/// tauri-driver on its own X display, in its own process group so that
/// dropping it stops Xvfb, tauri-driver, WebKitWebDriver and the app.
pub struct Driver {
    child: Child,
    port: u16,
    native_port: u16,
}

impl Driver {
    /// Starts tauri-driver and waits until it and WebKitWebDriver answer.
    /// A start that never gets ready (a port taken by another process between
    /// choosing and binding it) is stopped and made again on new ports, a
    /// bounded number of times.
    pub fn start() -> Self {
        let cargo_bin =
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo/bin")).into_iter().collect::<Vec<_>>();
        let tauri_driver = require_tool("tauri-driver", &cargo_bin, "`cargo install tauri-driver --locked`");
        let webkit =
            require_tool("WebKitWebDriver", &[PathBuf::from("/usr/bin")], "`apt-get install webkit2gtk-driver`");
        let xvfb_run = require_tool("xvfb-run", &[], "`apt-get install xvfb xauth`");
        let mut failures = Vec::new();
        for _ in 0..3 {
            let driver = Self::spawn(&xvfb_run, &tauri_driver, &webkit);
            match driver.wait_ready() {
                Ok(()) => return driver,
                // Dropping `driver` stops everything that start made.
                Err(failure) => failures.push(failure),
            }
        }
        panic!("tauri-driver never got ready in 3 starts: {failures:?}; see target/debug/e2e-logs");
    }

    fn spawn(xvfb_run: &Path, tauri_driver: &Path, webkit: &Path) -> Self {
        let ports = test_support::free_loopback_ports(2);
        let (port, native_port) = (ports[0], ports[1]);
        let log_dir = profile_dir().join("e2e-logs");
        std::fs::create_dir_all(&log_dir).expect("log dir");
        let log = std::fs::File::create(log_dir.join(format!("tauri-driver-{port}.log"))).expect("log file");
        let child = Command::new(xvfb_run)
            .args(["-a", "-s", "-screen 0 1280x900x24"])
            .arg(tauri_driver)
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string(), "--native-driver"])
            .arg(webkit)
            .env("AUGMENT_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start xvfb-run tauri-driver");
        Self { child, port, native_port }
    }

    /// Polls `GET /status` of WebKitWebDriver (which tauri-driver starts in
    /// the background, and whose readiness tauri-driver's /status does not
    /// reflect) and of tauri-driver until both answer 200, or says which did
    /// not at the deadline.
    fn wait_ready(&self) -> Result<(), String> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if status_ok(self.native_port) && status_ok(self.port) {
                return Ok(());
            }
            // Not a fixed wait: the loop ends as soon as both answer.
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "tauri-driver (port {}) or WebKitWebDriver (port {}) did not answer GET /status within 30 s",
            self.port, self.native_port
        ))
    }

    /// Starts the app with `args` and returns a WebDriver session on it.
    ///
    /// WebKitWebDriver now and then resets the connection of a new-session
    /// request before launching anything (no app output, nothing in its
    /// log); such a handshake failure is retried, a bounded number of times.
    pub async fn open(&self, args: &[String]) -> Client {
        self.open_application(&app_bin(), args).await
    }

    /// Like [`Driver::open`], with another executable as the application
    /// (e.g. a script that sets the app's environment and captures its output).
    pub async fn open_application(&self, application: &Path, args: &[String]) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert("tauri:options".into(), json!({ "application": application, "args": args }));
        let mut failures = Vec::new();
        for _ in 0..3 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{}", self.port))
                .await
            {
                Ok(client) => return client,
                Err(
                    err @ (fantoccini::error::NewSessionError::Failed(_)
                    | fantoccini::error::NewSessionError::FailedC(_)),
                ) => {
                    failures.push(err.to_string());
                    if let Err(failure) = self.wait_ready() {
                        panic!("{failure} after a failed handshake; see target/debug/e2e-logs");
                    }
                }
                Err(err) => panic!("WebDriver refused a session on the app: {err}"),
            }
        }
        panic!("no WebDriver session on the app after 3 handshakes: {failures:?}");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group holds only what this driver started.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// The app's arguments for a sandbox: its cache, its config dir, and `registry` trusted with the sandbox key.
pub fn app_args(sandbox: &Sandbox, registry: &str) -> Vec<String> {
    vec![
        "--cache-dir".into(),
        sandbox.cache().display().to_string(),
        "--config-dir".into(),
        sandbox.path().join("config").display().to_string(),
        "--data-dir".into(),
        sandbox.path().join("data").display().to_string(),
        "--registry".into(),
        registry.into(),
        "--trust".into(),
        sandbox.public_key().display().to_string(),
    ]
}

/// Publishes fixture remotes (folder names under tests/fixtures/remotes-src).
pub fn publish(sandbox: &Sandbox, remotes: &[&str]) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/remotes-src");
    for remote in remotes {
        let out = sandbox.publish(&src.join(remote));
        assert!(out.status.success(), "publishing {remote}: {}", integration_tests::describe(&out));
    }
}

/// Waits until `css` matches an element. An element the page replaced
/// while WebKitWebDriver was making its handle (a re-render, "stale
/// element") is looked up again, within the same deadline.
pub async fn wait_for(client: &Client, css: &str) -> Element {
    let start = Instant::now();
    loop {
        let left = DEADLINE.saturating_sub(start.elapsed());
        match client.wait().at_most(left).for_element(Locator::Css(css)).await {
            Ok(element) => return element,
            Err(err) if err.is_stale_element_reference() && start.elapsed() < DEADLINE => continue,
            Err(err) => {
                let page = client.source().await.unwrap_or_default();
                panic!(
                    "no element matched `{css}` within {DEADLINE:?} ({err}); page:\n{}",
                    &page[..page.len().min(4000)]
                );
            }
        }
    }
}

/// Waits until `css` matches an element whose text contains `needle`.
pub async fn wait_for_text(client: &Client, css: &str, needle: &str) -> String {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < DEADLINE {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            last = element.text().await.unwrap_or_default();
            if last.contains(needle) {
                return last;
            }
        }
        // A poll interval inside a deadline, not a wait for readiness.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("`{css}` never contained {needle:?} within {DEADLINE:?}; last text: {last:?}");
}

/// Polls `probe` until `done` holds for what it saw and returns that; at
/// the deadline, panics naming `what` and the last thing seen.
pub async fn wait_until<S: std::fmt::Debug>(
    what: &str,
    mut probe: impl AsyncFnMut() -> S,
    done: impl Fn(&S) -> bool,
) -> S {
    let start = Instant::now();
    loop {
        let seen = probe().await;
        if done(&seen) {
            return seen;
        }
        assert!(start.elapsed() < DEADLINE, "never {what} within {DEADLINE:?}; last seen: {seen:?}");
        // A poll interval inside a deadline, not a wait for readiness.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs an async script in the page; `done` is the callback.
pub async fn run_async(client: &Client, body: &str) -> Value {
    let script = format!(
        "const done = arguments[arguments.length - 1]; (async () => {{ {body} }})().then(done, (e) => done({{ error: String(e) }}));"
    );
    client.execute_async(&script, vec![]).await.expect("script")
}

/// Saves a screenshot as target/e2e-screenshots/<name>.png.
pub async fn screenshot(client: &Client, name: &str) {
    let dir = profile_dir().parent().expect("target dir").join("e2e-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let png = client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "WebDriver returned a PNG");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

/// `remotes/<name>/dist`, built by `cargo xtask test` (or `cargo xtask run`).
pub fn remote_dist(name: &str) -> PathBuf {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../remotes").join(name).join("dist");
    assert!(
        dist.join("remote.json").exists(),
        "{} is missing: build it with `npm ci && npm run build --workspace remotes/{name}` (or run `cargo xtask test`)",
        dist.display()
    );
    dist
}

/// The `textContent` of the first match of `css`, once it is non-empty.
/// (WebDriver's element text is empty for the table's cells: they sit in a
/// scrolling, transformed container that WebKitWebDriver's visibility check
/// does not see into, although they are on screen.)
pub async fn cell_text(client: &Client, css: &str) -> String {
    wait_for_content(client, css, "").await
}

/// Waits until the first match of `css` has a non-empty `textContent` that contains `needle`.
pub async fn wait_for_content(client: &Client, css: &str, needle: &str) -> String {
    let start = Instant::now();
    let mut last = None;
    loop {
        let text = client
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                vec![json!(css)],
            )
            .await
            .unwrap();
        if let Some(text) = text.as_str().filter(|t| !t.is_empty() && t.contains(needle)) {
            return text.to_owned();
        }
        last = text.as_str().map(str::to_owned).or(last);
        assert!(
            start.elapsed() < DEADLINE,
            "`{css}` never had text containing {needle:?} within {DEADLINE:?}; last: {last:?}"
        );
        // A poll interval inside a deadline, not a wait for readiness.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens a remote's screen from the sidebar and waits until it is the one
/// shown (one screen at a time: the others are hidden, and WebDriver reads
/// no text from a hidden element and clicks none).
pub async fn show(client: &Client, remote: &str) {
    wait_for(client, &format!(r#"[data-testid="nav-{remote}"]"#)).await.click().await.expect("click the sidebar link");
    wait_for(client, &format!(r#".workspace:not([hidden]) section[data-remote="{remote}"]:not([hidden])"#)).await;
}

/// axe-core's accessibility violations on the page as shown now (colour
/// contrast included: this is real rendering), one line each. axe comes from
/// the npm workspace (`node_modules/axe-core`); it is put into the page by
/// WebDriver, which the page's CSP does not govern.
pub async fn axe_violations(client: &Client) -> Vec<String> {
    // 650 kB, put into the page at every check: read from disk once.
    static AXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let axe = AXE.get_or_init(|| {
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&source).unwrap_or_else(|err| {
            panic!("{} is missing ({err}): run `npm ci` (or `cargo xtask test`)", source.display())
        })
    });
    let loaded = client.execute(&format!("{axe}\n;window.axe = axe; return typeof window.axe.run;"), vec![]).await;
    assert_eq!(loaded.expect("load axe").as_str(), Some("function"), "axe loaded into the page");
    let found = run_async(
        client,
        "const results = await window.axe.run(document, { resultTypes: ['violations'] });
         return results.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`);",
    )
    .await;
    serde_json::from_value(found.clone()).unwrap_or_else(|_| panic!("axe failed: {found}"))
}
