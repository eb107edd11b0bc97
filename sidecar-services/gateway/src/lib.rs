//! The `gateway` sidecar: the one address the app talks to. It routes
//! `/api/<service>/<rest>` to `<upstream>/<rest>`, streaming bodies both ways,
//! and in front of that:
//!
//! - refuses unknown services (404 naming the known ones), `.`/`..` path
//!   segments (400) and bodies over the limit (413), before any upstream sees them;
//! - rate limits per client IP, or per token in auth mode (429 with
//!   `Retry-After`), shared by every replica through Redis when
//!   `REDIS_URL` is set ([`Config::redis_url`]);
//! - sets `x-request-id` when missing and passes it upstream and back;
//! - says why an upstream failed: 503 `upstream_unavailable` naming the
//!   service and address, 504 `upstream_timeout`, 502 `bad_gateway`;
//! - `/ready` is ready when every upstream's `/health` answers, with a status per upstream;
//! - every request but `/health` and `/ready` needs the stack's token and a
//!   loopback (or configured) `Host`/`Origin` (`sidecar_http::Access`), and
//!   upstreams receive the gateway's own token, not the caller's header;
//! - in auth mode ([`AuthConfig`], `GATEWAY_AUTH_URL`, for team deployments)
//!   callers present tokens of the auth service instead, checked for the
//!   route's scope (GET/HEAD/OPTIONS need `read`, other methods `run`), and
//!   rate limits are per token; an address with too many tokens refused is
//!   held (429) before the auth service is asked again ([`FailureLimit`]);
//!   see [`auth`] for the answers and the revocation delay.
//!   [`check_exposure`] refuses to listen beyond loopback without it.

pub mod auth;
mod config;
mod error;
mod failures;
mod proxy;
mod ratelimit;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use futures_util::future::join_all;
use prometheus::{IntCounterVec, Opts};
use ratelimit::RateKey;
use reqwest::Url;
use serde_json::{Map, Value, json};
use sidecar_http::{HttpMetrics, Readiness, SidecarError};

pub use auth::{AuthConfig, FailureLimit};
pub use config::{Config, RateLimit, Upstreams};
pub use error::AppError;

const SERVICE: &str = "gateway";

/// Shared state: cheap to clone, one per running gateway.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    client: reqwest::Client,
    limiter: ratelimit::Limiter,
    metrics: HttpMetrics,
    upstream_requests: IntCounterVec,
    readiness: Readiness,
    /// Auth mode's client of the auth service (its own connections and cache).
    auth: Option<sidecar_http::auth_client::AuthClient>,
    /// Refused tokens per client address, in auth mode.
    auth_failures: failures::FailureLimiter,
}

/// Refuses to serve beyond loopback without auth mode (issue 18, point 3),
/// unless the deployment says its port is published on loopback only
/// (`published_on_loopback`, the desktop's container stack).
pub fn check_exposure(listen: SocketAddr, config: &Config, published_on_loopback: bool) -> Result<(), AppError> {
    if listen.ip().is_loopback() || config.auth.is_some() || published_on_loopback {
        return Ok(());
    }
    Err(AppError::ExposedWithoutAuth { listen })
}

impl AppState {
    pub fn new(config: Config) -> Result<Self, AppError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            // A stalled body stream fails instead of holding the connection forever.
            .read_timeout(config.upstream_timeout)
            // A proxy passes redirects to the caller rather than following them,
            // and never sends loopback traffic through an HTTP(S)_PROXY.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(AppError::Client)?;
        let limiter = ratelimit::Limiter::new(config.rate_limit, config.redis_url.as_deref())?;
        let metrics = HttpMetrics::new(SERVICE)?;
        let upstream_requests = IntCounterVec::new(
            Opts::new(
                "gateway_upstream_requests_total",
                "Requests forwarded, by service and outcome (status code or error code)",
            ),
            &["service", "outcome"],
        )
        .map_err(|source| SidecarError::Metrics { name: "gateway_upstream_requests_total".to_owned(), source })?;
        metrics.register(Box::new(upstream_requests.clone()))?;
        let auth = match &config.auth {
            None => None,
            Some(auth) => Some(sidecar_http::auth_client::AuthClient::new(auth.clone()).map_err(|err| match err {
                sidecar_http::auth_client::AuthClientError::CacheTooLong { ms, max_ms } => {
                    AppError::AuthCacheTooLong { ms, max_ms }
                }
                sidecar_http::auth_client::AuthClientError::Client(err) => AppError::Client(err),
            })?),
        };
        let auth_failures = failures::FailureLimiter::new(config.auth_failures);
        Ok(AppState {
            inner: Arc::new(Inner {
                config,
                client,
                limiter,
                metrics,
                upstream_requests,
                readiness: Readiness::default(),
                auth,
                auth_failures,
            }),
        })
    }

    pub fn readiness(&self) -> Readiness {
        self.inner.readiness.clone()
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }
}

