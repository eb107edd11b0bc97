//! The hosted registry (DESIGN.md §4, §9): serves a registry tree exactly as
//! a static host would, so any static host or CDN can mirror it, and adds
//! what a static host cannot do: authenticated publishing, validation with
//! the `manifest` crate, and signing with the snapshot key.
//!
//! - **Serving** (`GET`/`HEAD` of `root.json`, `snapshot.json`,
//!   `roots/<n>.root.json`, `remotes/<name>.json`, `blobs/sha256/<hex>`):
//!   strong ETags and `If-None-Match` → 304; blobs and versioned roots are
//!   `immutable` for a year, the mutable documents `no-cache` (revalidated
//!   every time, which is one small 304); JSON is gzipped for clients that
//!   ask (its ETag then gets a `-gzip` suffix, since it is another byte
//!   sequence). Nothing else in the store (`.server/`, lock files,
//!   temporary files) is reachable. These routes are the hot path and are
//!   served from memory without the per-request layers ([`serve`]).
//! - **Publishing** (`POST /api/v1/publish?name=<remote>`, a tar or tar.gz
//!   of the built remote folder; the token's scope is checked against
//!   `name` before the body is read, see [`bundle`]) and **yanking** (`POST
//!   /api/v1/remotes/<name>/versions/<version>/yank` and `/unyank`) need
//!   `Authorization: Bearer <token>` with a token scoped to that remote
//!   ([`tokens`]); each token has its own rate limit. See [`publish`] for
//!   the write protocol that keeps concurrent replicas from losing versions,
//!   and [`storage`] for how conditional writes work on a local folder and
//!   on S3.
//! - **Tokens** (`GET /api/v1/tokens`, `POST /api/v1/tokens`, `DELETE
//!   /api/v1/tokens/<id>`): list, mint and revoke publish tokens with an
//!   admin-scoped token ([`tokens`]).
//! - **Auth mode** (`REGISTRY_AUTH_URL`, issue 18 point 2): tokens of the
//!   auth service are accepted too, verified by its `POST /api/v1/verify`
//!   (`sidecar_http::auth_client`, positive answers cached ≤ 5 s) and
//!   checked for the route's scope: publish [`PUBLISH`], yank and unyank
//!   [`YANK`], token admin [`MANAGE_TOKENS`] (so admins do everything,
//!   publishers publish and yank, analysts and viewers get 403). 503 when
//!   the auth service cannot be asked. See [`Caller`].
//! - **Renewal**: a background task re-signs the snapshot before it expires,
//!   through the same compare-and-swap as a publish (`renewal.rs`).
//! - **Operations**: `/health`, `/ready` (storage reachable, registry
//!   verifies with this server's key), Prometheus `/metrics`, request ids
//!   and access logs on the API routes, structured logs and the shutdown
//!   signal, all from `sidecar-http`; connections are accepted by this
//!   crate's own HTTP/1.1 loop (see `listen.rs` for why), which finishes
//!   in-flight requests on SIGTERM.
//!
//! The signing key and tokens never reach a log or a response: the key's
//! `Debug` is its key id, tokens are compared by hash, and access logs carry
//! the path only.

pub mod bundle;
mod error;
mod listen;
pub mod publish;
mod renewal;
mod sendfile;
pub mod serve;
pub mod storage;
pub mod tokens;
pub mod validate;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use manifest::HostProfile;
use prometheus::{IntCounterVec, Opts};
use registry::SigningKey;
use serde_json::json;
use sidecar_http::auth_client::{AuthClient, Verified};
use sidecar_http::{HttpMetrics, Readiness, SidecarError};

pub use bundle::{Bundle, BundleLimits, read_bundle};
pub use error::AppError;
pub use listen::ConnectionLimits;
pub use publish::{PublishOutcome, Publisher, RenewalCheck, YankOutcome};
pub use storage::Storage;
pub use tokens::{TokenRecord, TokenStore, TokenSummary};

const SERVICE: &str = "registry_server";

/// The default listen address: loopback, the port `augment registry serve`
/// and the container use. Deployments pass `0.0.0.0:8787` explicitly.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";
/// The port the container listens on and the Kubernetes manifests name.
pub const CONTAINER_PORT: u16 = 8787;

