//! The gateway on a real socket in front of a real parsers service (and,
//! where the test needs to see what arrived upstream, a small echo service),
//! all on 127.0.0.1 with ports chosen by the OS.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use gateway::{AppState, Config, RateLimit, Upstreams};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Serves `router` on a fresh loopback port until the test process ends.
/// The listener is bound before this returns, so requests can follow at once.
async fn spawn(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(sidecar_http::serve_listener(listener, router, std::future::pending()));
    addr
}

async fn parsers() -> SocketAddr {
    let state = parsers_service::AppState::new(parsers_service::Config::default()).expect("parsers state");
    spawn(parsers_service::app(state)).await
}

/// Answers every request with what it received: method, path and query, and
/// the headers the gateway is responsible for.
async fn echo() -> SocketAddr {
    async fn reflect(request: axum::extract::Request) -> axum::Json<Value> {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        axum::Json(json!({
            "method": request.method().as_str(),
            "uri": request.uri().to_string(),
            "x-request-id": header("x-request-id"),
            "x-forwarded-for": header("x-forwarded-for"),
            "host": header("host"),
            "connection": header("connection"),
        }))
    }
    spawn(Router::new().fallback(reflect)).await
}

/// A port where nothing listens: bound, then released.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    listener.local_addr().expect("bound address")
}

/// Accepts connections and never answers.
async fn silent() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

fn config(upstreams: &[(&str, SocketAddr)]) -> Config {
    let spec: Vec<String> = upstreams.iter().map(|(name, addr)| format!("{name}=http://{addr}")).collect();
    Config::new(spec.join(",").parse().expect("valid upstream list"))
}

async fn gateway(config: Config) -> String {
    let addr = spawn(gateway::app(AppState::new(config).expect("gateway state"))).await;
    format!("http://{addr}")
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("response body");
    let json = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "not_json": text }));
    Answer { status, headers, json }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("HTTP client")
}

mod routing {
    use super::*;

    #[tokio::test]
    async fn a_document_is_parsed_through_the_gateway() {
        let base = gateway(config(&[("parsers", parsers().await)])).await;
        let response =
            client().post(format!("{base}/api/parsers/csv")).body("name,age\nAda,36\n").send().await.unwrap();
        let answer = answer(response).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
        assert_eq!(
            answer.json,
            json!({ "columns": ["name", "age"], "types": ["string", "integer"], "rows": [["Ada", 36]] })
        );
    }

    #[tokio::test]
    async fn upstream_errors_pass_through_unchanged() {
        let base = gateway(config(&[("parsers", parsers().await)])).await;
        let response =
            client().post(format!("{base}/api/parsers/json")).body("[{\"a\": 1},\n {\"a\": }]").send().await.unwrap();
        let answer = answer(response).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!((answer.json["code"].clone(), answer.json["line"].clone()), (json!("parse_error"), json!(2)));
    }

    #[tokio::test]
    async fn path_and_query_are_rewritten_for_the_upstream() {
        let base = gateway(config(&[("echo", echo().await)])).await;
        let response = client().delete(format!("{base}/api/echo/a/b%2Fc?x=1&y=two")).send().await.unwrap();
        let answer = answer(response).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.json["method"], "DELETE");
        assert_eq!(answer.json["uri"], "/a/b%2Fc?x=1&y=two", "prefix stripped, encoding kept");
        assert_eq!(answer.json["x-forwarded-for"], "127.0.0.1");
        assert_ne!(answer.json["host"], json!(base.trim_start_matches("http://")), "host is the upstream's");
    }

    #[tokio::test]
    async fn unknown_service_is_404_naming_the_known_ones() {
        let base = gateway(config(&[("parsers", closed_port().await), ("connector", closed_port().await)])).await;
        let answer = answer(client().get(format!("{base}/api/reports/x")).send().await.unwrap()).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert_eq!(answer.json["code"], "unknown_service");
        assert_eq!(answer.json["services"], json!(["connector", "parsers"]));
        assert_eq!(answer.json["message"], "no service named `reports`; known services: connector, parsers");
    }

    #[tokio::test]
    async fn other_paths_are_404_json() {
        let base = gateway(config(&[("parsers", closed_port().await)])).await;
        for path in ["/", "/api", "/admin"] {
            let answer = answer(client().get(format!("{base}{path}")).send().await.unwrap()).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(answer.json["code"], "not_found", "{path}");
        }
    }

    #[tokio::test]
    async fn dot_segments_are_refused() {
        let base = gateway(config(&[("echo", echo().await)])).await;
        // Sent raw: a URL parser on this side would resolve the dots itself.
        let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://")).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream
            .write_all(b"GET /api/echo/x/%2e%2e/secret HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        assert!(raw.starts_with("HTTP/1.1 400"), "{raw}");
        assert!(raw.contains("\"code\":\"invalid_path\""), "{raw}");
    }

    #[test]
    fn upstream_lists_are_validated() {
        for (spec, reason) in [
            ("", "names no service"),
            ("parsers", "no `=`"),
            ("Parsers=http://127.0.0.1:1", "lowercase"),
            ("parsers=ftp://127.0.0.1:1", "http:// or https://"),
            ("parsers=http://a:1,parsers=http://b:1", "appears twice"),
        ] {
            let err = spec.parse::<Upstreams>().unwrap_err().to_string();
            assert!(err.contains(reason), "{spec:?}: {err}");
            assert!(err.contains("name=http://host:port"), "{err}");
        }
        let upstreams: Upstreams =
            " parsers=http://127.0.0.1:8081 , connector=https://c.internal/base ".parse().unwrap();
        assert_eq!(upstreams.names(), ["connector", "parsers"]);
    }
}

