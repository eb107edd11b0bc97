//! `stack_metrics` (issue 18, point 5): the local stack's own Prometheus
//! series, read by Rust and reduced to what the Admin Dashboard's "Service
//! metrics" panel charts, so the page needs neither the services' ports nor
//! the stack's token.
//!
//! Each running service is scraped at `/metrics` on the port the stack
//! publishes on 127.0.0.1, with the stack's token (`Authorization: Bearer`),
//! which the gateway and connector require there when no admin port is
//! configured. A service given an admin port (`SIDECAR_ADMIN_LISTEN`: the
//! gateway and connector in the `monitoring` profile) serves `/metrics` only
//! there, and the stack does not publish it. So while the profile's
//! Prometheus runs, every service's series are read from it (`/federate`: the
//! same text format, as of its last scrape, 2 s old at most), and a service
//! is asked itself only when Prometheus has nothing for it; without a running
//! Prometheus such a service is listed as unavailable, saying why. The
//! token is sent to loopback only and never leaves Rust.
//!
//! The reply holds counters as they are (totals since each service started);
//! rates, error ratios and quantiles need two scrapes, so the page computes
//! them between its samples (`remotes/admin-dashboard/src/serviceMetrics.ts`).
//! Routes that only probes and scrapes hit (`/health`, `/ready`, `/metrics`)
//! are left out: otherwise the app's own health checks and this scrape would
//! be most of an idle stack's traffic.

mod exposition;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt as _;
use serde::Serialize;
use stack::{StackError, State};

use super::stack::StackState;
use crate::error::CommandResult;

pub use exposition::{Sample, parse};

/// What the page shows when there is nothing to scrape.
pub const NOT_RUNNING: &str =
    "The local stack is not running: start it on the Local stack page (Start) or with `augment stack up`.";
/// The same when no container engine answers at all.
pub const NO_ENGINE: &str = "No container engine answers, so the local stack is not running: start Docker or Podman, \
     then the stack on the Local stack page (Start) or with `augment stack up`.";

/// How long one service may take to answer a scrape.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(3);
/// A metrics page larger than this is refused (ours are a few KiB).
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Routes hit by probes and scrapes, not by the stack's users.
const PROBE_ROUTES: [&str; 3] = ["/health", "/ready", "/metrics"];
/// The `monitoring` profile's Prometheus (docker/stack.toml): where a
/// service's series are read when its `/metrics` is not published, and not
/// itself a service of the stack's users, so it is not charted.
const PROMETHEUS_SERVICE: &str = "prometheus";

/// The local services' metrics at one moment.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackMetrics {
    /// When the scrape started, in milliseconds since the Unix epoch: the
    /// clock rates are computed with.
    pub at_ms: i64,
    /// Set when nothing runs to scrape: what to do, for the page to show.
    #[cfg_attr(test, ts(optional = nullable))]
    pub not_running: Option<String>,
    /// Every service of the stack, in the stack's order.
    pub services: Vec<ServiceMetrics>,
}

/// One service's series, summed over methods and routes (probes left out).
/// Counters are totals since the service started; a smaller value than the
/// last scrape's means it restarted.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMetrics {
    pub service: String,
    /// Why there are no numbers for this service (not running, unreachable,
    /// `/metrics` only on an unpublished admin port …); `None` when scraped.
    #[cfg_attr(test, ts(optional = nullable))]
    pub unavailable: Option<String>,
    /// `<service>_http_requests_total`.
    pub requests: f64,
    /// 4xx answers: `<service>_http_errors_total{kind="client"}`, or, from a
    /// service without that series, the 4xx statuses of the request counter.
    pub client_errors: f64,
    /// 5xx answers, the same way.
    pub server_errors: f64,
    /// `<service>_http_request_duration_seconds`, its routes' buckets added up.
    #[cfg_attr(test, ts(optional = nullable))]
    pub latency: Option<LatencyHistogram>,
    /// `<service>_http_requests_in_flight`, when the service exports it
    /// (it may count this scrape).
    #[cfg_attr(test, ts(optional = nullable))]
    pub in_flight: Option<f64>,
    /// `<service>_provider_*` per provider (the connector's).
    pub providers: Vec<ProviderMetrics>,
}

