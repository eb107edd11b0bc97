//! Everything the server refuses or fails at, as `{ code, message }` JSON.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sidecar_http::ErrorBody;
use sidecar_http::auth_client::VerifyError;

use crate::bundle::BundleError;
use crate::publish::PublishError;
use crate::storage::StorageError;
use crate::tokens::TokenError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    #[error("this endpoint needs `Authorization: Bearer <token>`; mint a token with `augment registry token create`")]
    MissingToken,
    #[error("the token is not valid for this registry; check AUGMENT_REGISTRY_TOKEN or mint a new one")]
    BadToken,
    #[error("this token may not publish or yank {remote}; it is scoped to: {}", allowed.join(", "))]
    Forbidden { remote: String, allowed: Vec<String> },
    #[error(
        "this token may not manage tokens (it has no admin scope); mint an admin token where the registry is stored: `augment registry token create --registry-dir DIR --admin`"
    )]
    NotAdmin,
    #[error(
        "{subject} (role {role}) may not do this: it needs the `{scope}` scope; ask an admin of the auth service for a role (or an API token) with it"
    )]
    MissingScope { scope: &'static str, subject: String, role: String },
    /// Auth mode: the auth service refused the token (401) or could not be asked (503).
    #[error("{}", auth_message(.0))]
    Auth(sidecar_http::auth_client::VerifyError),
    #[error("the request is invalid: {0}")]
    BadRequest(String),
    #[error("too many requests with this token; wait {retry_after_secs} s and try again")]
    RateLimited { retry_after_secs: u64 },
    #[error(
        "the upload is larger than the {limit_bytes}-byte limit; make the remote smaller or raise REGISTRY_MAX_BODY_BYTES"
    )]
    BodyTooLarge { limit_bytes: usize },
    #[error("the request body could not be read: {0}; send it again")]
    BadBody(String),
    #[error("the upload was refused: {0}")]
    Bundle(#[from] BundleError),
    #[error("{0:?} is not a semver version")]
    BadVersion(String),
    #[error("{0}")]
    Publish(#[from] PublishError),
    #[error("{0}")]
    Tokens(#[from] TokenError),
    #[error("{0}")]
    Storage(#[from] StorageError),
    #[error(
        "no route for {method} {path}: the registry serves root.json, snapshot.json, roots/, remotes/ and blobs/sha256/, and the API under /api/v1/"
    )]
    NotFound { method: Method, path: String },
}

impl AppError {
    /// The machine-readable code in the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken | Self::BadToken | Self::Auth(VerifyError::Invalid(_)) => "unauthorized",
            Self::Auth(VerifyError::Unavailable(_)) => "auth_unavailable",
            Self::Forbidden { .. } | Self::NotAdmin | Self::MissingScope { .. } => "forbidden",
            Self::BadRequest(_) | Self::Tokens(TokenError::Invalid(_)) => "invalid_request",
            Self::Tokens(TokenError::NotFound { .. }) => "token_not_found",
            Self::RateLimited { .. } => "rate_limited",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::BadBody(_) => "bad_body",
            Self::Bundle(BundleError::Manifest(_) | BundleError::NoManifest | BundleError::EntryMissing { .. }) => {
                "invalid_manifest"
            }
            Self::Bundle(
                BundleError::FileTooLarge { .. } | BundleError::TooLarge { .. } | BundleError::TooManyEntries { .. },
            ) => "bundle_too_large",
            Self::Bundle(_) => "invalid_bundle",
            Self::BadVersion(_) => "invalid_version",
            Self::Publish(PublishError::VersionExists { .. }) => "version_exists",
            Self::Publish(PublishError::Unsatisfiable { .. }) => "unsatisfiable",
            Self::Publish(PublishError::VersionNotFound { .. }) => "version_not_found",
            Self::Publish(PublishError::IndexTooLarge { .. }) => "index_too_large",
            Self::Publish(PublishError::Contended { .. }) => "contended",
            Self::Publish(_) | Self::Tokens(_) | Self::Storage(_) => "internal",
            Self::NotFound { .. } => "not_found",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken | Self::BadToken | Self::Auth(VerifyError::Invalid(_)) => StatusCode::UNAUTHORIZED,
            Self::Auth(VerifyError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Forbidden { .. } | Self::NotAdmin | Self::MissingScope { .. } => StatusCode::FORBIDDEN,
            Self::BadRequest(_) | Self::Tokens(TokenError::Invalid(_)) => StatusCode::BAD_REQUEST,
            Self::Tokens(TokenError::NotFound { .. }) => StatusCode::NOT_FOUND,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Bundle(
                BundleError::FileTooLarge { .. } | BundleError::TooLarge { .. } | BundleError::TooManyEntries { .. },
            ) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadBody(_) | Self::Bundle(_) | Self::BadVersion(_) => StatusCode::BAD_REQUEST,
            Self::Publish(PublishError::VersionExists { .. }) => StatusCode::CONFLICT,
            Self::Publish(PublishError::Unsatisfiable { .. } | PublishError::IndexTooLarge { .. }) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Self::Publish(PublishError::VersionNotFound { .. }) | Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Publish(PublishError::Contended { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Publish(_) | Self::Tokens(_) | Self::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            // Storage and signing details stay in the log; the caller gets
            // enough to report it.
            tracing::error!(error = %self, "request failed");
            "the registry server failed; try again, and tell its operator if it keeps happening (details are in the server log)".to_owned()
        } else {
            self.to_string()
        };
        let mut body = ErrorBody::new(status, code, message);
        match &self {
            Self::MissingScope { scope, .. } => {
                body = body.with("required_scope", *scope);
            }
            Self::Auth(VerifyError::Unavailable(reason)) => {
                tracing::warn!(reason = %reason, "token verification failed; refusing the request");
            }
            Self::MissingToken | Self::BadToken | Self::Auth(VerifyError::Invalid(_)) => {
                body = body.with_header(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"augment-registry\""),
                );
            }
            Self::RateLimited { retry_after_secs } => {
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    body = body.with_header(header::RETRY_AFTER, value);
                }
            }
            Self::Publish(PublishError::Unsatisfiable { reasons, .. }) => {
                body = body.with("reasons", reasons.clone());
            }
            Self::BodyTooLarge { limit_bytes } => {
                body = body.with("limit_bytes", *limit_bytes);
            }
            _ => {}
        }
        body.into_response()
    }
}

/// The auth service's refusal in its own words; when it cannot be asked,
/// what to check. Either way nothing passes (fail closed).
fn auth_message(err: &VerifyError) -> String {
    match err {
        VerifyError::Invalid(reason) => reason.clone(),
        VerifyError::Unavailable(reason) => {
            format!(
                "{reason}; no publish, yank or token change passes until it answers (check that it runs and REGISTRY_AUTH_URL)"
            )
        }
    }
}
