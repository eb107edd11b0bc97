//! What every sidecar service shares, so the parsers, gateway and connector
//! services behave the same on the wire and in operations:
//!
//! - [`ErrorBody`]: errors as JSON `{ "code", "message", … }`, never bare text;
//! - [`standard_layers`]: `x-request-id` (set if missing, echoed on the
//!   response, recorded on the request's log span), `TraceLayer`, and
//!   per-route Prometheus counters and latencies, errors by kind, and the
//!   requests in flight (the service's queue depth);
//! - [`HttpMetrics`] and [`metrics_response`] for `/metrics`; [`Readiness`],
//!   [`health`] and [`ready`] for probes;
//! - [`init_tracing`] (JSON logs when `LOG_FORMAT=json`) and [`serve`] with
//!   graceful shutdown on SIGTERM or ctrl-c;
//! - [`Access`] and [`require_access`]: the per-stack token and the
//!   `Host`/`Origin` check (issue 20, point 9);
//! - [`admin_app`]: the admin port's `/health`, `/ready`, `/metrics`;
//! - `auth_client` (feature `auth-client`): the auth service's token
//!   verification, as the gateway and the registry server ask it.
//!
//! Metrics use the `prometheus` crate rather than the `metrics` facade: each
//! service instance owns its registry, so tests that start several services
//! in one process read exact, unshared counts, and nothing global has to be
//! installed exactly once.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

mod access;
mod admin;
#[cfg(feature = "auth-client")]
pub mod auth_client;

pub use access::{
    ALLOWED_HOSTS_ENV, Access, AccessToken, LOOPBACK_HOSTS, MIN_TOKEN_CHARS, PROBE_PATHS, TOKEN_ENV, TOKEN_FILE_ENV,
    require_access,
};
pub use admin::admin_app;

/// The request id header, set by the first service a request reaches and
/// passed along by the gateway so one id follows a request through the stack.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Failures while setting a service up or running it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SidecarError {
    #[error(
        "could not listen on {addr}: {source}; choose another address with --listen, or stop whatever is using that port"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    #[error("the HTTP server stopped with an error: {0}; restart the service")]
    Serve(#[source] std::io::Error),

    #[error("access control could not be set up: {0}")]
    Access(String),

    #[error("logging could not be set up: {0}; check RUST_LOG (for example RUST_LOG=info)")]
    Tracing(String),

    #[error("metric `{name}` could not be registered: {source}; this is a bug in the service")]
    Metrics {
        name: String,
        #[source]
        source: prometheus::Error,
    },
}

/// A JSON error response: `{ "code", "message" }` plus optional details
/// (`line`, `column`, `services`, …). Services map their own error enums to
/// this, so every sidecar error looks the same to the app and to scripts.
#[derive(Debug, Clone)]
pub struct ErrorBody {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Map<String, Value>,
    pub headers: HeaderMap,
}

impl ErrorBody {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ErrorBody { status, code, message: message.into(), details: Map::new(), headers: HeaderMap::new() }
    }

    /// Adds a field beside `code` and `message`.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Adds a response header (`Retry-After`, say).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }
}

impl IntoResponse for ErrorBody {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("code".to_owned(), Value::from(self.code));
        body.insert("message".to_owned(), Value::from(self.message));
        body.extend(self.details);
        (self.status, self.headers, Json(Value::Object(body))).into_response()
    }
}

/// The JSON answer for a request no route matches, used as a router fallback.
pub fn not_found(method: &Method, path: &str, hint: &str) -> ErrorBody {
    ErrorBody::new(StatusCode::NOT_FOUND, "not_found", format!("no route for {method} {path}; {hint}"))
}

/// Whether the service should receive traffic. It starts ready and turns
/// unready when shutdown begins, so a load balancer stops sending new
/// requests while in-flight ones finish.
#[derive(Debug, Clone)]
pub struct Readiness(Arc<AtomicBool>);

impl Default for Readiness {
    fn default() -> Self {
        Readiness(Arc::new(AtomicBool::new(true)))
    }
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    pub fn set_ready(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }
}

/// `/health` (liveness): the process answers HTTP.
pub fn health(service: &'static str) -> Response {
    Json(json!({ "status": "ok", "service": service, "version": env!("CARGO_PKG_VERSION") })).into_response()
}

