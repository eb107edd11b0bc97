//! The `parsers` sidecar: `POST /csv`, `/json`, `/jsonl`, `/yaml` or
//! `/markdown` with the raw document as the body, get back the same
//! `{ "columns", "types", "rows" }` table the app's in-process import builds
//! (both are `crates/records`), or `422 { "code": "parse_error", "message",
//! "line", "column" }` saying where the document is broken.
//!
//! Reached through the gateway as `/api/parsers/<format>`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prometheus::{IntCounterVec, Opts};
use records::{Format, Limits, ParseError, Table};
use sidecar_http::{ErrorBody, HttpMetrics, Readiness, SidecarError};
use tokio::sync::Semaphore;

const SERVICE: &str = "parsers";
const ROUTES_HINT: &str = "POST a document to /csv, /json, /jsonl, /yaml or /markdown";

/// What the service accepts.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest request body, in bytes (default 64 MiB: a 20 MB CSV fits with room).
    pub max_body_bytes: usize,
    /// Most columns a document may have.
    pub max_columns: usize,
    /// Documents read and parsed at the same time; more wait with their
    /// bodies unread. Bounds memory, since each parse holds its document,
    /// its table and its answer.
    pub max_concurrent_parses: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_body_bytes: 64 * 1024 * 1024,
            max_columns: Limits::DEFAULT_MAX_COLUMNS,
            max_concurrent_parses: std::thread::available_parallelism().map_or(2, |n| n.get() * 2),
        }
    }
}

/// Shared state: cheap to clone, one per running service.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    metrics: HttpMetrics,
    rows: IntCounterVec,
    failures: IntCounterVec,
    readiness: Readiness,
    parses: Semaphore,
}

impl AppState {
    pub fn new(config: Config) -> Result<Self, AppError> {
        let metrics = HttpMetrics::new(SERVICE)?;
        let rows = counter("parsers_rows_total", "Records returned, by format", &["format"])?;
        let failures =
            counter("parsers_failures_total", "Documents refused, by format and reason", &["format", "reason"])?;
        metrics.register(Box::new(rows.clone()))?;
        metrics.register(Box::new(failures.clone()))?;
        let parses = Semaphore::new(config.max_concurrent_parses.max(1));
        Ok(AppState {
            inner: Arc::new(Inner { config, metrics, rows, failures, readiness: Readiness::default(), parses }),
        })
    }

    /// Turned unready by `sidecar_http::shutdown_signal` when shutdown begins.
    pub fn readiness(&self) -> Readiness {
        self.inner.readiness.clone()
    }

    pub fn metrics(&self) -> &HttpMetrics {
        &self.inner.metrics
    }
}

fn counter(name: &str, help: &str, labels: &[&str]) -> Result<IntCounterVec, AppError> {
    IntCounterVec::new(Opts::new(name, help), labels)
        .map_err(|source| AppError::Setup(SidecarError::Metrics { name: name.to_owned(), source }))
}

/// The service's routes and layers; `main` serves it, tests call it with `oneshot`.
pub fn app(state: AppState) -> Router {
    let router = Router::new()
        .route("/health", get(|| async { sidecar_http::health(SERVICE) }))
        .route(
            "/ready",
            get(|State(state): State<AppState>| async move { sidecar_http::ready(SERVICE, &state.inner.readiness) }),
        )
        .route(
            "/metrics",
            get(|State(state): State<AppState>| async move { sidecar_http::metrics_response(&state.inner.metrics) }),
        );
    let mut documents = Router::new();
    for format in Format::ALL {
        documents = documents.route(
            &format!("/{}", format.id()),
            post(move |state: State<AppState>, body: Result<Bytes, BytesRejection>| {
                parse_document(state, format, body)
            }),
        );
    }
    // The permit is taken before the body is read: a document waiting for
    // its turn is not in memory yet, so memory is bounded by the parses in
    // flight, not by the uploads in flight.
    let documents = documents.route_layer(axum::middleware::from_fn_with_state(state.clone(), one_parse_at_a_time));
    let router = router
        .merge(documents)
        .fallback(|method: Method, uri: Uri| async move { AppError::NotFound { method, path: uri.path().to_owned() } })
        .method_not_allowed_fallback(|method: Method, uri: Uri| async move {
            AppError::MethodNotAllowed { method, path: uri.path().to_owned() }
        })
        .layer(DefaultBodyLimit::max(state.inner.config.max_body_bytes))
        .with_state(state.clone());
    sidecar_http::standard_layers(router, state.inner.metrics.clone())
}

