//! Serving the registry tree: the hot path, kept as light as a static file
//! server's.
//!
//! Every client refreshes `snapshot.json` and its indexes and downloads
//! blobs, so these routes carry almost all of the traffic. They therefore
//! skip the layers the API routes have (a tracing span and an access-log
//! line per request, request ids, the labelled latency histogram): the
//! ingress in front of the server logs accesses, and each response bumps
//! one pre-resolved counter instead (`registry_server_tree_responses_total`).
//!
//! What is served is kept in memory, ready to write:
//!
//! - **documents** (`root.json`, `snapshot.json`, `roots/<n>.root.json`,
//!   `remotes/<name>.json`) with their ETag header and a gzipped variant
//!   (compressed once, when read, not per request). A publish or yank
//!   through this replica forgets them at once; otherwise, after
//!   [`Config::document_cache_ttl`](crate::Config) a request checks the
//!   store's ETag with a `HEAD` (no body read) and keeps the copy when it is
//!   unchanged, so another replica's publish is seen within that delay;
//! - **blobs** up to [`MAX_CACHED_BLOB`] while
//!   [`Config::blob_cache_bytes`](crate::Config) lasts. A blob is immutable
//!   and its ETag is its hash, so a cached blob is never stale and a
//!   revalidation needs no lookup at all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use prometheus::{IntCounter, IntCounterVec, Opts};
use sidecar_http::{HttpMetrics, SidecarError};

use crate::sendfile::{Backings, FileBacked};
use crate::{AppError, AppState, IMMUTABLE, REVALIDATE};

/// Larger blobs are read from storage on every request: they are rare, and
/// a few of them would crowd out the small hot set.
pub const MAX_CACHED_BLOB: u64 = 16 * 1024 * 1024;
/// Documents this small are not worth a gzip header and a second ETag.
const GZIP_ABOVE: usize = 256;
/// Compressing a document this large happens on a blocking thread.
const COMPRESS_INLINE_UP_TO: usize = 64 * 1024;

/// The tree's routes (state still to be given).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/root.json",
            get(|state: State<AppState>, request: Request| {
                serve_document(state, headers_of(request), "root.json".into(), Kind::Mutable)
            }),
        )
        .route(
            "/snapshot.json",
            get(|state: State<AppState>, request: Request| {
                serve_document(state, headers_of(request), "snapshot.json".into(), Kind::Mutable)
            }),
        )
        .route("/roots/{file}", get(serve_root_version))
        .route("/remotes/{file}", get(serve_index))
        .route("/blobs/sha256/{hash}", get(serve_blob))
}

/// The request's headers, moved out: the `HeaderMap` extractor would copy
/// them, on every request of the hot path.
fn headers_of(request: Request) -> HeaderMap {
    request.into_parts().0.headers
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Changes with publishes: revalidate every time.
    Mutable,
    /// Never changes once written.
    Immutable,
}

impl Kind {
    fn cache_control(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Kind::Immutable => IMMUTABLE,
            Kind::Mutable => REVALIDATE,
        })
    }
}

/// One byte sequence and its strong ETag, as a header ready to send.
#[derive(Debug)]
struct Representation {
    body: Bytes,
    etag: HeaderValue,
    /// Set when the connections send `body` from a memfd ([`crate::sendfile`]).
    _sent_from_file: Option<FileBacked>,
}

impl Representation {
    fn new(body: Bytes, etag: HeaderValue) -> Self {
        Representation { body, etag, _sent_from_file: None }
    }

    /// A document body. One that stays cached (`backings` given) is sent
    /// over and over: worth a memfd so it goes out without a copy.
    fn document(body: Bytes, etag: HeaderValue, backings: Option<&Backings>) -> Self {
        let backed = backings.and_then(|backings| backings.back(&body));
        Representation { body, etag, _sent_from_file: backed }
    }
}

#[derive(Debug)]
struct Document {
    /// The store's ETag when read, to revalidate without reading the body.
    store_tag: Option<String>,
    plain: Representation,
    gzip: Option<Representation>,
}

#[derive(Debug, Clone)]
struct CachedDocument {
    checked_at: Instant,
    document: Arc<Document>,
}

/// What the tree handlers keep in memory (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct TreeCache {
    blobs: RwLock<HashMap<String, Arc<Representation>>>,
    blob_bytes: AtomicU64,
    documents: RwLock<HashMap<String, CachedDocument>>,
}

impl TreeCache {
    fn blob(&self, hash: &str) -> Option<Arc<Representation>> {
        self.blobs.read().unwrap_or_else(PoisonError::into_inner).get(hash).cloned()
    }

