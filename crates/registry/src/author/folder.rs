//! Writing a registry tree in a local folder.
//!
//! Every change takes an exclusive lock on `<dir>/.publish.lock`, so
//! publishers on one machine (threads or processes) take turns. Every file is
//! written to a temporary name, fsynced and renamed, so readers (including a
//! web server serving the folder) never see a torn file. The snapshot is
//! always written last: a crash leaves at most unreferenced blobs or an index
//! entry no snapshot covers yet, never a half-visible version.

use std::fs::{self, File};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use manifest::{HostProfile, Incompatibility, RemoteManifest, Version};

use super::documents::{self, Expiry};
use crate::envelope::Role;
use crate::error::RegistryError;
use crate::keys::{SigningKey, TrustAnchor};
use crate::limits::Limits;
use crate::metadata::{
    FileEntry, IndexVersion, RemoteIndex, Root, Snapshot, blob_path, remote_index_path, versioned_root_path,
};
use crate::source::folder_file;
use crate::verify::{self, sha256_hex};

const LOCK_FILE: &str = ".publish.lock";

/// Options for [`publish`].
#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// How long the new snapshot stays valid.
    pub snapshot_expires_in: Duration,
    /// Checks the manifest against this host; problems are returned in the
    /// report, or refused when `refuse_incompatible` is set.
    pub profile: Option<HostProfile>,
    pub refuse_incompatible: bool,
    pub limits: Limits,
}

impl Default for PublishOptions {
    fn default() -> Self {
        Self {
            snapshot_expires_in: documents::DEFAULT_SNAPSHOT_EXPIRY,
            profile: None,
            refuse_incompatible: false,
            limits: Limits::default(),
        }
    }
}

/// What [`publish`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishReport {
    pub name: String,
    pub version: Version,
    pub files: usize,
    pub bytes: u64,
    /// Blobs written now; the rest were already in the registry.
    pub blobs_written: usize,
    pub blobs_reused: usize,
    pub snapshot_version: u64,
    /// Why the profile's host could not run this version (empty when it can,
    /// or when no profile was given).
    pub incompatibilities: Vec<Incompatibility>,
    /// True when this completed an earlier publish of the identical version
    /// that had crashed before writing its snapshot.
    pub resumed: bool,
}

/// What [`yank`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YankReport {
    /// False when the version already had that state; nothing was written.
    pub changed: bool,
    pub snapshot_version: u64,
}

/// What [`rotate_root`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotateReport {
    pub root_version: u64,
    pub root_expires: Timestamp,
    pub snapshot_version: u64,
    pub snapshot_expires: Timestamp,
}

/// What [`resign_snapshot`] did, with the root's expiry so the caller can
/// warn before it runs out (re-signing the root needs the root key, which
/// this never touches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshReport {
    pub snapshot_version: u64,
    pub snapshot_expires: Timestamp,
    pub root_version: u64,
    pub root_expires: Timestamp,
}