/// `Cache-Control` of content-addressed and versioned files.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of documents that change with every publish: caches keep
/// them but must revalidate (a cheap 304) before each use.
pub const REVALIDATE: &str = "no-cache";

/// Requests per token: a sustained rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Default for RateLimit {
    /// Far above what CI publishing needs; a runaway loop is slowed down.
    fn default() -> Self {
        Self {
            per_second: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// Everything the server needs besides its storage and key.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest upload accepted, in bytes (compressed size).
    pub max_body_bytes: usize,
    pub bundle_limits: BundleLimits,
    /// The limits clients apply; an index that would exceed them is refused.
    pub limits: registry::Limits,
    pub snapshot_expires_in: Duration,
    /// The host a published remote must be able to run on.
    pub host_profile: HostProfile,
    pub rate_limit: RateLimit,
    /// How often a publish retries after losing a race to another one.
    pub max_publish_attempts: usize,
    /// Memory for blobs kept to serve without touching storage. Blobs are
    /// immutable, so a cached blob is never stale.
    pub blob_cache_bytes: u64,
    /// How long this replica may serve `snapshot.json`, `root.json` and
    /// indexes from memory before reading them again. A publish through
    /// this replica refreshes them at once; another replica's publish is
    /// seen within this delay, as behind any CDN. Zero disables it.
    pub document_cache_ttl: Duration,
    /// Header-read (and idle) timeout and the cap on open connections.
    pub connection_limits: ConnectionLimits,
    /// Re-sign the snapshot when it expires within this long; `None`
    /// means a third of `snapshot_expires_in` (10 days of the default 30).
    pub snapshot_renew_within: Option<Duration>,
    /// How often to check whether the snapshot is due; zero turns renewal off.
    pub snapshot_check_interval: Duration,
    /// Where `/health`, `/ready` and `/metrics` are also served, and
    /// `/metrics` only (issue 20, point 13; `REGISTRY_ADMIN_LISTEN`), so
    /// the public port need not expose metrics. Default: none.
    pub admin_listen: Option<SocketAddr>,
    /// Publishes holding an upload in memory at once (each up to
    /// `max_body_bytes` plus `bundle_limits.max_unpacked_bytes`); more wait,
    /// their bodies unread. With `blob_cache_bytes` this bounds the memory a
    /// pod needs (issue 20, point 13; `docker/k8s/registry-server.yaml`).
    pub max_concurrent_publishes: usize,
    /// Auth mode (issue 18, point 2; `REGISTRY_AUTH_URL`): tokens of the
    /// auth service (`augauth_…`) are accepted too, verified through its
    /// `POST /api/v1/verify` and checked for the route's scope (see
    /// [`Caller`]). This registry's own tokens keep working. Default: none.
    pub auth: Option<sidecar_http::auth_client::AuthConfig>,
}

impl Config {
    /// The most memory uploads and the blob cache can hold at once, in
    /// bytes: what a pod's memory limit must leave room for, besides the
    /// process itself.
    pub fn worst_case_buffered_bytes(&self) -> u64 {
        let per_publish = self.max_body_bytes as u64 + self.bundle_limits.max_unpacked_bytes;
        self.blob_cache_bytes + self.max_concurrent_publishes.max(1) as u64 * per_publish
    }
}

impl Config {
    /// How close to its expiry the snapshot is re-signed: the configured
    /// window, kept below `snapshot_expires_in` (a window as long as a
    /// snapshot's whole life would re-sign at every check).
    pub fn snapshot_renew_window(&self) -> Duration {
        let third = self.snapshot_expires_in / 3;
        match self.snapshot_renew_within {
            Some(window) if window < self.snapshot_expires_in => window,
            Some(window) => {
                tracing::warn!(?window, expires_in = ?self.snapshot_expires_in, "the renewal window is not shorter than a snapshot's validity; using a third of it");
                third
            }
            None => third,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024 * 1024,
            bundle_limits: BundleLimits::default(),
            limits: registry::Limits::default(),
            snapshot_expires_in: registry::DEFAULT_SNAPSHOT_EXPIRY,
            host_profile: HostProfile::builtin(),
            rate_limit: RateLimit::default(),
            max_publish_attempts: 64,
            blob_cache_bytes: 256 * 1024 * 1024,
            document_cache_ttl: Duration::from_millis(500),
            connection_limits: ConnectionLimits::default(),
            snapshot_renew_within: None,
            snapshot_check_interval: Duration::from_secs(600),
            admin_listen: None,
            max_concurrent_publishes: 2,
            auth: None,
        }
    }
}

/// Shared state: cheap to clone, one per running server.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    storage: Storage,
    publisher: Publisher,
    tokens: TokenStore,
    limiter: DefaultKeyedRateLimiter<String>,
    limiter_checks: AtomicU64,
    metrics: HttpMetrics,
    operations: IntCounterVec,
    readiness: Readiness,
    tree_cache: serve::TreeCache,
    tree_counters: serve::TreeCounters,
    /// Cached documents' bodies in memfds, for the connections to send.
    backings: sendfile::Backings,
    /// One permit per upload held in memory (`max_concurrent_publishes`).
    publishes: tokio::sync::Semaphore,
    /// Auth mode's client of the auth service.
    auth: Option<AuthClient>,
}

