use std::sync::Barrier;
use std::thread;

use cache::{BundleCache, CacheError, RegistryState, StoredDocument};

use crate::fresh;

const REG: &str = "https://registry.example/";

fn state(version: u64) -> RegistryState {
    RegistryState {
        trusted_root_json: format!(r#"{{"version":{version}}}"#),
        highest_snapshot_version: version,
        last_reached_at: Some(1_700_000_000),
        stale_since: None,
        last_verified_at: None,
    }
}

#[test]
fn round_trips_and_refuses_a_lower_snapshot_version() {
    let (_dir, cache) = fresh();
    assert_eq!(cache.registry_state(REG).unwrap(), None);
    cache.save_registry_state(REG, &state(5)).unwrap();

    let err = cache.save_registry_state(REG, &state(4)).unwrap_err();

    assert!(
        matches!(err, CacheError::SnapshotRollback { stored: 5, attempted: 4, ref registry } if registry == REG),
        "{err:?}"
    );
    assert!(err.to_string().contains("rollback"), "{err}");
    assert_eq!(cache.registry_state(REG).unwrap(), Some(state(5)), "refused save changed nothing");

    let mut same = state(5);
    same.stale_since = Some(1_700_000_100);
    cache.save_registry_state(REG, &same).unwrap();
    assert_eq!(cache.registry_state(REG).unwrap(), Some(same), "the same version may update the other fields");

    cache.save_registry_state("https://other.example/", &state(1)).unwrap();
    assert_eq!(cache.registry_state("https://other.example/").unwrap(), Some(state(1)), "state is per registry");
}

#[test]
fn racing_writers_never_lower_the_snapshot_version() {
    let (dir, _cache) = fresh();
    let writers = 8u64;
    let barrier = Barrier::new(writers as usize);
    let results: Vec<_> = thread::scope(|s| {
        let handles: Vec<_> = (1..=writers)
            .map(|v| {
                let (barrier, dir) = (&barrier, dir.path());
                s.spawn(move || {
                    let cache = BundleCache::open(dir).unwrap();
                    barrier.wait();
                    let result = cache.save_registry_state(REG, &state(v));
                    let seen_after = cache.registry_state(REG).unwrap().unwrap().highest_snapshot_version;
                    (v, result, seen_after)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    for (v, result, seen_after) in &results {
        match result {
            Ok(()) => assert!(*seen_after >= *v),
            Err(CacheError::SnapshotRollback { stored, attempted, .. }) => {
                assert!(stored > attempted, "refused only when something newer was stored");
                assert_eq!(attempted, v);
            }
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    let cache = BundleCache::open(dir.path()).unwrap();
    assert_eq!(cache.registry_state(REG).unwrap(), Some(state(writers)), "the highest version wins");
}

#[test]
fn metadata_documents_round_trip_and_replace() {
    let (_dir, cache) = fresh();
    assert_eq!(cache.metadata(REG, "snapshot.json").unwrap(), None);
    let first = StoredDocument { etag: Some("\"v1\"".into()), body: b"{\"version\":1}".to_vec() };
    let second = StoredDocument { etag: None, body: b"{\"version\":2}".to_vec() };
    cache.save_metadata(REG, "snapshot.json", &first).unwrap();
    assert_eq!(cache.metadata(REG, "snapshot.json").unwrap(), Some(first));
    cache.save_metadata(REG, "snapshot.json", &second).unwrap();
    assert_eq!(cache.metadata(REG, "snapshot.json").unwrap(), Some(second));
    assert_eq!(cache.metadata(REG, "remotes/a.json").unwrap(), None);
    assert_eq!(cache.metadata("https://other.example/", "snapshot.json").unwrap(), None);
}

#[test]
fn several_documents_are_saved_in_one_call() {
    let (_dir, cache) = fresh();
    let doc = |body: &str| StoredDocument { etag: None, body: body.as_bytes().to_vec() };
    cache
        .save_metadata_all(REG, &[("remotes/a.json".to_owned(), doc("a")), ("remotes/b.json".to_owned(), doc("b"))])
        .unwrap();
    assert_eq!(cache.metadata(REG, "remotes/a.json").unwrap(), Some(doc("a")));
    assert_eq!(cache.metadata(REG, "remotes/b.json").unwrap(), Some(doc("b")));
}

#[test]
fn trust_state_and_its_documents_are_saved_together_or_not_at_all() {
    let (_dir, cache) = fresh();
    let root = |etag: &str| StoredDocument { etag: Some(etag.to_owned()), body: b"{}".to_vec() };
    cache.save_trust(REG, &state(5), &[("root.json".to_owned(), root("\"v1\""))], false).unwrap();
    assert_eq!(cache.metadata(REG, "root.json").unwrap(), Some(root("\"v1\"")));

    let refused = cache.save_trust(REG, &state(4), &[("root.json".to_owned(), root("\"v2\""))], false);

    assert!(matches!(refused, Err(CacheError::SnapshotRollback { .. })), "{refused:?}");
    assert_eq!(
        cache.metadata(REG, "root.json").unwrap(),
        Some(root("\"v1\"")),
        "a refused trust state must not leave its root's validator behind"
    );
}

#[test]
fn a_root_rotation_re_anchors_the_snapshot_high_water_mark() {
    let (_dir, cache) = fresh();
    cache.save_registry_state(REG, &state(1000)).unwrap();
    cache.save_trust(REG, &state(8), &[], true).unwrap();
    assert_eq!(cache.registry_state(REG).unwrap().unwrap().highest_snapshot_version, 8);
    assert!(cache.save_registry_state(REG, &state(7)).is_err(), "protection starts again from the new mark");
}
