//! A webhook receiver on loopback, written as a receiver would be: it checks
//! the signature with `notify_hooks::verify`, drops an event id it has
//! already accepted, and otherwise answers with the scripted statuses.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// What the receiver decided about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    BadSignature(String),
    Duplicate,
    Scripted(u16),
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub verdict: Verdict,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<(u16, Option<String>)>,
    seen: HashSet<String>,
    received: Vec<Received>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    secret: Arc<Vec<u8>>,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    /// Listens on 127.0.0.1; `secret` is what it verifies with.
    pub async fn start(secret: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let receiver = Self { url, secret: Arc::new(secret.as_bytes().to_vec()), inner: Arc::default() };
        let app = axum::Router::new().fallback(handle).with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    /// The next requests get these statuses (and `Retry-After`) before the verdict of the signature.
    pub fn script(&self, answers: &[(u16, Option<&str>)]) {
        self.inner.lock().unwrap().script.extend(answers.iter().map(|(s, r)| (*s, r.map(str::to_owned))));
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Waits until `n` requests arrived (deadline 10 s).
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            assert!(Instant::now() < deadline, "only {} of {n} requests arrived", received.len());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn handle(State(r): State<Receiver>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> Response {
    let mut inner = r.inner.lock().unwrap();
    let scripted = inner.script.pop_front();
    let signature = headers.get(notify_hooks::SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let checked =
        notify_hooks::verify(&r.secret, signature, &body, notify_hooks::unix_now(), notify_hooks::DEFAULT_TOLERANCE);
    let event_id = headers.get(notify_hooks::EVENT_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (verdict, response) = match (scripted, checked) {
        (Some((status, retry_after)), _) => {
            let mut response = StatusCode::from_u16(status).unwrap().into_response();
            if let Some(after) = retry_after {
                response.headers_mut().insert("retry-after", after.parse().unwrap());
            }
            (Verdict::Scripted(status), response)
        }
        (None, Err(e)) => {
            (Verdict::BadSignature(e.to_string()), (StatusCode::UNAUTHORIZED, e.to_string()).into_response())
        }
        (None, Ok(())) if !inner.seen.insert(event_id) => {
            (Verdict::Duplicate, (StatusCode::CONFLICT, "already handled").into_response())
        }
        (None, Ok(())) => (Verdict::Accepted, StatusCode::NO_CONTENT.into_response()),
    };
    let path_and_query = uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
    inner.received.push(Received { at: Instant::now(), path_and_query, headers, body, verdict });
    response
}
