//! Publishing and yanking over object storage, safe with any number of
//! server replicas sharing one store.
//!
//! # The protocol
//!
//! The served tree is the only state; there is no database and no leader.
//! A publish writes, in this order:
//!
//! 1. **blobs** (`blobs/sha256/<hex>`), unconditionally: they are content
//!    addressed, so concurrent writers write the same bytes;
//! 2. **the remote's index** (`remotes/<name>.json`) with the new version,
//!    by a conditional write on the version of the index it read;
//! 3. **the snapshot** (`snapshot.json`), signed, version + 1, pinning the new
//!    index, by a conditional write on the version of the snapshot it read.
//!
//! The snapshot write is the commit point. Losing either race means someone
//! else committed first: read both again and redo steps 2–3 (with a little
//! jitter), so two replicas never lose a version and snapshot versions go up
//! by exactly one per commit.
//!
//! A publisher killed at any point leaves no half-visible version: before
//! step 2 only unreferenced blobs exist; after step 2 the index holds a
//! version no snapshot pins yet (clients check the index's hash against the
//! snapshot, so they never see it). The next snapshot anyone signs adopts
//! such an index, whose blobs are all in place since they were written
//! first, and a retried publish of the identical version completes instead
//! of reporting a duplicate.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use jiff::Timestamp;
use manifest::{HostProfile, Version};
use rand::Rng as _;
use registry::author::documents;
use registry::{
    IndexVersion, Limits, RegistryError, RemoteIndex, Root, SigningKey, Snapshot, SnapshotEntry, TrustAnchor,
    blob_path, remote_index_path,
};
use serde::Serialize;

use crate::bundle::Bundle;
use crate::storage::{ObjectVersion, Storage, StorageError, Versioned, Write};

/// Why a publish or yank did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    #[error(transparent)]
    Storage(#[from] StorageError),

    #[error(
        "{name} {version} is already published: a published version never changes; bump `version` in remote.json and publish again"
    )]
    VersionExists { name: String, version: Version },

    #[error("{name} {version} cannot be satisfied: {}", reasons.join("; "))]
    Unsatisfiable { name: String, version: Version, reasons: Vec<String> },

    #[error("{name} {version} is not in the registry (it offers: {offered})")]
    VersionNotFound { name: String, version: Version, offered: String },

    #[error(
        "{document} after this change would be {size} bytes, over the {limit}-byte limit clients accept; yank and stop publishing old versions, or split the remote"
    )]
    IndexTooLarge { document: String, size: u64, limit: u64 },

    #[error("the registry in storage is not usable: {0}")]
    Registry(String),

    #[error(
        "the signing key (key id {keyid}) is not a snapshot key of this registry's root.json; configure the registry's snapshot key"
    )]
    KeyNotAuthorized { keyid: String },

    #[error("other publishes kept committing first ({attempts} attempts); try again")]
    Contended { attempts: usize },
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishOutcome {
    pub name: String,
    pub version: String,
    pub files: usize,
    pub bytes: u64,
    pub blobs_written: usize,
    pub blobs_reused: usize,
    pub snapshot_version: u64,
    /// Attempts lost to concurrent publishes before this one committed.
    pub retries: usize,
    /// This completed an earlier, interrupted publish of the same version.
    pub resumed: bool,
}

/// What a yank or un-yank did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct YankOutcome {
    pub name: String,
    pub version: String,
    pub yanked: bool,
    /// False when the version already had that state; nothing was signed.
    pub changed: bool,
    pub snapshot_version: u64,
}

/// What a renewal check found (see [`Publisher::renew_if_due`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalCheck {
    /// The snapshot version this call signed; `None` when the snapshot was
    /// not due (or another replica renewed it first).
    pub renewed: Option<u64>,
    /// When the current snapshot expires (after any renewal by this call,
    /// as far as this call knows).
    pub snapshot_expires: Timestamp,
    /// When the root expires: renewing it needs the root key, which the
    /// server does not hold, so the caller warns.
    pub root_expires: Timestamp,
}

