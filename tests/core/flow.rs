//! publish → resolve → offline resolve, pins, rollback, gc and lock files.

use integration_tests::{Sandbox, chosen, describe, json, make_remote};

fn publish_ok(sandbox: &Sandbox, dir: &std::path::Path) {
    let out = sandbox.publish(dir);
    assert!(out.status.success(), "publish failed: {}", describe(&out));
}

#[test]
fn publish_resolve_then_offline_gives_the_same_versions() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    publish_ok(&sandbox, &make_remote(&work, "alpha", "1.0.0", "^1.0.0", 3, 1024));
    publish_ok(&sandbox, &make_remote(&work, "beta", "1.0.0", "^1.0.0", 2, 512));
    publish_ok(&sandbox, &make_remote(&work, "beta", "1.1.0", "^1.0.0", 2, 512));

    let online = json(&sandbox.resolve(&[]));
    assert_eq!(online["registry"]["state"], "online", "{online}");
    let expected = vec![("alpha".to_owned(), "1.0.0".to_owned()), ("beta".to_owned(), "1.1.0".to_owned())];
    assert_eq!(chosen(&online), expected);
    assert!(online["remotes"].as_array().unwrap().iter().all(|r| r["verdict"] == "installed"), "{online}");

    // The registry disappears entirely: the cache alone must give the same answer.
    std::fs::rename(sandbox.registry(), sandbox.path().join("registry-gone")).unwrap();
    let offline = json(&sandbox.resolve(&["--offline"]));
    assert_eq!(offline["registry"]["state"], "offline", "{offline}");
    assert_eq!(chosen(&offline), expected);
    assert!(offline["remotes"].as_array().unwrap().iter().all(|r| r["verdict"] == "cached"), "{offline}");

    // Without --offline, an unreachable registry falls back to the cache too.
    let out = sandbox.resolve(&[]);
    assert!(out.status.success(), "{}", describe(&out));
    let fallback = json(&out);
    assert_eq!(fallback["registry"]["state"], "offline", "{fallback}");
    assert!(fallback["registry"]["lastReachedAt"].is_i64(), "says when the registry was last reached: {fallback}");
    assert_eq!(chosen(&fallback), expected);

    let verify = sandbox.run(&["cache", "verify", "--cache-dir", sandbox.cache().to_str().unwrap()]);
    assert!(verify.status.success(), "{}", describe(&verify));
}

#[test]
fn incompatible_newest_falls_back_with_a_reason() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    publish_ok(&sandbox, &make_remote(&work, "prompts", "1.7.3", "^1.0.0", 1, 64));
    publish_ok(&sandbox, &make_remote(&work, "prompts", "2.0.0", "^2.0.0", 1, 64));
    publish_ok(&sandbox, &make_remote(&work, "future", "3.0.0", "^3.0.0", 1, 64));

    let out = sandbox.resolve(&[]);
    assert_eq!(out.status.code(), Some(4), "an unusable remote gives exit code 4: {}", describe(&out));
    let report = json(&out);
    let remotes = report["remotes"].as_array().unwrap();
    let prompts = remotes.iter().find(|r| r["name"] == "prompts").unwrap();
    assert_eq!(prompts["version"], "1.7.3");
    let host_api = manifest::HostProfile::builtin().host_api;
    assert_eq!(
        prompts["reason"],
        format!("2.0.0 needs host API ^2.0.0, this app provides {host_api}; newest compatible is 1.7.3")
    );
    let future = remotes.iter().find(|r| r["name"] == "future").unwrap();
    assert_eq!(future["verdict"], "incompatible");
    assert!(future["reason"].as_str().unwrap().contains("needs host API ^3.0.0"), "{future}");
}

#[test]
fn pin_rollback_gc_and_lock_files() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    let cache = sandbox.cache();
    let cache = cache.to_str().unwrap();
    publish_ok(&sandbox, &make_remote(&work, "alpha", "1.0.0", "^1", 2, 256));
    assert!(sandbox.resolve(&[]).status.success());
    publish_ok(&sandbox, &make_remote(&work, "alpha", "1.1.0", "^1", 2, 256));
    assert_eq!(chosen(&json(&sandbox.resolve(&[]))), [("alpha".to_owned(), "1.1.0".to_owned())]);

    // Rollback goes to the previous version and pins it, so the next resolve stays there.
    let out = sandbox.ok(&["cache", "rollback", "alpha", "--cache-dir", cache]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("from 1.1.0 to 1.0.0"), "{}", describe(&out));
    let report = json(&sandbox.resolve(&[]));
    assert_eq!(chosen(&report), [("alpha".to_owned(), "1.0.0".to_owned())]);
    assert_eq!(report["remotes"][0]["pinned"], true);

    // A lock file taken now reproduces 1.0.0 in a fresh cache even though 1.1.0 is newer.
    let lock = sandbox.path().join("team.lock.json");
    sandbox.ok(&["lock", "export", lock.to_str().unwrap(), "--cache-dir", cache]);
    let other_cache = sandbox.path().join("other-cache");
    let trust = sandbox.public_key();
    sandbox.ok(&[
        "lock",
        "apply",
        lock.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
        "--cache-dir",
        other_cache.to_str().unwrap(),
    ]);
    let out = sandbox.ok(&["--json", "cache", "list", "--cache-dir", other_cache.to_str().unwrap()]);
    let listed = json(&out);
    assert_eq!(listed["versions"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["versions"][0]["version"], "1.0.0");
    assert_eq!(listed["versions"][0]["pinned"], true);

    // Unpin: back to the newest. gc --keep 0 then drops 1.0.0 (not active, pinned or known-good).
    sandbox.ok(&["cache", "unpin", "alpha", "--cache-dir", cache]);
    assert_eq!(chosen(&json(&sandbox.resolve(&[]))), [("alpha".to_owned(), "1.1.0".to_owned())]);
    sandbox.ok(&["cache", "gc", "--keep", "0", "--cache-dir", cache]);
    let versions = sandbox.cached_versions();
    assert_eq!(versions, [("alpha".to_owned(), "1.1.0".to_owned(), true)]);
    sandbox.ok(&["cache", "verify", "--cache-dir", cache]);
}

#[test]
fn a_tampered_lock_file_is_refused_and_pins_are_left_alone() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    let cache = sandbox.cache();
    publish_ok(&sandbox, &make_remote(&work, "alpha", "1.0.0", "^1", 2, 256));
    assert!(sandbox.resolve(&[]).status.success());
    let lock = sandbox.path().join("team.lock.json");
    sandbox.ok(&["lock", "export", lock.to_str().unwrap(), "--cache-dir", cache.to_str().unwrap()]);
    let text = std::fs::read_to_string(&lock).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["remotes"][0]["files"][0]["sha256"] = serde_json::Value::String("00".repeat(32));
    std::fs::write(&lock, serde_json::to_vec(&value).unwrap()).unwrap();

    let other_cache = sandbox.path().join("other-cache");
    let trust = sandbox.public_key();
    let out = sandbox.run(&[
        "lock",
        "apply",
        lock.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
        "--cache-dir",
        other_cache.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(integration_tests::text(&out).contains("different files"), "{}", describe(&out));
    let listed = json(&sandbox.ok(&["--json", "cache", "list", "--cache-dir", other_cache.to_str().unwrap()]));
    assert!(listed["versions"].as_array().unwrap().is_empty(), "nothing installed: {listed}");
}
