//! Benchmarks of the headless core (`cargo xtask bench`): each measurement is
//! reported with a baseline measured in the same run, as a ratio, because
//! this machine is shared and absolute times drift.
//!
//! Prints a markdown section on standard output.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::{StreamExt as _, TryStreamExt as _};

const REMOTES: usize = 10;
const REMOTE_BYTES: usize = 1024 * 1024;
const COLD_ROUNDS: usize = 9;

/// Whether the plain download also hashes what it fetched.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hash {
    No,
    Sha256,
}

#[tokio::main]
async fn main() -> Result<()> {
    let work = tempfile::tempdir()?;
    let key = registry::SigningKey::generate();
    let registry_dir = work.path().join("registry");
    registry::init(&registry_dir, &key, &key, registry::Expiry::default())?;
    for i in 0..REMOTES {
        let remote = write_remote(work.path(), i)?;
        registry::publish(&registry_dir, &remote, &key, &registry::PublishOptions::default())?;
    }
    let server = test_support::RegistryServer::start(&registry_dir).await?;
    let url = server.url();
    let trust = key.public_key().to_hex();
    let blobs = blob_list(&registry_dir)?;

    let mut out = String::from("## Headless core (`tests/bench/core.rs`)\n\n");
    out.push_str(&format!(
        "{REMOTES} remotes × 1 MiB served over loopback HTTP by the test registry server; medians.\n\n"
    ));
    out.push_str("| measurement | ours | baseline (same run) | ratio | goal |\n|---|---|---|---|---|\n");

    // Cold resolve + install vs a plain parallel download of the same bytes
    // to files, and vs the same download hashing each blob.
    let mut cold = Vec::new();
    let mut plain = Vec::new();
    let mut hashed = Vec::new();
    let mut last_cache = None;
    for round in 0..COLD_ROUNDS {
        let cache_dir = work.path().join(format!("cache-{round}"));
        flush_file_system(work.path())?;
        let started = Instant::now();
        let cache = cache::BundleCache::open(&cache_dir)?;
        let report = api::resolve(&cache, &request(&url, &trust), &api::NoProgress).await?;
        cold.push(started.elapsed());
        anyhow::ensure!(report.remotes.len() == REMOTES, "expected {REMOTES} remotes: {report:?}");
        last_cache = Some(cache);

        let target = work.path().join(format!("plain-{round}"));
        flush_file_system(work.path())?;
        let started = Instant::now();
        plain_download(&url, &blobs, &target, Hash::No).await?;
        plain.push(started.elapsed());

        let target = work.path().join(format!("hashed-{round}"));
        flush_file_system(work.path())?;
        let started = Instant::now();
        plain_download(&url, &blobs, &target, Hash::Sha256).await?;
        hashed.push(started.elapsed());
    }
    row(
        &mut out,
        "cold resolve + install",
        median(&cold),
        "plain download of the same blobs",
        median(&plain),
        "≤ 1.2×",
    );
    // What verifying every byte costs on its own on this machine, and what
    // the install costs beyond that (signatures, indexes, SQLite, syncfs).
    row(
        &mut out,
        "plain download + SHA-256 of each blob, nothing else",
        median(&hashed),
        "plain download of the same blobs",
        median(&plain),
        "(the floor for any install that verifies)",
    );
    row(
        &mut out,
        "cold resolve + install",
        median(&cold),
        "plain download + SHA-256 of each blob",
        median(&hashed),
        "(the install beyond hashing)",
    );

    // Update check with nothing changed vs the bare two conditional requests it needs.
    let cache = last_cache.context("no cache")?;
    let (mut check, mut bare) = (Vec::new(), Vec::new());
    let etags = current_etags(&url).await?;
    for _ in 0..30 {
        let started = Instant::now();
        api::resolve(&cache, &request(&url, &trust), &api::NoProgress).await?;
        check.push(started.elapsed());
        let started = Instant::now();
        conditional_requests(&url, &etags).await?;
        bare.push(started.elapsed());
    }
    row(&mut out, "update check, nothing changed", median(&check), "2 bare conditional GETs", median(&bare), "≤ 50 ms");

    // Offline resolve vs just opening the cache and listing its versions.
    let (mut offline, mut listing) = (Vec::new(), Vec::new());
    let cache_dir = cache.dir().to_path_buf();
    drop(cache);
    for _ in 0..30 {
        let started = Instant::now();
        let cache = cache::BundleCache::open(&cache_dir)?;
        let mut req = request(&url, &trust);
        req.offline = true;
        api::resolve(&cache, &req, &api::NoProgress).await?;
        offline.push(started.elapsed());
        let started = Instant::now();
        let cache = cache::BundleCache::open(&cache_dir)?;
        cache.versions()?;
        listing.push(started.elapsed());
    }
    row(
        &mut out,
        "offline resolve of 10 cached remotes",
        median(&offline),
        "open cache + list versions",
        median(&listing),
        "≤ 20 ms",
    );

    // cache verify vs sha256sum over the same blob files (throughput: higher is better).
    let cache = cache::BundleCache::open(&cache_dir)?;
    let files: Vec<PathBuf> = walk(&cache_dir.join("blobs"));
    let (mut verify, mut sha256sum) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let started = Instant::now();
        let report = cache.verify()?;
        anyhow::ensure!(report.is_clean(), "verify found problems: {report:?}");
        verify.push(started.elapsed());
        let started = Instant::now();
        let status =
            std::process::Command::new("sha256sum").args(&files).stdout(std::process::Stdio::null()).status()?;
        anyhow::ensure!(status.success(), "sha256sum failed");
        sha256sum.push(started.elapsed());
    }
    let bytes: u64 = files.iter().map(|f| f.metadata().map(|m| m.len()).unwrap_or(0)).sum();
    let (ours, base) = (median(&verify), median(&sha256sum));
    out.push_str(&format!(
        "| `cache verify` throughput ({:.1} MiB) | {:.0} MiB/s | `sha256sum`: {:.0} MiB/s | {:.2}× | ≥ 0.8× |\n",
        bytes as f64 / 1048576.0,
        mib_per_s(bytes, ours),
        mib_per_s(bytes, base),
        base.as_secs_f64() / ours.as_secs_f64(),
    ));
    print!("{out}");
    Ok(())
}