/// Where a test may stop a publish to kill the server (feature
/// `fault-injection`, variable `REGISTRY_SERVER_PAUSE_AT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    AfterBlobs,
    AfterIndex,
}

/// Signs and writes on behalf of the server.
#[derive(Debug)]
pub struct Publisher {
    pub storage: Storage,
    pub key: SigningKey,
    pub profile: HostProfile,
    pub limits: Limits,
    pub snapshot_expires_in: Duration,
    pub max_attempts: usize,
}

/// The registry's current root and snapshot, verified.
struct State {
    root: Root,
    snapshot: Snapshot,
    snapshot_version: ObjectVersion,
}

/// A remote's index as stored, and whether the snapshot pins exactly it.
struct StoredIndex {
    index: Option<RemoteIndex>,
    version: Option<ObjectVersion>,
    bytes: Option<Bytes>,
    covered: bool,
}

impl Publisher {
    /// Storage reachable and the registry's root and snapshot verify with
    /// this server's key: what `/ready` reports.
    pub async fn check(&self) -> Result<u64, PublishError> {
        let state = self.load_state().await?;
        Ok(state.snapshot.version)
    }

    /// Publishes a checked bundle.
    pub async fn publish(&self, bundle: &Bundle) -> Result<PublishOutcome, PublishError> {
        let name = bundle.manifest.name.clone();
        let version = bundle.manifest.version.clone();
        let entries = bundle.entries();

        // Refusals first, so a refused publish stores nothing.
        let state = self.load_state().await?;
        let stored = self.load_index(&state.snapshot, &name).await?;
        if let Some(existing) = stored.index.as_ref().and_then(|index| index.version(&version))
            && (stored.covered || !same_release(existing, bundle, &entries))
        {
            return Err(PublishError::VersionExists { name, version });
        }
        let mut required = BTreeMap::new();
        for remote in bundle.manifest.requires.keys() {
            let stored = self.load_index(&state.snapshot, remote).await?;
            if stored.covered
                && let Some(index) = stored.index
            {
                required.insert(remote.clone(), index);
            }
        }
        let reasons =
            crate::validate::unsatisfiable(&bundle.manifest, &self.profile, &|remote| required.get(remote).cloned());
        if !reasons.is_empty() {
            return Err(PublishError::Unsatisfiable { name, version, reasons });
        }

        // 1. Blobs.
        let (mut written, mut reused) = (0, 0);
        for file in &bundle.files {
            let key = blob_path(&file.sha256);
            let present = self.storage.head(&key).await?.is_some_and(|meta| meta.size == file.bytes.len() as u64);
            if present {
                reused += 1;
            } else {
                self.storage.put(&key, file.bytes.clone()).await?;
                written += 1;
            }
        }
        pause(Step::AfterBlobs).await;

        // 2 and 3, until this publish commits.
        let published_at = documents::whole_seconds(Timestamp::now());
        let mut wrote_index = false;
        for attempt in 0..self.max_attempts {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let state = self.load_state().await?;
            let stored = self.load_index(&state.snapshot, &name).await?;
            let mut resumed = false;
            let index_bytes = match stored.index.as_ref().and_then(|index| index.version(&version)) {
                Some(existing) if same_release(existing, bundle, &entries) && (wrote_index || !stored.covered) => {
                    if stored.covered {
                        // A concurrent snapshot adopted our index already.
                        return Ok(self.outcome(bundle, written, reused, state.snapshot.version, attempt, false));
                    }
                    // Ours (from an earlier attempt, or an interrupted
                    // publish of the identical release): commit it as is.
                    resumed = !wrote_index;
                    stored.bytes.clone().unwrap_or_default()
                }
                Some(_) => return Err(PublishError::VersionExists { name, version }),
                None => {
                    let entry = IndexVersion {
                        manifest: bundle.manifest.clone(),
                        files: entries.clone(),
                        yanked: false,
                        published_at,
                        extra: Default::default(),
                    };
                    let index = documents::index_with_version(stored.index, &name, entry).map_err(registry_error)?;
                    let bytes = Bytes::from(documents::index_json(&index).map_err(registry_error)?);
                    self.check_index_size(&name, &bytes)?;
                    let key = remote_index_path(&name);
                    if self.storage.put_if(&key, bytes.clone(), stored.version.as_ref()).await? == Write::Lost {
                        tracing::debug!(%name, attempt, "lost the race for the index; retrying");
                        continue;
                    }
                    wrote_index = true;
                    bytes
                }
            };
            pause(Step::AfterIndex).await;
            let update = (name.as_str(), documents::snapshot_entry_for(&index_bytes));
            match self.commit(&state, Some(update)).await? {
                Some(snapshot_version) => {
                    tracing::info!(%name, %version, files = bundle.files.len(), snapshot_version, retries = attempt, resumed, "published");
                    return Ok(self.outcome(bundle, written, reused, snapshot_version, attempt, resumed));
                }
                None => {
                    tracing::debug!(%name, attempt, "lost the race for the snapshot; retrying");
                    // Did a concurrent snapshot adopt our index meanwhile?
                    let state = self.load_state().await?;
                    let stored = self.load_index(&state.snapshot, &name).await?;
                    if stored.covered
                        && stored
                            .index
                            .as_ref()
                            .and_then(|index| index.version(&version))
                            .is_some_and(|existing| same_release(existing, bundle, &entries))
                    {
                        tracing::info!(%name, %version, snapshot_version = state.snapshot.version, "published (committed by a concurrent snapshot)");
                        return Ok(self.outcome(bundle, written, reused, state.snapshot.version, attempt + 1, resumed));
                    }
                }
            }
        }
        Err(PublishError::Contended { attempts: self.max_attempts })
    }

