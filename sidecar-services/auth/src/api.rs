//! The HTTP handlers. Each protected one first finds the caller
//! ([`caller`]), then asks [`model::allowed`] through [`require`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::{self, Action, Role, Scope, TokenKind, TokenRecord, UserRecord};
use crate::{AppState, hash_on_pool, new_user_id, secret};

/// `POST /api/v1/login`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub name: String,
    pub password: String,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest").field("name", &self.name).finish_non_exhaustive()
    }
}

/// The answer to a login: a session token (shown once) and when it expires.
#[derive(Debug, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub token_id: String,
    pub name: String,
    pub role: Role,
    pub expires_at: Timestamp,
}

/// What `POST /api/v1/verify` and `GET /api/v1/me` answer about a live token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verified {
    /// The user's name.
    pub subject: String,
    pub user_id: String,
    pub role: Role,
    pub scopes: Vec<Scope>,
    pub kind: TokenKind,
    pub token_id: String,
    pub expires_at: Timestamp,
}

/// `POST /api/v1/verify`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub token: String,
}

impl fmt::Debug for VerifyRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerifyRequest { .. }")
    }
}

/// A user as listed: never the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
}

/// `POST /api/v1/users`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub name: String,
    pub role: String,
    pub password: String,
}

impl fmt::Debug for CreateUserRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateUserRequest").field("name", &self.name).field("role", &self.role).finish_non_exhaustive()
    }
}

/// `POST /api/v1/tokens`: scopes by name, an expiry in seconds (default
/// [`crate::Config::default_token_ttl`]), and for admins another user's name.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// A new API token: the token itself is in this answer only.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: String,
    #[serde(flatten)]
    pub summary: TokenSummary,
}

/// A token as listed: everything but its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSummary {
    pub id: String,
    pub user_id: String,
    pub kind: TokenKind,
    pub scopes: Vec<Scope>,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl From<&TokenRecord> for TokenSummary {
    fn from(token: &TokenRecord) -> Self {
        TokenSummary {
            id: token.id.clone(),
            user_id: token.user_id.clone(),
            kind: token.kind,
            scopes: token.scopes.clone(),
            description: token.description.clone(),
            created_at: timestamp(token.created_at),
            expires_at: timestamp(token.expires_at),
            revoked_at: token.revoked_at.map(timestamp),
        }
    }
}

impl From<&UserRecord> for UserSummary {
    fn from(user: &UserRecord) -> Self {
        UserSummary {
            id: user.id.clone(),
            name: user.name.clone(),
            role: user.role,
            created_at: timestamp(user.created_at),
        }
    }
}

fn timestamp(unix_seconds: i64) -> Timestamp {
    Timestamp::from_second(unix_seconds).unwrap_or(Timestamp::MAX)
}

/// The user and token behind a request's `Authorization: Bearer`.
#[derive(Debug)]
struct Caller {
    user: UserRecord,
    token: TokenRecord,
}

/// The longest description kept with a token.
const MAX_DESCRIPTION_CHARS: usize = 200;