/// A cumulative histogram: `buckets` with finite upper bounds, ascending;
/// `count` is the `+Inf` bucket (every observation).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencyHistogram {
    pub buckets: Vec<LatencyBucket>,
    pub count: f64,
    /// Seconds, summed over every observation.
    pub sum: f64,
}

/// Observations at most `le` seconds.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LatencyBucket {
    pub le: f64,
    pub count: f64,
}

/// One AI provider's calls, tokens and cost through a service (totals).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderMetrics {
    pub provider: String,
    /// `<service>_provider_calls_total`, every outcome.
    pub calls: f64,
    /// Calls whose outcome was not `ok`.
    pub failed_calls: f64,
    /// `<service>_provider_tokens_total{direction="input"}`.
    pub input_tokens: f64,
    pub output_tokens: f64,
    /// `<service>_provider_cost_usd_total`; `None` when not exported.
    #[cfg_attr(test, ts(optional = nullable))]
    pub cost_usd: Option<f64>,
}

/// A running service to scrape: its name and the URL its port is published at.
#[derive(Debug, Clone)]
pub struct Target {
    pub service: String,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
}

/// The local stack's services' metrics now: per service requests, client and
/// server errors, the latency histogram, requests in flight and, for the
/// connector, each provider's calls, tokens and cost (see [`StackMetrics`]).
/// When nothing runs, `notRunning` says how to start the stack (not an error).
#[tauri::command]
pub async fn stack_metrics(state: tauri::State<'_, StackState>) -> CommandResult<StackMetrics> {
    let at_ms = now_ms();
    let not_running = |message: &str| StackMetrics { at_ms, not_running: Some(message.to_owned()), services: vec![] };
    let found = async {
        let stack = state.stack().await?;
        let status = stack.status().await?;
        Ok::<_, StackError>((stack, status))
    };
    let (stack, status) = match found.await {
        Ok(found) => found,
        Err(StackError::EngineNotRunning { .. }) => return Ok(not_running(NO_ENGINE)),
        Err(err) => return Err(err.into()),
    };
    let prometheus = status
        .services
        .iter()
        .find(|s| s.service == PROMETHEUS_SERVICE && s.state == State::Running)
        .and_then(|s| s.url.clone());
    let targets: Vec<(String, Option<Target>)> = status
        .services
        .iter()
        .filter(|s| s.service != PROMETHEUS_SERVICE)
        .map(|s| {
            let target = (s.state == State::Running)
                .then(|| s.url.clone().map(|base_url| Target { service: s.service.clone(), base_url }))
                .flatten();
            (s.service.clone(), target)
        })
        .collect();
    if targets.iter().all(|(_, target)| target.is_none()) {
        return Ok(not_running(NOT_RUNNING));
    }
    let token = stack.access_token().await?;
    let running: Vec<Target> = targets.iter().filter_map(|(_, t)| t.clone()).collect();
    let mut scraped: BTreeMap<String, ServiceMetrics> =
        scrape(&running, token.as_ref().map(stack::StackToken::expose), prometheus.as_deref())
            .await
            .into_iter()
            .map(|m| (m.service.clone(), m))
            .collect();
    let services = targets
        .into_iter()
        .map(|(service, _)| {
            scraped.remove(&service).unwrap_or_else(|| ServiceMetrics {
                unavailable: Some("not running".to_owned()),
                ..ServiceMetrics::named(&service)
            })
        })
        .collect();
    Ok(StackMetrics { at_ms, not_running: None, services })
}

/// Scrapes every target at once, each within [`SCRAPE_TIMEOUT`], sending
/// `token` as the bearer token; a target whose `/metrics` is on an unpublished
/// admin port is read from `prometheus` (its base URL) when given. One
/// failing service is reported in its `unavailable`, never failing the others.
pub async fn scrape(targets: &[Target], token: Option<&str>, prometheus: Option<&str>) -> Vec<ServiceMetrics> {
    let client = match reqwest::Client::builder().no_proxy().timeout(SCRAPE_TIMEOUT).build() {
        Ok(client) => client,
        Err(err) => {
            let why = format!("no HTTP client: {err}");
            return targets
                .iter()
                .map(|t| ServiceMetrics { unavailable: Some(why.clone()), ..ServiceMetrics::named(&t.service) })
                .collect();
        }
    };
    let pages = targets.iter().map(|target| async {
        match read_service(&client, target, token, prometheus).await {
            Ok(text) => reduce(&target.service, &text),
            Err(why) => ServiceMetrics { unavailable: Some(why), ..ServiceMetrics::named(&target.service) },
        }
    });
    futures_util::future::join_all(pages).await
}

