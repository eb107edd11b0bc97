//! Refresh a registry, select versions, install what is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cache::{BundleCache, FileEntry, InstallGuard, NewVersion, RegistryState, Sha256Digest, StoredDocument};
use futures_util::{StreamExt as _, TryStreamExt as _};
use manifest::{Candidate, HostProfile, RemoteManifest, SelectError, Selection, SelectionRequest, Version};
use registry::{Refresh, RegistryClient, RegistrySource, RemoteIndex, Snapshot, SnapshotCheck, TrustAnchor};
use serde::Serialize;

use crate::{ApiError, Progress, ProgressEvent};

/// Blobs and indexes are fetched this many at a time: enough to hide
/// round trips, few enough to be polite to a static host.
const PARALLEL_FETCHES: usize = 8;

#[derive(Debug, Clone)]
pub struct ResolveRequest {
    /// A folder, `file://` or `http(s)://` URL. Required unless `offline`.
    pub registry: Option<String>,
    /// Trust anchor for a registry seen for the first time.
    pub trust: Option<String>,
    /// Use the cache only; make no request at all.
    pub offline: bool,
    /// Remotes to resolve; empty means all.
    pub wanted: Vec<String>,
    pub profile: HostProfile,
    pub allow_prerelease: bool,
    /// Per-request timeout; the registry client's default when `None`.
    pub timeout: Option<Duration>,
    /// Exact files expected per remote (from a lock file): a mismatch refuses the install.
    pub expected_files: BTreeMap<String, Vec<FileEntry>>,
}

impl ResolveRequest {
    pub fn new(registry: Option<String>, profile: HostProfile) -> Self {
        Self {
            registry,
            trust: None,
            offline: false,
            wanted: Vec::new(),
            profile,
            allow_prerelease: false,
            timeout: None,
            expected_files: BTreeMap::new(),
        }
    }
}

