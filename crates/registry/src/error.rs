use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use manifest::{ManifestError, Version};

/// Everything that can go wrong while reading, verifying or writing a registry.
///
/// Messages say what happened and what to do next. They name URLs, paths,
/// key ids, versions and sizes, never the contents of a download or a secret.
/// Variants with a `document` field describe the file ("snapshot.json"); the
/// client appends where it came from (" from https://…") with
/// [`RegistryError::with_origin`], so pure verification needs no URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    // ----- Where the registry is and how it answers -----
    #[error(
        "{input:?} is not a registry location: {reason}. Use a folder path, file:///absolute/path, http://… or https://…"
    )]
    UnsupportedSource { input: String, reason: String },

    #[error("{url} does not exist: check the registry location, or the registry is missing a file it references")]
    NotFound { url: String },

    #[error(
        "{url} answered HTTP {status}: the registry server is failing or refusing the request; try again later or check the registry location"
    )]
    HttpStatus { url: String, status: u16 },

    #[error(
        "{url} did not answer completely within {:.1} s: the registry server stalled or the network is too slow; try again, or raise the timeout", after.as_secs_f64()
    )]
    Timeout { url: String, after: Duration },

    #[error(
        "could not reach {url}: {reason}. Check the network and the registry location; cached remotes still work offline"
    )]
    Unreachable { url: String, reason: String },

    #[error("downloading {url} failed: {reason}; try again")]
    Transfer { url: String, reason: String },

    #[error(
        "{url} answered 304 Not Modified to a request that was not conditional: the server is misbehaving; refusing the response"
    )]
    UnexpectedNotModified { url: String },

    // ----- Sizes, lengths and hashes -----
    #[error(
        "{document} is over the {limit}-byte limit{}: refusing it. Limits keep a broken or hostile registry from exhausting memory; when publishing, make the file smaller",
        size.map(|size| format!(" ({size} bytes)")).unwrap_or_default()
    )]
    TooLarge { document: String, size: Option<u64>, limit: u64 },

    #[error(
        "{document}: the server sent more than the declared {declared} bytes; refusing it (the registry is broken or the file was replaced)"
    )]
    LongerThanDeclared { document: String, declared: u64 },

    #[error(
        "{document} is {actual} bytes but {declared} were declared: the download was cut short or the file was changed; refusing it, try again"
    )]
    LengthMismatch { document: String, declared: u64, actual: u64 },

    #[error(
        "{document} has sha256 {actual} but {expected} was signed for it: the file was changed after signing (corruption, tampering or a mix of old and new files); refusing it"
    )]
    HashMismatch { document: String, expected: String, actual: String },

    // ----- Signed metadata -----
    #[error("{document} is malformed: {message}; refusing it")]
    Malformed { document: String, message: String },

    #[error("{document} is a {found:?} document where a {expected:?} document belongs; refusing it")]
    WrongType { document: String, expected: &'static str, found: String },

    #[error(
        "{document} carries a signature by {role} key {keyid} that does not verify: the document was changed after signing; refusing it"
    )]
    BadSignature { document: String, role: &'static str, keyid: String },

    #[error(
        "{document} is signed only by keys that are not {role} keys of the trusted root ({keyids}): someone else signed it or the trust anchor is wrong; refusing it"
    )]
    UnknownKey { document: String, role: &'static str, keyids: String },

    #[error("{document} has {valid} valid {role} signature(s) but the root requires {threshold}; refusing it")]
    ThresholdNotMet { document: String, role: &'static str, valid: usize, threshold: u32 },

    #[error(
        "{document} does not list the trusted key {keyid} as a root key: the registry is signed with other keys than the one you trust; check --trust or ask the registry owner for the current key"
    )]
    AnchorKeyNotInRoot { document: String, keyid: String },

    #[error(
        "{document} is version {found} but version {seen} was already seen: the registry or a mirror is serving old metadata (possible rollback attack); refusing it"
    )]
    Rollback { document: String, found: u64, seen: u64 },

    #[error(
        "{document} is version {found} but version {expected} was expected: roots rotate one version at a time, each signed by the one before; refusing it"
    )]
    RootVersionGap { document: String, expected: u64, found: u64 },

    #[error(
        "{document} is version {version} like the trusted root but differs from it: two different roots with one version mean the keys were misused; refusing it"
    )]
    RootForked { document: String, version: u64 },

    #[error(
        "{document} expired at {expires}: the registry owner must re-sign it; until then nothing newer from this registry can be trusted, and cached remotes keep working"
    )]
    Expired { document: String, expires: Timestamp },

    #[error(
        "{document} lists the path {path:?}, which is unsafe ({reason}); refusing it because it could escape the bundle folder"
    )]
    UnsafePath { document: String, path: String, reason: String },

    #[error("{document} is invalid: {message}; refusing it")]
    InvalidIndex { document: String, message: String },

    #[error("{document} offers {name} {version} more than once; refusing it")]
    DuplicateVersion { document: String, name: String, version: Version },

    #[error(
        "the snapshot lists no remote named {name:?}: it is not in this registry (check the name, or publish it first)"
    )]
    NotInSnapshot { name: String },

    // ----- Keys and trust -----
    #[error("could not use the key file {}: {message}", path.display())]
    KeyFile { path: PathBuf, message: String },

    #[error("{} already exists: refusing to overwrite a key; move it away first or write the new key elsewhere", path.display())]
    KeyExists { path: PathBuf },

    #[error("invalid key: {message}")]
    InvalidKey { message: String },

    #[error(
        "{input:?} is not a trust anchor: {reason}. Pass a registry.pub file, a root.json file or a 64-hex-digit ed25519 public key"
    )]
    TrustAnchor { input: String, reason: String },

    // ----- Local files -----
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    // ----- Authoring -----
    #[error("{} already holds a registry ({found} exists): refusing to initialise over it; choose an empty folder", dir.display())]
    RegistryExists { dir: PathBuf, found: String },

    #[error("{} is not a registry (it has no root.json): create one with `augment registry init` or check the path", dir.display())]
    NotARegistry { dir: PathBuf },

    #[error("key {keyid} is not a {role} key of the registry in {}: sign with a key listed for that role in its root.json", dir.display())]
    KeyNotAuthorized { dir: PathBuf, role: &'static str, keyid: String },

    #[error(
        "{name} {version} is already published: a published version never changes; bump `version` in remote.json and publish again"
    )]
    VersionExists { name: String, version: Version },

    #[error("{name} {version} is not in the registry: check the name and version (the registry offers: {offered})")]
    VersionNotFound { name: String, version: Version, offered: String },

    #[error("{} is a symbolic link: a published remote must contain only plain files and folders (a link could point outside it); replace the link with the file it points to", path.display())]
    Symlink { path: PathBuf },

    #[error("{} is neither a file nor a folder (a socket, pipe or device?): remove it from the remote folder", path.display())]
    SpecialFile { path: PathBuf },

    #[error("{} has a name that is not valid UTF-8: rename it, since bundle paths must be portable", path.display())]
    NotUtf8Path { path: PathBuf },

    #[error("{document}: {source}")]
    Manifest {
        document: String,
        #[source]
        source: ManifestError,
    },

    #[error(
        "{name} {version} names {entry:?} as its entry, but the bundle has no such file: build the remote first, or fix `entry` in remote.json"
    )]
    EntryMissing { name: String, version: Version, entry: String },

    #[error(
        "{name} {version} cannot run on this host: {reasons}. Fix `hostApi`/`shared` in remote.json, or publish it for a host that provides them"
    )]
    Incompatible { name: String, version: Version, reasons: String },

    #[error("{document} is for {found:?} but it was fetched as {expected:?}; refusing it")]
    NameMismatch { document: String, expected: String, found: String },

    #[error("could not sign {document}: {message}")]
    Signing { document: String, message: String },
}

