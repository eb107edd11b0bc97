//! Refresh a registry, select versions, install what is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cache::{BundleCache, FileEntry, InstallGuard, NewVersion, Sha256Digest, StoredDocument};
use futures_util::StreamExt as _;
use manifest::{Candidate, HostProfile, RemoteManifest, SelectError, Selection, SelectionRequest, Version};
use registry::{Fetched, Refresh, RegistryClient, RegistrySource, RemoteIndex, Snapshot, SnapshotCheck, TrustAnchor};
use serde::Serialize;

use crate::status::{self, RegistryState, RegistryStatus};
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
    /// Registries that take precedence over this one (the shell's earlier
    /// ones). The cache holds one copy of each `name@version`; a copy one of
    /// these installed is never replaced by this registry's different one.
    pub yields_to: Vec<String>,
    /// Most this resolve downloads in all (indexes and blobs); the registry
    /// limits' `resolve_total` when `None`.
    pub download_budget: Option<u64>,
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
            yields_to: Vec::new(),
            download_budget: None,
        }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// Why a newer version was passed over (incompatible, or it could not
    /// be installed), or why none fits.
    pub reason: Option<String>,
}

/// The registry a resolve asked, and how it answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryReport {
    /// `None` when no registry was given (`--offline` over the whole cache).
    pub url: Option<String>,
    #[serde(flatten)]
    pub status: RegistryStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResolveReport {
    pub registry: RegistryReport,
    pub remotes: Vec<RemoteOutcome>,
}

impl ResolveReport {
    pub fn has_incompatible(&self) -> bool {
        self.remotes.iter().any(|r| r.verdict == Verdict::Incompatible)
    }

    /// Something the registry sent failed verification; what is selected
    /// came from the verified cache (or from what did verify).
    pub fn is_refused(&self) -> bool {
        self.registry.status.state == RegistryState::Refused
    }
}

/// Resolves `request` into `cache`: online when the registry answers with
/// fresh metadata, from the verified cache otherwise. Whatever the registry
/// does wrong (no answer, an HTTP error, a page that is not metadata, a
/// failed verification) the cache keeps serving and the report says how the
/// registry failed; only a request that cannot be served at all is an error.
pub async fn resolve(
    cache: &BundleCache,
    request: &ResolveRequest,
    progress: &dyn Progress,
) -> Result<ResolveReport, ApiError> {
    let Some(source_text) = request.registry.as_deref() else {
        if request.offline {
            return resolve_from_cache(cache, request, None, RegistryStatus::offline_mode(None, None));
        }
        return Err(ApiError::NoRegistry);
    };
    let source = RegistrySource::parse(source_text)?;
    let registry_key = source.to_string();
    let state = cache.registry_state(&registry_key)?;
    if request.offline {
        let status = RegistryStatus::offline_mode(
            state.as_ref().and_then(|s| s.last_verified_at),
            state.as_ref().and_then(|s| s.last_reached_at),
        );
        return resolve_from_cache(cache, request, Some(&registry_key), status);
    }
    // After first contact the stored, verified root is the anchor; `--trust`
    // only matters the first time. Both are the user's input, checked before
    // any request so a typo is an error, not a "refused" registry.
    let anchor = match &state {
        Some(state) => TrustAnchor::from_root_json(state.trusted_root_json.as_bytes())?,
        None => {
            let anchor =
                request.trust.as_deref().ok_or_else(|| ApiError::NoTrustAnchor { registry: registry_key.clone() })?;
            TrustAnchor::parse(anchor)?
        }
    };
    let mut options = registry::ClientOptions::default();
    if let Some(timeout) = request.timeout {
        options.total_timeout = timeout;
    }
    if let Some(budget) = request.download_budget {
        options.limits.resolve_total = budget;
    }
    let client = RegistryClient::new(source.clone(), options)?;
    let failure = match refresh(cache, &client, &registry_key, anchor, state.as_ref()).await {
        Ok(Refreshed::Fresh(snapshot)) => {
            return resolve_online(cache, &client, &registry_key, &snapshot, request, progress).await;
        }
        Ok(Refreshed::Expired { snapshot_version, expires }) => (
            RegistryState::Stale,
            format!(
                "its snapshot (version {snapshot_version}) expired at {expires}: the registry owner must re-sign it (`augment registry refresh`); until then nothing newer from it is trusted"
            ),
        ),
        Err(ApiError::Registry(err)) => (status::state_for(&err, &source), err.to_string()),
        Err(err) => return Err(err),
    };
    let (registry_state, reason) = failure;
    tracing::warn!(registry = %registry_key, state = ?registry_state, %reason, "registry not usable; the verified cache serves");
    // Read again: a stale answer recorded when the registry was reached.
    let state = cache.registry_state(&registry_key)?;
    let status = RegistryStatus {
        state: registry_state,
        reason: Some(reason.clone()),
        last_verified_at: state.as_ref().and_then(|s| s.last_verified_at),
        last_reached_at: state.as_ref().and_then(|s| s.last_reached_at),
        snapshot_version: state.as_ref().map(|s| s.highest_snapshot_version).filter(|v| *v > 0),
    };
    let report = resolve_from_cache(cache, request, Some(&registry_key), status)?;
    let nothing_cached = report.remotes.iter().all(|r| r.version.is_none());
    if nothing_cached && registry_state != RegistryState::Refused {
        return Err(ApiError::UnreachableNothingCached { registry: registry_key, reason });
    }
    Ok(report)
}