mod limits {
    use super::*;

    #[tokio::test]
    async fn declared_oversized_body_is_413_before_the_upstream() {
        let mut config = config(&[("parsers", parsers().await)]);
        config.max_body_bytes = 1000;
        let base = gateway(config).await;
        let answer =
            answer(client().post(format!("{base}/api/parsers/csv")).body("a\n".repeat(1000)).send().await.unwrap())
                .await;
        assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(answer.json["code"], "body_too_large");
        assert_eq!(answer.json["limit_bytes"], 1000);

        let metrics = client().get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(
            metrics.contains("gateway_upstream_requests_total{outcome=\"body_too_large\",service=\"parsers\"} 1"),
            "{metrics}"
        );
    }

    #[tokio::test]
    async fn streamed_oversized_body_is_413_too() {
        let mut config = config(&[("parsers", parsers().await)]);
        config.max_body_bytes = 1000;
        let base = gateway(config).await;
        // No Content-Length: the gateway has to count while streaming.
        let chunks = futures_util::stream::iter((0..20).map(|_| Ok::<_, std::io::Error>("a\n".repeat(100))));
        let answer = answer(
            client()
                .post(format!("{base}/api/parsers/csv"))
                .body(reqwest::Body::wrap_stream(chunks))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", answer.json);
        assert_eq!(answer.json["code"], "body_too_large");
    }

    #[tokio::test]
    async fn a_body_within_the_limit_streams_through() {
        let mut config = config(&[("parsers", parsers().await)]);
        config.max_body_bytes = 1000;
        let base = gateway(config).await;
        let chunks = futures_util::stream::iter(
            (0..4).map(|i| Ok::<_, std::io::Error>(if i == 0 { "n\n".to_owned() } else { format!("{i}\n") })),
        );
        let answer = answer(
            client()
                .post(format!("{base}/api/parsers/csv"))
                .body(reqwest::Body::wrap_stream(chunks))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
        assert_eq!(answer.json["rows"], json!([[1], [2], [3]]));
    }

    #[tokio::test]
    async fn rate_limit_answers_429_with_retry_after() {
        let mut config = config(&[("parsers", parsers().await)]);
        config.rate_limit = RateLimit { per_second: NonZeroU32::new(1).unwrap(), burst: NonZeroU32::new(2).unwrap() };
        let base = gateway(config).await;
        let client = client();
        let first = client.get(format!("{base}/api/parsers/health")).send().await.unwrap();
        assert_eq!(first.status(), StatusCode::OK);
        // Refilling one request a second, ten quick requests must run out.
        let mut limited = None;
        for _ in 0..10 {
            let response = client.get(format!("{base}/api/parsers/health")).send().await.unwrap();
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                limited = Some(answer(response).await);
                break;
            }
        }
        let limited = limited.expect("the limit was never reached");
        assert_eq!(limited.json["code"], "rate_limited");
        let retry_after: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
        assert_eq!(limited.json["retry_after_secs"], retry_after);
        // The gateway's own probes are not rate limited.
        assert_eq!(client.get(format!("{base}/health")).send().await.unwrap().status(), StatusCode::OK);
    }
}

mod upstream_failures {
    use super::*;

