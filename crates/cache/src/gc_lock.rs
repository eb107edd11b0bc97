//! The `gc.lock` file that keeps gc away from in-flight installs.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::BundleCache;
use crate::error::{CacheError, Result, io_err};

/// Proof that the holder may write blobs and commit versions.
///
/// It holds a shared lock on `<dir>/gc.lock` for as long as it lives; gc needs
/// the lock exclusively, so a blob written under a guard cannot be collected
/// before the version that references it is committed. Take one guard per
/// install, before the first blob write, and drop it after the commit.
///
/// Calling [`BundleCache::gc`] on the same thread while holding a guard would
/// wait for that guard forever; drop it first.
pub struct InstallGuard {
    /// Dropping the file releases the lock.
    _file: File,
    cache: PathBuf,
}

impl fmt::Debug for InstallGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallGuard").field("cache", &self.cache).finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum LockMode {
    Shared,
    Exclusive,
}

/// Opens `gc.lock` and waits until the lock is granted in `mode`.
pub(crate) fn acquire(path: &Path, mode: LockMode) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err("open the lock file", path))?;
    let locked = match mode {
        LockMode::Shared => file.lock_shared(),
        LockMode::Exclusive => file.lock(),
    };
    locked.map_err(io_err("lock", path))?;
    Ok(file)
}

impl BundleCache {
    /// Takes the install lock (shared with other installers, exclusive of gc).
    /// Blocks while a gc is running.
    pub fn install_guard(&self) -> Result<InstallGuard> {
        let file = acquire(&self.lock_path, LockMode::Shared)?;
        Ok(InstallGuard { _file: file, cache: self.identity.clone() })
    }

    pub(crate) fn check_guard(&self, guard: &InstallGuard) -> Result<()> {
        if guard.cache != self.identity {
            return Err(CacheError::ForeignGuard { guard_dir: guard.cache.clone(), cache_dir: self.identity.clone() });
        }
        Ok(())
    }
}