/// Writes out every pending write on the file system holding `dir`, untimed,
/// before each timed side of the cold-install comparison. The install's one
/// flush (`syncfs`) covers the whole file system, so without this it would
/// also pay for writing out the previous round's plain download and anything
/// else left dirty; this way each side pays for its own writes only.
fn flush_file_system(dir: &Path) -> Result<()> {
    let status = std::process::Command::new("sync").arg("--file-system").arg(dir).status().context("running sync")?;
    anyhow::ensure!(status.success(), "sync --file-system failed");
    Ok(())
}

fn request(url: &str, trust: &str) -> api::ResolveRequest {
    let mut request = api::ResolveRequest::new(Some(url.to_owned()), manifest::HostProfile::builtin());
    request.trust = Some(trust.to_owned());
    request
}

fn row(out: &mut String, what: &str, ours: Duration, baseline: &str, base: Duration, goal: &str) {
    out.push_str(&format!(
        "| {what} | {:.1} ms | {baseline}: {:.1} ms | {:.2}× | {goal} |\n",
        ours.as_secs_f64() * 1e3,
        base.as_secs_f64() * 1e3,
        ours.as_secs_f64() / base.as_secs_f64(),
    ));
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn mib_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / 1048576.0 / took.as_secs_f64()
}

fn write_remote(parent: &Path, i: usize) -> Result<PathBuf> {
    let dir = parent.join(format!("remote-{i}"));
    std::fs::create_dir_all(&dir)?;
    let manifest = serde_json::json!({
        "name": format!("remote-{i}"), "version": "1.0.0", "entry": "remoteEntry.js",
        "hostApi": "^1.0.0", "shared": { "react": "^19.0.0" },
    });
    std::fs::write(dir.join("remote.json"), serde_json::to_vec(&manifest)?)?;
    // Distinct content per remote so nothing is deduplicated.
    let mut bytes = vec![0u8; REMOTE_BYTES];
    for (j, b) in bytes.iter_mut().enumerate() {
        *b = (j.wrapping_mul(31).wrapping_add(i * 7919) % 251) as u8;
    }
    std::fs::write(dir.join("remoteEntry.js"), bytes)?;
    Ok(dir)
}

/// Every blob path of the registry tree.
fn blob_list(registry_dir: &Path) -> Result<Vec<String>> {
    let mut blobs = Vec::new();
    for entry in std::fs::read_dir(registry_dir.join("blobs/sha256"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        blobs.push(format!("blobs/sha256/{name}"));
    }
    Ok(blobs)
}

async fn plain_download(url: &str, paths: &[String], target: &Path, hash: Hash) -> Result<()> {
    std::fs::create_dir_all(target)?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    futures_util::stream::iter(paths)
        .map(|path| {
            let client = &client;
            async move {
                let bytes = client.get(format!("{url}{path}")).send().await?.error_for_status()?.bytes().await?;
                if hash == Hash::Sha256 {
                    let expected = path.rsplit('/').next().unwrap_or_default();
                    anyhow::ensure!(registry::sha256_hex(&bytes) == expected, "{path} does not match its hash");
                }
                let file = target.join(path.replace('/', "_"));
                tokio::fs::write(file, bytes).await?;
                Ok::<_, anyhow::Error>(())
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

async fn current_etags(url: &str) -> Result<Vec<(String, String)>> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let mut etags = Vec::new();
    for path in ["root.json", "snapshot.json"] {
        let response = client.get(format!("{url}{path}")).send().await?;
        let etag = response.headers().get("etag").context("no etag")?.to_str()?.to_owned();
        etags.push((path.to_owned(), etag));
    }
    Ok(etags)
}

/// What an update check must do at least: a fresh client, two conditional GETs.
async fn conditional_requests(url: &str, etags: &[(String, String)]) -> Result<()> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    for (path, etag) in etags {
        let response = client.get(format!("{url}{path}")).header("if-none-match", etag).send().await?;
        anyhow::ensure!(response.status() == 304, "expected 304 for {path}");
    }
    Ok(())
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}