    #[tokio::test]
    async fn upstream_down_is_503_with_the_reason() {
        let down = closed_port().await;
        let base = gateway(config(&[("parsers", down)])).await;
        let answer =
            answer(client().post(format!("{base}/api/parsers/csv")).body("a\n1\n").send().await.unwrap()).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.json["code"], "upstream_unavailable");
        assert_eq!(answer.json["service"], "parsers");
        let message = answer.json["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("parsers is not reachable at http://{down}/: ")), "{message}");
        assert!(message.to_lowercase().contains("refused"), "the cause is named: {message}");
    }

    #[tokio::test]
    async fn upstream_that_never_answers_is_504() {
        let mut config = config(&[("parsers", silent().await)]);
        config.upstream_timeout = Duration::from_millis(300);
        let base = gateway(config).await;
        let answer = answer(client().get(format!("{base}/api/parsers/health")).send().await.unwrap()).await;
        assert_eq!(answer.status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(answer.json["code"], "upstream_timeout");
        assert_eq!(answer.json["service"], "parsers");
    }
}

mod request_ids {
    use super::*;

    #[tokio::test]
    async fn a_given_id_reaches_the_upstream_and_comes_back() {
        let base = gateway(config(&[("echo", echo().await)])).await;
        let response =
            client().get(format!("{base}/api/echo/x")).header("x-request-id", "analyst-import-7").send().await.unwrap();
        let answer = answer(response).await;
        assert_eq!(answer.json["x-request-id"], "analyst-import-7", "the upstream received it");
        assert_eq!(answer.headers["x-request-id"], "analyst-import-7", "the caller got it back");
    }

    #[tokio::test]
    async fn a_missing_id_is_generated_and_shared_with_the_upstream() {
        let base = gateway(config(&[("echo", echo().await)])).await;
        let answer = answer(client().get(format!("{base}/api/echo/x")).send().await.unwrap()).await;
        let generated = answer.headers["x-request-id"].to_str().unwrap();
        assert_eq!(generated.len(), 36, "a UUID: {generated}");
        assert_eq!(answer.json["x-request-id"], generated);
    }

    #[tokio::test]
    async fn errors_made_by_the_gateway_carry_the_id_too() {
        let base = gateway(config(&[("parsers", closed_port().await)])).await;
        let response =
            client().get(format!("{base}/api/nope/x")).header("x-request-id", "lost-request").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()["x-request-id"], "lost-request");
    }
}

mod health {
    use super::*;

    #[tokio::test]
    async fn ready_when_every_upstream_is_healthy() {
        let base = gateway(config(&[("parsers", parsers().await)])).await;
        let answer = answer(client().get(format!("{base}/ready")).send().await.unwrap()).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
        assert_eq!(answer.json["ready"], true);
        assert_eq!(answer.json["upstreams"]["parsers"]["status"], "up");
    }

    #[tokio::test]
    async fn not_ready_names_the_upstream_that_is_down() {
        let down = closed_port().await;
        let base = gateway(config(&[("parsers", parsers().await), ("connector", down)])).await;
        let answer = answer(client().get(format!("{base}/ready")).send().await.unwrap()).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.json["ready"], false);
        assert_eq!(answer.json["upstreams"]["parsers"]["status"], "up");
        let connector = &answer.json["upstreams"]["connector"];
        assert_eq!(connector["status"], "down");
        assert_eq!(connector["url"], format!("http://{down}/"));
        assert!(connector["reason"].as_str().unwrap().to_lowercase().contains("refused"), "{connector}");

        // Liveness does not depend on upstreams.
        assert_eq!(client().get(format!("{base}/health")).send().await.unwrap().status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn metrics_count_forwarded_requests() {
        let base = gateway(config(&[("parsers", parsers().await)])).await;
        client().post(format!("{base}/api/parsers/csv")).body("a\n1\n").send().await.unwrap();
        let metrics = client().get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
        for line in [
            "gateway_upstream_requests_total{outcome=\"200\",service=\"parsers\"} 1",
            "gateway_http_requests_total{method=\"POST\",route=\"/api/{*path}\",status=\"200\"} 1",
        ] {
            assert!(metrics.contains(line), "missing {line:?} in\n{metrics}");
        }
    }
}
