//! Reading an uploaded remote: a tar (or gzipped tar) of the built remote
//! folder with `remote.json` at its root.
//!
//! Nothing is ever unpacked to disk: entries are read into memory, so a
//! hostile archive cannot write anywhere. Paths are still held to the same
//! rules as the folder publisher's (relative, `/`-separated, no `..`), since
//! they become paths inside every desktop's cache; links, devices and
//! oversize entries are refused; the number of entries and the unpacked
//! total are bounded, which also defuses gzip bombs.

use std::collections::BTreeSet;
use std::io::Read;

use bytes::Bytes;
use manifest::RemoteManifest;
use registry::FileEntry;
use sha2::{Digest as _, Sha256};

/// Limits on one upload, beyond the HTTP body limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleLimits {
    /// Largest single file (the registry's blob limit).
    pub max_file_bytes: u64,
    /// Largest sum of all files once unpacked.
    pub max_unpacked_bytes: u64,
    /// Most entries (files and folders).
    pub max_entries: usize,
}

impl Default for BundleLimits {
    fn default() -> Self {
        Self { max_file_bytes: registry::MAX_BLOB_BYTES, max_unpacked_bytes: 256 * 1024 * 1024, max_entries: 10_000 }
    }
}

/// Why an upload is not a publishable remote. Each message names the entry
/// at fault and says how to fix the upload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    #[error(
        "the upload is not a readable tar archive ({0}); send `tar -czf - -C <remote dir> .` or use `augment publish`"
    )]
    NotTar(String),
    #[error(
        "{path:?} is a {kind}: a published remote contains only plain files and folders (a link could point outside it)"
    )]
    Link { path: String, kind: &'static str },
    #[error("{path:?} is a {kind}, which a remote cannot contain; remove it")]
    SpecialEntry { path: String, kind: String },
    #[error("the archive path {path:?} is unsafe ({reason}); bundle paths must be relative and stay inside the remote")]
    UnsafePath { path: String, reason: String },
    #[error("the archive path {path:?} is not valid UTF-8; rename it so it is portable")]
    NotUtf8 { path: String },
    #[error("{path:?} appears twice in the archive")]
    Duplicate { path: String },
    #[error("{path:?} is {size} bytes, over the {limit}-byte limit for one file")]
    FileTooLarge { path: String, size: u64, limit: u64 },
    #[error("the files add up to more than the {limit}-byte limit once unpacked")]
    TooLarge { limit: u64 },
    #[error("the archive has more than {limit} entries")]
    TooManyEntries { limit: usize },
    #[error("the archive has no remote.json at its root; archive the built remote folder itself (tar -C <dir> .)")]
    NoManifest,
    #[error("{0}")]
    Manifest(#[from] manifest::ManifestError),
    #[error(
        "remote.json names {entry:?} as its entry, but the archive has no such file; build the remote first, or fix `entry`"
    )]
    EntryMissing { entry: String },
}

/// One file of the bundle, with its hash.
#[derive(Debug, Clone)]
pub struct BundleFile {
    pub path: String,
    pub sha256: String,
    pub bytes: Bytes,
}

/// A parsed, checked upload.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub manifest: RemoteManifest,
    /// Sorted by path, as the folder publisher lists them.
    pub files: Vec<BundleFile>,
}

impl Bundle {
    /// The index's file list.
    pub fn entries(&self) -> Vec<FileEntry> {
        self.files
            .iter()
            .map(|file| FileEntry {
                path: file.path.clone(),
                sha256: file.sha256.clone(),
                length: file.bytes.len() as u64,
            })
            .collect()
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|file| file.bytes.len() as u64).sum()
    }
}

