//! Signing in to a team's auth service (issue 18, point 2): the Admin
//! Dashboard's "Team server" section logs in with a user name and password
//! (`POST /api/v1/login` of `sidecar-services/auth`), and an admin then
//! manages the team's users and API tokens through the same service.
//!
//! The session token lives in the OS keychain only ([`KeyStore`], like the
//! webhooks' secrets), under a name derived from the server's URL; the URL
//! of the current sign-in sits next to it so the app finds it after a
//! restart. No reply, settings file or log line carries the token. A new
//! API token's secret is in [`CreatedTeamToken`] once, for the person to copy.
//!
//! The commands are `ShellOnly`: they act with the person's team role, so
//! no grant opens them to a sandboxed remote.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use secrets::{KeyStore, Secret};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tauri::State;

use crate::error::{CommandError, CommandResult, ErrorCode};

/// The keychain entry holding the URL of the current sign-in.
const SERVER_ENTRY: &str = "team-server";
/// How long one call to the auth service may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest token lifetime offered (the service's own limit may be lower; it says so).
const MAX_TOKEN_DAYS: u32 = 3650;

/// Who is signed in, as `GET /api/v1/me` tells it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamSession {
    /// The auth service's URL (never holds a secret: user info is refused).
    pub server: String,
    pub user: String,
    /// `admin`, `publisher`, `analyst` or `viewer`.
    pub role: String,
    pub scopes: Vec<String>,
    /// When the session ends (RFC 3339).
    pub expires_at: String,
}

/// A user of the team, never their password.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamUser {
    pub id: String,
    pub name: String,
    pub role: String,
    /// RFC 3339.
    #[serde(alias = "created_at")]
    pub created_at: String,
}

/// An API or session token as listed: never the token itself.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamToken {
    pub id: String,
    #[serde(alias = "user_id")]
    pub user_id: String,
    /// `session` (a sign-in) or `api`.
    pub kind: String,
    pub scopes: Vec<String>,
    /// The name given when it was created.
    pub description: Option<String>,
    #[serde(alias = "created_at")]
    pub created_at: String,
    #[serde(alias = "expires_at")]
    pub expires_at: String,
    #[serde(alias = "revoked_at")]
    pub revoked_at: Option<String>,
}

/// A new API token: `secret` is shown in this reply only; the service keeps its hash.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedTeamToken {
    pub secret: String,
    pub token: TeamToken,
}

/// The auth service's answers we read (the wire is snake_case).
#[derive(Deserialize)]
struct Me {
    subject: String,
    role: String,
    scopes: Vec<String>,
    expires_at: String,
}

#[derive(Deserialize)]
struct LoginReply {
    token: String,
}

#[derive(Deserialize)]
struct CreatedReply {
    token: String,
    #[serde(flatten)]
    summary: TeamToken,
}

/// HTTP clients and the keychain; managed by `lib::run` (and tests).
#[derive(Debug, Clone)]
pub struct TeamState {
    keys: KeyStore,
    /// For servers elsewhere: honours the system's proxy settings.
    http: reqwest::Client,
    /// For a server on this computer: never through a proxy.
    local: reqwest::Client,
}

impl TeamState {
    pub fn new(keys: KeyStore) -> CommandResult<Self> {
        let build = |direct: bool| {
            let builder = reqwest::Client::builder().timeout(TIMEOUT).connect_timeout(CONNECT_TIMEOUT);
            let builder = if direct { builder.no_proxy() } else { builder };
            builder.build().map_err(|err| CommandError::new(ErrorCode::Internal, format!("an HTTP client: {err}")))
        };
        Ok(Self { keys, http: build(false)?, local: build(true)? })
    }
}

/// A checked auth service URL, without a trailing `/`.
#[derive(Debug, Clone)]
struct Server {
    base: String,
    loopback: bool,
}