/// Creates an empty registry in `dir`: `root.json` (and `roots/1.root.json`),
/// snapshot version 1 with no remotes, `remotes/` and `blobs/sha256/`.
/// Refuses a folder that already holds a registry.
pub fn init(
    dir: &Path,
    root_key: &SigningKey,
    snapshot_key: &SigningKey,
    expiry: Expiry,
) -> Result<Root, RegistryError> {
    fs::create_dir_all(dir).map_err(|err| RegistryError::io("create", dir, err))?;
    let _lock = lock(dir)?;
    if dir.join("root.json").exists() {
        return Err(RegistryError::RegistryExists { dir: dir.to_owned(), found: "root.json".into() });
    }
    if fs::read_dir(dir.join("remotes")).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(RegistryError::RegistryExists { dir: dir.to_owned(), found: "remotes/".into() });
    }
    let now = Timestamp::now();
    let root = documents::new_root(
        1,
        documents::expires_at(now, expiry.root)?,
        &[root_key.public_key()],
        1,
        &[snapshot_key.public_key()],
        1,
    )?;
    let root_bytes = documents::sign_root(&root, &[root_key])?;
    let snapshot = documents::empty_snapshot(documents::expires_at(now, expiry.snapshot)?);
    let snapshot_bytes = documents::sign_snapshot(&snapshot, &[snapshot_key])?;
    for sub in ["remotes", "roots", "blobs/sha256"] {
        let path = folder_file(dir, sub);
        fs::create_dir_all(&path).map_err(|err| RegistryError::io("create", &path, err))?;
    }
    write_atomic(&folder_file(dir, &versioned_root_path(1)), &root_bytes, true)?;
    write_atomic(&dir.join("snapshot.json"), &snapshot_bytes, true)?;
    // root.json goes last: its presence is what marks an initialised registry,
    // so a crash before this point can simply be retried.
    write_atomic(&dir.join("root.json"), &root_bytes, true)?;
    tracing::info!(dir = %dir.display(), keyid = %root_key.key_id(), "initialised an empty registry");
    Ok(root)
}

/// Publishes the built remote in `remote_dir` (with `remote.json` at its
/// root) to the registry in `dir`: content-addressed blobs, the version
/// appended to `remotes/<name>.json`, and a new snapshot signed with
/// `snapshot_key`.
pub fn publish(
    dir: &Path,
    remote_dir: &Path,
    snapshot_key: &SigningKey,
    options: &PublishOptions,
) -> Result<PublishReport, RegistryError> {
    let limits = options.limits;
    // Everything about the remote folder is checked before touching the
    // registry, so a bad folder never costs a lock or leaves blobs behind.
    let files = collect_files(remote_dir, &limits)?;
    let manifest_path = remote_dir.join("remote.json");
    let manifest_limit = limits.manifest.min(crate::limits::MAX_MANIFEST_BYTES);
    let manifest_bytes = read_limited(&manifest_path, manifest_limit)?;
    let manifest = RemoteManifest::from_json(&manifest_bytes)
        .map_err(|source| RegistryError::Manifest { document: manifest_path.display().to_string(), source })?;
    let name = manifest.name.clone();
    let version = manifest.version.clone();
    let incompatibilities = options
        .profile
        .as_ref()
        .map(|profile| documents::compatibility_problems(&manifest, profile))
        .unwrap_or_default();
    if options.refuse_incompatible && !incompatibilities.is_empty() {
        let reasons = incompatibilities.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        return Err(RegistryError::Incompatible { name, version, reasons });
    }
    if !files.iter().any(|file| file.path == manifest.entry) {
        return Err(RegistryError::EntryMissing { name, version, entry: manifest.entry.clone() });
    }

    let _lock = lock_registry(dir)?;
    let (root, snapshot) = load_state(dir, &limits)?;
    authorize(dir, &root, snapshot_key, Role::Snapshot)?;
    let index_path = folder_file(dir, &remote_index_path(&name));
    let existing = read_index(&index_path, &name, &limits)?;
    // An index the snapshot does not cover was left by a publish that
    // crashed before writing its snapshot.
    let covered = match (&existing, snapshot.remotes.get(&name)) {
        (Some((_, bytes)), Some(entry)) => sha256_hex(bytes) == entry.sha256,
        (None, _) => true,
        (Some(_), None) => false,
    };
    let already = existing.as_ref().and_then(|(index, _)| index.version(&version).cloned());
    if already.is_some() && covered {
        return Err(RegistryError::VersionExists { name, version });
    }

    let mut entries = Vec::with_capacity(files.len());
    let (mut written, mut reused, mut total) = (0, 0, 0);
    for file in &files {
        let bytes = read_limited(&file.full, limits.blob)?;
        let sha256 = sha256_hex(&bytes);
        if store_blob(dir, &sha256, &bytes)? {
            written += 1;
        } else {
            reused += 1;
        }
        total += bytes.len() as u64;
        entries.push(FileEntry { path: file.path.clone(), sha256, length: bytes.len() as u64 });
    }
    sync_dir(&folder_file(dir, "blobs/sha256"));

    let (index_bytes, resumed) = match (existing, already) {
        (Some((_, bytes)), Some(previous)) => {
            if previous.manifest != manifest || previous.files != entries {
                return Err(RegistryError::VersionExists { name, version });
            }
            tracing::warn!(%name, %version, "completing an earlier publish of this version that stopped before its snapshot");
            (bytes, true)
        }
        (existing, _) => {
            let entry = IndexVersion {
                manifest,
                files: entries,
                yanked: false,
                published_at: documents::whole_seconds(Timestamp::now()),
                extra: Default::default(),
            };
            let index = documents::index_with_version(existing.map(|(index, _)| index), &name, entry)?;
            let bytes = documents::index_json(&index)?;
            check_index_size(&name, &bytes, &limits)?;
            write_atomic(&index_path, &bytes, true)?;
            (bytes, false)
        }
    };

    let update = Some((name.as_str(), documents::snapshot_entry_for(&index_bytes)));
    let snapshot_version =
        write_next_snapshot(dir, &root, &snapshot, update, &[snapshot_key], options.snapshot_expires_in, &limits)?
            .version;
    tracing::info!(%name, %version, files = files.len(), bytes = total, snapshot_version, "published");
    Ok(PublishReport {
        name,
        version,
        files: files.len(),
        bytes: total,
        blobs_written: written,
        blobs_reused: reused,
        snapshot_version,
        incompatibilities,
        resumed,
    })
}