/// Whether the registry was reached and how fresh its metadata is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum RegistryStatus {
    /// Fresh signed metadata was verified.
    #[serde(rename_all = "camelCase")]
    Online { snapshot_version: u64 },
    /// No request was made or none succeeded; the cache stood in.
    #[serde(rename_all = "camelCase")]
    Offline { last_reached_at: Option<i64>, reason: String },
    /// The registry answered with an expired snapshot: the cache stood in.
    #[serde(rename_all = "camelCase")]
    Stale { stale_since: i64, snapshot_version: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Downloaded, verified and installed by this run.
    Installed,
    /// Already in the cache.
    Cached,
    /// No version of it can be used; `reason` says why.
    Incompatible,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteOutcome {
    pub name: String,
    pub version: Option<String>,
    /// The registry it was installed from.
    pub source: Option<String>,
    pub verdict: Verdict,
    pub pinned: bool,
    /// Why a newer version was passed over, or why none fits.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolveReport {
    pub registry: Option<String>,
    pub status: RegistryStatus,
    pub remotes: Vec<RemoteOutcome>,
}

impl ResolveReport {
    pub fn has_incompatible(&self) -> bool {
        self.remotes.iter().any(|r| r.verdict == Verdict::Incompatible)
    }
}

/// Resolves `request` into `cache`: online when the registry answers with
/// fresh metadata, from the verified cache otherwise.
pub async fn resolve(
    cache: &BundleCache,
    request: &ResolveRequest,
    progress: &dyn Progress,
) -> Result<ResolveReport, ApiError> {
    let Some(source_text) = request.registry.as_deref() else {
        if request.offline {
            let status = RegistryStatus::Offline { last_reached_at: None, reason: "offline mode".into() };
            return resolve_from_cache(cache, request, None, status);
        }
        return Err(ApiError::NoRegistry);
    };
    let source = RegistrySource::parse(source_text)?;
    let registry_key = source.to_string();
    if request.offline {
        let last_reached_at = cache.registry_state(&registry_key)?.and_then(|s| s.last_reached_at);
        let status = RegistryStatus::Offline { last_reached_at, reason: "offline mode".into() };
        return resolve_from_cache(cache, request, Some(&registry_key), status);
    }
    let mut options = registry::ClientOptions::default();
    if let Some(timeout) = request.timeout {
        options.total_timeout = timeout;
    }
    let source_for_errors = source.clone();
    let client = RegistryClient::new(source, options)?;
    match refresh(cache, &client, &registry_key, request.trust.as_deref()).await {
        Ok(Refreshed::Fresh(snapshot)) => {
            resolve_online(cache, &client, &registry_key, &snapshot, request, progress).await
        }
        Ok(Refreshed::Stale { stale_since, snapshot_version }) => {
            tracing::warn!(registry = %registry_key, "the registry's snapshot has expired; using the cache");
            let status = RegistryStatus::Stale { stale_since, snapshot_version };
            resolve_from_cache(cache, request, Some(&registry_key), status)
        }
        Err(ApiError::Registry(err)) if is_unreachable(&err, &source_for_errors) => {
            tracing::warn!(registry = %registry_key, %err, "registry unreachable; using the cache");
            let last_reached_at = cache.registry_state(&registry_key)?.and_then(|s| s.last_reached_at);
            let status = RegistryStatus::Offline { last_reached_at, reason: err.to_string() };
            let report = resolve_from_cache(cache, request, Some(&registry_key), status)?;
            if report.remotes.iter().all(|r| r.version.is_none()) {
                return Err(ApiError::UnreachableNothingCached { registry: registry_key, reason: err.to_string() });
            }
            Ok(report)
        }
        Err(err) => Err(err),
    }
}

/// A network failure, or a registry folder that is not there (an unmounted
/// drive or share): both mean "offline", not "the registry is wrong".
fn is_unreachable(err: &registry::RegistryError, source: &RegistrySource) -> bool {
    let missing_folder = matches!(
        (err, source),
        (registry::RegistryError::NotFound { .. }, RegistrySource::Folder(folder)) if !folder.join("root.json").exists()
    );
    err.is_network() || missing_folder
}

enum Refreshed {
    Fresh(Snapshot),
    Stale { stale_since: i64, snapshot_version: u64 },
}

/// Brings the trusted root and the snapshot up to date, verifying both, and
/// persists the new trust state.
async fn refresh(
    cache: &BundleCache,
    client: &RegistryClient,
    registry_key: &str,
    trust: Option<&str>,
) -> Result<Refreshed, ApiError> {
    let now = jiff::Timestamp::now();
    let limits = client.options().limits;
    let state = cache.registry_state(registry_key)?;
    // After first contact the stored, verified root is the anchor; `--trust`
    // only matters the first time.
    let (anchor, stored_root) = match &state {
        Some(state) => {
            (TrustAnchor::from_root_json(state.trusted_root_json.as_bytes())?, Some(state.trusted_root_json.clone()))
        }
        None => {
            let anchor = trust.ok_or_else(|| ApiError::NoTrustAnchor { registry: registry_key.to_owned() })?;
            (TrustAnchor::parse(anchor)?, None)
        }
    };
    let root_etag = match &stored_root {
        Some(_) => cache.metadata(registry_key, "root.json")?.and_then(|doc| doc.etag),
        None => None,
    };
    let (root, root_json) = match client.refresh_root(&anchor, root_etag.as_deref(), now).await? {
        Refresh::Updated { value, bytes, etag } => {
            cache.save_metadata(registry_key, "root.json", &StoredDocument { etag, body: bytes.to_vec() })?;
            (value, String::from_utf8_lossy(&bytes).into_owned())
        }
        Refresh::NotModified => match (anchor, stored_root) {
            (TrustAnchor::Root(root), Some(json)) => (root, json),
            _ => return Err(registry::RegistryError::UnexpectedNotModified { url: "root.json".into() }.into()),
        },
    };
    let highest = state.as_ref().map(|s| s.highest_snapshot_version);
    let stored_snapshot = cache.metadata(registry_key, "snapshot.json")?;
    let snapshot_etag = stored_snapshot.as_ref().and_then(|doc| doc.etag.as_deref());
    let check = match client.fetch_snapshot(&root, highest, snapshot_etag, now).await? {
        Refresh::Updated { value, bytes, etag } => {
            if value.is_fresh() {
                cache.save_metadata(registry_key, "snapshot.json", &StoredDocument { etag, body: bytes.to_vec() })?;
            }
            value
        }
        // Not modified: the stored copy is current, but it may have expired since.
        Refresh::NotModified => match &stored_snapshot {
            Some(doc) => registry::verify_snapshot(&root, &doc.body, highest, now, &limits)?,
            None => return Err(registry::RegistryError::UnexpectedNotModified { url: "snapshot.json".into() }.into()),
        },
    };
    let now_secs = now.as_second();
    let mut new_state = RegistryState {
        trusted_root_json: root_json,
        highest_snapshot_version: highest.unwrap_or(0),
        last_reached_at: Some(now_secs),
        stale_since: None,
    };
    match check {
        SnapshotCheck::Fresh(snapshot) => {
            new_state.highest_snapshot_version = new_state.highest_snapshot_version.max(snapshot.version);
            cache.save_registry_state(registry_key, &new_state)?;
            Ok(Refreshed::Fresh(snapshot))
        }
        SnapshotCheck::Expired(snapshot) => {
            // Verified but expired: remember that the registry answered and
            // since when it is stale, but keep the older fresh state.
            let stale_since = state.as_ref().and_then(|s| s.stale_since).unwrap_or(now_secs);
            new_state.stale_since = Some(stale_since);
            cache.save_registry_state(registry_key, &new_state)?;
            Ok(Refreshed::Stale { stale_since, snapshot_version: snapshot.version })
        }
    }
}

async fn resolve_online(
    cache: &BundleCache,
    client: &RegistryClient,
    registry_key: &str,
    snapshot: &Snapshot,
    request: &ResolveRequest,
    progress: &dyn Progress,
) -> Result<ResolveReport, ApiError> {
    let indexes = fetch_indexes(cache, client, registry_key, snapshot, &request.wanted).await?;
    let available: BTreeMap<String, Vec<Candidate>> = indexes
        .values()
        .map(|index| {
            let candidates =
                index.versions.iter().map(|v| Candidate { manifest: v.manifest.clone(), yanked: v.yanked }).collect();
            (index.name.clone(), candidates)
        })
        .collect();
    let wanted = wanted_or_all(&request.wanted, &available);
    let (selection, incompatible) = select_each(&available, &wanted, cache, request)?;
    let mut outcomes = Vec::new();
    let mut to_install = Vec::new();
    for (name, chosen) in &selection.chosen {
        let version = chosen.version.to_string();
        let Some(entry) =
            indexes.get(name).and_then(|i| i.versions.iter().find(|v| v.manifest.version == chosen.version))
        else {
            continue;
        };
        let files: Vec<FileEntry> = entry
            .files
            .iter()
            .map(|f| Ok(FileEntry { path: f.path.clone(), sha256: f.sha256.parse()?, length: f.length }))
            .collect::<Result<_, cache::CacheError>>()?;
        if let Some(expected) = request.expected_files.get(name) {
            check_expected(name, &version, expected, &files)?;
        }
        let verdict = if is_cached_whole(cache, name, &version)? { Verdict::Cached } else { Verdict::Installed };
        if verdict == Verdict::Installed {
            to_install.push(NewVersion {
                registry: registry_key.to_owned(),
                name: name.clone(),
                version: version.clone(),
                manifest_json: entry.manifest.to_json_pretty(),
                files,
            });
        }
        outcomes.push(RemoteOutcome {
            name: name.clone(),
            version: Some(version),
            source: Some(registry_key.to_owned()),
            verdict,
            pinned: chosen.pinned,
            reason: chosen.fallback_reason(),
        });
    }
    let selections: Vec<(String, String)> =
        outcomes.iter().filter_map(|o| Some((o.name.clone(), o.version.clone()?))).collect();
    install(cache, client, &to_install, &selections, progress).await?;
    outcomes.extend(incompatible);
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ResolveReport {
        registry: Some(registry_key.to_owned()),
        status: RegistryStatus::Online { snapshot_version: snapshot.version },
        remotes: outcomes,
    })
}

