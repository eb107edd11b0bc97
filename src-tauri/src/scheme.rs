//! The `mfe` URI scheme: remotes' files, served only from the verified cache.
//!
//! `mfe://localhost/<remote>/<version>/<path>` (Linux, macOS) or
//! `http://mfe.localhost/<remote>/<version>/<path>` (Windows, where WebView2
//! maps custom schemes onto `http://<scheme>.localhost`). The handler is a
//! pure function of the cache and the request, so it is tested without a
//! webview: the path is percent-decoded once and then checked segment by
//! segment (remote name, semver version, bundle path without `..`, absolute
//! parts or backslashes); anything not indexed in the cache is a 404; the
//! blob is re-hashed before it is served, so a file changed on disk after its
//! verified install is refused rather than run.
//!
//! Dev mode adds `/@dev/<remote>/<revision>/<path>`: a folder override's
//! files, read straight from that folder (never the cache) with the same
//! path checks and MIME types, and `Cache-Control: no-store`.
//!
//! `/@sandbox/<path>` is the page a sandboxed remote runs in (issue 15,
//! point 3), from the shell's own embedded build (`shell-ui/dist/sandbox`),
//! with [`SANDBOX_CSP`]: an opaque origin (`sandbox allow-scripts`), scripts
//! and styles from `mfe:` only, no connection anywhere, framed only by the
//! shell page. Opaque-origin documents send `Origin: null`, which is why
//! remotes' files answer `null` with a CORS grant: they are public code.
//!
//! Every response, errors included, carries the shell's own Content Security
//! Policy and the security headers of [`with_common_headers`]: a bundle's HTML
//! page opened as a document gets no inline script, no `eval` and no
//! connection beyond what the shell page itself may reach (issue 20, point 4).

use std::borrow::Cow;

use cache::BundleCache;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};

use crate::dev_mode::{DEV_PREFIX, DevOverrides};

/// The scheme name registered with the webview.
pub const SCHEME: &str = "mfe";

/// The origin under which remotes are served, for building entry URLs.
#[cfg(windows)]
pub const ORIGIN: &str = "http://mfe.localhost";
#[cfg(not(windows))]
pub const ORIGIN: &str = "mfe://localhost";

/// The shell document's origins. Only they may import remotes' modules
/// (ES module imports across schemes are CORS requests).
const APP_ORIGINS: &[&str] = &["tauri://localhost", "http://tauri.localhost", "https://tauri.localhost"];

/// Files in a version never change (a version is immutable once published,
/// and the URL names the version), so the webview may keep them forever.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The URL a remote's file is served at.
pub fn url_for(remote: &str, version: &str, path: &str) -> String {
    format!("{ORIGIN}/{remote}/{version}/{path}")
}

/// A request for one file of one cached version, after sanitizing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRequest {
    pub remote: String,
    pub version: String,
    pub path: String,
}

/// Why a request path was refused before any lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathRefused {
    #[error("the path is not valid percent-encoded UTF-8")]
    Encoding,
    #[error("the path must be /<remote>/<version>/<file>")]
    Shape,
    #[error("bad remote name: {0}")]
    Remote(String),
    #[error("bad version: {0}")]
    Version(String),
    #[error("bad file path: {0}")]
    File(String),
}

/// Splits and checks the path part of a request URL (query already removed).
pub fn parse_path(raw_path: &str) -> Result<FileRequest, PathRefused> {
    // Backslashes are refused before decoding too: some URL parsers turn
    // them into `/`, and `%5c` must not sneak one past the check below.
    let decoded = percent_encoding::percent_decode_str(raw_path).decode_utf8().map_err(|_| PathRefused::Encoding)?;
    let decoded: Cow<'_, str> = decoded;
    let rest = decoded.strip_prefix('/').ok_or(PathRefused::Shape)?;
    let mut parts = rest.splitn(3, '/');
    let (Some(remote), Some(version), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(PathRefused::Shape);
    };
    manifest::validate_remote_name(remote).map_err(PathRefused::Remote)?;
    manifest::Version::parse(version).map_err(|err| PathRefused::Version(err.to_string()))?;
    manifest::validate_bundle_path(path).map_err(PathRefused::File)?;
    Ok(FileRequest { remote: remote.to_owned(), version: version.to_owned(), path: path.to_owned() })
}

