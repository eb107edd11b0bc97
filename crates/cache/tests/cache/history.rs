use cache::{CacheSizeSample, MOUNT_EVENTS_KEPT, MountOutcome, SIZE_SAMPLES_KEPT};
use rusqlite::Connection;

use crate::{SHARED, fresh, install_simple};

fn sizes(samples: &[CacheSizeSample]) -> Vec<(u64, u64, u64)> {
    samples.iter().map(|s| (s.bytes, s.blobs, s.versions)).collect()
}

#[test]
fn every_install_and_gc_that_changes_the_cache_adds_a_size_sample() {
    let (_dir, cache) = fresh();
    install_simple(&cache, "a", "1.0.0");
    install_simple(&cache, "a", "1.1.0");
    cache.set_active("a", "1.1.0").unwrap();
    cache.gc(0).unwrap();
    cache.gc(0).unwrap(); // removes nothing: no new sample

    let own = |version: &str| format!("a@{version} entry").len() as u64;
    let shared = SHARED.len() as u64;
    assert_eq!(
        sizes(&cache.size_history().unwrap()),
        [
            (0, 0, 0),                                    // the new index
            (own("1.0.0") + shared, 2, 1),                // first install
            (own("1.0.0") + own("1.1.0") + shared, 3, 2), // the shared blob counts once
            (own("1.1.0") + shared, 2, 1),                // gc dropped 1.0.0
        ]
    );
    let history = cache.size_history().unwrap();
    assert!(history.windows(2).all(|w| w[0].at <= w[1].at), "oldest first");
}

#[test]
fn the_size_history_keeps_only_its_newest_samples() {
    let (dir, cache) = fresh();
    drop(cache);
    let conn = Connection::open(dir.path().join("index.sqlite")).unwrap();
    for i in 0..SIZE_SAMPLES_KEPT + 10 {
        conn.execute("INSERT INTO size_samples (sampled_at, bytes, blobs, versions) VALUES (?1, ?1, 1, 1)", [i])
            .unwrap();
    }
    drop(conn);
    let cache = cache::BundleCache::open(dir.path()).unwrap();

    install_simple(&cache, "a", "1.0.0");

    let history = cache.size_history().unwrap();
    assert_eq!(history.len() as i64, SIZE_SAMPLES_KEPT);
    assert_eq!(history.last().unwrap().versions, 1, "the newest sample is the install's");
    assert_eq!(history[0].at, 11, "the install's sample and the 999 newest before it are kept");
}

#[test]
fn load_stats_count_mounts_and_failures_per_remote() {
    let (_dir, cache) = fresh();
    cache.record_mount("beta", "1.0.0", MountOutcome::Mounted { mount_ms: Some(100.0) }).unwrap();
    cache.record_mount("beta", "1.0.0", MountOutcome::Mounted { mount_ms: Some(300.0) }).unwrap();
    cache.record_mount("beta", "1.0.0", MountOutcome::Mounted { mount_ms: Some(f64::NAN) }).unwrap();
    cache.record_mount("alpha", "2.0.0", MountOutcome::Failed { phase: "timeout" }).unwrap();
    cache.record_mount("alpha", "1.0.0", MountOutcome::Mounted { mount_ms: None }).unwrap();

    let stats = cache.load_stats(0).unwrap();

    let summary: Vec<_> = stats.iter().map(|s| (s.name.as_str(), s.mounts, s.failures, s.mean_mount_ms)).collect();
    assert_eq!(summary, [("alpha", 1, 1, None), ("beta", 3, 0, Some(200.0))], "a NaN time is not averaged in");
    assert!(stats[0].last_failure_at.is_some());
    assert_eq!(stats[1].last_failure_at, None);
    assert!(cache.load_stats(i64::MAX).unwrap().is_empty(), "nothing after the given time");
}

#[test]
fn a_mount_event_needs_a_name_a_version_and_a_phase() {
    let (_dir, cache) = fresh();
    assert!(cache.record_mount(" ", "1.0.0", MountOutcome::Mounted { mount_ms: None }).is_err());
    assert!(cache.record_mount("a", "", MountOutcome::Mounted { mount_ms: None }).is_err());
    assert!(cache.record_mount("a", "1.0.0", MountOutcome::Failed { phase: "" }).is_err());
    assert!(cache.load_stats(0).unwrap().is_empty());
}

#[test]
fn the_mount_log_keeps_only_its_newest_events() {
    let (dir, cache) = fresh();
    drop(cache);
    let conn = Connection::open(dir.path().join("index.sqlite")).unwrap();
    conn.execute(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
         INSERT INTO mount_events (name, version, at, mounted) SELECT 'old', '1.0.0', 1, 1 FROM n",
        [MOUNT_EVENTS_KEPT],
    )
    .unwrap();
    drop(conn);
    let cache = cache::BundleCache::open(dir.path()).unwrap();

    cache.record_mount("new", "1.0.0", MountOutcome::Failed { phase: "load" }).unwrap();

    let stats = cache.load_stats(0).unwrap();
    let counts: Vec<_> = stats.iter().map(|s| (s.name.as_str(), s.mounts + s.failures)).collect();
    assert_eq!(counts, [("new", 1), ("old", MOUNT_EVENTS_KEPT as u64 - 1)]);
}