/// Whether `name@version` is installed with every blob present at its
/// declared length. A blob damaged on disk after its install (a disk that
/// lied about a flush, a user's clean-up) would otherwise keep a version
/// that can never load; this stat-only check downloads it again. Damage that
/// keeps the length is caught when the file is read (it is served only if
/// its sha256 matches) and by `augment cache verify`.
fn is_cached_whole(cache: &BundleCache, name: &str, version: &str) -> Result<bool, ApiError> {
    let Some(installed) = cache.version(name, version)? else {
        return Ok(false);
    };
    let whole = installed.files.iter().all(|f| cache.has_blob(&f.sha256, f.length));
    if !whole {
        tracing::warn!(%name, %version, "an installed version lost part of a file; downloading it again");
    }
    Ok(whole)
}

fn check_expected(name: &str, version: &str, expected: &[FileEntry], actual: &[FileEntry]) -> Result<(), ApiError> {
    let expected: BTreeSet<&FileEntry> = expected.iter().collect();
    let actual: BTreeSet<&FileEntry> = actual.iter().collect();
    if expected == actual {
        return Ok(());
    }
    let differing: Vec<&str> =
        expected.symmetric_difference(&actual).map(|f| f.path.as_str()).collect::<BTreeSet<_>>().into_iter().collect();
    Err(ApiError::LockMismatch {
        name: name.to_owned(),
        version: version.to_owned(),
        detail: format!("files differ: {}", differing.join(", ")),
    })
}