/// Marks `name` `version` yanked (or un-yanks it) and signs a new snapshot.
/// Yanked versions stay downloadable for those who pinned them; the resolver
/// just stops choosing them.
pub fn yank(
    dir: &Path,
    name: &str,
    version: &Version,
    yanked: bool,
    snapshot_key: &SigningKey,
    snapshot_expires_in: Duration,
) -> Result<YankReport, RegistryError> {
    let limits = Limits::default();
    let _lock = lock_registry(dir)?;
    let (root, snapshot) = load_state(dir, &limits)?;
    authorize(dir, &root, snapshot_key, Role::Snapshot)?;
    let index_path = folder_file(dir, &remote_index_path(name));
    let Some((index, _)) = read_index(&index_path, name, &limits)? else {
        return Err(RegistryError::VersionNotFound {
            name: name.to_owned(),
            version: version.clone(),
            offered: "none".into(),
        });
    };
    let (index, changed) = documents::index_with_yanked(index, version, yanked)?;
    if !changed {
        return Ok(YankReport { changed, snapshot_version: snapshot.version });
    }
    let bytes = documents::index_json(&index)?;
    write_atomic(&index_path, &bytes, true)?;
    let update = Some((name, documents::snapshot_entry_for(&bytes)));
    let snapshot_version =
        write_next_snapshot(dir, &root, &snapshot, update, &[snapshot_key], snapshot_expires_in, &limits)?.version;
    tracing::info!(%name, %version, yanked, snapshot_version, "changed the yanked flag");
    Ok(YankReport { changed, snapshot_version })
}

/// Signs a new snapshot with the same contents, version + 1 and a new
/// expiry, for a registry nobody has published to for a while (a cron job
/// runs this; the registry server does it by itself). An expired snapshot
/// is renewed the same way, and clients then report the registry online
/// again.
///
/// Only the snapshot key is needed, so the root is never re-signed here:
/// root keys are meant to stay offline, and renewing a root is a rotation
/// ([`rotate_root`] with the same keys). The report carries the root's
/// expiry so callers can warn in time.
pub fn resign_snapshot(
    dir: &Path,
    snapshot_key: &SigningKey,
    expires_in: Duration,
) -> Result<RefreshReport, RegistryError> {
    let limits = Limits::default();
    let _lock = lock_registry(dir)?;
    let (root, snapshot) = load_state(dir, &limits)?;
    authorize(dir, &root, snapshot_key, Role::Snapshot)?;
    let next = write_next_snapshot(dir, &root, &snapshot, None, &[snapshot_key], expires_in, &limits)?;
    tracing::info!(snapshot_version = next.version, expires = %next.expires, "re-signed the snapshot");
    Ok(RefreshReport {
        snapshot_version: next.version,
        snapshot_expires: next.expires,
        root_version: root.version,
        root_expires: root.expires,
    })
}