    /// Keeps a blob while the budget lasts; a registry's hot set is small,
    /// so "fill, then stop" is enough and needs no eviction bookkeeping.
    fn keep_blob(&self, hash: &str, blob: &Arc<Representation>, budget: u64) {
        let size = blob.body.len() as u64;
        if size > MAX_CACHED_BLOB {
            return;
        }
        if self.blob_bytes.fetch_add(size, Ordering::Relaxed) + size > budget {
            self.blob_bytes.fetch_sub(size, Ordering::Relaxed);
            return;
        }
        let previous = self.blobs.write().unwrap_or_else(PoisonError::into_inner).insert(hash.to_owned(), blob.clone());
        if previous.is_some() {
            self.blob_bytes.fetch_sub(size, Ordering::Relaxed);
        }
    }

    fn document(&self, key: &str) -> Option<CachedDocument> {
        self.documents.read().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }

    fn keep_document(&self, key: &str, document: Arc<Document>) {
        let entry = CachedDocument { checked_at: Instant::now(), document };
        self.documents.write().unwrap_or_else(PoisonError::into_inner).insert(key.to_owned(), entry);
    }

    fn forget_document(&self, key: &str) {
        self.documents.write().unwrap_or_else(PoisonError::into_inner).remove(key);
    }

    /// After this replica changed the tree: serve the new documents at once.
    pub(crate) fn forget_documents(&self) {
        self.documents.write().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// Responses of the tree routes by what was asked and how it was answered,
/// resolved once so counting is one atomic add.
#[derive(Debug, Clone)]
pub(crate) struct TreeCounters {
    document: OutcomeCounters,
    blob: OutcomeCounters,
}

#[derive(Debug, Clone)]
struct OutcomeCounters {
    ok: IntCounter,
    not_modified: IntCounter,
    not_found: IntCounter,
    error: IntCounter,
}

impl TreeCounters {
    pub(crate) fn register(metrics: &HttpMetrics) -> Result<Self, SidecarError> {
        let name = "registry_server_tree_responses_total";
        let vec = IntCounterVec::new(
            Opts::new(name, "Responses of the registry tree routes, by kind (document or blob) and status"),
            &["kind", "status"],
        )
        .map_err(|source| SidecarError::Metrics { name: name.into(), source })?;
        metrics.register(Box::new(vec.clone()))?;
        let outcomes = |kind: &str| OutcomeCounters {
            ok: vec.with_label_values(&[kind, "200"]),
            not_modified: vec.with_label_values(&[kind, "304"]),
            not_found: vec.with_label_values(&[kind, "404"]),
            error: vec.with_label_values(&[kind, "5xx"]),
        };
        Ok(Self { document: outcomes("document"), blob: outcomes("blob") })
    }
}

impl OutcomeCounters {
    fn count(&self, status: StatusCode) {
        match status.as_u16() {
            200 => self.ok.inc(),
            304 => self.not_modified.inc(),
            404 => self.not_found.inc(),
            _ => self.error.inc(),
        }
    }
}

async fn serve_root_version(state: State<AppState>, Path(file): Path<String>, request: Request) -> Response {
    let valid = file.strip_suffix(".root.json").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        state.inner.tree_counters.document.count(StatusCode::NOT_FOUND);
        return not_found(&format!("/roots/{file}"));
    }
    serve_document(state, headers_of(request), format!("roots/{file}"), Kind::Immutable).await
}

async fn serve_index(state: State<AppState>, Path(file): Path<String>, request: Request) -> Response {
    let valid = file.strip_suffix(".json").is_some_and(|name| manifest::validate_remote_name(name).is_ok());
    if !valid {
        state.inner.tree_counters.document.count(StatusCode::NOT_FOUND);
        return not_found(&format!("/remotes/{file}"));
    }
    serve_document(state, headers_of(request), format!("remotes/{file}"), Kind::Mutable).await
}

async fn serve_blob(State(state): State<AppState>, Path(hash): Path<String>, request: Request) -> Response {
    let response = blob_response(&state, &headers_of(request), &hash).await;
    state.inner.tree_counters.blob.count(response.status());
    response
}

async fn blob_response(state: &AppState, headers: &HeaderMap, hash: &str) -> Response {
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return not_found(&format!("/blobs/sha256/{hash}"));
    }
    // A blob's ETag is its hash, so a revalidation needs no lookup.
    if let Some(matched) = matching_tag(headers, |tag| tag == hash) {
        return not_modified(matched.or(hash), Kind::Immutable, false);
    }
    let inner = &state.inner;
    if let Some(blob) = inner.tree_cache.blob(hash) {
        return ok_response(&blob, Kind::Immutable, "application/octet-stream", None);
    }
    match inner.storage.get_for_serving(&registry::blob_path(hash)).await {
        Ok(Some((_, body))) => {
            let blob = Arc::new(Representation::new(body, quoted_tag(hash)));
            inner.tree_cache.keep_blob(hash, &blob, inner.config.blob_cache_bytes);
            ok_response(&blob, Kind::Immutable, "application/octet-stream", None)
        }
        Ok(None) => not_found(&format!("/blobs/sha256/{hash}")),
        Err(err) => AppError::Storage(err).into_response(),
    }
}

