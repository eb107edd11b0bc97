//! Issue 20, point 9: the gateway is the stack's front door (127.0.0.1:47800)
//! and reaches the connector, which spends provider keys; so the real binary
//! answers only the stack's token, and only requests addressed to this
//! machine: a web page that rebinds its DNS name to 127.0.0.1 (its `Host`
//! and `Origin` name its own site) and a local program without the token
//! are refused. Upstreams receive the gateway's token. Driven over a raw
//! socket, so the headers are exactly what a browser or an attacker would send.
#![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

use std::process::Command;

use axum::Router;
use serde_json::{Value, json};
use test_support::{ServiceProcess, exit_and_stderr, raw_http_request};

const TOKEN: &str = "0123456789abcdef0123456789abcdef-point-9";

/// The gateway binary on a free loopback port in front of an echo service
/// (which answers with the headers it received).
struct Gateway {
    process: ServiceProcess,
    _echo: tokio::runtime::Runtime,
}

impl std::ops::Deref for Gateway {
    type Target = ServiceProcess;
    fn deref(&self) -> &ServiceProcess {
        &self.process
    }
}

impl Gateway {
    fn start() -> Self {
        Self::start_with(&[])
    }

    fn start_with(extra_env: &[(&str, &str)]) -> Self {
        let echo = tokio::runtime::Runtime::new().unwrap();
        let echo_addr = echo.block_on(async {
            async fn reflect(request: axum::extract::Request) -> axum::Json<Value> {
                let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                axum::Json(json!({ "authorization": header("authorization"), "host": header("host") }))
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(sidecar_http::serve_listener(
                listener,
                Router::new().fallback(reflect),
                std::future::pending(),
            ));
            addr
        });
        let port = test_support::free_loopback_ports(1)[0];
        let mut command = Command::new(env!("CARGO_BIN_EXE_gateway"));
        command
            .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("GATEWAY_UPSTREAMS", format!("echo=http://{echo_addr}"))
            .env("SIDECAR_TOKEN", TOKEN)
            .env_remove("SIDECAR_TOKEN_FILE")
            .env_remove("SIDECAR_ALLOWED_HOSTS")
            .envs(extra_env.iter().copied());
        Gateway { process: ServiceProcess::start(command, port), _echo: echo }
    }
}

const BEARER: &str = "Bearer 0123456789abcdef0123456789abcdef-point-9";

/// Issue 20, point 9: DNS rebinding. The page's own name is in `Host`, even
/// though the connection goes to 127.0.0.1, and even with a valid token the
/// request is refused.
#[test]
fn point_9_host_header_of_another_site_is_refused() {
    let gateway = Gateway::start();
    for host in ["evil.example", "evil.example:47802", "127.0.0.1.evil.example"] {
        let (status, body) =
            gateway.request("GET", "/api/echo/v1/providers", &[("Host", host), ("Authorization", BEARER)]);
        assert_eq!(status, 403, "Host: {host}: {body}");
        assert_eq!(body["code"], "host_not_allowed", "{body}");
    }
    let (status, body) = gateway.request(
        "GET",
        "/api/echo/v1/providers",
        &[("Host", &gateway.host()), ("Origin", "http://evil.example"), ("Authorization", BEARER)],
    );
    assert_eq!((status, body["code"].as_str()), (403, Some("origin_not_allowed")), "{body}");
}

/// Issue 20, point 9: a local program (or a page) without the stack's token
/// reaches no upstream (and so spends no provider key).
#[test]
fn point_9_request_without_the_token_is_refused() {
    let gateway = Gateway::start();
    let host = gateway.host();
    for (headers, what) in [
        (vec![("Host", host.as_str())], "no token"),
        (vec![("Host", host.as_str()), ("Authorization", "Bearer wrong-token-wrong-token-wrong-token")], "wrong"),
        (vec![("Host", host.as_str()), ("Authorization", TOKEN)], "no Bearer scheme"),
    ] {
        for (method, path) in
            [("GET", "/api/echo/v1/providers"), ("POST", "/api/echo/v1/complete"), ("GET", "/metrics")]
        {
            let (status, body) = gateway.request(method, path, &headers);
            assert_eq!(status, 401, "{what}: {method} {path}: {body}");
            assert_eq!(body["code"], "unauthorized", "{body}");
        }
    }
}

/// Issue 20, point 9: the app (token, loopback host, no Origin) is served,
/// and the probes stay open to the stack's health checks and kubelets.
#[test]
fn point_9_token_and_loopback_host_are_served() {
    let gateway = Gateway::start();
    for host in [gateway.host(), format!("localhost:{}", gateway.port), "[::1]".to_owned()] {
        let (status, body) =
            gateway.request("GET", "/api/echo/v1/providers", &[("Host", &host), ("Authorization", BEARER)]);
        assert_eq!(status, 200, "Host: {host}: {body}");
        assert_eq!(body["authorization"], BEARER, "the upstream gets the gateway's token: {body}");
    }
    let (status, _) = gateway.request(
        "GET",
        "/api/echo/v1/providers",
        &[("Host", &gateway.host()), ("Origin", "http://localhost:47800"), ("Authorization", BEARER)],
    );
    assert_eq!(status, 200, "an Origin on this machine is fine");
    for probe in ["/health", "/ready"] {
        let (status, body) = gateway.request("GET", probe, &[("Host", "10.1.2.3:8080")]);
        assert_eq!(status, 200, "{probe} needs no token and no host: {body}");
    }
}

/// Issue 20, point 9: a gateway without a token does not start.
#[test]
fn point_9_the_binary_refuses_to_start_without_a_token() {
    let port = test_support::free_loopback_ports(1)[0];
    let mut command = Command::new(env!("CARGO_BIN_EXE_gateway"));
    command
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("SIDECAR_TOKEN")
        .env_remove("SIDECAR_TOKEN_FILE");
    let (status, stderr) = exit_and_stderr(command);
    assert!(!status.success(), "started without a token");
    assert!(stderr.contains("SIDECAR_TOKEN"), "says what to set: {stderr}");
}

/// Issue 20, point 13: with `SIDECAR_ADMIN_LISTEN`, `/metrics` and `/ready`
/// answer on the admin port (no token: Prometheus and kubelets scrape by pod
/// address, and only they are let through to it), and `/metrics` leaves the
/// API port.
#[test]
fn point_13_metrics_and_ready_on_a_separate_admin_port() {
    let admin_port = test_support::free_loopback_ports(1)[0];
    let admin = format!("127.0.0.1:{admin_port}");
    let gateway = Gateway::start_with(&[("SIDECAR_ADMIN_LISTEN", admin.as_str())]);
    let (status, _) = gateway.request("GET", "/health", &[("Host", &gateway.host())]);
    assert_eq!(status, 200, "a request to count");
    let (status, text) = raw_http_request(admin_port, "GET", "/metrics", &[("Host", &admin)]);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("gateway_http_requests_total"), "{text}");
    for probe in ["/ready", "/health"] {
        let (status, text) = raw_http_request(admin_port, "GET", probe, &[("Host", "10.1.2.3:9000")]);
        assert_eq!(status, 200, "{probe}: {text}");
    }
    let (status, _) = raw_http_request(admin_port, "GET", "/api/anything", &[("Host", &admin)]);
    assert_eq!(status, 404, "the admin port serves nothing else");
    let (status, body) = gateway.request("GET", "/metrics", &[("Host", &gateway.host()), ("Authorization", BEARER)]);
    assert_eq!(status, 404, "/metrics moved to the admin port: {body}");
    let (status, _) = gateway.request("GET", "/ready", &[("Host", &gateway.host())]);
    assert_eq!(status, 200, "/ready stays on the API port too");
}
