//! `stack_metrics` (issue 18, point 5): the real service binaries the stack
//! runs (the static release build, like `stack_commands`), started on
//! loopback ports with a token, scraped the way the command scrapes a running
//! stack; the command itself with no engine; and, from the engine flow of
//! `stack_commands`, the command on a real stack.

use std::process::Command;

use augment_desktop::commands::stack_metrics::{NO_ENGINE, ServiceMetrics, Target, scrape};
use serde_json::{Value, json};
use stack::StackDefinition;
use test_support::{ServiceProcess, raw_http_request};

const TOKEN: &str = "0123456789abcdef0123456789abcdef-metrics-test";

fn binary(name: &str) -> std::path::PathBuf {
    let dir = crate::stack_commands::bin_dir();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the static services (`cargo xtask test` does) or set AUGMENT_STACK_BIN_DIR",
        path.display()
    );
    path
}

/// The parsers service, and the gateway in front of it requiring [`TOKEN`];
/// `gateway_env` adds to the gateway's environment.
fn services(gateway_env: &[(&str, String)]) -> (ServiceProcess, ServiceProcess) {
    let ports = test_support::free_loopback_ports(2);
    let mut parsers = Command::new(binary("parsers"));
    parsers.env("PARSERS_LISTEN", format!("127.0.0.1:{}", ports[0])).env_remove("SIDECAR_TOKEN_FILE");
    let parsers = ServiceProcess::start(parsers, ports[0]);
    let mut gateway = Command::new(binary("gateway"));
    gateway
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{}", ports[1]))
        .env("GATEWAY_UPSTREAMS", format!("parsers=http://127.0.0.1:{}", ports[0]))
        .env("SIDECAR_TOKEN", TOKEN)
        .env_remove("SIDECAR_TOKEN_FILE")
        .env_remove("SIDECAR_ALLOWED_HOSTS")
        .env_remove("GATEWAY_AUTH_URL")
        .envs(gateway_env.iter().map(|(k, v)| (k, v)));
    (parsers, ServiceProcess::start(gateway, ports[1]))
}

fn targets(services: &[(&str, &ServiceProcess)]) -> Vec<Target> {
    services
        .iter()
        .map(|(name, process)| Target {
            service: (*name).to_owned(),
            base_url: format!("http://127.0.0.1:{}", process.port),
        })
        .collect()
}

fn scrape_now(targets: &[Target], token: Option<&str>) -> Vec<ServiceMetrics> {
    scrape_through(targets, token, None)
}

fn scrape_through(targets: &[Target], token: Option<&str>, prometheus: Option<&str>) -> Vec<ServiceMetrics> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(scrape(targets, token, prometheus))
}

fn service<'a>(scraped: &'a [ServiceMetrics], name: &str) -> &'a ServiceMetrics {
    scraped.iter().find(|m| m.service == name).unwrap_or_else(|| panic!("{name} missing from {scraped:?}"))
}

/// A request as a browser on this machine would send it, with or without the token.
fn post(process: &ServiceProcess, path: &str, token: Option<&str>) -> u16 {
    let host = process.host();
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Host", host.as_str())];
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer.as_str()));
    }
    raw_http_request(process.port, "POST", path, &headers).0
}

/// After N requests through the gateway, both services' counters went up by
/// exactly N (and the gateway's 401s by the refused ones), the histograms
/// counted them, and the scrapes themselves are not traffic.
#[test]
fn counters_follow_real_requests_through_the_gateway() {
    let (parsers, gateway) = services(&[]);
    let targets = targets(&[("parsers", &parsers), ("gateway", &gateway)]);
    let before = scrape_now(&targets, Some(TOKEN));
    for m in &before {
        assert_eq!(m.unavailable, None, "{m:?}");
    }

    const SENT: f64 = 5.0;
    const REFUSED: f64 = 2.0;
    for _ in 0..SENT as usize {
        post(&gateway, "/api/parsers/csv", Some(TOKEN));
    }
    for _ in 0..REFUSED as usize {
        assert_eq!(post(&gateway, "/api/parsers/csv", None), 401);
    }
    let after = scrape_now(&targets, Some(TOKEN));
    let (p0, p1) = (service(&before, "parsers"), service(&after, "parsers"));
    let (g0, g1) = (service(&before, "gateway"), service(&after, "gateway"));
    assert_eq!(p1.requests - p0.requests, SENT, "every forwarded request reached parsers: {p1:?}");
    assert_eq!(g1.requests - g0.requests, SENT + REFUSED, "{g1:?}");
    // The gateway passes the parser's answer on, so its 4xx are the parser's plus the 401s.
    let parser_client_errors = p1.client_errors - p0.client_errors;
    assert_eq!(g1.client_errors - g0.client_errors, parser_client_errors + REFUSED, "{g1:?}");
    let count = |m: &ServiceMetrics| m.latency.as_ref().map_or(0.0, |h| h.count);
    assert_eq!(count(p1) - count(p0), SENT, "one observation per request: {:?}", p1.latency);
    let latency = p1.latency.as_ref().unwrap();
    assert!(latency.buckets.windows(2).all(|w| w[0].le < w[1].le && w[0].count <= w[1].count), "{latency:?}");

    let again = scrape_now(&targets, Some(TOKEN));
    assert_eq!(service(&again, "parsers").requests, p1.requests, "scrapes are not counted as traffic");
    assert_eq!(service(&again, "gateway").requests, g1.requests, "scrapes are not counted as traffic");
}

