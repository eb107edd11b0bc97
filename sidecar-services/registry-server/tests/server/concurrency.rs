//! Two server processes sharing one storage folder, eight publishers at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::{Fixture, client, publish};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_publishers_two_replicas_lose_nothing() {
    let fixture = Fixture::new();
    let token = fixture.token(&["*"]).await;
    let servers = [fixture.server(), fixture.server()];
    let mut jobs = Vec::new();
    for (i, name) in ["alpha", "beta", "gamma", "delta"].into_iter().enumerate() {
        jobs.push((name.to_owned(), "1.0.0".to_owned(), i % 2));
    }
    for minor in 0..4 {
        jobs.push(("shared".to_owned(), format!("1.{minor}.0"), minor % 2));
    }
    let dirs: Vec<_> = jobs
        .iter()
        .map(|(name, version, _)| {
            fixture.remote(name, version, &[("assets/chunk.js", format!("{name}{version}").repeat(500).as_bytes())])
        })
        .collect();

    // A client polling snapshot.json throughout must never see it go back.
    let root =
        match registry::TrustAnchor::from_root_json(&std::fs::read(fixture.registry().join("root.json")).unwrap())
            .unwrap()
        {
            registry::TrustAnchor::Root(root) => root,
            registry::TrustAnchor::Key(_) => unreachable!(),
        };
    let done = Arc::new(AtomicBool::new(false));
    let poll_url = format!("{}/snapshot.json", servers[1].url);
    let poller = {
        let done = done.clone();
        tokio::spawn(async move {
            let http = client();
            let mut seen = Vec::new();
            while !done.load(Ordering::SeqCst) {
                let bytes = http.get(&poll_url).send().await.unwrap().bytes().await.unwrap();
                let highest = seen.last().copied();
                let snapshot = registry::verify_snapshot(
                    &root,
                    &bytes,
                    highest,
                    jiff::Timestamp::now(),
                    &registry::Limits::default(),
                )
                .expect("every snapshot served is signed and never older than one seen before");
                seen.push(snapshot.snapshot().version);
            }
            seen
        })
    };

    let publishes =
        jobs.iter().zip(&dirs).map(|((_, _, server), dir)| publish(&servers[*server].url, Some(&token), dir));
    let responses = futures_util::future::join_all(publishes).await;
    done.store(true, Ordering::SeqCst);
    let seen = poller.await.unwrap();

    let mut committed = Vec::new();
    for ((name, version, _), response) in jobs.iter().zip(responses) {
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{name} {version}: {body}");
        committed.push(body["snapshotVersion"].as_u64().unwrap());
    }
    let snapshot = fixture.snapshot();
    assert!(
        committed.iter().all(|v| *v >= 2 && *v <= snapshot.version),
        "{committed:?} within 2..={}",
        snapshot.version
    );
    assert!(snapshot.version <= 9, "at most one snapshot per publish, got {}", snapshot.version);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "snapshot versions only go up: {seen:?}");

    for (name, version, _) in &jobs {
        let index = fixture.index(name).unwrap_or_else(|| panic!("{name} is pinned by the snapshot"));
        let entry = index
            .version(&version.parse().unwrap())
            .unwrap_or_else(|| panic!("{name} {version} survived the concurrent publishes"));
        for file in &entry.files {
            let blob = std::fs::read(fixture.registry().join(registry::blob_path(&file.sha256))).unwrap();
            registry::verify_blob(&file.sha256, file.length, &blob).unwrap();
        }
    }
    assert_eq!(fixture.index("shared").unwrap().versions.len(), 4);
}