/// The per-remote indexes of the wanted remotes and everything they require.
/// An index whose hash matches the snapshot is taken from the cache with no request.
async fn fetch_indexes(
    cache: &BundleCache,
    client: &RegistryClient,
    registry_key: &str,
    snapshot: &Snapshot,
    wanted: &[String],
) -> Result<BTreeMap<String, RemoteIndex>, ApiError> {
    let mut indexes: BTreeMap<String, RemoteIndex> = BTreeMap::new();
    let mut pending: BTreeSet<String> =
        if wanted.is_empty() { snapshot.remotes.keys().cloned().collect() } else { wanted.iter().cloned().collect() };
    while !pending.is_empty() {
        let round: Vec<String> =
            std::mem::take(&mut pending).into_iter().filter(|n| snapshot.remotes.contains_key(n)).collect();
        let fetched: Vec<(RemoteIndex, Option<(String, StoredDocument)>)> = futures_util::stream::iter(round)
            .map(|name| fetch_index(cache, client, registry_key, snapshot, name))
            .buffer_unordered(PARALLEL_FETCHES)
            .try_collect()
            .await?;
        let (fetched, downloaded): (Vec<RemoteIndex>, Vec<_>) = fetched.into_iter().unzip();
        cache.save_metadata_all(registry_key, &downloaded.into_iter().flatten().collect::<Vec<_>>())?;
        for index in fetched {
            for version in &index.versions {
                for required in version.manifest.requires.keys() {
                    if !indexes.contains_key(required) && *required != index.name {
                        pending.insert(required.clone());
                    }
                }
            }
            indexes.insert(index.name.clone(), index);
        }
        pending.retain(|n| !indexes.contains_key(n));
    }
    Ok(indexes)
}

/// The index of `name`, with the document to cache when it was downloaded.
async fn fetch_index(
    cache: &BundleCache,
    client: &RegistryClient,
    registry_key: &str,
    snapshot: &Snapshot,
    name: String,
) -> Result<(RemoteIndex, Option<(String, StoredDocument)>), ApiError> {
    let entry = &snapshot.remotes[&name];
    let path = registry::remote_index_path(&name);
    // The snapshot pins the index by hash: a stored copy with that hash is
    // current and needs no request at all.
    if let Some(stored) = cache.metadata(registry_key, &path)?
        && stored.body.len() as u64 == entry.length
        && registry::sha256_hex(&stored.body) == entry.sha256
    {
        return Ok((registry::verify_remote_index(entry, &name, &stored.body, &client.options().limits)?, None));
    }
    let (index, bytes) = client.fetch_remote_index(&name, entry).await?;
    Ok((index, Some((path, StoredDocument { etag: None, body: bytes.to_vec() }))))
}