    /// Marks a version yanked (or not) and signs a new snapshot.
    pub async fn yank(&self, name: &str, version: &Version, yanked: bool) -> Result<YankOutcome, PublishError> {
        for attempt in 0..self.max_attempts {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let state = self.load_state().await?;
            let stored = self.load_index(&state.snapshot, name).await?;
            let Some(index) = stored.index else {
                return Err(PublishError::VersionNotFound {
                    name: name.to_owned(),
                    version: version.clone(),
                    offered: "none".into(),
                });
            };
            let (index, changed) = documents::index_with_yanked(index, version, yanked).map_err(|err| match err {
                RegistryError::VersionNotFound { name, version, offered } => {
                    PublishError::VersionNotFound { name, version, offered }
                }
                other => registry_error(other),
            })?;
            let outcome = |snapshot_version| YankOutcome {
                name: name.to_owned(),
                version: version.to_string(),
                yanked,
                changed,
                snapshot_version,
            };
            if !changed && stored.covered {
                return Ok(outcome(state.snapshot.version));
            }
            let bytes = Bytes::from(documents::index_json(&index).map_err(registry_error)?);
            self.check_index_size(name, &bytes)?;
            if self.storage.put_if(&remote_index_path(name), bytes.clone(), stored.version.as_ref()).await?
                == Write::Lost
            {
                continue;
            }
            let update = (name, documents::snapshot_entry_for(&bytes));
            if let Some(snapshot_version) = self.commit(&state, Some(update)).await? {
                tracing::info!(%name, %version, yanked, snapshot_version, "changed the yanked flag");
                return Ok(outcome(snapshot_version));
            }
        }
        Err(PublishError::Contended { attempts: self.max_attempts })
    }