/// Replaces the registry's keys: writes root version N+1 listing
/// `new_root_key` and `new_snapshot_key`, signed by `old_root_key` (a root
/// key of version N) and by `new_root_key`, so clients trusting N can walk
/// to N+1. Passing the current keys again only renews the root's expiry.
///
/// The snapshot is re-signed first, by the new snapshot key and also by
/// `old_root_key` when that is a snapshot key of the old root (as when one
/// key holds both roles), so clients on either root accept it throughout.
pub fn rotate_root(
    dir: &Path,
    old_root_key: &SigningKey,
    new_root_key: &SigningKey,
    new_snapshot_key: &SigningKey,
    expiry: Expiry,
) -> Result<RotateReport, RegistryError> {
    let limits = Limits::default();
    let _lock = lock_registry(dir)?;
    let (old_root, snapshot) = load_state(dir, &limits)?;
    authorize(dir, &old_root, old_root_key, Role::Root)?;
    let now = Timestamp::now();
    let new_root = documents::rotated_root(
        &old_root,
        &[new_root_key.public_key()],
        &[new_snapshot_key.public_key()],
        documents::expires_at(now, expiry.root)?,
    )?;
    let root_bytes = documents::sign_root(&new_root, &[old_root_key, new_root_key])?;
    // Verify exactly what clients will: a chain step from the old root.
    verify::verify_root_chain(&old_root, &[&root_bytes], &limits)?;

    let mut snapshot_signers = vec![new_snapshot_key];
    if old_root.roles.snapshot.keyids.contains(&old_root_key.key_id()) {
        snapshot_signers.push(old_root_key);
    }
    let next = documents::next_snapshot(&snapshot, None, documents::expires_at(now, expiry.snapshot)?);
    let snapshot_bytes = documents::sign_snapshot(&next, &snapshot_signers)?;
    verify::verify_snapshot(&new_root, &snapshot_bytes, Some(snapshot.version), now, &limits)?;
    write_atomic(&dir.join("snapshot.json"), &snapshot_bytes, true)?;

    let roots_dir = dir.join("roots");
    fs::create_dir_all(&roots_dir).map_err(|err| RegistryError::io("create", &roots_dir, err))?;
    write_atomic(&folder_file(dir, &versioned_root_path(new_root.version)), &root_bytes, true)?;
    write_atomic(&dir.join("root.json"), &root_bytes, true)?;
    tracing::info!(root_version = new_root.version, snapshot_version = next.version, "rotated the root");
    Ok(RotateReport {
        root_version: new_root.version,
        root_expires: new_root.expires,
        snapshot_version: next.version,
        snapshot_expires: next.expires,
    })
}

/// A file of the remote folder, by bundle path.
#[derive(Debug)]
struct BundleFile {
    path: String,
    full: PathBuf,
}

