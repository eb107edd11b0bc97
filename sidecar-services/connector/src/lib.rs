//! The `connector` sidecar: the providers crate as an HTTP service, for
//! server deployments where the app (or a batch job) should not hold
//! provider keys itself.
//!
//! - `POST /v1/complete` with `{ "provider", "model", "prompt", "system"?,
//!   "max_tokens"?, "temperature"? }` answers `{ "provider", "model", "text",
//!   "finish_reason", "usage" }`, with the same retries, rate limits and
//!   timeouts as the desktop app ([`providers::ProviderClient`]);
//! - `GET /v1/providers` lists the configured providers and where each key
//!   comes from (`environment`, `file`, `missing`), never the key;
//! - `POST /v1/datastores/columns`, `/page`, `/write`: NocoDB, Airtable and
//!   Databricks through the `datastores` crate (wire format and errors in
//!   `datastores::service`), the store's credential from the
//!   `X-Datastore-Credential` header or a key this server holds, sent only
//!   to hosts in `CONNECTOR_DATASTORE_HOSTS` (see `datastore_routes`);
//! - `/health`, `/ready`, `/metrics`, request ids, JSON errors and graceful
//!   shutdown come from `sidecar-http`, like the other sidecars; `/metrics`
//!   also counts provider calls by outcome, the tokens each answer's usage
//!   reports (`connector_provider_tokens_total{provider,direction}`) and
//!   their list-price cost (`connector_provider_cost_usd_total{provider}`,
//!   from the `prices` crate; a model without a listed price adds tokens but
//!   no cost);
//! - every request but `/health` and `/ready` needs the stack's token and a
//!   loopback (or configured) `Host`/`Origin` (`sidecar_http::Access`).
//!
//! Keys come from `AUGMENT_<ID>_API_KEY` or a file per provider in a mounted
//! secret folder ([`ServerKeys`]). They are never logged: logs name the
//! provider, model, outcome and timings, and not even the prompt, which is
//! the customer's data.
//!
//! Reached through the gateway as `/api/connector/v1/complete`.

mod config;
mod datastore_routes;
mod keys;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prometheus::{CounterVec, IntCounterVec, Opts};
use providers::{CallOptions, ChatRequest, Message, ProviderClient, ProviderConfig};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sidecar_http::{ErrorBody, HttpMetrics, Readiness, SidecarError};

pub use config::parse_providers;
pub use keys::{EnvLookup, KeyOrigin, ServerKeys};

const SERVICE: &str = "connector";
const ROUTES_HINT: &str = "POST /v1/complete with { provider, model, prompt }, GET /v1/providers, or POST /v1/datastores/columns|page|write with { source, … }";

/// What the connector serves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The providers offered, by id (see [`parse_providers`]).
    pub providers: Vec<ProviderConfig>,
    /// Largest request body, in bytes (default 1 MiB: prompts, not documents).
    pub max_body_bytes: usize,
    /// Who may call (issue 20, point 9): the stack's token and the host
    /// names requests may be addressed to. Default: loopback names, no token
    /// (the binary always sets one, see `sidecar_http::Access::from_env`).
    pub access: sidecar_http::Access,
    /// Where `/health`, `/ready` and `/metrics` are also served, and
    /// `/metrics` only (issue 20, point 13; `SIDECAR_ADMIN_LISTEN`). Default: none.
    pub admin_listen: Option<std::net::SocketAddr>,
    /// Hosts (`host` or `host:port`) a server-held data-store key may be
    /// sent to (`CONNECTOR_DATASTORE_HOSTS`). Default: none, so server-held
    /// data-store keys are unused until an operator lists their hosts.
    pub datastore_hosts: Vec<String>,
}

