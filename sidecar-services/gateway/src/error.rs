use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sidecar_http::{ErrorBody, SidecarError};

/// Everything the gateway refuses or fails at, at start-up or per request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    #[error(
        "GATEWAY_UPSTREAMS entry `{entry}` is invalid: {reason}; write it as name=http://host:port, entries separated by commas"
    )]
    InvalidUpstreams { entry: String, reason: String },

    #[error("the HTTP client for upstreams could not be built: {0}; check the TLS setup of this machine")]
    Client(#[source] reqwest::Error),

    #[error(transparent)]
    Setup(#[from] SidecarError),

    #[error(
        "the gateway would listen on {listen}, beyond this machine, without checking who calls: set GATEWAY_AUTH_URL to the auth service (for example http://auth:8084), or listen on 127.0.0.1; a container whose port is published on the host's loopback only may set GATEWAY_PUBLISHED_ON_LOOPBACK=1 instead"
    )]
    ExposedWithoutAuth { listen: std::net::SocketAddr },

    #[error(
        "GATEWAY_AUTH_CACHE_MS is {ms}: a cached verification is also how long a revoked token keeps working, so at most {max_ms} ms is allowed"
    )]
    AuthCacheTooLong { ms: u128, max_ms: u128 },

    #[error("REDIS_URL is not usable: {0}; write it as redis://host:port (or redis://host:port/db)")]
    InvalidRedisUrl(String),

    #[error("no service named `{service}`; known services: {}", known.join(", "))]
    UnknownService { service: String, known: Vec<String> },

    #[error(
        "the path `{path}` is not allowed: `.` and `..` segments cannot be forwarded; request the resource by its plain path"
    )]
    InvalidPath { path: String },

    #[error(
        "the request body is larger than the gateway's {limit_bytes}-byte limit; send a smaller document or raise GATEWAY_MAX_BODY_BYTES"
    )]
    BodyTooLarge { limit_bytes: u64 },

    #[error("too many requests from this caller; wait {retry_after_secs} s and try again")]
    RateLimited { retry_after_secs: u64 },

    #[error(
        "{service} is not reachable at {url}: {reason}; start it (augment stack up) or fix its address in GATEWAY_UPSTREAMS"
    )]
    UpstreamUnavailable { service: String, url: String, reason: String },

    #[error("{service} did not answer within {seconds} s; it may be overloaded or stuck, try again shortly")]
    UpstreamTimeout { service: String, seconds: u64 },

    #[error("{service} failed while answering: {reason}; try again, and check its logs if it keeps happening")]
    UpstreamFailed { service: String, reason: String },

    #[error(
        "no route for {method} {path}; services are under /api/<service>/…, and /health, /ready and /metrics are the gateway's own"
    )]
    NotFound { method: Method, path: String },
}

impl AppError {
    /// The machine-readable code in the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::InvalidUpstreams { .. }
            | AppError::Client(_)
            | AppError::Setup(_)
            | AppError::ExposedWithoutAuth { .. }
            | AppError::AuthCacheTooLong { .. }
            | AppError::InvalidRedisUrl(_) => "internal",
            AppError::UnknownService { .. } => "unknown_service",
            AppError::InvalidPath { .. } => "invalid_path",
            AppError::BodyTooLarge { .. } => "body_too_large",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::UpstreamUnavailable { .. } => "upstream_unavailable",
            AppError::UpstreamTimeout { .. } => "upstream_timeout",
            AppError::UpstreamFailed { .. } => "bad_gateway",
            AppError::NotFound { .. } => "not_found",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AppError::InvalidUpstreams { .. }
            | AppError::Client(_)
            | AppError::Setup(_)
            | AppError::ExposedWithoutAuth { .. }
            | AppError::AuthCacheTooLong { .. }
            | AppError::InvalidRedisUrl(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::UnknownService { .. } | AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::InvalidPath { .. } => StatusCode::BAD_REQUEST,
            AppError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::UpstreamUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            AppError::UpstreamFailed { .. } => StatusCode::BAD_GATEWAY,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        if status.is_server_error() && code == "internal" {
            tracing::error!(error = %self, "internal error");
            return ErrorBody::new(status, code, "the gateway hit an internal error; check its logs").into_response();
        }
        let mut body = ErrorBody::new(status, code, self.to_string());
        match self {
            AppError::UnknownService { known, .. } => body = body.with("services", known),
            AppError::BodyTooLarge { limit_bytes } => body = body.with("limit_bytes", limit_bytes),
            AppError::RateLimited { retry_after_secs } => {
                body = body
                    .with("retry_after_secs", retry_after_secs)
                    .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            AppError::UpstreamUnavailable { service, url, .. } => {
                body = body.with("service", service).with("url", url);
            }
            AppError::UpstreamTimeout { service, .. } | AppError::UpstreamFailed { service, .. } => {
                body = body.with("service", service);
            }
            _ => {}
        }
        body.into_response()
    }
}
