//! Integration tests for the bundle cache, one module per area.

// clippy's allow-unwrap-in-tests covers `#[test]` functions but not the shared
// helpers below, which should panic on failure just the same.
#![allow(clippy::unwrap_used)]

mod blobs;
mod concurrency;
mod digest;
mod gc;
mod grants;
mod history;
mod lockfile;
mod registry_state;
mod schema;
mod selection;
mod usage;
mod verify;
mod versions;

use std::fs;
use std::path::Path;

use cache::{BundleCache, FileEntry, NewVersion, Sha256Digest};
use tempfile::TempDir;

/// A fresh cache in its own temporary directory (kept alive by the `TempDir`).
pub fn fresh() -> (TempDir, BundleCache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = BundleCache::open(dir.path()).unwrap();
    (dir, cache)
}

/// A version description whose files have the given contents.
pub fn new_version(name: &str, version: &str, files: &[(&str, &[u8])]) -> NewVersion {
    NewVersion {
        registry: "https://registry.example/".to_owned(),
        name: name.to_owned(),
        version: version.to_owned(),
        manifest_json: format!(r#"{{"name":"{name}","version":"{version}"}}"#),
        files: files
            .iter()
            .map(|(path, bytes)| FileEntry {
                path: (*path).to_owned(),
                sha256: Sha256Digest::of(bytes),
                length: bytes.len() as u64,
            })
            .collect(),
    }
}

/// Writes every blob and commits the version, as an installer would.
pub fn install(cache: &BundleCache, name: &str, version: &str, files: &[(&str, &[u8])]) -> NewVersion {
    let v = new_version(name, version, files);
    let guard = cache.install_guard().unwrap();
    for (_, bytes) in files {
        cache.write_blob(&guard, &Sha256Digest::of(bytes), bytes).unwrap();
    }
    cache.commit_version(&guard, &v).unwrap();
    v
}

/// Installs `name@version` with one distinct file and one file shared by all
/// versions of every remote.
pub fn install_simple(cache: &BundleCache, name: &str, version: &str) -> NewVersion {
    let own = format!("{name}@{version} entry");
    install(cache, name, version, &[("remoteEntry.js", own.as_bytes()), ("shared.js", SHARED)])
}

pub const SHARED: &[u8] = b"export const shared = 'same in every version';";

/// Names of the files in `dir` (recursively), for "nothing left behind" checks.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out.sort();
    out
}