impl Config {
    pub fn new(providers: Vec<ProviderConfig>) -> Self {
        Config {
            providers,
            max_body_bytes: 1024 * 1024,
            access: sidecar_http::Access::default(),
            admin_listen: None,
            datastore_hosts: Vec::new(),
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
    clients: BTreeMap<String, ProviderClient>,
    keys: ServerKeys,
    max_body_bytes: usize,
    access: sidecar_http::Access,
    metrics_here: bool,
    metrics: HttpMetrics,
    calls: IntCounterVec,
    usage: UsageMetrics,
    datastore_calls: IntCounterVec,
    datastore_hosts: Vec<String>,
    readiness: Readiness,
}

/// What answers cost: the tokens their usage reports and the list price of
/// those tokens.
#[derive(Debug)]
struct UsageMetrics {
    tokens: IntCounterVec,
    cost: CounterVec,
}

impl UsageMetrics {
    fn new(metrics: &HttpMetrics) -> Result<Self, SidecarError> {
        let error = |name: &str| {
            let name = name.to_owned();
            move |source| SidecarError::Metrics { name, source }
        };
        let tokens = IntCounterVec::new(
            Opts::new(
                "connector_provider_tokens_total",
                "Tokens in answered provider calls as the provider's usage reports them, by provider and direction (input or output)",
            ),
            &["provider", "direction"],
        )
        .map_err(error("connector_provider_tokens_total"))?;
        let cost = CounterVec::new(
            Opts::new(
                "connector_provider_cost_usd_total",
                "List-price cost of the tokens of answered provider calls, in US dollars, by provider (models without a listed price add nothing)",
            ),
            &["provider"],
        )
        .map_err(error("connector_provider_cost_usd_total"))?;
        metrics.register(Box::new(tokens.clone()))?;
        metrics.register(Box::new(cost.clone()))?;
        Ok(UsageMetrics { tokens, cost })
    }

    /// Counts one answer's usage. The price is looked up under the model
    /// that answered, then the one asked for (providers answer with dated
    /// names, `gpt-4o-mini-2024-07-18`, for a listed alias).
    fn count(&self, provider: &str, asked: &str, answered: &str, usage: Option<&providers::Usage>) {
        let Some(usage) = usage else { return };
        let input = u64::from(usage.input_tokens.unwrap_or(0));
        let output = u64::from(usage.output_tokens.unwrap_or(0));
        self.tokens.with_label_values(&[provider, "input"]).inc_by(input);
        self.tokens.with_label_values(&[provider, "output"]).inc_by(output);
        let price = prices::price_of(provider, answered).or_else(|| prices::price_of(provider, asked));
        // Both counts known, or the cost would be understated.
        if let (Some(price), Some(_), Some(_)) = (price, usage.input_tokens, usage.output_tokens) {
            let cost = (input as f64 * price.input_per_million + output as f64 * price.output_per_million) / 1e6;
            self.cost.with_label_values(&[provider]).inc_by(cost);
        }
    }
}

impl AppState {
    pub fn new(config: Config, keys: ServerKeys) -> Result<Self, AppError> {
        let metrics = HttpMetrics::new(SERVICE)?;
        let calls = IntCounterVec::new(
            Opts::new(
                "connector_provider_calls_total",
                "Provider calls, by provider and outcome (ok or an error code)",
            ),
            &["provider", "outcome"],
        )
        .map_err(|source| SidecarError::Metrics { name: "connector_provider_calls_total".to_owned(), source })?;
        metrics.register(Box::new(calls.clone()))?;
        let usage = UsageMetrics::new(&metrics)?;
        let datastore_calls = IntCounterVec::new(
            Opts::new(
                "connector_datastore_calls_total",
                "Data-store calls, by kind (nocodb, airtable, databricks), route and outcome (ok or an error code)",
            ),
            &["kind", "route", "outcome"],
        )
        .map_err(|source| SidecarError::Metrics { name: "connector_datastore_calls_total".to_owned(), source })?;
        metrics.register(Box::new(datastore_calls.clone()))?;
        let mut clients = BTreeMap::new();
        for provider in config.providers {
            let id = provider.id.clone();
            let client = ProviderClient::new(provider, Arc::new(keys.clone()))?;
            clients.insert(id, client);
        }
        Ok(AppState {
            inner: Arc::new(Inner {
                clients,
                keys,
                max_body_bytes: config.max_body_bytes,
                access: config.access,
                metrics_here: config.admin_listen.is_none(),
                metrics,
                calls,
                usage,
                datastore_calls,
                datastore_hosts: config.datastore_hosts,
                readiness: Readiness::default(),
            }),
        })
    }

    /// Turned unready by `sidecar_http::shutdown_signal` when shutdown begins.
    pub fn readiness(&self) -> Readiness {
        self.inner.readiness.clone()
    }

    fn keys(&self) -> &ServerKeys {
        &self.inner.keys
    }

    /// The configured provider ids, sorted.
    pub fn provider_ids(&self) -> Vec<String> {
        self.inner.clients.keys().cloned().collect()
    }
}

/// The service's routes and layers; `main` serves it, tests call it with `oneshot`.
pub fn app(state: AppState) -> Router {
    let mut router =
        Router::new().route("/health", get(|| async { sidecar_http::health(SERVICE) })).route("/ready", get(ready));
    // With an admin port, /metrics is served there only (issue 20, point 13).
    if state.inner.metrics_here {
        router = router.route("/metrics", get(metrics));
    }
    let router = router
        .route("/v1/providers", get(list_providers))
        .route("/v1/complete", post(complete))
        .route("/v1/datastores/columns", post(datastore_routes::columns))
        .route("/v1/datastores/page", post(datastore_routes::page))
        .route("/v1/datastores/write", post(datastore_routes::write))
        .fallback(|method: Method, uri: Uri| async move { AppError::NotFound { method, path: uri.path().to_owned() } })
        .layer(DefaultBodyLimit::max(state.inner.max_body_bytes))
        .with_state(state.clone());
    let router = sidecar_http::require_access(router, state.inner.access.clone());
    sidecar_http::standard_layers(router, state.inner.metrics.clone())
}

/// The admin port's routes (issue 20, point 13): `/health`, `/ready` and
/// `/metrics`, without the token or host check (probes and Prometheus
/// scrape by pod address); serve it where only monitoring reaches it.
pub fn admin_app(state: AppState) -> Router {
    let metrics = state.inner.metrics.clone();
    sidecar_http::admin_app(SERVICE, get(ready).with_state(state), metrics)
}

async fn ready(State(state): State<AppState>) -> Response {
    sidecar_http::ready(SERVICE, &state.inner.readiness)
}

async fn metrics(State(state): State<AppState>) -> Response {
    sidecar_http::metrics_response(&state.inner.metrics)
}

/// `POST /v1/complete`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    pub provider: String,
    pub model: String,
    pub prompt: String,
    #[serde(default)]
    pub system: Option<String>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f32>,
}

/// The answer to `POST /v1/complete`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CompleteResponse {
    pub provider: String,
    pub model: String,
    pub text: String,
    pub finish_reason: Option<String>,
    pub usage: Option<providers::Usage>,
}