/// `target`'s metrics page: from `prometheus` when it runs and has scraped
/// the service (then the service itself is not asked, so a service whose
/// `/metrics` is not on its published port is not sent a 404 per poll), else
/// from the service's published port.
async fn read_service(
    client: &reqwest::Client,
    target: &Target,
    token: Option<&str>,
    prometheus: Option<&str>,
) -> Result<String, String> {
    let mut federation_failed = None;
    if let Some(prometheus) = prometheus {
        match fetch_federated(client, prometheus, &target.service).await {
            Ok(text) => return Ok(text),
            Err(why) => federation_failed = Some(why),
        }
    }
    match fetch_page(client, target, token).await {
        Ok(text) => Ok(text),
        Err(Failed(why)) => Err(why),
        Err(Unpublished) => Err(federation_failed.map_or_else(
            || UNPUBLISHED.to_owned(),
            |why| format!("has its /metrics on an unpublished admin port, and {why}"),
        )),
    }
}

/// Why a service's published port gave no metrics page.
enum PageError {
    /// It answered 404: its `/metrics` is on an admin port the stack does not publish.
    Unpublished,
    /// Anything else, said for the page.
    Failed(String),
}
use PageError::{Failed, Unpublished};

impl From<String> for PageError {
    fn from(why: String) -> Self {
        Failed(why)
    }
}

const UNPUBLISHED: &str = "serves no /metrics on its published port (it has an admin port, which the local stack does \
     not publish, and the monitoring profile's Prometheus, which scrapes it there, is not running)";

/// `service`'s series as `prometheus` last scraped them (`/federate`, the
/// text format with a timestamp per sample, which [`parse`] skips), or why
/// not. Its samples carry the scrape's `job` and `instance` labels on top of
/// their own.
async fn fetch_federated(client: &reqwest::Client, prometheus: &str, service: &str) -> Result<String, String> {
    let url = format!("{}/federate", prometheus.trim_end_matches('/'));
    let selector = format!("{{job=\"{service}\"}}");
    let response = client.get(&url).query(&[("match[]", selector.as_str())]).send().await.map_err(|err| {
        tracing::debug!(service, error = %err.without_url(), "reading the series from Prometheus failed");
        format!("the stack's Prometheus at {url} did not answer")
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the stack's Prometheus answered {status}"));
    }
    let text = read_limited(response).await?;
    // Only Prometheus' own series about the scrape (`up`, `scrape_*`): it has
    // not scraped the service yet, or cannot (a plain `up` after a monitoring
    // one moved the service's /metrics back to its published port).
    let own_series = |line: &str| line.starts_with("up{") || line.starts_with("scrape_");
    if text.lines().all(|line| line.starts_with('#') || line.trim().is_empty() || own_series(line)) {
        return Err("the stack's Prometheus has no series of it".to_owned());
    }
    Ok(text)
}

/// The text of `target`'s `/metrics`, or why there is none. Errors name the
/// service and status, never the request's headers (the token).
async fn fetch_page(client: &reqwest::Client, target: &Target, token: Option<&str>) -> Result<String, PageError> {
    let url = format!("{}/metrics", target.base_url.trim_end_matches('/'));
    let mut request = client.get(&url);
    if let Some(token) = token {
        // The stack publishes on 127.0.0.1 only; the token never goes anywhere else.
        if !on_loopback(&url) {
            return Err(Failed(format!(
                "is published at {url}, not on loopback, so the stack's token is not sent there"
            )));
        }
        let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "the stack's token is not a valid header value".to_owned())?;
        value.set_sensitive(true);
        request = request.header(reqwest::header::AUTHORIZATION, value);
    }
    let response = request.send().await.map_err(|err| {
        let timed_out = err.is_timeout();
        tracing::debug!(service = %target.service, error = %err.without_url(), "scraping failed");
        if timed_out {
            format!("did not answer within {} s", SCRAPE_TIMEOUT.as_secs())
        } else {
            format!("unreachable at {url}")
        }
    })?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(Unpublished);
    }
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(Failed(format!(
            "refused the scrape ({status}): the stack's token did not match; restart the stack"
        )));
    }
    if !status.is_success() {
        return Err(Failed(format!("answered {status} to /metrics")));
    }
    Ok(read_limited(response).await?)
}

