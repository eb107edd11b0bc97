//! How much the cache holds, for the Admin Dashboard.

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::BundleCache;
use crate::digest::Sha256Digest;
use crate::error::{Result, db_err, io_err};

/// The outcome of [`BundleCache::usage`].
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheUsage {
    /// Bytes of the blob files on disk; a blob shared by several versions counts once.
    pub bytes: u64,
    /// Blob files on disk, including any that only the next gc will remove.
    pub blobs: u64,
    /// Installed versions, across every remote.
    pub versions: u64,
}

impl BundleCache {
    /// Sizes the blob store from file metadata (no blob is read) and counts
    /// the installed versions. Takes no lock: an install or gc running at the
    /// same time can make the numbers a blob or two off, which a dashboard
    /// figure tolerates.
    pub fn usage(&self) -> Result<CacheUsage> {
        let versions: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM versions", [], |row| row.get(0))
            .map_err(db_err("counting installed versions"))?;
        let mut usage = CacheUsage { versions: u64::try_from(versions).unwrap_or(0), ..CacheUsage::default() };
        for fanout in list(&self.blobs_dir)? {
            for path in list(&fanout)? {
                // Only files at their content address count, as gc sweeps the rest.
                let Some(digest) =
                    path.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse::<Sha256Digest>().ok())
                else {
                    continue;
                };
                if self.blob_path(&digest) != path {
                    continue;
                }
                if let Ok(meta) = fs::symlink_metadata(&path)
                    && meta.is_file()
                {
                    usage.blobs += 1;
                    usage.bytes += meta.len();
                }
            }
        }
        Ok(usage)
    }
}

/// The entries of `dir`; none if a concurrent gc removed it.
fn list(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(io_err("list", dir)(e)),
    };
    entries.map(|entry| entry.map(|e| e.path()).map_err(io_err("list", dir))).collect()
}
