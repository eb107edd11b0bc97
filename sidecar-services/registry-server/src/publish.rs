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
//! snapshot, so they never see it). A retried publish of the identical
//! version completes it (`resumed`) instead of reporting a duplicate.
//!
//! # Only what the server wrote is signed (issue 20, point 12)
//!
//! Write access to the bucket must not be enough to get content signed. So a
//! snapshot pins exactly the previous snapshot's entries plus the one index
//! this commit wrote, never an index merely found in storage; and a new
//! index is built on the *pinned* index of its remote, never on whatever
//! `remotes/<name>.json` holds. The pinned index is the stored one when its
//! hash matches the snapshot, else the copy the server kept of every index
//! it wrote (`.server/indexes/<sha256>.json`, written before the index
//! itself, checked against the snapshot's hash before use). An index
//! planted or changed in storage is therefore never signed, and is replaced
//! by the next publish or yank of its remote.

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

/// A remote's index: the one the snapshot pins (trusted), and what storage
/// holds now (not trusted unless `covered`).
struct StoredIndex {
    /// The index the snapshot pins, from bytes whose hash matched the pin.
    index: Option<RemoteIndex>,
    /// The stored object's version, for the conditional write replacing it.
    version: Option<ObjectVersion>,
    /// What `remotes/<name>.json` holds, parsed when it parses: an earlier
    /// attempt's write, another replica's in-flight one, or anyone's.
    stored: Option<RemoteIndex>,
    /// The stored bytes, when they are exactly what the snapshot pins.
    covered_bytes: Option<Bytes>,
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
        if stored.index.as_ref().and_then(|index| index.version(&version)).is_some() {
            return Err(PublishError::VersionExists { name, version });
        }
        let mut required = BTreeMap::new();
        for remote in bundle.manifest.requires.keys() {
            // The pinned index: what clients will resolve against.
            if let Some(index) = self.load_index(&state.snapshot, remote).await?.index {
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
            // An interrupted publish of this very release left its index
            // (unpinned) in storage: this completes it.
            let resumed = !wrote_index
                && stored
                    .stored
                    .as_ref()
                    .and_then(|index| index.version(&version))
                    .is_some_and(|existing| same_release(existing, bundle, &entries));
            // Built on the pinned index only: whatever else storage holds is
            // not signed (issue 20, point 12).
            let index_bytes = match stored.index.as_ref().and_then(|index| index.version(&version)) {
                // A concurrent publish of the identical release committed first.
                Some(existing) if wrote_index && same_release(existing, bundle, &entries) => {
                    return Ok(self.outcome(bundle, written, reused, state.snapshot.version, attempt, false));
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
                    let index =
                        documents::index_with_version(stored.index.clone(), &name, entry).map_err(registry_error)?;
                    let bytes = Bytes::from(documents::index_json(&index).map_err(registry_error)?);
                    self.check_index_size(&name, &bytes)?;
                    if self.write_index(&name, &stored, bytes.clone(), stored.version.as_ref()).await? == Write::Lost {
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
                    // Did a concurrent publish of the identical release commit it?
                    let state = self.load_state().await?;
                    let stored = self.load_index(&state.snapshot, &name).await?;
                    if stored
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
            let Some(index) = stored.index.clone() else {
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
            if self.write_index(name, &stored, bytes.clone(), stored.version.as_ref()).await? == Write::Lost {
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
    /// `update` (an index this server just wrote) applied, and nothing else:
    /// an index found in storage that no snapshot pins is never adopted
    /// (issue 20, point 12). `None` when another snapshot was committed first.
    async fn commit(&self, state: &State, update: Option<(&str, SnapshotEntry)>) -> Result<Option<u64>, PublishError> {
        let now = Timestamp::now();
        let expires = documents::expires_at(now, self.snapshot_expires_in).map_err(registry_error)?;
        let next = documents::next_snapshot(&state.snapshot, update, expires);
        let bytes = documents::sign_snapshot(&next, &[&self.key]).map_err(registry_error)?;
        // Check the result exactly as clients will before anyone can see it.
        registry::verify_snapshot(&state.root, &bytes, Some(state.snapshot.version), now, &self.limits)
            .map_err(registry_error)?;
        match self.storage.put_if("snapshot.json", Bytes::from(bytes), Some(&state.snapshot_version)).await? {
            Write::Written => Ok(Some(next.version)),
            Write::Lost => Ok(None),
        }
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
        let current = self.storage.get(&remote_index_path(name)).await?;
        let covered = match (&current, pinned) {
            (Some(current), Some(pinned)) => *pinned == documents::snapshot_entry_for(&current.bytes),
            (None, None) => true,
            _ => false,
        };
        let (version, stored_bytes) = match current {
            Some(current) => (Some(current.version), Some(current.bytes)),
            None => (None, None),
        };
        let index = match pinned {
            None => None,
            Some(_) if covered => {
                let bytes = stored_bytes.as_deref().unwrap_or_default();
                Some(registry::parse_remote_index(name, bytes, &self.limits).map_err(registry_error)?)
            }
            Some(pinned) => Some(self.pinned_copy(name, pinned).await?),
        };
        let stored = match (&stored_bytes, covered) {
            (_, true) => index.clone(),
            (Some(bytes), false) => registry::parse_remote_index(name, bytes, &self.limits).ok(),
            (None, false) => None,
        };
        Ok(StoredIndex { index, version, stored, covered_bytes: stored_bytes.filter(|_| covered), covered })
    }

    /// The index the snapshot pins for `name`, from the copy the server
    /// kept when it wrote it, checked against the pin.
    async fn pinned_copy(&self, name: &str, pinned: &SnapshotEntry) -> Result<RemoteIndex, PublishError> {
        let found = self.storage.get(&index_copy_path(&pinned.sha256)).await?;
        match found {
            Some(copy) if documents::snapshot_entry_for(&copy.bytes) == *pinned => {
                tracing::warn!(remote = %name, "remotes/{name}.json is not the index the snapshot pins; using the server's copy of the pinned one");
                registry::parse_remote_index(name, &copy.bytes, &self.limits).map_err(registry_error)
            }
            _ => Err(PublishError::Registry(format!(
                "{} is not the index the signed snapshot pins (sha256 {}) and the server keeps no copy of that one; restore {} from a backup of the registry",
                remote_index_path(name),
                pinned.sha256,
                remote_index_path(name)
            ))),
        }
    }

    /// Writes `bytes` as `name`'s index, only if the stored one is still
    /// `expected`; first keeps a copy of it (and of the index it replaces,
    /// when that one is pinned, for registries written before copies were
    /// kept) where later commits find the pinned index whatever happens to
    /// `remotes/<name>.json`.
    async fn write_index(
        &self,
        name: &str,
        stored: &StoredIndex,
        bytes: Bytes,
        expected: Option<&ObjectVersion>,
    ) -> Result<Write, PublishError> {
        if let Some(pinned) = &stored.covered_bytes {
            let key = index_copy_path(&documents::snapshot_entry_for(pinned).sha256);
            if self.storage.head(&key).await?.is_none() {
                self.storage.put(&key, pinned.clone()).await?;
            }
        }
        self.storage.put(&index_copy_path(&documents::snapshot_entry_for(&bytes).sha256), bytes.clone()).await?;
        Ok(self.storage.put_if(&remote_index_path(name), bytes, expected).await?)
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

/// Where the server keeps a copy of every index it writes, by content: not
/// served, and trusted only when its hash is the one a snapshot pins.
fn index_copy_path(sha256: &str) -> String {
    format!(".server/indexes/{sha256}.json")
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
