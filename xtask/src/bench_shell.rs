//! The desktop shell's benchmarks for BENCHMARKS.md, each against a baseline
//! measured in the same run, release builds, under one Xvfb display:
//!
//! - cold start: process spawn → the page's first paint signal, the shell
//!   (its frame, static HTML painted before React starts, `shell painted`
//!   log line; the remotes follow from the cache, see "the product") against
//!   a bare Tauri 2 hello world (tests/fixtures/hello-tauri, its page calls a
//!   command after its first frame); median of alternating runs;
//! - memory: RSS summed over the app and its WebKit child processes (from
//!   /proc) with 5 remotes mounted, against the hello world;
//! - mount: a cached remote with 1 MiB of code, mounted at each of 20 app
//!   starts (the page times load start → mounted and logs it through
//!   `mark_known_good`), with the registry served over loopback HTTP and
//!   every request recorded;
//! - the product: spawn → the first product screen (Record Collector)
//!   mounted, and → all five product remotes (`remotes/*/dist`) mounted
//!   from the cache, against the hello world's spawn → painted;
//! - isolation (issue 15): the 1 MiB remote mounted sandboxed (its registry
//!   not first-party, its grant pre-approved through a lock file) against the
//!   same remote in the shell's realm, alternating: mount time and RSS.
//!
//! Registries and caches are built with the real `augment` CLI.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::{run_checked, workspace_root};

const START_ROUNDS: usize = 7;
const RSS_ROUNDS: usize = 3;
const MOUNTS: usize = 20;
const PRODUCT_ROUNDS: usize = 9;
/// Rounds of the launch with a failing registry; each round launches once per case.
const FAILURE_ROUNDS: usize = 7;
/// The failing registry's launches may take this much longer than the healthy one's.
const FAILURE_GOAL: f64 = 1.1;
/// Any wait for an app's log line gives up after this long.
const DEADLINE: Duration = Duration::from_secs(60);
/// Both apps get the same quiet time before their memory is read.
const SETTLE: Duration = Duration::from_secs(1);
/// The big remote's code size.
const BIG_BYTES: usize = 1024 * 1024;

pub fn run() -> Result<String> {
    let root = workspace_root();
    let (shell_bin, hello_bin, augment) = build(&root)?;
    let product_dirs = crate::setup::build_remotes(&root)?;
    ensure!(product_dirs.len() == 5, "expected the five product remotes, built {}", product_dirs.len());
    let display = Xvfb::start()?;
    let work = tempfile::tempdir()?;
    let fixtures = root.join("tests/fixtures/remotes-src");
    let big = write_big_remote(work.path())?;
    let five_dirs = vec![
        fixtures.join("alpha-1.0.0"),
        fixtures.join("beta-1.0.0"),
        fixtures.join("gamma-1.0.0"),
        fixtures.join("delta-1.0.0"),
        big.clone(),
    ];
    let five = Sandbox::prepare(&augment, &work.path().join("five"), &five_dirs)?;
    let one = Sandbox::prepare(&augment, &work.path().join("one"), &[big])?;
    let product = Sandbox::prepare(&augment, &work.path().join("product"), &product_dirs)?;

    let hello = App { bin: hello_bin, args: Vec::new(), display: display.name.clone() };
    let shell_five = App { bin: shell_bin.clone(), args: five.app_args(), display: display.name.clone() };
    let shell_one = App { bin: shell_bin.clone(), args: one.app_args(), display: display.name.clone() };
    let shell_product = App { bin: shell_bin, args: product.app_args(), display: display.name.clone() };

    // Warm the page cache and the WebKit data dirs once each, untimed.
    hello.start_to(|line| line.contains("hello-tauri: painted"))?.0.stop();
    shell_five.start_to(|line| line.contains("shell painted"))?.0.stop();

    let mut hello_start = Vec::new();
    let mut shell_start = Vec::new();
    for _ in 0..START_ROUNDS {
        let (running, elapsed) = hello.start_to(|line| line.contains("hello-tauri: painted"))?;
        running.stop();
        hello_start.push(elapsed);
        let (running, elapsed) = shell_five.start_to(|line| line.contains("shell painted"))?;
        running.stop();
        shell_start.push(elapsed);
    }

    let mut hello_rss = Vec::new();
    let mut shell_rss = Vec::new();
    for _ in 0..RSS_ROUNDS {
        let (running, _) = hello.start_to(|line| line.contains("hello-tauri: painted"))?;
        std::thread::sleep(SETTLE);
        hello_rss.push(tree_rss_kib(running.child.id()));
        running.stop();
        let (mut running, _) = shell_five.start_to(|line| line.contains("shell painted"))?;
        for _ in 0..five_dirs.len() {
            running.wait_for(|line| line.contains("remote mounted"))?;
        }
        std::thread::sleep(SETTLE);
        shell_rss.push(tree_rss_kib(running.child.id()));
        running.stop();
    }

    one.server.clear();
    let mut mounts = Vec::new();
    for _ in 0..MOUNTS {
        let (mut running, _) = shell_one.start_to(|line| line.contains("shell painted"))?;
        let (_, line) = running.wait_for(|line| line.contains("remote mounted") && line.contains("name=big"))?;
        running.stop();
        mounts.push(mount_ms(&line).with_context(|| format!("no mount_ms in {line:?}"))?);
    }
    let requests = one.server.requests();
    let content_requests = requests.iter().filter(|path| !is_update_probe(path)).count();

    let mut hello_paint = Vec::new();
    let mut product_mounted = Vec::new();
    for _ in 0..PRODUCT_ROUNDS {
        let (running, elapsed) = hello.start_to(|line| line.contains("hello-tauri: painted"))?;
        running.stop();
        hello_paint.push(elapsed);
        product_mounted.push(all_mounted(&shell_product, product_dirs.len())?);
    }

    let mut section =
        report(&hello_start, &shell_start, &hello_rss, &shell_rss, &mounts, requests.len(), content_requests);
    section.push_str(&product_report(&hello_paint, &product_mounted));
    section.push_str(&registry_failures(&shell_product, &product.server, product_dirs.len())?);
    section.push_str(&isolation(&augment, &shell_one, &one)?);
    Ok(section)
}