/// The `Content-Type` for a bundle path. JavaScript gets the one type every
/// engine accepts for module scripts.
pub fn content_type(path: &str) -> Cow<'static, str> {
    let extension = path.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "js" | "mjs" | "cjs" => Cow::Borrowed("text/javascript; charset=utf-8"),
        "json" | "map" => Cow::Borrowed("application/json"),
        "css" => Cow::Borrowed("text/css; charset=utf-8"),
        "html" | "htm" => Cow::Borrowed("text/html; charset=utf-8"),
        "wasm" => Cow::Borrowed("application/wasm"),
        _ => {
            let guess = mime_guess::from_path(path).first_or_octet_stream();
            match guess.type_() {
                mime_guess::mime::TEXT => Cow::Owned(format!("{guess}; charset=utf-8")),
                _ => Cow::Owned(guess.to_string()),
            }
        }
    }
}

/// The Content Security Policy every `mfe://` response carries: the
/// shell's own (this launch's, with any dev-server origin) plus
/// `frame-ancestors 'none'`, so a bundle's page is never framed either.
#[derive(Debug, Clone)]
pub struct ResponsePolicy {
    csp: HeaderValue,
}

/// The policy when the app config has none (tests without a config): the
/// same directives as `tauri.conf.json`.
const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self' mfe: http://mfe.localhost; \
    style-src 'self' mfe: http://mfe.localhost; img-src 'self' mfe: http://mfe.localhost data:; \
    font-src 'self' mfe: http://mfe.localhost; \
    connect-src 'self' ipc: http://ipc.localhost mfe: http://mfe.localhost; object-src 'none'; \
    base-uri 'none'; form-action 'none'; frame-src mfe://localhost/@sandbox/ http://mfe.localhost/@sandbox/";

impl ResponsePolicy {
    /// `csp` is the shell's policy as written in a `Content-Security-Policy` header.
    pub fn new(csp: Option<&str>) -> Self {
        let csp = csp.map(str::trim).filter(|csp| !csp.is_empty()).unwrap_or(DEFAULT_CSP);
        let csp = format!("{}; frame-ancestors 'none'", csp.trim_end_matches(';'));
        // A policy from the config is plain ASCII; the default is the fallback.
        let csp = HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static(DEFAULT_CSP));
        Self { csp }
    }

    /// The policy of this app's config (`app.security.csp`, dev-widened by `run`).
    pub fn from_config(config: &tauri::Config) -> Self {
        Self::new(config.app.security.csp.as_ref().map(ToString::to_string).as_deref())
    }
}

impl Default for ResponsePolicy {
    fn default() -> Self {
        Self::new(None)
    }
}

/// Answers one request from the cache. Never panics, never reads outside
/// the cache's blob store.
pub fn respond(cache: &BundleCache, policy: &ResponsePolicy, request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    with_common_headers(policy, request, serve(cache, request.method(), request.uri().path()))
}

/// Answers one request: `/@dev/…` from a folder override, anything else
/// from the cache (see [`respond`]).
pub fn respond_with_dev(
    cache: &BundleCache,
    dev: &DevOverrides,
    policy: &ResponsePolicy,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let path = request.uri().path();
    if path.starts_with(&format!("/{DEV_PREFIX}/")) {
        with_common_headers(policy, request, serve_dev(dev, request.method(), path))
    } else {
        respond(cache, policy, request)
    }
}

/// `Cross-Origin-Resource-Policy`: WebKit compares hosts, so `same-site`
/// lets `tauri://localhost` load `mfe://localhost` and nothing else; WebView2
/// (Windows) puts the shell and the scheme on different `*.localhost` sites,
/// where `same-site` would block the shell's own images and styles.
#[cfg(not(windows))]
const RESOURCE_POLICY: &str = "same-site";
#[cfg(windows)]
const RESOURCE_POLICY: &str = "cross-origin";

fn with_common_headers(
    policy: &ResponsePolicy,
    request: &Request<Vec<u8>>,
    mut response: Response<Vec<u8>>,
) -> Response<Vec<u8>> {
    let origin = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let headers = response.headers_mut();
    if let Some(allowed) = allowed_origin(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, policy.csp.clone());
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static(RESOURCE_POLICY));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The `Access-Control-Allow-Origin` value: the shell's own origin when the
/// request comes from it (or names none, as some webviews do for custom
/// schemes), `null` for a sandboxed remote's page; nothing for any other origin.
fn allowed_origin(origin: Option<&str>) -> Option<HeaderValue> {
    match origin {
        Some(origin) if APP_ORIGINS.contains(&origin) => HeaderValue::from_str(origin).ok(),
        Some("null") => Some(HeaderValue::from_static("null")),
        Some(_) => None,
        None => Some(HeaderValue::from_static(APP_ORIGINS[0])),
    }
}

