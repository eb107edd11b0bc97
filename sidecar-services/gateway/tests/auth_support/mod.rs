//! A real auth service (`auth_service::fixture`, on SQLite in a temp dir)
//! and a gateway in auth mode in front of an echo upstream, all in process
//! on loopback ports.
#![allow(clippy::unwrap_used, dead_code)] // tests: a failed setup step should fail loudly

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use gateway::{AppState, AuthConfig, Config};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub use auth_service::fixture::AuthServer;

/// The stack token the gateway presents upstream; callers never see it.
pub const STACK_TOKEN: &str = "0123456789abcdef0123456789abcdef-issue-18";

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