async fn list_providers(State(state): State<AppState>) -> Response {
    let keys = state.inner.keys.clone();
    let ids = state.provider_ids();
    // Checking key files is file I/O.
    let listed = tokio::task::spawn_blocking(move || {
        ids.into_iter().map(|id| json!({ "id": id, "key": keys.origin(&id) })).collect::<Vec<_>>()
    })
    .await;
    match listed {
        Ok(list) => Json(json!({ "providers": list })).into_response(),
        Err(_) => AppError::Internal.into_response(),
    }
}

async fn complete(
    State(state): State<AppState>,
    body: Result<Json<CompleteRequest>, JsonRejection>,
) -> Result<Json<CompleteResponse>, AppError> {
    let Json(request) = body.map_err(|rejection| AppError::Body {
        status: rejection.status(),
        detail: rejection.body_text(),
        limit_bytes: state.inner.max_body_bytes,
    })?;
    let inner = &state.inner;
    let client = inner.clients.get(&request.provider).ok_or_else(|| AppError::UnknownProvider {
        provider: shown_id(&request.provider),
        known: state.provider_ids(),
    })?;
    if request.prompt.trim().is_empty() || request.model.trim().is_empty() {
        return Err(AppError::Invalid("`model` and `prompt` must not be empty".to_owned()));
    }
    let mut messages = Vec::with_capacity(2);
    if let Some(system) = request.system {
        messages.push(Message::system(system));
    }
    messages.push(Message::user(request.prompt));
    let mut chat = ChatRequest::with_messages(request.model.clone(), messages);
    chat.max_tokens = request.max_tokens;
    chat.temperature = request.temperature;

    let started = Instant::now();
    let outcome = client.chat(&chat, &CallOptions::new()).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Ok(answer) => {
            inner.calls.with_label_values(&[&request.provider, "ok"]).inc();
            inner.usage.count(&request.provider, &request.model, &answer.model, answer.usage.as_ref());
            tracing::info!(provider = %request.provider, model = %answer.model, elapsed_ms, "completed");
            Ok(Json(CompleteResponse {
                provider: request.provider,
                model: answer.model,
                text: answer.text,
                finish_reason: answer.finish_reason,
                usage: answer.usage,
            }))
        }
        Err(err) => {
            inner.calls.with_label_values(&[&request.provider, err.code()]).inc();
            // providers::Error never holds a key (see its docs), so it may be logged.
            tracing::warn!(provider = %request.provider, code = err.code(), error = %err, elapsed_ms, "provider call failed");
            Err(AppError::Provider(err))
        }
    }
}

