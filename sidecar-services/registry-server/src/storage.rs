//! The registry tree in object storage, with the one primitive publishing
//! needs on every backend: a conditional write ("replace this object only if
//! it is still the version I read", "create it only if it is absent").
//!
//! # Why two ways of doing a conditional write
//!
//! S3 (and R2, MinIO, GCS, Azure) do it natively: `PutMode::Update` sends
//! `If-Match: <etag>` and `PutMode::Create` sends `If-None-Match: *`, so any
//! number of replicas anywhere can share one bucket.
//!
//! `object_store`'s `LocalFileSystem` implements `PutMode::Create` (a hard
//! link, which fails if the name exists) but not `PutMode::Update`. For a
//! local folder the compare-and-swap is therefore done under an exclusive
//! OS file lock on `<dir>/.publish.lock`: take the lock, re-read the object,
//! compare its sha256 with the one read before, write it (temp file +
//! rename, atomic for readers), release. Every process on the host that
//! shares the folder takes the same lock, including `augment publish
//! --registry <folder>` (the folder writer in `crates/registry` locks that
//! very file), so server replicas and the CLI never lose each other's
//! writes. Comparing content hashes rather than `LocalFileSystem`'s
//! inode/mtime/size ETag makes the comparison exact. The lock is advisory
//! and host-local: several hosts sharing one folder over NFS must use an
//! object store instead.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt as _;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload, UpdateVersion};
use sha2::{Digest as _, Sha256};

/// The folder writer's lock file; sharing it makes the CLI and the server
/// take turns on a local folder.
pub const LOCAL_LOCK_FILE: &str = ".publish.lock";

/// A storage operation that failed for a reason other than a lost race.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    #[error("storage failed to {action} {key}: {source}")]
    Store {
        action: &'static str,
        key: String,
        #[source]
        source: object_store::Error,
    },

    #[error("could not open the storage folder {}: {source}", dir.display())]
    Open {
        dir: PathBuf,
        #[source]
        source: object_store::Error,
    },

    #[error("could not take the publish lock {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the storage configuration is invalid: {0}")]
    Config(String),

    #[error(
        "{description} is not usable: check that the bucket exists and that the endpoint, region and credentials (AWS_*) are right: {source}"
    )]
    Unreachable {
        description: String,
        #[source]
        source: object_store::Error,
    },

    #[error(
        "{description} does not honour conditional writes ({what}): replicas would overwrite each other's publishes. Use a store with conditional puts (AWS S3, R2, MinIO ≥ 2024-08)"
    )]
    NoConditionalWrites { description: String, what: &'static str },
}

/// The object [`Storage::verify`] writes to check conditional writes, in
/// the never-served `.server/` folder.
const CAS_PROBE: &str = ".server/cas-probe";
/// What the probe's conditional writes try to store; finding it stored
/// means the store ignored the condition.
const CAS_PROBE_REFUSED: &[u8] = b"a conditional write the store should have refused";

/// How conditional writes are done (see the module docs).
#[derive(Debug, Clone)]
enum Cas {
    /// The store implements `PutMode::Update` and `PutMode::Create`.
    Native,
    /// A local folder: compare-and-swap under an OS lock on this file.
    HostLock(PathBuf),
}

/// The version of an object as read, to make a later write conditional on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    update: UpdateVersion,
    sha256: String,
}

/// An object's bytes and the version they were read at.
#[derive(Debug, Clone)]
pub struct Versioned {
    pub bytes: Bytes,
    pub version: ObjectVersion,
}

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Written,
    /// Someone else changed (or created) the object first: read it again.
    Lost,
}

/// One registry tree in an object store.
#[derive(Debug, Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    cas: Cas,
    description: String,
}

