//! The `permissions` of remote.json (issue 15): a permission this build does
//! not know is refused by name, at publish time and when a registry serves it.

use integration_tests::{Sandbox, chosen, describe, json, make_remote, read_snapshot, text};
use registry::author::documents;

const KNOWN: &str = "known permissions: data:read, data:write, files:import, files:export, runs:start, \
                     providers:use, stack:control, remotes:manage";

/// A built remote whose remote.json declares `permissions`.
fn remote_with_permissions(sandbox: &Sandbox, version: &str, permissions: serde_json::Value) -> std::path::PathBuf {
    let dir = make_remote(&sandbox.path().join("remotes"), "alpha", version, "^1", 1, 64);
    let path = dir.join("remote.json");
    let mut manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["permissions"] = permissions;
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    dir
}

#[test]
fn point_1_publishing_an_unknown_permission_fails_naming_it_and_publishes_nothing() {
    let sandbox = Sandbox::new();
    let before = read_snapshot(&sandbox.registry()).version;
    let remote = remote_with_permissions(&sandbox, "1.0.0", serde_json::json!(["data:read", "net:any"]));

    let out = sandbox.publish(&remote);

    assert!(!out.status.success(), "{}", describe(&out));
    let message = text(&out);
    assert!(message.contains("unknown permission `net:any`"), "{}", describe(&out));
    assert!(message.contains(KNOWN), "{}", describe(&out));
    assert!(message.contains("remote.json"), "{}", describe(&out));
    assert_eq!(read_snapshot(&sandbox.registry()).version, before, "nothing was published");
    assert!(!sandbox.registry().join("remotes/alpha.json").exists());
}

#[test]
fn point_1_known_permissions_publish_and_resolve() {
    let sandbox = Sandbox::new();
    let remote = remote_with_permissions(&sandbox, "1.0.0", serde_json::json!(["runs:start", "data:read"]));

    let out = sandbox.publish(&remote);

    assert!(out.status.success(), "{}", describe(&out));
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sandbox.registry().join("remotes/alpha.json")).unwrap()).unwrap();
    assert_eq!(index["versions"][0]["manifest"]["permissions"], serde_json::json!(["data:read", "runs:start"]));
    let out = sandbox.resolve(&[]);
    assert!(out.status.success(), "{}", describe(&out));
    let report = json(&out);
    assert_eq!(report["registry"]["state"], "online", "{report}");
    assert_eq!(chosen(&report), [("alpha".to_owned(), "1.0.0".to_owned())]);
}

#[test]
fn point_1_an_index_serving_an_unknown_permission_is_refused_by_name_and_the_cache_keeps_serving() {
    let sandbox = Sandbox::new();
    assert!(
        sandbox.publish(&remote_with_permissions(&sandbox, "1.0.0", serde_json::json!(["data:read"]))).status.success()
    );
    assert!(sandbox.resolve(&[]).status.success());
    assert!(
        sandbox.publish(&remote_with_permissions(&sandbox, "1.1.0", serde_json::json!(["data:read"]))).status.success()
    );
    // A newer publisher's vocabulary, signed into the snapshot as a real registry would.
    let index_path = sandbox.registry().join("remotes/alpha.json");
    let mut index: serde_json::Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    index["versions"][1]["manifest"]["permissions"] = serde_json::json!(["data:read", "net:any"]);
    let bytes = serde_json::to_vec_pretty(&index).unwrap();
    std::fs::write(&index_path, &bytes).unwrap();
    let key = registry::SigningKey::read_pem_file(&sandbox.key()).unwrap();
    let previous = read_snapshot(&sandbox.registry());
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let next = documents::next_snapshot(&previous, Some(("alpha", documents::snapshot_entry_for(&bytes))), expires);
    std::fs::write(sandbox.registry().join("snapshot.json"), documents::sign_snapshot(&next, &[&key]).unwrap())
        .unwrap();

    let out = sandbox.resolve(&[]);

    // Today's handling of any index that does not parse: that remote's
    // index is unusable (the registry reported stale, saying why), every
    // other remote still updates, and the cached version keeps serving.
    assert!(out.status.success(), "{}", describe(&out));
    let report = json(&out);
    assert_eq!(report["registry"]["state"], "stale", "{report}");
    let alpha = &report["remotes"][0];
    assert_eq!(alpha["version"], "1.0.0", "the cached version keeps serving: {report}");
    let reason = alpha["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("unknown permission `net:any`") && reason.contains(KNOWN), "{report}");
    assert_eq!(sandbox.cached_versions(), [("alpha".to_owned(), "1.0.0".to_owned(), true)]);
}

#[test]
fn point_2_a_lock_file_carries_grants_and_refuses_an_unknown_one_whole() {
    let sandbox = Sandbox::new();
    assert!(
        sandbox.publish(&remote_with_permissions(&sandbox, "1.0.0", serde_json::json!(["data:read"]))).status.success()
    );
    assert!(sandbox.resolve(&[]).status.success());
    let granted = std::collections::BTreeSet::from(["data:read".to_owned(), "files:import".to_owned()]);
    cache::BundleCache::open(&sandbox.cache()).unwrap().set_grants("alpha", &granted).unwrap();
    let lock = sandbox.path().join("team.lock.json");
    sandbox.ok(&["lock", "export", lock.to_str().unwrap(), "--cache-dir", sandbox.cache().to_str().unwrap()]);
    let exported: serde_json::Value = serde_json::from_slice(&std::fs::read(&lock).unwrap()).unwrap();
    assert_eq!(exported["remotes"][0]["grants"], serde_json::json!(["data:read", "files:import"]), "{exported}");
    let trust = sandbox.public_key();
    let apply = |cache: &std::path::Path| {
        sandbox.run(&[
            "lock",
            "apply",
            lock.to_str().unwrap(),
            "--trust",
            trust.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
        ])
    };

    let team_cache = sandbox.path().join("team-cache");
    let out = apply(&team_cache);

    assert!(out.status.success(), "{}", describe(&out));
    assert!(text(&out).contains("applied the lock's permission grants to: alpha"), "{}", describe(&out));
    assert_eq!(cache::BundleCache::open(&team_cache).unwrap().grant_decision("alpha").unwrap(), Some(granted));

    let mut tampered = exported.clone();
    tampered["remotes"][0]["grants"] = serde_json::json!(["data:read", "net:any"]);
    std::fs::write(&lock, serde_json::to_vec_pretty(&tampered).unwrap()).unwrap();
    let other_cache = sandbox.path().join("other-cache");
    let out = apply(&other_cache);

    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text(&out).contains("grants alpha an unknown permission `net:any`"), "{}", describe(&out));
    let other = cache::BundleCache::open(&other_cache).unwrap();
    assert!(other.all_grants().unwrap().is_empty() && other.pins().unwrap().is_empty());
    assert!(other.versions().unwrap().is_empty(), "nothing installed");
}
