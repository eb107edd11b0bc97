//! Reading an uploaded remote: a tar (or gzipped tar) of the built remote
//! folder with `remote.json` at its root.
//!
//! Nothing is ever unpacked to disk: entries are read into memory, so a
//! hostile archive cannot write anywhere. Paths are still held to the same
//! rules as the folder publisher's (relative, `/`-separated, no `..`), since
//! they become paths inside every desktop's cache; links, devices and
//! oversize entries are refused; the number of entries and the unpacked
//! total are bounded, which also defuses gzip bombs.
//!
//! What is counted is what is unpacked. The tar framing is read here, with
//! the tar crate only parsing each 512-byte header: `tar::Archive` reads PAX
//! and GNU long-name records into memory whole, whatever size they claim,
//! while here they are held to [`MAX_EXTENSION_BYTES`]. A PAX `size` record
//! overrides the header's size, as in GNU tar and the tar crate, and the
//! limits apply to the bytes each file actually yields, never to a header's
//! figure (summing header sizes let a PAX-sized archive unpack to more than
//! the limit).
//!
//! An upload is read twice. The first pass streams it through a fixed
//! buffer, checking every path, entry and limit and keeping only
//! `remote.json`; only an upload that passes, and that names the remote it
//! was announced as, is read again into memory. So an archive that breaks a
//! limit costs its compressed body and a buffer, not what it unpacks to.

use std::collections::BTreeSet;
use std::io::Read;

use bytes::Bytes;
use manifest::RemoteManifest;
use registry::FileEntry;
use sha2::{Digest as _, Sha256};

/// Largest PAX extended header or GNU long-name record: far more than any
/// path a bundle may hold.
pub const MAX_EXTENSION_BYTES: u64 = 64 * 1024;

/// Tar's block size: headers are one block, data is padded to whole blocks.
const BLOCK: u64 = 512;

/// The buffer a streaming pass reads file data through.
const CHUNK: usize = 64 * 1024;

/// Limits on one upload, beyond the HTTP body limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleLimits {
    /// Largest single file (the registry's blob limit).
    pub max_file_bytes: u64,
    /// Largest sum of all files once unpacked.
    pub max_unpacked_bytes: u64,
    /// Most entries (files, folders and extended headers).
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
    #[error(
        "the archive has a PAX or GNU long-name header of {size} bytes, over the {limit}-byte limit; archive the folder with a standard tar"
    )]
    ExtensionTooLarge { size: u64, limit: u64 },
    #[error("the archive has no remote.json at its root; archive the built remote folder itself (tar -C <dir> .)")]
    NoManifest,
    #[error("{0}")]
    Manifest(#[from] manifest::ManifestError),
    #[error(
        "remote.json names {entry:?} as its entry, but the archive has no such file; build the remote first, or fix `entry`"
    )]
    EntryMissing { entry: String },
    #[error(
        "the upload does not say which remote it is ({reason}): send it as POST /api/v1/publish?name=<remote>, as `augment publish --registry URL` does (update an older augment)"
    )]
    Unnamed { reason: String },
    #[error(
        "the upload was sent as {announced:?} (`?name=`) but its remote.json names {manifest:?}; publish it under its own name"
    )]
    NameMismatch { announced: String, manifest: String },
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

/// The remote a publish request announces, from its query string
/// (`name=<remote>`). Remote names are lowercase letters, digits and `-`,
/// which a URL carries as they are, so the value is not percent-decoded: an
/// encoded one is not a remote name and is refused.
pub fn announced_name(query: Option<&str>) -> Result<String, BundleError> {
    let value = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find_map(|(key, value)| (key == "name").then_some(value))
        .ok_or_else(|| BundleError::Unnamed { reason: "no `name` in the query".into() })?;
    manifest::validate_remote_name(value).map_err(|reason| BundleError::Unnamed { reason })?;
    Ok(value.to_owned())
}

/// Parses a tar or gzipped tar (recognised by its magic bytes).
pub fn read_bundle(body: &[u8], limits: &BundleLimits) -> Result<Bundle, BundleError> {
    read(body, limits, None)
}

/// [`read_bundle`] for an upload announced as the remote `name` (the one
/// the token's scope was checked against): its remote.json must name the
/// same remote. That is checked after the streaming pass, before anything
/// is held in memory.
pub fn read_named_bundle(name: &str, body: &[u8], limits: &BundleLimits) -> Result<Bundle, BundleError> {
    read(body, limits, Some(name))
}

