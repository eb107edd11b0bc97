//! The service's failures and their JSON answers.

use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use sidecar_http::{ErrorBody, SidecarError};

use crate::store::StoreError;

const ROUTES_HINT: &str = "see the auth service's README for its routes (POST /api/v1/login, POST /api/v1/verify, …)";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("the name or password is wrong")]
    LoginFailed,
    #[error("too many login attempts {from}; try again in {retry_after_secs} s")]
    Throttled { from: &'static str, retry_after_secs: u64 },
    #[error("your role ({role}) may not do this; ask an admin")]
    Forbidden { role: crate::Role },
    #[error("this needs a session token from POST /api/v1/login; API tokens are for the other services")]
    SessionRequired,
    #[error("{0}")]
    ScopeNotAllowed(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("no route for {method} {path}")]
    NoRoute { method: Method, path: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Setup(#[from] SidecarError),
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    fn body(&self) -> ErrorBody {
        let message = self.to_string();
        match self {
            AppError::Unauthorized(_) | AppError::LoginFailed => {
                let code = if matches!(self, AppError::LoginFailed) { "login_failed" } else { "unauthorized" };
                ErrorBody::new(StatusCode::UNAUTHORIZED, code, message)
                    .with_header(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
            }
            AppError::Throttled { retry_after_secs, .. } => {
                let mut body = ErrorBody::new(StatusCode::TOO_MANY_REQUESTS, "login_throttled", message)
                    .with("retry_after_secs", *retry_after_secs);
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    body = body.with_header(RETRY_AFTER, value);
                }
                body
            }
            AppError::Forbidden { .. } => ErrorBody::new(StatusCode::FORBIDDEN, "forbidden", message),
            AppError::SessionRequired => ErrorBody::new(StatusCode::FORBIDDEN, "session_required", message),
            AppError::ScopeNotAllowed(_) => ErrorBody::new(StatusCode::FORBIDDEN, "scope_not_allowed", message),
            AppError::BadRequest(_) => ErrorBody::new(StatusCode::BAD_REQUEST, "bad_request", message),
            AppError::NotFound(_) => ErrorBody::new(StatusCode::NOT_FOUND, "not_found", message),
            AppError::Conflict(_) | AppError::Store(StoreError::NameTaken(_)) => {
                ErrorBody::new(StatusCode::CONFLICT, "conflict", message)
            }
            AppError::NoRoute { method, path } => sidecar_http::not_found(method, path, ROUTES_HINT),
            AppError::Store(_) | AppError::Setup(_) | AppError::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                ErrorBody::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.body().into_response()
    }
}