async fn serve_document(State(state): State<AppState>, headers: HeaderMap, key: String, kind: Kind) -> Response {
    let response = match current_document(&state, &key).await {
        Ok(Some(document)) => document_response(&document, &headers, kind),
        Ok(None) => not_found(&format!("/{key}")),
        Err(err) => err.into_response(),
    };
    state.inner.tree_counters.document.count(response.status());
    response
}

/// The document as it is now: from memory while fresh, revalidated by the
/// store's ETag after the TTL, read again when it changed.
async fn current_document(state: &AppState, key: &str) -> Result<Option<Arc<Document>>, AppError> {
    let inner = &state.inner;
    let ttl = inner.config.document_cache_ttl;
    let cached = if ttl.is_zero() { None } else { inner.tree_cache.document(key) };
    if let Some(cached) = cached {
        if cached.checked_at.elapsed() < ttl {
            return Ok(Some(cached.document));
        }
        if unchanged_in_store(state, key, &cached.document).await? {
            inner.tree_cache.keep_document(key, cached.document.clone());
            return Ok(Some(cached.document));
        }
    }
    let Some((meta, body)) = inner.storage.get_for_serving(key).await? else {
        inner.tree_cache.forget_document(key);
        return Ok(None);
    };
    tracing::debug!(key, bytes = body.len(), "read a document from storage");
    let kept = !ttl.is_zero();
    // Only a document kept in memory is worth a memfd.
    let document = Arc::new(prepare_document(meta.e_tag, body, kept.then_some(&inner.backings)).await);
    if kept {
        inner.tree_cache.keep_document(key, document.clone());
    }
    Ok(Some(document))
}

/// Whether the store still holds the version `document` was read from (a
/// metadata request, no body). Without a store ETag, never.
async fn unchanged_in_store(state: &AppState, key: &str, document: &Document) -> Result<bool, AppError> {
    let Some(tag) = &document.store_tag else { return Ok(false) };
    let meta = state.inner.storage.head(key).await?;
    Ok(meta.and_then(|meta| meta.e_tag).as_ref() == Some(tag))
}

/// The document with its ETag and, when worth it, a gzipped variant.
async fn prepare_document(store_tag: Option<String>, body: Bytes, backings: Option<&Backings>) -> Document {
    // The store's ETag (inode/mtime/size on a folder, the object's ETag on
    // S3) is the same on every replica sharing the store; the content hash
    // stands in when the store has none usable.
    let tag = match store_tag.as_deref().map(|tag| tag.trim_start_matches("W/").trim_matches('"')) {
        Some(tag) if !tag.is_empty() && !tag.contains('"') && !tag.contains(char::is_whitespace) => tag.to_owned(),
        _ => registry::sha256_hex(&body),
    };
    let gzip = if body.len() > GZIP_ABOVE {
        let compressed = if body.len() <= COMPRESS_INLINE_UP_TO {
            gzip(&body)
        } else {
            let input = body.clone();
            tokio::task::spawn_blocking(move || gzip(&input)).await.ok().flatten()
        };
        compressed.map(|body| Representation::document(body, quoted_tag(&format!("{tag}-gzip")), backings))
    } else {
        None
    };
    Document { store_tag, plain: Representation::document(body, quoted_tag(&tag), backings), gzip }
}

fn gzip(body: &[u8]) -> Option<Bytes> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::best());
    encoder.write_all(body).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

fn document_response(document: &Document, headers: &HeaderMap, kind: Kind) -> Response {
    let plain_tag = etag_inner(&document.plain.etag);
    let gzip_tag = document.gzip.as_ref().map(|gzip| etag_inner(&gzip.etag));
    if let Some(matched) = matching_tag(headers, |tag| tag == plain_tag || Some(tag) == gzip_tag) {
        return not_modified(matched.or(plain_tag), kind, document.gzip.is_some());
    }
    match &document.gzip {
        Some(gzip) if accepts_gzip(headers) => ok_response(gzip, kind, "application/json", Some(true)),
        Some(_) => ok_response(&document.plain, kind, "application/json", Some(false)),
        None => ok_response(&document.plain, kind, "application/json", None),
    }
}

