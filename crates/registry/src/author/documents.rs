//! Building the next version of each document from the previous one.
//!
//! Pure functions: no clock, no files. The folder writer in this crate and the
//! hosted registry server (over object storage) share them, so both produce
//! identical trees.

use std::time::Duration;

use jiff::Timestamp;
use manifest::{HostProfile, Incompatibility, RemoteManifest, Version};

use crate::envelope::{self, to_signed_value};
use crate::error::RegistryError;
use crate::keys::{PublicKey, SigningKey};
use crate::metadata::{
    IndexVersion, KEYTYPE_ED25519, KeyEntry, RemoteIndex, RoleKeys, Roles, Root, Snapshot, SnapshotEntry,
};
use crate::verify::sha256_hex;

/// How long a root stays valid by default: rotating (or re-signing) a root
/// needs the root key, which should stay offline, so it is rare.
pub const DEFAULT_ROOT_EXPIRY: Duration = Duration::from_secs(365 * 24 * 3600);
/// How long a snapshot stays valid by default. Every publish renews it; a
/// registry nobody publishes to must be re-signed before this runs out, or
/// clients report it stale.
pub const DEFAULT_SNAPSHOT_EXPIRY: Duration = Duration::from_secs(30 * 24 * 3600);

/// How long before a root expires the tools start warning about it: the
/// root key should stay offline, so renewing a root takes a person
/// (`augment registry rotate-root`), and a month leaves time for that.
pub const ROOT_EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 3600);

/// Whether `expires` is at most `window` after `now` (or already past).
pub fn expires_within(expires: Timestamp, now: Timestamp, window: Duration) -> bool {
    match now.checked_add(window) {
        Ok(limit) => expires <= limit,
        // A window past the year 9999: everything expires within it.
        Err(_) => true,
    }
}

/// How long newly signed documents stay valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub root: Duration,
    pub snapshot: Duration,
}

impl Default for Expiry {
    fn default() -> Self {
        Self { root: DEFAULT_ROOT_EXPIRY, snapshot: DEFAULT_SNAPSHOT_EXPIRY }
    }
}

/// `now + after`, truncated to whole seconds so documents stay readable.
pub fn expires_at(now: Timestamp, after: Duration) -> Result<Timestamp, RegistryError> {
    whole_seconds(now).checked_add(after).map_err(|_| RegistryError::Signing {
        document: "metadata".into(),
        message: format!("an expiry {after:?} from now is past the year 9999; choose a shorter one"),
    })
}

/// A timestamp truncated to whole seconds.
pub fn whole_seconds(time: Timestamp) -> Timestamp {
    Timestamp::from_second(time.as_second()).unwrap_or(time)
}

/// A root listing `root_keys` and `snapshot_keys` with their thresholds.
pub fn new_root(
    version: u64,
    expires: Timestamp,
    root_keys: &[PublicKey],
    root_threshold: u32,
    snapshot_keys: &[PublicKey],
    snapshot_threshold: u32,
) -> Result<Root, RegistryError> {
    let mut keys = std::collections::BTreeMap::new();
    for key in root_keys.iter().chain(snapshot_keys) {
        keys.insert(
            key.key_id(),
            KeyEntry { keytype: KEYTYPE_ED25519.into(), public: key.to_hex(), extra: Default::default() },
        );
    }
    let role = |members: &[PublicKey], threshold| {
        let mut keyids: Vec<String> = members.iter().map(PublicKey::key_id).collect();
        keyids.sort();
        keyids.dedup();
        RoleKeys { keyids, threshold }
    };
    let root = Root {
        version,
        expires,
        keys,
        roles: Roles {
            root: role(root_keys, root_threshold),
            snapshot: role(snapshot_keys, snapshot_threshold),
            extra: Default::default(),
        },
        extra: Default::default(),
    };
    root.validate().map_err(|message| RegistryError::Signing { document: "root.json".into(), message })?;
    Ok(root)
}

/// The successor of `previous`: one version newer, with new keys (pass the
/// old ones again to only extend the expiry). Thresholds stay 1 per role.
pub fn rotated_root(
    previous: &Root,
    root_keys: &[PublicKey],
    snapshot_keys: &[PublicKey],
    expires: Timestamp,
) -> Result<Root, RegistryError> {
    let mut root = new_root(previous.version + 1, expires, root_keys, 1, snapshot_keys, 1)?;
    // Fields a newer tool added survive a rotation by this one.
    root.extra = previous.extra.clone();
    Ok(root)
}

