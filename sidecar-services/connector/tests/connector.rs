//! The connector through its router, against the fake provider on loopback:
//! both wire formats, keys from the environment and from a mounted file,
//! the errors a caller can act on, and that no key reaches a response.
//! (The logs are checked in `logs.rs`, a binary of its own.)
#![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

mod common;

use std::collections::HashMap;
use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use connector::{AppState, Config, ServerKeys};
use serde_json::json;

use common::{ANTHROPIC_KEY, OPENAI_KEY, complete, env, fake, preset, send, service};

#[tokio::test]
async fn openai_completion_with_the_key_from_the_environment() {
    let openai = fake(OPENAI_KEY).await;
    let keys = ServerKeys::with_lookup(None, env(&[("AUGMENT_OPENAI_API_KEY", OPENAI_KEY)]));
    let app = service(vec![preset("openai", &openai)], keys);

    let (status, body, _) =
        complete(&app, json!({ "provider": "openai", "model": "gpt-4o-mini", "prompt": "Capital of France?" })).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["text"], "Paris.");
    assert_eq!(body["provider"], "openai");
    let recorded = openai.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].bearer_token(), Some(OPENAI_KEY), "the key travels in the header");
    assert_eq!(recorded[0].json().unwrap()["messages"][0]["content"], "Capital of France?");
}

#[tokio::test]
async fn anthropic_completion_with_the_key_from_a_mounted_file() {
    let anthropic = fake(ANTHROPIC_KEY).await;
    let dir = tempfile::tempdir().unwrap();
    // A mounted secret usually ends with a newline; it must not reach the header.
    let mut file = std::fs::File::create(dir.path().join("anthropic")).unwrap();
    writeln!(file, "{ANTHROPIC_KEY}").unwrap();
    let keys = ServerKeys::with_lookup(Some(dir.path().to_owned()), env(&[]));
    let app = service(vec![preset("anthropic", &anthropic)], keys);

    let (status, body, _) = complete(
        &app,
        json!({ "provider": "anthropic", "model": "claude-3-5-haiku-latest", "prompt": "Capital?", "system": "Be brief.", "max_tokens": 20 }),
    )
    .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["text"], "Paris.");
    let recorded = anthropic.requests();
    assert_eq!(recorded[0].api_key(), Some(ANTHROPIC_KEY));
    let sent = recorded[0].json().unwrap();
    assert_eq!(sent["system"], "Be brief.");
    assert_eq!(sent["max_tokens"], 20);
}

#[tokio::test]
async fn a_rotated_key_file_is_used_without_a_restart() {
    let openai = fake("sk-second-key-000000000000").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("openai"), "sk-first-key-0000000000000").unwrap();
    let app = service(vec![preset("openai", &openai)], ServerKeys::with_lookup(Some(dir.path().to_owned()), env(&[])));
    let request = json!({ "provider": "openai", "model": "gpt-4o-mini", "prompt": "hi" });

    let (first, body, _) = complete(&app, request.clone()).await;
    assert_eq!(first, StatusCode::BAD_GATEWAY, "the fake accepts only the second key: {body}");
    assert_eq!(body["code"], "invalid_key");

    std::fs::write(dir.path().join("openai"), "sk-second-key-000000000000").unwrap();
    let (second, body, _) = complete(&app, request).await;
    assert_eq!(second, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_missing_key_says_which_variable_or_file_to_set() {
    let openai = fake(OPENAI_KEY).await;
    let app = service(vec![preset("openai", &openai)], ServerKeys::with_lookup(None, env(&[])));

    let (status, body, _) =
        complete(&app, json!({ "provider": "openai", "model": "gpt-4o-mini", "prompt": "hi" })).await;

    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["code"], "no_key");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("AUGMENT_OPENAI_API_KEY") && message.contains("CONNECTOR_KEYS_DIR"), "{message}");
    assert_eq!(openai.request_count(), 0, "nothing is sent without a key");
}

