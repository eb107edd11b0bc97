//! A cached blob damaged on disk after its install (a disk that lied about a
//! flush, a clean-up tool, a bad sector): these tests cut blobs short and check
//! that the damage is found, that rollback still works, and that the next
//! resolve downloads the blob again (ARCHITECTURE.md, cache invariants).

use integration_tests::{Sandbox, chosen, describe, json, make_remote};

/// Cuts the blob of `name@version`'s largest file to `keep` of its bytes.
fn cut_largest_blob(sandbox: &Sandbox, name: &str, version: &str, keep: impl FnOnce(u64) -> u64) -> String {
    let cache = cache::BundleCache::open(&sandbox.cache()).unwrap();
    let installed = cache.version(name, version).unwrap().unwrap();
    let largest = installed.files.iter().max_by_key(|f| f.length).unwrap();
    let blob = std::fs::OpenOptions::new().write(true).open(cache.blob_path(&largest.sha256)).unwrap();
    blob.set_len(keep(largest.length)).unwrap();
    largest.sha256.to_hex()
}

/// Publishes alpha@`version` (two 64 KiB files) and resolves; returns the report.
fn install_alpha(sandbox: &Sandbox, version: &str) -> serde_json::Value {
    let work = sandbox.path().join("remotes");
    assert!(sandbox.publish(&make_remote(&work, "alpha", version, "^1", 2, 64 * 1024)).status.success());
    let resolved = sandbox.resolve(&[]);
    assert!(resolved.status.success(), "{}", describe(&resolved));
    json(&resolved)
}

fn verdicts(report: &serde_json::Value) -> Vec<String> {
    report["remotes"].as_array().unwrap().iter().map(|r| r["verdict"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_blob_that_lost_its_tail_is_reported_rolled_back_from_and_downloaded_again() {
    let sandbox = Sandbox::new();
    let cache_dir = sandbox.cache();
    let cache_dir = cache_dir.to_str().unwrap();
    install_alpha(&sandbox, "1.0.0");
    assert_eq!(chosen(&install_alpha(&sandbox, "1.1.0")), [("alpha".to_owned(), "1.1.0".to_owned())]);

    let digest = cut_largest_blob(&sandbox, "alpha", "1.1.0", |length| length / 2);

    let verify = sandbox.run(&["cache", "verify", "--cache-dir", cache_dir]);
    assert_eq!(verify.status.code(), Some(6), "a damaged cache gives exit code 6: {}", describe(&verify));
    let found = String::from_utf8_lossy(&verify.stdout);
    assert!(found.contains(&digest) && found.contains("alpha@1.1.0"), "names the blob and version: {found}");

    // The previous version is untouched: rolling back to it works.
    let out = sandbox.ok(&["cache", "rollback", "alpha", "--cache-dir", cache_dir]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("from 1.1.0 to 1.0.0"), "{}", describe(&out));
    assert_eq!(chosen(&json(&sandbox.resolve(&[]))), [("alpha".to_owned(), "1.0.0".to_owned())]);

    // Back to the newest: the damaged version is downloaded again, not kept as cached.
    sandbox.ok(&["cache", "unpin", "alpha", "--cache-dir", cache_dir]);
    let report = json(&sandbox.resolve(&[]));
    assert_eq!(chosen(&report), [("alpha".to_owned(), "1.1.0".to_owned())]);
    assert_eq!(verdicts(&report), ["installed"], "{report}");
    sandbox.ok(&["cache", "verify", "--cache-dir", cache_dir]);
}

#[test]
fn an_active_version_whose_blob_came_back_empty_is_repaired_by_the_next_resolve() {
    let sandbox = Sandbox::new();
    let cache_dir = sandbox.cache();
    let cache_dir = cache_dir.to_str().unwrap();
    install_alpha(&sandbox, "1.0.0");

    // A blob that comes back empty, as after a disk acknowledged a flush it had not done.
    cut_largest_blob(&sandbox, "alpha", "1.0.0", |_| 0);
    assert_eq!(sandbox.run(&["cache", "verify", "--cache-dir", cache_dir]).status.code(), Some(6));

    let report = json(&sandbox.resolve(&[]));
    assert_eq!(chosen(&report), [("alpha".to_owned(), "1.0.0".to_owned())]);
    assert_eq!(verdicts(&report), ["installed"], "{report}");
    sandbox.ok(&["cache", "verify", "--cache-dir", cache_dir]);
    // Whole again: the next resolve has nothing to download.
    assert_eq!(verdicts(&json(&sandbox.resolve(&[]))), ["cached"]);
}