impl Storage {
    /// A registry folder on this machine (it must exist).
    pub fn local(dir: &FsPath) -> Result<Self, StorageError> {
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|source| StorageError::Open { dir: dir.to_owned(), source })?
            // A publish acknowledged to a client must survive a power cut.
            .with_fsync(true);
        Ok(Self {
            store: Arc::new(store),
            cas: Cas::HostLock(dir.join(LOCAL_LOCK_FILE)),
            description: format!("folder {}", dir.display()),
        })
    }

    /// An S3-compatible bucket, configured from the usual `AWS_*`
    /// environment variables (`AWS_ENDPOINT`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`, …)
    /// with conditional puts by ETag, which S3, R2 and MinIO support.
    #[cfg(feature = "aws")]
    pub fn s3(bucket: &str, prefix: Option<&str>) -> Result<Self, StorageError> {
        Self::s3_with(object_store::aws::AmazonS3Builder::from_env(), bucket, prefix)
    }

    /// [`s3`](Self::s3) with the endpoint and credentials set on `builder`
    /// instead of read from the environment (tests, embedding).
    #[cfg(feature = "aws")]
    pub fn s3_with(
        builder: object_store::aws::AmazonS3Builder,
        bucket: &str,
        prefix: Option<&str>,
    ) -> Result<Self, StorageError> {
        use object_store::aws::S3ConditionalPut;
        let store = builder
            .with_bucket_name(bucket)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .build()
            .map_err(|err| StorageError::Config(err.to_string()))?;
        let store: Arc<dyn ObjectStore> = match prefix.filter(|p| !p.is_empty()) {
            Some(prefix) => Arc::new(object_store::prefix::PrefixStore::new(store, prefix)),
            None => Arc::new(store),
        };
        Ok(Self { store, cas: Cas::Native, description: format!("s3://{bucket}/{}", prefix.unwrap_or_default()) })
    }

    /// Any object store that implements conditional puts natively.
    pub fn from_store(store: Arc<dyn ObjectStore>, description: impl Into<String>) -> Self {
        Self { store, cas: Cas::Native, description: description.into() }
    }

    /// Checks, at startup, that the store answers and that it honours
    /// conditional writes, so a wrong bucket or credentials, or an
    /// S3-compatible store that ignores `If-Match`/`If-None-Match` (and would
    /// let replicas overwrite each other's publishes), stops the server with
    /// a clear error instead of failing (or silently losing) publishes later.
    /// A local folder's compare-and-swap is this crate's own, so only the
    /// folder is checked there.
    pub async fn verify(&self) -> Result<(), StorageError> {
        // A listing, unlike a HEAD or GET of one key, fails when the bucket
        // itself is missing (S3 answers 404 NoSuchBucket either way).
        let listed: Result<Vec<ObjectMeta>, _> = self.store.list(Some(&Path::from(".server"))).try_collect().await;
        if let Err(source) = listed {
            return Err(StorageError::Unreachable { description: self.description.clone(), source });
        }
        if matches!(self.cas, Cas::HostLock(_)) {
            return Ok(());
        }
        // Store something, then try to replace it by "create if absent" and
        // by "update if still at a version it never had": both must lose.
        // Replicas starting together may overwrite each other's probe, which
        // is harmless: only the refused bytes must never be found.
        let probe = format!("written by a registry-server starting at {}", jiff::Timestamp::now());
        self.put(CAS_PROBE, Bytes::from(probe)).await?;
        let refused = Bytes::from_static(CAS_PROBE_REFUSED);
        let stale = ObjectVersion {
            update: UpdateVersion { e_tag: Some("\"0-never-an-etag\"".to_owned()), version: None },
            sha256: String::new(),
        };
        for (what, expected) in [("If-None-Match: *", None), ("If-Match", Some(&stale))] {
            let wrote = self.put_if(CAS_PROBE, refused.clone(), expected).await?;
            let stored = self.get(CAS_PROBE).await?;
            if wrote == Write::Written || stored.is_some_and(|object| object.bytes == refused) {
                return Err(StorageError::NoConditionalWrites { description: self.description.clone(), what });
            }
        }
        Ok(())
    }

    /// Where the tree is, for logs and `/ready` (no credentials).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The whole object, or `None` when it does not exist.
    pub async fn get(&self, key: &str) -> Result<Option<Versioned>, StorageError> {
        let path = Path::from(key);
        let result = match self.store.get(&path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(source) => return Err(store_error("read", key, source)),
        };
        let update = UpdateVersion { e_tag: result.meta.e_tag.clone(), version: result.meta.version.clone() };
        let bytes = result.bytes().await.map_err(|source| store_error("read", key, source))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        Ok(Some(Versioned { bytes, version: ObjectVersion { update, sha256 } }))
    }

    /// The object's bytes and metadata, for serving. `None` when absent.
    pub async fn get_for_serving(&self, key: &str) -> Result<Option<(ObjectMeta, Bytes)>, StorageError> {
        let path = Path::from(key);
        let result = match self.store.get(&path).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(source) => return Err(store_error("read", key, source)),
        };
        let meta = result.meta.clone();
        let bytes = result.bytes().await.map_err(|source| store_error("read", key, source))?;
        Ok(Some((meta, bytes)))
    }

    /// The object's metadata, or `None` when it does not exist.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError> {
        match self.store.head(&Path::from(key)).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(store_error("inspect", key, source)),
        }
    }

    /// Writes unconditionally (atomically for readers). For content-addressed
    /// blobs, where any writer writes the same bytes.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StorageError> {
        self.store
            .put(&Path::from(key), PutPayload::from(bytes))
            .await
            .map(drop)
            .map_err(|source| store_error("write", key, source))
    }

    /// Writes `bytes` only if the object is still at `expected` (or, with
    /// `None`, only if it does not exist yet).
    pub async fn put_if(
        &self,
        key: &str,
        bytes: Bytes,
        expected: Option<&ObjectVersion>,
    ) -> Result<Write, StorageError> {
        match &self.cas {
            Cas::Native => {
                let mode = match expected {
                    None => PutMode::Create,
                    Some(version) => PutMode::Update(version.update.clone()),
                };
                self.put_mode(key, bytes, mode).await
            }
            Cas::HostLock(lock_path) => {
                let _lock = lock_exclusive(lock_path).await?;
                let current = self.get(key).await?;
                match (expected, current) {
                    (None, None) => self.put_mode(key, bytes, PutMode::Create).await,
                    (Some(expected), Some(current)) if expected.sha256 == current.version.sha256 => {
                        self.put_mode(key, bytes, PutMode::Overwrite).await
                    }
                    _ => Ok(Write::Lost),
                }
            }
        }
    }

    async fn put_mode(&self, key: &str, bytes: Bytes, mode: PutMode) -> Result<Write, StorageError> {
        let options = PutOptions::from(mode);
        match self.store.put_opts(&Path::from(key), PutPayload::from(bytes), options).await {
            Ok(_) => Ok(Write::Written),
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                Ok(Write::Lost)
            }
            Err(source) => Err(store_error("write", key, source)),
        }
    }

    /// Every object under `prefix` (`"remotes"`), with its metadata.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
        self.store
            .list(Some(&Path::from(prefix)))
            .try_collect()
            .await
            .map_err(|source| store_error("list", prefix, source))
    }
}

fn store_error(action: &'static str, key: &str, source: object_store::Error) -> StorageError {
    StorageError::Store { action, key: key.to_owned(), source }
}

/// Takes the exclusive lock on `path`, waiting on a blocking thread so the
/// runtime keeps serving. Released when the returned file is dropped (or
/// the process dies, which is what makes a SIGKILL harmless).
async fn lock_exclusive(path: &FsPath) -> Result<std::fs::File, StorageError> {
    let path = path.to_owned();
    let lock_error = |path: &FsPath, source| StorageError::Lock { path: path.to_owned(), source };
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| lock_error(&path, source))?;
        file.lock().map_err(|source| lock_error(&path, source))?;
        Ok(file)
    })
    .await
    .map_err(|err| StorageError::Lock {
        path: PathBuf::from(LOCAL_LOCK_FILE),
        source: std::io::Error::other(err.to_string()),
    })?
}
