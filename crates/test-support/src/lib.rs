//! Test-only helpers: a loopback registry HTTP server with fault injection,
//! sample remote folders, an in-memory capture of every log line, free
//! loopback ports for child processes, and the keychain as `secret-tool`
//! sees it.
//!
//! [`RegistryServer`] serves a registry tree from a folder the way a static
//! host does (strong ETags, `If-None-Match` → 304, `Content-Length`, 404),
//! records every request so tests can assert what a client sent, and can be
//! told to misbehave per path ([`Fault`]) or to go offline altogether.

mod json_call;
mod keychain;
mod logs;
mod service;
pub use json_call::call_json;
pub use keychain::secret_tool_lookup;
pub use logs::CapturedLogs;
pub use service::{ServiceProcess, exit_and_stderr, raw_http_request};

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt as _;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use sha2::{Digest as _, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;

/// A way for the server to misbehave on one path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Sends the headers (with the full Content-Length) and the first half
    /// of the body, then never sends the rest nor closes the connection.
    Stall,
    /// Sends the file followed by `n` extra bytes, chunked with no
    /// Content-Length, so only a client that counts notices.
    ExtraBytes(usize),
    /// Sends the file followed by `n` extra bytes with a Content-Length that
    /// announces the longer body.
    ExtraBytesWithLength(usize),
    /// Serves only the first `n` bytes, with a matching Content-Length, as a
    /// truncated file on the server would be served.
    Truncate(usize),
    /// Announces the full Content-Length, sends the first `n` bytes, then
    /// drops the connection, as a network failure mid-download would.
    CutOff(usize),
    /// Answers with this status and an empty body.
    Status(u16),
    /// Answers 200 with a captive portal's HTML login page instead of the
    /// file, as a hotel or airport network does before you log in.
    CaptivePortal,
    /// Answers 200 with bytes that are not the file (and not JSON).
    Garbage,
    /// Sends the headers and then one byte of the body every `interval`,
    /// slower than any download should take, never finishing early.
    Trickle(std::time::Duration),
    /// Drops the connection without any answer, as if the host vanished.
    /// For the whole server refusing connections, see
    /// [`RegistryServer::go_offline`].
    Offline,
}

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// The path relative to the registry root, without a leading `/`
    /// ("snapshot.json").
    pub path: String,
    pub if_none_match: Option<String>,
    /// The status answered, or `None` when the connection was dropped.
    pub status: Option<u16>,
}

#[derive(Debug)]
struct ServerState {
    root: PathBuf,
    faults: Mutex<HashMap<String, Fault>>,
    requests: Mutex<Vec<RecordedRequest>>,
}

impl ServerState {
    fn fault(&self, path: &str) -> Option<Fault> {
        let faults = self.faults.lock().unwrap_or_else(PoisonError::into_inner);
        faults.get(path).or_else(|| faults.get(EVERY_PATH)).cloned()
    }

    fn record(&self, request: RecordedRequest) {
        self.requests.lock().unwrap_or_else(PoisonError::into_inner).push(request);
    }
}

#[derive(Debug)]
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// A registry tree served over HTTP on 127.0.0.1, for tests.
///
/// Dropping it stops the server and drops open connections.
#[derive(Debug)]
pub struct RegistryServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    running: Mutex<Option<Running>>,
}

impl RegistryServer {
    /// Serves `root` on a free loopback port. Must run inside a Tokio runtime.
    pub async fn start(root: impl Into<PathBuf>) -> io::Result<Self> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ServerState {
            root: root.into(),
            faults: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
        });
        let server = Self { addr, state, running: Mutex::new(None) };
        server.spawn(listener);
        Ok(server)
    }

    /// The base URL, ending in `/` ("http://127.0.0.1:PORT/").
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes `path` (relative to the root, e.g. "snapshot.json") misbehave.
    pub fn set_fault(&self, path: &str, fault: Fault) {
        self.state.faults.lock().unwrap_or_else(PoisonError::into_inner).insert(normalize(path), fault);
    }

    /// Makes every path misbehave (a path's own fault still wins).
    pub fn set_fault_everywhere(&self, fault: Fault) {
        self.set_fault(EVERY_PATH, fault);
    }

    pub fn clear_fault(&self, path: &str) {
        self.state.faults.lock().unwrap_or_else(PoisonError::into_inner).remove(&normalize(path));
    }

    pub fn clear_faults(&self) {
        self.state.faults.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Forgets the recorded requests, to assert on the next round only.
    pub fn clear_requests(&self) {
        self.state.requests.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }

    /// Stops listening and drops every open connection: new connections are
    /// refused, as when a host is down. Returns once the port is closed.
    pub async fn go_offline(&self) {
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(running) = running {
            // The accept loop also ends if the sender is simply dropped.
            let _ = running.stop.send(());
            let _ = running.task.await;
        }
    }

    /// Listens again on the same port after [`RegistryServer::go_offline`].
    pub async fn go_online(&self) -> io::Result<()> {
        if self.running.lock().unwrap_or_else(PoisonError::into_inner).is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr).await?;
        self.spawn(listener);
        Ok(())
    }

    fn spawn(&self, listener: TcpListener) {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&self.state), stopped));
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = Some(Running { stop, task });
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.get_mut().unwrap_or_else(PoisonError::into_inner).take() {
            running.task.abort();
        }
    }
}