/// The gateway's routes and layers; serve it with `ConnectInfo<SocketAddr>`
/// (`sidecar_http::serve` does) so rate limits are per client address.
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/{*path}", any(proxy::forward))
        .route_layer(middleware::from_fn_with_state(state.clone(), rate_limit));
    let mut router =
        Router::new().route("/health", get(|| async { sidecar_http::health(SERVICE) })).route("/ready", get(ready));
    // With an admin port, /metrics is served there only (issue 20, point 13).
    if state.inner.config.admin_listen.is_none() {
        router = router.route("/metrics", get(metrics));
    }
    let router = router
        .merge(api)
        .fallback(|method: Method, uri: Uri| async move { AppError::NotFound { method, path: uri.path().to_owned() } })
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(state.clone(), auth::require_token));
    let config = &state.inner.config;
    // In auth mode the caller's bearer token is the auth service's, not the
    // stack's; the Host/Origin checks stay.
    let access = match &config.auth {
        Some(_) => sidecar_http::Access::new(None, config.access.allowed_hosts()),
        None => config.access.clone(),
    };
    let router = sidecar_http::require_access(router, access);
    sidecar_http::standard_layers(router, state.inner.metrics.clone())
}

/// The admin port's routes (issue 20, point 13): `/health`, `/ready` and
/// `/metrics`, without the token or host check (probes and Prometheus
/// scrape by pod address); serve it where only monitoring reaches it.
pub fn admin_app(state: AppState) -> Router {
    let metrics = state.inner.metrics.clone();
    sidecar_http::admin_app(SERVICE, get(ready).with_state(state), metrics)
}

async fn metrics(State(state): State<AppState>) -> Response {
    sidecar_http::metrics_response(&state.inner.metrics)
}

/// Where a request came from. Without `ConnectInfo` (a router driven
/// directly in tests) every request shares one bucket.
fn client_ip(request: &Request) -> IpAddr {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip())
}

async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let key = match request.extensions().get::<auth::Caller>() {
        Some(caller) => RateKey::Token(caller.token_id.clone()),
        None => RateKey::Ip(client_ip(&request)),
    };
    match state.inner.limiter.check(key).await {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            // Round up: retrying on the advertised second must succeed.
            let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            AppError::RateLimited { retry_after_secs: retry_after_secs.max(1) }.into_response()
        }
    }
}

/// Ready when this gateway is not shutting down and every upstream's
/// `/health` answers 2xx in time; the body says which one is not.
async fn ready(State(state): State<AppState>) -> Response {
    let inner = &state.inner;
    let checks = inner
        .config
        .upstreams
        .iter()
        .map(|(name, url)| check_upstream(&inner.client, name, url, inner.config.health_timeout));
    let results = join_all(checks).await;
    let all_up = results.iter().all(|(_, status)| status["status"] == "up");
    let accepting = inner.readiness.is_ready();
    let upstreams: Map<String, Value> = results.into_iter().collect();
    let status = if all_up && accepting { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut body = json!({ "ready": all_up && accepting, "upstreams": upstreams });
    if !accepting {
        body["reason"] = json!("the gateway is shutting down");
    }
    (status, Json(body)).into_response()
}

async fn check_upstream(client: &reqwest::Client, name: &str, base: &Url, timeout: Duration) -> (String, Value) {
    let url = format!("{}/health", base.as_str().trim_end_matches('/'));
    let outcome = client.get(&url).timeout(timeout).send().await;
    let status = match outcome {
        Ok(response) if response.status().is_success() => {
            json!({ "status": "up", "url": base.as_str() })
        }
        Ok(response) => json!({
            "status": "down",
            "url": base.as_str(),
            "reason": format!("/health answered {}", response.status()),
        }),
        Err(err) => json!({
            "status": "down",
            "url": base.as_str(),
            "reason": if err.is_timeout() {
                format!("/health did not answer within {} ms", timeout.as_millis())
            } else {
                proxy::root_cause(&err)
            },
        }),
    };
    (name.to_owned(), status)
}