/// The same cached remote in the shell's realm (`shared`, the launch
/// registry is first-party) and sandboxed: the same cache with the
/// registry named only in the settings, and the remote's (empty) grant
/// applied from a lock file so no consent prompt waits.
fn isolation(augment: &Path, shared: &App, sandbox: &Sandbox) -> Result<String> {
    let sandboxed = sandboxed_app(augment, shared, sandbox)?;
    // Warm the sandbox page once, untimed.
    let (mut running, _) = sandboxed.start_to(|line| line.contains("shell painted"))?;
    running.wait_for(|line| line.contains("remote mounted") && line.contains("name=big"))?;
    running.stop();
    let mut mounts = [Vec::new(), Vec::new()];
    let mut rss = [Vec::new(), Vec::new()];
    for round in 0..MOUNTS {
        for (at, app) in [shared, &sandboxed].into_iter().enumerate() {
            let (mut running, _) = app.start_to(|line| line.contains("shell painted"))?;
            let (_, line) = running.wait_for(|line| line.contains("remote mounted") && line.contains("name=big"))?;
            mounts[at].push(mount_ms(&line).with_context(|| format!("no mount_ms in {line:?}"))?);
            if round < RSS_ROUNDS {
                std::thread::sleep(SETTLE);
                rss[at].push(tree_rss_kib(running.child.id()));
            }
            running.stop();
        }
    }
    Ok(isolation_report(&mounts, &rss))
}

fn sandboxed_app(augment: &Path, shared: &App, sandbox: &Sandbox) -> Result<App> {
    let dir = &sandbox.dir;
    let (lock, cache, public) = (dir.join("isolation.lock.json"), dir.join("cache"), dir.join("keys/registry.pub"));
    let cli = |args: &[&std::ffi::OsStr]| run_checked(Command::new(augment).args(args).env_remove("AUGMENT_CACHE_DIR"));
    cli(&["lock".as_ref(), "export".as_ref(), lock.as_os_str(), "--cache-dir".as_ref(), cache.as_os_str()])?;
    let mut file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&lock)?)?;
    for remote in file["remotes"].as_array_mut().context("a lock file lists remotes")? {
        remote["grants"] = serde_json::json!([]);
    }
    std::fs::write(&lock, file.to_string())?;
    cli(&[
        "lock".as_ref(),
        "apply".as_ref(),
        lock.as_os_str(),
        "--trust".as_ref(),
        public.as_os_str(),
        "--cache-dir".as_ref(),
        cache.as_os_str(),
    ])?;
    let config = dir.join("config-sandboxed");
    std::fs::create_dir_all(&config)?;
    let settings =
        serde_json::json!({ "registries": [{ "url": sandbox.server.url(), "trust": public.display().to_string() }] });
    std::fs::write(config.join("settings.json"), settings.to_string())?;
    let args =
        vec!["--cache-dir".into(), cache.display().to_string(), "--config-dir".into(), config.display().to_string()];
    Ok(App { bin: shared.bin.clone(), args, display: shared.display.clone() })
}

fn isolation_report(mounts: &[Vec<f64>; 2], rss: &[Vec<u64>; 2]) -> String {
    let (shared_ms, sandboxed_ms) = (median_f64(&mounts[0]), median_f64(&mounts[1]));
    let (shared_kib, sandboxed_kib) = (median_u64(&rss[0]), median_u64(&rss[1]));
    format!(
        "\n### Isolation: a sandboxed remote against the same remote in the shell's realm\n\n\
         The 1 MiB remote, cached, mounted at each of {n} alternating launches of each kind; RSS of the app and its \
         WebKit processes with it mounted ({r} launches each). Sandboxed: its own frame, page, React and shared modules.\n\n\
         | row | shell's realm | sandboxed | ratio |\n| --- | --- | --- | --- |\n\
         | mount time (median, ms) | {shared_ms:.1} | {sandboxed_ms:.1} | {:.2}× |\n\
         | RSS with it mounted (median, MiB) | {:.1} | {:.1} | {:.2}× (+{:.1} MiB) |\n",
        sandboxed_ms / shared_ms,
        shared_kib as f64 / 1024.0,
        sandboxed_kib as f64 / 1024.0,
        sandboxed_kib as f64 / shared_kib as f64,
        (sandboxed_kib as f64 - shared_kib as f64) / 1024.0,
        n = mounts[0].len(),
        r = rss[0].len(),
    )
}

