//! The parsers service through its router, without a socket: each format,
//! malformed input, limits, and the operational endpoints.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use parsers_service::{AppState, Config};
use serde_json::{Value, json};
use tower::ServiceExt;

fn state_with(max_body_bytes: usize) -> AppState {
    AppState::new(Config { max_body_bytes, ..Config::default() }).expect("parsers state")
}

fn service() -> Router {
    parsers_service::app(state_with(1024 * 1024))
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
    text: String,
}

async fn send(app: Router, request: Request<Body>) -> Answer {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("response body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer { status, headers, json, text }
}

async fn post(app: Router, path: &str, body: impl Into<Body>) -> Answer {
    send(app, Request::post(path).body(body.into()).expect("request")).await
}

async fn get(app: Router, path: &str) -> Answer {
    send(app, Request::get(path).body(Body::empty()).expect("request")).await
}

mod formats {
    use super::*;

    /// `(path, document, expected table)`: every format answers the same shape.
    fn cases() -> Vec<(&'static str, &'static str, Value)> {
        let people = json!({
            "columns": ["name", "age"],
            "types": ["string", "integer"],
            "rows": [["Ada", 36], ["Alan", 41]],
        });
        vec![
            ("/csv", "name,age\nAda,36\nAlan,41\n", people.clone()),
            ("/json", r#"[{"name": "Ada", "age": 36}, {"name": "Alan", "age": 41}]"#, people.clone()),
            ("/jsonl", "{\"name\": \"Ada\", \"age\": 36}\n{\"name\": \"Alan\", \"age\": 41}\n", people.clone()),
            ("/yaml", "- name: Ada\n  age: 36\n- name: Alan\n  age: 41\n", people.clone()),
            ("/markdown", "| name | age |\n|---|---|\n| Ada | 36 |\n| Alan | 41 |\n", people),
        ]
    }

    #[tokio::test]
    async fn every_format_answers_columns_types_and_rows() {
        for (path, document, expected) in cases() {
            let answer = post(service(), path, document).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
            assert_eq!(answer.json, expected, "{path}");
            assert_eq!(answer.headers["content-type"], "application/json");
        }
    }

    #[tokio::test]
    async fn markdown_front_matter_is_returned() {
        let answer = post(service(), "/markdown", "---\ntitle: Survey\n---\n| a |\n|---|\n| 1 |\n").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(answer.json["front_matter"], json!({ "title": "Survey" }));
        assert_eq!(answer.json["rows"], json!([[1]]));
    }
}

mod malformed {
    use super::*;

    #[tokio::test]
    async fn each_format_says_where() {
        for (path, document, line, column, needle) in [
            ("/csv", "a,b\n1,2\n3,\"open\n", 3, 3, "unterminated quoted field"),
            ("/json", "[{\"a\": 1},\n {\"a\": }]", 2, 8, "expected value"),
            ("/jsonl", "{\"a\": 1}\nnot json\n", 2, 2, "expected ident"),
            ("/yaml", "- a: 1\n  b: 2\n - c: 3\n", 3, 2, "did not find expected"),
            ("/markdown", "---\nkey: [1\n---\n| a |\n|---|\n", 3, 1, "flow sequence (line 2, column 6)"),
        ] {
            let answer = post(service(), path, document).await;
            assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {}", answer.text);
            assert_eq!(answer.json["code"], "parse_error", "{path}");
            assert_eq!(answer.json["line"], line, "{path}: {}", answer.text);
            assert_eq!(answer.json["column"], column, "{path}: {}", answer.text);
            let message = answer.json["message"].as_str().unwrap();
            assert!(message.starts_with(&format!("line {line}, column {column}: ")), "{message}");
            assert!(message.contains(needle), "{path}: {message:?} should mention {needle:?}");
        }
    }

    #[tokio::test]
    async fn invalid_utf8_is_a_parse_error_not_a_crash() {
        let answer = post(service(), "/yaml", &b"- a: \xff\n"[..]).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!((answer.json["line"].clone(), answer.json["column"].clone()), (json!(1), json!(6)));
    }
}

mod limits {
    use super::*;

    #[tokio::test]
    async fn oversized_body_is_413_with_a_json_reason() {
        let app = parsers_service::app(state_with(1024));
        let answer = post(app, "/csv", "a\n".repeat(1024)).await;
        assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", answer.text);
        assert_eq!(answer.json["code"], "body_too_large");
        assert_eq!(answer.json["limit_bytes"], 1024);
        assert!(answer.json["message"].as_str().unwrap().contains("PARSERS_MAX_BODY_BYTES"));
    }

    #[tokio::test]
    async fn a_body_just_under_the_limit_is_parsed() {
        let app = parsers_service::app(state_with(1024));
        let document = format!("a\n{}", "1\n".repeat(500));
        let answer = post(app, "/csv", document).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(answer.json["rows"].as_array().unwrap().len(), 500);
    }
}

mod operations {
    use super::*;

    #[tokio::test]
    async fn health_and_ready() {
        let state = state_with(1024);
        let health = get(parsers_service::app(state.clone()), "/health").await;
        assert_eq!(health.status, StatusCode::OK);
        assert_eq!(health.json["status"], "ok");

        let ready = get(parsers_service::app(state.clone()), "/ready").await;
        assert_eq!(ready.status, StatusCode::OK);
        assert_eq!(ready.json["ready"], true);

        // What shutdown does first: stop taking traffic, keep answering health.
        state.readiness().set_ready(false);
        let draining = get(parsers_service::app(state.clone()), "/ready").await;
        assert_eq!(draining.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(draining.json["code"], "not_ready");
        assert_eq!(get(parsers_service::app(state), "/health").await.status, StatusCode::OK);
    }

    #[tokio::test]
    async fn metrics_count_requests_and_rows() {
        let state = state_with(1024);
        post(parsers_service::app(state.clone()), "/csv", "a\n1\n2\n").await;
        post(parsers_service::app(state.clone()), "/csv", "a\n\"open\n").await;
        let metrics = get(parsers_service::app(state), "/metrics").await;
        assert_eq!(metrics.status, StatusCode::OK);
        assert!(metrics.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
        for line in [
            "parsers_rows_total{format=\"csv\"} 2",
            "parsers_failures_total{format=\"csv\",reason=\"malformed\"} 1",
            "parsers_http_requests_total{method=\"POST\",route=\"/csv\",status=\"200\"} 1",
            "parsers_http_requests_total{method=\"POST\",route=\"/csv\",status=\"422\"} 1",
        ] {
            assert!(metrics.text.contains(line), "missing {line:?} in\n{}", metrics.text);
        }
    }

    #[tokio::test]
    async fn request_id_is_generated_or_echoed() {
        let generated = get(service(), "/health").await;
        let id = generated.headers["x-request-id"].to_str().unwrap();
        assert_eq!(id.len(), 36, "a UUID is generated when the caller sends none: {id}");

        let request = Request::post("/csv").header("x-request-id", "trace-me-42").body(Body::from("a\n1\n")).unwrap();
        let echoed = send(service(), request).await;
        assert_eq!(echoed.headers["x-request-id"], "trace-me-42");
    }

    #[tokio::test]
    async fn unknown_routes_and_methods_answer_json() {
        let missing = post(service(), "/xlsx", "x").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(missing.json["code"], "not_found");
        assert!(missing.json["message"].as_str().unwrap().contains("/csv, /json, /jsonl, /yaml or /markdown"));

        let wrong_method = get(service(), "/csv").await;
        assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(wrong_method.json["code"], "method_not_allowed");
    }
}
