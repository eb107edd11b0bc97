use std::collections::{BTreeMap, BTreeSet};

use cache::{BundleCache, CacheError};

use crate::fresh;

fn set(permissions: &[&str]) -> BTreeSet<String> {
    permissions.iter().map(|p| (*p).to_owned()).collect()
}

#[test]
fn a_remote_never_asked_has_no_decision_and_no_grants() {
    let (_dir, cache) = fresh();
    assert_eq!(cache.grant_decision("record-collector").unwrap(), None);
    assert!(cache.grants("record-collector").unwrap().is_empty());
    assert!(cache.all_grants().unwrap().is_empty());
}

#[test]
fn set_grants_replaces_the_whole_set() {
    let (_dir, cache) = fresh();
    cache.set_grants("record-collector", &set(&["data:read", "data:write", "files:import"])).unwrap();
    assert_eq!(cache.grants("record-collector").unwrap(), set(&["data:read", "data:write", "files:import"]));

    cache.set_grants("record-collector", &set(&["data:read", "runs:start"])).unwrap();

    assert_eq!(cache.grants("record-collector").unwrap(), set(&["data:read", "runs:start"]), "replaced, not merged");
    assert_eq!(cache.grant_decision("record-collector").unwrap(), Some(set(&["data:read", "runs:start"])));
}

#[test]
fn allowing_nothing_is_a_decision_distinct_from_never_asked() {
    let (_dir, cache) = fresh();
    cache.set_grants("request-reviewer", &set(&["runs:start"])).unwrap();
    cache.set_grants("request-reviewer", &BTreeSet::new()).unwrap();

    assert_eq!(cache.grant_decision("request-reviewer").unwrap(), Some(BTreeSet::new()));
    assert!(cache.grants("request-reviewer").unwrap().is_empty());
    assert_eq!(cache.all_grants().unwrap(), BTreeMap::from([("request-reviewer".to_owned(), BTreeSet::new())]));
}

#[test]
fn revoking_forgets_the_decision_and_says_whether_there_was_one() {
    let (_dir, cache) = fresh();
    cache.set_grants("a", &set(&["data:read"])).unwrap();
    cache.set_grants("b", &BTreeSet::new()).unwrap();
    cache.set_grants("c", &set(&["files:export"])).unwrap();

    assert!(cache.revoke_grants("a").unwrap());
    assert!(cache.revoke_grants("b").unwrap(), "an empty decision is still one to forget");
    assert!(!cache.revoke_grants("a").unwrap(), "nothing left to revoke");
    assert!(!cache.revoke_grants("never-asked").unwrap());

    assert_eq!(cache.grant_decision("a").unwrap(), None, "asked again next time");
    assert_eq!(cache.grant_decision("b").unwrap(), None);
    assert_eq!(cache.all_grants().unwrap(), BTreeMap::from([("c".to_owned(), set(&["files:export"]))]));
    // A new decision after a revoke starts from nothing.
    cache.set_grants("a", &set(&["data:write"])).unwrap();
    assert_eq!(cache.grants("a").unwrap(), set(&["data:write"]));
}

#[test]
fn all_grants_lists_every_decision_by_remote() {
    let (_dir, cache) = fresh();
    cache.set_grants("b", &set(&["data:read", "providers:use"])).unwrap();
    cache.set_grants("a", &set(&["data:read"])).unwrap();
    cache.set_grants("z", &BTreeSet::new()).unwrap();

    let all = cache.all_grants().unwrap();

    assert_eq!(
        all,
        BTreeMap::from([
            ("a".to_owned(), set(&["data:read"])),
            ("b".to_owned(), set(&["data:read", "providers:use"])),
            ("z".to_owned(), BTreeSet::new()),
        ])
    );
}

#[test]
fn set_grants_all_writes_every_decision_or_none() {
    let (_dir, cache) = fresh();
    cache.set_grants("a", &set(&["data:read"])).unwrap();
    let bad = BTreeMap::from([("a".to_owned(), set(&["data:write"])), ("b".to_owned(), set(&[" "]))]);

    let err = cache.set_grants_all(&bad).unwrap_err();

    assert!(matches!(err, CacheError::InvalidInput { what: "permission", .. }), "{err:?}");
    assert_eq!(cache.all_grants().unwrap(), BTreeMap::from([("a".to_owned(), set(&["data:read"]))]), "unchanged");

    let good = BTreeMap::from([("a".to_owned(), set(&["data:write"])), ("b".to_owned(), set(&["runs:start"]))]);
    cache.set_grants_all(&good).unwrap();
    assert_eq!(cache.all_grants().unwrap(), good);
}

#[test]
fn an_empty_remote_name_is_refused() {
    let (_dir, cache) = fresh();
    let err = cache.set_grants("", &set(&["data:read"])).unwrap_err();
    assert!(matches!(err, CacheError::InvalidInput { what: "remote name", .. }), "{err:?}");
    assert!(cache.all_grants().unwrap().is_empty());
}

#[test]
fn grants_survive_reopening() {
    let (dir, cache) = fresh();
    cache.set_grants("a", &set(&["data:read", "files:import"])).unwrap();
    cache.set_grants("b", &BTreeSet::new()).unwrap();
    drop(cache);

    let cache = BundleCache::open(dir.path()).unwrap();

    assert_eq!(cache.grants("a").unwrap(), set(&["data:read", "files:import"]));
    assert_eq!(cache.grant_decision("b").unwrap(), Some(BTreeSet::new()));
}

#[test]
fn lock_entries_carry_the_grant_decision_of_each_active_remote() {
    let (_dir, cache) = fresh();
    for name in ["a", "b", "c"] {
        crate::install_simple(&cache, name, "1.0.0");
        cache.set_active(name, "1.0.0").unwrap();
    }
    cache.set_grants("a", &set(&["data:read", "runs:start"])).unwrap();
    cache.set_grants("b", &BTreeSet::new()).unwrap();

    let entries = cache.lock_entries().unwrap();

    let grants: Vec<_> = entries.iter().map(|e| (e.name.as_str(), e.grants.clone())).collect();
    assert_eq!(grants, [("a", Some(set(&["data:read", "runs:start"]))), ("b", Some(BTreeSet::new())), ("c", None)]);
    let json = cache::LockFile::new(entries).to_json().unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["remotes"][0]["grants"], serde_json::json!(["data:read", "runs:start"]));
    assert_eq!(value["remotes"][1]["grants"], serde_json::json!([]));
    assert!(value["remotes"][2].get("grants").is_none(), "never asked: no grants field: {json}");
}