enum Refreshed {
    Fresh(Snapshot),
    Expired { snapshot_version: u64, expires: jiff::Timestamp },
}

/// Brings the trusted root and the snapshot up to date, verifying both, and
/// persists the new trust state together with the documents it came from,
/// in one transaction: an answer that fails anywhere changes nothing.
async fn refresh(
    cache: &BundleCache,
    client: &RegistryClient,
    registry_key: &str,
    anchor: TrustAnchor,
    state: Option<&cache::RegistryState>,
) -> Result<Refreshed, ApiError> {
    let now = jiff::Timestamp::now();
    let limits = client.options().limits;
    let root_etag = match state {
        Some(_) => cache.metadata(registry_key, ROOT)?.and_then(|doc| doc.etag),
        None => None,
    };
    let stored_snapshot = cache.metadata(registry_key, SNAPSHOT)?;
    let snapshot_etag = stored_snapshot.as_ref().and_then(|doc| doc.etag.as_deref());
    // Both conditional requests go out at once, so a check against an
    // unchanged registry costs one round trip. The snapshot is verified
    // below against whichever root comes out of the root's refresh.
    let (root_answer, snapshot_answer) = tokio::join!(
        client.refresh_root(&anchor, root_etag.as_deref(), now),
        client.fetch_document(SNAPSHOT, limits.snapshot, snapshot_etag),
    );
    let mut documents = Vec::new();
    let previous_root_version = match &anchor {
        TrustAnchor::Root(root) => Some(root.version),
        TrustAnchor::Key(_) => None,
    };
    let (root, root_json) = match root_answer? {
        Refresh::Updated { value, bytes, etag } => {
            let json = String::from_utf8_lossy(&bytes).into_owned();
            documents.push((ROOT.to_owned(), StoredDocument { etag, body: bytes.to_vec() }));
            (value, json)
        }
        Refresh::NotModified => match (anchor, state) {
            (TrustAnchor::Root(root), Some(state)) => (root, state.trusted_root_json.clone()),
            _ => return Err(registry::RegistryError::UnexpectedNotModified { url: ROOT.into() }.into()),
        },
    };
    // A rotation re-anchors the snapshot high-water mark: the old snapshot
    // key may have leaked and pushed the version beyond anything honest, and
    // the new root is how the owner revokes it. Rollback protection starts
    // again from the first snapshot the new root signs.
    let rotated = previous_root_version.is_some_and(|previous| root.version > previous);
    let highest = state.map(|s| s.highest_snapshot_version).filter(|_| !rotated);
    let check = match snapshot_answer? {
        Fetched::Body { bytes, etag } => {
            let check = registry::verify_snapshot(&root, &bytes, highest, now, &limits)
                .map_err(|err| err.with_origin(&client.source().url_of(SNAPSHOT)))?;
            if check.is_fresh() {
                documents.push((SNAPSHOT.to_owned(), StoredDocument { etag, body: bytes.to_vec() }));
            }
            check
        }
        // Not modified: the stored copy is current, but it may have expired since.
        Fetched::NotModified => match &stored_snapshot {
            Some(doc) => registry::verify_snapshot(&root, &doc.body, highest, now, &limits)?,
            None => return Err(registry::RegistryError::UnexpectedNotModified { url: SNAPSHOT.into() }.into()),
        },
    };
    let now_secs = now.as_second();
    let mut new_state = cache::RegistryState {
        trusted_root_json: root_json,
        highest_snapshot_version: highest.unwrap_or(0),
        last_reached_at: Some(now_secs),
        stale_since: None,
        last_verified_at: state.and_then(|s| s.last_verified_at),
    };
    match check {
        SnapshotCheck::Fresh(snapshot) => {
            new_state.highest_snapshot_version = new_state.highest_snapshot_version.max(snapshot.version);
            new_state.last_verified_at = Some(now_secs);
            cache.save_trust(registry_key, &new_state, &documents, rotated)?;
            Ok(Refreshed::Fresh(snapshot))
        }
        SnapshotCheck::Expired(snapshot) => {
            // Verified but expired: remember that the registry answered and
            // since when it is stale, but keep the older fresh state.
            new_state.stale_since = Some(state.and_then(|s| s.stale_since).unwrap_or(now_secs));
            // An expired snapshot never re-anchors the mark.
            new_state.highest_snapshot_version = state.map_or(0, |s| s.highest_snapshot_version);
            cache.save_trust(registry_key, &new_state, &documents, false)?;
            Ok(Refreshed::Expired { snapshot_version: snapshot.version, expires: snapshot.expires })
        }
    }
}

