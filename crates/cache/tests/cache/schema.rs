use cache::{BundleCache, CacheError};
use rusqlite::Connection;

use crate::{fresh, install_simple};

#[test]
fn creates_the_layout_with_a_wal_index_and_current_schema() {
    let (dir, _cache) = fresh();
    assert!(dir.path().join("blobs/sha256").is_dir());
    assert!(dir.path().join("tmp").is_dir());
    let conn = Connection::open(dir.path().join("index.sqlite")).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 4);
}

#[test]
fn state_survives_reopening() {
    let (dir, cache) = fresh();
    install_simple(&cache, "a", "1.0.0");
    cache.set_active("a", "1.0.0").unwrap();
    cache.pin("a", "1.0.0").unwrap();
    drop(cache);

    let cache = BundleCache::open(dir.path()).unwrap();

    assert_eq!(cache.active("a").unwrap().as_deref(), Some("1.0.0"));
    assert_eq!(cache.pins().unwrap().len(), 1);
    assert!(cache.verify().unwrap().is_clean());
}

#[test]
fn refuses_an_index_from_a_newer_build() {
    let (dir, cache) = fresh();
    drop(cache);
    Connection::open(dir.path().join("index.sqlite")).unwrap().pragma_update(None, "user_version", 99).unwrap();

    let err = BundleCache::open(dir.path()).unwrap_err();

    assert!(matches!(err, CacheError::SchemaTooNew { found: 99, supported: 4, .. }), "{err:?}");
    assert!(err.to_string().contains("upgrade Augment-It"), "{err}");
}

#[test]
fn bundle_cache_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<BundleCache>();
    assert_send_sync::<cache::InstallGuard>();
    let (_dir, cache) = fresh();
    assert!(format!("{cache:?}").contains("BundleCache"));
}

#[test]
fn a_new_index_is_built_aside_and_leaves_no_temporary_file() {
    let (dir, cache) = fresh();
    install_simple(&cache, "a", "1.0.0");
    assert!(crate::files_under(&dir.path().join("tmp")).is_empty(), "the index was linked into place");
    drop(cache);
    let reopened = BundleCache::open(dir.path()).unwrap();
    assert_eq!(reopened.versions().unwrap().len(), 1, "the linked index is the one in use");
}

#[test]
fn an_index_of_the_first_schema_is_migrated_and_keeps_its_registry_state() {
    let (dir, cache) = fresh();
    let state = cache::RegistryState {
        trusted_root_json: "{}".into(),
        highest_snapshot_version: 3,
        last_reached_at: Some(1),
        stale_since: None,
        last_verified_at: None,
    };
    cache.save_registry_state("https://r.example/", &state).unwrap();
    drop(cache);
    // What a build before `last_verified_at` left behind.
    let conn = Connection::open(dir.path().join("index.sqlite")).unwrap();
    conn.execute_batch(
        "DROP TABLE grants; DROP TABLE grant_decisions; DROP TABLE size_samples; DROP TABLE mount_events;
         ALTER TABLE registry_state DROP COLUMN last_verified_at; PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);

    let cache = BundleCache::open(dir.path()).unwrap();

    assert_eq!(cache.registry_state("https://r.example/").unwrap(), Some(state));
}

#[test]
fn an_index_of_the_second_schema_is_migrated_to_grants_and_keeps_its_versions() {
    let (dir, cache) = fresh();
    install_simple(&cache, "a", "1.0.0");
    cache.set_active("a", "1.0.0").unwrap();
    cache.pin("a", "1.0.0").unwrap();
    drop(cache);
    // What a build before grants left behind.
    let conn = Connection::open(dir.path().join("index.sqlite")).unwrap();
    conn.execute_batch(
        "DROP TABLE grants; DROP TABLE grant_decisions; DROP TABLE size_samples; DROP TABLE mount_events;
         PRAGMA user_version = 2;",
    )
    .unwrap();
    drop(conn);

    let cache = BundleCache::open(dir.path()).unwrap();

    assert_eq!(cache.active("a").unwrap().as_deref(), Some("1.0.0"));
    assert_eq!(cache.pins().unwrap().len(), 1);
    assert_eq!(cache.grant_decision("a").unwrap(), None, "nobody was asked before grants existed");
    cache.set_grants("a", &["data:read".to_owned()].into()).unwrap();
    assert_eq!(cache.grants("a").unwrap().len(), 1);
    drop(cache);
    let conn = Connection::open(dir.path().join("index.sqlite")).unwrap();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 4);
}

#[test]
fn an_index_of_the_third_schema_gains_history_starting_with_its_current_size() {
    let (dir, cache) = fresh();
    install_simple(&cache, "a", "1.0.0");
    cache.set_active("a", "1.0.0").unwrap();
    cache.set_grants("a", &["data:read".to_owned()].into()).unwrap();
    drop(cache);
    // What a build before the dashboard's history left behind.
    let conn = Connection::open(dir.path().join("index.sqlite")).unwrap();
    conn.execute_batch("DROP TABLE size_samples; DROP TABLE mount_events; PRAGMA user_version = 3;").unwrap();
    drop(conn);

    let cache = BundleCache::open(dir.path()).unwrap();

    assert_eq!(cache.active("a").unwrap().as_deref(), Some("1.0.0"));
    assert_eq!(cache.grants("a").unwrap().len(), 1, "grants survive the upgrade");
    let history = cache.size_history().unwrap();
    let usage = cache.usage().unwrap();
    let sizes: Vec<_> = history.iter().map(|s| (s.bytes, s.blobs, s.versions)).collect();
    assert_eq!(sizes, [(usage.bytes, usage.blobs, usage.versions)], "one sample: the cache as the upgrade found it");
    assert!(cache.load_stats(0).unwrap().is_empty());
    cache.record_mount("a", "1.0.0", cache::MountOutcome::Mounted { mount_ms: Some(5.0) }).unwrap();
    assert_eq!(cache.load_stats(0).unwrap()[0].mounts, 1);
}