/// A wrong token, an admin port, a service that is gone: each service says
/// why it has no numbers, without failing the others or showing the token.
#[test]
fn a_service_without_numbers_says_why_and_the_token_never_shows() {
    let admin_port = test_support::free_loopback_ports(1)[0];
    let (parsers, gateway) = services(&[("SIDECAR_ADMIN_LISTEN", format!("127.0.0.1:{admin_port}"))]);
    let gone = test_support::free_loopback_ports(1)[0];
    let mut targets = targets(&[("parsers", &parsers), ("gateway", &gateway)]);
    targets.push(Target { service: "connector".to_owned(), base_url: format!("http://127.0.0.1:{gone}") });

    let scraped = scrape_now(&targets, Some(TOKEN));
    assert_eq!(service(&scraped, "parsers").unavailable, None, "{scraped:?}");
    let admin = service(&scraped, "gateway").unavailable.clone().unwrap_or_default();
    assert!(admin.contains("admin port"), "{admin}");
    let gone = service(&scraped, "connector").unavailable.clone().unwrap_or_default();
    assert!(gone.contains("unreachable"), "{gone}");

    let (_parsers, gateway) = services(&[]);
    let wrong = "fedcba9876543210fedcba9876543210-wrong-token";
    let scraped = scrape_now(&self::targets(&[("gateway", &gateway)]), Some(wrong));
    let refused = service(&scraped, "gateway").unavailable.clone().unwrap_or_default();
    assert!(refused.contains("401"), "{refused}");
    let reply =
        serde_json::to_string(&scraped).unwrap() + &serde_json::to_string(&scrape_now(&targets, Some(TOKEN))).unwrap();
    assert!(!reply.contains(TOKEN) && !reply.contains(wrong), "a token in a reply: {reply}");
}

/// A real Prometheus (the Debian package's, as the monitoring profile runs
/// it) on loopback, scraping each job's port every second; killed on drop.
struct Prometheus {
    child: std::process::Child,
    url: String,
    _data: tempfile::TempDir,
}