/// A remote's name and a version of it.
type NameVersion = (String, String);

const ROOT: &str = "root.json";
const SNAPSHOT: &str = "snapshot.json";

/// Why one remote could not be updated from a registry that otherwise answered.
#[derive(Debug)]
struct RemoteFailure {
    /// The version that failed; `None` when its index failed.
    version: Option<String>,
    state: RegistryState,
    error: String,
}

impl RemoteFailure {
    fn new(version: Option<String>, err: &ApiError, source: &RegistrySource) -> Self {
        let state = match err {
            ApiError::Registry(err) => status::state_for(err, source).max(RegistryState::Stale),
            ApiError::Cache(cache::CacheError::DigestMismatch { .. }) | ApiError::DownloadBudget { .. } => {
                RegistryState::Refused
            }
            _ => RegistryState::Stale,
        };
        Self { version, state, error: err.to_string() }
    }

    fn describe(&self, name: &str) -> String {
        match &self.version {
            Some(version) => format!("{name} {version} could not be installed: {}", self.error),
            None => format!("{name}'s index could not be used: {}", self.error),
        }
    }
}

/// Selects and installs from a registry whose snapshot verified. Each remote
/// stands alone: one whose index or new version fails to download or verify
/// keeps what the cache has, while every other remote still updates.
async fn resolve_online(
    cache: &BundleCache,
    client: &RegistryClient,
    registry_key: &str,
    snapshot: &Snapshot,
    request: &ResolveRequest,
    progress: &dyn Progress,
) -> Result<ResolveReport, ApiError> {
    let source = client.source();
    let mut budget = DownloadBudget::new(client.options().limits.resolve_total);
    let (indexes, index_errors) =
        fetch_indexes(cache, client, registry_key, snapshot, &request.wanted, &mut budget).await?;
    let mut failures: BTreeMap<String, RemoteFailure> = BTreeMap::new();
    let mut available: BTreeMap<String, Vec<Candidate>> = indexes
        .values()
        .map(|index| {
            let candidates =
                index.versions.iter().map(|v| Candidate { manifest: v.manifest.clone(), yanked: v.yanked }).collect();
            (index.name.clone(), candidates)
        })
        .collect();
    for (name, err) in index_errors {
        // What the cache holds from this registry stands in for the index.
        available.insert(
            name.clone(),
            cached_candidates(cache, Some(registry_key), Some(&name))?.0.remove(&name).unwrap_or_default(),
        );
        failures.insert(name, RemoteFailure::new(None, &err, source));
    }
    let wanted = wanted_or_all(&request.wanted, &available);
    let yields_to: BTreeSet<String> = request
        .yields_to
        .iter()
        .filter_map(|url| RegistrySource::parse(url).ok())
        .map(|source| source.to_string())
        .filter(|key| key != registry_key)
        .collect();
    // Versions this registry may not install over a copy a registry of
    // higher precedence installed: why, per remote.
    let mut shadowed: BTreeMap<String, String> = BTreeMap::new();
    let mut guard: Option<InstallGuard> = None;
    let mut downloaded: BTreeMap<NameVersion, NewVersion> = BTreeMap::new();
    // Each round drops the versions that failed and selects again, so a
    // failed update falls back to the newest version that can be had (the
    // cached one, usually); versions never fail twice, so this ends.
    let (outcomes, to_commit) = loop {
        let (selection, incompatible) = select_each(&available, &wanted, cache, request)?;
        let mut outcomes = Vec::new();
        let mut to_install = Vec::new();
        let mut to_commit = Vec::new();
        let mut unusable: Vec<NameVersion> = Vec::new();
        for (name, chosen) in &selection.chosen {
            let version = chosen.version.to_string();
            let entry =
                indexes.get(name).and_then(|i| i.versions.iter().find(|v| v.manifest.version == chosen.version));
            let verdict = match entry {
                // No index: the version came from the cache.
                None => Verdict::Cached,
                Some(entry) => {
                    let files: Vec<FileEntry> = entry
                        .files
                        .iter()
                        .map(|f| Ok(FileEntry { path: f.path.clone(), sha256: f.sha256.parse()?, length: f.length }))
                        .collect::<Result<_, cache::CacheError>>()?;
                    if let Some(expected) = request.expected_files.get(name) {
                        check_expected(name, &version, expected, &files)?;
                    }
                    let copy = cached_copy(cache, name, &version, &files)?;
                    if let CachedCopy::Changed { registry } = &copy {
                        if registry == registry_key {
                            let error = "the cached copy installed from this registry has other files than the registry lists for it now (a published version never changes: the cache was altered or the registry republished it; `augment cache verify` tells which)".to_owned();
                            let failure =
                                RemoteFailure { version: Some(version.clone()), state: RegistryState::Refused, error };
                            failures.insert(name.clone(), failure);
                            unusable.push((name.clone(), version));
                            continue;
                        }
                        if yields_to.contains(registry) {
                            let note = format!(
                                "{name} {version} differs from the copy installed from {registry}, which takes precedence"
                            );
                            shadowed.insert(name.clone(), note);
                            unusable.push((name.clone(), version));
                            continue;
                        }
                    }
                    if matches!(copy, CachedCopy::Whole) {
                        Verdict::Cached
                    } else {
                        match downloaded.get(&(name.clone(), version.clone())) {
                            Some(done) => to_commit.push(done.clone()),
                            None => to_install.push(NewVersion {
                                registry: registry_key.to_owned(),
                                name: name.clone(),
                                version: version.clone(),
                                manifest_json: entry.manifest.to_json_pretty(),
                                files,
                            }),
                        }
                        Verdict::Installed
                    }
                }
            };
            outcomes.push(RemoteOutcome {
                name: name.clone(),
                version: Some(version),
                source: Some(registry_key.to_owned()),
                verdict,
                pinned: chosen.pinned,
                reason: chosen.fallback_reason(),
            });
        }
        if !unusable.is_empty() {
            // Select again without them before downloading anything.
            for (name, version) in unusable {
                if let Some(candidates) = available.get_mut(&name) {
                    candidates.retain(|c| c.manifest.version.to_string() != version);
                }
            }
            continue;
        }
        if !to_install.is_empty() && guard.is_none() {
            guard = Some(cache.install_guard()?);
        }
        let failed = match &guard {
            Some(guard) if !to_install.is_empty() => {
                download(cache, guard, client, &to_install, &mut budget, progress).await?
            }
            _ => BTreeMap::new(),
        };
        for version in to_install {
            let key = (version.name.clone(), version.version.clone());
            if !failed.contains_key(&key) {
                to_commit.push(version.clone());
                downloaded.insert(key, version);
            }
        }
        if failed.is_empty() {
            let mut outcomes = outcomes;
            outcomes.extend(incompatible);
            break (outcomes, to_commit);
        }
        for ((name, version), failure) in failed {
            tracing::warn!(%name, %version, error = %failure.error, "a new version failed to install; keeping what the cache has");
            if let Some(candidates) = available.get_mut(&name) {
                candidates.retain(|c| c.manifest.version.to_string() != version);
            }
            failures.insert(name, failure);
        }
    };
    let selections: Vec<(String, String)> =
        outcomes.iter().filter_map(|o| Some((o.name.clone(), o.version.clone()?))).collect();
    match &guard {
        // One flush and one transaction for the whole set: every version
        // appears, and the selection switches to it, at once.
        Some(guard) if !to_commit.is_empty() => cache.commit_and_activate(guard, &to_commit, &selections)?,
        _ => cache.set_active_versions(&selections)?,
    }
    for version in &to_commit {
        progress.event(ProgressEvent::Installed { name: version.name.clone(), version: version.version.clone() });
    }
    let mut outcomes = outcomes;
    for outcome in &mut outcomes {
        if let Some(note) = shadowed.get(&outcome.name) {
            outcome.reason = Some(note.clone());
        }
        if let Some(failure) = failures.get(&outcome.name) {
            let kept = match &outcome.version {
                Some(version) => format!("; keeping {version}"),
                None => "; no other version of it can be used".to_owned(),
            };
            outcome.reason = Some(format!("{}{kept}", failure.describe(&outcome.name)));
        }
    }
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    let now = jiff::Timestamp::now().as_second();
    let status = RegistryStatus {
        state: failures.values().map(|f| f.state).max().unwrap_or(RegistryState::Online),
        reason: (!failures.is_empty())
            .then(|| failures.iter().map(|(name, f)| f.describe(name)).collect::<Vec<_>>().join("; ")),
        last_verified_at: Some(now),
        last_reached_at: Some(now),
        snapshot_version: Some(snapshot.version),
    };
    Ok(ResolveReport { registry: RegistryReport { url: Some(registry_key.to_owned()), status }, remotes: outcomes })
}