impl RegistryError {
    /// Appends where a document came from (" from https://…/snapshot.json")
    /// to errors that describe a document, so a pure verifier's error names
    /// the URL once a client has one.
    #[must_use]
    pub fn with_origin(mut self, origin: &str) -> Self {
        if let Some(document) = self.document_mut()
            && !document.contains(" from ")
        {
            document.push_str(" from ");
            document.push_str(origin);
        }
        self
    }

    /// True when the registry answered but its metadata has expired: the
    /// caller reports the registry as stale and keeps its verified cache.
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired { .. })
    }

    /// True when the registry answered with something that failed
    /// verification: a signature, a key, a threshold, a rollback, a hash or
    /// length, a path, a size limit. A client reports the registry as
    /// refused and changes nothing it trusts. An HTTP error, a page that is
    /// not a registry document at all (a captive portal's HTML), a timeout or
    /// an expired document are not refusals: the registry is unusable, not
    /// lying.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::TooLarge { .. }
                | Self::LongerThanDeclared { .. }
                | Self::LengthMismatch { .. }
                | Self::HashMismatch { .. }
                | Self::WrongType { .. }
                | Self::BadSignature { .. }
                | Self::UnknownKey { .. }
                | Self::ThresholdNotMet { .. }
                | Self::AnchorKeyNotInRoot { .. }
                | Self::Rollback { .. }
                | Self::RootVersionGap { .. }
                | Self::RootForked { .. }
                | Self::UnsafePath { .. }
                | Self::InvalidIndex { .. }
                | Self::DuplicateVersion { .. }
                | Self::Manifest { .. }
                | Self::NameMismatch { .. }
        )
    }

    /// True when the registry could not be reached or did not answer in time,
    /// as opposed to answering with something wrong. Offline mode treats
    /// these as "offline", everything else as a fault to report.
    pub fn is_network(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Unreachable { .. } | Self::Transfer { .. })
    }

    fn document_mut(&mut self) -> Option<&mut String> {
        match self {
            Self::TooLarge { document, .. }
            | Self::LongerThanDeclared { document, .. }
            | Self::LengthMismatch { document, .. }
            | Self::HashMismatch { document, .. }
            | Self::Malformed { document, .. }
            | Self::WrongType { document, .. }
            | Self::BadSignature { document, .. }
            | Self::UnknownKey { document, .. }
            | Self::ThresholdNotMet { document, .. }
            | Self::AnchorKeyNotInRoot { document, .. }
            | Self::Rollback { document, .. }
            | Self::RootVersionGap { document, .. }
            | Self::RootForked { document, .. }
            | Self::Expired { document, .. }
            | Self::UnsafePath { document, .. }
            | Self::InvalidIndex { document, .. }
            | Self::DuplicateVersion { document, .. }
            | Self::Manifest { document, .. }
            | Self::NameMismatch { document, .. } => Some(document),
            _ => None,
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { action, path: path.into(), source }
    }

    pub(crate) fn malformed(document: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Malformed { document: document.into(), message: message.into() }
    }
}