#[tokio::test]
async fn provider_failures_map_to_statuses_a_caller_can_act_on() {
    let openai = fake(OPENAI_KEY).await;
    let keys = ServerKeys::with_lookup(None, env(&[("AUGMENT_OPENAI_API_KEY", OPENAI_KEY)]));
    let app = service(vec![preset("openai", &openai)], keys);
    for (prompt, model, status, code) in [
        ("hi", "no-such-model", StatusCode::NOT_FOUND, "model_not_found"),
        ("[fake:500]", "gpt-4o-mini", StatusCode::BAD_GATEWAY, "server_error"),
        ("[fake:429:120]", "gpt-4o-mini", StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
    ] {
        let (got, body, _) = complete(&app, json!({ "provider": "openai", "model": model, "prompt": prompt })).await;
        assert_eq!(got, status, "{prompt}: {body}");
        assert_eq!(body["code"], code, "{prompt}: {body}");
    }
}

#[tokio::test]
async fn bad_requests_are_refused_before_any_provider_call() {
    let openai = fake(OPENAI_KEY).await;
    let keys = ServerKeys::with_lookup(None, env(&[("AUGMENT_OPENAI_API_KEY", OPENAI_KEY)]));
    let app = connector::app(
        AppState::new(Config { max_body_bytes: 256, ..Config::new(vec![preset("openai", &openai)]) }, keys).unwrap(),
    );

    let (status, body, _) = complete(&app, json!({ "provider": "mistral", "model": "m", "prompt": "hi" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "unknown_provider");
    assert_eq!(body["providers"], json!(["openai"]));

    let (status, body, _) = complete(&app, json!({ "provider": "openai", "model": "m" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "missing prompt: {body}");
    assert_eq!(body["code"], "bad_request");

    let (status, body, _) =
        complete(&app, json!({ "provider": "openai", "model": "m", "prompt": "x".repeat(1000) })).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "body_too_large");

    // A pasted key in the provider field is not echoed back.
    let (status, _, text) = complete(&app, json!({ "provider": OPENAI_KEY, "model": "m", "prompt": "hi" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!text.contains(OPENAI_KEY), "{text}");

    assert_eq!(openai.request_count(), 0);
}

#[tokio::test]
async fn providers_listing_says_where_keys_come_from_without_showing_them() {
    let openai = fake(OPENAI_KEY).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("anthropic"), ANTHROPIC_KEY).unwrap();
    let keys = ServerKeys::with_lookup(Some(dir.path().to_owned()), env(&[("AUGMENT_OPENAI_API_KEY", OPENAI_KEY)]));
    let app = service(vec![preset("openai", &openai), preset("anthropic", &openai), preset("groq", &openai)], keys);

    let (status, body, text) = send(&app, Request::get("/v1/providers").body(Body::empty()).unwrap()).await;

    assert_eq!(status, StatusCode::OK);
    let origins: HashMap<String, String> = body["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap().to_owned(), p["key"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(origins["openai"], "environment");
    assert_eq!(origins["anthropic"], "file");
    assert_eq!(origins["groq"], "missing");
    assert!(!text.contains(OPENAI_KEY) && !text.contains(ANTHROPIC_KEY), "{text}");
}

#[tokio::test]
async fn operational_endpoints_answer() {
    let openai = fake(OPENAI_KEY).await;
    let app = service(vec![preset("openai", &openai)], ServerKeys::with_lookup(None, env(&[])));
    let (health, body, _) = send(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(health, StatusCode::OK);
    assert_eq!(body["service"], "connector");
    let (ready, _, _) = send(&app, Request::get("/ready").body(Body::empty()).unwrap()).await;
    assert_eq!(ready, StatusCode::OK);
    let _ = complete(&app, json!({ "provider": "openai", "model": "gpt-4o-mini", "prompt": "hi" })).await;
    let (metrics, _, text) = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(metrics, StatusCode::OK);
    assert!(text.contains(r#"connector_provider_calls_total{outcome="no_key",provider="openai"} 1"#), "{text}");
    let (missing, body, _) = send(&app, Request::get("/nope").body(Body::empty()).unwrap()).await;
    assert_eq!(missing, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
}

/// The value of the sample of `name` whose labels include each of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        (metric == name && labels.iter().all(|label| rest.contains(label))).then(|| value.parse().ok())?
    })
}

/// Issue 18, point 5: every answer's usage, in both wire formats, counts as
/// tokens per provider and direction, and as list-price cost when the model
/// has a listed price; an unlisted model adds tokens but no cost.
#[tokio::test]
async fn point_5_usage_counts_tokens_and_list_price_cost_for_both_wire_formats() {
    let openai = fake(OPENAI_KEY).await;
    let anthropic = fake(ANTHROPIC_KEY).await;
    let keys = ServerKeys::with_lookup(
        None,
        env(&[("AUGMENT_OPENAI_API_KEY", OPENAI_KEY), ("AUGMENT_ANTHROPIC_API_KEY", ANTHROPIC_KEY)]),
    );
    let app = service(vec![preset("openai", &openai), preset("anthropic", &anthropic)], keys);
    // The fake counts words: a four-word prompt, the one-word answer "Paris.".
    let prompt = "what is the capital";
    for (provider, model) in
        [("openai", "gpt-4o-mini"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-3-5-haiku-latest")]
    {
        let (status, body, _) =
            complete(&app, json!({ "provider": provider, "model": model, "prompt": prompt, "max_tokens": 16 })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["usage"]["input_tokens"], 4, "{body}");
    }
    let (status, body, _) =
        complete(&app, json!({ "provider": "openai", "model": "unlisted-model", "prompt": prompt })).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, _, text) = send(&app, Request::get("/metrics").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let tokens = |provider: &str, direction: &str| {
        let (provider, direction) = (format!("provider=\"{provider}\""), format!("direction=\"{direction}\""));
        sample(&text, "connector_provider_tokens_total", &[&provider, &direction])
    };
    assert_eq!(tokens("openai", "input"), Some(12.0), "three OpenAI answers of 4 input tokens: {text}");
    assert_eq!(tokens("openai", "output"), Some(3.0), "{text}");
    assert_eq!(tokens("anthropic", "input"), Some(4.0), "{text}");
    assert_eq!(tokens("anthropic", "output"), Some(1.0), "{text}");
    let cost = |provider: &str| {
        sample(&text, "connector_provider_cost_usd_total", &[&format!("provider=\"{provider}\"")]).unwrap_or(0.0)
    };
    // gpt-4o-mini: $0.15 in, $0.60 out per million; the unlisted model adds nothing.
    let openai_cost = 2.0 * (4.0 * 0.15 + 0.60) / 1e6;
    assert!((cost("openai") - openai_cost).abs() < 1e-12, "{} vs {openai_cost}: {text}", cost("openai"));
    // claude-3-5-haiku-latest: $0.80 in, $4.00 out per million.
    let anthropic_cost = (4.0 * 0.80 + 4.00) / 1e6;
    assert!((cost("anthropic") - anthropic_cost).abs() < 1e-12, "{} vs {anthropic_cost}: {text}", cost("anthropic"));
}