/// Parses a tar or gzipped tar (recognised by its magic bytes).
pub fn read_bundle(body: &[u8], limits: &BundleLimits) -> Result<Bundle, BundleError> {
    let gzipped = body.starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn Read + '_> =
        if gzipped { Box::new(flate2::read::GzDecoder::new(body)) } else { Box::new(body) };
    let mut archive = tar::Archive::new(reader);
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    let mut total = 0u64;
    let mut count = 0usize;
    let entries = archive.entries().map_err(|err| BundleError::NotTar(err.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|err| BundleError::NotTar(err.to_string()))?;
        count += 1;
        if count > limits.max_entries {
            return Err(BundleError::TooManyEntries { limit: limits.max_entries });
        }
        let raw = entry.path_bytes().into_owned();
        let Ok(raw) = String::from_utf8(raw) else {
            return Err(BundleError::NotUtf8 { path: String::from_utf8_lossy(&entry.path_bytes()).into_owned() });
        };
        let kind = entry.header().entry_type();
        let path = normalize(&raw, kind.is_dir())?;
        if kind.is_symlink() || kind.is_hard_link() {
            let kind = if kind.is_symlink() { "symbolic link" } else { "hard link" };
            return Err(BundleError::Link { path: raw, kind });
        }
        if kind.is_dir() {
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            return Err(BundleError::SpecialEntry { path: raw, kind: format!("{kind:?}").to_lowercase() });
        }
        let Some(path) = path else {
            return Err(BundleError::UnsafePath { path: raw, reason: "it names the archive root as a file".into() });
        };
        let size = entry.header().size().map_err(|err| BundleError::NotTar(err.to_string()))?;
        if size > limits.max_file_bytes {
            return Err(BundleError::FileTooLarge { path, size, limit: limits.max_file_bytes });
        }
        total = total.saturating_add(size);
        if total > limits.max_unpacked_bytes {
            return Err(BundleError::TooLarge { limit: limits.max_unpacked_bytes });
        }
        if !seen.insert(path.clone()) {
            return Err(BundleError::Duplicate { path });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        // The header's size bounds the read; `take` guards a lying header.
        (&mut entry)
            .take(limits.max_file_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|err| BundleError::NotTar(err.to_string()))?;
        if bytes.len() as u64 > limits.max_file_bytes {
            return Err(BundleError::FileTooLarge { path, size: bytes.len() as u64, limit: limits.max_file_bytes });
        }
        let sha256 = hex::encode(Sha256::digest(&bytes));
        files.push(BundleFile { path, sha256, bytes: Bytes::from(bytes) });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest_file = files.iter().find(|file| file.path == "remote.json").ok_or(BundleError::NoManifest)?;
    let manifest = RemoteManifest::from_json(&manifest_file.bytes)?;
    if !files.iter().any(|file| file.path == manifest.entry) {
        return Err(BundleError::EntryMissing { entry: manifest.entry.clone() });
    }
    Ok(Bundle { manifest, files })
}

/// The bundle path of an archive path: `./` prefixes and a folder's
/// trailing `/` dropped, then the bundle-path rules applied. `None` for the
/// archive root itself (`.` or `./`).
fn normalize(raw: &str, is_dir: bool) -> Result<Option<String>, BundleError> {
    let unsafe_path = |reason: String| BundleError::UnsafePath { path: raw.to_owned(), reason };
    if raw.starts_with('/') {
        return Err(unsafe_path("it is absolute".into()));
    }
    let mut path = raw;
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    if is_dir {
        path = path.trim_end_matches('/');
    }
    if path.is_empty() || path == "." {
        return Ok(None);
    }
    manifest::validate_bundle_path(path).map_err(unsafe_path)?;
    Ok(Some(path.to_owned()))
}

/// Packs a remote folder as a gzipped tar, the upload `read_bundle` takes.
/// Symlinks and special files are refused here already, so a publisher
/// learns before uploading.
pub fn pack_dir(dir: &std::path::Path) -> std::io::Result<Vec<u8>> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    builder.follow_symlinks(false);
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    let mut files = Vec::new();
    while let Some((folder, prefix)) = pending.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let name = entry.file_name();
            let name = name.to_str().ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} has a name that is not UTF-8", entry.path().display()),
                )
            })?;
            let path = if prefix.is_empty() { name.to_owned() } else { format!("{prefix}/{name}") };
            if kind.is_symlink() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is a symbolic link: replace it with the file it points to", entry.path().display()),
                ));
            } else if kind.is_dir() {
                pending.push((entry.path(), path));
            } else if kind.is_file() {
                files.push((entry.path(), path));
            } else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is neither a file nor a folder", entry.path().display()),
                ));
            }
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));
    for (full, path) in files {
        let mut file = std::fs::File::open(&full)?;
        builder.append_file(&path, &mut file)?;
    }
    builder.into_inner()?.finish()
}
