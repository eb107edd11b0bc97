//! Auth mode (issue 18, point 3): every request but the probes carries a
//! token of the auth service (`sidecar-services/auth`), which the gateway
//! verifies through its `POST /api/v1/verify` and then checks for the
//! route's scope ([`required_scope`]).
//!
//! - 401 `unauthorized`: no bearer token, or one the auth service refuses
//!   (unknown, expired, revoked);
//! - 403 `insufficient_scope`: a valid token without the route's scope;
//! - 503 `auth_unavailable`: the auth service cannot be asked; the gateway
//!   fails closed rather than letting anyone through.
//!
//! A positive answer is cached for [`AuthConfig::cache_ttl`] (5 s by
//! default), never past the token's `expires_at`, keyed by the token's
//! sha256 (the token itself is never kept or logged). So a revoked token
//! still passes this gateway for at most `cache_ttl`: that is the
//! revocation delay. Refusals are never cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use reqwest::Url;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sidecar_http::ErrorBody;

use crate::AppState;

/// The longest cache a deployment may ask for: it is also how long a
/// revoked token keeps working.
pub const MAX_CACHE_TTL: Duration = Duration::from_secs(60);

/// Where the auth service is and how long its answers are trusted.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The auth service's base URL (`GATEWAY_AUTH_URL`), e.g. `http://127.0.0.1:8084`.
    pub url: Url,
    /// How long a positive verification is reused (`GATEWAY_AUTH_CACHE_MS`,
    /// default 5 s, at most [`MAX_CACHE_TTL`]; zero asks every time).
    pub cache_ttl: Duration,
    /// How long one verification may take before the answer is 503 (default 2 s).
    pub timeout: Duration,
}

impl AuthConfig {
    pub fn new(url: Url) -> Self {
        AuthConfig { url, cache_ttl: Duration::from_secs(5), timeout: Duration::from_secs(2) }
    }
}

/// Who a verified token belongs to: what the rate limits key on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller {
    pub subject: String,
    pub token_id: String,
}

/// The part of the auth service's `verify` answer the gateway uses.
#[derive(Debug, Clone, Deserialize)]
struct Verified {
    subject: String,
    token_id: String,
    scopes: Vec<String>,
    expires_at: jiff::Timestamp,
}

/// The scope a request needs: reading (`GET`, `HEAD`, `OPTIONS`) needs
/// `read`; anything else does work upstream (parse, run a provider) and
/// needs `run`.
pub fn required_scope(method: &Method) -> &'static str {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) { "read" } else { "run" }
}

/// How long an answer may be reused: the configured time, cut short by the
/// token's expiry; `None` when it must not be cached at all.
pub fn cache_lifetime(ttl: Duration, expires_at: jiff::Timestamp, now: jiff::Timestamp) -> Option<Duration> {
    let until_expiry = expires_at.duration_since(now);
    let until_expiry = Duration::try_from(until_expiry).ok()?;
    Some(ttl.min(until_expiry)).filter(|d| !d.is_zero())
}

/// Verified tokens by sha256. Hand-written on purpose: a map with a
/// deadline per entry is all this needs, and a caching crate (moka) would
/// bring a large dependency tree for it.
#[derive(Debug, Default)]
pub(crate) struct VerifyCache {
    entries: Mutex<HashMap<TokenHash, (Instant, Arc<Verified>)>>,
}

/// A token's sha256: what the cache keeps instead of the token.
type TokenHash = [u8; 32];

/// Entries above this make an insert sweep out the expired ones first.
const SWEEP_ABOVE: usize = 4096;

impl VerifyCache {
    fn get(&self, key: &TokenHash) -> Option<Arc<Verified>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(key).filter(|(until, _)| Instant::now() < *until).map(|(_, verified)| verified.clone())
    }

    fn insert(&self, key: TokenHash, lifetime: Duration, verified: Arc<Verified>) {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= SWEEP_ABOVE {
            entries.retain(|_, (until, _)| now < *until);
        }
        entries.insert(key, (now + lifetime, verified));
    }
}

enum Refusal {
    Missing,
    Invalid(String),
    Unavailable(String),
}

