//! Lock files carry the grants a team pre-approved, and apply them only when
//! every permission they name is known.
#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use std::collections::BTreeSet;
use std::path::Path;

use api::{ApiError, NoProgress, apply_lock, export_lock, parse_permissions, permission_names};
use cache::{BundleCache, LockFile};
use manifest::{HostProfile, Permission};
use registry::{Expiry, PublishOptions, SigningKey};
use tempfile::TempDir;

fn set(permissions: &[&str]) -> BTreeSet<String> {
    permissions.iter().map(|p| (*p).to_owned()).collect()
}

/// A folder registry holding `alpha 1.0.0` and `beta 1.0.0`, and the hex key to trust it by.
fn registry_with_two_remotes(dir: &Path) -> (String, String) {
    let key = SigningKey::generate();
    let registry = dir.join("registry");
    registry::init(&registry, &key, &key, Expiry::default()).unwrap();
    for name in ["alpha", "beta"] {
        let remote = dir.join(name);
        std::fs::create_dir_all(&remote).unwrap();
        let manifest = serde_json::json!({
            "name": name, "version": "1.0.0", "entry": "remoteEntry.js", "hostApi": "^1.0.0",
            "permissions": ["data:read"],
        });
        std::fs::write(remote.join("remote.json"), manifest.to_string()).unwrap();
        std::fs::write(remote.join("remoteEntry.js"), format!("export const name = {name:?};\n")).unwrap();
        registry::publish(&registry, &remote, &key, &PublishOptions::default()).unwrap();
    }
    (registry.to_str().unwrap().to_owned(), key.public_key().to_hex())
}

/// A cache with both remotes installed and active from the registry.
async fn resolved_cache(dir: &Path, registry: &str, trust: &str) -> BundleCache {
    let cache = BundleCache::open(&dir.join("cache")).unwrap();
    let mut request = api::ResolveRequest::new(Some(registry.to_owned()), HostProfile::builtin());
    request.trust = Some(trust.to_owned());
    api::resolve(&cache, &request, &NoProgress).await.unwrap();
    cache
}

#[tokio::test]
async fn export_includes_grants_only_for_remotes_decided_on() {
    let dir = TempDir::new().unwrap();
    let (registry, trust) = registry_with_two_remotes(dir.path());
    let cache = resolved_cache(dir.path(), &registry, &trust).await;
    cache.set_grants("alpha", &set(&["data:read", "runs:start"])).unwrap();

    let lock = export_lock(&cache).unwrap();

    let grants: Vec<_> = lock.remotes.iter().map(|e| (e.name.as_str(), e.grants.clone())).collect();
    assert_eq!(grants, [("alpha", Some(set(&["data:read", "runs:start"]))), ("beta", None)]);
    let json = lock.to_json().unwrap();
    assert!(json.contains("\"grants\": [\n        \"data:read\",\n        \"runs:start\"\n      ]"), "{json}");
    assert_eq!(json.matches("\"grants\"").count(), 1, "omitted when never decided: {json}");
}

#[tokio::test]
async fn apply_installs_pins_and_grants_what_the_lock_carries() {
    let dir = TempDir::new().unwrap();
    let (registry, trust) = registry_with_two_remotes(dir.path());
    let source = resolved_cache(dir.path(), &registry, &trust).await;
    source.set_grants("alpha", &set(&["data:read", "files:import"])).unwrap();
    source.set_grants("beta", &BTreeSet::new()).unwrap();
    let lock = LockFile::from_json(&export_lock(&source).unwrap().to_json().unwrap()).unwrap();
    let target = BundleCache::open(&dir.path().join("other-cache")).unwrap();
    target.set_grants("beta", &set(&["runs:start"])).unwrap();

    let report = apply_lock(&target, &lock, Some(&trust), &HostProfile::builtin(), &NoProgress).await.unwrap();

    assert_eq!(report.pinned, ["alpha", "beta"]);
    assert_eq!(report.granted, ["alpha", "beta"]);
    assert_eq!(target.grant_decision("alpha").unwrap(), Some(set(&["data:read", "files:import"])));
    assert_eq!(target.grant_decision("beta").unwrap(), Some(BTreeSet::new()), "the lock's decision replaces");
}

#[tokio::test]
async fn a_lock_without_grants_still_applies_and_leaves_grants_alone() {
    let dir = TempDir::new().unwrap();
    let (registry, trust) = registry_with_two_remotes(dir.path());
    let source = resolved_cache(dir.path(), &registry, &trust).await;
    let mut lock: serde_json::Value = serde_json::from_str(&export_lock(&source).unwrap().to_json().unwrap()).unwrap();
    for remote in lock["remotes"].as_array_mut().unwrap() {
        assert!(remote.get("grants").is_none(), "a lock as written before grants: {remote}");
    }
    let lock = LockFile::from_json(&lock.to_string()).unwrap();
    let target = BundleCache::open(&dir.path().join("other-cache")).unwrap();
    target.set_grants("alpha", &set(&["data:write"])).unwrap();

    let report = apply_lock(&target, &lock, Some(&trust), &HostProfile::builtin(), &NoProgress).await.unwrap();

    assert_eq!(report.pinned, ["alpha", "beta"]);
    assert!(report.granted.is_empty());
    assert_eq!(target.grant_decision("alpha").unwrap(), Some(set(&["data:write"])));
    assert_eq!(target.grant_decision("beta").unwrap(), None);
}

#[tokio::test]
async fn an_unknown_permission_refuses_the_whole_lock_before_anything_is_written() {
    let dir = TempDir::new().unwrap();
    let (registry, trust) = registry_with_two_remotes(dir.path());
    let source = resolved_cache(dir.path(), &registry, &trust).await;
    source.set_grants("alpha", &set(&["data:read"])).unwrap();
    source.set_grants("beta", &set(&["data:read", "net:any"])).unwrap();
    let lock = export_lock(&source).unwrap();
    let target = BundleCache::open(&dir.path().join("other-cache")).unwrap();

    let err = apply_lock(&target, &lock, Some(&trust), &HostProfile::builtin(), &NoProgress).await.unwrap_err();

    let message = err.to_string();
    assert!(matches!(err, ApiError::UnknownPermission { ref remote, .. } if remote == "beta"), "{err:?}");
    assert!(message.contains("nothing was applied"), "{message}");
    assert!(message.contains("unknown permission `net:any`; known permissions: data:read, data:write"), "{message}");
    assert!(target.all_grants().unwrap().is_empty(), "alpha's valid grants were not written either");
    assert!(target.pins().unwrap().is_empty(), "nothing pinned");
    assert!(target.versions().unwrap().is_empty(), "nothing installed");
}

#[test]
fn parse_permissions_reads_stored_names_and_names_the_unknown_one() {
    let parsed = parse_permissions(["runs:start", "data:read"]).unwrap();
    assert_eq!(parsed, BTreeSet::from([Permission::DataRead, Permission::RunsStart]));
    assert_eq!(permission_names(&parsed), set(&["data:read", "runs:start"]));
    assert_eq!(parse_permissions(Vec::<String>::new()).unwrap(), BTreeSet::new());
    let err = parse_permissions(set(&["data:read", "Data:Read"])).unwrap_err();
    assert_eq!(err.found, "Data:Read");
}
