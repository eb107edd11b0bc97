/// Largest `root.json` (and `roots/<n>.root.json`) accepted: a handful of keys.
pub const MAX_ROOT_BYTES: u64 = 64 * 1024;
/// Largest `snapshot.json`: one hash and length per remote.
pub const MAX_SNAPSHOT_BYTES: u64 = 1024 * 1024;
/// Largest `remotes/<name>.json`: every version of one remote with its file list.
pub const MAX_REMOTE_INDEX_BYTES: u64 = 4 * 1024 * 1024;
/// Largest single file of a bundle.
pub const MAX_BLOB_BYTES: u64 = 32 * 1024 * 1024;
/// Most one resolve downloads in all, indexes and blobs: each document has
/// its own limit, and this bounds how many of them a registry can list.
pub const MAX_RESOLVE_BYTES: u64 = 1024 * 1024 * 1024;
/// Largest `remote.json`, the same limit the manifest crate enforces.
pub const MAX_MANIFEST_BYTES: u64 = manifest::MAX_MANIFEST_BYTES as u64;

/// Size limits for everything read from a registry or a remote folder.
///
/// Every download is bounded before it is parsed, so a hostile or broken
/// registry cannot exhaust memory or disk. Lowering a limit is always safe;
/// `manifest` cannot usefully be raised above [`MAX_MANIFEST_BYTES`], since the
/// manifest parser refuses larger documents anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub root: u64,
    pub snapshot: u64,
    pub remote_index: u64,
    pub blob: u64,
    pub manifest: u64,
    /// Indexes and blobs one resolve may download together.
    pub resolve_total: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            root: MAX_ROOT_BYTES,
            snapshot: MAX_SNAPSHOT_BYTES,
            remote_index: MAX_REMOTE_INDEX_BYTES,
            blob: MAX_BLOB_BYTES,
            manifest: MAX_MANIFEST_BYTES,
            resolve_total: MAX_RESOLVE_BYTES,
        }
    }
}