/// The product remotes published into a loopback registry and cached, the
/// release shell launching on them and the bare window, on one display.
#[cfg(test)]
struct ProductBench {
    shell: App,
    hello: App,
    product: Sandbox,
    count: usize,
    _display: Xvfb,
    _work: tempfile::TempDir,
}

#[cfg(test)]
impl ProductBench {
    fn prepare() -> Result<Self> {
        let root = workspace_root();
        let (shell_bin, hello_bin, augment) = build(&root)?;
        let product_dirs = crate::setup::build_remotes(&root)?;
        ensure!(product_dirs.len() == 5, "expected the five product remotes, built {}", product_dirs.len());
        let display = Xvfb::start()?;
        let work = tempfile::tempdir()?;
        let product = Sandbox::prepare(&augment, &work.path().join("product"), &product_dirs)?;
        let shell = App { bin: shell_bin, args: product.app_args(), display: display.name.clone() };
        let hello = App { bin: hello_bin, args: Vec::new(), display: display.name.clone() };
        // Warm the page cache and the WebKit data dir once, untimed.
        all_mounted(&shell, product_dirs.len())?;
        Ok(Self { shell, hello, product, count: product_dirs.len(), _display: display, _work: work })
    }
}

/// Only the launch with a failing registry (its own builds, display and
/// sandbox): `cargo test -p xtask bench_shell_registry_down_only -- --ignored --nocapture`.
#[cfg(test)]
pub fn run_registry_down() -> Result<String> {
    let bench = ProductBench::prepare()?;
    registry_failures(&bench.shell, &bench.product.server, bench.count)
}

/// Only the product's start (its own builds, display and registry):
/// spawn → painted → first screen → all five, against the bare window.
#[cfg(test)]
pub fn run_product() -> Result<String> {
    let bench = ProductBench::prepare()?;
    let ProductBench { shell, hello, product, count, .. } = &bench;
    hello.start_to(|line| line.contains("hello-tauri: painted"))?.0.stop();
    // Another build of the shell (`AUGMENT_BENCH_COMPARE_SHELL=<binary>`, say
    // the one before a change), launched in the same rounds on the same cache.
    let other = std::env::var_os("AUGMENT_BENCH_COMPARE_SHELL").map(|bin| App {
        bin: PathBuf::from(bin),
        args: product.app_args(),
        display: shell.display.clone(),
    });
    if let Some(other) = &other {
        all_mounted(other, *count)?;
    }
    let mut hello_paint = Vec::new();
    let mut product_mounted = Vec::new();
    let mut other_mounted = Vec::new();
    for _ in 0..PRODUCT_ROUNDS {
        let (running, elapsed) = hello.start_to(|line| line.contains("hello-tauri: painted"))?;
        running.stop();
        hello_paint.push(elapsed);
        product_mounted.push(all_mounted(shell, *count)?);
        if let Some(other) = &other {
            other_mounted.push(all_mounted(other, *count)?);
        }
    }
    let mut section = product_report(&hello_paint, &product_mounted);
    if let Some(other) = &other {
        section.push_str(&format!("\nThe same rounds with {}:\n", other.bin.display()));
        section.push_str(&product_report(&hello_paint, &other_mounted));
    }
    Ok(section)
}

/// Only the isolation section (its own builds, display and sandbox).
#[cfg(test)]
pub fn run_isolation() -> Result<String> {
    let root = workspace_root();
    let (shell_bin, _, augment) = build(&root)?;
    let display = Xvfb::start()?;
    let work = tempfile::tempdir()?;
    let big = write_big_remote(work.path())?;
    let one = Sandbox::prepare(&augment, &work.path().join("one"), &[big])?;
    let shell_one = App { bin: shell_bin, args: one.app_args(), display: display.name.clone() };
    isolation(&augment, &shell_one, &one)
}

/// How the launch registry behaves during one launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RegistryCase {
    Healthy,
    /// HTTP 503 with an empty body for every path.
    Unavailable,
    /// Nothing listens on its port: every connection is refused.
    Refused,
}

impl RegistryCase {
    const ALL: [Self; 3] = [Self::Healthy, Self::Unavailable, Self::Refused];

