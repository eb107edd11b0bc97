use std::collections::{BTreeMap, BTreeSet};

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::permissions::Permission;

/// A `remote.json` larger than this is refused before parsing: manifests are
/// small, and the limit keeps a hostile registry from exhausting memory.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;

/// The manifest at the root of a built remote (`remote.json`).
///
/// Unknown fields are kept in [`RemoteManifest::extra`] and written back
/// unchanged, so newer tools can add fields without older ones dropping them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteManifest {
    pub name: String,
    pub version: Version,
    /// The Module Federation entry file, relative to the bundle root.
    pub entry: String,
    /// The host-API versions this remote works with.
    pub host_api: VersionReq,
    /// Shared singletons the remote expects the host to provide.
    #[serde(default)]
    pub shared: BTreeMap<String, VersionReq>,
    /// Other remotes this one needs, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requires: BTreeMap<String, VersionReq>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exposes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What the remote may ask the host to do, once the person grants it.
    /// None declared: only the shell's harmless read-only calls.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub permissions: BTreeSet<Permission>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Why a manifest was refused. Each variant names the field at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    #[error("remote.json is {size} bytes, over the {limit}-byte limit: keep the manifest to metadata only")]
    TooLarge { size: usize, limit: usize },
    #[error("remote.json is malformed at `{field}`: {message}")]
    Malformed { field: String, message: String },
    #[error("remote.json field `{field}` is invalid: {message}")]
    Invalid { field: String, message: String },
}

impl RemoteManifest {
    /// Parses and validates a `remote.json` document.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge { size: bytes.len(), limit: MAX_MANIFEST_BYTES });
        }
        let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
        let manifest: Self = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = err.path().to_string();
            let field = if path == "." { "(document)".to_owned() } else { path };
            ManifestError::Malformed { field, message: err.into_inner().to_string() }
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), ManifestError> {
        validate_remote_name(&self.name).map_err(|message| invalid("name", message))?;
        validate_bundle_path(&self.entry).map_err(|message| invalid("entry", message))?;
        for package in self.shared.keys() {
            if package.is_empty() || package.len() > 214 || package.chars().any(char::is_whitespace) {
                return Err(invalid(&format!("shared.{package}"), "is not a package name".into()));
            }
        }
        for remote in self.requires.keys() {
            validate_remote_name(remote).map_err(|message| invalid(&format!("requires.{remote}"), message))?;
            if *remote == self.name {
                return Err(invalid(&format!("requires.{remote}"), "a remote cannot require itself".into()));
            }
        }
        Ok(())
    }

    /// The manifest as pretty JSON, unknown fields included.
    pub fn to_json_pretty(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn invalid(field: &str, message: String) -> ManifestError {
    ManifestError::Invalid { field: field.to_owned(), message }
}

/// A remote name: lowercase ASCII letters, digits and `-`, starting with a
/// letter, at most 64 characters. Names become path segments and URL hosts'
/// paths, so the alphabet is deliberately small.
pub fn validate_remote_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a remote name: use 1-64 lowercase letters, digits and '-', starting with a letter"
        ))
    }
}

/// A path inside a bundle: relative, `/`-separated, with no empty, `.` or `..`
/// segment, no backslash and no NUL, so it can never escape the bundle root on
/// any platform.
pub fn validate_bundle_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    if path.len() > 1024 {
        return Err(format!("the path {path:?} is longer than 1024 bytes"));
    }
    if path.starts_with('/') || path.contains('\\') || path.contains('\0') || path.contains(':') {
        return Err(format!("{path:?} must be a relative path with '/' separators"));
    }
    if path.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") {
        return Err(format!("{path:?} has an empty, '.' or '..' segment"));
    }
    Ok(())
}
