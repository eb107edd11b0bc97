use std::fs;

use cache::CacheUsage;

use crate::{SHARED, fresh, install, install_simple};

#[test]
fn empty_cache_holds_nothing() {
    let (_dir, cache) = fresh();
    assert_eq!(cache.usage().unwrap(), CacheUsage { bytes: 0, blobs: 0, versions: 0 });
}

#[test]
fn counts_shared_blobs_once_and_every_version() {
    let (_dir, cache) = fresh();
    install_simple(&cache, "dataset-manager", "1.0.0");
    install_simple(&cache, "dataset-manager", "1.1.0");
    install(&cache, "admin-dashboard", "0.1.0", &[("remoteEntry.js", b"admin"), ("shared.js", SHARED)]);

    let own = |name: &str, version: &str| format!("{name}@{version} entry").len() as u64;
    let expected_bytes =
        own("dataset-manager", "1.0.0") + own("dataset-manager", "1.1.0") + b"admin".len() as u64 + SHARED.len() as u64;
    assert_eq!(cache.usage().unwrap(), CacheUsage { bytes: expected_bytes, blobs: 4, versions: 3 });
}

#[test]
fn ignores_files_that_are_not_blobs_at_their_address() {
    let (dir, cache) = fresh();
    install(&cache, "admin-dashboard", "0.1.0", &[("remoteEntry.js", b"admin")]);
    let before = cache.usage().unwrap();
    let fanout = dir.path().join("blobs").join("sha256").join("00");
    fs::create_dir_all(&fanout).unwrap();
    fs::write(fanout.join("notes.txt"), b"not a blob").unwrap();
    fs::write(fanout.join("ff".repeat(32)), b"a blob in the wrong fan-out directory").unwrap();

    assert_eq!(cache.usage().unwrap(), before);
    assert_eq!(before, CacheUsage { bytes: 5, blobs: 1, versions: 1 });
}