/// The key under which [`RegistryServer::set_fault_everywhere`] stores its fault.
const EVERY_PATH: &str = "*";

/// What a captive portal answers for any URL.
pub const CAPTIVE_PORTAL_PAGE: &str = "<!DOCTYPE html><html><head><title>Hotel WiFi login</title></head>\n<body><form action=\"/login\"><p>Welcome! Accept the terms to connect.</p><input name=\"room\"><button>Connect</button></form></body></html>\n";

/// The router that serves the tree; public so tests can drive it without a
/// socket (`app(root).oneshot(request)`).
pub fn app(root: impl Into<PathBuf>) -> Router {
    router(Arc::new(ServerState {
        root: root.into(),
        faults: Mutex::new(HashMap::new()),
        requests: Mutex::new(Vec::new()),
    }))
}

fn router(state: Arc<ServerState>) -> Router {
    Router::new().fallback(serve_file).with_state(state)
}

async fn accept_loop(listener: TcpListener, state: Arc<ServerState>, mut stop: oneshot::Receiver<()>) {
    let app = router(Arc::clone(&state));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&state), app.clone()));
                }
                Err(err) => tracing::debug!(%err, "accept failed"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Dropping the set aborts every connection, stalled ones included, and
    // dropping the listener closes the port.
}

async fn serve_connection(stream: TcpStream, state: Arc<ServerState>, app: Router) {
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let state = Arc::clone(&state);
        let app = app.clone();
        async move {
            let path = normalize(request.uri().path());
            if state.fault(&path) == Some(Fault::Offline) {
                state.record(RecordedRequest {
                    method: request.method().to_string(),
                    path,
                    if_none_match: header_string(request.headers()),
                    status: None,
                });
                // A service error makes hyper close the connection without
                // writing a response.
                return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "simulated offline host"));
            }
            app.oneshot(request).await.map_err(|never| match never {})
        }
    });
    if let Err(err) = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
        tracing::debug!(%err, "connection ended with an error");
    }
}

async fn serve_file(State(state): State<Arc<ServerState>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = normalize(uri.path());
    let if_none_match = header_string(&headers);
    let fault = state.fault(&path);
    let response = respond(&state.root, &method, &path, if_none_match.as_deref(), fault).await;
    state.record(RecordedRequest {
        method: method.to_string(),
        path,
        if_none_match,
        status: Some(response.status().as_u16()),
    });
    response
}