/// Downloads every missing blob straight into the cache, several at once,
/// then commits all versions and activates `selections` in one transaction.
async fn install(
    cache: &BundleCache,
    client: &RegistryClient,
    versions: &[NewVersion],
    selections: &[(String, String)],
    progress: &dyn Progress,
) -> Result<(), ApiError> {
    if versions.is_empty() {
        return Ok(cache.set_active_versions(selections)?);
    }
    let guard = cache.install_guard()?;
    let mut missing: BTreeMap<Sha256Digest, u64> = BTreeMap::new();
    for file in versions.iter().flat_map(|v| &v.files) {
        if !cache.has_blob(&file.sha256, file.length) {
            missing.insert(file.sha256, file.length);
        }
    }
    progress.event(ProgressEvent::DownloadStarted { total_bytes: missing.values().sum() });
    futures_util::stream::iter(missing)
        .map(|(digest, length)| download_blob(cache, &guard, client, digest, length))
        .buffer_unordered(PARALLEL_FETCHES)
        .try_for_each(|bytes| {
            progress.event(ProgressEvent::Downloaded { bytes });
            std::future::ready(Ok(()))
        })
        .await?;
    // One flush and one transaction for the whole set: every version appears,
    // and the selection switches to it, at once.
    cache.commit_and_activate(&guard, versions, selections)?;
    for version in versions {
        progress.event(ProgressEvent::Installed { name: version.name.clone(), version: version.version.clone() });
    }
    Ok(())
}

/// Chunks a download may run ahead of the disk writes of its blob.
const CHUNKS_IN_FLIGHT: usize = 16;

/// Streams one blob from the registry into the cache. The download runs on
/// this task; hashing and writing run chunk by chunk on a blocking thread, so
/// neither holds up the other downloads. Returns the blob's length.
async fn download_blob(
    cache: &BundleCache,
    guard: &InstallGuard,
    client: &RegistryClient,
    digest: Sha256Digest,
    length: u64,
) -> Result<u64, ApiError> {
    let mut download = client.open_blob(&digest.to_hex(), length).await?;
    let mut writer = cache.blob_writer(guard, &digest, length)?;
    // `Some(chunk)` to write, `None` once the download is complete; a channel
    // closed without `None` means the download failed and the blob is dropped.
    let (pieces, mut received) = tokio::sync::mpsc::channel(CHUNKS_IN_FLIGHT);
    // Futures are lazy: nothing is fetched until this is awaited below.
    let downloaded = async {
        while let Some(chunk) = download.chunk().await? {
            if pieces.send(Some(chunk)).await.is_err() {
                // The writer stopped on an error, reported below.
                return Ok(());
            }
        }
        // A failed send means the writer already stopped, reported below.
        let _ = pieces.send(None).await;
        Ok::<_, registry::RegistryError>(())
    };
    let store = tokio::task::spawn_blocking(move || {
        while let Some(piece) = received.blocking_recv() {
            match piece {
                Some(chunk) => writer.write(&chunk)?,
                None => return writer.finish().map(|()| true),
            }
        }
        Ok(false)
    });
    let downloaded = downloaded.await;
    drop(pieces);
    let stored = store.await.map_err(|err| ApiError::Io {
        path: cache.blob_path(&digest).display().to_string(),
        source: std::io::Error::other(format!("the blob writer stopped: {err}")),
    })?;
    downloaded?;
    match stored {
        Ok(true) => Ok(length),
        Ok(false) => Err(ApiError::Io {
            path: cache.blob_path(&digest).display().to_string(),
            source: std::io::Error::other("the blob writer stopped before the download completed"),
        }),
        // Say which download was corrupt, in the registry's words for it.
        Err(cache::CacheError::DigestMismatch { expected, actual }) => Err(registry::RegistryError::HashMismatch {
            document: registry::blob_path(&digest.to_hex()),
            expected: expected.to_hex(),
            actual: actual.to_hex(),
        }
        .with_origin(download.url())
        .into()),
        Err(err) => Err(err.into()),
    }
}