/// `http://127.0.0.1:<port>/…` or `http://localhost:<port>/…`.
fn on_loopback(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit_once(':').map_or(authority, |(host, _)| host);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// The body, refused past [`MAX_PAGE_BYTES`] whatever its length header says.
async fn read_limited(response: reqwest::Response) -> Result<String, String> {
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|err| format!("the metrics page broke off: {}", err.without_url()))?;
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(format!("the metrics page is over {} MiB", MAX_PAGE_BYTES / (1024 * 1024)));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| "the metrics page is not UTF-8 text".to_owned())
}

impl ServiceMetrics {
    fn named(service: &str) -> Self {
        Self { service: service.to_owned(), ..Self::default() }
    }
}

/// `service`'s page reduced to [`ServiceMetrics`]: series it does not
/// export stay zero or `None`, so an older service still charts what it has.
pub fn reduce(service: &str, text: &str) -> ServiceMetrics {
    let (samples, broken) = parse(text);
    if let Some(first) = broken.first() {
        tracing::warn!(service, lines = broken.len(), %first, "skipped unreadable lines of a metrics page");
    }
    let prefix = metric_prefix(service, &samples);
    let name = |suffix: &str| format!("{prefix}_{suffix}");
    let user_route = |s: &&Sample| s.label("route").is_none_or(|route| !PROBE_ROUTES.contains(&route));
    let series = |suffix: &str| {
        let wanted = name(suffix);
        samples.iter().filter(move |s| s.name == wanted)
    };

    let mut metrics = ServiceMetrics::named(service);
    let requests: Vec<&Sample> = series("http_requests_total").filter(user_route).collect();
    metrics.requests = total(requests.iter().copied());
    let errors: Vec<&Sample> = series("http_errors_total").filter(user_route).collect();
    let kind_sum = |kind: &str| total(errors.iter().copied().filter(|s| s.label("kind") == Some(kind)));
    let status_sum = |class: char| {
        total(requests.iter().copied().filter(|s| s.label("status").is_some_and(|st| st.starts_with(class))))
    };
    (metrics.client_errors, metrics.server_errors) =
        if errors.is_empty() { (status_sum('4'), status_sum('5')) } else { (kind_sum("client"), kind_sum("server")) };
    metrics.latency = histogram(&samples, &name("http_request_duration_seconds"), &user_route);
    metrics.in_flight = series("http_requests_in_flight").map(|s| s.value).reduce(|a, b| a + b);
    metrics.providers = providers(&samples, &prefix);
    metrics
}

/// The values added up from +0 (`Iterator::sum` of no floats is -0, which
/// would reach the page as "-0").
fn total<'a>(samples: impl Iterator<Item = &'a Sample>) -> f64 {
    samples.fold(0.0, |sum, s| sum + s.value)
}

/// The series' prefix: the service's name as a metric name (`registry-server`
/// → `registry_server`), else the one this page's request counter uses.
fn metric_prefix(service: &str, samples: &[Sample]) -> String {
    let from_name = service.replace('-', "_");
    let counters = || samples.iter().filter_map(|s| s.name.strip_suffix("_http_requests_total"));
    if counters().any(|p| p == from_name) {
        return from_name;
    }
    counters().next().map_or(from_name, str::to_owned)
}

/// The histogram `name`, its buckets added up over the series `keep` keeps.
fn histogram(samples: &[Sample], name: &str, keep: &dyn Fn(&&Sample) -> bool) -> Option<LatencyHistogram> {
    let (bucket, sum, count) = (format!("{name}_bucket"), format!("{name}_sum"), format!("{name}_count"));
    let mut by_bound: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    let mut histogram = LatencyHistogram::default();
    let mut found = false;
    for sample in samples.iter().filter(keep) {
        if sample.name == bucket {
            let Some(le) = sample.label("le").and_then(|le| exposition::number(le).ok()) else { continue };
            found = true;
            if le.is_finite() {
                // Ordered by the bound's bits: equal bounds add up, and for
                // non-negative floats the bits sort as the numbers do.
                by_bound.entry(le.max(0.0).to_bits()).or_insert((le, 0.0)).1 += sample.value;
            }
        } else if sample.name == sum {
            histogram.sum += sample.value;
        } else if sample.name == count {
            found = true;
            histogram.count += sample.value;
        }
    }
    histogram.buckets = by_bound.into_values().map(|(le, count)| LatencyBucket { le, count }).collect();
    found.then_some(histogram)
}

