//! A registry folder's life after `registry init`: rotating the root (old
//! clients follow the chain, the retired key signs nothing any more),
//! re-signing the snapshot before or after it expires, and yanking.

use std::path::Path;
use std::process::Output;

use integration_tests::{Sandbox, chosen, describe, json, make_remote, text};
use registry::author::documents;
use serde_json::Value;

fn publish_ok(sandbox: &Sandbox, dir: &Path) {
    let out = sandbox.publish(dir);
    assert!(out.status.success(), "publish failed: {}", describe(&out));
}

/// The registry's state in a `resolve --json` report: `registry.state`
/// when the report has that shape, `status.state` otherwise.
fn state(report: &Value) -> &str {
    report["registry"]["state"].as_str().or_else(|| report["registry"]["state"].as_str()).unwrap_or_default()
}

/// `augment --json resolve` into `cache`, trusting `trust`.
fn resolve_into(sandbox: &Sandbox, cache: &Path, trust: &Path) -> Output {
    let registry = sandbox.registry();
    sandbox.run(&[
        "--json",
        "resolve",
        "--registry",
        registry.to_str().unwrap(),
        "--trust",
        trust.to_str().unwrap(),
        "--cache-dir",
        cache.to_str().unwrap(),
    ])
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(name, version)| ((*name).to_owned(), (*version).to_owned())).collect()
}

/// The snapshot in the registry folder, verified with its current root.
fn current_snapshot(registry_dir: &Path) -> registry::Snapshot {
    let root =
        match registry::TrustAnchor::from_root_json(&std::fs::read(registry_dir.join("root.json")).unwrap()).unwrap() {
            registry::TrustAnchor::Root(root) => root,
            registry::TrustAnchor::Key(_) => unreachable!("root.json is a root"),
        };
    let bytes = std::fs::read(registry_dir.join("snapshot.json")).unwrap();
    registry::verify_snapshot(&root, &bytes, None, jiff::Timestamp::now(), &registry::Limits::default())
        .unwrap()
        .into_snapshot()
}

#[test]
fn rotate_root_is_followed_by_old_clients_and_retires_the_old_key() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    publish_ok(&sandbox, &make_remote(&work, "alpha", "1.0.0", "^1", 2, 1024));
    let before = json(&sandbox.resolve(&[]));
    assert_eq!(state(&before), "online", "{before}");

    let new_keys = sandbox.path().join("new-keys");
    sandbox.ok(&["keygen", "--out", new_keys.to_str().unwrap()]);
    let (new_key, new_pub) = (new_keys.join("registry.key"), new_keys.join("registry.pub"));
    let registry_dir = sandbox.registry();
    let out = sandbox.ok(&[
        "--json",
        "registry",
        "rotate-root",
        registry_dir.to_str().unwrap(),
        "--key",
        sandbox.key().to_str().unwrap(),
        "--new-key",
        new_key.to_str().unwrap(),
    ]);
    let report = json(&out);
    assert_eq!(report["rootVersion"], 2, "{report}");
    assert_eq!(report["renewed"], false, "{report}");
    assert!(registry_dir.join("roots/1.root.json").is_file(), "the old root stays, as the chain's first link");
    assert_eq!(
        std::fs::read(registry_dir.join("roots/2.root.json")).unwrap(),
        std::fs::read(registry_dir.join("root.json")).unwrap(),
        "root.json is the newest root"
    );

    // The old key no longer signs; the new one does.
    let alpha_11 = make_remote(&work, "alpha", "1.1.0", "^1", 2, 1024);
    let refused = sandbox.publish(&alpha_11);
    assert!(!refused.status.success(), "the retired key must not publish: {}", describe(&refused));
    assert!(text(&refused).contains("is not a snapshot key"), "{}", describe(&refused));
    let out = sandbox.run(&[
        "publish",
        alpha_11.to_str().unwrap(),
        "--registry",
        registry_dir.to_str().unwrap(),
        "--key",
        new_key.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", describe(&out));

    // A client that trusted root 1 (it resolved before) follows the chain.
    let out = sandbox.resolve(&[]);
    assert!(out.status.success(), "the old client follows the rotation: {}", describe(&out));
    let after = json(&out);
    assert_eq!(state(&after), "online", "{after}");
    assert_eq!(chosen(&after), pairs(&[("alpha", "1.1.0")]));
    // So does a desktop configured with the old key that first looks now,
    // and one given the new key.
    for (cache, trust) in [("cache-old-key", sandbox.public_key()), ("cache-new-key", new_pub.clone())] {
        let out = resolve_into(&sandbox, &sandbox.path().join(cache), &trust);
        assert!(out.status.success(), "first contact trusting {}: {}", trust.display(), describe(&out));
        assert_eq!(chosen(&json(&out)), pairs(&[("alpha", "1.1.0")]), "{cache}");
    }

    // Whoever still holds the retired key signs a newer snapshot: refused.
    let old_key = registry::SigningKey::read_pem_file(&sandbox.key()).unwrap();
    let current = current_snapshot(&registry_dir);
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let forged = documents::next_snapshot(&current, None, expires);
    std::fs::write(registry_dir.join("snapshot.json"), documents::sign_snapshot(&forged, &[&old_key]).unwrap())
        .unwrap();
    let out = sandbox.resolve(&[]);
    let refused = out.status.code() == Some(3) || (out.status.success() && state(&json(&out)) == "refused");
    assert!(refused, "a snapshot signed by the retired key must be refused: {}", describe(&out));
    assert!(text(&out).contains("snapshot.json"), "the refusal names the document: {}", describe(&out));
    let active: Vec<String> = sandbox.cached_versions().into_iter().filter(|v| v.2).map(|v| v.1).collect();
    assert_eq!(active, ["1.1.0"], "the cache is untouched");
}

#[test]
fn refresh_makes_an_expired_snapshot_fresh_again_and_warns_before_the_root_expires() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    publish_ok(&sandbox, &make_remote(&work, "alpha", "1.0.0", "^1", 2, 1024));
    assert_eq!(state(&json(&sandbox.resolve(&[]))), "online");
    let registry_dir = sandbox.registry();
    let (dir, key) = (registry_dir.to_str().unwrap(), sandbox.key());
    let key = key.to_str().unwrap();

    // Nobody publishes, and the snapshot runs out.
    let out = sandbox.ok(&["--json", "registry", "refresh", dir, "--key", key, "--expires-in", "1s"]);
    let short = json(&out);
    assert_eq!(short["snapshotVersion"], 3, "init, one publish, this refresh: {short}");
    let expires = current_snapshot(&registry_dir).expires;
    assert!(
        integration_tests::wait_until(std::time::Duration::from_secs(5), || jiff::Timestamp::now() > expires),
        "the snapshot should have expired by now"
    );
    let stale = json(&sandbox.resolve(&[]));
    assert_eq!(state(&stale), "stale", "{stale}");
    assert_eq!(chosen(&stale), pairs(&[("alpha", "1.0.0")]), "the cache keeps serving");

    // The cron job runs: fresh again, one version newer, the same contents.
    let out = sandbox.ok(&["--json", "registry", "refresh", dir, "--key", key]);
    let refreshed = json(&out);
    assert_eq!(refreshed["snapshotVersion"], 4, "{refreshed}");
    assert!(refreshed["warning"].is_null(), "a root valid for a year needs no warning: {refreshed}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("root.json"), "{}", describe(&out));
    let online = json(&sandbox.resolve(&[]));
    assert_eq!(state(&online), "online", "{online}");
    assert_eq!(chosen(&online), pairs(&[("alpha", "1.0.0")]));

    // A root close to its expiry: refresh renews the snapshot only (the
    // root key belongs offline) and says how to renew the root.
    sandbox.ok(&["registry", "rotate-root", dir, "--key", key, "--expires-in", "10days"]);
    let out = sandbox.ok(&["--json", "registry", "refresh", dir, "--key", key]);
    let warned = json(&out);
    let warning = warned["warning"].as_str().expect("a warning in the JSON");
    assert!(warning.contains("root.json expires") && warning.contains("rotate-root"), "{warning}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: root.json expires"), "{}", describe(&out));
    assert_eq!(warned["rootVersion"], 2, "refresh did not touch the root: {warned}");

    // A registry server does this by itself; refresh says so.
    let out = sandbox.run(&["registry", "refresh", "http://127.0.0.1:9", "--key", key]);
    assert!(!out.status.success());
    assert!(text(&out).contains("re-signs its snapshot by itself"), "{}", describe(&out));
}