    fn label(self) -> &'static str {
        match self {
            Self::Healthy => "healthy (serves the tree)",
            Self::Unavailable => "HTTP 503 on every path",
            Self::Refused => "unreachable (connection refused)",
        }
    }

    fn apply(self, server: &StaticServer) -> Result<()> {
        match self {
            Self::Healthy => server.answer(None),
            Self::Unavailable => server.answer(Some(503)),
            Self::Refused => server.refuse_connections(),
        }
    }

    /// Untimed, after every remote mounted: proof that this launch's update
    /// check met the registry as intended (healthy: it fetched the
    /// snapshot and logged no failure; 503: stale; refused: offline).
    fn confirm(self, running: &mut Running, server: &StaticServer) -> Result<()> {
        const NOT_USABLE: &str = "registry not usable";
        let wanted = match self {
            Self::Healthy => {
                let deadline = Instant::now() + DEADLINE;
                while !server.requests().iter().any(|path| path == "/snapshot.json") {
                    ensure!(Instant::now() < deadline, "the healthy launch never asked for snapshot.json");
                    std::thread::sleep(Duration::from_millis(10));
                }
                running.seen.extend(running.lines.try_iter());
                let failed = running.seen.iter().find(|line| line.contains(NOT_USABLE));
                ensure!(failed.is_none(), "the healthy registry was reported as failing: {failed:?}");
                return Ok(());
            }
            Self::Unavailable => "state=Stale",
            Self::Refused => "state=Offline",
        };
        running
            .wait_for(|line| line.contains(NOT_USABLE) && line.contains(wanted))
            .with_context(|| format!("the app never logged \"{NOT_USABLE}\" with {wanted} for {self:?}"))?;
        Ok(())
    }
}

/// Spawn → all `count` cached remotes mounted, with the launch registry
/// healthy, answering 503 or refusing connections; the three cases
/// alternate, the first of each round rotating.
fn registry_failures(app: &App, server: &StaticServer, count: usize) -> Result<String> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); RegistryCase::ALL.len()];
    for round in 0..FAILURE_ROUNDS {
        for turn in 0..RegistryCase::ALL.len() {
            let index = (round + turn) % RegistryCase::ALL.len();
            let case = RegistryCase::ALL[index];
            case.apply(server)?;
            server.clear();
            let started = Instant::now();
            let (mut running, _) = app.start_to(|line| line.contains("shell painted"))?;
            let mut last = started;
            for _ in 0..count {
                last = running.wait_for(|line| line.contains("remote mounted"))?.0;
            }
            let confirmed = case.confirm(&mut running, server);
            running.stop();
            confirmed?;
            times[index].push(last.duration_since(started));
        }
    }
    RegistryCase::Healthy.apply(server)?;
    Ok(registry_failures_report(&times))
}

fn registry_failures_report(times: &[Vec<Duration>]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let healthy = ms(median_duration(&times[0]));
    let mut rows = String::new();
    let mut all_met = true;
    for (case, samples) in RegistryCase::ALL.iter().zip(times) {
        let median = ms(median_duration(samples));
        let ratio = median / healthy;
        let runs = samples.iter().map(|d| format!("{:.0}", ms(*d))).collect::<Vec<_>>().join(", ");
        let (goal, verdict_text) = if *case == RegistryCase::Healthy {
            ("(baseline)", "")
        } else {
            all_met &= ratio <= FAILURE_GOAL;
            ("≤ 1.1×", verdict(ratio <= FAILURE_GOAL))
        };
        rows.push_str(&format!(
            "| {} | {median:.0} ms | {ratio:.2}× | {goal} | {verdict_text} | {runs} |\n",
            case.label()
        ));
    }
    format!(
        "\n### Launch with the registry failing\n\n\
         Goal: spawn → all five product remotes mounted from the verified cache, with the launch registry answering HTTP 503 \
         or refusing connections, within {FAILURE_GOAL}× of the same launch with the registry healthy: **{}**.\n\n\
         | registry | spawn → all five mounted, median of {FAILURE_ROUNDS} | vs healthy | goal | | runs (ms) |\n\
         | --- | --- | --- | --- | --- | --- |\n{rows}\n\
         The same app, cache and loopback registry for the three cases, which alternate (the first case rotates each round). \
         Each launch is checked after its time was taken: the healthy one fetched `snapshot.json` and logged no failure, the \
         503 one logged the registry `Stale` and the refused one `Offline` (\"registry not usable; the verified cache serves\").\n",
        if all_met { "met" } else { "not met" },
    )
}

/// The shell UI, the shell and the hello world in release, and the CLI.
pub(crate) fn build(root: &Path) -> Result<(PathBuf, PathBuf, PathBuf)> {
    run_checked(Command::new("npm").current_dir(root).args(["run", "build:shell"]))?;
    run_checked(Command::new("cargo").current_dir(root).args([
        "build",
        "--release",
        "--locked",
        "-p",
        "augment-desktop",
    ]))?;
    let target = root.join("target");
    run_checked(
        Command::new("cargo")
            .current_dir(root.join("tests/fixtures/hello-tauri"))
            .args(["build", "--release", "--locked", "--target-dir"])
            .arg(&target),
    )?;
    run_checked(Command::new("cargo").current_dir(root).args(["build", "--locked", "-p", "cli"]))?;
    Ok((target.join("release/augment-desktop"), target.join("release/hello-tauri"), target.join("debug/augment")))
}

