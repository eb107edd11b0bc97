//! Everything the client must refuse, each with the cache left as it was
//! and a message that says what happened.

use integration_tests::{Sandbox, chosen, describe, json, make_remote, read_snapshot};
use registry::author::documents;

/// A sandbox where alpha 1.0.0 is installed and active, and alpha 1.1.0 has
/// just been published: the next resolve would install 1.1.0.
fn installed_then_updated() -> Sandbox {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    assert!(sandbox.publish(&make_remote(&work, "alpha", "1.0.0", "^1", 2, 4096)).status.success());
    assert!(sandbox.resolve(&[]).status.success());
    assert!(sandbox.publish(&make_remote(&work, "alpha", "1.1.0", "^1", 2, 4096)).status.success());
    sandbox
}

/// Resolves, expecting a refusal (exit 3) whose message contains `needle`,
/// and checks the cache still holds exactly alpha 1.0.0, active and verified.
fn assert_refused(sandbox: &Sandbox, needle: &str) {
    let out = sandbox.resolve(&[]);
    assert_eq!(out.status.code(), Some(3), "expected a refusal: {}", describe(&out));
    let stderr = integration_tests::text(&out);
    assert!(stderr.to_lowercase().contains(&needle.to_lowercase()), "message should mention {needle:?}: {stderr}");
    assert_eq!(sandbox.cached_versions(), [("alpha".to_owned(), "1.0.0".to_owned(), true)], "cache changed");
    let verify = sandbox.run(&["cache", "verify", "--cache-dir", sandbox.cache().to_str().unwrap()]);
    assert!(verify.status.success(), "{}", describe(&verify));
}

/// The blob files of alpha 1.1.0 that 1.0.0 does not share.
fn new_blobs(sandbox: &Sandbox) -> Vec<std::path::PathBuf> {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sandbox.registry().join("remotes/alpha.json")).unwrap()).unwrap();
    let versions = index["versions"].as_array().unwrap();
    let digests = |v: &serde_json::Value| -> Vec<String> {
        v["files"].as_array().unwrap().iter().map(|f| f["sha256"].as_str().unwrap().to_owned()).collect()
    };
    let old = digests(&versions[0]);
    digests(&versions[1])
        .into_iter()
        .filter(|d| !old.contains(d))
        .map(|d| sandbox.registry().join("blobs/sha256").join(d))
        .collect()
}

fn signing_key(sandbox: &Sandbox) -> registry::SigningKey {
    registry::SigningKey::read_pem_file(&sandbox.key()).unwrap()
}

/// Replaces alpha's index with `index` and re-signs a matching snapshot with `key`.
fn write_index_and_sign(sandbox: &Sandbox, index: &serde_json::Value, key: &registry::SigningKey) {
    let bytes = serde_json::to_vec_pretty(index).unwrap();
    std::fs::write(sandbox.registry().join("remotes/alpha.json"), &bytes).unwrap();
    let previous = read_snapshot(&sandbox.registry());
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let next = documents::next_snapshot(&previous, Some(("alpha", documents::snapshot_entry_for(&bytes))), expires);
    let signed = documents::sign_snapshot(&next, &[key]).unwrap();
    std::fs::write(sandbox.registry().join("snapshot.json"), signed).unwrap();
}

fn alpha_index(sandbox: &Sandbox) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(sandbox.registry().join("remotes/alpha.json")).unwrap()).unwrap()
}

#[test]
fn a_blob_with_one_byte_changed() {
    let sandbox = installed_then_updated();
    let blob = &new_blobs(&sandbox)[0];
    let mut bytes = std::fs::read(blob).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(blob, bytes).unwrap();
    assert_refused(&sandbox, "sha256");
}

#[test]
fn a_truncated_blob() {
    let sandbox = installed_then_updated();
    let blob = &new_blobs(&sandbox)[0];
    let bytes = std::fs::read(blob).unwrap();
    std::fs::write(blob, &bytes[..bytes.len() / 2]).unwrap();
    assert_refused(&sandbox, "bytes");
}

#[test]
fn a_blob_longer_than_declared() {
    let sandbox = installed_then_updated();
    let blob = &new_blobs(&sandbox)[0];
    let mut bytes = std::fs::read(blob).unwrap();
    bytes.extend_from_slice(b"trailing");
    std::fs::write(blob, bytes).unwrap();
    assert_refused(&sandbox, "declared");
}

#[test]
fn a_snapshot_with_a_bad_signature() {
    let sandbox = installed_then_updated();
    let path = sandbox.registry().join("snapshot.json");
    let mut envelope: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    // Change what was signed, keep the signature: it no longer verifies.
    let version = envelope["signed"]["version"].as_u64().unwrap();
    envelope["signed"]["version"] = (version + 10).into();
    std::fs::write(&path, serde_json::to_vec(&envelope).unwrap()).unwrap();
    assert_refused(&sandbox, "signature");
}

#[test]
fn a_snapshot_signed_by_an_unknown_key() {
    let sandbox = installed_then_updated();
    let stranger = registry::SigningKey::generate();
    let snapshot = read_snapshot(&sandbox.registry());
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let forged = documents::next_snapshot(&snapshot, None, expires);
    std::fs::write(sandbox.registry().join("snapshot.json"), documents::sign_snapshot(&forged, &[&stranger]).unwrap())
        .unwrap();
    assert_refused(&sandbox, "key");
}

