//! Content-addressed blob files.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::digest::{HASH_BUFFER_SIZE, Sha256Digest, hash_file};
use crate::error::{CacheError, Result, io_err};
use crate::{BundleCache, InstallGuard};

impl BundleCache {
    /// Where the blob with `digest` lives (whether or not it is present).
    pub fn blob_path(&self, digest: &Sha256Digest) -> PathBuf {
        let hex = digest.to_hex();
        self.blobs_dir.join(&hex[..2]).join(hex)
    }

    /// Whether the blob is present with exactly `length` bytes. Cheap: it does
    /// not re-hash; [`BundleCache::verify`] does. Without an [`InstallGuard`]
    /// held, a gc may remove the blob right after this answers `true`, which
    /// [`BundleCache::commit_version`] then reports.
    pub fn has_blob(&self, digest: &Sha256Digest, length: u64) -> bool {
        blob_length(&self.blob_path(digest)) == Some(length)
    }

    /// Stores `bytes` as the blob `expected`.
    ///
    /// The bytes are hashed first and refused with
    /// [`CacheError::DigestMismatch`] if they do not match, leaving nothing on
    /// disk. Otherwise they are written to a temporary file and renamed into
    /// place, so other processes see the blob complete or not at all.
    /// Flushing to the disk is left to the commit
    /// ([`BundleCache::commit_versions`]), which makes every blob a version
    /// references durable before the version becomes visible: one flush per
    /// install instead of two per file. Writing a blob that is already
    /// present is a no-op; a present blob whose content is damaged is replaced.
    pub fn write_blob(&self, guard: &InstallGuard, expected: &Sha256Digest, bytes: &[u8]) -> Result<()> {
        self.check_guard(guard)?;
        let actual = Sha256Digest::of(bytes);
        if actual != *expected {
            tracing::warn!(%expected, %actual, "refused blob whose content does not match its digest");
            return Err(CacheError::DigestMismatch { expected: *expected, actual });
        }
        let path = self.blob_path(expected);
        let length = bytes.len() as u64;
        if blob_length(&path) == Some(length) {
            // Re-hash rather than trust the length, so that re-installing is
            // how a blob that `verify` reported as damaged gets repaired.
            let mut buf = vec![0u8; HASH_BUFFER_SIZE.min(bytes.len().max(1))];
            match hash_file(&path, &mut buf) {
                Ok((digest, _)) if digest == *expected => {
                    tracing::trace!(digest = %expected, "blob already present");
                    return Ok(());
                }
                Ok((digest, _)) => {
                    tracing::warn!(expected = %expected, found = %digest, "replacing damaged blob");
                }
                Err(e) => {
                    tracing::warn!(digest = %expected, error = %e, "replacing unreadable blob")
                }
            }
        }

        let Some(fanout) = path.parent() else {
            return Err(CacheError::InvalidInput {
                what: "blob path",
                reason: format!("`{}` has no parent directory", path.display()),
            });
        };
        if !fanout.is_dir() {
            fs::create_dir_all(fanout).map_err(io_err("create directory", fanout))?;
        }

        // A NamedTempFile removes itself when dropped, so every early return
        // below leaves no temporary file behind.
        let mut tmp = tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(&self.tmp_dir)
            .map_err(io_err("create a temporary file in", &self.tmp_dir))?;
        tmp.write_all(bytes).map_err(io_err("write", tmp.path()))?;
        tmp.persist(&path).map_err(|e| CacheError::Io {
            action: "move a finished blob into",
            path: path.clone(),
            source: e.error,
        })?;
        tracing::debug!(digest = %expected, length, "stored blob");
        Ok(())
    }
}

impl BundleCache {
    /// Makes the given blobs (and the directory entries naming them) durable.
    ///
    /// On Linux one `syncfs` flushes the cache's file system: every blob an
    /// install wrote, in one call. Elsewhere each blob and its directory are
    /// flushed one by one.
    pub(crate) fn make_durable<'a>(&self, blobs: impl IntoIterator<Item = &'a Sha256Digest>) -> Result<()> {
        #[cfg(target_os = "linux")]
        {
            let _ = blobs;
            let dir = fs::File::open(&self.blobs_dir).map_err(io_err("open", &self.blobs_dir))?;
            rustix::fs::syncfs(&dir).map_err(|errno| CacheError::Io {
                action: "flush to disk",
                path: self.blobs_dir.clone(),
                source: errno.into(),
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let mut fanouts = std::collections::BTreeSet::new();
            for digest in blobs {
                let path = self.blob_path(digest);
                fs::File::open(&path).and_then(|f| f.sync_all()).map_err(io_err("flush", &path))?;
                if let Some(fanout) = path.parent() {
                    fanouts.insert(fanout.to_path_buf());
                }
            }
            fanouts.insert(self.blobs_dir.clone());
            fanouts.iter().try_for_each(|dir| sync_dir(dir))
        }
    }
}

pub(crate) fn blob_length(path: &Path) -> Option<u64> {
    fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| m.len())
}

/// Flushes a directory so a rename or creation inside it survives a crash.
#[cfg(all(unix, not(target_os = "linux")))]
fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_err("flush directory", dir))
}

/// Windows cannot open directories for flushing; NTFS journals renames itself.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}