pub(crate) fn check_user_name(name: &str) -> Result<(), AppError> {
    let fine = (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if fine {
        Ok(())
    } else {
        Err(AppError::BadRequest(format!(
            "{name:?} is not a user name: use 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

fn body<T>(parsed: Result<Json<T>, JsonRejection>) -> Result<T, AppError> {
    parsed.map(|Json(value)| value).map_err(|rejection| AppError::BadRequest(rejection.body_text()))
}

/// The live token (and its user) that `token` is, or why not: 401.
async fn live_token(state: &AppState, token: &str) -> Result<Caller, AppError> {
    let found = state.inner.db.token_with_user(&secret::token_hash(token)).await?;
    let Some((token, user)) = found else {
        return Err(AppError::Unauthorized("the token is not known: log in again or create a new token"));
    };
    if token.revoked_at.is_some() {
        return Err(AppError::Unauthorized("the token was revoked: log in again or create a new token"));
    }
    if !token.is_live(state.inner.config.clock.now()) {
        return Err(AppError::Unauthorized("the token has expired: log in again or create a new token"));
    }
    Ok(Caller { user, token })
}

async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, AppError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(token) => live_token(state, token).await,
        None => Err(AppError::Unauthorized("this route needs `Authorization: Bearer <token>`: log in first")),
    }
}

/// The guard every management route passes: a session token, and a role
/// the table allows `action` for.
fn require(caller: &Caller, action: Action) -> Result<(), AppError> {
    if caller.token.kind != TokenKind::Session {
        return Err(AppError::SessionRequired);
    }
    if !model::allowed(caller.user.role, action) {
        tracing::info!(user = %caller.user.name, role = %caller.user.role, ?action, "refused by role");
        return Err(AppError::Forbidden { role: caller.user.role });
    }
    Ok(())
}

fn verified(caller: &Caller) -> Verified {
    Verified {
        subject: caller.user.name.clone(),
        user_id: caller.user.id.clone(),
        role: caller.user.role,
        scopes: caller.token.scopes.clone(),
        kind: caller.token.kind,
        token_id: caller.token.id.clone(),
        expires_at: timestamp(caller.token.expires_at),
    }
}

/// Where a request came from. Without `ConnectInfo` (a router driven
/// directly) every request shares one bucket.
fn client_ip(connect: Option<axum::Extension<ConnectInfo<SocketAddr>>>) -> IpAddr {
    connect.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |axum::Extension(ConnectInfo(addr))| addr.ip())
}

/// Takes one login attempt from the client's and the account's allowance.
fn throttle(state: &AppState, ip: IpAddr, name: &str) -> Result<(), AppError> {
    let inner = &state.inner;
    // Forget idle keys now and then so the tables do not grow forever.
    if inner.login_checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
        inner.by_client.retain_recent();
        inner.by_account.retain_recent();
    }
    let refused = |from: &'static str, not_until: governor::NotUntil<_>| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        // Round up: retrying on the advertised second must succeed.
        let retry_after_secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        inner.logins.with_label_values(&["throttled"]).inc();
        tracing::warn!(user = name, %ip, from, "login throttled");
        AppError::Throttled { from, retry_after_secs }
    };
    inner.by_client.check_key(&ip).map_err(|n| refused("from this address", n))?;
    inner.by_account.check_key(&name.to_lowercase()).map_err(|n| refused("for this account", n))?;
    Ok(())
}

/// `POST /api/v1/login`: `{ name, password }` → a session token.
pub(crate) async fn login(
    State(state): State<AppState>,
    connect: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    request: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<LoginResponse>, AppError> {
    let LoginRequest { name, password } = body(request)?;
    let password = zeroize::Zeroizing::new(password);
    throttle(&state, client_ip(connect), &name)?;
    let user = state.inner.db.user_by_name(&name).await?;
    let stored = user.as_ref().map(|user| user.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || match stored {
        Some(stored) => secret::verify_password(&password, &stored),
        None => {
            secret::verify_against_dummy(&password);
            false
        }
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let Some(user) = user.filter(|_| matches) else {
        state.inner.logins.with_label_values(&["failed"]).inc();
        tracing::info!(user = %name, "login failed");
        return Err(AppError::LoginFailed);
    };
    let ttl = state.inner.config.session_ttl;
    let (token, record) = mint(&state, &user, TokenKind::Session, user.role.scopes().to_vec(), ttl, None).await?;
    state.inner.logins.with_label_values(&["ok"]).inc();
    tracing::info!(user = %user.name, role = %user.role, token = %record.id, "logged in");
    Ok(Json(LoginResponse {
        token: token.to_string(),
        token_id: record.id,
        name: user.name,
        role: user.role,
        expires_at: timestamp(record.expires_at),
    }))
}

/// Makes and stores a token for `user`; returns it (show it once) and its record.
async fn mint(
    state: &AppState,
    user: &UserRecord,
    kind: TokenKind,
    scopes: Vec<Scope>,
    ttl: std::time::Duration,
    description: Option<String>,
) -> Result<(zeroize::Zeroizing<String>, TokenRecord), AppError> {
    let (token, sha256) = secret::new_token();
    let now = state.inner.config.clock.now();
    let record = TokenRecord {
        id: sha256[..12].to_owned(),
        sha256,
        user_id: user.id.clone(),
        kind,
        scopes,
        description,
        created_at: now,
        expires_at: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
        revoked_at: None,
    };
    state.inner.db.insert_token(record.clone()).await?;
    Ok((token, record))
}

/// `POST /api/v1/verify`: `{ token }` → [`Verified`], or 401.
pub(crate) async fn verify(
    State(state): State<AppState>,
    request: Result<Json<VerifyRequest>, JsonRejection>,
) -> Result<Json<Verified>, AppError> {
    let VerifyRequest { token } = body(request)?;
    let token = zeroize::Zeroizing::new(token);
    match live_token(&state, &token).await {
        Ok(caller) => {
            state.inner.verifications.with_label_values(&["ok"]).inc();
            Ok(Json(verified(&caller)))
        }
        Err(refusal) => {
            state.inner.verifications.with_label_values(&["refused"]).inc();
            Err(refusal)
        }
    }
}

/// `GET /api/v1/me`: the caller's own token, as `verify` would answer.
pub(crate) async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Verified>, AppError> {
    Ok(Json(verified(&caller(&state, &headers).await?)))
}

/// `GET /api/v1/users` (admin).
pub(crate) async fn list_users(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<UserSummary>>, AppError> {
    require(&caller(&state, &headers).await?, Action::ListUsers)?;
    let users = state.inner.db.list_users().await?;
    Ok(Json(users.iter().map(UserSummary::from).collect()))
}

/// `POST /api/v1/users` (admin): `{ name, role, password }`.
pub(crate) async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<Json<CreateUserRequest>, JsonRejection>,
) -> Result<Response, AppError> {
    let admin = caller(&state, &headers).await?;
    require(&admin, Action::CreateUser)?;
    let CreateUserRequest { name, role, password } = body(request)?;
    let password = zeroize::Zeroizing::new(password);
    check_user_name(&name)?;
    let role: Role = role.parse().map_err(AppError::BadRequest)?;
    if password.chars().count() < secret::MIN_PASSWORD_CHARS {
        return Err(AppError::BadRequest(format!(
            "the password is too short: use at least {} characters",
            secret::MIN_PASSWORD_CHARS
        )));
    }
    let user = UserRecord {
        id: new_user_id(),
        name,
        role,
        password_hash: hash_on_pool(password).await?,
        created_at: state.inner.config.clock.now(),
    };
    state.inner.db.insert_user(user.clone()).await?;
    tracing::info!(user = %user.name, %role, by = %admin.user.name, "created a user");
    Ok((StatusCode::CREATED, Json(UserSummary::from(&user))).into_response())
}

/// `DELETE /api/v1/users/{name}` (admin): the user and their tokens.
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<StatusCode, AppError> {
    let admin = caller(&state, &headers).await?;
    require(&admin, Action::DeleteUser)?;
    if admin.user.name == name {
        return Err(AppError::Conflict("you cannot delete yourself; ask another admin".to_owned()));
    }
    if !state.inner.db.delete_user(&name).await? {
        return Err(AppError::NotFound(format!("no user is named {name:?}")));
    }
    tracing::info!(user = %name, by = %admin.user.name, "deleted a user and their tokens");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/tokens`: the caller's tokens; an admin's lists everyone's.
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<TokenSummary>>, AppError> {
    let caller = caller(&state, &headers).await?;
    let everyone = model::allowed(caller.user.role, Action::ListAllTokens);
    require(&caller, if everyone { Action::ListAllTokens } else { Action::ListOwnTokens })?;
    let tokens = state.inner.db.list_tokens((!everyone).then_some(caller.user.id.as_str())).await?;
    Ok(Json(tokens.iter().map(TokenSummary::from).collect()))
}

/// `POST /api/v1/tokens`: an API token with some of the (target) user's
/// role's scopes; for another user, admins only.
pub(crate) async fn create_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<Json<CreateTokenRequest>, JsonRejection>,
) -> Result<Response, AppError> {
    let caller = caller(&state, &headers).await?;
    let request = body(request)?;
    let owner = match request.user.as_deref() {
        Some(other) if other != caller.user.name => {
            require(&caller, Action::CreateTokenForOthers)?;
            state
                .inner
                .db
                .user_by_name(other)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("no user is named {other:?}")))?
        }
        _ => {
            require(&caller, Action::CreateOwnToken)?;
            caller.user.clone()
        }
    };
    let mut scopes = Vec::new();
    for name in &request.scopes {
        let scope: Scope = name.parse().map_err(AppError::BadRequest)?;
        if !owner.role.scopes().contains(&scope) {
            return Err(AppError::ScopeNotAllowed(format!(
                "the role {} does not hold the scope {:?}, so a token of {} cannot either",
                owner.role,
                scope.as_str(),
                owner.name
            )));
        }
        scopes.push(scope);
    }
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(AppError::BadRequest("a token needs at least one scope, e.g. [\"read\"]".to_owned()));
    }
    let config = &state.inner.config;
    let ttl = request.expires_in_secs.map_or(config.default_token_ttl, std::time::Duration::from_secs);
    if ttl.is_zero() || ttl > config.max_token_ttl {
        return Err(AppError::BadRequest(format!(
            "expires_in_secs must be between 1 and {}",
            config.max_token_ttl.as_secs()
        )));
    }
    if request.description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err(AppError::BadRequest(format!("the description is longer than {MAX_DESCRIPTION_CHARS} characters")));
    }
    let (token, record) = mint(&state, &owner, TokenKind::Api, scopes, ttl, request.description).await?;
    tracing::info!(token = %record.id, user = %owner.name, scopes = ?record.scopes, by = %caller.user.name, "created a token");
    let created = CreatedToken { token: token.to_string(), summary: TokenSummary::from(&record) };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// `DELETE /api/v1/tokens/{id}`: one's own, or (admin) anyone's. Refused
/// by `verify` from then on.
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let caller = caller(&state, &headers).await?;
    let Some(token) = state.inner.db.token_by_id(&id).await? else {
        return Err(AppError::NotFound(format!("no token has the id {id:?}")));
    };
    let action = if token.user_id == caller.user.id { Action::RevokeOwnToken } else { Action::RevokeOthersToken };
    require(&caller, action)?;
    state.inner.db.revoke_token(&id, state.inner.config.clock.now()).await?;
    tracing::info!(token = %id, by = %caller.user.name, "revoked a token");
    Ok(StatusCode::NO_CONTENT)
}