impl AppState {
    pub fn new(config: Config, storage: Storage, key: SigningKey) -> Result<Self, SidecarError> {
        let metrics = HttpMetrics::new(SERVICE)?;
        let operations = IntCounterVec::new(
            Opts::new(
                "registry_server_operations_total",
                "Publishes and yanks, by operation and outcome (ok or error code)",
            ),
            &["operation", "outcome"],
        )
        .map_err(|source| SidecarError::Metrics { name: "registry_server_operations_total".into(), source })?;
        metrics.register(Box::new(operations.clone()))?;
        let tree_counters = serve::TreeCounters::register(&metrics)?;
        let quota = Quota::per_second(config.rate_limit.per_second).allow_burst(config.rate_limit.burst);
        let config_publishes = config.max_concurrent_publishes.max(1);
        let publisher = Publisher {
            storage: storage.clone(),
            key,
            profile: config.host_profile.clone(),
            limits: config.limits,
            snapshot_expires_in: config.snapshot_expires_in,
            max_attempts: config.max_publish_attempts.max(1),
        };
        let auth = match &config.auth {
            Some(auth) => Some(AuthClient::new(auth.clone()).map_err(|err| SidecarError::Access(err.to_string()))?),
            None => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                auth,
                tokens: TokenStore::new(storage.clone()),
                config,
                storage,
                publisher,
                limiter: RateLimiter::keyed(quota),
                limiter_checks: AtomicU64::new(0),
                metrics,
                operations,
                readiness: Readiness::default(),
                tree_cache: serve::TreeCache::default(),
                tree_counters,
                backings: sendfile::Backings::default(),
                publishes: tokio::sync::Semaphore::new(config_publishes),
            }),
        })
    }

    pub fn readiness(&self) -> Readiness {
        self.inner.readiness.clone()
    }

    pub fn publisher(&self) -> &Publisher {
        &self.inner.publisher
    }
}

/// The server's routes and layers. The tree's routes are merged in after
/// the standard layers, so the hot path carries none of them (see [`serve`]).
pub fn app(state: AppState) -> Router {
    let mut api =
        Router::new().route("/health", get(|| async { sidecar_http::health(SERVICE) })).route("/ready", get(ready));
    // With an admin port, /metrics is served there only (issue 20, point 13).
    if state.inner.config.admin_listen.is_none() {
        api = api.route("/metrics", get(metrics));
    }
    let api = api
        .route("/api/v1/publish", post(publish))
        .route("/api/v1/remotes/{name}/versions/{version}/yank", post(yank))
        .route("/api/v1/remotes/{name}/versions/{version}/unyank", post(unyank))
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
        .fallback(|method: Method, uri: Uri| async move { AppError::NotFound { method, path: uri.path().to_owned() } })
        .with_state(state.clone());
    let api = sidecar_http::standard_layers(api, state.inner.metrics.clone());
    serve::routes().with_state(state).merge(api)
}