    /// Signs a successor of the current snapshot (same contents, the next
    /// version, a new expiry) when it expires within `window`, through the
    /// same conditional write as a publish. Replicas checking at the same
    /// time do not fight: the loser of the write reloads, finds the winner's
    /// fresh snapshot and stops.
    pub async fn renew_if_due(&self, window: Duration) -> Result<RenewalCheck, PublishError> {
        for attempt in 0..self.max_attempts {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let state = self.load_state().await?;
            let check = |renewed, snapshot_expires| RenewalCheck {
                renewed,
                snapshot_expires,
                root_expires: state.root.expires,
            };
            if !documents::expires_within(state.snapshot.expires, Timestamp::now(), window) {
                return Ok(check(None, state.snapshot.expires));
            }
            let expires = documents::expires_at(Timestamp::now(), self.snapshot_expires_in).map_err(registry_error)?;
            match self.commit(&state, None).await? {
                Some(snapshot_version) => {
                    tracing::info!(
                        snapshot_version,
                        previous_expiry = %state.snapshot.expires,
                        "re-signed the snapshot before it expires"
                    );
                    return Ok(check(Some(snapshot_version), expires));
                }
                None => tracing::debug!(attempt, "another writer changed the snapshot first; checking again"),
            }
        }
        Err(PublishError::Contended { attempts: self.max_attempts })
    }

    /// Signs and conditionally writes the snapshot after `state` with
    /// `update` applied and any index left uncovered by an interrupted
    /// publish adopted. `None` when another snapshot was committed first.
    async fn commit(&self, state: &State, update: Option<(&str, SnapshotEntry)>) -> Result<Option<u64>, PublishError> {
        let now = Timestamp::now();
        let expires = documents::expires_at(now, self.snapshot_expires_in).map_err(registry_error)?;
        let mut next = documents::next_snapshot(&state.snapshot, update.clone(), expires);
        for (name, entry) in self.uncovered_indexes(&state.snapshot).await? {
            if update.as_ref().is_none_or(|(updated, _)| *updated != name) {
                tracing::warn!(remote = %name, "adopting an index left by an interrupted publish");
                next.remotes.insert(name, entry);
            }
        }
        let bytes = documents::sign_snapshot(&next, &[&self.key]).map_err(registry_error)?;
        // Check the result exactly as clients will before anyone can see it.
        registry::verify_snapshot(&state.root, &bytes, Some(state.snapshot.version), now, &self.limits)
            .map_err(registry_error)?;
        match self.storage.put_if("snapshot.json", Bytes::from(bytes), Some(&state.snapshot_version)).await? {
            Write::Written => Ok(Some(next.version)),
            Write::Lost => Ok(None),
        }
    }

    /// Indexes in `remotes/` that the snapshot does not pin as they are:
    /// written by a publish that stopped before its snapshot (or one still
    /// in flight, whose blobs are in place all the same). One listing;
    /// only indexes whose size differs from the pinned length are read.
    async fn uncovered_indexes(&self, snapshot: &Snapshot) -> Result<Vec<(String, SnapshotEntry)>, PublishError> {
        let mut found = Vec::new();
        for meta in self.storage.list("remotes").await? {
            let Some(name) = meta
                .location
                .filename()
                .and_then(|file| file.strip_suffix(".json"))
                .filter(|name| manifest::validate_remote_name(name).is_ok())
            else {
                continue;
            };
            if meta.location.as_ref() != remote_index_path(name) {
                continue;
            }
            if snapshot.remotes.get(name).is_some_and(|pinned| pinned.length == meta.size) {
                continue;
            }
            let Some(current) = self.storage.get(&remote_index_path(name)).await? else { continue };
            let entry = documents::snapshot_entry_for(&current.bytes);
            if snapshot.remotes.get(name) == Some(&entry) {
                continue;
            }
            match registry::parse_remote_index(name, &current.bytes, &self.limits) {
                Ok(_) => found.push((name.to_owned(), entry)),
                Err(err) => tracing::warn!(remote = %name, %err, "an unpinned index does not parse; leaving it out"),
            }
        }
        Ok(found)
    }

