//! Auth mode (issue 18, point 3): every request but the probes carries a
//! token of the auth service (`sidecar-services/auth`), which the gateway
//! verifies through `sidecar_http::auth_client` (its `POST /api/v1/verify`,
//! positive answers cached ≤ [`AuthConfig::cache_ttl`]: the revocation
//! delay) and then checks for the route's scope ([`required_scope`]).
//!
//! - 401 `unauthorized`: no bearer token, or one the auth service refuses
//!   (unknown, expired, revoked);
//! - 403 `insufficient_scope`: a valid token without the route's scope;
//! - 429 `auth_throttled`: this client address had too many tokens refused
//!   lately ([`FailureLimit`]); the auth service is not asked until
//!   `Retry-After` has passed. A token verified within the cache time still
//!   passes from there;
//! - 503 `auth_unavailable`: the auth service cannot be asked; the gateway
//!   fails closed rather than letting anyone through.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sidecar_http::ErrorBody;
use sidecar_http::auth_client::{Verified, VerifyError, bearer_token};

use crate::AppState;

pub use crate::failures::FailureLimit;
pub use sidecar_http::auth_client::{AuthConfig, MAX_CACHE_TTL};

/// Who a verified token belongs to: what the rate limits key on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    pub subject: String,
    pub token_id: String,
}

/// The scope a request needs: reading (`GET`, `HEAD`, `OPTIONS`) needs
/// `read`; anything else does work upstream (parse, run a provider) and
/// needs `run`.
pub fn required_scope(method: &Method) -> &'static str {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) { "read" } else { "run" }
}

/// The middleware: see the module docs.
pub(crate) async fn require_token(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(auth) = &state.inner.auth else { return next.run(request).await };
    if sidecar_http::PROBE_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    // Owned: a `&Request` cannot be held across an await (its body is not `Sync`).
    let Some(token) = bearer_token(request.headers()).map(str::to_owned) else {
        return unauthorized(
            "this gateway needs `Authorization: Bearer <token>` with a token of the auth service (log in, or create an API token)"
                .to_owned(),
        );
    };
    let verified = match auth.cached(&token) {
        Some(verified) => verified,
        None => {
            let client = crate::client_ip(&request);
            let failures = &state.inner.auth_failures;
            if let Err(wait) = failures.check(client) {
                return throttled(wait);
            }
            match auth.verify(&token).await {
                Ok(verified) => verified,
                Err(VerifyError::Invalid(reason)) => {
                    failures.record(client);
                    tracing::info!(%client, "the auth service refused a token");
                    return unauthorized(reason);
                }
                Err(VerifyError::Unavailable(reason)) => return unavailable(reason, auth.config()),
            }
        }
    };
    let scope = required_scope(request.method());
    if !verified.has_scope(scope) {
        return insufficient_scope(&verified, scope, request.method());
    }
    request.extensions_mut().insert(Caller { subject: verified.subject.clone(), token_id: verified.token_id.clone() });
    next.run(request).await
}

fn insufficient_scope(verified: &Verified, scope: &'static str, method: &Method) -> Response {
    tracing::info!(subject = %verified.subject, token_id = %verified.token_id, scope, "token lacks the scope");
    ErrorBody::new(
        StatusCode::FORBIDDEN,
        "insufficient_scope",
        format!(
            "this token lacks the `{scope}` scope that {method} requests need; ask an admin for a token (or a role) with it"
        ),
    )
    .with("required_scope", scope)
    .into_response()
}

/// 401 with the auth service's own words ("the token was revoked: log in again …") or ours.
fn unauthorized(reason: String) -> Response {
    ErrorBody::new(StatusCode::UNAUTHORIZED, "unauthorized", reason)
        .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
        .into_response()
}

fn throttled(wait: std::time::Duration) -> Response {
    // Round up: retrying on the advertised second must be allowed.
    let retry_after_secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    ErrorBody::new(
        StatusCode::TOO_MANY_REQUESTS,
        "auth_throttled",
        format!(
            "too many refused tokens from this address; wait {retry_after_secs} s, then use a valid token of the auth service"
        ),
    )
    .with("retry_after_secs", retry_after_secs)
    .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after_secs))
    .into_response()
}

fn unavailable(reason: String, auth: &AuthConfig) -> Response {
    tracing::warn!(reason = %reason, "token verification failed; refusing the request");
    ErrorBody::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "auth_unavailable",
        format!("{reason}; no request passes until it answers (check that it runs and GATEWAY_AUTH_URL={})", auth.url),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_need_read_and_everything_else_run() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert_eq!(required_scope(&method), "read", "{method}");
        }
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert_eq!(required_scope(&method), "run", "{method}");
        }
    }
}
