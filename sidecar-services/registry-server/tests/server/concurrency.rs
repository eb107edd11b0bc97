//! Two server processes sharing one registry, eight publishers at once: on
//! a storage folder here, on one S3 bucket in `s3.rs` (the same scenario).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest as _, Sha256};

use crate::support::{Fixture, client, publish};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_publishers_two_replicas_lose_nothing() {
    eight_publishers_two_replicas(&Fixture::new()).await;
}

/// Eight publishes at once (four remotes, and four versions of one more),
/// split over two replicas of `fixture`'s registry, while a client polls
/// snapshot.json: every publish commits its own snapshot version, nothing is
/// lost, and the client only ever sees the version go up, each version
/// naming one snapshot.
pub async fn eight_publishers_two_replicas(fixture: &Fixture) {
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

    // A client polling snapshot.json throughout must never see it go back,
    // nor two different snapshots under one version (a fork: two replicas
    // each committing "the next" snapshot over the other).
    let root = fixture.stored_root().await;
    let done = Arc::new(AtomicBool::new(false));
    let poll_url = format!("{}/snapshot.json", servers[1].url);
    let poller = {
        let done = done.clone();
        tokio::spawn(async move {
            let http = client();
            let mut seen: Vec<(u64, String)> = Vec::new();
            while !done.load(Ordering::SeqCst) {
                let bytes = http.get(&poll_url).send().await.unwrap().bytes().await.unwrap();
                let highest = seen.last().map(|(version, _)| *version);
                let snapshot = registry::verify_snapshot(
                    &root,
                    &bytes,
                    highest,
                    jiff::Timestamp::now(),
                    &registry::Limits::default(),
                )
                .expect("every snapshot served is signed and never older than one seen before");
                let digest = hex::encode(Sha256::digest(&bytes));
                if seen.last().is_none_or(|(_, last)| *last != digest) {
                    seen.push((snapshot.snapshot().version, digest));
                }
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
    committed.sort_unstable();
    assert_eq!(committed, (2..=9).collect::<Vec<u64>>(), "each publish committed its own snapshot version");
    let snapshot = fixture.stored_snapshot().await;
    assert_eq!(snapshot.version, 9, "one snapshot per publish, on top of the initial one");
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "each new snapshot the client saw had a higher version: {:?}",
        seen.iter().map(|(version, _)| version).collect::<Vec<_>>()
    );

    for (name, version, _) in &jobs {
        let index = fixture.stored_index(name).await.unwrap_or_else(|| panic!("{name} is pinned by the snapshot"));
        let entry = index
            .version(&version.parse().unwrap())
            .unwrap_or_else(|| panic!("{name} {version} survived the concurrent publishes"));
        for file in &entry.files {
            let blob = fixture.object(&registry::blob_path(&file.sha256)).await.expect("every pinned blob is stored");
            registry::verify_blob(&file.sha256, file.length, &blob).unwrap();
        }
    }
    assert_eq!(fixture.stored_index("shared").await.unwrap().versions.len(), 4);
}