    async fn load_state(&self) -> Result<State, PublishError> {
        let root_bytes = self.storage.get("root.json").await?.ok_or_else(|| {
            PublishError::Registry("root.json is missing: initialise the registry with `augment registry init`".into())
        })?;
        let root = match TrustAnchor::from_root_json(&root_bytes.bytes).map_err(registry_error)? {
            TrustAnchor::Root(root) => root,
            TrustAnchor::Key(_) => return Err(PublishError::Registry("root.json is not a root document".into())),
        };
        let keyid = self.key.key_id();
        if !root.roles.snapshot.keyids.contains(&keyid) {
            return Err(PublishError::KeyNotAuthorized { keyid });
        }
        let Versioned { bytes, version } = self
            .storage
            .get("snapshot.json")
            .await?
            .ok_or_else(|| PublishError::Registry("snapshot.json is missing".into()))?;
        // An expired snapshot is fine: it is about to be replaced.
        let snapshot = registry::verify_snapshot(&root, &bytes, None, Timestamp::now(), &self.limits)
            .map_err(registry_error)?
            .into_snapshot();
        Ok(State { root, snapshot, snapshot_version: version })
    }

    async fn load_index(&self, snapshot: &Snapshot, name: &str) -> Result<StoredIndex, PublishError> {
        let pinned = snapshot.remotes.get(name);
        let Some(current) = self.storage.get(&remote_index_path(name)).await? else {
            return Ok(StoredIndex { index: None, version: None, bytes: None, covered: pinned.is_none() });
        };
        let covered = pinned == Some(&documents::snapshot_entry_for(&current.bytes));
        let index = registry::parse_remote_index(name, &current.bytes, &self.limits).map_err(registry_error)?;
        Ok(StoredIndex { index: Some(index), version: Some(current.version), bytes: Some(current.bytes), covered })
    }

    fn check_index_size(&self, name: &str, bytes: &[u8]) -> Result<(), PublishError> {
        if bytes.len() as u64 > self.limits.remote_index {
            return Err(PublishError::IndexTooLarge {
                document: remote_index_path(name),
                size: bytes.len() as u64,
                limit: self.limits.remote_index,
            });
        }
        Ok(())
    }

    fn outcome(
        &self,
        bundle: &Bundle,
        written: usize,
        reused: usize,
        snapshot_version: u64,
        retries: usize,
        resumed: bool,
    ) -> PublishOutcome {
        PublishOutcome {
            name: bundle.manifest.name.clone(),
            version: bundle.manifest.version.to_string(),
            files: bundle.files.len(),
            bytes: bundle.total_bytes(),
            blobs_written: written,
            blobs_reused: reused,
            snapshot_version,
            retries,
            resumed,
        }
    }
}

/// The same release: manifest and files equal (the publish time may differ).
fn same_release(existing: &IndexVersion, bundle: &Bundle, entries: &[registry::FileEntry]) -> bool {
    existing.manifest == bundle.manifest && existing.files == entries
}

fn registry_error(err: RegistryError) -> PublishError {
    PublishError::Registry(err.to_string())
}

/// A short random wait before retrying a lost race, growing with the
/// attempt, so replicas that collided do not collide again in lockstep.
async fn backoff(attempt: usize) {
    let ceiling_ms = 2u64.saturating_pow(attempt.min(7) as u32).min(100);
    let wait = rand::thread_rng().gen_range(0..=ceiling_ms);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

#[cfg(feature = "fault-injection")]
async fn pause(step: Step) {
    let wanted = std::env::var("REGISTRY_SERVER_PAUSE_AT").unwrap_or_default();
    let name = match step {
        Step::AfterBlobs => "after-blobs",
        Step::AfterIndex => "after-index",
    };
    if wanted == name {
        {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "registry-server paused {name}");
            let _ = out.flush();
        }
        std::future::pending::<()>().await;
    }
}

#[cfg(not(feature = "fault-injection"))]
async fn pause(_step: Step) {}