async fn respond(
    root: &Path,
    method: &Method,
    path: &str,
    if_none_match: Option<&str>,
    fault: Option<Fault>,
) -> Response {
    match fault {
        Some(Fault::Status(code)) => {
            return status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        }
        // A portal answers every URL, whether the registry has it or not.
        Some(Fault::CaptivePortal) => {
            let page = Response::builder()
                .header(CONTENT_TYPE, "text/html; charset=utf-8")
                .body(Body::from(CAPTIVE_PORTAL_PAGE));
            return page.unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR));
        }
        _ => {}
    }
    if method != Method::GET && method != Method::HEAD {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    if manifest::validate_bundle_path(path).is_err() {
        return status(StatusCode::NOT_FOUND);
    }
    let mut full = root.to_path_buf();
    full.extend(path.split('/'));
    let Ok(bytes) = tokio::fs::read(&full).await else {
        return status(StatusCode::NOT_FOUND);
    };
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&bytes)));
    let content_type = if path.ends_with(".json") { "application/json" } else { "application/octet-stream" };
    let full_length = bytes.len();
    let builder = Response::builder().header(ETAG, &etag).header(CONTENT_TYPE, content_type);
    let result = match fault {
        None if if_none_match.is_some_and(|header| etag_matches(header, &etag)) => {
            builder.status(StatusCode::NOT_MODIFIED).body(Body::empty())
        }
        None | Some(Fault::Status(_) | Fault::Offline | Fault::CaptivePortal) => builder.body(Body::from(bytes)),
        Some(Fault::Garbage) => {
            let garbage: Vec<u8> = (0..full_length.max(64)).map(|i| (i * 7 + 13) as u8).collect();
            Response::builder().header(CONTENT_TYPE, "application/json").body(Body::from(garbage))
        }
        Some(Fault::Trickle(interval)) => {
            let body = futures_util::stream::iter(bytes).then(move |byte| async move {
                tokio::time::sleep(interval).await;
                Ok::<_, io::Error>(Bytes::from(vec![byte]))
            });
            builder.header(CONTENT_LENGTH, full_length).body(Body::from_stream(body))
        }
        Some(Fault::Stall) => {
            let half = Bytes::from(bytes).slice(..full_length / 2);
            let body = futures_util::stream::once(async move { Ok::<_, io::Error>(half) })
                .chain(futures_util::stream::pending());
            builder.header(CONTENT_LENGTH, full_length).body(Body::from_stream(body))
        }
        Some(Fault::ExtraBytes(extra)) => {
            let mut longer = bytes;
            longer.resize(full_length + extra, b'x');
            let body = futures_util::stream::once(async move { Ok::<_, io::Error>(Bytes::from(longer)) });
            builder.body(Body::from_stream(body))
        }
        Some(Fault::ExtraBytesWithLength(extra)) => {
            let mut longer = bytes;
            longer.resize(full_length + extra, b'x');
            builder.body(Body::from(longer))
        }
        Some(Fault::Truncate(keep)) => {
            let mut shorter = bytes;
            shorter.truncate(keep);
            builder.body(Body::from(shorter))
        }
        Some(Fault::CutOff(keep)) => {
            let head = Bytes::from(bytes).slice(..keep.min(full_length));
            // hyper flushes what it has when the body is not ready, so one
            // pending poll between the chunk and the error puts the headers
            // and the first bytes on the wire before the connection drops.
            let body = futures_util::stream::once(async move { Ok(head) }).chain(futures_util::stream::once(async {
                tokio::task::yield_now().await;
                Err(io::Error::new(io::ErrorKind::ConnectionReset, "simulated cut-off"))
            }));
            builder.header(CONTENT_LENGTH, full_length).body(Body::from_stream(body))
        }
    };
    result.unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR))
}

fn status(code: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}

/// Weak comparison, as RFC 9110 prescribes for If-None-Match.
fn etag_matches(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == etag)
}

fn header_string(headers: &HeaderMap) -> Option<String> {
    headers.get(IF_NONE_MATCH).and_then(|value: &HeaderValue| value.to_str().ok()).map(str::to_owned)
}

fn normalize(path: &str) -> String {
    path.trim_start_matches('/').to_owned()
}

/// Writes a built remote into `dir`: a `remote.json` (entry
/// `remoteEntry.js`, sharing React 19, needing host API `host_api_range`) and
/// `files`. A `remoteEntry.js` is added when `files` has none.
pub fn sample_remote(
    dir: &Path,
    name: &str,
    version: &str,
    host_api_range: &str,
    files: &[(&str, &[u8])],
) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let manifest = serde_json::json!({
        "name": name,
        "version": version,
        "entry": "remoteEntry.js",
        "hostApi": host_api_range,
        "shared": { "react": "^19.0.0", "react-dom": "^19.0.0" },
        "exposes": ["./App"],
        "displayName": name,
    });
    let manifest = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    std::fs::write(dir.join("remote.json"), manifest)?;
    for (path, bytes) in files {
        write_file(dir, path, bytes)?;
    }
    if !files.iter().any(|(path, _)| *path == "remoteEntry.js") {
        let entry = format!("// {name} {version}\nexport const get = () => Promise.resolve(() => ({{}}));\n");
        write_file(dir, "remoteEntry.js", entry.as_bytes())?;
    }
    Ok(())
}

/// Writes `bytes` at the `/`-separated `path` under `dir`, creating folders.
pub fn write_file(dir: &Path, path: &str, bytes: &[u8]) -> io::Result<()> {
    let mut full = dir.to_path_buf();
    full.extend(path.split('/'));
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(full, bytes)
}

/// `count` loopback ports that were free a moment ago, all different: every
/// listener is held until the last is bound, because a port released before
/// asking for the next can be handed out again (two child processes given the
/// same port is how a WebDriver once proxied to itself). Another process can
/// still take one before the caller binds it; callers that can, retry.
pub fn free_loopback_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<std::net::TcpListener> =
        (0..count).map(|_| std::net::TcpListener::bind(("127.0.0.1", 0)).expect("a free loopback port")).collect();
    listeners.iter().map(|l| l.local_addr().expect("a bound listener's address").port()).collect()
}