/// Holds one of `max_concurrent_parses` permits while the request's body is
/// read, parsed and answered.
async fn one_parse_at_a_time(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<Response, AppError> {
    let _permit = state.inner.parses.acquire().await.map_err(|_| AppError::Internal)?;
    Ok(next.run(request).await)
}

async fn parse_document(
    State(state): State<AppState>,
    format: Format,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Table>, AppError> {
    let inner = &state.inner;
    let body = body.map_err(|rejection| {
        inner.failures.with_label_values(&[format.id(), "body"]).inc();
        AppError::Body {
            status: rejection.status(),
            detail: rejection.body_text(),
            limit_bytes: inner.config.max_body_bytes,
        }
    })?;
    let limits = Limits { max_bytes: inner.config.max_body_bytes as u64, max_columns: inner.config.max_columns };
    // Parsing is CPU-bound: keep it off the async workers so /health stays responsive.
    let parsed = tokio::task::spawn_blocking(move || records::parse(format, &body, &limits))
        .await
        .map_err(|_| AppError::Internal)?;
    match parsed {
        Ok(table) => {
            inner.rows.with_label_values(&[format.id()]).inc_by(table.len() as u64);
            Ok(Json(table))
        }
        Err(err) => {
            let reason = if err.location().is_some() { "malformed" } else { "other" };
            inner.failures.with_label_values(&[format.id(), reason]).inc();
            tracing::info!(format = format.id(), error = %err, "document refused");
            Err(AppError::Parse(err))
        }
    }
}

/// Everything the service answers with an error status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The document is malformed (422, with line and column) or too large (413).
    #[error(transparent)]
    Parse(ParseError),

    /// The body could not be read, or exceeds the limit.
    #[error("the request body was refused ({status}): {detail}")]
    Body { status: StatusCode, detail: String, limit_bytes: usize },

    #[error("no route for {method} {path}; {ROUTES_HINT}")]
    NotFound { method: Method, path: String },

    #[error("{path} does not accept {method}; {ROUTES_HINT}")]
    MethodNotAllowed { method: Method, path: String },

    /// Metrics could not be registered at start-up.
    #[error(transparent)]
    Setup(#[from] SidecarError),

    /// A parse task panicked or the service is shutting down.
    #[error(
        "the document could not be parsed because of an internal error; try again, and report it if it keeps happening"
    )]
    Internal,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = match self {
            AppError::Parse(err) => match &err {
                ParseError::Malformed { format, line, column, .. } => {
                    ErrorBody::new(StatusCode::UNPROCESSABLE_ENTITY, "parse_error", err.to_string())
                        .with("format", format.id())
                        .with("line", *line)
                        .with("column", *column)
                }
                ParseError::TooLarge { limit_bytes, .. } => {
                    ErrorBody::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", err.to_string())
                        .with("limit_bytes", *limit_bytes)
                }
                _ => ErrorBody::new(StatusCode::UNPROCESSABLE_ENTITY, "parse_error", err.to_string())
                    .with("format", err.format().id()),
            },
            AppError::Body { status, detail, limit_bytes } => {
                sidecar_http::body_rejection(status, &detail, limit_bytes, "raise PARSERS_MAX_BODY_BYTES")
            }
            AppError::NotFound { method, path } => sidecar_http::not_found(&method, &path, ROUTES_HINT),
            err @ AppError::MethodNotAllowed { .. } => {
                ErrorBody::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", err.to_string())
            }
            err @ (AppError::Setup(_) | AppError::Internal) => {
                tracing::error!(error = %err, "internal error");
                ErrorBody::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", AppError::Internal.to_string())
            }
        };
        body.into_response()
    }
}