/// A provider id to echo back: an unknown value might be a pasted key, and
/// keys can look like ids (`sk-…` is lowercase, digits and dashes), so only
/// short ones are shown; every provider's key is longer than 20 characters.
fn shown_id(provider: &str) -> String {
    if provider.len() <= 20 && secrets::validate_provider(provider).is_ok() {
        provider.to_owned()
    } else {
        format!("({} characters, not shown)", provider.chars().count())
    }
}

/// Everything the connector refuses or fails at, at start-up or per request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    #[error(
        "CONNECTOR_PROVIDERS entry `{entry}` is invalid: {reason}; write ids (openai, anthropic, groq) or id=http://host:port, separated by commas"
    )]
    InvalidProviders { entry: String, reason: String },

    #[error(transparent)]
    Setup(#[from] SidecarError),

    #[error(transparent)]
    Provider(#[from] providers::Error),

    #[error("no provider `{provider}` is configured here; configured providers: {}", known.join(", "))]
    UnknownProvider { provider: String, known: Vec<String> },

    #[error("the request body was refused ({status}): {detail}")]
    Body { status: StatusCode, detail: String, limit_bytes: usize },

    #[error("{0}")]
    Invalid(String),

    /// The data store (or its settings) failed; `datastores::service::to_wire` says how to answer.
    #[error("{err}")]
    Datastore { kind: &'static str, err: datastores::Error },

    #[error(
        "no {kind} credential: send it in the X-Datastore-Credential header, or give this connector one (AUGMENT_DATASTORE_{}_API_KEY, or a file named datastore-{kind} in CONNECTOR_KEYS_DIR)",
        kind.to_ascii_uppercase()
    )]
    NoDatastoreCredential { kind: &'static str },

    #[error(
        "this connector's {kind} key is not sent to `{host}`: add the host to CONNECTOR_DATASTORE_HOSTS, or send your own credential in X-Datastore-Credential"
    )]
    DatastoreHostNotAllowed { kind: &'static str, host: String },

    #[error("no route for {method} {path}; {ROUTES_HINT}")]
    NotFound { method: Method, path: String },

    #[error("the request failed because of an internal error; try again, and report it if it keeps happening")]
    Internal,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = match self {
            AppError::Provider(err) => provider_error(&err),
            err @ AppError::UnknownProvider { .. } => {
                let known = match &err {
                    AppError::UnknownProvider { known, .. } => known.clone(),
                    _ => Vec::new(),
                };
                ErrorBody::new(StatusCode::NOT_FOUND, "unknown_provider", err.to_string()).with("providers", known)
            }
            AppError::Body { status, detail, limit_bytes } if status == StatusCode::PAYLOAD_TOO_LARGE => {
                sidecar_http::body_rejection(status, &detail, limit_bytes, "raise CONNECTOR_MAX_BODY_BYTES")
            }
            AppError::Body { detail, .. } => {
                ErrorBody::new(StatusCode::BAD_REQUEST, "bad_request", format!("{detail}; {ROUTES_HINT}"))
            }
            err @ AppError::Invalid(_) => ErrorBody::new(StatusCode::BAD_REQUEST, "bad_request", err.to_string()),
            AppError::Datastore { kind, err } => {
                let wire = datastores::service::to_wire(&err);
                let status = StatusCode::from_u16(wire.status).unwrap_or(StatusCode::BAD_GATEWAY);
                let mut body = ErrorBody::new(status, wire.code, wire.message).with("kind", kind);
                for (key, value) in wire.details {
                    body = body.with(&key, value);
                }
                body
            }
            err @ AppError::NoDatastoreCredential { .. } => {
                let message = err.to_string();
                ErrorBody::new(StatusCode::BAD_REQUEST, "no_credential", message.clone()).with("detail", message)
            }
            err @ AppError::DatastoreHostNotAllowed { .. } => {
                let message = err.to_string();
                ErrorBody::new(StatusCode::FORBIDDEN, "datastore_host_not_allowed", message.clone())
                    .with("detail", message)
            }
            AppError::NotFound { method, path } => sidecar_http::not_found(&method, &path, ROUTES_HINT),
            err @ (AppError::InvalidProviders { .. } | AppError::Setup(_) | AppError::Internal) => {
                tracing::error!(error = %err, "internal error");
                ErrorBody::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", AppError::Internal.to_string())
            }
        };
        body.into_response()
    }
}

