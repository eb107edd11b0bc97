//! Issue 18, point 5: `augment stack up --profile monitoring` on a real
//! Docker engine runs Prometheus (the Debian package, in an image built
//! here) scraping every service of the stack; its alert rules pass
//! `promtool check rules` and are loaded; every PromQL expression of the
//! Grafana dashboards is valid against that Prometheus.

#![allow(clippy::unwrap_used)] // test-only code: a failed setup step should fail the test loudly

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Kind, TestStack, bin_dir, engine_host, engine_lock, runtime};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `promtool` from the package `cargo xtask test` unpacks (AUGMENT_PROMTOOL_BIN),
/// else an installed one.
fn promtool() -> PathBuf {
    let candidates: Vec<PathBuf> = std::env::var_os("AUGMENT_PROMTOOL_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/usr/bin/promtool"), workspace().join("target/tools/prometheus/usr/bin/promtool")])
        .collect();
    candidates.iter().find(|p| p.is_file()).cloned().unwrap_or_else(|| {
        panic!(
            "promtool not found ({candidates:?}): run through `cargo xtask test` (it unpacks the Debian package \
             prometheus into target/tools), install the package, or set AUGMENT_PROMTOOL_BIN"
        )
    })
}

#[test]
fn the_alert_rules_pass_promtool() {
    let rules = workspace().join("docker/prometheus/alerts.yml");
    let output = Command::new(promtool()).args(["check", "rules"]).arg(&rules).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "promtool check rules: {text}");
    assert!(text.contains("SUCCESS: 3 rules found"), "{text}");
}

/// Every `expr` of every panel (rows' panels included) of every dashboard
/// in docker/grafana/dashboards, with the panel's title.
fn dashboard_expressions() -> Vec<(String, String)> {
    fn walk(panels: &Value, into: &mut Vec<(String, String)>) {
        for panel in panels.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or("").to_owned();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    into.push((title.clone(), expr.to_owned()));
                }
            }
            walk(&panel["panels"], into);
        }
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(workspace().join("docker/grafana/dashboards")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            walk(&dashboard["panels"], &mut found);
        }
    }
    found
}

/// GET `url`, answering the JSON body whatever the status.
fn fetch(url: &str) -> Result<Value, String> {
    runtime().block_on(async {
        let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().unwrap();
        let response = client.get(url).send().await.map_err(|e| e.to_string())?;
        response.json::<Value>().await.map_err(|e| e.to_string())
    })
}

fn query(prometheus: &str, expr: &str) -> Value {
    let url = reqwest::Url::parse_with_params(&format!("{prometheus}/api/v1/query"), [("query", expr)]).unwrap();
    fetch(url.as_str()).unwrap_or_else(|e| panic!("querying {expr}: {e}"))
}

/// `{ job: value }` of `up`.
fn up_by_job(answer: &Value) -> std::collections::BTreeMap<String, String> {
    answer["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (r["metric"]["job"].as_str().unwrap_or("").to_owned(), r["value"][1].as_str().unwrap_or("").to_owned())
        })
        .collect()
}

