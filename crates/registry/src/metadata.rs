//! The registry's documents as typed values.
//!
//! Every struct keeps unknown fields in `extra` so a document written by a
//! newer tool survives being re-signed by an older one.

use std::collections::BTreeMap;

use jiff::Timestamp;
use manifest::{Candidate, RemoteManifest, Version};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys::PublicKey;

/// The only key type this registry signs with.
pub const KEYTYPE_ED25519: &str = "ed25519";

/// `root.json`: the keys that may sign and how many signatures each role needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Root {
    pub version: u64,
    pub expires: Timestamp,
    /// Key id (hex sha256 of the raw public key) → key.
    pub keys: BTreeMap<String, KeyEntry>,
    pub roles: Roles,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    pub keytype: String,
    /// 64 lowercase hex digits: the 32 raw public key bytes.
    pub public: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    pub root: RoleKeys,
    pub snapshot: RoleKeys,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    pub keyids: Vec<String>,
    pub threshold: u32,
}

impl Root {
    /// The public key listed under `keyid`, if it is listed and well formed.
    pub fn public_key(&self, keyid: &str) -> Option<PublicKey> {
        let entry = self.keys.get(keyid)?;
        if entry.keytype != KEYTYPE_ED25519 {
            return None;
        }
        PublicKey::from_hex(&entry.public).ok()
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires <= now
    }

    /// Checks what serde cannot: key ids match their keys, roles name listed
    /// keys and have a threshold that can be met.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.version == 0 {
            return Err("`version` must be 1 or more".into());
        }
        for (keyid, entry) in &self.keys {
            if entry.keytype != KEYTYPE_ED25519 {
                return Err(format!("key {keyid} has keytype {:?}; only \"ed25519\" is supported", entry.keytype));
            }
            if !is_lower_hex(&entry.public, 64) {
                return Err(format!("key {keyid} is not 64 lowercase hex digits"));
            }
            let key = PublicKey::from_hex(&entry.public).map_err(|err| format!("key {keyid}: {err}"))?;
            if key.key_id() != *keyid {
                return Err(format!("key id {keyid} is not the sha256 of its public key"));
            }
        }
        for (name, role) in [("root", &self.roles.root), ("snapshot", &self.roles.snapshot)] {
            if role.threshold == 0 {
                return Err(format!("role {name} has threshold 0; it must be 1 or more"));
            }
            let mut ids = role.keyids.clone();
            ids.sort();
            ids.dedup();
            if ids.len() != role.keyids.len() {
                return Err(format!("role {name} lists a key id twice"));
            }
            if let Some(missing) = role.keyids.iter().find(|id| !self.keys.contains_key(*id)) {
                return Err(format!("role {name} names key {missing}, which `keys` does not list"));
            }
            if role.threshold as usize > role.keyids.len() {
                return Err(format!(
                    "role {name} needs {} signatures but lists only {} keys",
                    role.threshold,
                    role.keyids.len()
                ));
            }
        }
        Ok(())
    }
}

/// `snapshot.json`: the current hash and length of every remote's index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Increases by one with every publish; clients refuse anything lower
    /// than the highest they have seen.
    pub version: u64,
    pub expires: Timestamp,
    pub remotes: BTreeMap<String, SnapshotEntry>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Pins one `remotes/<name>.json` by hash and length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotEntry {
    pub sha256: String,
    pub length: u64,
}

impl Snapshot {
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires <= now
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.version == 0 {
            return Err("`version` must be 1 or more".into());
        }
        for (name, entry) in &self.remotes {
            manifest::validate_remote_name(name).map_err(|err| format!("remotes: {err}"))?;
            if !is_lower_hex(&entry.sha256, 64) {
                return Err(format!("remotes.{name}.sha256 is not 64 lowercase hex digits"));
            }
        }
        Ok(())
    }
}

/// `remotes/<name>.json`: every published version of one remote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteIndex {
    pub name: String,
    pub versions: Vec<IndexVersion>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One published version: its manifest and the files of its bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexVersion {
    pub manifest: RemoteManifest,
    pub files: Vec<FileEntry>,
    #[serde(default)]
    pub yanked: bool,
    pub published_at: Timestamp,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One file of a bundle; its contents live at `blobs/sha256/<sha256>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub length: u64,
}

impl RemoteIndex {
    pub fn version(&self, version: &Version) -> Option<&IndexVersion> {
        self.versions.iter().find(|entry| entry.manifest.version == *version)
    }

    /// The versions as the resolver's candidates.
    pub fn candidates(&self) -> Vec<Candidate> {
        self.versions.iter().map(|entry| Candidate { manifest: entry.manifest.clone(), yanked: entry.yanked }).collect()
    }
}

impl IndexVersion {
    /// Total bytes of the bundle.
    pub fn total_length(&self) -> u64 {
        self.files.iter().map(|file| file.length).sum()
    }
}

/// The path of a blob inside a registry tree.
pub fn blob_path(sha256: &str) -> String {
    format!("blobs/sha256/{sha256}")
}

/// The path of a remote's index inside a registry tree.
pub fn remote_index_path(name: &str) -> String {
    format!("remotes/{name}.json")
}

/// The path of a versioned root inside a registry tree.
pub fn versioned_root_path(version: u64) -> String {
    format!("roots/{version}.root.json")
}

pub(crate) fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
