//! Content-addressed blob files.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

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

        let mut tmp = self.blob_temp_file()?;
        tmp.write_all(bytes).map_err(io_err("write", tmp.path()))?;
        move_into_place(tmp, &path)?;
        tracing::debug!(digest = %expected, length, "stored blob");
        Ok(())
    }

    /// Starts storing the blob `expected` of `length` bytes from a stream of
    /// chunks (a download), hashing and writing each chunk in one pass; see
    /// [`BlobWriter`]. Unlike [`BundleCache::write_blob`] it always writes:
    /// the caller asks for blobs it found missing with [`BundleCache::has_blob`].
    pub fn blob_writer(&self, guard: &InstallGuard, expected: &Sha256Digest, length: u64) -> Result<BlobWriter> {
        self.check_guard(guard)?;
        Ok(BlobWriter {
            tmp: self.blob_temp_file()?,
            hasher: Sha256::new(),
            written: 0,
            expected: *expected,
            length,
            path: self.blob_path(expected),
        })
    }

    /// A temporary file next to the store; it removes itself when dropped, so
    /// every early return leaves no temporary file behind.
    fn blob_temp_file(&self) -> Result<NamedTempFile> {
        tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(&self.tmp_dir)
            .map_err(io_err("create a temporary file in", &self.tmp_dir))
    }
}

/// A blob on its way into the store, fed chunk by chunk as it downloads.
///
/// Each chunk is hashed and written to a temporary file in the same pass, so
/// the bytes are read once; [`BlobWriter::finish`] checks the length and the
/// sha256 and only then renames the file to its content address. Dropping an
/// unfinished writer removes the temporary file. The writer borrows nothing,
/// so it can run on a blocking thread while the download runs on an async task.
pub struct BlobWriter {
    tmp: NamedTempFile,
    hasher: Sha256,
    written: u64,
    expected: Sha256Digest,
    length: u64,
    path: PathBuf,
}

impl fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobWriter")
            .field("expected", &self.expected)
            .field("length", &self.length)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl BlobWriter {
    /// Hashes and writes the next chunk. Refuses a chunk that would take the
    /// blob past its announced length, before writing any of it.
    pub fn write(&mut self, chunk: &[u8]) -> Result<()> {
        let after = self.written + chunk.len() as u64;
        if after > self.length {
            return Err(self.length_mismatch(after));
        }
        self.hasher.update(chunk);
        self.tmp.write_all(chunk).map_err(io_err("write", self.tmp.path()))?;
        self.written = after;
        Ok(())
    }

    /// Checks that exactly the announced bytes arrived with the announced
    /// sha256, flushes it to the disk and moves it into place. Flushing the
    /// directory entry that names it is left to the commit
    /// ([`BundleCache::commit_versions`]).
    pub fn finish(self) -> Result<()> {
        if self.written != self.length {
            return Err(self.length_mismatch(self.written));
        }
        let actual = Sha256Digest::from_bytes(self.hasher.finalize().into());
        if actual != self.expected {
            tracing::warn!(expected = %self.expected, %actual, "refused blob whose content does not match its digest");
            return Err(CacheError::DigestMismatch { expected: self.expected, actual });
        }
        // Flushed here, on the writer's thread, while other blobs are still
        // downloading: the commit then only flushes directory entries.
        self.tmp.as_file().sync_data().map_err(io_err("flush", self.tmp.path()))?;
        move_into_place(self.tmp, &self.path)?;
        tracing::debug!(digest = %self.expected, length = self.length, "stored blob");
        Ok(())
    }

    fn length_mismatch(&self, actual: u64) -> CacheError {
        CacheError::BlobLengthMismatch { digest: self.expected, expected: self.length, actual }
    }
}

/// Renames a fully written temporary file to `path`, creating its fan-out
/// directory if needed, so other processes see the blob whole or not at all.
fn move_into_place(tmp: NamedTempFile, path: &Path) -> Result<()> {
    let Some(fanout) = path.parent() else {
        return Err(CacheError::InvalidInput {
            what: "blob path",
            reason: format!("`{}` has no parent directory", path.display()),
        });
    };
    if !fanout.is_dir() {
        fs::create_dir_all(fanout).map_err(io_err("create directory", fanout))?;
    }
    tmp.persist(path).map_err(|e| CacheError::Io {
        action: "move a finished blob into",
        path: path.to_owned(),
        source: e.error,
    })?;
    Ok(())
}

impl BundleCache {
    /// Makes the given blobs (and the directory entries naming them) durable.
    ///
    /// Each blob file and each directory that names one is flushed, nothing
    /// else: a `syncfs` of the whole file system was one call but paid for
    /// every other process's dirty pages (up to 228 ms measured on a machine
    /// busy with builds, BENCHMARKS.md). Blobs a [`BlobWriter`] stored were
    /// already flushed by it, so their flush here finds nothing to write.
    pub(crate) fn make_durable<'a>(&self, blobs: impl IntoIterator<Item = &'a Sha256Digest>) -> Result<()> {
        let mut dirs = std::collections::BTreeSet::new();
        for digest in blobs {
            let path = self.blob_path(digest);
            fs::File::open(&path).and_then(|f| f.sync_data()).map_err(io_err("flush", &path))?;
            if let Some(fanout) = path.parent() {
                dirs.insert(fanout.to_path_buf());
            }
        }
        dirs.insert(self.blobs_dir.clone());
        dirs.iter().try_for_each(|dir| sync_dir(dir))
    }
}

pub(crate) fn blob_length(path: &Path) -> Option<u64> {
    fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| m.len())
}

/// Flushes a directory so a rename or creation inside it survives a crash.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_err("flush directory", dir))
}

/// Windows cannot open directories for flushing; NTFS journals renames itself.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    Ok(())
}
