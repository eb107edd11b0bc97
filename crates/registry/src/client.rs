//! Fetching registry documents from a folder or over HTTP(S), with limits
//! on every read and timeouts on every request.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use jiff::Timestamp;
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_NONE_MATCH};
use tokio::io::AsyncReadExt as _;

use crate::error::RegistryError;
use crate::keys::{PublicKey, TrustAnchor};
use crate::limits::Limits;
use crate::metadata::{
    RemoteIndex, Root, SnapshotEntry, blob_path, is_lower_hex, remote_index_path, versioned_root_path,
};
use crate::source::{RegistrySource, folder_file};
use crate::verify::{self, SnapshotCheck};

/// A hostile server could announce root version 2^64; following that many
/// rotations is never legitimate.
const MAX_ROOT_ROTATIONS: u64 = 1024;

/// Timeouts and limits for a [`RegistryClient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Time allowed to open a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Time allowed for one whole request, from connecting to the last body byte.
    pub total_timeout: Duration,
    /// Time allowed without receiving a byte while reading a response, so a
    /// stalled server is noticed before the total timeout on large downloads.
    pub read_idle_timeout: Duration,
    pub limits: Limits,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(30),
            read_idle_timeout: Duration::from_secs(10),
            limits: Limits::default(),
        }
    }
}

/// The answer to a (possibly conditional) fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The server answered 304: the cached copy with that ETag is current.
    NotModified,
    Body {
        bytes: Bytes,
        etag: Option<String>,
    },
}

/// A verified document that changed, or a sign that it did not.
#[derive(Debug, Clone, PartialEq)]
pub enum Refresh<T> {
    /// 304 Not Modified: keep using the cached copy.
    NotModified,
    /// A new copy, verified; `bytes` and `etag` are what to cache.
    Updated { value: T, bytes: Bytes, etag: Option<String> },
}

/// How to word a body that runs past its bound.
#[derive(Debug, Clone, Copy)]
enum Bound {
    /// A size limit on a document of unknown length.
    Limit,
    /// The exact length an index declared for a blob.
    Declared,
}

impl Bound {
    fn error(self, document: String, size: Option<u64>, max_len: u64) -> RegistryError {
        match self {
            Self::Limit => RegistryError::TooLarge { document, size, limit: max_len },
            Self::Declared => RegistryError::LongerThanDeclared { document, declared: max_len },
        }
    }
}

/// Reads a registry tree from a folder or an HTTP(S) server.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    source: RegistrySource,
    http: Option<reqwest::Client>,
    options: ClientOptions,
}

impl RegistryClient {
    pub fn new(source: RegistrySource, options: ClientOptions) -> Result<Self, RegistryError> {
        let http = match &source {
            RegistrySource::Folder(_) => None,
            RegistrySource::Http(url) => Some(
                reqwest::Client::builder()
                    .connect_timeout(options.connect_timeout)
                    .timeout(options.total_timeout)
                    .read_timeout(options.read_idle_timeout)
                    // Proxy settings from the environment are not consulted:
                    // a registry is configured explicitly, and loopback test
                    // servers must never be sent through a proxy.
                    .no_proxy()
                    .user_agent(concat!("augment-it/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|err| RegistryError::Transfer {
                        url: url.to_string(),
                        reason: format!("the HTTP client cannot be set up ({})", innermost(&err)),
                    })?,
            ),
        };
        Ok(Self { source, http, options })
    }

