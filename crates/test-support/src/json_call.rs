//! One JSON request to a service under test, for suites that drive an API
//! with many roles and tokens (the auth service's, the gateway's).

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

/// Sends `method url` with an optional bearer token and JSON body; answers
/// the status and the body as JSON (`null` when empty, a JSON string when
/// it is not JSON). Panics when nothing answers: the test's server is gone.
pub async fn call_json(
    http: &Client,
    method: Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap_or_else(|err| panic!("{url}: {err}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_else(|err| panic!("{url}: reading the body: {err}"));
    let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, json)
}