fn serve(cache: &BundleCache, method: &Method, path: &str) -> Response<Vec<u8>> {
    if method != Method::GET && method != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD are served");
    }
    let file = match parse_path(path) {
        Ok(file) => file,
        Err(refused) => {
            tracing::warn!(path, %refused, "mfe: refused a request path");
            return text(StatusCode::BAD_REQUEST, &format!("refused: {refused}"));
        }
    };
    let found = match cache.file_path(&file.remote, &file.version, &file.path) {
        Ok(found) => found,
        Err(err) => {
            tracing::error!(%err, remote = %file.remote, version = %file.version, "mfe: cache lookup failed");
            return text(StatusCode::INTERNAL_SERVER_ERROR, "the cache could not be read");
        }
    };
    let Some((blob, entry)) = found else {
        tracing::debug!(remote = %file.remote, version = %file.version, path = %file.path, "mfe: not in the cache");
        return text(StatusCode::NOT_FOUND, "not in the cache");
    };
    let bytes = match std::fs::read(&blob) {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(%err, blob = %blob.display(), "mfe: indexed blob is unreadable");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the cached file is unreadable: run `augment cache verify`",
            );
        }
    };
    if bytes.len() as u64 != entry.length || cache::Sha256Digest::of(&bytes) != entry.sha256 {
        tracing::error!(remote = %file.remote, version = %file.version, path = %file.path, "mfe: cached file changed on disk");
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the cached file no longer matches its verified hash: run `augment cache verify`",
        );
    }
    let length = bytes.len();
    let body = if method == Method::HEAD { Vec::new() } else { bytes };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_type(&file.path)) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", entry.sha256.to_hex())) {
        headers.insert(header::ETAG, etag);
    }
    response
}

/// The path prefix of the sandbox page and its scripts.
pub const SANDBOX_PREFIX: &str = "@sandbox";

/// Where the sandbox's files are in the shell's embedded build.
const SANDBOX_ASSETS: &str = "sandbox";

/// The policy of a sandboxed remote's page: `'self'` would mean nothing in
/// an opaque origin, so every source is named; `connect-src 'none'` keeps
/// `fetch`, XHR, WebSockets and the IPC URL out of reach.
pub const SANDBOX_CSP: &str = "default-src 'none'; script-src mfe: http://mfe.localhost; \
    style-src mfe: http://mfe.localhost; img-src mfe: http://mfe.localhost data:; font-src mfe: http://mfe.localhost; \
    connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-src 'none'; \
    frame-ancestors tauri://localhost http://tauri.localhost https://tauri.localhost; sandbox allow-scripts";

/// The URL of the sandbox page.
pub fn sandbox_url() -> String {
    format!("{ORIGIN}/{SANDBOX_PREFIX}/index.html")
}

/// Answers `/@sandbox/<path>` from the shell's embedded files; `asset`
/// looks one up by its path in the build (`sandbox/<path>`).
pub fn respond_sandbox(request: &Request<Vec<u8>>, asset: impl Fn(&str) -> Option<Vec<u8>>) -> Response<Vec<u8>> {
    let response = serve_sandbox(request.method(), request.uri().path(), asset);
    let origin = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let mut response = response;
    let headers = response.headers_mut();
    if let Some(allowed) = allowed_origin(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(SANDBOX_CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static(RESOURCE_POLICY));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

fn serve_sandbox(method: &Method, raw_path: &str, asset: impl Fn(&str) -> Option<Vec<u8>>) -> Response<Vec<u8>> {
    if method != Method::GET && method != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD are served");
    }
    let path = percent_encoding::percent_decode_str(raw_path)
        .decode_utf8()
        .ok()
        .and_then(|path| path.strip_prefix(&format!("/{SANDBOX_PREFIX}/")).map(str::to_owned));
    let Some(path) = path.filter(|path| manifest::validate_bundle_path(path).is_ok()) else {
        tracing::warn!(raw_path, "mfe: refused a sandbox request path");
        return text(StatusCode::BAD_REQUEST, "refused: not a sandbox file");
    };
    let Some(bytes) = asset(&format!("{SANDBOX_ASSETS}/{path}")) else {
        return text(StatusCode::NOT_FOUND, "not a sandbox file");
    };
    let length = bytes.len();
    let body = if method == Method::HEAD { Vec::new() } else { bytes };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_type(&path)) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    response
}

/// A request for one file of a folder override, after sanitizing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevFileRequest {
    pub remote: String,
    pub path: String,
}

