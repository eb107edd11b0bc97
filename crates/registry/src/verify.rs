//! Verification of registry documents: pure functions of bytes, trusted
//! state and the current time, with no I/O.

use std::collections::BTreeSet;

use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use crate::envelope::{self, Opened, Role};
use crate::error::RegistryError;
use crate::keys::{PublicKey, TrustAnchor};
use crate::limits::Limits;
use crate::metadata::{RemoteIndex, Root, Snapshot, SnapshotEntry, blob_path, is_lower_hex, remote_index_path};

/// The outcome of checking a snapshot whose signature and version are good.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotCheck {
    /// Signed, not older than what was seen, not expired.
    Fresh(Snapshot),
    /// Signed and not older, but past its `expires`: the registry may be
    /// frozen. The caller must not treat it as fresh and keeps serving its
    /// verified cache, while telling the user the registry is stale.
    Expired(Snapshot),
}

impl SnapshotCheck {
    pub fn snapshot(&self) -> &Snapshot {
        match self {
            Self::Fresh(snapshot) | Self::Expired(snapshot) => snapshot,
        }
    }

    pub fn into_snapshot(self) -> Snapshot {
        match self {
            Self::Fresh(snapshot) | Self::Expired(snapshot) => snapshot,
        }
    }

    pub fn is_fresh(&self) -> bool {
        matches!(self, Self::Fresh(_))
    }
}

/// Verifies a `root.json` against what the client already trusts.
///
/// - With a key anchor, the root must list that key as a root key, carry a
///   valid signature by it, and meet its own root threshold.
/// - With a root anchor of version N, the document may be version N (then it
///   must be that very root) or N+1 (then a threshold of N's root keys and of
///   its own must sign it). Older is a rollback; newer than N+1 needs the
///   intermediate roots: use [`verify_root_chain`] first.
///
/// An expired root is refused: nothing it vouches for can be trusted as fresh.
pub fn verify_root(bytes: &[u8], anchor: &TrustAnchor, now: Timestamp, limits: &Limits) -> Result<Root, RegistryError> {
    let (opened, root) = open_root(bytes, "root.json", limits.root)?;
    match anchor {
        TrustAnchor::Key(key) => check_key_anchor(&opened, &root, key)?,
        TrustAnchor::Root(trusted) => {
            let document = opened.document().to_owned();
            if root.version < trusted.version {
                return Err(RegistryError::Rollback { document, found: root.version, seen: trusted.version });
            }
            if root.version == trusted.version {
                opened.check_role(trusted, Role::Root)?;
                if root != *trusted {
                    return Err(RegistryError::RootForked { document, version: root.version });
                }
            } else if root.version == trusted.version + 1 {
                opened.check_role(trusted, Role::Root)?;
                opened.check_role(&root, Role::Root)?;
            } else {
                return Err(RegistryError::RootVersionGap {
                    document,
                    expected: trusted.version + 1,
                    found: root.version,
                });
            }
        }
    }
    if root.is_expired(now) {
        return Err(RegistryError::Expired { document: opened.document().to_owned(), expires: root.expires });
    }
    Ok(root)
}

/// A root that lists `key` as a root key and carries a valid signature by
/// it (meeting its own root threshold), whatever its expiry: the first link
/// of a chain walked from a key anchor to a rotated root.
pub(crate) fn verify_root_by_key(
    bytes: &[u8],
    key: &PublicKey,
    document: &str,
    limits: &Limits,
) -> Result<Root, RegistryError> {
    let (opened, root) = open_root(bytes, document, limits.root)?;
    check_key_anchor(&opened, &root, key)?;
    Ok(root)
}

fn check_key_anchor(opened: &Opened, root: &Root, key: &PublicKey) -> Result<(), RegistryError> {
    let keyid = key.key_id();
    if !root.roles.root.keyids.contains(&keyid) {
        return Err(RegistryError::AnchorKeyNotInRoot { document: opened.document().to_owned(), keyid });
    }
    let signers = opened.check_role(root, Role::Root)?;
    if !signers.contains(&keyid) {
        return Err(RegistryError::ThresholdNotMet {
            document: format!("{} (no valid signature by the trusted key {keyid})", opened.document()),
            role: Role::Root.name(),
            valid: signers.len(),
            threshold: root.roles.root.threshold,
        });
    }
    Ok(())
}