#[test]
fn docker_monitoring_profile_scrapes_every_service() {
    let Some(host) = engine_host(Kind::Docker) else { return };
    let _lock = engine_lock();
    let started = Instant::now();
    let stack = TestStack::new(&host, "monitoring");
    let expected: Vec<String> = stack.definition.with_profiles(&["monitoring".to_owned()]).unwrap().service_names();
    assert!(expected.contains(&"prometheus".to_owned()) && expected.len() >= 4, "{expected:?}");

    // Plain `up` first: no Prometheus, and the gateway's /metrics on its
    // published port behind the token, where the app's Admin Dashboard reads it.
    let plain = stack.json(&["stack", "up"], 0);
    assert_eq!(plain["services"].as_array().map(Vec::len), Some(expected.len() - 1), "{plain}");
    let token = stack.token();
    let metrics = runtime().block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = format!("http://127.0.0.1:{}/metrics", stack.port("gateway"));
        let response = client.get(url).bearer_auth(&token).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap_or_default())
    });
    assert_eq!(metrics.0, 200, "{}", metrics.1);
    assert!(metrics.1.contains("gateway_http_requests_in_flight"), "{}", metrics.1);

    let report = stack.json(&["stack", "up", "--profile", "monitoring"], 0);
    let services: Vec<&str> =
        report["services"].as_array().unwrap().iter().map(|s| s["service"].as_str().unwrap()).collect();
    assert_eq!(services.len(), expected.len(), "every service of the profile came up: {report}");
    let up_seconds = started.elapsed().as_secs_f64();
    let prometheus = format!("http://127.0.0.1:{}", stack.port("prometheus"));

    // Every service scraped successfully: `up` is 1 for each job, and no job is missing.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = query(&prometheus, "up");
        let up = up_by_job(&answer);
        let all_up = expected.iter().all(|job| up.get(job).map(String::as_str) == Some("1"));
        if all_up {
            assert_eq!(up.len(), expected.len(), "a job per service, no more: {up:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every service is up in Prometheus within 60 s: {up:?} (expected {expected:?})"
        );
        std::thread::sleep(Duration::from_millis(250)); // poll interval, not a readiness guess
    }
    // The sidecars' own series arrive, under the names the rules and dashboards use.
    for series in
        ["gateway_http_requests_in_flight", "connector_http_requests_in_flight", "parsers_http_requests_in_flight"]
    {
        let answer = query(&prometheus, series);
        assert_eq!(answer["data"]["result"].as_array().map(Vec::len), Some(1), "{series}: {answer}");
    }

    // The alert rules are loaded.
    let rules = fetch(&format!("{prometheus}/api/v1/rules")).unwrap();
    let loaded: Vec<(&str, &str)> = rules["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .map(|r| (r["name"].as_str().unwrap_or(""), r["health"].as_str().unwrap_or("")))
        .collect();
    for name in ["ServiceDown", "HighErrorRate", "HighLatency"] {
        assert!(loaded.iter().any(|(n, _)| *n == name), "{name} not loaded: {rules}");
    }

    // Every dashboard expression is valid PromQL here (a typo fails)…
    let expressions = dashboard_expressions();
    assert!(expressions.len() >= 8, "{expressions:?}");
    for (title, expr) in &expressions {
        let answer = query(&prometheus, expr);
        assert_eq!(answer["status"], "success", "panel `{title}`: {expr}: {answer}");
    }
    // …which the check can tell: a misspelt function is refused.
    let refused = query(&prometheus, "rat(gateway_http_requests_total[1m])");
    assert_eq!(refused["status"], "error", "{refused}");

    // `status --profile monitoring` counts Prometheus; `down` removes it with the rest.
    let status = stack.json(&["stack", "status", "--profile", "monitoring"], 0);
    assert_eq!(status["healthy"], true, "{status}");
    stack.json(&["stack", "down"], 0);
    let (containers, networks, volumes) = stack.labelled();
    assert!(
        containers.is_empty() && networks.is_empty() && volumes.is_empty(),
        "{containers:?} {networks:?} {volumes:?}"
    );
    eprintln!("monitoring profile: up in {up_seconds:.1} s, whole test {:.1} s", started.elapsed().as_secs_f64());
}

/// Without Prometheus on this machine, `up --profile monitoring` says what to
/// install and creates nothing (the check runs before the first change).
#[test]
fn a_missing_prometheus_says_what_to_install_and_creates_nothing() {
    let Some(host) = engine_host(Kind::Docker) else { return };
    let _lock = engine_lock();
    let stack = TestStack::new(&host, "noprom");
    let output = Command::new(integration_tests::augment_bin())
        .args(["stack", "up", "--profile", "monitoring", "--definition"])
        .arg(stack.definition_path())
        .env("DOCKER_HOST", &host)
        .env("AUGMENT_STACK_BIN_DIR", bin_dir())
        .env("AUGMENT_PROMETHEUS_BIN", "/nonexistent/prometheus")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("/nonexistent/prometheus") && stderr.contains("apt-get install prometheus"), "{stderr}");
    let (containers, networks, volumes) = stack.labelled();
    assert!(
        containers.is_empty() && networks.is_empty() && volumes.is_empty(),
        "{containers:?} {networks:?} {volumes:?}"
    );
    // An unknown profile is refused, naming the known ones.
    let output = stack.augment(&["stack", "up", "--profile", "monitorin"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("monitoring"), "{stderr}");
}
