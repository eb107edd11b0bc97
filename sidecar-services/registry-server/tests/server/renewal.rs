//! The server re-signs the snapshot before it expires, without a publish,
//! and replicas sharing one store renew it once between them.

use std::time::Duration;

use crate::support::{DEADLINE, Fixture, Server, client};

/// Replaces the fixture's snapshot with one (version + 1) valid for `valid`.
fn resign(fixture: &Fixture, valid: Duration) {
    let key = registry::SigningKey::read_pem_file(&fixture.key_file()).unwrap();
    registry::resign_snapshot(&fixture.registry(), &key, valid).unwrap();
}

/// Waits until the stored snapshot satisfies `done`.
async fn wait_for(fixture: &Fixture, done: impl Fn(&registry::Snapshot) -> bool) -> registry::Snapshot {
    let deadline = std::time::Instant::now() + DEADLINE;
    loop {
        let snapshot = fixture.snapshot();
        if done(&snapshot) {
            return snapshot;
        }
        assert!(std::time::Instant::now() < deadline, "the snapshot never changed as expected: {snapshot:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `renew` counters of a server's /metrics: (ok, error).
async fn renewals(server: &Server) -> (u64, u64) {
    let metrics = client().get(format!("{}/metrics", server.url)).send().await.unwrap().text().await.unwrap();
    let count = |outcome: &str| {
        let wanted = format!("registry_server_operations_total{{operation=\"renew\",outcome=\"{outcome}\"}} ");
        metrics.lines().find_map(|line| line.strip_prefix(&wanted)).map_or(0, |n| n.trim().parse().unwrap())
    };
    (count("ok"), count("error"))
}

/// Short lifetimes and a fast check, so a test sees renewal in a second.
const FAST: [(&str, &str); 3] = [
    ("REGISTRY_SNAPSHOT_EXPIRES_SECS", "3600"),
    ("REGISTRY_SNAPSHOT_RENEW_WITHIN_SECS", "600"),
    ("REGISTRY_SNAPSHOT_CHECK_MS", "50"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_snapshot_is_renewed_once_by_two_replicas_without_a_publish() {
    let fixture = Fixture::new();
    resign(&fixture, Duration::ZERO);
    let expired = fixture.snapshot();
    assert_eq!(expired.version, 2);
    assert!(expired.is_expired(jiff::Timestamp::now()), "the starting point is a stale registry");

    let servers = [
        Server::start(&fixture.registry(), &fixture.key_file(), &FAST),
        Server::start(&fixture.registry(), &fixture.key_file(), &FAST),
    ];
    let renewed = wait_for(&fixture, |snapshot| snapshot.version > 2).await;
    assert_eq!(renewed.version, 3, "one successor, not one per replica");
    assert_eq!(renewed.remotes, expired.remotes, "the same contents");
    let left = renewed.expires.as_second() - jiff::Timestamp::now().as_second();
    assert!((3500..=3600).contains(&left), "valid for REGISTRY_SNAPSHOT_EXPIRES_SECS again, {left} s left");

    // Many more checks later, nobody re-signed the fresh snapshot again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fixture.snapshot().version, 3, "a fresh snapshot is left alone");
    let mut total = (0, 0);
    for server in &servers {
        let (ok, error) = renewals(server).await;
        total = (total.0 + ok, total.1 + error);
        // Each replica serves the renewed snapshot (its document cache was dropped or reloaded).
        let served = client().get(format!("{}/snapshot.json", server.url)).send().await.unwrap();
        let envelope: serde_json::Value = served.json().await.unwrap();
        assert_eq!(envelope["signed"]["version"], 3);
    }
    assert_eq!(total, (1, 0), "exactly one replica signed; the other lost the write and found it fresh");
}

#[tokio::test]
async fn a_snapshot_inside_the_window_is_renewed_and_one_outside_is_not() {
    let fixture = Fixture::new();
    // Valid for 20 more minutes: outside a 10-minute window, inside a 30-minute one.
    resign(&fixture, Duration::from_secs(1200));
    let server = Server::start(&fixture.registry(), &fixture.key_file(), &FAST);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(fixture.snapshot().version, 2, "20 minutes left is outside the 10-minute window");
    assert_eq!(renewals(&server).await, (0, 0));
    drop(server);

    let wide = [
        ("REGISTRY_SNAPSHOT_EXPIRES_SECS", "3600"),
        ("REGISTRY_SNAPSHOT_RENEW_WITHIN_SECS", "1800"),
        ("REGISTRY_SNAPSHOT_CHECK_MS", "50"),
    ];
    let server = Server::start(&fixture.registry(), &fixture.key_file(), &wide);
    let renewed = wait_for(&fixture, |snapshot| snapshot.version > 2).await;
    assert_eq!(renewed.version, 3);
    assert_eq!(renewals(&server).await, (1, 0));
}

#[test]
fn a_window_as_long_as_the_validity_is_refused_at_start() {
    let fixture = Fixture::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_registry-server"))
        .args(["--listen", "127.0.0.1:0", "--dir"])
        .arg(fixture.registry())
        .arg("--signing-key-file")
        .arg(fixture.key_file())
        .env("REGISTRY_SNAPSHOT_EXPIRES_SECS", "600")
        .env("REGISTRY_SNAPSHOT_RENEW_WITHIN_SECS", "600")
        .env_remove("REGISTRY_SIGNING_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("must be shorter than"), "{stderr}");
}