/// A remote whose exposed module imports 1 MiB of code before it mounts.
fn write_big_remote(parent: &Path) -> Result<PathBuf> {
    let dir = parent.join("big-1.0.0");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("remote.json"),
        r#"{"name":"big","version":"1.0.0","entry":"remoteEntry.js","hostApi":"^1.0.0","exposes":["./App"],"displayName":"Big"}"#,
    )?;
    std::fs::write(
        dir.join("remoteEntry.js"),
        "export function init() {}\n\
         export async function get(expose) {\n\
           const { payload } = await import(\"./payload.js\");\n\
           return () => ({ mount(element) { element.textContent = `big mounted (${payload.length} bytes)`; } });\n\
         }\n",
    )?;
    let filler: String = (0..BIG_BYTES).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    std::fs::write(dir.join("payload.js"), format!("export const payload = \"{filler}\";\n"))?;
    Ok(dir)
}

/// A registry served over loopback HTTP and a cache already holding its remotes.
struct Sandbox {
    dir: PathBuf,
    server: StaticServer,
}

impl Sandbox {
    fn prepare(augment: &Path, dir: &Path, remotes: &[PathBuf]) -> Result<Self> {
        let cli =
            |args: &[&std::ffi::OsStr]| run_checked(Command::new(augment).args(args).env_remove("AUGMENT_CACHE_DIR"));
        let (keys, registry) = (dir.join("keys"), dir.join("registry"));
        cli(&["keygen".as_ref(), "--out".as_ref(), keys.as_os_str()])?;
        let key = keys.join("registry.key");
        cli(&["registry".as_ref(), "init".as_ref(), registry.as_os_str(), "--key".as_ref(), key.as_os_str()])?;
        for remote in remotes {
            cli(&[
                "publish".as_ref(),
                remote.as_os_str(),
                "--registry".as_ref(),
                registry.as_os_str(),
                "--key".as_ref(),
                key.as_os_str(),
            ])?;
        }
        let server = StaticServer::start(registry)?;
        let sandbox = Self { dir: dir.to_path_buf(), server };
        let (url, public, cache) = (sandbox.server.url(), keys.join("registry.pub"), dir.join("cache"));
        cli(&[
            "resolve".as_ref(),
            "--registry".as_ref(),
            url.as_ref(),
            "--trust".as_ref(),
            public.as_os_str(),
            "--cache-dir".as_ref(),
            cache.as_os_str(),
        ])?;
        Ok(sandbox)
    }

    fn app_args(&self) -> Vec<String> {
        let path = |name: &str| self.dir.join(name).display().to_string();
        vec![
            "--cache-dir".into(),
            path("cache"),
            "--config-dir".into(),
            path("config"),
            "--registry".into(),
            self.server.url(),
            "--trust".into(),
            path("keys/registry.pub"),
        ]
    }
}

/// The update check's requests (the root and snapshot probes); anything
/// else (an index, a blob) would be the mount reaching for the network.
fn is_update_probe(path: &str) -> bool {
    path == "/root.json" || path == "/snapshot.json" || path.starts_with("/roots/")
}

/// A static file server on loopback that records every request path. It
/// can be told to answer every request with an HTTP error status, or to stop
/// listening (connections refused) and listen again on the same port.
struct StaticServer {
    root: PathBuf,
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
    /// 0: serve the tree; anything else: answer every request with this status.
    status: Arc<AtomicU16>,
    accepting: Mutex<Option<Acceptor>>,
}

/// The accept loop's thread and how to end it.
struct Acceptor {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl StaticServer {
    fn start(root: PathBuf) -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let server = Self {
            root,
            port,
            requests: Arc::new(Mutex::new(Vec::new())),
            status: Arc::new(AtomicU16::new(0)),
            accepting: Mutex::new(None),
        };
        server.accept_on(listener);
        Ok(server)
    }