/// The signed envelope of a root, pretty-printed.
pub fn sign_root(root: &Root, keys: &[&SigningKey]) -> Result<Vec<u8>, RegistryError> {
    let value = to_signed_value(root, "root", "root.json")?;
    envelope::seal(&value, keys, "root.json")
}

/// The signed envelope of a snapshot, pretty-printed.
pub fn sign_snapshot(snapshot: &Snapshot, keys: &[&SigningKey]) -> Result<Vec<u8>, RegistryError> {
    let value = to_signed_value(snapshot, "snapshot", "snapshot.json")?;
    envelope::seal(&value, keys, "snapshot.json")
}

/// Version 1 of a snapshot: no remotes yet.
pub fn empty_snapshot(expires: Timestamp) -> Snapshot {
    Snapshot { version: 1, expires, remotes: Default::default(), extra: Default::default() }
}

/// The snapshot after `previous`: version + 1, a new expiry, and `update`
/// (a remote's new index entry) applied when given.
pub fn next_snapshot(previous: &Snapshot, update: Option<(&str, SnapshotEntry)>, expires: Timestamp) -> Snapshot {
    let mut next = previous.clone();
    next.version = previous.version + 1;
    next.expires = expires;
    if let Some((name, entry)) = update {
        next.remotes.insert(name.to_owned(), entry);
    }
    next
}

/// The snapshot entry that pins these index bytes.
pub fn snapshot_entry_for(index_bytes: &[u8]) -> SnapshotEntry {
    SnapshotEntry { sha256: sha256_hex(index_bytes), length: index_bytes.len() as u64 }
}

/// `index` (or a new one for `name`) with `version` added, versions sorted
/// oldest first. A version that exists is refused: published versions are
/// immutable, so clients can cache them forever.
pub fn index_with_version(
    index: Option<RemoteIndex>,
    name: &str,
    version: IndexVersion,
) -> Result<RemoteIndex, RegistryError> {
    let mut index =
        index.unwrap_or_else(|| RemoteIndex { name: name.to_owned(), versions: Vec::new(), extra: Default::default() });
    let number = &version.manifest.version;
    if index.version(number).is_some() {
        return Err(RegistryError::VersionExists { name: name.to_owned(), version: number.clone() });
    }
    index.versions.push(version);
    index.versions.sort_by(|a, b| a.manifest.version.cmp(&b.manifest.version));
    Ok(index)
}

/// `index` with `version` marked yanked (or not); `false` in the second
/// place when it already was.
pub fn index_with_yanked(
    mut index: RemoteIndex,
    version: &Version,
    yanked: bool,
) -> Result<(RemoteIndex, bool), RegistryError> {
    let offered = offered_versions(&index);
    let name = index.name.clone();
    let Some(entry) = index.versions.iter_mut().find(|entry| entry.manifest.version == *version) else {
        return Err(RegistryError::VersionNotFound { name, version: version.clone(), offered });
    };
    let changed = entry.yanked != yanked;
    entry.yanked = yanked;
    Ok((index, changed))
}

/// The bytes of `remotes/<name>.json`.
pub fn index_json(index: &RemoteIndex) -> Result<Vec<u8>, RegistryError> {
    let mut bytes = serde_json::to_vec_pretty(index).map_err(|err| RegistryError::Signing {
        document: crate::metadata::remote_index_path(&index.name),
        message: err.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Why `manifest` cannot run on a host with `profile`: the same host-API
/// and shared-singleton rules the resolver applies before mounting.
pub fn compatibility_problems(manifest: &RemoteManifest, profile: &HostProfile) -> Vec<Incompatibility> {
    let mut problems = Vec::new();
    if !manifest.host_api.matches(&profile.host_api) {
        problems
            .push(Incompatibility::HostApi { needs: manifest.host_api.clone(), provided: profile.host_api.clone() });
    }
    for (package, needs) in &manifest.shared {
        match profile.shared.get(package) {
            None => {
                problems.push(Incompatibility::SharedNotProvided { package: package.clone(), needs: needs.clone() })
            }
            Some(provided) if !needs.matches(provided) => problems.push(Incompatibility::Shared {
                package: package.clone(),
                needs: needs.clone(),
                provided: provided.clone(),
            }),
            Some(_) => {}
        }
    }
    problems
}

pub(crate) fn offered_versions(index: &RemoteIndex) -> String {
    if index.versions.is_empty() {
        return "none".into();
    }
    index.versions.iter().map(|entry| entry.manifest.version.to_string()).collect::<Vec<_>>().join(", ")
}