/// `"abc"` → `abc`.
fn etag_inner(etag: &HeaderValue) -> &str {
    etag.to_str().unwrap_or_default().trim_matches('"')
}

fn quoted_tag(tag: &str) -> HeaderValue {
    // Tags are hex digests or the store's ETag, checked above: always valid.
    HeaderValue::from_str(&format!("\"{tag}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

/// What of `If-None-Match` matched the current representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Matched<'a> {
    /// `*`: any current representation.
    Any,
    /// This tag (without quotes or weakness), echoed on the 304 so the
    /// client keeps the variant it has.
    Tag(&'a str),
}

impl<'a> Matched<'a> {
    fn or(self, current: &'a str) -> &'a str {
        match self {
            Matched::Any => current,
            Matched::Tag(tag) => tag,
        }
    }
}

/// The first tag of `If-None-Match` that `matches` (compared without
/// weakness or quotes, as a weak comparison is what a GET uses).
fn matching_tag<'a>(headers: &'a HeaderMap, matches: impl Fn(&str) -> bool) -> Option<Matched<'a>> {
    let value = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    value.split(',').map(str::trim).find_map(|tag| {
        if tag == "*" {
            return Some(Matched::Any);
        }
        let inner = tag.trim_start_matches("W/").trim_matches('"');
        matches(inner).then_some(Matched::Tag(inner))
    })
}

/// Whether `Accept-Encoding` allows gzip (`gzip`, `x-gzip` or `*`, with a
/// non-zero q-value).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut star = false;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let allowed = parts
            .filter_map(|param| param.trim().strip_prefix("q="))
            .all(|q| q.trim().parse::<f32>().is_ok_and(|q| q > 0.0));
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            return allowed;
        }
        if coding == "*" {
            star = allowed;
        }
    }
    star
}

/// A 200 with the representation's body and headers. `gzipped` is `None` for
/// a resource that has one representation only, so no `Vary` is needed.
fn ok_response(
    representation: &Representation,
    kind: Kind,
    content_type: &'static str,
    gzipped: Option<bool>,
) -> Response {
    let mut response = Response::new(Body::from(representation.body.clone()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, kind.cache_control());
    headers.insert(header::ETAG, representation.etag.clone());
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Some(gzipped) = gzipped {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if gzipped {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
    }
    response
}

fn not_modified(tag: &str, kind: Kind, varies: bool) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, kind.cache_control());
    if varies {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    headers.insert(header::ETAG, quoted_tag(tag));
    response
}

pub(crate) fn not_found(path: &str) -> Response {
    sidecar_http::ErrorBody::new(StatusCode::NOT_FOUND, "not_found", format!("{path} is not in this registry"))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn gzip_is_accepted_only_with_a_positive_q_value() {
        assert!(accepts_gzip(&with(header::ACCEPT_ENCODING, "gzip")));
        assert!(accepts_gzip(&with(header::ACCEPT_ENCODING, "br, gzip;q=0.5, deflate")));
        assert!(accepts_gzip(&with(header::ACCEPT_ENCODING, "*")));
        assert!(!accepts_gzip(&with(header::ACCEPT_ENCODING, "gzip;q=0")));
        assert!(!accepts_gzip(&with(header::ACCEPT_ENCODING, "*, gzip;q=0")));
        assert!(!accepts_gzip(&with(header::ACCEPT_ENCODING, "br, identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn if_none_match_is_compared_without_weakness_and_echoed() {
        let headers = with(header::IF_NONE_MATCH, "\"other\", W/\"abc\"");
        assert_eq!(matching_tag(&headers, |tag| tag == "abc"), Some(Matched::Tag("abc")));
        assert_eq!(matching_tag(&headers, |tag| tag == "nope"), None);
        assert_eq!(matching_tag(&with(header::IF_NONE_MATCH, "*"), |_| false), Some(Matched::Any));
    }

    #[tokio::test]
    async fn documents_get_a_gzip_variant_with_its_own_etag() {
        let body = Bytes::from(vec![b'{'; 1000]);
        let document = prepare_document(Some("\"17-2a\"".into()), body.clone(), None).await;
        assert_eq!(document.plain.etag, "\"17-2a\"");
        let gzip = document.gzip.as_ref().unwrap();
        assert_eq!(gzip.etag, "\"17-2a-gzip\"");
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzip.body[..]), &mut plain).unwrap();
        assert_eq!(plain, body);
        let small = prepare_document(None, Bytes::from_static(b"{}"), None).await;
        assert!(small.gzip.is_none());
        assert_eq!(small.plain.etag, format!("\"{}\"", registry::sha256_hex(b"{}")).as_str());
    }
}