/// Lists every file under `remote_dir`, refusing symlinks, special files,
/// names that are not UTF-8, unsafe paths and files over the blob limit.
fn collect_files(remote_dir: &Path, limits: &Limits) -> Result<Vec<BundleFile>, RegistryError> {
    let metadata =
        fs::metadata(remote_dir).map_err(|err| RegistryError::io("open the remote folder", remote_dir, err))?;
    if !metadata.is_dir() {
        return Err(RegistryError::io(
            "use",
            remote_dir,
            std::io::Error::new(std::io::ErrorKind::NotADirectory, "it is not a folder"),
        ));
    }
    let mut files = Vec::new();
    let mut pending = vec![(remote_dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = pending.pop() {
        let entries = fs::read_dir(&folder).map_err(|err| RegistryError::io("list", &folder, err))?;
        for entry in entries {
            let entry = entry.map_err(|err| RegistryError::io("list", &folder, err))?;
            let full = entry.path();
            // DirEntry::file_type does not follow symlinks, which is the point.
            let kind = entry.file_type().map_err(|err| RegistryError::io("inspect", &full, err))?;
            if kind.is_symlink() {
                return Err(RegistryError::Symlink { path: full });
            }
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                return Err(RegistryError::NotUtf8Path { path: full });
            };
            let path = if prefix.is_empty() { file_name.to_owned() } else { format!("{prefix}/{file_name}") };
            manifest::validate_bundle_path(&path).map_err(|reason| RegistryError::UnsafePath {
                document: remote_dir.display().to_string(),
                path: path.clone(),
                reason,
            })?;
            if kind.is_dir() {
                pending.push((full, path));
            } else if kind.is_file() {
                let size = entry.metadata().map_err(|err| RegistryError::io("inspect", &full, err))?.len();
                if size > limits.blob {
                    return Err(RegistryError::TooLarge {
                        document: full.display().to_string(),
                        size: Some(size),
                        limit: limits.blob,
                    });
                }
                files.push(BundleFile { path, full });
            } else {
                return Err(RegistryError::SpecialFile { path: full });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Writes a blob unless one of the same length is there (content-addressed:
/// same hash, same bytes). Returns whether it wrote.
fn store_blob(dir: &Path, sha256: &str, bytes: &[u8]) -> Result<bool, RegistryError> {
    let path = folder_file(dir, &blob_path(sha256));
    if fs::metadata(&path).is_ok_and(|metadata| metadata.len() == bytes.len() as u64) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|err| RegistryError::io("create", parent, err))?;
    }
    // The folder is synced once after all blobs, not per blob.
    write_atomic(&path, bytes, false)?;
    Ok(true)
}

fn read_index(path: &Path, name: &str, limits: &Limits) -> Result<Option<(RemoteIndex, Vec<u8>)>, RegistryError> {
    if !path.exists() {
        return Ok(None);
    }
    let bytes = read_limited(path, limits.remote_index)?;
    let index = verify::parse_remote_index(name, &bytes, limits)?;
    Ok(Some((index, bytes)))
}

fn check_index_size(name: &str, bytes: &[u8], limits: &Limits) -> Result<(), RegistryError> {
    if bytes.len() as u64 > limits.remote_index {
        return Err(RegistryError::TooLarge {
            document: format!("{} after this publish", remote_index_path(name)),
            size: Some(bytes.len() as u64),
            limit: limits.remote_index,
        });
    }
    Ok(())
}

/// Reads the registry's own root and snapshot, verified as a client would
/// (an expired snapshot is fine: it is about to be replaced).
fn load_state(dir: &Path, limits: &Limits) -> Result<(Root, Snapshot), RegistryError> {
    let root_path = dir.join("root.json");
    let root_bytes = read_limited(&root_path, limits.root)?;
    let root = match TrustAnchor::from_root_json(&root_bytes)
        .map_err(|err| err.with_origin(&root_path.display().to_string()))?
    {
        TrustAnchor::Root(root) => root,
        TrustAnchor::Key(_) => {
            return Err(RegistryError::NotARegistry { dir: dir.to_owned() });
        }
    };
    let now = Timestamp::now();
    if root.is_expired(now) {
        tracing::warn!(expires = %root.expires, "root.json has expired: clients will refuse this registry until the root is renewed (rotate it with the same keys)");
    }
    let snapshot_path = dir.join("snapshot.json");
    let snapshot_bytes = read_limited(&snapshot_path, limits.snapshot)?;
    let snapshot = verify::verify_snapshot(&root, &snapshot_bytes, None, now, limits)
        .map_err(|err| err.with_origin(&snapshot_path.display().to_string()))?
        .into_snapshot();
    Ok((root, snapshot))
}

fn authorize(dir: &Path, root: &Root, key: &SigningKey, role: Role) -> Result<(), RegistryError> {
    let keyid = key.key_id();
    let role_keys = match role {
        Role::Root => &root.roles.root,
        Role::Snapshot => &root.roles.snapshot,
    };
    if role_keys.keyids.contains(&keyid) {
        Ok(())
    } else {
        Err(RegistryError::KeyNotAuthorized { dir: dir.to_owned(), role: role.name(), keyid })
    }
}

fn write_next_snapshot(
    dir: &Path,
    root: &Root,
    previous: &Snapshot,
    update: Option<(&str, crate::metadata::SnapshotEntry)>,
    keys: &[&SigningKey],
    expires_in: Duration,
    limits: &Limits,
) -> Result<Snapshot, RegistryError> {
    let now = Timestamp::now();
    let next = documents::next_snapshot(previous, update, documents::expires_at(now, expires_in)?);
    let bytes = documents::sign_snapshot(&next, keys)?;
    // Check the result as a client will before anyone can see it.
    verify::verify_snapshot(root, &bytes, Some(previous.version), now, limits)?;
    write_atomic(&dir.join("snapshot.json"), &bytes, true)?;
    Ok(next)
}

/// Locks an existing registry folder (refusing one without `root.json`, so
/// a wrong path does not gain a stray lock file).
fn lock_registry(dir: &Path) -> Result<File, RegistryError> {
    if !dir.join("root.json").is_file() {
        return Err(RegistryError::NotARegistry { dir: dir.to_owned() });
    }
    lock(dir)
}

/// Takes the exclusive publish lock, waiting for other publishers. The lock
/// is released when the returned file is dropped (or the process dies).
fn lock(dir: &Path) -> Result<File, RegistryError> {
    let path = dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|err| RegistryError::io("open the lock file", &path, err))?;
    file.lock().map_err(|err| RegistryError::io("lock", &path, err))?;
    Ok(file)
}

/// Reads a whole file, refusing one over `limit` bytes without reading it.
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, RegistryError> {
    let file = File::open(path).map_err(|err| RegistryError::io("read", path, err))?;
    let size = file.metadata().map_err(|err| RegistryError::io("inspect", path, err))?.len();
    let too_large = |size| RegistryError::TooLarge { document: path.display().to_string(), size, limit };
    if size > limit {
        return Err(too_large(Some(size)));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|err| RegistryError::io("read", path, err))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(None));
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` through a temporary file in the same folder:
/// write, fsync, rename, and (when asked) fsync the folder so the rename
/// itself survives a power cut.
fn write_atomic(path: &Path, bytes: &[u8], sync_parent: bool) -> Result<(), RegistryError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(parent)
        .map_err(|err| RegistryError::io("create a temporary file in", parent, err))?;
    temp.write_all(bytes).map_err(|err| RegistryError::io("write", temp.path().to_owned(), err))?;
    #[cfg(unix)]
    {
        // tempfile creates 0600 files; a registry tree is meant to be served.
        use std::os::unix::fs::PermissionsExt as _;
        temp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(|err| RegistryError::io("set permissions on", temp.path().to_owned(), err))?;
    }
    temp.as_file().sync_all().map_err(|err| RegistryError::io("sync", temp.path().to_owned(), err))?;
    temp.persist(path).map_err(|err| RegistryError::io("replace", path, err.error))?;
    if sync_parent {
        sync_dir(parent);
    }
    Ok(())
}

/// Best effort: some platforms and file systems cannot fsync a folder.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(err) = File::open(dir).and_then(|folder| folder.sync_all()) {
        tracing::debug!(dir = %dir.display(), %err, "could not sync the folder");
    }
    #[cfg(not(unix))]
    let _ = dir;
}
