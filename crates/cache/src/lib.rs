//! The offline bundle store: an SQLite index plus content-addressed blobs.
//!
//! Augment-It caches every microfrontend ("remote") it installs so the app can
//! start and mount remotes with no network. This crate owns that cache:
//!
//! - **blobs** live at `<dir>/blobs/sha256/<2 hex>/<64 hex>`, written through
//!   `<dir>/tmp/` and renamed into place, so a blob is either whole or absent;
//! - **the index** (`<dir>/index.sqlite`, WAL mode) records installed versions
//!   and their files, registry trust state, cached metadata documents for
//!   conditional requests, and selection state: active versions, pins,
//!   last-known-good and activation history for rollback; and the
//!   permissions the person granted each remote (`grants`);
//! - **maintenance**: [`BundleCache::verify`] re-hashes every referenced blob,
//!   [`BundleCache::gc`] drops old versions and unreferenced blobs;
//!   [`BundleCache::usage`] sizes the store for the dashboard;
//! - **history** for the dashboard's charts: a size sample per change and a
//!   bounded log of mounts and load failures ([`BundleCache::size_history`],
//!   [`BundleCache::load_stats`]).
//!
//! Several threads and several processes may use one cache directory at once.
//! Writes to the index run in `BEGIN IMMEDIATE` transactions; blob writers hold
//! an [`InstallGuard`] (a shared lock on `<dir>/gc.lock`) from their first blob
//! until their commit, and gc takes that lock exclusively, so it never deletes
//! a blob an in-flight install is about to reference.
//!
//! The crate knows nothing about manifests or registries beyond opaque JSON
//! strings and URL keys; it does no network I/O and is fully synchronous.

mod blobs;
mod digest;
mod error;
mod gc_lock;
mod grants;
mod history;
mod lockfile;
mod maintenance;
mod registry_state;
mod schema;
mod selection;
mod usage;
mod versions;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, Transaction, TransactionBehavior};

pub use blobs::BlobWriter;
pub use digest::Sha256Digest;
pub use error::{CacheError, MissingBlob, Result};
pub use gc_lock::InstallGuard;
pub use history::{CacheSizeSample, MOUNT_EVENTS_KEPT, MountOutcome, RemoteLoadStats, SIZE_SAMPLES_KEPT};
pub use lockfile::{LOCK_FILE_VERSION, LockEntry, LockFile};
pub use maintenance::{BlobProblem, BlobProblemKind, GcReport, VerifyReport};
pub use registry_state::{RegistryState, StoredDocument};
pub use selection::Rollback;
pub use usage::CacheUsage;
pub use versions::{FileEntry, InstalledVersion, NewVersion, VersionRef};

use error::{db_err, io_err};

/// A cache directory opened for use. Cheap to share: it is `Send + Sync`, and
/// every method takes `&self`.
pub struct BundleCache {
    dir: PathBuf,
    /// Canonical form of `dir`, used to tell whether an [`InstallGuard`] was
    /// taken on this cache even when the two were opened through different paths.
    identity: PathBuf,
    blobs_dir: PathBuf,
    tmp_dir: PathBuf,
    lock_path: PathBuf,
    conn: Mutex<Connection>,
}

impl fmt::Debug for BundleCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BundleCache").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl BundleCache {
    /// Opens the cache in `dir`, creating the directory layout and the index if
    /// needed and migrating an older index to the current schema.
    pub fn open(dir: &Path) -> Result<Self> {
        let blobs_dir = dir.join("blobs").join("sha256");
        let tmp_dir = dir.join("tmp");
        for d in [&blobs_dir, &tmp_dir] {
            fs::create_dir_all(d).map_err(io_err("create directory", d))?;
        }
        let identity = fs::canonicalize(dir).map_err(io_err("resolve the path of", dir))?;
        let conn = schema::open(&dir.join("index.sqlite"), &tmp_dir)?;
        tracing::debug!(dir = %dir.display(), "opened bundle cache");
        Ok(Self {
            dir: dir.to_owned(),
            identity,
            blobs_dir,
            tmp_dir,
            lock_path: dir.join("gc.lock"),
            conn: Mutex::new(conn),
        })
    }

    /// The cache directory, as given to [`BundleCache::open`].
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the connection leaves no half-done transaction
        // behind (rusqlite rolls back on drop), so the connection is still usable.
        self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Starts a write transaction that takes SQLite's write lock up front, so a
/// read-check-write sequence cannot interleave with another process's write.
fn immediate<'c>(conn: &'c mut Connection, action: &'static str) -> Result<Transaction<'c>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err(action))
}

/// Starts a read transaction so that reads spanning several statements see one
/// snapshot; otherwise a version committed between two SELECTs could show up
/// without its files.
fn read_snapshot<'c>(conn: &'c mut Connection, action: &'static str) -> Result<Transaction<'c>> {
    conn.transaction_with_behavior(TransactionBehavior::Deferred).map_err(db_err(action))
}

/// Bumps and returns the index-wide logical clock that orders installs and
/// activations (wall-clock seconds tie too often to order them).
fn next_tick(tx: &Transaction<'_>) -> Result<i64> {
    tx.query_row("UPDATE clock SET seq = seq + 1 WHERE id = 0 RETURNING seq", [], |row| row.get(0))
        .map_err(db_err("advancing the index clock"))
}

fn now_unix() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        // A clock before 1970 is a misconfigured machine; record it as negative
        // seconds rather than failing an install over a timestamp.
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn non_empty(what: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(CacheError::InvalidInput { what, reason: "it is empty".to_owned() });
    }
    Ok(())
}

fn to_i64(what: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| CacheError::InvalidInput {
        what,
        reason: format!("{value} is larger than the index can store ({})", i64::MAX),
    })
}