/// Per provider: calls (and the failed ones), tokens in and out, cost.
fn providers(samples: &[Sample], prefix: &str) -> Vec<ProviderMetrics> {
    let (calls, tokens, cost) = (
        format!("{prefix}_provider_calls_total"),
        format!("{prefix}_provider_tokens_total"),
        format!("{prefix}_provider_cost_usd_total"),
    );
    let mut by_provider: BTreeMap<String, ProviderMetrics> = BTreeMap::new();
    for sample in samples {
        let is_ours = [&calls, &tokens, &cost].contains(&&sample.name);
        let Some(provider) = sample.label("provider").filter(|_| is_ours) else { continue };
        let entry = by_provider
            .entry(provider.to_owned())
            .or_insert_with(|| ProviderMetrics { provider: provider.to_owned(), ..ProviderMetrics::default() });
        if sample.name == calls {
            entry.calls += sample.value;
            if sample.label("outcome") != Some("ok") {
                entry.failed_calls += sample.value;
            }
        } else if sample.name == tokens {
            match sample.label("direction") {
                Some("input") => entry.input_tokens += sample.value,
                Some("output") => entry.output_tokens += sample.value,
                _ => {}
            }
        } else {
            *entry.cost_usd.get_or_insert(0.0) += sample.value;
        }
    }
    by_provider.into_values().collect()
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use manifest::Permission;

    use super::*;
    use crate::grants::{Access, access, check_remote_call};

    /// What the sidecars write today plus the series issue 18 adds.
    const CONNECTOR: &str = r#"# TYPE connector_http_requests_total counter
connector_http_requests_total{method="POST",route="/v1/complete",status="200"} 7
connector_http_requests_total{method="POST",route="/v1/complete",status="502"} 2
connector_http_requests_total{method="POST",route="/v1/complete",status="401"} 1
connector_http_requests_total{method="GET",route="/health",status="200"} 40
connector_http_requests_total{method="GET",route="/metrics",status="200"} 12
# TYPE connector_http_request_duration_seconds histogram
connector_http_request_duration_seconds_bucket{method="POST",route="/v1/complete",le="0.1"} 4
connector_http_request_duration_seconds_bucket{method="POST",route="/v1/complete",le="1"} 9
connector_http_request_duration_seconds_bucket{method="POST",route="/v1/complete",le="+Inf"} 10
connector_http_request_duration_seconds_sum{method="POST",route="/v1/complete"} 3.5
connector_http_request_duration_seconds_count{method="POST",route="/v1/complete"} 10
connector_http_request_duration_seconds_bucket{method="GET",route="/v1/providers",le="0.1"} 2
connector_http_request_duration_seconds_bucket{method="GET",route="/v1/providers",le="1"} 2
connector_http_request_duration_seconds_bucket{method="GET",route="/v1/providers",le="+Inf"} 2
connector_http_request_duration_seconds_sum{method="GET",route="/v1/providers"} 0.02
connector_http_request_duration_seconds_count{method="GET",route="/v1/providers"} 2
connector_http_request_duration_seconds_bucket{method="GET",route="/health",le="0.1"} 40
connector_http_request_duration_seconds_bucket{method="GET",route="/health",le="+Inf"} 40
connector_http_request_duration_seconds_count{method="GET",route="/health"} 40
connector_http_requests_in_flight 1
connector_provider_calls_total{provider="openai",outcome="ok"} 7
connector_provider_calls_total{provider="openai",outcome="rate_limited"} 2
connector_provider_tokens_total{provider="openai",direction="input"} 1200
connector_provider_tokens_total{provider="openai",direction="output"} 300
connector_provider_cost_usd_total{provider="openai"} 0.0042
connector_provider_calls_total{provider="anthropic",outcome="ok"} 1
"#;

    #[test]
    fn a_page_becomes_totals_without_probes_with_errors_from_statuses_when_the_error_series_is_missing() {
        let m = reduce("connector", CONNECTOR);
        assert_eq!(m.unavailable, None);
        assert_eq!(m.requests, 10.0, "health checks and scrapes are left out");
        assert_eq!((m.client_errors, m.server_errors), (1.0, 2.0), "from the statuses");
        let latency = m.latency.expect("a histogram");
        assert_eq!(
            latency.buckets,
            [LatencyBucket { le: 0.1, count: 6.0 }, LatencyBucket { le: 1.0, count: 11.0 }],
            "routes added up, probes out"
        );
        assert_eq!(latency.count, 12.0);
        assert!((latency.sum - 3.52).abs() < 1e-9, "{}", latency.sum);
        assert_eq!(m.in_flight, Some(1.0));
        let openai = ProviderMetrics {
            provider: "openai".to_owned(),
            calls: 9.0,
            failed_calls: 2.0,
            input_tokens: 1200.0,
            output_tokens: 300.0,
            cost_usd: Some(0.0042),
        };
        let anthropic = ProviderMetrics { provider: "anthropic".to_owned(), calls: 1.0, ..ProviderMetrics::default() };
        assert_eq!(m.providers, [anthropic, openai]);
    }

    #[test]
    fn the_error_series_wins_over_statuses_and_missing_series_stay_empty() {
        let page = "parsers_http_requests_total{method=\"POST\",route=\"/csv\",status=\"400\"} 3\n\
                    parsers_http_errors_total{route=\"/csv\",kind=\"client\"} 5\n\
                    parsers_http_errors_total{route=\"/json\",kind=\"server\"} 1\n\
                    parsers_http_errors_total{route=\"/metrics\",kind=\"server\"} 9\n";
        let m = reduce("parsers", page);
        assert_eq!((m.requests, m.client_errors, m.server_errors), (3.0, 5.0, 1.0));
        assert_eq!((m.latency, m.in_flight), (None, None));
        let quiet =
            reduce("gateway", "gateway_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 4\n");
        assert!(quiet.requests.is_sign_positive() && quiet.client_errors.is_sign_positive(), "{quiet:?}");
        assert_eq!(serde_json::to_value(&quiet).unwrap()["clientErrors"].to_string(), "0.0");
        assert!(m.providers.is_empty());
        // A service named differently from its metrics' prefix.
        let m = reduce("auth", "auth_service_http_requests_total{method=\"GET\",route=\"/x\",status=\"200\"} 4\n");
        assert_eq!(m.requests, 4.0);
    }

    #[test]
    fn the_token_goes_to_loopback_only() {
        assert!(on_loopback("http://127.0.0.1:47800/metrics"));
        assert!(on_loopback("http://[::1]:47800/metrics"));
        for url in [
            "http://10.0.0.5:47800/metrics",
            "https://127.0.0.1.evil.example/metrics",
            "http://127.0.0.1@evil.example/metrics",
        ] {
            assert!(!on_loopback(url), "{url}");
        }
    }

    /// Least privilege: the metrics show the local services' traffic and
    /// spend, so only a remote holding `remotes:manage` (which, of the
    /// bundled remotes, only the Admin Dashboard declares) may read them.
    #[test]
    fn only_the_admin_dashboards_grant_reaches_the_metrics() {
        assert_eq!(access("stack_metrics"), Some(Access::Needs(Permission::RemotesManage)));
        let others = Permission::ALL.into_iter().filter(|p| *p != Permission::RemotesManage).collect::<BTreeSet<_>>();
        let err = check_remote_call("record-collector", "stack_metrics", &others).expect_err("refused");
        assert!(err.message.contains("remotes:manage"), "{}", err.message);
        assert!(check_remote_call("admin-dashboard", "stack_metrics", &[Permission::RemotesManage].into()).is_ok());

        let remotes = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../remotes");
        let mut holders = Vec::new();
        for entry in std::fs::read_dir(&remotes).expect("remotes/") {
            let manifest = entry.expect("entry").path().join("remote.json");
            let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
            let json: serde_json::Value = serde_json::from_str(&text).expect("remote.json");
            if json["permissions"].as_array().is_some_and(|p| p.iter().any(|p| p == "remotes:manage")) {
                holders.push(json["name"].as_str().unwrap_or_default().to_owned());
            }
        }
        assert_eq!(holders, ["admin-dashboard"]);
    }
}
