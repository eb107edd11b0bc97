use std::fs::{self, File};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, SystemTime};

use cache::{BundleCache, Sha256Digest, VersionRef};

use crate::{SHARED, fresh, install, install_simple};

fn installed(cache: &BundleCache, name: &str) -> Vec<String> {
    cache.versions().unwrap().into_iter().filter(|v| v.name == name).map(|v| v.version).collect()
}

fn own_blob(name: &str, version: &str) -> (Sha256Digest, u64) {
    let bytes = format!("{name}@{version} entry");
    (Sha256Digest::of(bytes.as_bytes()), bytes.len() as u64)
}

#[test]
fn keeps_pinned_active_known_good_and_the_most_recent_others() {
    let (_dir, cache) = fresh();
    for v in ["1", "2", "3", "4", "5", "6", "7"] {
        install_simple(&cache, "a", v);
    }
    install_simple(&cache, "b", "1");
    install_simple(&cache, "b", "2");
    cache.pin("a", "1").unwrap();
    cache.mark_known_good("a", "2").unwrap();
    // Activating 4 makes it the most recently used unprotected version even
    // though 5, 6 and 7 were installed after it.
    cache.set_active("a", "4").unwrap();
    cache.set_active("a", "3").unwrap();

    let report = cache.gc(2).unwrap();

    assert_eq!(installed(&cache, "a"), ["1", "2", "3", "4", "7"]);
    assert_eq!(installed(&cache, "b"), ["1", "2"], "each remote keeps its own N previous");
    let mut removed = report.versions_removed.clone();
    removed.sort();
    assert_eq!(
        removed,
        [VersionRef { name: "a".into(), version: "5".into() }, VersionRef { name: "a".into(), version: "6".into() }]
    );
    for v in ["5", "6"] {
        let (d, len) = own_blob("a", v);
        assert!(!cache.blob_path(&d).exists(), "a@{v}'s blob is gone");
        assert!(!cache.has_blob(&d, len));
    }
    for v in ["1", "2", "3", "4", "7"] {
        let (d, len) = own_blob("a", v);
        assert!(cache.has_blob(&d, len), "a@{v}'s blob is kept");
    }
    assert!(cache.has_blob(&Sha256Digest::of(SHARED), SHARED.len() as u64), "shared blob is kept");
    assert_eq!(report.blobs_removed, 2);
    assert_eq!(report.bytes_freed, own_blob("a", "5").1 + own_blob("a", "6").1);
    assert!(cache.verify().unwrap().is_clean(), "what gc keeps is intact");
}

#[test]
fn keep_zero_removes_every_unprotected_version_but_not_shared_blobs() {
    let (_dir, cache) = fresh();
    let lib: &[u8] = b"library used by 1 and 2";
    install(&cache, "a", "1", &[("lib.js", lib), ("one.js", b"one")]);
    install(&cache, "a", "2", &[("lib.js", lib), ("two.js", b"two")]);
    cache.set_active("a", "2").unwrap();

    let report = cache.gc(0).unwrap();

    assert_eq!(installed(&cache, "a"), ["2"]);
    assert_eq!(report.versions_removed, [VersionRef { name: "a".into(), version: "1".into() }]);
    assert!(cache.has_blob(&Sha256Digest::of(lib), lib.len() as u64), "blob shared with the kept version survives");
    assert!(!cache.has_blob(&Sha256Digest::of(b"one"), 3));
    assert!(cache.has_blob(&Sha256Digest::of(b"two"), 3));
    assert_eq!(report.blobs_removed, 1);
}

#[test]
fn removes_blobs_no_version_references() {
    let (_dir, cache) = fresh();
    install_simple(&cache, "a", "1");
    cache.set_active("a", "1").unwrap();
    let orphan = Sha256Digest::of(b"written by an install that crashed before commit");
    {
        let guard = cache.install_guard().unwrap();
        cache.write_blob(&guard, &orphan, b"written by an install that crashed before commit").unwrap();
    }

    let report = cache.gc(0).unwrap();

    assert!(report.versions_removed.is_empty());
    assert!(!cache.blob_path(&orphan).exists());
    assert_eq!(report.blobs_removed, 1);
    assert_eq!(installed(&cache, "a"), ["1"]);
}

#[test]
fn removes_only_temporary_files_older_than_an_hour() {
    let (dir, cache) = fresh();
    let old = dir.path().join("tmp/blob-old");
    let young = dir.path().join("tmp/blob-young");
    fs::write(&old, b"abandoned").unwrap();
    fs::write(&young, b"maybe in use").unwrap();
    File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(2 * 60 * 60))
        .unwrap();

    let report = cache.gc(0).unwrap();

    assert!(!old.exists());
    assert!(young.exists());
    assert_eq!(report.tmp_files_removed, 1);
    assert_eq!(report.bytes_freed, b"abandoned".len() as u64);
}

#[test]
fn waits_for_in_flight_installs_and_spares_their_blobs() {
    let (dir, installer) = fresh();
    // gc runs through its own instance, as another process would.
    let collector = BundleCache::open(dir.path()).unwrap();
    let bytes: &[u8] = b"blob of an install that has not committed yet";
    let digest = Sha256Digest::of(bytes);
    let v = crate::new_version("a", "1", &[("entry.js", bytes)]);

    let guard = installer.install_guard().unwrap();
    installer.write_blob(&guard, &digest, bytes).unwrap();

    let (done_tx, done_rx) = mpsc::channel();
    thread::scope(|s| {
        s.spawn(|| {
            let result = collector.gc(0);
            done_tx.send(result).unwrap();
        });

        // Without the guard gc would delete the uncommitted blob at once; with
        // it, gc must still be waiting when the deadline passes.
        match done_rx.recv_timeout(Duration::from_millis(500)) {
            Err(RecvTimeoutError::Timeout) => {}
            other => panic!("gc returned while an install guard was held: {other:?}"),
        }
        assert!(installer.has_blob(&digest, bytes.len() as u64), "uncommitted blob survived");

        installer.commit_version(&guard, &v).unwrap();
        installer.set_active("a", "1").unwrap();
        drop(guard);

        let report =
            done_rx.recv_timeout(Duration::from_secs(60)).expect("gc finishes once the guard is dropped").unwrap();
        assert_eq!(report.blobs_removed, 0);
    });
    assert!(installer.has_blob(&digest, bytes.len() as u64), "blob of the committed version survived gc");
    assert!(installer.verify().unwrap().is_clean());
}
