//! A server SIGKILLed in the middle of a publish leaves no half-visible
//! version, and the next publish succeeds.

use crate::support::{Fixture, Server, publish};

async fn kill_at(step: &str) -> Fixture {
    let fixture = Fixture::new();
    let token = fixture.token(&["alpha"]).await;
    let remote = fixture.remote("alpha", "1.0.0", &[("assets/big.js", &vec![7u8; 200_000])]);
    let mut server = Server::start(&fixture.registry(), &fixture.key_file(), &[("REGISTRY_SERVER_PAUSE_AT", step)]);
    let url = server.url.clone();
    let request = tokio::spawn(async move { publish(&url, Some(&token), &remote).await });
    server.wait_for_line(&format!("registry-server paused {step}"));
    server.kill(); // SIGKILL
    // The publish call panics on the dropped connection: no answer at all.
    assert!(request.await.is_err(), "the killed server never answered the publish");

    // Nothing is visible: the snapshot is the one from before.
    let snapshot = fixture.snapshot();
    assert_eq!(snapshot.version, 1, "no snapshot was signed");
    assert!(!snapshot.remotes.contains_key("alpha"), "the interrupted version is not visible");
    fixture
}

async fn next_publishes_succeed(fixture: &Fixture) {
    let token = fixture.token(&["alpha"]).await;
    let server = fixture.server();
    // The interrupted version itself, then a new one.
    let again = publish(&server.url, Some(&token), &fixture.dir.path().join("remotes-src/alpha-1.0.0")).await;
    assert_eq!(again.status(), 201, "{}", again.text().await.unwrap());
    let next = publish(&server.url, Some(&token), &fixture.remote("alpha", "1.1.0", &[])).await;
    assert_eq!(next.status(), 201);
    let index = fixture.index("alpha").unwrap();
    let versions: Vec<String> = index.versions.iter().map(|v| v.manifest.version.to_string()).collect();
    assert_eq!(versions, ["1.0.0", "1.1.0"]);
    for entry in &index.versions {
        for file in &entry.files {
            let blob = std::fs::read(fixture.registry().join(registry::blob_path(&file.sha256))).unwrap();
            registry::verify_blob(&file.sha256, file.length, &blob).expect("every visible version is complete");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_blobs() {
    let fixture = kill_at("after-blobs").await;
    assert!(!fixture.registry().join("remotes/alpha.json").exists(), "no index was written");
    next_publishes_succeed(&fixture).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_index_before_snapshot() {
    let fixture = kill_at("after-index").await;
    assert!(fixture.registry().join("remotes/alpha.json").exists(), "the index was written but is not pinned");
    // A client refuses the unpinned index rather than seeing the version.
    let snapshot = fixture.snapshot();
    assert!(!snapshot.remotes.contains_key("alpha"));
    next_publishes_succeed(&fixture).await;
}