fn read(body: &[u8], limits: &BundleLimits, announced: Option<&str>) -> Result<Bundle, BundleError> {
    // Pass 1: stream everything through, keep only remote.json (a little
    // over the manifest limit, so an oversized one is still reported as such).
    let keep_manifest = |path: &str| (path == "remote.json").then_some(manifest::MAX_MANIFEST_BYTES as u64 + 1);
    let checked = walk(body, limits, keep_manifest)?;
    let manifest_bytes = checked.iter().find(|file| file.path == "remote.json").ok_or(BundleError::NoManifest)?;
    let manifest = RemoteManifest::from_json(&manifest_bytes.bytes)?;
    if let Some(announced) = announced
        && announced != manifest.name
    {
        return Err(BundleError::NameMismatch { announced: announced.to_owned(), manifest: manifest.name });
    }
    if !checked.iter().any(|file| file.path == manifest.entry) {
        return Err(BundleError::EntryMissing { entry: manifest.entry.clone() });
    }
    // Pass 2: the upload is within every limit; read it into memory.
    let mut files: Vec<BundleFile> = walk(body, limits, |_| Some(u64::MAX))?
        .into_iter()
        .map(|file| {
            let sha256 = hex::encode(Sha256::digest(&file.bytes));
            BundleFile { path: file.path, sha256, bytes: Bytes::from(file.bytes) }
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Bundle { manifest, files })
}

/// A file as one pass saw it: its path and the first bytes `keep` asked for.
struct Walked {
    path: String,
    bytes: Vec<u8>,
}

/// Extended headers waiting for the entry they describe.
#[derive(Default)]
struct Pending {
    /// A PAX extended header's records.
    pax: Option<Vec<u8>>,
    /// A GNU long name.
    long_name: Option<Vec<u8>>,
}

/// One pass over the archive: checks every entry and limit, counting the
/// bytes each file yields as they are read, and keeps, of each file, as
/// many leading bytes as `keep` returns for its path.
fn walk(body: &[u8], limits: &BundleLimits, keep: impl Fn(&str) -> Option<u64>) -> Result<Vec<Walked>, BundleError> {
    let gzipped = body.starts_with(&[0x1f, 0x8b]);
    let mut reader: Box<dyn Read + '_> =
        if gzipped { Box::new(flate2::read::GzDecoder::new(body)) } else { Box::new(body) };
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    let mut total = 0u64;
    let mut count = 0usize;
    let mut pending = Pending::default();
    let mut buffer = vec![0u8; CHUNK];
    let mut block = [0u8; BLOCK as usize];
    while read_header(&mut reader, &mut block)? {
        count += 1;
        if count > limits.max_entries {
            return Err(BundleError::TooManyEntries { limit: limits.max_entries });
        }
        let header = tar::Header::from_byte_slice(&block);
        let kind = header.entry_type();
        let header_size = header.entry_size().map_err(not_tar)?;
        if matches!(
            kind,
            tar::EntryType::XHeader
                | tar::EntryType::XGlobalHeader
                | tar::EntryType::GNULongName
                | tar::EntryType::GNULongLink
        ) {
            if header_size > MAX_EXTENSION_BYTES {
                return Err(BundleError::ExtensionTooLarge { size: header_size, limit: MAX_EXTENSION_BYTES });
            }
            let mut record = Vec::with_capacity(header_size as usize);
            read_data(&mut reader, header_size, &mut buffer, |chunk| record.extend_from_slice(chunk))?;
            total = total.saturating_add(header_size);
            if total > limits.max_unpacked_bytes {
                return Err(BundleError::TooLarge { limit: limits.max_unpacked_bytes });
            }
            let slot = match kind {
                tar::EntryType::XHeader => &mut pending.pax,
                tar::EntryType::GNULongName => &mut pending.long_name,
                // A global header describes no entry of ours, and a long link
                // belongs to a link, which is refused when it comes.
                _ => continue,
            };
            if slot.replace(record).is_some() {
                return Err(BundleError::NotTar("two extended headers of one kind describe the same entry".into()));
            }
            continue;
        }
        let extensions = std::mem::take(&mut pending);
        let (raw, size) = resolve(header, header_size, &extensions)?;
        let raw = String::from_utf8(raw)
            .map_err(|err| BundleError::NotUtf8 { path: String::from_utf8_lossy(err.as_bytes()).into_owned() })?;
        let path = normalize(&raw, kind.is_dir())?;
        if kind.is_symlink() || kind.is_hard_link() {
            let kind = if kind.is_symlink() { "symbolic link" } else { "hard link" };
            return Err(BundleError::Link { path: raw, kind });
        }
        if kind.is_dir() {
            // A folder's data (none, normally) is read past and counted.
            read_data(&mut reader, size, &mut buffer, |_| {})?;
            total = total.saturating_add(size);
            if total > limits.max_unpacked_bytes {
                return Err(BundleError::TooLarge { limit: limits.max_unpacked_bytes });
            }
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            return Err(BundleError::SpecialEntry { path: raw, kind: format!("{kind:?}").to_lowercase() });
        }
        let Some(path) = path else {
            return Err(BundleError::UnsafePath { path: raw, reason: "it names the archive root as a file".into() });
        };
        if size > limits.max_file_bytes {
            return Err(BundleError::FileTooLarge { path, size, limit: limits.max_file_bytes });
        }
        if total.saturating_add(size) > limits.max_unpacked_bytes {
            return Err(BundleError::TooLarge { limit: limits.max_unpacked_bytes });
        }
        if !seen.insert(path.clone()) {
            return Err(BundleError::Duplicate { path });
        }
        let wanted = keep(&path).unwrap_or(0).min(size);
        let mut bytes = Vec::with_capacity(usize::try_from(wanted).unwrap_or(0));
        let mut unpacked = 0u64;
        read_data(&mut reader, size, &mut buffer, |chunk| {
            unpacked += chunk.len() as u64;
            let room = usize::try_from(wanted.saturating_sub(bytes.len() as u64)).unwrap_or(usize::MAX);
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        })?;
        // The framing reads exactly `size` bytes; counting what arrived keeps
        // the limits on real bytes should that ever change.
        total = total.saturating_add(unpacked);
        if unpacked > limits.max_file_bytes {
            return Err(BundleError::FileTooLarge { path, size: unpacked, limit: limits.max_file_bytes });
        }
        if total > limits.max_unpacked_bytes {
            return Err(BundleError::TooLarge { limit: limits.max_unpacked_bytes });
        }
        files.push(Walked { path, bytes });
    }
    if pending.pax.is_some() || pending.long_name.is_some() {
        return Err(BundleError::NotTar("the archive ends with an extended header that describes no entry".into()));
    }
    Ok(files)
}

/// An entry's path and size after its extended headers: a PAX `path` before
/// a GNU long name before the header's own; a PAX `size` before the header's.
fn resolve(header: &tar::Header, header_size: u64, pending: &Pending) -> Result<(Vec<u8>, u64), BundleError> {
    let mut path = match &pending.long_name {
        Some(name) => name.strip_suffix(b"\0").unwrap_or(name).to_vec(),
        None => header.path_bytes().into_owned(),
    };
    let mut size = header_size;
    for record in tar::PaxExtensions::new(pending.pax.as_deref().unwrap_or_default()) {
        let record = record.map_err(|err| BundleError::NotTar(format!("a PAX header is malformed: {err}")))?;
        match record.key_bytes() {
            b"path" => path = record.value_bytes().to_vec(),
            b"size" => {
                size = record
                    .value()
                    .ok()
                    .and_then(|value| value.parse().ok())
                    .ok_or_else(|| BundleError::NotTar("a PAX size record is not a number".into()))?;
            }
            _ => {}
        }
    }
    Ok((path, size))
}

/// Reads the next header block: `false` at the end of the archive (a zero
/// block, or the end of the data at a block boundary). The checksum is
/// checked as tar readers do.
fn read_header(reader: &mut impl Read, block: &mut [u8; BLOCK as usize]) -> Result<bool, BundleError> {
    let mut filled = 0;
    while filled < block.len() {
        match reader.read(&mut block[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(BundleError::NotTar("the archive ends inside a header".into())),
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(not_tar(err)),
        }
    }
    if block.iter().all(|byte| *byte == 0) {
        return Ok(false);
    }
    let header = tar::Header::from_byte_slice(block);
    let sum: u32 = block[..148].iter().chain(&block[156..]).map(|byte| u32::from(*byte)).sum::<u32>() + 8 * 32;
    if header.cksum().map_err(not_tar)? != sum {
        return Err(BundleError::NotTar("archive header checksum mismatch".into()));
    }
    Ok(true)
}

/// Reads an entry's `size` bytes of data, handing them to `sink` a buffer at
/// a time, then the padding up to the next block.
fn read_data(
    reader: &mut impl Read,
    size: u64,
    buffer: &mut [u8],
    mut sink: impl FnMut(&[u8]),
) -> Result<(), BundleError> {
    let padding = (BLOCK - size % BLOCK) % BLOCK;
    let mut left = size;
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buffer.len());
        let n = match reader.read(&mut buffer[..want]) {
            Ok(0) => return Err(BundleError::NotTar("the archive ends inside an entry".into())),
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(not_tar(err)),
        };
        sink(&buffer[..n]);
        left -= n as u64;
    }
    let mut pad = [0u8; BLOCK as usize];
    reader.read_exact(&mut pad[..padding as usize]).map_err(not_tar)?;
    Ok(())
}