    pub fn source(&self) -> &RegistrySource {
        &self.source
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Fetches a document of the registry tree ("snapshot.json",
    /// "remotes/x.json"), reading at most `max_len` bytes. With
    /// `cached_etag`, an HTTP server may answer [`Fetched::NotModified`].
    /// Folders always return the body (reading a file is as cheap as
    /// checking it) and no ETag.
    pub async fn fetch_document(
        &self,
        path: &str,
        max_len: u64,
        cached_etag: Option<&str>,
    ) -> Result<Fetched, RegistryError> {
        self.fetch(path, max_len, cached_etag, Bound::Limit).await
    }

    /// Fetches `blobs/sha256/<sha256>`, refusing more or fewer than `length`
    /// bytes or a different hash.
    pub async fn fetch_blob(&self, sha256: &str, length: u64) -> Result<Bytes, RegistryError> {
        let path = blob_path(sha256);
        let url = self.source.url_of(&path);
        if !is_lower_hex(sha256, 64) {
            return Err(RegistryError::malformed(url, "a blob address is 64 lowercase hex digits"));
        }
        let limit = self.options.limits.blob;
        if length > limit {
            return Err(RegistryError::TooLarge { document: url, size: Some(length), limit });
        }
        match self.fetch(&path, length, None, Bound::Declared).await? {
            Fetched::Body { bytes, .. } => {
                verify::verify_blob(sha256, length, &bytes).map_err(|err| err.with_origin(&url))?;
                Ok(bytes)
            }
            Fetched::NotModified => Err(RegistryError::UnexpectedNotModified { url }),
        }
    }

    /// Starts downloading `blobs/sha256/<sha256>` for a caller that stores
    /// it as it arrives: [`BlobDownload::chunk`] hands out the body chunk by
    /// chunk, refusing more or fewer than `length` bytes, under the same
    /// timeouts as every request. Checking the sha256 is left to the caller,
    /// which hashes the chunks while it writes them (the cache's blob writer
    /// does), so the bytes are read once; [`RegistryClient::fetch_blob`]
    /// checks both for callers that want the blob in memory.
    pub async fn open_blob(&self, sha256: &str, length: u64) -> Result<BlobDownload, RegistryError> {
        let path = blob_path(sha256);
        let url = self.source.url_of(&path);
        if !is_lower_hex(sha256, 64) {
            return Err(RegistryError::malformed(url, "a blob address is 64 lowercase hex digits"));
        }
        let limit = self.options.limits.blob;
        if length > limit {
            return Err(RegistryError::TooLarge { document: url, size: Some(length), limit });
        }
        let started = Instant::now();
        let body = match (&self.source, &self.http) {
            (RegistrySource::Http(base), Some(client)) => {
                let target = base.join(&path).map_err(|err| RegistryError::malformed(&url, err.to_string()))?;
                let deadline = tokio::time::Instant::from_std(started + self.options.total_timeout);
                let sent = send_http(client, target, &url, length, None, Bound::Declared, started);
                let answer = tokio::time::timeout_at(deadline, sent)
                    .await
                    .unwrap_or_else(|_| Err(RegistryError::Timeout { url: url.clone(), after: started.elapsed() }))?;
                match answer {
                    Answer::Body { response, .. } => BlobBody::Http { response, deadline },
                    Answer::NotModified => return Err(RegistryError::UnexpectedNotModified { url }),
                }
            }
            (RegistrySource::Folder(root), _) => {
                let file_path = folder_file(root, &path);
                let (file, _) = open_file(&file_path, &url, length, Bound::Declared).await?;
                BlobBody::File { file, path: file_path }
            }
            (RegistrySource::Http(_), None) => {
                return Err(RegistryError::Transfer { url, reason: "no HTTP client was set up".into() });
            }
        };
        Ok(BlobDownload { path, url, length, received: 0, started, body })
    }

    /// Fetches and verifies `root.json` against `anchor` (see
    /// [`verify::verify_root`]). With a root anchor and the ETag of its
    /// cached copy, a 304 answer returns [`Refresh::NotModified`] once the
    /// anchor is checked not to have expired. When the server's root is more
    /// than one version ahead, the intermediate `roots/<n>.root.json` are
    /// fetched and chained.
    pub async fn refresh_root(
        &self,
        anchor: &TrustAnchor,
        cached_etag: Option<&str>,
        now: Timestamp,
    ) -> Result<Refresh<Root>, RegistryError> {
        let limits = self.options.limits;
        let path = "root.json";
        let url = self.source.url_of(path);
        let etag_to_send = match anchor {
            TrustAnchor::Root(_) => cached_etag,
            // Without a root there is no cached copy a 304 could refer to.
            TrustAnchor::Key(_) => None,
        };
        let (bytes, etag) = match self.fetch(path, limits.root, etag_to_send, Bound::Limit).await? {
            Fetched::Body { bytes, etag } => (bytes, etag),
            Fetched::NotModified => {
                if let TrustAnchor::Root(trusted) = anchor
                    && trusted.is_expired(now)
                {
                    return Err(RegistryError::Expired {
                        document: format!("root.json from {url}"),
                        expires: trusted.expires,
                    });
                }
                return Ok(Refresh::NotModified);
            }
        };
        let chained;
        let anchor = match anchor {
            TrustAnchor::Root(trusted) => {
                let (_, offered) = verify::open_root(&bytes, path, limits.root).map_err(|err| err.with_origin(&url))?;
                if offered.version > trusted.version + 1 {
                    if offered.version - trusted.version > MAX_ROOT_ROTATIONS {
                        return Err(RegistryError::malformed(
                            format!("root.json from {url}"),
                            format!(
                                "it is version {} while the trusted root is version {}, more than {MAX_ROOT_ROTATIONS} rotations apart",
                                offered.version, trusted.version
                            ),
                        ));
                    }
                    let mut newer = Vec::new();
                    for version in trusted.version + 1..=offered.version {
                        let root_path = versioned_root_path(version);
                        match self.fetch(&root_path, limits.root, None, Bound::Limit).await? {
                            Fetched::Body { bytes, .. } => newer.push(bytes),
                            Fetched::NotModified => {
                                return Err(RegistryError::UnexpectedNotModified {
                                    url: self.source.url_of(&root_path),
                                });
                            }
                        }
                    }
                    let origin = self.source.url_of("roots/");
                    chained = TrustAnchor::Root(
                        verify::verify_root_chain(trusted, &newer, &limits).map_err(|err| err.with_origin(&origin))?,
                    );
                    tracing::info!(from = trusted.version, to = offered.version, registry = %self.source, "rotated to a newer root");
                    &chained
                } else {
                    anchor
                }
            }
            TrustAnchor::Key(key) => {
                let (_, offered) = verify::open_root(&bytes, path, limits.root).map_err(|err| err.with_origin(&url))?;
                if offered.version > 1 && !offered.roles.root.keyids.contains(&key.key_id()) {
                    // The key may have been rotated out since this client
                    // was given it: walk from the first root, as a client
                    // that trusted root 1 would. Anything but a network
                    // failure leaves the plain "key not in root" refusal.
                    match self.walk_from_key(key, offered.version).await {
                        Ok(walked) => {
                            tracing::info!(to = offered.version, registry = %self.source, "followed root rotations from the trusted key");
                            chained = TrustAnchor::Root(walked);
                            &chained
                        }
                        Err(err) if err.is_network() => return Err(err),
                        Err(err) => {
                            tracing::debug!(%err, "the trusted key does not start the root chain");
                            anchor
                        }
                    }
                } else {
                    anchor
                }
            }
        };
        let root = verify::verify_root(&bytes, anchor, now, &limits).map_err(|err| err.with_origin(&url))?;
        Ok(Refresh::Updated { value: root, bytes, etag })
    }

    /// The root chain from `roots/1.root.json`, which `key` must sign as a
    /// root key, up to `roots/<version>.root.json`, each signed by the one
    /// before. Intermediate expiry does not matter (the caller checks the
    /// last root as usual).
    async fn walk_from_key(&self, key: &PublicKey, version: u64) -> Result<Root, RegistryError> {
        let limits = self.options.limits;
        if version - 1 > MAX_ROOT_ROTATIONS {
            return Err(RegistryError::malformed(
                self.source.url_of("root.json"),
                format!("it is version {version}, more than {MAX_ROOT_ROTATIONS} rotations from the first root"),
            ));
        }
        let first_path = versioned_root_path(1);
        let first_bytes = self.fetch_versioned_root(1).await?;
        let first = verify::verify_root_by_key(&first_bytes, key, &first_path, &limits)
            .map_err(|err| err.with_origin(&self.source.url_of(&first_path)))?;
        let mut newer = Vec::new();
        for number in 2..=version {
            newer.push(self.fetch_versioned_root(number).await?);
        }
        verify::verify_root_chain(&first, &newer, &limits).map_err(|err| err.with_origin(&self.source.url_of("roots/")))
    }

    async fn fetch_versioned_root(&self, version: u64) -> Result<Bytes, RegistryError> {
        let root_path = versioned_root_path(version);
        match self.fetch(&root_path, self.options.limits.root, None, Bound::Limit).await? {
            Fetched::Body { bytes, .. } => Ok(bytes),
            Fetched::NotModified => Err(RegistryError::UnexpectedNotModified { url: self.source.url_of(&root_path) }),
        }
    }

    /// Fetches and verifies `snapshot.json` (see [`verify::verify_snapshot`]).
    pub async fn fetch_snapshot(
        &self,
        root: &Root,
        highest_seen: Option<u64>,
        cached_etag: Option<&str>,
        now: Timestamp,
    ) -> Result<Refresh<SnapshotCheck>, RegistryError> {
        let limits = self.options.limits;
        let path = "snapshot.json";
        match self.fetch(path, limits.snapshot, cached_etag, Bound::Limit).await? {
            Fetched::NotModified => Ok(Refresh::NotModified),
            Fetched::Body { bytes, etag } => {
                let check = verify::verify_snapshot(root, &bytes, highest_seen, now, &limits)
                    .map_err(|err| err.with_origin(&self.source.url_of(path)))?;
                Ok(Refresh::Updated { value: check, bytes, etag })
            }
        }
    }

    /// Fetches `remotes/<name>.json` and verifies it against the snapshot
    /// entry that pins it. Returns the raw bytes too, for caching.
    pub async fn fetch_remote_index(
        &self,
        name: &str,
        entry: &SnapshotEntry,
    ) -> Result<(RemoteIndex, Bytes), RegistryError> {
        let limits = self.options.limits;
        let path = remote_index_path(name);
        let url = self.source.url_of(&path);
        manifest::validate_remote_name(name)
            .map_err(|message| RegistryError::InvalidIndex { document: url.clone(), message })?;
        let max_len = entry.length.min(limits.remote_index);
        if entry.length > limits.remote_index {
            return Err(RegistryError::TooLarge {
                document: url,
                size: Some(entry.length),
                limit: limits.remote_index,
            });
        }
        match self.fetch(&path, max_len, None, Bound::Declared).await? {
            Fetched::Body { bytes, .. } => {
                let index =
                    verify::verify_remote_index(entry, name, &bytes, &limits).map_err(|err| err.with_origin(&url))?;
                Ok((index, bytes))
            }
            Fetched::NotModified => Err(RegistryError::UnexpectedNotModified { url }),
        }
    }

    async fn fetch(
        &self,
        path: &str,
        max_len: u64,
        etag: Option<&str>,
        bound: Bound,
    ) -> Result<Fetched, RegistryError> {
        let url = self.source.url_of(path);
        if let Err(message) = manifest::validate_bundle_path(path) {
            return Err(RegistryError::malformed(url, message));
        }
        match (&self.source, &self.http) {
            (RegistrySource::Http(base), Some(client)) => {
                let target = base.join(path).map_err(|err| RegistryError::malformed(&url, err.to_string()))?;
                let started = Instant::now();
                // reqwest enforces the same total timeout; this outer one also
                // covers our own reading loop, so nothing can hang past it.
                let fetched = tokio::time::timeout(
                    self.options.total_timeout,
                    fetch_http(client, target, &url, max_len, etag, bound, started),
                )
                .await
                .unwrap_or_else(|_| Err(RegistryError::Timeout { url: url.clone(), after: started.elapsed() }))?;
                if let Fetched::Body { bytes, .. } = &fetched {
                    tracing::debug!(%url, bytes = bytes.len(), "fetched");
                } else {
                    tracing::debug!(%url, "not modified");
                }
                Ok(fetched)
            }
            (RegistrySource::Folder(root), _) => read_file(&folder_file(root, path), &url, max_len, bound).await,
            (RegistrySource::Http(_), None) => {
                Err(RegistryError::Transfer { url, reason: "no HTTP client was set up".into() })
            }
        }
    }
}

/// What a server answered, before the body is read.
enum Answer {
    NotModified,
    Body { response: reqwest::Response, etag: Option<String> },
}

async fn fetch_http(
    client: &reqwest::Client,
    target: url::Url,
    url: &str,
    max_len: u64,
    etag: Option<&str>,
    bound: Bound,
    started: Instant,
) -> Result<Fetched, RegistryError> {
    let (mut response, etag) = match send_http(client, target, url, max_len, etag, bound, started).await? {
        Answer::NotModified => return Ok(Fetched::NotModified),
        Answer::Body { response, etag } => (response, etag),
    };
    let capacity = response.content_length().unwrap_or(0).min(max_len).min(1 << 20);
    let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(|err| map_reqwest(&err, url, started))? {
        if (body.len() + chunk.len()) as u64 > max_len {
            return Err(bound.error(url.to_owned(), None, max_len));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched::Body { bytes: Bytes::from(body), etag })
}

/// Sends the request and checks the status and any announced length;
/// the body is left to the caller, which must count what arrives.
async fn send_http(
    client: &reqwest::Client,
    target: url::Url,
    url: &str,
    max_len: u64,
    etag: Option<&str>,
    bound: Bound,
    started: Instant,
) -> Result<Answer, RegistryError> {
    let mut request = client.get(target);
    if let Some(etag) = etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    let response = request.send().await.map_err(|err| map_reqwest(&err, url, started))?;
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED {
        return match etag {
            Some(_) => Ok(Answer::NotModified),
            None => Err(RegistryError::UnexpectedNotModified { url: url.to_owned() }),
        };
    }
    if status == StatusCode::NOT_FOUND {
        return Err(RegistryError::NotFound { url: url.to_owned() });
    }
    if !status.is_success() {
        return Err(RegistryError::HttpStatus { url: url.to_owned(), status: status.as_u16() });
    }
    let etag = response.headers().get(ETAG).and_then(|value| value.to_str().ok()).map(str::to_owned);
    // A Content-Length over the bound is refused before reading anything; one
    // under it is not trusted either: the reader counts what arrives.
    if let Some(declared) = response.content_length()
        && declared > max_len
    {
        return Err(bound.error(url.to_owned(), Some(declared), max_len));
    }
    Ok(Answer::Body { response, etag })
}

async fn read_file(path: &Path, url: &str, max_len: u64, bound: Bound) -> Result<Fetched, RegistryError> {
    let (file, len) = open_file(path, url, max_len, bound).await?;
    // The file may grow between the size check and the read; the read is
    // bounded too, one byte past the limit to notice.
    let mut body = Vec::with_capacity(usize::try_from(len.min(max_len)).unwrap_or(0));
    file.take(max_len.saturating_add(1))
        .read_to_end(&mut body)
        .await
        .map_err(|err| RegistryError::io("read", path, err))?;
    if body.len() as u64 > max_len {
        return Err(bound.error(url.to_owned(), None, max_len));
    }
    Ok(Fetched::Body { bytes: Bytes::from(body), etag: None })
}

/// Opens a registry file of a folder source, refusing one over `max_len`;
/// returns it with its length.
async fn open_file(
    path: &Path,
    url: &str,
    max_len: u64,
    bound: Bound,
) -> Result<(tokio::fs::File, u64), RegistryError> {
    let file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(RegistryError::NotFound { url: url.to_owned() });
        }
        Err(err) => return Err(RegistryError::io("open", path, err)),
    };
    let metadata = file.metadata().await.map_err(|err| RegistryError::io("inspect", path, err))?;
    if !metadata.is_file() {
        return Err(RegistryError::NotFound { url: url.to_owned() });
    }
    if metadata.len() > max_len {
        return Err(bound.error(url.to_owned(), Some(metadata.len()), max_len));
    }
    Ok((file, metadata.len()))
}

/// Read size for blobs from a folder source: large enough to amortise the
/// hop to tokio's blocking pool that every file read takes.
const FILE_CHUNK: usize = 256 * 1024;

/// A blob download started by [`RegistryClient::open_blob`].
#[derive(Debug)]
pub struct BlobDownload {
    /// `blobs/sha256/<hex>`, for messages.
    path: String,
    url: String,
    length: u64,
    received: u64,
    started: Instant,
    body: BlobBody,
}

#[derive(Debug)]
enum BlobBody {
    Http { response: reqwest::Response, deadline: tokio::time::Instant },
    File { file: tokio::fs::File, path: PathBuf },
}

impl BlobDownload {
    /// Where the blob comes from, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The next chunk of the body; `None` once exactly the declared length
    /// has arrived. More bytes than declared, or fewer before the end, are
    /// refused.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, RegistryError> {
        let chunk = match &mut self.body {
            BlobBody::Http { response, deadline } => match tokio::time::timeout_at(*deadline, response.chunk()).await {
                Ok(next) => next.map_err(|err| map_reqwest(&err, &self.url, self.started))?,
                Err(_) => return Err(RegistryError::Timeout { url: self.url.clone(), after: self.started.elapsed() }),
            },
            BlobBody::File { file, path } => {
                let mut buf = BytesMut::with_capacity(FILE_CHUNK);
                let read = file.read_buf(&mut buf).await.map_err(|err| RegistryError::io("read", &*path, err))?;
                (read > 0).then(|| buf.freeze())
            }
        };
        match chunk {
            Some(chunk) => {
                self.received += chunk.len() as u64;
                if self.received > self.length {
                    return Err(Bound::Declared.error(self.url.clone(), None, self.length));
                }
                Ok(Some(chunk))
            }
            None if self.received < self.length => Err(RegistryError::LengthMismatch {
                document: self.path.clone(),
                declared: self.length,
                actual: self.received,
            }
            .with_origin(&self.url)),
            None => Ok(None),
        }
    }
}

fn map_reqwest(err: &reqwest::Error, url: &str, started: Instant) -> RegistryError {
    let url = url.to_owned();
    if err.is_timeout() {
        RegistryError::Timeout { url, after: started.elapsed() }
    } else if err.is_connect() {
        RegistryError::Unreachable { url, reason: innermost(err) }
    } else {
        RegistryError::Transfer { url, reason: innermost(err) }
    }
}

/// The deepest cause of an error ("Connection refused (os error 111)"):
/// more useful than reqwest's wrapper, and free of request details.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}
