//! The `auth-service` sidecar (issue 18, point 2): users with roles, password
//! login, API tokens with scopes and expiry, and token verification for the
//! gateway and the registry server.
//!
//! - Users have one [`Role`] (admin, publisher, analyst, viewer). Passwords
//!   are stored as argon2id hashes, tokens as sha256 ([`secret`]).
//! - `POST /api/v1/login` answers a session token (all of the role's
//!   scopes, [`Config::session_ttl`]); it manages this service. API tokens,
//!   created through `POST /api/v1/tokens` with some of the role's scopes
//!   and an expiry, are for the other services.
//! - `POST /api/v1/verify` is what the gateway and the registry server call:
//!   `{ "token" }` → subject, role, scopes, expiry, or 401.
//! - Who may do what is one table, [`model::allowed`], asked by every
//!   handler before it touches anything ([`api`]).
//! - Logins are throttled per account and per client address (governor).
//! - Storage is SQLite by default, PostgreSQL for a `postgres://` URL ([`store`]).
//! - The first admin comes from [`bootstrap_admin`] (`augment auth bootstrap`),
//!   never from a default password.
//!
//! Secrets never reach a log: logs name users, roles, token ids (a prefix
//! of the hash) and outcomes.

mod api;
mod error;
#[cfg(feature = "fixture")]
pub mod fixture;
pub mod model;
pub mod secret;
pub mod store;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::Router;
use axum::http::{Method, Uri};
use axum::routing::{delete, get, post};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use prometheus::{IntCounterVec, Opts};
use rand::RngCore as _;
use sidecar_http::{HttpMetrics, Readiness, SidecarError};
use zeroize::Zeroizing;

pub use api::{
    CreateTokenRequest, CreateUserRequest, CreatedToken, LoginRequest, LoginResponse, TokenSummary, UserSummary,
    Verified, VerifyRequest,
};
pub use error::AppError;
pub use model::{Role, Scope, TokenKind};
pub use store::{Database, StoreError};

const SERVICE: &str = "auth";

/// At most `attempts` logins per `window` for one key (an account or a
/// client address); the allowance refills evenly over the window.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub attempts: NonZeroU32,
    pub window: Duration,
}

impl Throttle {
    fn quota(self) -> Quota {
        let per_attempt = self.window / self.attempts.get();
        Quota::with_period(per_attempt.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(self.attempts)
    }
}

/// "Now", in unix seconds: the system clock, or a test's.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Clock(Arc::new(|| jiff::Timestamp::now().as_second()))
    }

    pub fn from_fn(now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Clock(Arc::new(now))
    }

    pub fn now(&self) -> i64 {
        (self.0)()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// How the service behaves; [`Config::default`] is what the binary starts with.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long a login's session token lives (default 12 hours).
    pub session_ttl: Duration,
    /// The longest expiry an API token may ask for (default 365 days).
    pub max_token_ttl: Duration,
    /// An API token's expiry when none is asked for (default 90 days).
    pub default_token_ttl: Duration,
    /// Login attempts per account name (default 5 per 5 minutes).
    pub login_per_account: Throttle,
    /// Login attempts per client address (default 20 per 5 minutes).
    pub login_per_client: Throttle,
    /// Host and Origin names requests may carry (the DNS-rebinding check
    /// the other sidecars have; no stack token: this service's own tokens decide).
    pub access: sidecar_http::Access,
    /// Where `/health`, `/ready` and `/metrics` are also served, and `/metrics` only.
    pub admin_listen: Option<SocketAddr>,
    pub clock: Clock,
}

impl Default for Config {
    fn default() -> Self {
        let five_minutes = Duration::from_secs(300);
        Config {
            session_ttl: Duration::from_secs(12 * 3600),
            max_token_ttl: Duration::from_secs(365 * 86400),
            default_token_ttl: Duration::from_secs(90 * 86400),
            login_per_account: Throttle {
                attempts: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
                window: five_minutes,
            },
            login_per_client: Throttle {
                attempts: NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN),
                window: five_minutes,
            },
            access: sidecar_http::Access::default(),
            admin_listen: None,
            clock: Clock::system(),
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
    db: Database,
    config: Config,
    by_account: DefaultKeyedRateLimiter<String>,
    by_client: DefaultKeyedRateLimiter<IpAddr>,
    login_checks: AtomicU64,
    metrics: HttpMetrics,
    logins: IntCounterVec,
    verifications: IntCounterVec,
    readiness: Readiness,
}

impl AppState {
    pub fn new(db: Database, config: Config) -> Result<Self, AppError> {
        let metrics = HttpMetrics::new(SERVICE)?;
        let logins = counter(&metrics, "auth_logins_total", "Login attempts, by outcome")?;
        let verifications =
            counter(&metrics, "auth_verifications_total", "Token verifications (POST /api/v1/verify), by outcome")?;
        Ok(AppState {
            inner: Arc::new(Inner {
                by_account: RateLimiter::keyed(config.login_per_account.quota()),
                by_client: RateLimiter::keyed(config.login_per_client.quota()),
                db,
                config,
                login_checks: AtomicU64::new(0),
                metrics,
                logins,
                verifications,
                readiness: Readiness::default(),
            }),
        })
    }