/// Maps a provider failure to a status the caller can act on: 4xx when the
/// request itself is wrong, 503 when this deployment lacks a key, 502/504
/// when the provider failed.
fn provider_error(err: &providers::Error) -> ErrorBody {
    use providers::Error as E;
    let (status, message) = match err {
        E::NoKey { provider, env_var } => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "no API key is configured for {provider} on this connector: set {env_var}, or mount a file named {provider} in CONNECTOR_KEYS_DIR, and restart nothing (keys are read on every call)"
            ),
        ),
        E::InvalidKey { provider } | E::MalformedKey { provider } => (
            StatusCode::BAD_GATEWAY,
            format!(
                "{provider} rejected this connector's key: replace {} or the key file, then try again",
                secrets::env_var_name(provider)
            ),
        ),
        E::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, err.to_string()),
        E::ModelNotFound { .. } => (StatusCode::NOT_FOUND, err.to_string()),
        E::Rejected { .. } => (StatusCode::UNPROCESSABLE_ENTITY, err.to_string()),
        E::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, err.to_string()),
        E::Unreachable { .. } => (StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
        _ => (StatusCode::BAD_GATEWAY, err.to_string()),
    };
    let mut body = ErrorBody::new(status, err.code(), message);
    if let E::RateLimited { retry_after: Some(wait), .. } = err {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        if let Ok(value) = axum::http::HeaderValue::from_str(&secs.max(1).to_string()) {
            body = body.with_header(axum::http::header::RETRY_AFTER, value);
        }
    }
    body
}