/// `https://`, or `http://` to this computer only: the password and the
/// token would otherwise cross the network in clear. Not `notify_hooks::host_of`,
/// whose messages speak of webhooks; the loopback rule is the same one
/// (`notify_hooks::is_loopback`).
fn server(url: &str) -> CommandResult<Server> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| {
        CommandError::invalid(format!(
            "the team server URL is not a valid URL ({e}); paste it whole, e.g. https://auth.example.com"
        ))
    })?;
    let host = parsed.host_str().ok_or_else(|| CommandError::invalid("the team server URL has no host"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(CommandError::invalid(
            "the team server URL must not hold a user name or password; type them in the form",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(CommandError::invalid("the team server URL must not have a query or fragment"));
    }
    let loopback = notify_hooks::is_loopback(&parsed);
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(CommandError::invalid(format!(
                "the team server {host} uses plain http://, which would send your password and session unencrypted; use https:// (http:// is allowed to this computer only)"
            )));
        }
        other => {
            return Err(CommandError::invalid(format!(
                "the team server URL's scheme `{other}` is not supported; use https://"
            )));
        }
    }
    Ok(Server { base: parsed.as_str().trim_end_matches('/').to_owned(), loopback })
}

/// The keychain entry of the session token for the server `base` (its URL without a trailing `/`;
/// entry names are short `a-z0-9-`).
pub fn session_entry(base: &str) -> String {
    let digest = Sha256::digest(base.as_bytes());
    format!("team-session-{}", &hex::encode(digest)[..24])
}

/// Runs keychain work off the async runtime (it is D-Bus on Linux).
async fn keychain<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, secrets::Error> + Send + 'static,
) -> CommandResult<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|err| CommandError::new(ErrorCode::Internal, format!("a keychain task failed: {err}")))?
        .map_err(CommandError::from)
}

/// What a call is for, to word a refusal: "list the team's users".
type Doing = &'static str;

/// The error body the auth service sends (`{ code, message, retry_after_secs? }`).
#[derive(Deserialize, Default)]
struct ServiceError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    retry_after_secs: Option<u64>,
}

/// Why a call did not succeed, before it is worded for the person.
enum Failure {
    Command(CommandError),
    /// 401 from a route that needs a session: the stored one is dead.
    SessionGone,
    /// 403 because of the role.
    Forbidden,
}

impl From<CommandError> for Failure {
    fn from(err: CommandError) -> Self {
        Failure::Command(err)
    }
}

impl TeamState {
    fn client(&self, server: &Server) -> &reqwest::Client {
        if server.loopback { &self.local } else { &self.http }
    }

