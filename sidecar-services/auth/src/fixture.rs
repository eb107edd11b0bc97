//! Test fixture (cargo feature `fixture`, for tests and examples only): the
//! service in process on a loopback port over a fresh database — a SQLite
//! file in a temp dir, or a database of its own on the PostgreSQL server
//! `cargo xtask test` starts (`AUGMENT_TEST_POSTGRES_URL`) — with a
//! bootstrapped admin, a clock the test moves, and calls to make users,
//! sessions and API tokens. The auth service's own tests, the gateway's and
//! the registry server's use it, and the benchmarks.
#![allow(clippy::unwrap_used)] // a fixture: a failed setup step should fail loudly, in the test

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use rand::RngCore as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{AppState, Clock, Config, Database, LoginResponse};

pub const POSTGRES_URL_ENV: &str = "AUGMENT_TEST_POSTGRES_URL";
/// Set to 1 to skip the PostgreSQL runs deliberately (the stack suite's variable).
pub const SKIP_ENV: &str = "AUGMENT_SKIP_ENGINE_TESTS";
/// The bootstrapped admin's name.
pub const ADMIN: &str = "root-admin";
/// The password [`AuthServer::user_session`] gives the users it creates.
pub const PASSWORD: &str = "correct horse battery staple";

/// Where a test's database lives.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The server's URL; each test makes a database of its own there.
    Postgres(String),
}

impl Backend {
    /// The PostgreSQL server of this run, or `None` (said loudly) when
    /// skipping was asked for. Panics otherwise, naming what starts one.
    pub fn postgres() -> Option<Backend> {
        if let Some(url) = std::env::var(POSTGRES_URL_ENV).ok().filter(|v| !v.is_empty()) {
            return Some(Backend::Postgres(url));
        }
        let message = format!(
            "{POSTGRES_URL_ENV} is not set: `cargo xtask test` starts a PostgreSQL server and sets it \
             (xtask/src/postgres.rs); or point it at a server you run"
        );
        if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
            eprintln!("\n!!!!! SKIPPED: {message}; {SKIP_ENV}=1 is set !!!!!\n");
            None
        } else {
            panic!("{message}; set {SKIP_ENV}=1 to skip these tests deliberately");
        }
    }

    /// A fresh, empty store location for one test.
    pub async fn fresh_location(&self, dir: &std::path::Path) -> String {
        match self {
            Backend::Sqlite => dir.join("auth.db").display().to_string(),
            Backend::Postgres(url) => {
                let mut bytes = [0u8; 8];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                let name = format!("auth_test_{}", hex::encode(bytes));
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
                let connection = tokio::spawn(connection);
                client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
                drop(client);
                let _ = connection.await;
                let mut fresh = url::Url::parse(url).unwrap();
                fresh.set_path(&name);
                fresh.to_string()
            }
        }
    }
}

/// A running service and the first admin's password; stops when dropped.
#[derive(Debug)]
pub struct AuthServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub http: reqwest::Client,
    pub db: Database,
    pub admin_password: String,
    /// What the service's clock says, in unix seconds; tests move it.
    pub now: Arc<AtomicI64>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for AuthServer {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
    }
}

impl AuthServer {
    /// On SQLite with the default config.
    pub async fn start() -> Self {
        Self::start_on(&Backend::Sqlite, |_| {}).await
    }

    /// On `backend` with `tweak` applied to the default config, after
    /// bootstrapping the admin [`ADMIN`].
    pub async fn start_on(backend: &Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let location = backend.fresh_location(dir.path()).await;
        let db = Database::open(&location).await.unwrap();
        let now = Arc::new(AtomicI64::new(jiff::Timestamp::now().as_second()));
        let clock_now = now.clone();
        let mut config =
            Config { clock: Clock::from_fn(move || clock_now.load(Ordering::SeqCst)), ..Config::default() };
        tweak(&mut config);
        let admin = crate::bootstrap_admin(&db, ADMIN, now.load(Ordering::SeqCst)).await.unwrap();
        let state = AppState::new(db.clone(), config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(sidecar_http::serve_listener(listener, crate::app(state), async move {
            let _ = stopped.await;
        }));
        AuthServer {
            base,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            db,
            admin_password: admin.password.to_string(),
            now,
            shutdown: Some(stop),
            _dir: dir,
        }
    }

    /// Sends `method path` with an optional bearer token and JSON body;
    /// answers the status and the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        test_support::call_json(&self.http, method, &format!("{}{path}", self.base), token, body).await
    }

    /// Logs in; panics unless it works.
    pub async fn login(&self, name: &str, password: &str) -> LoginResponse {
        let (status, body) =
            self.call(Method::POST, "/api/v1/login", None, Some(json!({ "name": name, "password": password }))).await;
        assert_eq!(status, StatusCode::OK, "login of {name}: {body}");
        serde_json::from_value(body).unwrap()
    }

    /// A session token of the admin.
    pub async fn admin_session(&self) -> String {
        self.login(ADMIN, &self.admin_password).await.token
    }

    /// Creates a user through the API as `admin_token`.
    pub async fn create_user(&self, admin_token: &str, name: &str, role: &str, password: &str) {
        let user = json!({ "name": name, "role": role, "password": password });
        let (status, body) = self.call(Method::POST, "/api/v1/users", Some(admin_token), Some(user)).await;
        assert_eq!(status, StatusCode::CREATED, "creating {name}: {body}");
    }

    /// Creates `name` with `role` and answers its session token (all the role's scopes).
    pub async fn user_session(&self, admin_token: &str, name: &str, role: &str) -> String {
        self.create_user(admin_token, name, role, PASSWORD).await;
        self.login(name, PASSWORD).await.token
    }

    /// An API token of the session's user with `scopes`: (token, id).
    pub async fn api_token(&self, session: &str, scopes: &[&str], expires_in_secs: u64) -> (String, String) {
        let request = json!({ "scopes": scopes, "expires_in_secs": expires_in_secs });
        let (status, body) = self.call(Method::POST, "/api/v1/tokens", Some(session), Some(request)).await;
        assert_eq!(status, StatusCode::CREATED, "creating a token: {body}");
        (body["token"].as_str().unwrap().to_owned(), body["id"].as_str().unwrap().to_owned())
    }

    /// Revokes the token `id` as `session`; panics unless it works.
    pub async fn revoke(&self, session: &str, id: &str) {
        let (status, body) = self.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(session), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "revoking {id}: {body}");
    }

    /// `POST /api/v1/verify` of `token`.
    pub async fn verify(&self, token: &str) -> (StatusCode, Value) {
        self.call(Method::POST, "/api/v1/verify", None, Some(json!({ "token": token }))).await
    }

    /// How many verifications the service answered (`auth_verifications_total`,
    /// every outcome), read from its `/metrics`.
    pub async fn verifications(&self) -> u64 {
        let text = self.http.get(format!("{}/metrics", self.base)).send().await.unwrap().text().await.unwrap();
        text.lines()
            .filter(|line| line.starts_with("auth_verifications_total{"))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// Moves the service's clock forward.
    pub fn advance_clock(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }
}
