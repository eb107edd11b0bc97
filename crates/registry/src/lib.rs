//! The signed static registry protocol (see DESIGN.md §4).
//!
//! A registry is a tree of static files that any folder or web server can
//! hold:
//!
//! - `root.json` (and every past root as `roots/<n>.root.json`): the ed25519
//!   keys allowed to sign, per role, with a threshold;
//! - `snapshot.json`: signed by the snapshot role; a version that only goes
//!   up, an expiry, and the sha256 and length of every remote's index;
//! - `remotes/<name>.json`: every version of one remote (manifest, files,
//!   yanked flag), pinned by the snapshot's hash rather than signed itself;
//! - `blobs/sha256/<hex>`: file contents, addressed by hash.
//!
//! The crate has three layers:
//!
//! - **verification** ([`verify_root`], [`verify_root_chain`],
//!   [`verify_snapshot`], [`verify_remote_index`], [`verify_blob`]): pure
//!   functions of bytes, trusted state and the time, refusing bad
//!   signatures, rollbacks, mix-and-match, oversize documents and unsafe paths;
//! - **transport** ([`RegistryClient`]): `file://` and plain paths, `http(s)://`
//!   with conditional requests, a size bound on every read, and timeouts;
//! - **authoring** ([`author`]): pure builders of the next documents, and a
//!   writer that applies them to a local folder under a lock, atomically.
//!
//! # A client's refresh
//!
//! 1. [`RegistryClient::refresh_root`] with the [`TrustAnchor`] from
//!    `--trust` the first time, and with the last verified [`Root`] (and the
//!    ETag of its `root.json`) after that; rotations are chained for you.
//! 2. [`RegistryClient::fetch_snapshot`] with that root, the highest
//!    snapshot version seen for this registry and the cached ETag.
//!    [`Refresh::NotModified`] means nothing changed; a
//!    [`SnapshotCheck::Expired`] snapshot means "stale": keep serving the
//!    cache and never record it as fresh.
//! 3. [`RegistryClient::fetch_remote_index`] for each remote whose entry's
//!    sha256 differs from the cached index, then
//!    [`RegistryClient::fetch_blob`] (or [`RegistryClient::open_blob`], to
//!    stream it to disk) for files not yet cached.
//!
//! Persisting the highest snapshot version seen and the last good documents
//! is the cache's job; this crate takes them as arguments.

mod client;
mod envelope;
mod error;
mod keys;
mod limits;
mod metadata;
mod source;
mod verify;

pub mod author;
pub mod hosted;

pub use author::documents::{DEFAULT_ROOT_EXPIRY, DEFAULT_SNAPSHOT_EXPIRY, Expiry};
pub use author::folder::{
    PublishOptions, PublishReport, RefreshReport, RotateReport, YankReport, init, publish, resign_snapshot,
    rotate_root, yank,
};
pub use client::{BlobDownload, ClientOptions, Fetched, Refresh, RegistryClient};
pub use error::RegistryError;
pub use keys::{PublicKey, SigningKey, TrustAnchor};
pub use limits::{
    Limits, MAX_BLOB_BYTES, MAX_MANIFEST_BYTES, MAX_REMOTE_INDEX_BYTES, MAX_RESOLVE_BYTES, MAX_ROOT_BYTES,
    MAX_SNAPSHOT_BYTES,
};
pub use metadata::{
    FileEntry, IndexVersion, KEYTYPE_ED25519, KeyEntry, RemoteIndex, RoleKeys, Roles, Root, Snapshot, SnapshotEntry,
    blob_path, remote_index_path, versioned_root_path,
};
pub use source::RegistrySource;
pub use verify::{
    SnapshotCheck, parse_remote_index, sha256_hex, verify_blob, verify_remote_index, verify_root, verify_root_chain,
    verify_snapshot,
};
