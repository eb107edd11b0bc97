//! Forwarding one request to its upstream and the answer back, streaming.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;
use futures_util::{Stream, StreamExt};
use reqwest::Url;

use crate::{AppError, AppState};

/// Headers that describe one connection, not the message, and so are not
/// forwarded (RFC 9110 §7.6.1); `host` is the upstream's own.
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

pub(crate) async fn forward(State(state): State<AppState>, request: Request) -> Result<Response, AppError> {
    let inner = &state.inner;
    let (parts, body) = request.into_parts();

    // Work on the raw path: the Path extractor would percent-decode it and
    // change what the upstream receives (`%2F` is not `/`).
    let path = parts.uri.path();
    let rest = path.strip_prefix("/api/").unwrap_or_default();
    let (service, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let Some(base) = inner.config.upstreams.get(service) else {
        return Err(AppError::UnknownService { service: service.to_owned(), known: inner.config.upstreams.names() });
    };
    if tail.split('/').any(is_dot_segment) {
        return Err(AppError::InvalidPath { path: path.to_owned() });
    }
    let mut target = format!("{}/{tail}", base.as_str().trim_end_matches('/'));
    if let Some(query) = parts.uri.query() {
        target.push('?');
        target.push_str(query);
    }
    let target = Url::parse(&target).map_err(|_| AppError::InvalidPath { path: path.to_owned() })?;

    let limit = inner.config.max_body_bytes;
    let declared =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        count(&state, service, "body_too_large");
        return Err(AppError::BodyTooLarge { limit_bytes: limit });
    }

    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let mut headers = upstream_headers(&parts.headers, peer);
    // The caller's credentials are for the gateway; upstreams get its own.
    headers.remove(header::AUTHORIZATION);
    if let Some(value) = inner.config.access.token().and_then(sidecar_http::AccessToken::bearer_header) {
        headers.insert(header::AUTHORIZATION, value);
    }
    let mut upstream = inner.client.request(parts.method.clone(), target).headers(headers);
    // A chunked body without a declared length is counted as it streams.
    let exceeded = Arc::new(AtomicBool::new(false));
    if body.size_hint().exact() != Some(0) {
        upstream = upstream.body(reqwest::Body::wrap_stream(limited(body, limit, exceeded.clone())));
    }

    let answer = match tokio::time::timeout(inner.config.upstream_timeout, upstream.send()).await {
        Err(_elapsed) => Err(AppError::UpstreamTimeout {
            service: service.to_owned(),
            seconds: inner.config.upstream_timeout.as_secs_f64().ceil() as u64,
        }),
        Ok(Err(_)) if exceeded.load(Ordering::SeqCst) => Err(AppError::BodyTooLarge { limit_bytes: limit }),
        Ok(Err(err)) if err.is_connect() => Err(AppError::UpstreamUnavailable {
            service: service.to_owned(),
            url: base.to_string(),
            reason: root_cause(&err),
        }),
        Ok(Err(err)) if err.is_timeout() => Err(AppError::UpstreamTimeout {
            service: service.to_owned(),
            seconds: inner.config.upstream_timeout.as_secs_f64().ceil() as u64,
        }),
        Ok(Err(err)) => Err(AppError::UpstreamFailed { service: service.to_owned(), reason: root_cause(&err) }),
        Ok(Ok(answer)) => Ok(answer),
    };
    let answer = answer.inspect_err(|err| {
        tracing::warn!(service, error = %err, "upstream request failed");
        count(&state, service, err.code());
    })?;
    count(&state, service, answer.status().as_str());

    let mut response = Response::builder().status(answer.status());
    if let Some(headers) = response.headers_mut() {
        copy_end_to_end(answer.headers(), headers);
    }
    response
        .body(Body::from_stream(answer.bytes_stream()))
        .map_err(|err| AppError::UpstreamFailed { service: service.to_owned(), reason: err.to_string() })
}

fn count(state: &AppState, service: &str, outcome: &str) {
    state.inner.upstream_requests.with_label_values(&[service, outcome]).inc();
}

/// `.` and `..`, also percent-encoded: upstreams would resolve them and
/// could be walked out of the prefix the gateway routes to.
fn is_dot_segment(segment: &str) -> bool {
    let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}

/// The request's end-to-end headers, plus `x-forwarded-for`. The request
/// id is among them: `standard_layers` has set it before routing.
fn upstream_headers(incoming: &HeaderMap, peer: Option<SocketAddr>) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(incoming.len() + 1);
    copy_end_to_end(incoming, &mut headers);
    headers.remove(header::HOST);
    if let Some(peer) = peer {
        let forwarded = match incoming.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            Some(earlier) => format!("{earlier}, {}", peer.ip()),
            None => peer.ip().to_string(),
        };
        if let Ok(value) = HeaderValue::from_str(&forwarded) {
            headers.insert(HeaderName::from_static("x-forwarded-for"), value);
        }
    }
    headers
}

fn copy_end_to_end(from: &HeaderMap, to: &mut HeaderMap) {
    // Headers the sender listed in `Connection` are hop-by-hop too.
    let listed: Vec<String> = from
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    for (name, value) in from {
        if HOP_BY_HOP.contains(name) || listed.iter().any(|l| l == name.as_str()) {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
}

/// The body as a stream that fails, and flags why, once it passes `limit` bytes.
fn limited(body: Body, limit: u64, exceeded: Arc<AtomicBool>) -> impl Stream<Item = io::Result<axum::body::Bytes>> {
    let mut seen = 0u64;
    body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(io::Error::other)?;
        seen += chunk.len() as u64;
        if seen > limit {
            exceeded.store(true, Ordering::SeqCst);
            return Err(io::Error::other("request body exceeds the gateway limit"));
        }
        Ok(chunk)
    })
}

pub(crate) use sidecar_http::auth_client::root_cause;

#[cfg(test)]
mod tests {
    use super::is_dot_segment;

    #[test]
    fn dot_segments_are_recognised_encoded_or_not() {
        for segment in [".", "..", "%2e", "%2E%2e", ".%2e"] {
            assert!(is_dot_segment(segment), "{segment}");
        }
        for segment in ["", "csv", "...", "a.b", ".hidden"] {
            assert!(!is_dot_segment(segment), "{segment}");
        }
    }
}