/// Splits and checks `/@dev/<remote>/<revision>/<file>`. The revision only
/// makes URLs new after a change (so the webview evaluates the modules
/// again); the file is always read as it is now.
pub fn parse_dev_path(raw_path: &str) -> Result<DevFileRequest, PathRefused> {
    let decoded = percent_encoding::percent_decode_str(raw_path).decode_utf8().map_err(|_| PathRefused::Encoding)?;
    let rest = decoded.strip_prefix(&format!("/{DEV_PREFIX}/")).ok_or(PathRefused::Shape)?;
    let mut parts = rest.splitn(3, '/');
    let (Some(remote), Some(revision), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(PathRefused::Shape);
    };
    manifest::validate_remote_name(remote).map_err(PathRefused::Remote)?;
    if revision.is_empty() || !revision.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PathRefused::Version(format!("{revision:?} is not a dev revision")));
    }
    manifest::validate_bundle_path(path).map_err(PathRefused::File)?;
    Ok(DevFileRequest { remote: remote.to_owned(), path: path.to_owned() })
}

/// A dev file changes with every rebuild: never cached by the webview.
const NO_STORE: &str = "no-store";

fn serve_dev(dev: &DevOverrides, method: &Method, path: &str) -> Response<Vec<u8>> {
    if method != Method::GET && method != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD are served");
    }
    let file = match parse_dev_path(path) {
        Ok(file) => file,
        Err(refused) => {
            tracing::warn!(path, %refused, "mfe: refused a dev request path");
            return text(StatusCode::BAD_REQUEST, &format!("refused: {refused}"));
        }
    };
    let Some(folder) = dev.folder(&file.remote) else {
        return text(StatusCode::NOT_FOUND, "this remote has no folder override");
    };
    // The path is already free of `..` and absolute parts; resolving links
    // and re-checking the prefix also keeps a symlink in the folder from
    // reaching outside it.
    let resolved = match folder.join(&file.path).canonicalize() {
        Ok(resolved) if resolved.starts_with(folder) && resolved.is_file() => resolved,
        Ok(resolved) if !resolved.starts_with(folder) => {
            tracing::warn!(remote = %file.remote, path = %file.path, "mfe: dev path leads outside its folder");
            return text(StatusCode::FORBIDDEN, "refused: the path leads outside the override folder");
        }
        _ => return text(StatusCode::NOT_FOUND, "not in the override folder"),
    };
    let bytes = match std::fs::read(&resolved) {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::warn!(%err, file = %resolved.display(), "mfe: dev file unreadable");
            return text(StatusCode::NOT_FOUND, "not readable in the override folder");
        }
    };
    let length = bytes.len();
    let body = if method == Method::HEAD { Vec::new() } else { bytes };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_type(&file.path)) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    response
}

/// The response when the shell state is not ready (a request raced start-up).
pub fn unavailable(policy: &ResponsePolicy, request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    with_common_headers(policy, request, text(StatusCode::SERVICE_UNAVAILABLE, "the shell is starting"))
}

