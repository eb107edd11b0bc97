//! A loopback website for the collector's tests and benchmark: real HTTP
//! (axum on 127.0.0.1), logging every request it receives (path, Host,
//! User-Agent, when), with the pages the tests need: robots.txt rules, an
//! article, a redirect loop, a 50 MiB page, a trickling page, a chain of
//! pages for depth, numbered pages, sitemaps, and a redirect to the cloud
//! metadata address.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;

/// Size of the huge page.
pub const HUGE_BYTES: u64 = 50 * 1024 * 1024;
const HUGE_CHUNK: usize = 64 * 1024;

/// One request the site received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub host: String,
    pub user_agent: String,
    pub at: Instant,
}

#[derive(Debug, Default)]
struct Shared {
    log: Mutex<Vec<Seen>>,
    robots: Mutex<String>,
    /// Bytes of the huge page handed to the connection so far.
    huge_sent: AtomicU64,
    /// The huge page's body was dropped (the client went away, or it ended).
    huge_ended: AtomicBool,
    port: AtomicU64,
    /// The other loopback site's port, for a cross-site link.
    other_port: AtomicU64,
}

/// A running site; stops when dropped.
#[derive(Debug)]
pub struct Site {
    pub base: String,
    pub port: u16,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Site {
    /// Starts a site whose robots.txt disallows `/private/` for everyone.
    pub async fn start() -> Site {
        Site::with_robots("User-agent: *\nDisallow: /private/\n").await
    }

    pub async fn with_robots(robots: &str) -> Site {
        let shared = Arc::new(Shared::default());
        *shared.robots.lock().expect("lock") = robots.to_owned();
        let app = Router::new()
            .route("/robots.txt", get(robots_txt))
            .route("/", get(index))
            .route("/article/{name}", get(article))
            .route("/latin1", get(latin1))
            .route("/private/{name}", get(article))
            .route("/loop/{n}", get(redirect_loop))
            .route("/to-metadata", get(to_metadata))
            .route("/huge", get(huge))
            .route("/slow", get(slow))
            .route("/deep/{n}", get(deep))
            .route("/page/{n}", get(numbered))
            .route("/list/{count}", get(list))
            .route("/sitemap-index.xml", get(sitemap_index))
            .route("/sitemap/{count}", get(sitemap))
            .layer(middleware::from_fn_with_state(shared.clone(), log_request))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let port = listener.local_addr().expect("address").port();
        shared.port.store(u64::from(port), Ordering::SeqCst);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Site { base: format!("http://127.0.0.1:{port}"), port, shared, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Makes `/` link to another site on this machine.
    pub fn link_other_site(&self, other: &Site) {
        self.shared.other_port.store(u64::from(other.port), Ordering::SeqCst);
    }

    pub fn log(&self) -> Vec<Seen> {
        self.shared.log.lock().expect("lock").clone()
    }

    pub fn paths(&self) -> Vec<String> {
        self.log().into_iter().map(|s| s.path).collect()
    }

    pub fn requests_for(&self, path: &str) -> usize {
        self.log().iter().filter(|s| s.path == path).count()
    }

    pub fn huge_sent(&self) -> u64 {
        self.shared.huge_sent.load(Ordering::SeqCst)
    }

    pub fn huge_ended(&self) -> bool {
        self.shared.huge_ended.load(Ordering::SeqCst)
    }
}

async fn log_request(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let seen = Seen {
        path: request.uri().path().to_owned(),
        host: header_text(headers, header::HOST),
        user_agent: header_text(headers, header::USER_AGENT),
        at: Instant::now(),
    };
    shared.log.lock().expect("lock").push(seen);
    next.run(request).await
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn robots_txt(State(shared): State<Arc<Shared>>) -> Response {
    let robots = shared.robots.lock().expect("lock").clone();
    ([(header::CONTENT_TYPE, "text/plain")], robots).into_response()
}

async fn index(State(shared): State<Arc<Shared>>) -> Response {
    let port = shared.port.load(Ordering::SeqCst);
    let other = shared.other_port.load(Ordering::SeqCst);
    html(format!(
        r#"<!doctype html><html><head><title>Loopback site</title>
<meta name="description" content="The collector's test site."></head><body>
<h1>Index</h1>
<p><a href="/article/tides">Tides</a> <a href="/private/secret">Private</a> <a href="/loop/1">Loop</a></p>
<p><a href="http://10.255.255.1/">Private network</a> <a href="http://169.254.169.254/latest/meta-data/">Metadata</a>
<a href="http://[fe80::1]/">Link-local</a> <a href="/to-metadata">Redirect to metadata</a></p>
<p><a href="http://127.0.0.1:{other}/">Another site</a> <a href="http://localhost:{port}/article/by-name">Same port, another host name</a></p>
</body></html>"#
    ))
}

async fn article(Path(name): Path<String>) -> Response {
    html(format!(
        r#"<!doctype html><html><head><title>{name} | Loopback site</title>
<meta name="description" content="About {name}.">
<meta property="og:title" content="{name}">
<link rel="canonical" href="/article/{name}"></head><body>
<nav><a href="/">Home</a></nav>
<article><h1>{name}</h1>
<p>High water at the harbour mouth comes about fifty minutes later every day, because the moon moves on its orbit while the earth turns. Sailors plan their departures around it, and so does the ferry.</p>
<p>Spring tides follow the new and full moon, and neap tides the quarters; the range between high and low water is largest at springs, smallest at neaps.</p>
</article><footer>Harbour office</footer></body></html>"#
    ))
}

/// An article in ISO-8859-1, declared only in the Content-Type header.
async fn latin1() -> Response {
    let text = "<!doctype html><html><head><title>Caf\u{e9} cr\u{e8}me</title></head><body><article><h1>Caf\u{e9}</h1>\
<p>The caf\u{e9} by the harbour serves cr\u{e8}me br\u{fb}l\u{e9}e every day; the na\u{ef}ve visitor orders two and regrets nothing at all.</p>\
<p>Its fa\u{e7}ade was painted in the spring, and the terrace opens when the weather allows, which by the sea is not often.</p>\
</article></body></html>";
    // Every character above is in Latin-1: one byte each.
    let bytes: Vec<u8> = text.chars().map(|c| u8::try_from(u32::from(c)).expect("Latin-1")).collect();
    ([(header::CONTENT_TYPE, "text/html; charset=ISO-8859-1")], bytes).into_response()
}

async fn redirect_loop(Path(n): Path<u32>) -> Response {
    let next = if n == 1 { 2 } else { 1 };
    (StatusCode::FOUND, [(header::LOCATION, format!("/loop/{next}"))]).into_response()
}

async fn to_metadata() -> Response {
    (StatusCode::FOUND, [(header::LOCATION, "http://169.254.169.254/latest/meta-data/")]).into_response()
}

/// Sets `huge_ended` when the body stream is dropped.
struct EndGuard(Arc<Shared>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.huge_ended.store(true, Ordering::SeqCst);
    }
}

/// 50 MiB of HTML, made chunk by chunk as the connection takes it (no
/// Content-Length, so the client cannot refuse it up front).
async fn huge(State(shared): State<Arc<Shared>>) -> Response {
    shared.huge_sent.store(0, Ordering::SeqCst);
    shared.huge_ended.store(false, Ordering::SeqCst);
    let guard = EndGuard(shared);
    let chunk = Bytes::from(vec![b'a'; HUGE_CHUNK]);
    let body = futures_util::stream::unfold(guard, move |guard| {
        let chunk = chunk.clone();
        async move {
            let sent = guard.0.huge_sent.load(Ordering::SeqCst);
            if sent >= HUGE_BYTES {
                return None;
            }
            guard.0.huge_sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            Some((Ok::<_, std::io::Error>(chunk), guard))
        }
    });
    ([(header::CONTENT_TYPE, "text/html")], Body::from_stream(body)).into_response()
}

/// Headers at once, then one byte every 100 ms for a minute: a read
/// timeout alone never fires, only a limit on the whole exchange does.
async fn slow() -> Response {
    let body = futures_util::stream::unfold(0u32, |n| async move {
        if n >= 600 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Some((Ok::<_, std::io::Error>(Bytes::from_static(b" ")), n + 1))
    });
    ([(header::CONTENT_TYPE, "text/html")], Body::from_stream(body)).into_response()
}

/// `/deep/N` links to `/deep/N+1`.
async fn deep(Path(n): Path<u32>) -> Response {
    html(format!(
        r#"<!doctype html><html><head><title>Level {n}</title></head><body><p>Level {n}.</p><a href="/deep/{}">deeper</a></body></html>"#,
        n + 1
    ))
}

async fn numbered(Path(n): Path<u32>) -> Response {
    html(format!(
        r#"<!doctype html><html><head><title>Page {n}</title></head><body><article><p>This is page {n} of the loopback site, with a paragraph long enough to be the page's main content.</p></article></body></html>"#
    ))
}

/// Links to `/page/0` … `/page/{count-1}`.
async fn list(Path(count): Path<u32>) -> Response {
    let links: String = (0..count).map(|n| format!(r#"<li><a href="/page/{n}">{n}</a></li>"#)).collect();
    html(format!("<!doctype html><html><head><title>List</title></head><body><ul>{links}</ul></body></html>"))
}

async fn sitemap_index(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let _ = headers;
    let port = shared.port.load(Ordering::SeqCst);
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://127.0.0.1:{port}/sitemap/3</loc></sitemap>
</sitemapindex>"#
    );
    ([(header::CONTENT_TYPE, "application/xml")], xml).into_response()
}

async fn sitemap(State(shared): State<Arc<Shared>>, Path(count): Path<u32>) -> Response {
    let port = shared.port.load(Ordering::SeqCst);
    let urls: String = (0..count)
        .map(|n| format!("<url><loc>http://127.0.0.1:{port}/page/{n}?from=sitemap&amp;n={n}</loc></url>"))
        .collect();
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>"#
    );
    ([(header::CONTENT_TYPE, "application/xml")], xml).into_response()
}