/// `/ready` for a service that depends on nothing but itself.
pub fn ready(service: &'static str, readiness: &Readiness) -> Response {
    if readiness.is_ready() {
        Json(json!({ "ready": true, "service": service })).into_response()
    } else {
        ErrorBody::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            format!("{service} is shutting down and takes no new requests; send them to another instance or retry after it restarts"),
        )
        .with("ready", false)
        .into_response()
    }
}

/// Request counters and latency histograms, labelled by method, matched
/// route (never the raw path, which would make a label per URL) and status;
/// 4xx and 5xx answers counted again by kind, and the requests being
/// answered right now. The names are what the alert rules
/// (`docker/prometheus/alerts.yml`), the Grafana dashboards and the Admin
/// Dashboard's charts query: rename nothing without them.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    errors: IntCounterVec,
    in_flight: IntGauge,
}

impl HttpMetrics {
    /// Metrics for `service`, whose name prefixes every metric (`parsers_http_requests_total`).
    pub fn new(service: &str) -> Result<Self, SidecarError> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(format!("{service}_http_requests_total"), "HTTP requests answered, by route and status"),
            &["method", "route", "status"],
        )
        .map_err(|source| metrics_error(service, source))?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                format!("{service}_http_request_duration_seconds"),
                "Time to produce the response head, by route",
            ),
            &["method", "route"],
        )
        .map_err(|source| metrics_error(service, source))?;
        let errors = IntCounterVec::new(
            Opts::new(
                format!("{service}_http_errors_total"),
                "HTTP requests answered with an error, by route and kind (client: 4xx, server: 5xx)",
            ),
            &["route", "kind"],
        )
        .map_err(|source| metrics_error(service, source))?;
        let in_flight = IntGauge::new(
            format!("{service}_http_requests_in_flight"),
            "HTTP requests received and not yet answered (the service's queue depth)",
        )
        .map_err(|source| metrics_error(service, source))?;
        let metrics = HttpMetrics { registry, requests, duration, errors, in_flight };
        metrics.register(Box::new(metrics.requests.clone()))?;
        metrics.register(Box::new(metrics.duration.clone()))?;
        metrics.register(Box::new(metrics.errors.clone()))?;
        metrics.register(Box::new(metrics.in_flight.clone()))?;
        Ok(metrics)
    }

    /// Adds a service's own metric to the same `/metrics` page.
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) -> Result<(), SidecarError> {
        let name = collector.desc().first().map_or_else(String::new, |d| d.fq_name.clone());
        self.registry.register(collector).map_err(|source| SidecarError::Metrics { name, source })
    }

    /// The Prometheus text exposition of every registered metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec only fails on invalid metric families, which
        // registration has already rejected.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn observe(&self, method: &Method, route: &str, status: StatusCode, started: Instant) {
        let method = method_label(method);
        self.requests.with_label_values(&[method, route, status.as_str()]).inc();
        self.duration.with_label_values(&[method, route]).observe(started.elapsed().as_secs_f64());
        let kind = if status.is_client_error() {
            Some("client")
        } else if status.is_server_error() {
            Some("server")
        } else {
            None
        };
        if let Some(kind) = kind {
            self.errors.with_label_values(&[route, kind]).inc();
        }
    }

    /// Counts a request in flight until the returned guard drops, which also
    /// happens when the client goes away and the request's future is dropped.
    fn start_request(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }
}

/// One request in `{service}_http_requests_in_flight`.
struct InFlight(IntGauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn metrics_error(service: &str, source: prometheus::Error) -> SidecarError {
    SidecarError::Metrics { name: service.to_owned(), source }
}

/// Known methods by name; anything else is one label, so a client inventing
/// methods cannot grow the metric set without bound.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// `/metrics`: the Prometheus text format.
pub fn metrics_response(metrics: &HttpMetrics) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], metrics.render())
        .into_response()
}

/// Wraps a finished router in the layers every service has. Call it last,
/// after every route and fallback is added, so they are all covered.
pub fn standard_layers(router: Router, metrics: HttpMetrics) -> Router {
    router
        .layer(middleware::from_fn_with_state(metrics, track))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let request_id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // The path only: query strings can carry things that do not belong in logs.
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %request_id,
                    )
                })
                // One line per request at info: the access log operators expect.
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

