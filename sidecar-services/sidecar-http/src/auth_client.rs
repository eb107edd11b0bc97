//! Asking the auth service (`sidecar-services/auth`) whether a bearer token
//! is good: its `POST /api/v1/verify`, as the gateway and the registry
//! server call it (cargo feature `auth-client`). The caller decides what the
//! answer's scopes allow.
//!
//! - [`VerifyError::Invalid`] (answer 401): the auth service refused the
//!   token (unknown, expired, revoked, malformed), with its reason;
//! - [`VerifyError::Unavailable`] (answer 503): it could not be asked or
//!   answered something else. Callers fail closed on it.
//!
//! A positive answer is cached for [`AuthConfig::cache_ttl`] (5 s by
//! default), never past the token's `expires_at`, keyed by the token's
//! sha256 (the token itself is never kept or logged). So a revoked token
//! still passes for at most `cache_ttl`: that is the revocation delay.
//! Refusals are never cached.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use reqwest::Url;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

/// Every auth service token starts with this (`augauth_` + 64 hex digits),
/// so a service that also has tokens of its own can tell whose a token is.
pub const TOKEN_PREFIX: &str = "augauth_";

/// The longest cache a deployment may ask for: it is also how long a
/// revoked token keeps working.
pub const MAX_CACHE_TTL: Duration = Duration::from_secs(60);

/// Where the auth service is and how long its answers are trusted.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The auth service's base URL, e.g. `http://127.0.0.1:8084`.
    pub url: Url,
    /// How long a positive verification is reused (default 5 s, at most
    /// [`MAX_CACHE_TTL`]; zero asks every time).
    pub cache_ttl: Duration,
    /// How long one verification may take before the answer is
    /// [`VerifyError::Unavailable`] (default 2 s).
    pub timeout: Duration,
    /// How long connecting may take (default 2 s: on loopback or a cluster
    /// network a slow connect means it is down).
    pub connect_timeout: Duration,
}

impl AuthConfig {
    pub fn new(url: Url) -> Self {
        AuthConfig {
            url,
            cache_ttl: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
        }
    }
}

/// The auth service's `verify` answer, as far as callers use it.
#[derive(Debug, Clone, Deserialize)]
pub struct Verified {
    /// The user's name.
    pub subject: String,
    /// A public name of the token (a prefix of its hash): for logs and rate limits.
    pub token_id: String,
    pub role: String,
    pub scopes: Vec<String>,
    pub expires_at: jiff::Timestamp,
}

impl Verified {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Why a token did not pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The auth service refused it; its own words ("the token was revoked: …").
    #[error("{0}")]
    Invalid(String),
    /// The auth service could not be asked; nothing passes until it answers.
    #[error("{0}")]
    Unavailable(String),
}

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AuthClientError {
    #[error(
        "the auth cache time is {ms} ms; at most {max_ms} ms is allowed, since it is also how long a revoked token keeps working"
    )]
    CacheTooLong { ms: u128, max_ms: u128 },
    #[error("the HTTP client for the auth service could not be built: {0}")]
    Client(#[source] reqwest::Error),
}

/// A client of one auth service, with its cache of positive answers.
#[derive(Debug)]
pub struct AuthClient {
    config: AuthConfig,
    /// Its own: no upstream's slowness or pool affects verification.
    http: reqwest::Client,
    cache: VerifyCache,
}

impl AuthClient {
    pub fn new(config: AuthConfig) -> Result<Self, AuthClientError> {
        if config.cache_ttl > MAX_CACHE_TTL {
            return Err(AuthClientError::CacheTooLong {
                ms: config.cache_ttl.as_millis(),
                max_ms: MAX_CACHE_TTL.as_millis(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(AuthClientError::Client)?;
        Ok(AuthClient { config, http, cache: VerifyCache::default() })
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// A positive answer this client still trusts for `token`, without asking.
    pub fn cached(&self, token: &str) -> Option<Arc<Verified>> {
        self.cache.get(&hash(token))
    }

    /// The cached answer for `token`, else the auth service's.
    pub async fn verify(&self, token: &str) -> Result<Arc<Verified>, VerifyError> {
        let key = hash(token);
        if let Some(verified) = self.cache.get(&key) {
            return Ok(verified);
        }
        let url = &self.config.url;
        let endpoint = format!("{}/api/v1/verify", url.as_str().trim_end_matches('/'));
        let unavailable = |reason: String| VerifyError::Unavailable(format!("the auth service at {url} {reason}"));
        let answer = self
            .http
            .post(&endpoint)
            .timeout(self.config.timeout)
            .json(&serde_json::json!({ "token": token }))
            .send()
            .await
            .map_err(|err| {
                unavailable(if err.is_timeout() {
                    format!("did not answer within {} ms", self.config.timeout.as_millis())
                } else {
                    format!("is not reachable: {}", root_cause(&err))
                })
            })?;
        match answer.status() {
            StatusCode::OK => {
                let verified = answer
                    .json::<Verified>()
                    .await
                    .map(Arc::new)
                    .map_err(|err| unavailable(format!("answered something that is not a verification: {err}")))?;
                if let Some(lifetime) =
                    cache_lifetime(self.config.cache_ttl, verified.expires_at, jiff::Timestamp::now())
                {
                    self.cache.insert(key, lifetime, verified.clone());
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
                Err(VerifyError::Invalid(reason))
            }
            other => Err(unavailable(format!("answered {other}"))),
        }
    }
}

/// The token of `Authorization: Bearer <token>`, if there is one.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// How long an answer may be reused: the configured time, cut short by the
/// token's expiry; `None` when it must not be cached at all.
pub fn cache_lifetime(ttl: Duration, expires_at: jiff::Timestamp, now: jiff::Timestamp) -> Option<Duration> {
    let until_expiry = expires_at.duration_since(now);
    let until_expiry = Duration::try_from(until_expiry).ok()?;
    Some(ttl.min(until_expiry)).filter(|d| !d.is_zero())
}

/// The innermost error's text: reqwest's outer ones say only "error sending request".
pub fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// A token's sha256: what the cache keeps instead of the token.
type TokenHash = [u8; 32];

fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// Verified tokens by sha256. Hand-written on purpose: a map with a
/// deadline per entry is all this needs, and a caching crate (moka) would
/// bring a large dependency tree for it.
#[derive(Debug, Default)]
struct VerifyCache {
    entries: Mutex<HashMap<TokenHash, (Instant, Arc<Verified>)>>,
}

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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_cache_longer_than_the_maximum_is_refused() {
        let url: Url = "http://127.0.0.1:8084".parse().unwrap_or_else(|_| unreachable!());
        let config = AuthConfig { cache_ttl: MAX_CACHE_TTL + Duration::from_millis(1), ..AuthConfig::new(url) };
        assert!(matches!(AuthClient::new(config), Err(AuthClientError::CacheTooLong { .. })));
    }
}