fn text(status: StatusCode, message: &str) -> Response<Vec<u8>> {
    let mut response = Response::new(message.as_bytes().to_vec());
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

#[cfg(test)]
mod tests {
    use cache::{FileEntry, NewVersion, Sha256Digest};

    use super::*;

    /// A real cache in a temporary folder with `hello 1.0.0` installed.
    fn cache_with_hello() -> (tempfile::TempDir, BundleCache) {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = BundleCache::open(dir.path()).expect("open cache");
        let files: &[(&str, &[u8])] = &[
            ("remoteEntry.js", b"export const init = () => {};\n"),
            ("assets/style.css", b"body{}"),
            ("assets/logo.svg", b"<svg/>"),
            ("assets/data.bin", b"\x00\x01"),
            ("assets/app.wasm", b"\x00asm"),
            ("page.html", b"<!doctype html><script>eval('1')</script>"),
        ];
        let guard = cache.install_guard().expect("guard");
        let mut entries = Vec::new();
        for (path, bytes) in files {
            let digest = Sha256Digest::of(bytes);
            cache.write_blob(&guard, &digest, bytes).expect("write blob");
            entries.push(FileEntry { path: (*path).to_owned(), sha256: digest, length: bytes.len() as u64 });
        }
        let version = NewVersion {
            registry: "file:///registry".into(),
            name: "hello".into(),
            version: "1.0.0".into(),
            manifest_json: "{}".into(),
            files: entries,
        };
        cache.commit_version(&guard, &version).expect("commit");
        (dir, cache)
    }

    fn get(cache: &BundleCache, uri: &str) -> Response<Vec<u8>> {
        let request = Request::builder().uri(uri).body(Vec::new()).expect("request");
        respond(cache, &ResponsePolicy::default(), &request)
    }

    #[test]
    fn serves_a_cached_module_with_js_type_cors_and_immutable_caching() {
        let (_dir, cache) = cache_with_hello();
        let response = get(&cache, "mfe://localhost/hello/1.0.0/remoteEntry.js");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.body(), b"export const init = () => {};\n");
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "tauri://localhost");
    }

    /// Issue 20, point 4: a bundle's HTML page opened as a document must not
    /// escape the shell's CSP, so every response (pages, modules, refusals,
    /// dev files, the start-up race) carries it and the security headers.
    #[test]
    fn point_4_every_mfe_response_carries_the_shell_csp_and_security_headers() {
        let (_cache_dir, cache) = cache_with_hello();
        let (_dev_dir, dev) = dev_folder();
        let shell_csp = "default-src 'self'; script-src 'self' mfe: http://localhost:5173; connect-src 'self' ipc:";
        let policy = ResponsePolicy::new(Some(shell_csp));
        let request =
            |method: Method, uri: &str| Request::builder().method(method).uri(uri).body(Vec::new()).expect("request");
        let responses = [
            (
                "page",
                respond_with_dev(&cache, &dev, &policy, &request(Method::GET, "mfe://localhost/hello/1.0.0/page.html")),
            ),
            (
                "module",
                respond_with_dev(
                    &cache,
                    &dev,
                    &policy,
                    &request(Method::GET, "mfe://localhost/hello/1.0.0/remoteEntry.js"),
                ),
            ),
            (
                "404",
                respond_with_dev(
                    &cache,
                    &dev,
                    &policy,
                    &request(Method::GET, "mfe://localhost/hello/1.0.0/missing.html"),
                ),
            ),
            (
                "400",
                respond_with_dev(&cache, &dev, &policy, &request(Method::GET, "mfe://localhost/hello/1.0.0/../x.html")),
            ),
            (
                "405",
                respond_with_dev(
                    &cache,
                    &dev,
                    &policy,
                    &request(Method::POST, "mfe://localhost/hello/1.0.0/page.html"),
                ),
            ),
            (
                "dev file",
                respond_with_dev(
                    &cache,
                    &dev,
                    &policy,
                    &request(Method::GET, "mfe://localhost/@dev/hello/0/remoteEntry.js"),
                ),
            ),
            (
                "dev 404",
                respond_with_dev(
                    &cache,
                    &dev,
                    &policy,
                    &request(Method::GET, "mfe://localhost/@dev/hello/0/missing.html"),
                ),
            ),
            ("starting", unavailable(&policy, &request(Method::GET, "mfe://localhost/hello/1.0.0/page.html"))),
        ];
        assert_eq!(responses[0].1.status(), StatusCode::OK, "the page itself is served, under the policy");
        assert_eq!(responses[0].1.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        for (what, response) in &responses {
            let headers = response.headers();
            let csp = headers.get(header::CONTENT_SECURITY_POLICY).unwrap_or_else(|| panic!("{what}: no CSP"));
            assert_eq!(csp, &format!("{shell_csp}; frame-ancestors 'none'"), "{what}: the shell's own policy");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
            assert_eq!(headers["cross-origin-opener-policy"], "same-origin", "{what}");
            assert_eq!(headers["cross-origin-resource-policy"], RESOURCE_POLICY, "{what}");
            assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{what}");
        }
        // Without a configured policy, the built-in one is as strict as tauri.conf.json.
        let default = get(&cache, "mfe://localhost/hello/1.0.0/page.html");
        let csp = default.headers()[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
        assert!(csp.starts_with("default-src 'self'; script-src 'self' mfe: http://mfe.localhost;"), "{csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains('*'), "{csp}");
        assert!(
            csp.ends_with("frame-src mfe://localhost/@sandbox/ http://mfe.localhost/@sandbox/; frame-ancestors 'none'"),
            "{csp}"
        );
    }

    /// The CSP written in tauri.conf.json is the one the scheme falls back to.
    #[test]
    fn the_default_policy_matches_the_app_config() {
        let config: serde_json::Value =
            serde_json::from_str(include_str!("../../tauri.conf.json")).expect("tauri.conf.json");
        let csp: tauri::utils::config::Csp =
            serde_json::from_value(config["app"]["security"]["csp"].clone()).expect("a CSP");
        let mut configured: Vec<String> = csp.to_string().split(';').map(|d| d.trim().to_owned()).collect();
        let mut builtin: Vec<String> = DEFAULT_CSP.split(';').map(|d| d.trim().to_owned()).collect();
        configured.sort();
        builtin.sort();
        assert_eq!(configured, builtin, "keep DEFAULT_CSP in step with tauri.conf.json");
    }

    #[test]
    fn the_windows_form_and_a_query_string_serve_the_same_file() {
        let (_dir, cache) = cache_with_hello();
        let response = get(&cache, "http://mfe.localhost/hello/1.0.0/remoteEntry.js?retry=3");
        assert_eq!(response.status(), StatusCode::OK, "the query is a cache-buster, not part of the path");
    }

    #[test]
    fn content_types_follow_the_extension() {
        let (_dir, cache) = cache_with_hello();
        for (path, expected) in [
            ("assets/style.css", "text/css; charset=utf-8"),
            ("assets/logo.svg", "image/svg+xml"),
            ("assets/data.bin", "application/octet-stream"),
            ("assets/app.wasm", "application/wasm"),
        ] {
            let response = get(&cache, &format!("mfe://localhost/hello/1.0.0/{path}"));
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], expected, "{path}");
        }
        assert_eq!(content_type("a/b.MJS"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("x.json"), "application/json");
    }

    #[test]
    fn traversal_and_malformed_paths_are_refused_before_any_lookup() {
        let (_dir, cache) = cache_with_hello();
        for path in [
            "/hello/1.0.0/../../index.sqlite",
            "/hello/1.0.0/%2e%2e/%2e%2e/index.sqlite",
            "/hello/1.0.0/%2E%2E%2F%2E%2E%2Findex.sqlite",
            "/hello/1.0.0/assets/..%2f..%2fremoteEntry.js",
            "/hello/1.0.0//etc/passwd",
            "/hello/1.0.0/%2fetc%2fpasswd",
            "/hello/1.0.0/assets%5c..%5cremoteEntry.js",
            "/hello/1.0.0/assets\\..\\remoteEntry.js",
            "/hello/1.0.0/./remoteEntry.js",
            "/hello/1.0.0/C:%5cWindows",
            "/hello/1.0.0/remoteEntry.js%00.css",
            "/hello/1.0.0/%ff%fe",
            "/../hello/1.0.0/remoteEntry.js",
            "/hello/../1.0.0/remoteEntry.js",
            "/Hello/1.0.0/remoteEntry.js",
            "/hello/latest/remoteEntry.js",
            "/hello/1.0.0",
            "/hello",
            "/",
        ] {
            let response = get(&cache, &format!("mfe://localhost{path}"));
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path} must be refused");
            assert!(response.headers().get(header::CACHE_CONTROL).is_none(), "{path}: refusals are not cached");
        }
    }

    #[test]
    fn anything_not_indexed_is_a_404() {
        let (_dir, cache) = cache_with_hello();
        for uri in [
            "mfe://localhost/hello/1.0.0/missing.js",
            "mfe://localhost/hello/2.0.0/remoteEntry.js",
            "mfe://localhost/other/1.0.0/remoteEntry.js",
            // Double encoding decodes once to a literal `%2e%2e` segment: a name the cache does not have.
            "mfe://localhost/hello/1.0.0/%252e%252e/index.sqlite",
            // The cache's own files are never addressable.
            "mfe://localhost/hello/1.0.0/index.sqlite",
        ] {
            assert_eq!(get(&cache, uri).status(), StatusCode::NOT_FOUND, "{uri}");
        }
    }

    #[test]
    fn a_blob_changed_on_disk_after_install_is_not_served() {
        let (dir, cache) = cache_with_hello();
        let (blob, _) = cache.file_path("hello", "1.0.0", "remoteEntry.js").expect("lookup").expect("indexed");
        assert!(blob.starts_with(dir.path()));
        std::fs::write(&blob, b"alert('tampered')").expect("tamper");
        let response = get(&cache, "mfe://localhost/hello/1.0.0/remoteEntry.js");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!response.body().starts_with(b"alert"), "tampered content must not be served");
    }

    #[test]
    fn only_get_and_head_are_served_and_head_has_no_body() {
        let (_dir, cache) = cache_with_hello();
        let head = Request::builder()
            .method(Method::HEAD)
            .uri("mfe://localhost/hello/1.0.0/remoteEntry.js")
            .body(Vec::new())
            .expect("request");
        let response = respond(&cache, &ResponsePolicy::default(), &head);
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.body().is_empty());
        assert_eq!(response.headers()[header::CONTENT_LENGTH], "30");
        let post = Request::builder()
            .method(Method::POST)
            .uri("mfe://localhost/hello/1.0.0/remoteEntry.js")
            .body(b"x".to_vec())
            .expect("request");
        assert_eq!(respond(&cache, &ResponsePolicy::default(), &post).status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn other_origins_get_no_cors_grant() {
        let (_dir, cache) = cache_with_hello();
        let request = Request::builder()
            .uri("mfe://localhost/hello/1.0.0/remoteEntry.js")
            .header(header::ORIGIN, "https://evil.example")
            .body(Vec::new())
            .expect("request");
        let response = respond(&cache, &ResponsePolicy::default(), &request);
        assert!(response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        let request = Request::builder()
            .uri("mfe://localhost/hello/1.0.0/remoteEntry.js")
            .header(header::ORIGIN, "http://tauri.localhost")
            .body(Vec::new())
            .expect("request");
        assert_eq!(
            respond(&cache, &ResponsePolicy::default(), &request).headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://tauri.localhost"
        );
    }

    fn sandbox_get(uri: &str, origin: Option<&str>) -> Response<Vec<u8>> {
        let mut request = Request::builder().uri(uri);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        let files = |path: &str| match path {
            "sandbox/index.html" => Some(b"<!doctype html>".to_vec()),
            "sandbox/assets/main.js" => Some(b"export {}".to_vec()),
            _ => None,
        };
        respond_sandbox(&request.body(Vec::new()).expect("request"), files)
    }

    /// Issue 15, point 3: the sandbox page is an opaque-origin document that
    /// can load scripts from `mfe:` only, connect nowhere, and be framed by
    /// the shell page only.
    #[test]
    fn point_3_the_sandbox_page_is_served_with_the_sandbox_policy() {
        let page = sandbox_get("mfe://localhost/@sandbox/index.html", None);
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        let csp = page.headers()[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
        assert_eq!(csp, SANDBOX_CSP);
        for directive in
            ["sandbox allow-scripts", "connect-src 'none'", "default-src 'none'", "frame-ancestors tauri://localhost"]
        {
            assert!(csp.contains(directive), "{directive} in {csp}");
        }
        assert!(!csp.contains("allow-same-origin") && !csp.contains("'self'") && !csp.contains("unsafe"), "{csp}");
        // Its scripts load in CORS mode from an opaque origin, which sends `Origin: null`.
        let script = sandbox_get("mfe://localhost/@sandbox/assets/main.js", Some("null"));
        assert_eq!(script.status(), StatusCode::OK);
        assert_eq!(script.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "null");
        assert_eq!(script.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    }

    #[test]
    fn point_3_the_sandbox_serves_its_own_files_only() {
        for uri in [
            "mfe://localhost/@sandbox/missing.js",
            "mfe://localhost/@sandbox/../index.html",
            "mfe://localhost/@sandbox/%2e%2e/index.html",
            "mfe://localhost/@sandbox//etc/passwd",
            "mfe://localhost/@sandbox/",
        ] {
            let status = sandbox_get(uri, None).status();
            assert!(status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST, "{uri}: {status}");
        }
        let post = Request::builder()
            .method(Method::POST)
            .uri("mfe://localhost/@sandbox/index.html")
            .body(Vec::new())
            .expect("request");
        assert_eq!(respond_sandbox(&post, |_| Some(Vec::new())).status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    /// A sandboxed remote's page (opaque origin) may load remotes' public code, nothing more.
    #[test]
    fn an_opaque_origin_gets_a_null_cors_grant_for_remote_files() {
        let (_dir, cache) = cache_with_hello();
        let request = Request::builder()
            .uri("mfe://localhost/hello/1.0.0/remoteEntry.js")
            .header(header::ORIGIN, "null")
            .body(Vec::new())
            .expect("request");
        assert_eq!(
            respond(&cache, &ResponsePolicy::default(), &request).headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "null"
        );
    }

    /// A folder override of `hello` next to a file that must stay out of reach.
    fn dev_folder() -> (tempfile::TempDir, DevOverrides) {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("hello-dist");
        std::fs::create_dir_all(folder.join("assets")).expect("folder");
        std::fs::write(
            folder.join("remote.json"),
            r#"{"name":"hello","version":"1.0.0","entry":"remoteEntry.js","hostApi":"^1.0.0"}"#,
        )
        .expect("manifest");
        std::fs::write(folder.join("remoteEntry.js"), "export const dev = 1;\n").expect("entry");
        std::fs::write(folder.join("assets/style.css"), "body{}").expect("css");
        std::fs::write(folder.join("assets/logo.svg"), "<svg/>").expect("svg");
        std::fs::write(folder.join("assets/app.wasm"), b"\x00asm").expect("wasm");
        std::fs::write(dir.path().join("secret.txt"), "outside").expect("secret");
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), folder.join("assets/link.txt")).expect("symlink");
        let overrides =
            DevOverrides::resolve(&std::collections::BTreeMap::new(), &["hello=hello-dist".to_owned()], dir.path())
                .expect("override");
        (dir, overrides)
    }

    fn get_dev(cache: &BundleCache, dev: &DevOverrides, uri: &str) -> Response<Vec<u8>> {
        let request = Request::builder().uri(uri).body(Vec::new()).expect("request");
        respond_with_dev(cache, dev, &ResponsePolicy::default(), &request)
    }

    #[test]
    fn dev_files_come_from_the_folder_uncached_with_the_usual_types() {
        let (_cache_dir, cache) = cache_with_hello();
        let (_dir, dev) = dev_folder();
        let response = get_dev(&cache, &dev, "mfe://localhost/@dev/hello/0/remoteEntry.js");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.body(), b"export const dev = 1;\n", "the folder's file, not the cached one");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "tauri://localhost");
        for (path, expected) in [
            ("assets/style.css", "text/css; charset=utf-8"),
            ("assets/logo.svg", "image/svg+xml"),
            ("assets/app.wasm", "application/wasm"),
            ("remote.json", "application/json"),
        ] {
            let response = get_dev(&cache, &dev, &format!("http://mfe.localhost/@dev/hello/7/{path}?reload=1"));
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], expected, "{path}");
        }
        // Cached versions are still served next to the override.
        assert_eq!(get_dev(&cache, &dev, "mfe://localhost/hello/1.0.0/remoteEntry.js").status(), StatusCode::OK);
    }

    #[test]
    fn dev_paths_refuse_traversal_and_reach_nothing_outside_the_folder() {
        let (_cache_dir, cache) = cache_with_hello();
        let (_dir, dev) = dev_folder();
        for path in [
            "/@dev/hello/0/../secret.txt",
            "/@dev/hello/0/%2e%2e/secret.txt",
            "/@dev/hello/0/assets/..%2f..%2fsecret.txt",
            "/@dev/hello/0//etc/passwd",
            "/@dev/hello/0/%2fetc%2fpasswd",
            "/@dev/hello/0/assets%5c..%5c..%5csecret.txt",
            "/@dev/hello/0/./remoteEntry.js",
            "/@dev/hello/0/C:%5cWindows",
            "/@dev/hello/0/remoteEntry.js%00.css",
            "/@dev/hello/x/remoteEntry.js",
            "/@dev/hello//remoteEntry.js",
            "/@dev/../hello/0/remoteEntry.js",
            "/@dev/Hello/0/remoteEntry.js",
            "/@dev/hello/0",
            "/@dev/",
        ] {
            let response = get_dev(&cache, &dev, &format!("mfe://localhost{path}"));
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path} must be refused");
        }
        #[cfg(unix)]
        {
            let response = get_dev(&cache, &dev, "mfe://localhost/@dev/hello/0/assets/link.txt");
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "a symlink out of the folder is refused");
            assert!(!response.body().starts_with(b"outside"));
        }
        for uri in ["mfe://localhost/@dev/hello/0/missing.js", "mfe://localhost/@dev/other/0/remoteEntry.js"] {
            assert_eq!(get_dev(&cache, &dev, uri).status(), StatusCode::NOT_FOUND, "{uri}");
        }
        let post = Request::builder()
            .method(Method::POST)
            .uri("mfe://localhost/@dev/hello/0/remoteEntry.js")
            .body(Vec::new())
            .expect("request");
        assert_eq!(
            respond_with_dev(&cache, &dev, &ResponsePolicy::default(), &post).status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn entry_urls_round_trip_through_the_parser() {
        let url = url_for("hello", "1.0.0", "assets/remoteEntry.js");
        let path = url.split_once("localhost").map(|(_, p)| p).expect("has a host");
        let parsed = parse_path(path).expect("valid");
        assert_eq!(
            parsed,
            FileRequest { remote: "hello".into(), version: "1.0.0".into(), path: "assets/remoteEntry.js".into() }
        );
    }
}
