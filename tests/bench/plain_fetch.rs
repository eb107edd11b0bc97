//! `bench-core plain-fetch URL DIR`: the baseline client of the shaped-link
//! install bench (`xtask/src/bench_link.rs`). It downloads what a cold
//! `augment resolve` downloads, in the same order and with the same
//! concurrency, and does nothing else: `root.json` and `snapshot.json`
//! together, then every `remotes/<name>.json` the snapshot names, then the
//! files of each index's newest (last) version, 8 at a time, each written
//! to a file in DIR. No signature, hash, cache or flush. Prints the bytes
//! fetched.

use std::path::Path;

use anyhow::{Context as _, Result};
use futures_util::{StreamExt as _, TryStreamExt as _};

/// As many requests in flight as the client (`api`'s `PARALLEL_FETCHES`).
const IN_FLIGHT: usize = 8;

pub async fn run(url: &str, dir: &Path) -> Result<u64> {
    std::fs::create_dir_all(dir)?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    let get = |path: String| {
        let client = &client;
        async move {
            let bytes = client
                .get(format!("{url}{path}"))
                .send()
                .await?
                .error_for_status()
                .with_context(|| format!("GET {path}"))?
                .bytes()
                .await?;
            tokio::fs::write(dir.join(path.replace('/', "_")), &bytes).await?;
            Ok::<_, anyhow::Error>(bytes)
        }
    };
    let (root, snapshot_bytes) = tokio::try_join!(get("root.json".into()), get("snapshot.json".into()))?;
    let snapshot: serde_json::Value = serde_json::from_slice(&snapshot_bytes)?;
    let names: Vec<String> =
        snapshot["signed"]["remotes"].as_object().context("snapshot.json names no remotes")?.keys().cloned().collect();
    let indexes: Vec<_> = futures_util::stream::iter(names)
        .map(|name| get(format!("remotes/{name}.json")))
        .buffer_unordered(IN_FLIGHT)
        .try_collect()
        .await?;
    let mut blobs = Vec::new();
    for index in &indexes {
        let index: serde_json::Value = serde_json::from_slice(index)?;
        let files = index["versions"].as_array().and_then(|versions| versions.last()).map(|v| &v["files"]);
        for file in files.and_then(|files| files.as_array()).context("an index without versions")? {
            blobs.push(format!("blobs/sha256/{}", file["sha256"].as_str().context("a file without sha256")?));
        }
    }
    let fetched: Vec<_> = futures_util::stream::iter(blobs).map(get).buffer_unordered(IN_FLIGHT).try_collect().await?;
    let total = [root.len(), snapshot_bytes.len()]
        .into_iter()
        .chain(indexes.iter().map(|b| b.len()))
        .chain(fetched.iter().map(|b| b.len()))
        .sum::<usize>();
    Ok(total as u64)
}