#[test]
fn yank_in_a_folder_stops_resolvers_choosing_a_version_and_undo_reverts() {
    let sandbox = Sandbox::new();
    let work = sandbox.path().join("remotes");
    publish_ok(&sandbox, &make_remote(&work, "alpha", "1.0.0", "^1", 1, 256));
    publish_ok(&sandbox, &make_remote(&work, "alpha", "1.1.0", "^1", 1, 256));
    let registry_dir = sandbox.registry();
    let (dir, key) = (registry_dir.to_str().unwrap(), sandbox.key());
    let key = key.to_str().unwrap();

    let out = sandbox.ok(&["--json", "yank", "alpha", "1.1.0", "--registry", dir, "--key", key]);
    let yanked = json(&out);
    assert_eq!((yanked["yanked"].as_bool(), yanked["changed"].as_bool()), (Some(true), Some(true)), "{yanked}");
    assert_eq!(chosen(&json(&sandbox.resolve(&[]))), pairs(&[("alpha", "1.0.0")]), "1.1.0 is yanked");

    let again = json(&sandbox.ok(&["--json", "yank", "alpha", "1.1.0", "--registry", dir, "--key", key]));
    assert_eq!(again["changed"], false, "yanking twice changes nothing: {again}");
    assert_eq!(again["snapshotVersion"], yanked["snapshotVersion"], "and signs nothing");

    sandbox.ok(&["yank", "alpha", "1.1.0", "--registry", dir, "--key", key, "--undo"]);
    assert_eq!(chosen(&json(&sandbox.resolve(&[]))), pairs(&[("alpha", "1.1.0")]), "un-yanked");

    let out = sandbox.run(&["yank", "alpha", "9.9.9", "--registry", dir, "--key", key]);
    assert!(!out.status.success());
    assert!(text(&out).contains("1.0.0, 1.1.0"), "the error lists what exists: {}", describe(&out));
    let out = sandbox.run(&["yank", "alpha", "1.1.0", "--registry", dir]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--key"), "says what is missing: {}", describe(&out));
}
