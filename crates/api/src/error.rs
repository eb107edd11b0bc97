/// Why a flow failed. [`ApiError::kind`] groups the causes for exit codes and UI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
    #[error(transparent)]
    Cache(#[from] cache::CacheError),
    #[error(transparent)]
    Select(#[from] manifest::SelectError),
    #[error("no cache directory could be determined: set AUGMENT_CACHE_DIR or pass --cache-dir")]
    NoCacheDir,
    #[error("no registry given: pass --registry (a folder, file:// or http(s):// URL)")]
    NoRegistry,
    #[error("{registry} has not been trusted yet: pass --trust with its public key (.pub file or hex) or a root.json")]
    NoTrustAnchor { registry: String },
    #[error("{registry} cannot be reached ({reason}) and nothing from it is cached: connect and run again")]
    UnreachableNothingCached { registry: String, reason: String },
    #[error("the cached manifest of {name} {version} is unreadable ({reason}): run `augment cache verify`")]
    CorruptManifest { name: String, version: String, reason: String },
    #[error(
        "the lock file pins {name} {version} with different files than the registry serves ({detail}): refusing to install it"
    )]
    LockMismatch { name: String, version: String, detail: String },
    #[error("{registry} could not be used ({reason}): nothing was installed from it; try again when it answers")]
    RegistryNotUsable { registry: String, refused: bool, reason: String },
    #[error(
        "downloading it would take this resolve past its download budget of {budget} bytes ({needed} bytes, {left} left): a registry that lists more than that at once is refused; resolve fewer remotes at a time (`augment resolve NAME…`)"
    )]
    DownloadBudget { needed: u64, left: u64, budget: u64 },
    // Not a `#[source]`: the message already carries it, and the CLI prints
    // the whole chain.
    #[error("refusing the lock file, nothing was applied: it grants {remote} an {permission}")]
    UnknownPermission { remote: String, permission: manifest::UnknownPermission },
    #[error("could not read or write {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// The kinds of failure a front end treats differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Something failed verification: nothing was installed.
    Refused,
    /// No usable version of a wanted remote.
    Incompatible,
    /// The registry could not be reached and the cache cannot stand in.
    Unreachable,
    Other,
}

impl ApiError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Registry(err) if err.is_network() => ErrorKind::Unreachable,
            Self::Registry(_) | Self::LockMismatch { .. } | Self::DownloadBudget { .. } => ErrorKind::Refused,
            Self::Cache(cache::CacheError::DigestMismatch { .. }) => ErrorKind::Refused,
            Self::Select(_) => ErrorKind::Incompatible,
            Self::UnreachableNothingCached { .. } => ErrorKind::Unreachable,
            Self::RegistryNotUsable { refused: true, .. } => ErrorKind::Refused,
            Self::RegistryNotUsable { refused: false, .. } => ErrorKind::Unreachable,
            _ => ErrorKind::Other,
        }
    }
}