fn not_tar(err: std::io::Error) -> BundleError {
    BundleError::NotTar(err.to_string())
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

/// Packs a remote folder as the upload [`read_bundle`] takes (moved to the
/// protocol crate so a client needs no server code).
pub use registry::hosted::pack_dir;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a failed setup step should fail loudly

    use std::io::Read as _;

    use super::*;

    /// Small limits, so the bombs stay small.
    const LIMITS: BundleLimits =
        BundleLimits { max_file_bytes: 1024 * 1024, max_unpacked_bytes: 1024 * 1024, max_entries: 100 };

    fn manifest() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "name": "alpha", "version": "1.0.0", "entry": "remoteEntry.js",
            "hostApi": "^1.0.0", "shared": { "react": "^19.0.0" },
        }))
        .unwrap()
    }

    /// A tar builder holding a valid remote already.
    fn remote() -> tar::Builder<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, bytes) in [("remote.json", manifest()), ("remoteEntry.js", b"export default 1;".to_vec())] {
            let mut header = tar::Header::new_ustar();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, path, bytes.as_slice()).unwrap();
        }
        builder
    }

    /// Appends a file whose tar header says 0 bytes while a PAX record gives its real size.
    fn append_pax_sized(builder: &mut tar::Builder<Vec<u8>>, path: &str, size: u64) {
        builder.append_pax_extensions([("size", size.to_string().as_bytes())]).unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_path(path).unwrap();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(0);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, std::io::repeat(7).take(size)).unwrap();
    }

    #[test]
    fn pax_sizes_are_counted_as_the_bytes_they_unpack() {
        let mut builder = remote();
        for i in 0..3 {
            append_pax_sized(&mut builder, &format!("assets/{i}.bin"), 512 * 1024);
        }
        let err = read_bundle(&builder.into_inner().unwrap(), &LIMITS)
            .map(|b| b.total_bytes())
            .expect_err("1.5 MiB unpacked, 1 MiB allowed");
        assert!(matches!(err, BundleError::TooLarge { limit } if limit == LIMITS.max_unpacked_bytes), "{err}");

        let mut builder = remote();
        append_pax_sized(&mut builder, "assets/big.bin", 2 * 1024 * 1024);
        let err = read_bundle(&builder.into_inner().unwrap(), &LIMITS)
            .map(|b| b.total_bytes())
            .expect_err("one file over the limit");
        assert!(matches!(err, BundleError::FileTooLarge { ref path, .. } if path == "assets/big.bin"), "{err}");

        // Within the limits the PAX size is the file's size, as for any tar reader.
        let mut builder = remote();
        append_pax_sized(&mut builder, "assets/ok.bin", 100_000);
        let bundle = read_bundle(&builder.into_inner().unwrap(), &LIMITS).unwrap();
        let file = bundle.files.iter().find(|f| f.path == "assets/ok.bin").unwrap();
        assert_eq!(file.bytes.len(), 100_000);
    }

    #[test]
    fn oversized_extension_headers_are_refused_before_they_are_read() {
        // A PAX header of 512 KiB (a record nobody needs), then a file: the
        // tar crate would read the whole record into memory.
        let mut builder = remote();
        let filler = vec![b'x'; 512 * 1024];
        builder.append_pax_extensions([("comment", filler.as_slice())]).unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_size(1);
        header.set_mode(0o644);
        builder.append_data(&mut header, "assets/a.js", &b"1"[..]).unwrap();
        let err = read_bundle(&builder.into_inner().unwrap(), &LIMITS)
            .map(|b| b.total_bytes())
            .expect_err("an oversized extension header");
        assert!(err.to_string().contains("PAX or GNU long-name"), "{err}");
    }

    #[test]
    fn long_paths_from_gnu_and_pax_headers_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let deep = format!("assets/{}/chunk.js", "d".repeat(120));
        std::fs::create_dir_all(dir.path().join(&deep).parent().unwrap()).unwrap();
        std::fs::write(dir.path().join(&deep), b"1").unwrap();
        std::fs::write(dir.path().join("remote.json"), manifest()).unwrap();
        std::fs::write(dir.path().join("remoteEntry.js"), b"export default 1;").unwrap();
        // pack_dir writes a GNU long-name entry for a path over 100 bytes.
        let bundle = read_bundle(&pack_dir(dir.path()).unwrap(), &LIMITS).unwrap();
        assert!(bundle.files.iter().any(|f| f.path == deep), "{:?}", bundle.entries());

        let mut builder = remote();
        let long = format!("assets/{}.js", "p".repeat(150));
        builder.append_pax_extensions([("path", long.as_bytes())]).unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_path("assets/short.js").unwrap();
        header.set_size(1);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, &b"1"[..]).unwrap();
        let bundle = read_bundle(&builder.into_inner().unwrap(), &LIMITS).unwrap();
        let paths: Vec<&str> = bundle.files.iter().map(|f| f.path.as_str()).collect();
        assert!(paths.contains(&long.as_str()) && !paths.contains(&"assets/short.js"), "PAX path wins: {paths:?}");
    }
}