/// Walks from a trusted root through its successors (`roots/N+1.root.json`,
/// `roots/N+2.root.json`, …), each exactly one version newer and signed by a
/// threshold of the previous root's root keys and of its own (TUF §5.3).
/// Expiry of intermediate roots does not matter; the caller checks the last.
pub fn verify_root_chain<B: AsRef<[u8]>>(trusted: &Root, newer: &[B], limits: &Limits) -> Result<Root, RegistryError> {
    let mut current = trusted.clone();
    for bytes in newer {
        let expected = current.version + 1;
        let document = crate::metadata::versioned_root_path(expected);
        let (opened, root) = open_root(bytes.as_ref(), &document, limits.root)?;
        if root.version != expected {
            return Err(RegistryError::RootVersionGap { document, expected, found: root.version });
        }
        opened.check_role(&current, Role::Root)?;
        opened.check_role(&root, Role::Root)?;
        current = root;
    }
    Ok(current)
}

/// A root that only has to be consistent with itself: used for a root.json
/// given as a trust anchor and for a registry's own folder when authoring.
pub(crate) fn verify_self_signed_root(bytes: &[u8], document: &str, limit: u64) -> Result<Root, RegistryError> {
    let (opened, root) = open_root(bytes, document, limit)?;
    opened.check_role(&root, Role::Root)?;
    Ok(root)
}

/// Parses a root document without trusting it yet: only its structure is
/// checked. Callers use this to learn which version a server offers.
pub(crate) fn open_root(bytes: &[u8], document: &str, limit: u64) -> Result<(Opened, Root), RegistryError> {
    let opened = envelope::open(bytes, document, limit, "root")?;
    let root: Root = opened.payload()?;
    root.validate().map_err(|message| RegistryError::malformed(document, message))?;
    Ok((opened, root))
}

/// Verifies `snapshot.json`: signed by a threshold of the root's snapshot
/// keys, structurally sound, and not older than `highest_seen` (equal is
/// allowed: it is the same snapshot fetched again). Expiry is reported as
/// [`SnapshotCheck::Expired`], not as an error, so the caller can say
/// "stale" and keep its cache.
pub fn verify_snapshot(
    root: &Root,
    bytes: &[u8],
    highest_seen: Option<u64>,
    now: Timestamp,
    limits: &Limits,
) -> Result<SnapshotCheck, RegistryError> {
    let document = "snapshot.json";
    let opened = envelope::open(bytes, document, limits.snapshot, "snapshot")?;
    // The signature comes first: nothing in the document, not even its
    // version, means anything before it is verified.
    opened.check_role(root, Role::Snapshot)?;
    let snapshot: Snapshot = opened.payload()?;
    snapshot.validate().map_err(|message| RegistryError::malformed(document, message))?;
    if let Some(seen) = highest_seen
        && snapshot.version < seen
    {
        return Err(RegistryError::Rollback { document: document.to_owned(), found: snapshot.version, seen });
    }
    if snapshot.is_expired(now) {
        tracing::warn!(version = snapshot.version, expires = %snapshot.expires, "snapshot.json has expired; the registry is stale");
        return Ok(SnapshotCheck::Expired(snapshot));
    }
    Ok(SnapshotCheck::Fresh(snapshot))
}

/// Verifies `remotes/<name>.json` against the snapshot entry that pins it:
/// exact length and sha256 first (refusing an index from another snapshot,
/// "mix-and-match"), then everything [`parse_remote_index`] checks.
pub fn verify_remote_index(
    entry: &SnapshotEntry,
    name: &str,
    bytes: &[u8],
    limits: &Limits,
) -> Result<RemoteIndex, RegistryError> {
    let document = remote_index_path(name);
    if entry.length > limits.remote_index {
        return Err(RegistryError::TooLarge { document, size: Some(entry.length), limit: limits.remote_index });
    }
    check_length_and_hash(&document, &entry.sha256, entry.length, bytes)?;
    parse_remote_index(name, bytes, limits)
}