/// The admin port's routes (issue 20, point 13): `/health`, `/ready` and
/// `/metrics`, for probes and Prometheus; serve it where only they reach it.
pub fn admin_app(state: AppState) -> Router {
    let metrics = state.inner.metrics.clone();
    sidecar_http::admin_app(SERVICE, get(ready).with_state(state), metrics)
}

async fn metrics(State(state): State<AppState>) -> Response {
    sidecar_http::metrics_response(&state.inner.metrics)
}

/// Binds `listen` (and the admin address, when configured, printing
/// `registry-server admin listening on http://ADDR` first), prints
/// `registry-server listening on http://ADDR` on
/// standard output (scripts and tests read the port from it), and serves
/// until SIGTERM or ctrl-c, finishing in-flight requests. The snapshot
/// renewal task runs alongside (see `renewal.rs`).
pub async fn run(listen: SocketAddr, state: AppState) -> Result<(), SidecarError> {
    // Before "listening" is printed: whoever reads that line may send SIGTERM at once.
    let shutdown = sidecar_http::shutdown_signal(state.readiness());
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|source| SidecarError::Bind { addr: listen, source })?;
    let local = listener.local_addr().unwrap_or(listen);
    let admin = match state.inner.config.admin_listen {
        Some(addr) => {
            let admin =
                tokio::net::TcpListener::bind(addr).await.map_err(|source| SidecarError::Bind { addr, source })?;
            let admin_local = admin.local_addr().unwrap_or(addr);
            let stop = sidecar_http::shutdown_signal(state.readiness());
            let served = sidecar_http::serve_listener(admin, admin_app(state.clone()), stop);
            {
                use std::io::Write as _;
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "registry-server admin listening on http://{admin_local}");
                let _ = out.flush();
            }
            Some(tokio::spawn(served))
        }
        None => None,
    };
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "registry-server listening on http://{local}");
        let _ = out.flush();
    }
    tracing::info!(%local, storage = state.inner.storage.description(), keyid = %state.inner.publisher.key.key_id(), "serving the registry");
    let backings = state.inner.backings.clone();
    let limits = state.inner.config.connection_limits;
    let renewal = tokio::spawn(renewal::run(state.clone()));
    let served = listen::serve_http1(listener, app(state), backings, limits, shutdown).await;
    renewal.abort();
    if let Some(admin) = admin {
        // It stops on the same signal; a panic there is not this listener's failure.
        if let Ok(Err(err)) = admin.await {
            tracing::warn!(error = %err, "the admin listener failed");
        }
    }
    served
}

// ----- Operations -----

async fn ready(State(state): State<AppState>) -> Response {
    if !state.inner.readiness.is_ready() {
        return sidecar_http::ready(SERVICE, &state.inner.readiness);
    }
    match state.inner.publisher.check().await {
        Ok(snapshot_version) => axum::Json(json!({
            "ready": true,
            "service": SERVICE,
            "snapshotVersion": snapshot_version,
        }))
        .into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "not ready");
            sidecar_http::ErrorBody::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                format!("the registry storage is not usable: {err}"),
            )
            .with("ready", false)
            .into_response()
        }
    }
}

// ----- The API -----

async fn publish(State(state): State<AppState>, request: Request) -> Response {
    let result = publish_inner(&state, request).await;
    respond(&state, "publish", result.map(|outcome| (StatusCode::CREATED, axum::Json(outcome))))
}

async fn publish_inner(state: &AppState, request: Request) -> Result<PublishOutcome, AppError> {
    // Body is not Sync, so the headers are taken apart before any await.
    let (parts, body) = request.into_parts();
    let caller = authenticate(state, &parts.headers).await?;
    // The upload names its remote (`?name=`), so a token for another remote
    // is refused before a byte of the body is read or unpacked.
    let remote = bundle::announced_name(parts.uri.query())?;
    caller.may_change(&remote, PUBLISH)?;
    let limit = state.inner.config.max_body_bytes;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(AppError::BodyTooLarge { limit_bytes: limit });
    }
    // Bounded memory: past the cap, uploads wait here with their bodies unread.
    let _permit = state.inner.publishes.acquire().await.ok();
    let body = axum::body::to_bytes(body, limit).await.map_err(|err| body_error(&err, limit))?;
    let limits = state.inner.config.bundle_limits;
    let bundle = tokio::task::spawn_blocking(move || bundle::read_named_bundle(&remote, &body, &limits))
        .await
        .map_err(|err| AppError::BadBody(err.to_string()))??;
    let name = &bundle.manifest.name;
    caller.may_change(name, PUBLISH)?;
    tracing::info!(token = %caller.id(), remote = %name, version = %bundle.manifest.version, files = bundle.files.len(), "publish requested");
    let outcome = state.inner.publisher.publish(&bundle).await;
    state.inner.tree_cache.forget_documents();
    Ok(outcome?)
}

