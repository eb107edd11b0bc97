//! A real auth service (`auth-service`, on SQLite in a temp dir) and a
//! gateway in auth mode in front of an echo upstream, all in process on
//! loopback ports.
#![allow(clippy::unwrap_used, dead_code)] // tests: a failed setup step should fail loudly

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::Router;
use gateway::{AppState, AuthConfig, Config};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The stack token the gateway presents upstream; callers never see it.
pub const STACK_TOKEN: &str = "0123456789abcdef0123456789abcdef-issue-18";
pub const PASSWORD: &str = "correct horse battery staple";

pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(sidecar_http::serve_listener(listener, router, std::future::pending()));
    addr
}

/// An upstream that answers with the method and `Authorization` it received.
pub async fn echo() -> SocketAddr {
    async fn reflect(request: axum::extract::Request) -> axum::Json<Value> {
        let authorization = request.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
        axum::Json(json!({ "method": request.method().as_str(), "authorization": authorization }))
    }
    serve(Router::new().fallback(reflect)).await
}

/// The auth service with an admin, and a clock the test moves.
pub struct AuthServer {
    pub base: String,
    pub now: Arc<AtomicI64>,
    admin_password: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl AuthServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = auth_service::Database::open(&dir.path().join("auth.db").display().to_string()).await.unwrap();
        let now = Arc::new(AtomicI64::new(jiff::Timestamp::now().as_second()));
        let clock_now = now.clone();
        let config = auth_service::Config {
            clock: auth_service::Clock::from_fn(move || clock_now.load(Ordering::SeqCst)),
            ..auth_service::Config::default()
        };
        let admin = auth_service::bootstrap_admin(&db, "root", now.load(Ordering::SeqCst)).await.unwrap();
        let state = auth_service::AppState::new(db, config).unwrap();
        let addr = serve(auth_service::app(state)).await;
        AuthServer {
            base: format!("http://{addr}"),
            now,
            admin_password: admin.password.to_string(),
            http: client(),
            _dir: dir,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        test_support::call_json(&self.http, method, &format!("{}{path}", self.base), token, body).await
    }

    pub async fn login(&self, name: &str, password: &str) -> String {
        let (status, body) =
            self.call(Method::POST, "/api/v1/login", None, Some(json!({ "name": name, "password": password }))).await;
        assert_eq!(status, StatusCode::OK, "login of {name}: {body}");
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn admin_session(&self) -> String {
        self.login("root", &self.admin_password.clone()).await
    }

    /// Creates `name` with `role` and answers its session token (all the role's scopes).
    pub async fn user_session(&self, admin: &str, name: &str, role: &str) -> String {
        let user = json!({ "name": name, "role": role, "password": PASSWORD });
        let (status, body) = self.call(Method::POST, "/api/v1/users", Some(admin), Some(user)).await;
        assert_eq!(status, StatusCode::CREATED, "creating {name}: {body}");
        self.login(name, PASSWORD).await
    }

    /// An API token of the caller's with `scopes`: (token, id).
    pub async fn api_token(&self, session: &str, scopes: &[&str], expires_in_secs: u64) -> (String, String) {
        let request = json!({ "scopes": scopes, "expires_in_secs": expires_in_secs });
        let (status, body) = self.call(Method::POST, "/api/v1/tokens", Some(session), Some(request)).await;
        assert_eq!(status, StatusCode::CREATED, "creating a token: {body}");
        (body["token"].as_str().unwrap().to_owned(), body["id"].as_str().unwrap().to_owned())
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A gateway config routing `echo` to an echo upstream, in auth mode against
/// `auth_url` with the given cache time.
pub async fn auth_config(auth_url: &str, cache_ttl: Duration) -> Config {
    let upstreams = format!("echo=http://{}", echo().await).parse().unwrap();
    let token = sidecar_http::AccessToken::new(STACK_TOKEN).unwrap();
    Config {
        access: sidecar_http::Access::new(Some(token), std::iter::empty::<String>()),
        auth: Some(AuthConfig { cache_ttl, ..AuthConfig::new(auth_url.parse().unwrap()) }),
        ..Config::new(upstreams)
    }
}

/// Starts a gateway with `config`; answers its base URL.
pub async fn gateway(config: Config) -> String {
    format!("http://{}", serve(gateway::app(AppState::new(config).unwrap())).await)
}

/// `method /api/echo/thing` through the gateway with `token`: status and JSON body.
pub async fn through(base: &str, method: Method, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = client().request(method, format!("{base}/api/echo/thing"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}