/// Selection over what the cache holds, for offline and stale registries.
fn resolve_from_cache(
    cache: &BundleCache,
    request: &ResolveRequest,
    registry_key: Option<&str>,
    status: RegistryStatus,
) -> Result<ResolveReport, ApiError> {
    let installed = cache.versions()?;
    let mut available: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    let mut origin: BTreeMap<(String, String), String> = BTreeMap::new();
    for version in installed.iter().filter(|v| registry_key.is_none_or(|key| v.registry == key)) {
        let manifest =
            RemoteManifest::from_json(version.manifest_json.as_bytes()).map_err(|err| ApiError::CorruptManifest {
                name: version.name.clone(),
                version: version.version.clone(),
                reason: err.to_string(),
            })?;
        origin.insert((version.name.clone(), version.version.clone()), version.registry.clone());
        available.entry(version.name.clone()).or_default().push(Candidate { manifest, yanked: false });
    }
    let wanted = wanted_or_all(&request.wanted, &available);
    let (selection, incompatible) = select_each(&available, &wanted, cache, request)?;
    let mut outcomes = incompatible;
    let mut selections = Vec::new();
    for (name, chosen) in &selection.chosen {
        let version = chosen.version.to_string();
        selections.push((name.clone(), version.clone()));
        outcomes.push(RemoteOutcome {
            source: origin.get(&(name.clone(), version.clone())).cloned(),
            name: name.clone(),
            version: Some(version),
            verdict: Verdict::Cached,
            pinned: chosen.pinned,
            reason: chosen.fallback_reason(),
        });
    }
    cache.set_active_versions(&selections)?;
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ResolveReport { registry: registry_key.map(str::to_owned), status, remotes: outcomes })
}

fn wanted_or_all(wanted: &[String], available: &BTreeMap<String, Vec<Candidate>>) -> Vec<String> {
    if wanted.is_empty() { available.keys().cloned().collect() } else { wanted.to_vec() }
}

/// Selects every wanted remote it can: a remote with no usable version is
/// reported as incompatible instead of failing the others.
fn select_each(
    available: &BTreeMap<String, Vec<Candidate>>,
    wanted: &[String],
    cache: &BundleCache,
    request: &ResolveRequest,
) -> Result<(Selection, Vec<RemoteOutcome>), ApiError> {
    let pins: BTreeMap<String, Version> = cache
        .pins()?
        .into_iter()
        .filter_map(|(name, version)| match version.parse() {
            Ok(version) => Some((name, version)),
            Err(err) => {
                tracing::warn!(%name, %version, %err, "ignoring a pin that is not a semver version");
                None
            }
        })
        .collect();
    let mut wanted = wanted.to_vec();
    let mut incompatible = Vec::new();
    loop {
        if wanted.is_empty() {
            return Ok((Selection { chosen: BTreeMap::new() }, incompatible));
        }
        let selection_request = SelectionRequest {
            wanted: &wanted,
            pins: &pins,
            profile: &request.profile,
            allow_prerelease: request.allow_prerelease,
        };
        match manifest::select(available, selection_request) {
            Ok(selection) => return Ok((selection, incompatible)),
            Err(err) => {
                let failing = match &err {
                    SelectError::UnknownRemote { name, required_by: None }
                    | SelectError::PinnedMissing { name, .. }
                    | SelectError::PinnedIncompatible { name, .. }
                    | SelectError::NoCompatibleVersion { name, .. } => name.clone(),
                    _ => return Err(err.into()),
                };
                wanted.retain(|w| *w != failing);
                incompatible.push(RemoteOutcome {
                    pinned: pins.contains_key(&failing),
                    name: failing,
                    version: None,
                    source: None,
                    verdict: Verdict::Incompatible,
                    reason: Some(err.to_string()),
                });
            }
        }
    }
}