async fn track(State(metrics): State<HttpMetrics>, request: Request, next: Next) -> Response {
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let started = Instant::now();
    let in_flight = metrics.start_request();
    let response = next.run(request).await;
    drop(in_flight);
    metrics.observe(&method, &route, response.status(), started);
    response
}

/// Sets up `tracing`: human-readable lines, or one JSON object per event when
/// `LOG_FORMAT=json` (what log shippers in containers want). `RUST_LOG`
/// filters as usual and defaults to `info`.
pub fn init_tracing() -> Result<(), SidecarError> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result =
        if json { builder.json().with_current_span(true).with_span_list(false).try_init() } else { builder.try_init() };
    result.map_err(|e| SidecarError::Tracing(e.to_string()))
}

/// Binds `addr` and serves `app` until SIGTERM or ctrl-c, then marks the
/// service unready and lets in-flight requests finish.
pub async fn serve(addr: SocketAddr, app: Router, readiness: Readiness) -> Result<(), SidecarError> {
    serve_with_admin(addr, app, None, readiness).await
}

/// The variable naming the admin listener (issue 20, point 13): `/health`,
/// `/ready` and `/metrics` on a port of their own, so the API port can be
/// reachable by clients while metrics are reachable only by monitoring.
pub const ADMIN_LISTEN_ENV: &str = "SIDECAR_ADMIN_LISTEN";

/// [`serve`], plus `admin` (the admin router on its own address) when
/// given. Both listeners are bound before either logs "listening", and both
/// stop together on SIGTERM or ctrl-c.
pub async fn serve_with_admin(
    addr: SocketAddr,
    app: Router,
    admin: Option<(SocketAddr, Router)>,
    readiness: Readiness,
) -> Result<(), SidecarError> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let signal = shutdown_signal(readiness);
    tokio::spawn(async move {
        signal.await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    let listener = TcpListener::bind(addr).await.map_err(|source| SidecarError::Bind { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    let Some((admin_addr, admin_app)) = admin else {
        tracing::info!(%local, "listening");
        return serve_listener(listener, app, until_stopped(stopped)).await;
    };
    let admin_listener =
        TcpListener::bind(admin_addr).await.map_err(|source| SidecarError::Bind { addr: admin_addr, source })?;
    let admin_local = admin_listener.local_addr().unwrap_or(admin_addr);
    tracing::info!(%admin_local, "admin endpoints (/health, /ready, /metrics) listening");
    tracing::info!(%local, "listening");
    let (served, admin_served) = tokio::join!(
        serve_listener(listener, app, until_stopped(stopped.clone())),
        serve_listener(admin_listener, admin_app, until_stopped(stopped)),
    );
    served.and(admin_served)
}

/// Serves `app` on an already bound listener until `shutdown` completes.
/// Peer addresses are available to handlers as `ConnectInfo<SocketAddr>`.
pub async fn serve_listener(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SidecarError> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(SidecarError::Serve)
}

/// Completes on ctrl-c or SIGTERM (what `docker stop` and Kubernetes send),
/// after marking the service unready.
pub fn shutdown_signal(readiness: Readiness) -> impl Future<Output = ()> + Send + 'static {
    // The SIGTERM handler is installed now, not when the future is first
    // polled: a SIGTERM right after "listening" must not kill the process.
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                // No ctrl-c handler available: rely on SIGTERM alone.
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let terminate = async move {
            match terminate {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {}
            () = terminate => {}
        }
        readiness.set_ready(false);
        tracing::info!("shutdown requested: finishing in-flight requests");
    }
}

/// Maps a body that could not be buffered to a JSON error: 413 with the
/// limit when it was too large, 400 otherwise. `hint` says how to raise it.
pub fn body_rejection(status: StatusCode, detail: &str, limit_bytes: usize, hint: &str) -> ErrorBody {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ErrorBody::new(
            status,
            "body_too_large",
            format!("the request body is larger than the {limit_bytes}-byte limit; send a smaller document or {hint}"),
        )
        .with("limit_bytes", limit_bytes)
    } else {
        ErrorBody::new(
            StatusCode::BAD_REQUEST,
            "bad_body",
            format!("the request body could not be read: {detail}; send it again"),
        )
    }
}
