use std::io;
use std::path::PathBuf;

use crate::digest::Sha256Digest;

/// Everything that can go wrong in the bundle cache.
///
/// Each message says what happened and what the person (or the calling code)
/// can do about it, because these errors surface verbatim in the CLI and the
/// Admin Dashboard.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// A file system operation on the cache directory failed.
    #[error(
        "could not {action} `{}`: {source}; check that the cache directory exists, is writable and the disk is not full",
        path.display()
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// SQLite reported an error on the cache index.
    #[error(
        "the cache index failed while {action}: {source}; if another Augment-It process is busy with the cache let it finish and retry, otherwise run a cache verify"
    )]
    Database {
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// The index was written by a newer build with a schema this build does not know.
    #[error(
        "the cache index `{}` has schema version {found} but this build understands up to {supported}; upgrade Augment-It or point it at a different cache directory",
        path.display()
    )]
    SchemaTooNew { path: PathBuf, found: i64, supported: i64 },

    /// A string that should be a sha256 digest is not one.
    #[error("`{input}` is not a sha256 digest: {reason}; expected 64 lowercase hex digits")]
    InvalidDigest { input: String, reason: &'static str },

    /// Bytes handed to `write_blob` do not hash to the digest they were announced with.
    #[error(
        "refused to store a blob: its content hashes to {actual} but {expected} was expected; the download is corrupt or was tampered with, fetch it again"
    )]
    DigestMismatch { expected: Sha256Digest, actual: Sha256Digest },

    /// A blob being written received more or fewer bytes than it was announced with.
    #[error(
        "refused to store blob {digest}: {actual} bytes arrived but {expected} were announced; the download was cut short or is corrupt, fetch it again"
    )]
    BlobLengthMismatch { digest: Sha256Digest, expected: u64, actual: u64 },

    /// A version refers to a blob that is not in the store, or has the wrong length.
    #[error("{0}")]
    BlobMissing(Box<MissingBlob>),

    /// The same name and version is already installed with different files.
    #[error(
        "{name}@{version} is already installed with different files; a published version must never change, so the registry republished it: ask its publisher to release a new version number"
    )]
    VersionConflict { name: String, version: String },

    /// An operation needs a version that is not installed.
    #[error("{name}@{version} is not installed in the cache; install it first")]
    VersionNotInstalled { name: String, version: String },

    /// Saving registry state would lower the highest snapshot version seen.
    #[error(
        "refused registry state for `{registry}`: it offers snapshot version {attempted} but version {stored} was already seen; an older snapshot may be a rollback attack, so the cached state is kept"
    )]
    SnapshotRollback { registry: String, stored: u64, attempted: u64 },

    /// `rollback` found no version to go back to.
    #[error("cannot roll back {name}: {reason}; install the version you want, select it, and pin it instead")]
    NothingToRollBackTo { name: String, reason: String },

    /// An argument is empty or malformed.
    #[error("invalid {what}: {reason}")]
    InvalidInput { what: &'static str, reason: String },

    /// An `InstallGuard` from one cache directory was used with another.
    #[error(
        "this install guard belongs to the cache at `{}` but was used with the cache at `{}`; take the guard from the same cache you write to",
        guard_dir.display(), cache_dir.display()
    )]
    ForeignGuard { guard_dir: PathBuf, cache_dir: PathBuf },

    /// A lock file could not be read.
    #[error("the lock file is invalid at {location}: {reason}; export it again with `augment lock export`")]
    InvalidLockFile { location: String, reason: String },

    /// A lock file uses a format version this build cannot read.
    #[error(
        "the lock file has lockVersion {found} but this build reads only version {supported}; upgrade Augment-It or export the lock file again"
    )]
    UnsupportedLockVersion { found: String, supported: u32 },
}

/// Details of [`CacheError::BlobMissing`], boxed to keep every `Result` small.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot commit {name}@{version}: file `{path}` needs blob {digest} of {expected_length} bytes but {}; write every blob before committing the version",
    match found_length { Some(n) => format!("the stored blob has {n} bytes"), None => "it is not in the cache".to_owned() }
)]
#[non_exhaustive]
pub struct MissingBlob {
    pub name: String,
    pub version: String,
    pub path: String,
    pub digest: Sha256Digest,
    pub expected_length: u64,
    /// The length of the blob found on disk, if there is one.
    pub found_length: Option<u64>,
}

/// Shorthand used throughout the crate.
pub type Result<T, E = CacheError> = std::result::Result<T, E>;

pub(crate) fn io_err(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> CacheError {
    let path = path.into();
    move |source| CacheError::Io { action, path, source }
}

pub(crate) fn db_err(action: &'static str) -> impl FnOnce(rusqlite::Error) -> CacheError {
    move |source| CacheError::Database { action, source }
}