    /// One call: `method path` with an optional bearer token and JSON body.
    async fn call<T: DeserializeOwned>(
        &self,
        server: &Server,
        method: Method,
        path: &str,
        token: Option<&Secret>,
        body: Option<Value>,
    ) -> Result<Option<T>, Failure> {
        let mut request = self.client(server).request(method, format!("{}{path}", server.base));
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|err| unreachable_error(server, &err))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let bytes = response.bytes().await.map_err(|err| unreachable_error(server, &err))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map(Some).map_err(|err| {
                Failure::Command(CommandError::new(
                    ErrorCode::Internal,
                    format!("the team server's answer to {path} is not what an Augment-It auth service sends ({err}); is the URL right?"),
                ))
            });
        }
        let error: ServiceError = serde_json::from_slice(&bytes).unwrap_or_default();
        Err(match status {
            StatusCode::TOO_MANY_REQUESTS => {
                let wait = retry_after.or(error.retry_after_secs).unwrap_or(60);
                Failure::Command(CommandError::new(
                    ErrorCode::Refused,
                    format!("too many attempts; try again in {wait} s"),
                ))
            }
            StatusCode::UNAUTHORIZED if error.code == "login_failed" => Failure::Command(CommandError::new(
                ErrorCode::Refused,
                "the auth service refused the user name or password",
            )),
            StatusCode::UNAUTHORIZED => Failure::SessionGone,
            StatusCode::FORBIDDEN if error.code == "forbidden" => Failure::Forbidden,
            StatusCode::NOT_FOUND if error.code == "not_found" => {
                Failure::Command(CommandError::new(ErrorCode::NotFound, error.message))
            }
            StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::FORBIDDEN if !error.message.is_empty() => {
                Failure::Command(CommandError::invalid(error.message))
            }
            other => Failure::Command(CommandError::new(
                ErrorCode::Unreachable,
                format!("the team server answered {other} to {path}; is the URL that of an Augment-It auth service?"),
            )),
        })
    }

    /// The server and session token of the current sign-in, if any.
    async fn stored(&self) -> CommandResult<Option<(Server, Secret)>> {
        let keys = self.keys.clone();
        let found = keychain(move || {
            let Some(url) = keys.get(SERVER_ENTRY)? else { return Ok(None) };
            let token = keys.get(&session_entry(url.expose()))?;
            Ok(token.map(|token| (url, token)))
        })
        .await?;
        match found {
            Some((url, token)) => Ok(Some((server(url.expose())?, token))),
            None => Ok(None),
        }
    }

    /// Deletes the stored sign-in (both entries); whether there was one.
    async fn forget(&self) -> CommandResult<bool> {
        let keys = self.keys.clone();
        keychain(move || {
            let Some(url) = keys.get(SERVER_ENTRY)? else { return Ok(false) };
            let had = keys.delete(&session_entry(url.expose()))?;
            keys.delete(SERVER_ENTRY)?;
            Ok(had)
        })
        .await
    }

    /// Words a failure of a call made with the stored session.
    async fn explain(&self, failure: Failure, server: &Server, token: &Secret, doing: Doing) -> CommandError {
        match failure {
            Failure::Command(err) => err,
            Failure::SessionGone => self.session_expired().await,
            Failure::Forbidden => {
                let role = match self.call::<Me>(server, Method::GET, "/api/v1/me", Some(token), None).await {
                    Ok(Some(me)) => me.role,
                    _ => "unknown".to_owned(),
                };
                CommandError::new(
                    ErrorCode::Refused,
                    format!("your role ({role}) may not {doing}; ask an admin of the team"),
                )
            }
        }
    }

    async fn session_expired(&self) -> CommandError {
        if let Err(err) = self.forget().await {
            tracing::warn!(error = %err, "the expired team session could not be removed from the keychain");
        }
        tracing::info!("team session expired or revoked; signed out");
        CommandError::new(ErrorCode::Refused, "signed out: your session expired, sign in again")
    }

    /// A call with the stored session; `None` answers from 204 routes.
    async fn with_session<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        doing: Doing,
    ) -> CommandResult<Option<T>> {
        let Some((server, token)) = self.stored().await? else {
            return Err(CommandError::new(ErrorCode::Refused, "not signed in to a team server: sign in first"));
        };
        match self.call(&server, method, path, Some(&token), body).await {
            Ok(answer) => Ok(answer),
            Err(failure) => Err(self.explain(failure, &server, &token, doing).await),
        }
    }

    async fn me(&self, server: &Server, token: &Secret) -> CommandResult<TeamSession> {
        let me: Me = match self.call(server, Method::GET, "/api/v1/me", Some(token), None).await {
            Ok(Some(me)) => me,
            Ok(None) => {
                return Err(CommandError::new(ErrorCode::Internal, "the team server sent no answer to /api/v1/me"));
            }
            Err(failure) => return Err(self.explain(failure, server, token, "read who is signed in").await),
        };
        Ok(TeamSession {
            server: server.base.clone(),
            user: me.subject,
            role: me.role,
            scopes: me.scopes,
            expires_at: me.expires_at,
        })
    }
}