async fn yank(state: State<AppState>, path: Path<(String, String)>, headers: HeaderMap) -> Response {
    set_yanked(state, path, headers, true).await
}

async fn unyank(state: State<AppState>, path: Path<(String, String)>, headers: HeaderMap) -> Response {
    set_yanked(state, path, headers, false).await
}

async fn set_yanked(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    yanked: bool,
) -> Response {
    let result = async {
        let caller = authenticate(&state, &headers).await?;
        caller.may_change(&name, YANK)?;
        let version = manifest::Version::parse(&version).map_err(|_| AppError::BadVersion(version.clone()))?;
        tracing::info!(token = %caller.id(), remote = %name, %version, yanked, "yank requested");
        let outcome = state.inner.publisher.yank(&name, &version, yanked).await;
        state.inner.tree_cache.forget_documents();
        Ok(outcome?)
    }
    .await;
    respond(&state, if yanked { "yank" } else { "unyank" }, result.map(axum::Json))
}

// ----- Tokens (admin scope) -----

async fn list_tokens(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let result = async {
        authenticate_admin(&state, &headers).await?;
        let tokens = tokens::list(&state.inner.storage).await?;
        let tokens: Vec<TokenSummary> = tokens.iter().map(TokenRecord::summary).collect();
        Ok(axum::Json(json!({ "tokens": tokens })))
    }
    .await;
    respond(&state, "token_list", result)
}

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    remotes: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

async fn create_token(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let result = async {
        let admin = authenticate_admin(&state, &headers).await?;
        let request: NewToken = serde_json::from_slice(&body).map_err(|err| {
            AppError::BadRequest(format!(
                "expected JSON {{ \"remotes\": [\"name\", …], \"description\": \"…\" }} ({err}); admin tokens are minted only where the registry is stored"
            ))
        })?;
        let (token, record) =
            tokens::create_scoped(&state.inner.storage, &request.remotes, false, request.description).await?;
        tracing::info!(by = %admin.id(), token = %record.id, remotes = ?record.remotes, "minted a publish token");
        let mut body = serde_json::to_value(record.summary()).unwrap_or_default();
        // The one response that carries a token: never cached anywhere.
        body["token"] = json!(token.as_str());
        let headers = [(header::CACHE_CONTROL, "no-store")];
        Ok((StatusCode::CREATED, headers, axum::Json(body)))
    }
    .await;
    respond(&state, "token_create", result)
}

async fn revoke_token(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let result = async {
        let admin = authenticate_admin(&state, &headers).await?;
        let record = tokens::revoke(&state.inner.storage, &id).await?;
        tracing::info!(by = %admin.id(), token = %record.id, "revoked a token");
        Ok(axum::Json(json!({ "revoked": record.summary() })))
    }
    .await;
    respond(&state, "token_revoke", result)
}

/// A caller who may manage tokens: 401 without a valid token, 403 without the right.
async fn authenticate_admin(state: &AppState, headers: &HeaderMap) -> Result<Caller, AppError> {
    let caller = authenticate(state, headers).await?;
    caller.may_manage_tokens()?;
    Ok(caller)
}

/// The auth service's scopes for publishing, yanking (and un-yanking) and
/// managing this registry's tokens. Its roles hold them as its README's
/// table says: admin all three, publisher `publish` and `yank`, analyst and
/// viewer none.
pub const PUBLISH: &str = "publish";
pub const YANK: &str = "yank";
pub const MANAGE_TOKENS: &str = "registry:tokens";

