//! The admin port's router (issue 20, point 13), the same for every service:
//! `/health`, the service's own `/ready` and `/metrics`, without the token
//! or host check (probes and Prometheus reach it by pod address). Serve it
//! where only monitoring reaches it (`serve_with_admin`).

use axum::Router;
use axum::http::{Method, Uri};
use axum::response::IntoResponse as _;
use axum::routing::{MethodRouter, get};

use crate::HttpMetrics;

/// `/health` for `service`, `ready` (the service's own readiness, which may
/// check its dependencies) at `/ready`, `metrics` at `/metrics`, and a JSON
/// 404 naming those three for anything else.
pub fn admin_app(service: &'static str, ready: MethodRouter, metrics: HttpMetrics) -> Router {
    Router::new()
        .route("/health", get(move || async move { crate::health(service) }))
        .route("/ready", ready)
        .route("/metrics", get(move || async move { crate::metrics_response(&metrics) }))
        .fallback(|method: Method, uri: Uri| async move {
            crate::not_found(&method, uri.path(), "the admin port serves /health, /ready and /metrics").into_response()
        })
}