/// Parses and checks a remote index without a snapshot entry to pin it:
/// the name matches, every manifest is valid and belongs to this remote,
/// no version appears twice, every path is safe, the entry file is listed.
/// Use [`verify_remote_index`] for anything downloaded.
pub fn parse_remote_index(name: &str, bytes: &[u8], limits: &Limits) -> Result<RemoteIndex, RegistryError> {
    let document = remote_index_path(name);
    manifest::validate_remote_name(name)
        .map_err(|message| RegistryError::InvalidIndex { document: document.clone(), message })?;
    if bytes.len() as u64 > limits.remote_index {
        return Err(RegistryError::TooLarge { document, size: Some(bytes.len() as u64), limit: limits.remote_index });
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let index: RemoteIndex = serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        RegistryError::malformed(&document, format!("at `{path}`: {}", err.into_inner()))
    })?;
    if index.name != name {
        return Err(RegistryError::NameMismatch { document, expected: name.to_owned(), found: index.name });
    }
    let invalid = |message: String| RegistryError::InvalidIndex { document: document.clone(), message };
    let mut versions = BTreeSet::new();
    for entry in &index.versions {
        let manifest = &entry.manifest;
        let version = &manifest.version;
        manifest
            .validate()
            .map_err(|source| RegistryError::Manifest { document: format!("{document} ({name} {version})"), source })?;
        if manifest.name != name {
            return Err(RegistryError::NameMismatch {
                document: format!("{document} ({version})"),
                expected: name.to_owned(),
                found: manifest.name.clone(),
            });
        }
        if !versions.insert(version.clone()) {
            return Err(RegistryError::DuplicateVersion { document, name: name.to_owned(), version: version.clone() });
        }
        let manifest_size = serde_json::to_vec(manifest).map(|json| json.len() as u64).unwrap_or(u64::MAX);
        if manifest_size > limits.manifest {
            return Err(RegistryError::TooLarge {
                document: format!("the manifest of {name} {version} in {document}"),
                size: Some(manifest_size),
                limit: limits.manifest,
            });
        }
        if entry.files.is_empty() {
            return Err(invalid(format!("{name} {version} lists no files")));
        }
        let mut paths = BTreeSet::new();
        for file in &entry.files {
            manifest::validate_bundle_path(&file.path).map_err(|reason| RegistryError::UnsafePath {
                document: document.clone(),
                path: file.path.clone(),
                reason,
            })?;
            if !is_lower_hex(&file.sha256, 64) {
                return Err(invalid(format!(
                    "{name} {version}: the sha256 of {:?} is not 64 lowercase hex digits",
                    file.path
                )));
            }
            if file.length > limits.blob {
                return Err(RegistryError::TooLarge {
                    document: format!("{:?} of {name} {version} in {document}", file.path),
                    size: Some(file.length),
                    limit: limits.blob,
                });
            }
            if !paths.insert(file.path.as_str()) {
                return Err(invalid(format!("{name} {version} lists {:?} twice", file.path)));
            }
        }
        // A path that is both a file and a folder ("a" and "a/b") cannot be
        // laid out on disk; refusing it here keeps installs simple.
        for path in &paths {
            let mut prefix = String::new();
            for segment in path.split('/') {
                if !prefix.is_empty() && paths.contains(prefix.as_str()) {
                    return Err(invalid(format!("{name} {version} lists {prefix:?} both as a file and as a folder")));
                }
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(segment);
            }
        }
        if !paths.contains(manifest.entry.as_str()) {
            return Err(invalid(format!(
                "{name} {version} names {:?} as its entry but does not list that file",
                manifest.entry
            )));
        }
    }
    Ok(index)
}

/// Checks a blob's length and sha256 against what its index declared.
pub fn verify_blob(sha256: &str, length: u64, bytes: &[u8]) -> Result<(), RegistryError> {
    check_length_and_hash(&blob_path(sha256), sha256, length, bytes)
}

fn check_length_and_hash(document: &str, sha256: &str, length: u64, bytes: &[u8]) -> Result<(), RegistryError> {
    let actual_length = bytes.len() as u64;
    if actual_length > length {
        return Err(RegistryError::LongerThanDeclared { document: document.to_owned(), declared: length });
    }
    if actual_length < length {
        return Err(RegistryError::LengthMismatch {
            document: document.to_owned(),
            declared: length,
            actual: actual_length,
        });
    }
    let actual = hex::encode(Sha256::digest(bytes));
    if actual != sha256 {
        return Err(RegistryError::HashMismatch { document: document.to_owned(), expected: sha256.to_owned(), actual });
    }
    Ok(())
}

/// Hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