/// The middleware: see the module docs.
pub(crate) async fn require_token(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(auth) = &state.inner.config.auth else { return next.run(request).await };
    if sidecar_http::PROBE_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    // Owned: a `&Request` cannot be held across an await (its body is not `Sync`).
    let token = bearer_token(&request).map(str::to_owned);
    let verified = match verify(&state, auth, token.as_deref()).await {
        Ok(verified) => verified,
        Err(refusal) => return refuse(refusal, auth),
    };
    let scope = required_scope(request.method());
    if !verified.scopes.iter().any(|s| s == scope) {
        tracing::info!(subject = %verified.subject, token_id = %verified.token_id, scope, "token lacks the scope");
        return ErrorBody::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!(
                "this token lacks the `{scope}` scope that {} requests need; ask an admin for a token (or a role) with it",
                request.method()
            ),
        )
        .with("required_scope", scope)
        .into_response();
    }
    request.extensions_mut().insert(Caller { subject: verified.subject.clone(), token_id: verified.token_id.clone() });
    next.run(request).await
}

fn bearer_token(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

async fn verify(state: &AppState, auth: &AuthConfig, token: Option<&str>) -> Result<Arc<Verified>, Refusal> {
    let token = token.ok_or(Refusal::Missing)?;
    let key: TokenHash = Sha256::digest(token.as_bytes()).into();
    let cache = &state.inner.verify_cache;
    if let Some(verified) = cache.get(&key) {
        return Ok(verified);
    }
    let url = format!("{}/api/v1/verify", auth.url.as_str().trim_end_matches('/'));
    let unavailable = |reason: String| Refusal::Unavailable(format!("the auth service at {} {reason}", auth.url));
    let answer = state
        .inner
        .auth_client
        .post(&url)
        .timeout(auth.timeout)
        .json(&serde_json::json!({ "token": token }))
        .send()
        .await
        .map_err(|err| {
            unavailable(if err.is_timeout() {
                format!("did not answer within {} ms", auth.timeout.as_millis())
            } else {
                format!("is not reachable: {}", crate::proxy::root_cause(&err))
            })
        })?;
    match answer.status() {
        StatusCode::OK => {
            let verified: Arc<Verified> = answer
                .json::<Verified>()
                .await
                .map(Arc::new)
                .map_err(|err| unavailable(format!("answered something that is not a verification: {err}")))?;
            if let Some(lifetime) = cache_lifetime(auth.cache_ttl, verified.expires_at, jiff::Timestamp::now()) {
                cache.insert(key, lifetime, verified.clone());
            }
            Ok(verified)
        }
        // 400 is a malformed token: as unknown as any other.
        StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST => {
            let reason = answer
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|body| body["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "the token is not valid: log in again or use another API token".to_owned());
            Err(Refusal::Invalid(reason))
        }
        other => Err(unavailable(format!("answered {other}"))),
    }
}

fn refuse(refusal: Refusal, auth: &AuthConfig) -> Response {
    let (status, code, message) = match refusal {
        Refusal::Missing => (
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this gateway needs `Authorization: Bearer <token>` with a token of the auth service (log in, or create an API token)".to_owned(),
        ),
        // The auth service's own words ("the token was revoked: log in again …").
        Refusal::Invalid(reason) => (StatusCode::UNAUTHORIZED, "unauthorized", reason),
        Refusal::Unavailable(reason) => {
            tracing::warn!(reason = %reason, "token verification failed; refusing the request");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "auth_unavailable",
                format!("{reason}; no request passes until it answers (check that it runs and GATEWAY_AUTH_URL={})", auth.url),
            )
        }
    };
    let mut body = ErrorBody::new(status, code, message);
    if status == StatusCode::UNAUTHORIZED {
        body = body.with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    body.into_response()
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

    #[test]
    fn a_cached_answer_never_outlives_its_token() {
        let now: jiff::Timestamp = "2026-12-05T11:00:00Z".parse().unwrap_or_default();
        let ttl = Duration::from_secs(5);
        let later = |secs: i64| now.checked_add(jiff::SignedDuration::from_secs(secs)).unwrap_or(now);
        assert_eq!(cache_lifetime(ttl, later(3600), now), Some(ttl));
        assert_eq!(cache_lifetime(ttl, later(2), now), Some(Duration::from_secs(2)));
        assert_eq!(cache_lifetime(ttl, now, now), None);
        assert_eq!(cache_lifetime(ttl, later(-10), now), None);
        assert_eq!(cache_lifetime(Duration::ZERO, later(3600), now), None);
    }
}