    /// Turned unready by `sidecar_http::shutdown_signal` when shutdown begins.
    pub fn readiness(&self) -> Readiness {
        self.inner.readiness.clone()
    }

    pub fn database(&self) -> &Database {
        &self.inner.db
    }
}

fn counter(metrics: &HttpMetrics, name: &str, help: &str) -> Result<IntCounterVec, SidecarError> {
    let counter = IntCounterVec::new(Opts::new(name, help), &["outcome"])
        .map_err(|source| SidecarError::Metrics { name: name.to_owned(), source })?;
    metrics.register(Box::new(counter.clone()))?;
    Ok(counter)
}

/// The service's routes and layers. Serve it with `ConnectInfo<SocketAddr>`
/// (`sidecar_http::serve*` do) so logins are throttled per client address.
pub fn app(state: AppState) -> Router {
    let mut router =
        Router::new().route("/health", get(|| async { sidecar_http::health(SERVICE) })).route("/ready", get(ready));
    if state.inner.config.admin_listen.is_none() {
        router = router.route("/metrics", get(metrics));
    }
    let router = router
        .route("/api/v1/login", post(api::login))
        .route("/api/v1/verify", post(api::verify))
        .route("/api/v1/me", get(api::me))
        .route("/api/v1/users", get(api::list_users).post(api::create_user))
        .route("/api/v1/users/{name}", delete(api::delete_user))
        .route("/api/v1/tokens", get(api::list_tokens).post(api::create_token))
        .route("/api/v1/tokens/{id}", delete(api::revoke_token))
        .fallback(|method: Method, uri: Uri| async move { AppError::NoRoute { method, path: uri.path().to_owned() } })
        .with_state(state.clone());
    let router = sidecar_http::require_access(router, state.inner.config.access.clone());
    sidecar_http::standard_layers(router, state.inner.metrics.clone())
}

/// `/health`, `/ready` and `/metrics` for the admin port (no host check).
pub fn admin_app(state: AppState) -> Router {
    let metrics = state.inner.metrics.clone();
    sidecar_http::admin_app(SERVICE, get(ready).with_state(state), metrics)
}

async fn ready(axum::extract::State(state): axum::extract::State<AppState>) -> axum::response::Response {
    sidecar_http::ready(SERVICE, &state.inner.readiness)
}

async fn metrics(axum::extract::State(state): axum::extract::State<AppState>) -> axum::response::Response {
    sidecar_http::metrics_response(&state.inner.metrics)
}

/// The first admin, as made by [`bootstrap_admin`]. Show the password once.
#[derive(Debug)]
pub struct Bootstrapped {
    pub name: String,
    pub password: Zeroizing<String>,
}

/// Creates the first admin with a random password, once per database:
/// [`StoreError::AdminExists`] when an admin exists or a bootstrap already
/// happened. Callers print the password once; it is stored only hashed.
pub async fn bootstrap_admin(db: &Database, name: &str, now: i64) -> Result<Bootstrapped, AppError> {
    api::check_user_name(name)?;
    let password = secret::new_password();
    let hash = hash_on_pool(password.clone()).await?;
    let admin = model::UserRecord {
        id: new_user_id(),
        name: name.to_owned(),
        role: Role::Admin,
        password_hash: hash,
        created_at: now,
    };
    db.bootstrap_admin(admin, now).await?;
    tracing::info!(user = name, "bootstrapped the first admin");
    Ok(Bootstrapped { name: name.to_owned(), password })
}

/// argon2id on the blocking pool (tens of milliseconds of CPU).
async fn hash_on_pool(password: Zeroizing<String>) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || secret::hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(e.to_string()))
}

fn new_user_id() -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("usr_{}", hex::encode(bytes))
}
