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
    /// disk. Otherwise they are written to a temporary file, flushed, renamed
    /// into place and the directory entry is flushed too, so after a crash the
    /// blob is either complete or absent. Writing a blob that is already
    /// present is a no-op; a present blob whose content is damaged is replaced.
    pub fn write_blob(
        &self,
        guard: &InstallGuard,
        expected: &Sha256Digest,
        bytes: &[u8],
    ) -> Result<()> {
        self.check_guard(guard)?;
        let actual = Sha256Digest::of(bytes);
        if actual != *expected {
            tracing::warn!(%expected, %actual, "refused blob whose content does not match its digest");
            return Err(CacheError::DigestMismatch {
                expected: *expected,
                actual,
            });
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
            sync_dir(&self.blobs_dir)?;
        }

        // A NamedTempFile removes itself when dropped, so every early return
        // below leaves no temporary file behind.
        let mut tmp = tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(&self.tmp_dir)
            .map_err(io_err("create a temporary file in", &self.tmp_dir))?;
        tmp.write_all(bytes).map_err(io_err("write", tmp.path()))?;
        tmp.as_file()
            .sync_all()
            .map_err(io_err("flush", tmp.path()))?;
        tmp.persist(&path).map_err(|e| CacheError::Io {
            action: "move a finished blob into",
            path: path.clone(),
            source: e.error,
        })?;
        sync_dir(fanout)?;
        tracing::debug!(digest = %expected, length, "stored blob");
        Ok(())
    }
}

pub(crate) fn blob_length(path: &Path) -> Option<u64> {
    fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

/// Flushes a directory so a rename or creation inside it survives a crash.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("flush directory", dir))
}

/// Windows cannot open directories for flushing; NTFS journals renames itself.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}