fn unreachable_error(server: &Server, err: &reqwest::Error) -> Failure {
    let why = if err.is_timeout() { "it did not answer in time".to_owned() } else { causes(err) };
    Failure::Command(CommandError::new(
        ErrorCode::Unreachable,
        format!(
            "the team server at {} cannot be reached ({why}); check the URL and that the auth service runs",
            server.base
        ),
    ))
}

/// `reqwest::Error`'s causes without the URL its own text names (ours, but
/// messages name the server once, in `unreachable_error`).
fn causes(err: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = String::from(if err.is_connect() { "could not connect" } else { "the request failed" });
    let mut source = err.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

fn missing_answer(path: &str) -> CommandError {
    CommandError::new(ErrorCode::Internal, format!("the team server sent an empty answer to {path}"))
}

/// Signs in to the auth service at `url` (`https://`, or `http://` to this
/// computer) with a user name and password; the session token goes to the OS
/// keychain, replacing any earlier sign-in. Replies who is signed in.
#[tauri::command]
pub async fn team_sign_in(
    team: State<'_, TeamState>,
    url: String,
    username: String,
    password: String,
) -> CommandResult<TeamSession> {
    let password = Secret::new(password);
    let server = server(&url)?;
    if username.trim().is_empty() || password.is_empty() {
        return Err(CommandError::invalid("type the user name and the password"));
    }
    let body = json!({ "name": username.trim(), "password": password.expose() });
    let login: LoginReply = match team.call(&server, Method::POST, "/api/v1/login", None, Some(body)).await {
        Ok(Some(reply)) => reply,
        Ok(None) => return Err(missing_answer("/api/v1/login")),
        // A 401 here is always the name or password (the service sends `login_failed`).
        Err(Failure::SessionGone) => {
            return Err(CommandError::new(ErrorCode::Refused, "the auth service refused the user name or password"));
        }
        Err(Failure::Forbidden) => {
            return Err(CommandError::new(ErrorCode::Refused, "the auth service refused to sign you in"));
        }
        Err(Failure::Command(err)) => return Err(err),
    };
    let token = Secret::new(login.token);
    team.forget().await?;
    let keys = team.keys.clone();
    let (base, stored) = (server.base.clone(), Secret::new(token.expose()));
    keychain(move || {
        keys.set(&session_entry(&base), stored)?;
        keys.set(SERVER_ENTRY, Secret::new(base))
    })
    .await?;
    let session = team.me(&server, &token).await?;
    tracing::info!(server = %session.server, user = %session.user, role = %session.role, "signed in to the team server");
    Ok(session)
}

/// Who is signed in to the team server, or `null`. An expired session is
/// removed and reported as such. Without a usable keychain nobody can have
/// signed in: `null` (logged), and signing in says what is wrong with it.
#[tauri::command]
pub async fn team_session(team: State<'_, TeamState>) -> CommandResult<Option<TeamSession>> {
    let stored = match team.stored().await {
        Ok(stored) => stored,
        Err(err) if err.code == ErrorCode::Keychain => {
            tracing::warn!(error = %err.message, "team server: the keychain cannot be read; showing nobody signed in");
            return Ok(None);
        }
        Err(err) => return Err(err),
    };
    match stored {
        Some((server, token)) => team.me(&server, &token).await.map(Some),
        None => Ok(None),
    }
}

/// Signs out: deletes the session token from the keychain (the service lets
/// it expire). Whether there was a sign-in.
#[tauri::command]
pub async fn team_sign_out(team: State<'_, TeamState>) -> CommandResult<bool> {
    let had = team.forget().await?;
    tracing::info!(had, "signed out of the team server");
    Ok(had)
}

/// The team's users (admins).
#[tauri::command]
pub async fn team_users(team: State<'_, TeamState>) -> CommandResult<Vec<TeamUser>> {
    team.with_session(Method::GET, "/api/v1/users", None, "list the team's users")
        .await?
        .ok_or_else(|| missing_answer("/api/v1/users"))
}

/// Adds a user (admins): `role` is `admin`, `publisher`, `analyst` or `viewer`.
#[tauri::command]
pub async fn team_create_user(
    team: State<'_, TeamState>,
    name: String,
    role: String,
    password: String,
) -> CommandResult<TeamUser> {
    let password = Secret::new(password);
    let body = json!({ "name": name.trim(), "role": role, "password": password.expose() });
    team.with_session(Method::POST, "/api/v1/users", Some(body), "add users")
        .await?
        .ok_or_else(|| missing_answer("/api/v1/users"))
}

/// Deletes a user and their tokens (admins); one cannot delete oneself.
#[tauri::command]
pub async fn team_delete_user(team: State<'_, TeamState>, name: String) -> CommandResult<bool> {
    let path =
        format!("/api/v1/users/{}", percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC));
    team.with_session::<Value>(Method::DELETE, &path, None, "delete users").await?;
    Ok(true)
}