/// What the cache holds under a `name@version` a registry's index lists.
enum CachedCopy {
    Absent,
    /// The listed files, every blob present at its declared length.
    Whole,
    /// The listed files with a blob lost after the install (a disk that lied
    /// about a flush, a user's clean-up): downloaded again. Damage that keeps
    /// the length is caught when the file is read (it is served only if its
    /// sha256 matches) and by `augment cache verify`.
    Damaged,
    /// Other files, installed from `registry`.
    Changed {
        registry: String,
    },
}

/// Compares the cached copy of `name@version` with the files a registry
/// lists for it. Only the same files count as present, whoever installed
/// them: a copy with other files under the same name and version is someone
/// else's code.
fn cached_copy(cache: &BundleCache, name: &str, version: &str, files: &[FileEntry]) -> Result<CachedCopy, ApiError> {
    let Some(installed) = cache.version(name, version)? else {
        return Ok(CachedCopy::Absent);
    };
    let listed: BTreeSet<&FileEntry> = files.iter().collect();
    if installed.files.iter().collect::<BTreeSet<_>>() != listed {
        return Ok(CachedCopy::Changed { registry: installed.registry });
    }
    if installed.files.iter().all(|f| cache.has_blob(&f.sha256, f.length)) {
        return Ok(CachedCopy::Whole);
    }
    tracing::warn!(%name, %version, "an installed version lost part of a file; downloading it again");
    Ok(CachedCopy::Damaged)
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

/// A remote's verified index, and the document to cache when it was downloaded.
type FetchedIndex = (RemoteIndex, Option<(String, StoredDocument)>);

/// The indexes that verified, and the error of each remote whose index did not.
type IndexesAndFailures = (BTreeMap<String, RemoteIndex>, BTreeMap<String, ApiError>);

/// The per-remote indexes of the wanted remotes and everything they require,
/// and the remotes whose index failed (each on its own: one bad index does
/// not stop the others). An index whose hash matches the snapshot is taken
/// from the cache with no request.
async fn fetch_indexes(
    cache: &BundleCache,
    client: &RegistryClient,
    registry_key: &str,
    snapshot: &Snapshot,
    wanted: &[String],
    budget: &mut DownloadBudget,
) -> Result<IndexesAndFailures, ApiError> {
    let limits = client.options().limits;
    let mut indexes: BTreeMap<String, RemoteIndex> = BTreeMap::new();
    let mut failed: BTreeMap<String, ApiError> = BTreeMap::new();
    let mut pending: BTreeSet<String> =
        if wanted.is_empty() { snapshot.remotes.keys().cloned().collect() } else { wanted.iter().cloned().collect() };
    while !pending.is_empty() {
        let round: Vec<String> =
            std::mem::take(&mut pending).into_iter().filter(|n| snapshot.remotes.contains_key(n)).collect();
        let mut fetched: Vec<(String, Result<FetchedIndex, ApiError>)> = Vec::new();
        let mut to_fetch = Vec::new();
        for name in round {
            let entry = &snapshot.remotes[&name];
            match stored_index(cache, registry_key, entry, &name, &limits) {
                Ok(Some(index)) => fetched.push((name, Ok((index, None)))),
                Ok(None) => match budget.take(entry.length) {
                    Ok(()) => to_fetch.push(name),
                    Err(err) => fetched.push((name, Err(err))),
                },
                Err(err) => fetched.push((name, Err(err))),
            }
        }
        let downloaded: Vec<(String, Result<FetchedIndex, ApiError>)> = futures_util::stream::iter(to_fetch)
            .map(|name| async move {
                let path = registry::remote_index_path(&name);
                let result = client
                    .fetch_remote_index(&name, &snapshot.remotes[&name])
                    .await
                    .map(|(index, bytes)| (index, Some((path, StoredDocument { etag: None, body: bytes.to_vec() }))));
                (name, result.map_err(ApiError::from))
            })
            .buffer_unordered(PARALLEL_FETCHES)
            .collect()
            .await;
        fetched.extend(downloaded);
        let mut to_save = Vec::new();
        for (name, result) in fetched {
            let (index, downloaded) = match result {
                Ok(fetched) => fetched,
                // The cache's own failures are not the registry's.
                Err(err @ (ApiError::Cache(_) | ApiError::Io { .. })) => return Err(err),
                Err(err) => {
                    tracing::warn!(%name, %err, "a remote's index failed; keeping what the cache has of it");
                    failed.insert(name, err);
                    continue;
                }
            };
            to_save.extend(downloaded);
            for version in &index.versions {
                for required in version.manifest.requires.keys() {
                    if !indexes.contains_key(required) && *required != index.name {
                        pending.insert(required.clone());
                    }
                }
            }
            indexes.insert(index.name.clone(), index);
        }
        cache.save_metadata_all(registry_key, &to_save)?;
        pending.retain(|n| !indexes.contains_key(n) && !failed.contains_key(n));
    }
    Ok((indexes, failed))
}

/// The stored index of `name` when it is the one the snapshot pins by hash:
/// current, and needing no request at all.
fn stored_index(
    cache: &BundleCache,
    registry_key: &str,
    entry: &registry::SnapshotEntry,
    name: &str,
    limits: &registry::Limits,
) -> Result<Option<RemoteIndex>, ApiError> {
    let path = registry::remote_index_path(name);
    match cache.metadata(registry_key, &path)? {
        Some(stored)
            if stored.body.len() as u64 == entry.length && registry::sha256_hex(&stored.body) == entry.sha256 =>
        {
            Ok(Some(registry::verify_remote_index(entry, name, &stored.body, limits)?))
        }
        _ => Ok(None),
    }
}

/// What one resolve may still download, indexes and blobs together, so a
/// registry that lists thousands of large remotes cannot fill the disk.
#[derive(Debug)]
struct DownloadBudget {
    left: u64,
    budget: u64,
}

impl DownloadBudget {
    fn new(budget: u64) -> Self {
        Self { left: budget, budget }
    }

    /// Takes `bytes` from what is left, or takes nothing and says why.
    fn take(&mut self, bytes: u64) -> Result<(), ApiError> {
        if bytes > self.left {
            return Err(ApiError::DownloadBudget { needed: bytes, left: self.left, budget: self.budget });
        }
        self.left -= bytes;
        Ok(())
    }
}

/// Downloads every missing blob of `versions` straight into the cache,
/// several at once. Returns the versions that could not be had, each with
/// the first error one of its blobs met; the others' blobs are all on disk,
/// ready for [`BundleCache::commit_and_activate`].
async fn download(
    cache: &BundleCache,
    guard: &InstallGuard,
    client: &RegistryClient,
    versions: &[NewVersion],
    budget: &mut DownloadBudget,
    progress: &dyn Progress,
) -> Result<BTreeMap<NameVersion, RemoteFailure>, ApiError> {
    let mut failed = BTreeMap::new();
    let mut missing: BTreeMap<Sha256Digest, (u64, Vec<NameVersion>)> = BTreeMap::new();
    for version in versions {
        let key = (version.name.clone(), version.version.clone());
        let new: BTreeMap<Sha256Digest, u64> = version
            .files
            .iter()
            .filter(|file| !missing.contains_key(&file.sha256) && !cache.has_blob(&file.sha256, file.length))
            .map(|file| (file.sha256, file.length))
            .collect();
        // A version over what is left is not started; smaller ones still fit.
        if let Err(err) = budget.take(new.values().sum()) {
            failed.insert(key, RemoteFailure::new(Some(version.version.clone()), &err, client.source()));
            continue;
        }
        for file in &version.files {
            if let Some(entry) = missing.get_mut(&file.sha256) {
                entry.1.push(key.clone());
            } else if let Some(length) = new.get(&file.sha256) {
                missing.insert(file.sha256, (*length, vec![key.clone()]));
            }
        }
    }
    progress.event(ProgressEvent::DownloadStarted { total_bytes: missing.values().map(|(length, _)| length).sum() });
    let results: Vec<(Vec<NameVersion>, Result<u64, ApiError>)> = futures_util::stream::iter(missing)
        .map(|(digest, (length, needed_by))| async move {
            (needed_by, download_blob(cache, guard, client, digest, length).await)
        })
        .buffer_unordered(PARALLEL_FETCHES)
        .inspect(|(_, result)| {
            if let Ok(bytes) = result {
                progress.event(ProgressEvent::Downloaded { bytes: *bytes });
            }
        })
        .collect()
        .await;
    for (needed_by, result) in results {
        match result {
            Ok(_) => {}
            // A full disk or an unwritable cache fails every remote alike.
            Err(err @ (ApiError::Io { .. } | ApiError::Cache(cache::CacheError::Io { .. }))) => return Err(err),
            Err(err) => {
                for (name, version) in needed_by {
                    let failure = RemoteFailure::new(Some(version.clone()), &err, client.source());
                    failed.entry((name, version)).or_insert(failure);
                }
            }
        }
    }
    Ok(failed)
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

/// The versions the cache holds as selection candidates (of one registry
/// and one remote when given), with the registry each came from.
type CachedCandidates = (BTreeMap<String, Vec<Candidate>>, BTreeMap<(String, String), String>);

fn cached_candidates(
    cache: &BundleCache,
    registry_key: Option<&str>,
    name: Option<&str>,
) -> Result<CachedCandidates, ApiError> {
    let mut available: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    let mut origin: BTreeMap<(String, String), String> = BTreeMap::new();
    let installed = cache.versions()?;
    let wanted = |v: &&cache::InstalledVersion| {
        registry_key.is_none_or(|key| v.registry == key) && name.is_none_or(|name| v.name == name)
    };
    for version in installed.iter().filter(wanted) {
        let manifest =
            RemoteManifest::from_json(version.manifest_json.as_bytes()).map_err(|err| ApiError::CorruptManifest {
                name: version.name.clone(),
                version: version.version.clone(),
                reason: err.to_string(),
            })?;
        origin.insert((version.name.clone(), version.version.clone()), version.registry.clone());
        available.entry(version.name.clone()).or_default().push(Candidate { manifest, yanked: false });
    }
    Ok((available, origin))
}

/// Selection over what the cache holds, for offline, stale and refused registries.
fn resolve_from_cache(
    cache: &BundleCache,
    request: &ResolveRequest,
    registry_key: Option<&str>,
    status: RegistryStatus,
) -> Result<ResolveReport, ApiError> {
    let (available, origin) = cached_candidates(cache, registry_key, None)?;
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
    Ok(ResolveReport { registry: RegistryReport { url: registry_key.map(str::to_owned), status }, remotes: outcomes })
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