impl Prometheus {
    fn scraping(jobs: &[(&str, u16)]) -> Self {
        let binary =
            stack::locate_prometheus().expect("the monitoring profile's prometheus (`cargo xtask test` provides it)");
        let data = tempfile::tempdir().unwrap();
        let config = data.path().join("prometheus.yml");
        let mut yaml = "global:\n  scrape_interval: 1s\nscrape_configs:\n".to_owned();
        for (job, port) in jobs {
            yaml += &format!("  - job_name: {job}\n    static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\n");
        }
        std::fs::write(&config, yaml).unwrap();
        let port = test_support::free_loopback_ports(1)[0];
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starting prometheus");
        let prometheus = Self { child, url: format!("http://127.0.0.1:{port}"), _data: data };
        let ready = || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && raw_http_request(port, "GET", "/-/ready", &[("Host", "127.0.0.1")]).0 == 200
        };
        assert!(eventually(ready), "prometheus did not become ready on {port}");
        prometheus
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `condition` until it holds or 30 s pass.
fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// In the monitoring profile the gateway's `/metrics` moves to an admin port
/// the stack does not publish: its series are read from the stack's
/// Prometheus (`/federate`), the gateway itself is not asked (so polls are
/// not its traffic), and N requests still move its counter by N. A service
/// Prometheus cannot scrape (here: parsers, scraped at a dead port, as after
/// a plain `up` following a monitoring one) is read on its own port.
#[test]
fn a_service_on_an_unpublished_admin_port_is_read_through_prometheus() {
    let [admin_port, dead_port] = test_support::free_loopback_ports(2)[..] else { unreachable!() };
    let (parsers, gateway) = services(&[("SIDECAR_ADMIN_LISTEN", format!("127.0.0.1:{admin_port}"))]);
    let prometheus = Prometheus::scraping(&[("gateway", admin_port), ("parsers", dead_port)]);
    let targets = targets(&[("gateway", &gateway), ("parsers", &parsers)]);
    let read_all = || scrape_through(&targets, Some(TOKEN), Some(&prometheus.url));
    let read = || read_all().remove(0);

    let mut before = read();
    assert!(
        eventually(|| {
            before = read();
            before.unavailable.is_none()
        }),
        "never read through Prometheus: {before:?}"
    );
    const SENT: f64 = 3.0;
    for _ in 0..SENT as usize {
        assert_eq!(post(&gateway, "/api/parsers/csv", None), 401);
    }
    let mut after = read();
    assert!(
        eventually(|| {
            after = read();
            after.requests - before.requests >= SENT
        }),
        "Prometheus never saw the requests: {before:?} then {after:?}"
    );
    assert_eq!(after.requests - before.requests, SENT, "{after:?}");
    assert_eq!(after.client_errors - before.client_errors, SENT, "{after:?}");
    assert!(after.latency.is_some(), "the histogram came through federation too: {after:?}");

    let parsers = service(&read_all(), "parsers").clone();
    assert_eq!(parsers.unavailable, None, "read on its own port when Prometheus has none of its series: {parsers:?}");
    assert!(parsers.in_flight.is_some(), "its own series, not Prometheus' `up 0`: {parsers:?}");
}

/// No engine is an answer saying how to start the stack, not an error.
#[test]
fn without_an_engine_the_answer_says_how_to_start_the_stack() {
    let h = crate::common::DataHarness::new();
    let reply = h.invoke("stack_metrics", json!({})).expect("an answer, not an error");
    assert_eq!(reply["notRunning"], NO_ENGINE, "{reply}");
    assert!(NO_ENGINE.contains("augment stack up") && NO_ENGINE.contains("Local stack"), "{NO_ENGINE}");
    assert_eq!(reply["services"], json!([]));
    assert!(reply["atMs"].as_i64().is_some_and(|at| at > 1_700_000_000_000), "{reply}");
}

/// On the real stack of `stack_commands`' engine flow (up and healthy):
/// every service is scraped (the gateway and connector only with the stack's
/// token, which the command found itself), and N requests move the counters by N.
pub fn on_a_running_stack(invoke: &dyn Fn(&str, Value) -> Result<Value, Value>, definition: &StackDefinition) {
    let metrics = || invoke("stack_metrics", json!({})).expect("stack_metrics");
    let find = |reply: &Value, name: &str| -> Value {
        let services = reply["services"].as_array().cloned().unwrap_or_default();
        services.into_iter().find(|s| s["service"] == name).unwrap_or_else(|| panic!("no {name} in {reply}"))
    };
    let before = metrics();
    assert_eq!(before["notRunning"], Value::Null, "{before}");
    for name in ["parsers", "connector", "gateway"] {
        assert_eq!(find(&before, name)["unavailable"], Value::Null, "{name}: {before}");
    }
    let port = |name: &str| definition.service(name).unwrap().host_port;
    let (parsers, gateway) = (port("parsers"), port("gateway"));
    const SENT: u64 = 4;
    for _ in 0..SENT {
        let host = format!("127.0.0.1:{parsers}");
        raw_http_request(parsers, "POST", "/csv", &[("Host", &host)]);
        let host = format!("127.0.0.1:{gateway}");
        assert_eq!(raw_http_request(gateway, "POST", "/api/parsers/csv", &[("Host", &host)]).0, 401, "no token");
    }
    let after = metrics();
    let delta = |name: &str, field: &str| {
        find(&after, name)[field].as_f64().unwrap() - find(&before, name)[field].as_f64().unwrap()
    };
    assert_eq!(delta("parsers", "requests"), SENT as f64, "{after}");
    assert_eq!(delta("gateway", "requests"), SENT as f64, "{after}");
    assert_eq!(delta("gateway", "clientErrors"), SENT as f64, "{after}");
}