/// The tokens: an admin sees everyone's, others their own.
#[tauri::command]
pub async fn team_tokens(team: State<'_, TeamState>) -> CommandResult<Vec<TeamToken>> {
    team.with_session(Method::GET, "/api/v1/tokens", None, "list tokens")
        .await?
        .ok_or_else(|| missing_answer("/api/v1/tokens"))
}

/// Creates an API token of the signed-in user named `name` with `scopes`
/// (`read`, `run`, `publish`, `yank`, `registry:tokens`; within the role's),
/// expiring in `expiresInDays` days. The reply holds its secret: the only time it is shown.
#[tauri::command]
pub async fn team_create_token(
    team: State<'_, TeamState>,
    name: String,
    scopes: Vec<String>,
    expires_in_days: u32,
) -> CommandResult<CreatedTeamToken> {
    if !(1..=MAX_TOKEN_DAYS).contains(&expires_in_days) {
        return Err(CommandError::invalid(format!("a token expires in 1 to {MAX_TOKEN_DAYS} days")));
    }
    let name = name.trim();
    let description = (!name.is_empty()).then_some(name);
    let body =
        json!({ "scopes": scopes, "expires_in_secs": u64::from(expires_in_days) * 86_400, "description": description });
    let created: CreatedReply = team
        .with_session(Method::POST, "/api/v1/tokens", Some(body), "create tokens")
        .await?
        .ok_or_else(|| missing_answer("/api/v1/tokens"))?;
    tracing::info!(token = %created.summary.id, "created a team API token");
    Ok(CreatedTeamToken { secret: created.token, token: created.summary })
}

/// Revokes a token by id: the services refuse it from then on.
#[tauri::command]
pub async fn team_revoke_token(team: State<'_, TeamState>, id: String) -> CommandResult<bool> {
    let path =
        format!("/api/v1/tokens/{}", percent_encoding::utf8_percent_encode(&id, percent_encoding::NON_ALPHANUMERIC));
    team.with_session::<Value>(Method::DELETE, &path, None, "revoke this token").await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_or_loopback_http_only() {
        assert_eq!(server("https://auth.example.com/").unwrap().base, "https://auth.example.com");
        assert!(server("http://127.0.0.1:8080").unwrap().loopback);
        assert!(server("http://localhost:8080/").is_ok());
        assert!(server("http://[::1]:8080/").is_ok());
        let err = server("http://auth.example.com").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(err.message.contains("https://"), "{}", err.message);
        assert!(server("https://me:pw@auth.example.com").is_err());
        assert!(server("ftp://auth.example.com").is_err());
        assert!(server("auth.example.com").is_err());
    }

    #[test]
    fn each_server_has_its_own_keychain_entry() {
        let a = session_entry("https://a.example.com");
        assert_ne!(a, session_entry("https://b.example.com"));
        assert!(secrets::validate_provider(&a).is_ok(), "{a}");
    }
}