/// Who sent an API request, and so what it may do.
#[derive(Debug, Clone)]
pub enum Caller {
    /// One of this registry's own tokens (`augreg_…`): publishes and yanks
    /// the remotes it is scoped to; manages tokens if it is an admin token.
    Registry(TokenRecord),
    /// A token of the auth service (auth mode): may do what its scopes say,
    /// for every remote.
    Team(Arc<Verified>),
}

impl Caller {
    /// A public name for logs and the rate limit: a prefix of the token's hash.
    pub fn id(&self) -> &str {
        match self {
            Caller::Registry(record) => &record.id,
            Caller::Team(verified) => &verified.token_id,
        }
    }

    /// Whether it may publish (`scope` [`PUBLISH`]) or yank ([`YANK`]) `remote`.
    pub fn may_change(&self, remote: &str, scope: &'static str) -> Result<(), AppError> {
        match self {
            Caller::Registry(record) if record.allows(remote) => Ok(()),
            Caller::Registry(record) => {
                tracing::warn!(token = %record.id, %remote, "a token tried to change a remote outside its scope");
                Err(AppError::Forbidden { remote: remote.to_owned(), allowed: record.remotes.clone() })
            }
            Caller::Team(verified) => verified_has(verified, scope),
        }
    }

    /// Whether it may list, mint and revoke this registry's tokens.
    pub fn may_manage_tokens(&self) -> Result<(), AppError> {
        match self {
            Caller::Registry(record) if record.admin => Ok(()),
            Caller::Registry(record) => {
                tracing::warn!(token = %record.id, "a token without the admin scope tried to manage tokens");
                Err(AppError::NotAdmin)
            }
            Caller::Team(verified) => verified_has(verified, MANAGE_TOKENS),
        }
    }
}

fn verified_has(verified: &Verified, scope: &'static str) -> Result<(), AppError> {
    if verified.has_scope(scope) {
        return Ok(());
    }
    tracing::warn!(subject = %verified.subject, token = %verified.token_id, scope, "an auth service token lacks the scope");
    Err(AppError::MissingScope { scope, subject: verified.subject.clone(), role: verified.role.clone() })
}

fn respond<T: IntoResponse>(state: &AppState, operation: &str, result: Result<T, AppError>) -> Response {
    let outcome = match &result {
        Ok(_) => "ok",
        Err(err) => err.code(),
    };
    state.inner.operations.with_label_values(&[operation, outcome]).inc();
    match result {
        Ok(value) => value.into_response(),
        Err(err) => err.into_response(),
    }
}

/// Who sent the request, after its token's rate limit: 401 without a valid
/// token. In auth mode an auth service token is verified there (503 when it
/// cannot be asked: fail closed); this registry's own tokens are looked up here.
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, AppError> {
    let presented = sidecar_http::auth_client::bearer_token(headers).ok_or(AppError::MissingToken)?;
    let inner = &state.inner;
    let (caller, limit_key) = match &inner.auth {
        Some(auth) if presented.starts_with(sidecar_http::auth_client::TOKEN_PREFIX) => {
            let verified = auth.verify(presented).await.map_err(AppError::Auth)?;
            let key = format!("auth:{}", verified.token_id);
            (Caller::Team(verified), key)
        }
        _ => {
            let record = inner.tokens.authenticate(presented).await?.ok_or(AppError::BadToken)?;
            let key = record.id.clone();
            (Caller::Registry(record), key)
        }
    };
    // Forget idle tokens now and then so the table does not grow forever.
    if inner.limiter_checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
        inner.limiter.retain_recent();
    }
    if let Err(not_until) = inner.limiter.check_key(&limit_key) {
        let wait = not_until.wait_time_from(inner.limiter.clock().now());
        // Round up: retrying on the advertised second must succeed.
        let retry_after_secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        return Err(AppError::RateLimited { retry_after_secs });
    }
    Ok(caller)
}

fn body_error(err: &axum::Error, limit: usize) -> AppError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if cause.to_string().contains("length limit exceeded") {
            return AppError::BodyTooLarge { limit_bytes: limit };
        }
        source = cause.source();
    }
    AppError::BadBody(err.to_string())
}