#[test]
fn an_older_snapshot_than_one_already_seen() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    assert!(sandbox.publish(&make_remote(&work, "alpha", "1.0.0", "^1", 2, 4096)).status.success());
    let old_snapshot = std::fs::read(sandbox.registry().join("snapshot.json")).unwrap();
    let old_index = std::fs::read(sandbox.registry().join("remotes/alpha.json")).unwrap();
    assert!(sandbox.publish(&make_remote(&work, "alpha", "1.1.0", "^1", 2, 4096)).status.success());
    assert_eq!(chosen(&json(&sandbox.resolve(&[]))), [("alpha".to_owned(), "1.1.0".to_owned())]);
    // A mirror now serves the older, validly signed state (a rollback attack).
    std::fs::write(sandbox.registry().join("snapshot.json"), old_snapshot).unwrap();
    std::fs::write(sandbox.registry().join("remotes/alpha.json"), old_index).unwrap();
    let out = sandbox.resolve(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(integration_tests::text(&out).contains("was already seen"), "{}", describe(&out));
    assert_eq!(sandbox.cached_versions().iter().filter(|v| v.2).map(|v| v.1.as_str()).collect::<Vec<_>>(), ["1.1.0"]);
}

#[test]
fn an_index_whose_hash_differs_from_the_snapshot() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    assert!(sandbox.publish(&make_remote(&work, "alpha", "1.0.0", "^1", 2, 4096)).status.success());
    let old_index = std::fs::read(sandbox.registry().join("remotes/alpha.json")).unwrap();
    assert!(sandbox.resolve(&[]).status.success());
    assert!(sandbox.publish(&make_remote(&work, "alpha", "1.1.0", "^1", 2, 4096)).status.success());
    // The new snapshot with the old index: mix-and-match (here the length already differs).
    std::fs::write(sandbox.registry().join("remotes/alpha.json"), old_index).unwrap();
    assert_refused(&sandbox, "were declared");
}

#[test]
fn an_index_changed_in_place_with_the_same_length() {
    let sandbox = installed_then_updated();
    let path = sandbox.registry().join("remotes/alpha.json");
    let text = std::fs::read_to_string(&path).unwrap();
    // Same length, different bytes: only the hash can tell.
    let altered = text.replacen("\"yanked\": false", "\"yanked\": 0    ", 1);
    assert_eq!(altered.len(), text.len());
    assert_ne!(altered, text);
    std::fs::write(&path, altered).unwrap();
    assert_refused(&sandbox, "sha256");
}

#[test]
fn index_paths_that_escape_the_bundle() {
    for bad_path in ["../escape.js", "/etc/passwd", "assets\\win.js"] {
        let sandbox = installed_then_updated();
        let mut index = alpha_index(&sandbox);
        index["versions"][1]["files"][0]["path"] = bad_path.into();
        write_index_and_sign(&sandbox, &index, &signing_key(&sandbox));
        assert_refused(&sandbox, "path");
    }
}

#[test]
fn an_index_manifest_over_the_size_limit() {
    let sandbox = installed_then_updated();
    let mut index = alpha_index(&sandbox);
    index["versions"][1]["manifest"]["description"] = "x".repeat(manifest::MAX_MANIFEST_BYTES + 1).into();
    write_index_and_sign(&sandbox, &index, &signing_key(&sandbox));
    assert_refused(&sandbox, "manifest");
}

#[test]
fn publish_refuses_symlinks_and_oversize_manifests() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    let linked = make_remote(&work, "alpha", "1.0.0", "^1", 1, 64);
    std::os::unix::fs::symlink("/etc/passwd", linked.join("assets/passwd")).unwrap();
    let out = sandbox.publish(&linked);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(integration_tests::text(&out).contains("symbolic link"), "{}", describe(&out));

    let big = make_remote(&work, "beta", "1.0.0", "^1", 1, 64);
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(big.join("remote.json")).unwrap()).unwrap();
    manifest["description"] = "x".repeat(manifest::MAX_MANIFEST_BYTES).into();
    std::fs::write(big.join("remote.json"), serde_json::to_vec(&manifest).unwrap()).unwrap();
    let out = sandbox.publish(&big);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(integration_tests::text(&out).contains("limit"), "{}", describe(&out));

    // Neither publish left anything behind in the registry's snapshot.
    let snapshot = read_snapshot(&sandbox.registry());
    assert!(snapshot.remotes.is_empty(), "{:?}", snapshot.remotes);
}

#[test]
fn an_expired_snapshot_is_stale_and_the_cache_keeps_serving() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    assert!(sandbox.publish(&make_remote(&work, "alpha", "1.0.0", "^1", 2, 4096)).status.success());
    assert!(sandbox.resolve(&[]).status.success());
    let short = sandbox.run(&[
        "publish",
        make_remote(&work, "alpha", "1.1.0", "^1", 2, 4096).to_str().unwrap(),
        "--registry",
        sandbox.registry().to_str().unwrap(),
        "--key",
        sandbox.key().to_str().unwrap(),
        "--expires-in",
        "1s",
    ]);
    assert!(short.status.success(), "{}", describe(&short));
    let expires = read_snapshot(&sandbox.registry()).expires;
    assert!(
        integration_tests::wait_until(std::time::Duration::from_secs(5), || jiff::Timestamp::now() > expires),
        "the snapshot should have expired by now"
    );
    let out = sandbox.resolve(&[]);
    assert!(out.status.success(), "{}", describe(&out));
    let report = json(&out);
    assert_eq!(report["registry"]["state"], "stale", "{report}");
    assert_eq!(
        chosen(&report),
        [("alpha".to_owned(), "1.0.0".to_owned())],
        "the stale snapshot's 1.1.0 is not installed"
    );
    let offline = json(&sandbox.resolve(&["--offline"]));
    assert_eq!(chosen(&offline), [("alpha".to_owned(), "1.0.0".to_owned())]);
}