    fn accept_on(&self, listener: TcpListener) {
        let stop = Arc::new(AtomicBool::new(false));
        let (root, recorded, status, stopping) =
            (self.root.clone(), self.requests.clone(), self.status.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let (root, recorded, status) = (root.clone(), recorded.clone(), status.load(Ordering::SeqCst));
                std::thread::spawn(move || serve_one(stream, &root, &recorded, status));
            }
            // The listener drops here: the port refuses connections.
        });
        if let Ok(mut accepting) = self.accepting.lock() {
            *accepting = Some(Acceptor { stop, thread });
        }
    }

    /// Serves the tree (`None`) or answers every request with `status`,
    /// listening again first if [`StaticServer::refuse_connections`] stopped it.
    fn answer(&self, status: Option<u16>) -> Result<()> {
        self.status.store(status.unwrap_or(0), Ordering::SeqCst);
        let listening = self.accepting.lock().map(|accepting| accepting.is_some()).unwrap_or(false);
        if !listening {
            // std sets SO_REUSEADDR, so the port comes back despite TIME_WAIT.
            let listener = TcpListener::bind(("127.0.0.1", self.port))
                .with_context(|| format!("listening again on 127.0.0.1:{}", self.port))?;
            self.accept_on(listener);
        }
        Ok(())
    }

    /// Stops listening, so every connection to the port is refused (a
    /// registry host that is down), and returns once a connection is refused.
    fn refuse_connections(&self) -> Result<()> {
        let acceptor = self.accepting.lock().ok().and_then(|mut accepting| accepting.take());
        if let Some(acceptor) = acceptor {
            acceptor.stop.store(true, Ordering::SeqCst);
            // Wakes the blocked accept so the loop sees the flag and ends.
            let _ = TcpStream::connect(("127.0.0.1", self.port));
            let _ = acceptor.thread.join();
        }
        let deadline = Instant::now() + DEADLINE;
        loop {
            match TcpStream::connect(("127.0.0.1", self.port)) {
                Err(err) if err.kind() == std::io::ErrorKind::ConnectionRefused => return Ok(()),
                _ if Instant::now() > deadline => bail!("127.0.0.1:{} still accepts connections", self.port),
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn clear(&self) {
        if let Ok(mut list) = self.requests.lock() {
            list.clear();
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|list| list.clone()).unwrap_or_default()
    }
}

fn serve_one(stream: TcpStream, root: &Path, recorded: &Mutex<Vec<String>>, fail_with: u16) {
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").split('?').next().unwrap_or("/").to_owned();
    if let Ok(mut list) = recorded.lock() {
        list.push(path.clone());
    }
    let file = (!path.contains("..")).then(|| root.join(path.trim_start_matches('/'))).filter(|file| file.is_file());
    let (status, body) = match file.and_then(|file| std::fs::read(file).ok()) {
        _ if fail_with != 0 => (format!("{fail_with} Failing"), Vec::new()),
        Some(body) => ("200 OK".to_owned(), body),
        None => ("404 Not Found".to_owned(), b"not found".to_vec()),
    };
    let mut stream = &stream;
    let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
}

/// One X server for every run, so no app pays for starting a display.
struct Xvfb {
    child: Child,
    name: String,
}

impl Xvfb {
    fn start() -> Result<Self> {
        let number = (90..200)
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .context("no free X display number")?;
        let name = format!(":{number}");
        let child = Command::new("Xvfb")
            .args([name.as_str(), "-screen", "0", "1280x900x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting Xvfb (apt-get install xvfb, or `cargo xtask setup`)")?;
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{number}"));
        let started = Instant::now();
        while !socket.exists() {
            ensure!(started.elapsed() < DEADLINE, "Xvfb {name} did not open its socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self { child, name })
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start one of the two apps.
struct App {
    bin: PathBuf,
    args: Vec<String>,
    display: String,
}

/// A started app and its log lines as they arrive.
struct Running {
    child: Child,
    lines: Receiver<String>,
    /// Lines read while waiting for another one: a remote may mount before
    /// the paint signal arrives, and its line must not be lost.
    seen: Vec<String>,
}

impl App {
    /// Spawns the app and waits for the first log line matching `ready`;
    /// returns the time from spawn to that line.
    fn start_to(&self, ready: impl Fn(&str) -> bool) -> Result<(Running, Duration)> {
        let started = Instant::now();
        let mut child = Command::new(&self.bin)
            .args(&self.args)
            .env("DISPLAY", &self.display)
            .env("AUGMENT_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        let stderr = child.stderr.take().context("no stderr pipe")?;
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(strip_ansi(&line)).is_err() {
                    break;
                }
            }
        });
        let mut running = Running { child, lines, seen: Vec::new() };
        let (at, _) = running.wait_for(ready)?;
        Ok((running, at.duration_since(started)))
    }
}

impl Running {
    /// The next log line matching `wanted`, and when it arrived.
    fn wait_for(&mut self, wanted: impl Fn(&str) -> bool) -> Result<(Instant, String)> {
        if let Some(at) = self.seen.iter().position(|line| wanted(line)) {
            return Ok((Instant::now(), self.seen.remove(at)));
        }
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return Ok((Instant::now(), line)),
                Ok(line) => self.seen.push(line),
                Err(_) => bail!("the app exited or stayed silent for {DEADLINE:?} before the expected log line"),
            }
        }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `mount_ms=12.3` in a `remote mounted` line.
fn mount_ms(line: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|field| field.strip_prefix("mount_ms="))
        .and_then(|ms| ms.trim_matches('"').parse().ok())
}

/// VmRSS of `pid` and all its descendants, in KiB.
fn tree_rss_kib(pid: u32) -> u64 {
    let mut total = 0;
    let mut pending = vec![pid];
    while let Some(pid) = pending.pop() {
        total += std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
            })
            .unwrap_or(0);
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { continue };
        for task in tasks.flatten() {
            let mut children = String::new();
            if std::fs::File::open(task.path().join("children"))
                .and_then(|mut f| f.read_to_string(&mut children))
                .is_ok()
            {
                pending.extend(children.split_whitespace().filter_map(|child| child.parse::<u32>().ok()));
            }
        }
    }
    total
}

fn median_duration(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn median_u64(values: &[u64]) -> u64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

fn median_f64(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// The remote a product start opens on (the workflow's first step, shell-ui/src/routes.ts).
const FIRST_SCREEN: &str = "record-collector";
/// Launch → the first product screen interactive may take this much longer than the hello world's paint (issue 16).
const FIRST_SCREEN_GOAL_MS: f64 = 150.0;

/// Spawn → the first screen's and the `count`-th "remote mounted" lines.
#[derive(Debug, Clone, Copy)]
struct ProductStart {
    /// Spawn → the shell's frame painted (`shell painted`).
    painted: Duration,
    first_screen: Duration,
    all: Duration,
}

/// Starts `app` once and times its remotes' mounts from the spawn.
fn all_mounted(app: &App, count: usize) -> Result<ProductStart> {
    let started = Instant::now();
    let (mut running, painted) = app.start_to(|line| line.contains("shell painted"))?;
    let (mut first_screen, mut last) = (None, started);
    for _ in 0..count {
        let (at, line) = running.wait_for(|line| line.contains("remote mounted"))?;
        if line.contains(&format!("name={FIRST_SCREEN}")) {
            first_screen = Some(at);
        }
        last = at;
    }
    running.stop();
    let first_screen = first_screen.with_context(|| format!("{FIRST_SCREEN} never logged `remote mounted`"))?;
    Ok(ProductStart { painted, first_screen: first_screen.duration_since(started), all: last.duration_since(started) })
}

fn product_report(hello_paint: &[Duration], product: &[ProductStart]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let runs = |pick: fn(&ProductStart) -> Duration| -> Vec<Duration> { product.iter().map(pick).collect() };
    let (painted, first, all) = (runs(|p| p.painted), runs(|p| p.first_screen), runs(|p| p.all));
    // What the page does after its frame is on screen, launch by launch.
    let after_paint: Vec<Duration> = product.iter().map(|p| p.first_screen.saturating_sub(p.painted)).collect();
    let list = |runs: &[Duration]| runs.iter().map(|d| format!("{:.0}", ms(*d))).collect::<Vec<_>>().join(", ");
    let hello = median_duration(hello_paint);
    let row = |what: &str, shell: Duration, goal: &str, verdict: &str| {
        format!(
            "| {what} | {:.0} ms | {:.0} ms | {:+.0} ms | {:.2}× | {goal} | {verdict} |\n",
            ms(hello),
            ms(shell),
            ms(shell) - ms(hello),
            ms(shell) / ms(hello)
        )
    };
    let first_median = median_duration(&first);
    let first_over = ms(first_median) - ms(hello);
    let mut out = format!(
        "\n### The product as an analyst starts it\n\n\
         | measure, median of {PRODUCT_ROUNDS} alternating runs | hello world painted | shell | difference | ratio | goal | |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n"
    );
    out.push_str(&row("launch → the shell's frame painted", median_duration(&painted), "—", ""));
    out.push_str(&row(
        "launch → first product screen (Record Collector) mounted",
        first_median,
        &format!("≤ +{FIRST_SCREEN_GOAL_MS:.0} ms"),
        verdict(first_over <= FIRST_SCREEN_GOAL_MS),
    ));
    out.push_str(&row("launch → all five product screens' code loaded and mounted", median_duration(&all), "—", ""));
    out.push_str(&format!(
        "\nRuns (ms): hello painted {}; shell painted {}; first screen mounted {}; all five {}. \
         Frame painted → first screen mounted, the page's own start, per launch: {} (median {:.0} ms).\n\n\
         Each shell start opens on the workflow's first step and mounts all five product remotes (their `remotes/*/dist` builds, \
         published into a loopback registry and resolved into the cache first) from the `mfe://` cache; the others stay hidden until \
         opened. \"Mounted\" is the remote's `remote mounted` log line: its first render committed and settled, so it answers input. \
         The RSS with a 20,000-row dataset open and after 30 minutes of scripted use are in \"Memory over a working session\".\n",
        list(hello_paint),
        list(&painted),
        list(&first),
        list(&all),
        list(&after_paint),
        ms(median_duration(&after_paint)),
    ));
    out
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**not met**" }
}

fn report(
    hello_start: &[Duration],
    shell_start: &[Duration],
    hello_rss: &[u64],
    shell_rss: &[u64],
    mounts: &[f64],
    requests: usize,
    content_requests: usize,
) -> String {
    let (hello, shell) = (median_duration(hello_start), median_duration(shell_start));
    let start_diff = shell.as_secs_f64() * 1000.0 - hello.as_secs_f64() * 1000.0;
    let (hello_mib, shell_mib) = (median_u64(hello_rss) as f64 / 1024.0, median_u64(shell_rss) as f64 / 1024.0);
    let rss_diff = shell_mib - hello_mib;
    let mount_p50 = median_f64(mounts);
    let ms = |values: &[Duration]| {
        values.iter().map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0)).collect::<Vec<_>>().join(", ")
    };
    let mib =
        |values: &[u64]| values.iter().map(|v| format!("{:.0}", *v as f64 / 1024.0)).collect::<Vec<_>>().join(", ");
    format!(
        "## Desktop shell (`xtask/src/bench_shell.rs`)\n\n\
         Release builds under Xvfb; the baseline is a bare Tauri 2 window (`tests/fixtures/hello-tauri`) built in the same run.\n\n\
         | measure | hello world | shell | difference | goal | |\n| --- | --- | --- | --- | --- | --- |\n\
         | cold start → painted, median of {START_ROUNDS} alternating runs | {:.0} ms | {:.0} ms | {start_diff:+.0} ms | ≤ +50 ms | {} |\n\
         | RSS (app + WebKit processes), 5 remotes mounted, median of {RSS_ROUNDS} | {hello_mib:.0} MiB | {shell_mib:.0} MiB | {rss_diff:+.0} MiB | ≤ +100 MB | {} |\n\
         | mount of a cached 1 MiB remote, p50 of {MOUNTS} app starts | — | {mount_p50:.1} ms | — | ≤ 50 ms | {} |\n\
         | network requests for remote content during those mounts | — | {content_requests} | — | 0 | {} |\n\n\
         Start-up: spawn → the page's first-paint signal (the shell: its frame, static HTML in index.html, reported after the next frame \
         before React and the Module Federation runtime load; the hello world: a command called the same way). Runs (ms): hello {}; shell {}.\n\
         RSS samples (MiB): hello {}; shell {}.\n\
         Mount: load start → mounted, timed by the page in each of {MOUNTS} fresh app starts (so every mount is a cold module load from the `mfe://` cache); \
         the loopback registry recorded {requests} requests in those starts, all of them the background update check's root/snapshot probes.\n",
        hello.as_secs_f64() * 1000.0,
        shell.as_secs_f64() * 1000.0,
        verdict(start_diff <= 50.0),
        verdict(rss_diff * 1.048_576 <= 100.0),
        verdict(mount_p50 <= 50.0),
        verdict(content_requests == 0),
        ms(hello_start),
        ms(shell_start),
        mib(hello_rss),
        mib(shell_rss),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_times_are_read_from_plain_and_coloured_lines() {
        let line = "2026-11-26T17:00:00Z  INFO augment_desktop::commands::remotes: remote mounted; marked known good name=big version=1.0.0 mount_ms=12.5";
        assert_eq!(mount_ms(line), Some(12.5));
        assert_eq!(mount_ms(&strip_ansi("\u{1b}[3mmount_ms\u{1b}[0m\u{1b}[2m=\u{1b}[0m7.0 x")), Some(7.0));
        assert_eq!(mount_ms(r#"known good name=big version=1.0.0 mount_ms="34.0""#), Some(34.0));
        assert_eq!(mount_ms("mount_ms=-"), None);
    }

    #[test]
    fn the_static_server_fails_refuses_and_recovers_on_the_same_port() {
        let tree = tempfile::tempdir().unwrap();
        std::fs::write(tree.path().join("root.json"), "{}").unwrap();
        let server = StaticServer::start(tree.path().to_path_buf()).unwrap();
        let get = |server: &StaticServer| -> std::io::Result<String> {
            let mut stream = TcpStream::connect(("127.0.0.1", server.port))?;
            stream.write_all(b"GET /root.json HTTP/1.1\r\nHost: x\r\n\r\n")?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer)?;
            Ok(answer)
        };
        assert!(get(&server).unwrap().starts_with("HTTP/1.1 200"));
        server.answer(Some(503)).unwrap();
        assert!(get(&server).unwrap().starts_with("HTTP/1.1 503"));
        server.refuse_connections().unwrap();
        assert_eq!(get(&server).unwrap_err().kind(), std::io::ErrorKind::ConnectionRefused);
        server.answer(None).unwrap();
        assert!(get(&server).unwrap().ends_with("\r\n\r\n{}"));
        assert_eq!(server.requests(), ["/root.json", "/root.json", "/root.json"]);
    }

    #[test]
    fn only_root_and_snapshot_probes_count_as_update_checks() {
        assert!(
            is_update_probe("/root.json") && is_update_probe("/snapshot.json") && is_update_probe("/roots/2.root.json")
        );
        assert!(!is_update_probe("/remotes/big.json") && !is_update_probe("/blobs/sha256/ab"));
    }
}

/// Runs only this section (`cargo test -p xtask bench_shell_only -- --ignored --nocapture`),
/// for refreshing the "Desktop shell" section without the other benchmarks.
#[cfg(test)]
mod only {
    #[test]
    #[ignore = "builds release apps and takes minutes; run on demand"]
    fn bench_shell_only() {
        let section = super::run().unwrap();
        println!("{section}");
    }

    /// Only the isolation rows: `cargo test -p xtask bench_shell_isolation_only -- --ignored --nocapture`.
    #[test]
    #[ignore = "builds release apps and takes minutes; run on demand"]
    fn bench_shell_isolation_only() {
        let section = super::run_isolation().unwrap();
        println!("{section}");
    }

    /// Only the product's start: `cargo test -p xtask bench_shell_product_only -- --ignored --nocapture`.
    #[test]
    #[ignore = "builds release apps and takes minutes; run on demand"]
    fn bench_shell_product_only() {
        let section = super::run_product().unwrap();
        println!("{section}");
    }

    /// Only the launch with a failing registry (503, connection refused, healthy):
    /// `cargo test -p xtask bench_shell_registry_down_only -- --ignored --nocapture`.
    #[test]
    #[ignore = "builds release apps and takes minutes; run on demand"]
    fn bench_shell_registry_down_only() {
        let section = super::run_registry_down().unwrap();
        println!("{section}");
    }
}
