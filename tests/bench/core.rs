//! Benchmarks of the headless core (`cargo xtask bench`): each measurement is
//! reported with a baseline measured in the same run, as a ratio, because
//! this machine is shared and absolute times drift.
//!
//! Prints a markdown section on standard output. `bench-core update-check`
//! runs only the update-check rows; `bench-core plain-fetch URL DIR` is the
//! baseline client of the shaped-link bench (`plain_fetch.rs`) and
//! `bench-core delay-link …` its link delay where the kernel has no `netem`
//! (`delay_link.rs`).

mod delay_link;
mod plain_fetch;
mod rtt_proxy;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::{StreamExt as _, TryStreamExt as _};
use sha2::Digest as _;

const REMOTES: usize = 10;
const REMOTE_BYTES: usize = 1024 * 1024;
const COLD_ROUNDS: usize = 9;
/// How long the round-trip proxy holds every answer: one emulated round trip.
const RTT: Duration = Duration::from_millis(20);
const RTT_ROUNDS: usize = 20;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only_update_check = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["plain-fetch", url, dir] => {
            let bytes = plain_fetch::run(url, Path::new(dir)).await?;
            println!("{bytes}");
            return Ok(());
        }
        ["delay-link", listen, upstream, one_way_ms] => {
            let one_way = Duration::from_millis(one_way_ms.parse()?);
            return delay_link::serve(listen.parse()?, upstream.parse()?, one_way).await;
        }
        [] => false,
        ["update-check"] => true,
        _ => anyhow::bail!(
            "usage: bench-core [update-check | plain-fetch URL DIR | delay-link LISTEN UPSTREAM ONE_WAY_MS]"
        ),
    };
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

    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let mut out = String::from("## Headless core (`tests/bench/core.rs`)\n\n");
    out.push_str(&format!(
        "{REMOTES} remotes × 1 MiB served over loopback HTTP by the test registry server; medians.\n\n"
    ));
    out.push_str("| measurement | ours | baseline (same run) | ratio | goal |\n|---|---|---|---|---|\n");

    if only_update_check {
        let cache = cache::BundleCache::open(&work.path().join("cache-update"))?;
        api::resolve(&cache, &request(&url, &trust), &api::NoProgress).await?;
        update_check_rows(&mut out, &cache, &server, &url, &trust, work.path()).await?;
        print!("{out}");
        return Ok(());
    }

    // Cold resolve + install vs a plain parallel download of the same bytes
    // to files, and vs the same download verifying each blob as it streams.
    let mut cold = Vec::new();
    let mut plain = Vec::new();
    let mut hashed = Vec::new();
    let mut durable = Vec::new();
    // How long the untimed flushes took: before each install (what other
    // writers on this file system left dirty in one round) and right after
    // each streaming download (its 10 MiB, plus the same).
    let (mut before_install, mut after_download) = (Vec::new(), Vec::new());
    let mut last_cache = None;
    // CPU time and run-queue wait of this process's threads (the in-process
    // server included) during each timed side: where the time went.
    let mut cpu = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..COLD_ROUNDS {
        let cache_dir = work.path().join(format!("cache-{round}"));
        before_install.push(flush_file_system(work.path())?);
        let (started, sched) = (Instant::now(), Sched::now());
        let cache = cache::BundleCache::open(&cache_dir)?;
        let report = api::resolve(&cache, &request(&url, &trust), &api::NoProgress).await?;
        cold.push(started.elapsed());
        cpu[0].push(Sched::now().since(sched));
        anyhow::ensure!(report.remotes.len() == REMOTES, "expected {REMOTES} remotes: {report:?}");
        last_cache = Some(cache);

        let target = work.path().join(format!("plain-{round}"));
        flush_file_system(work.path())?;
        let (started, sched) = (Instant::now(), Sched::now());
        plain_download(&url, &blobs, &target).await?;
        plain.push(started.elapsed());
        cpu[1].push(Sched::now().since(sched));

        let target = work.path().join(format!("hashed-{round}"));
        flush_file_system(work.path())?;
        let (started, sched) = (Instant::now(), Sched::now());
        streaming_verified_download(&url, &blobs, &target, Durable::No).await?;
        hashed.push(started.elapsed());
        cpu[2].push(Sched::now().since(sched));

        let target = work.path().join(format!("durable-{round}"));
        after_download.push(flush_file_system(work.path())?);
        let started = Instant::now();
        streaming_verified_download(&url, &blobs, &target, Durable::Fsync).await?;
        durable.push(started.elapsed());
    }
    let [cpu_cold, cpu_plain, cpu_hashed] = cpu.map(|samples| Sched::median(&samples));
    let durable = median(&durable);
    let (cold, plain, hashed) = (median(&cold), median(&plain), median(&hashed));
    let over_raw = ratio(cold, plain);
    row(
        &mut out,
        "cold resolve + install",
        cold,
        "plain download of the same blobs",
        plain,
        &if over_raw <= 1.2 {
            "≤ 1.2× (met)".to_owned()
        } else {
            "≤ 1.2× (**not met**: what verifying, flushing and the rest each add is in the next rows and the note below)"
                .to_owned()
        },
    );
    // What verifying every byte costs on its own on this machine, and what
    // the install costs beyond that (signatures, indexes, SQLite, flushes).
    row(
        &mut out,
        "streaming verifying download: SHA-256 of each chunk as it arrives, written as it arrives, nothing else",
        hashed,
        "plain download of the same blobs",
        plain,
        "(the floor for any install that verifies)",
    );
    row(
        &mut out,
        "cold resolve + install",
        cold,
        "streaming verifying download",
        hashed,
        &format!("≤ 1.1× ({})", verdict(ratio(cold, hashed) <= 1.1)),
    );
    // Installs keep their blobs across a power cut; the same download made
    // durable (each blob file fsynced once written) shows what that costs.
    row(
        &mut out,
        "the same, each blob file then fsynced (a durable verifying download)",
        durable,
        "streaming verifying download",
        hashed,
        "(what durability adds)",
    );
    row(
        &mut out,
        "cold resolve + install",
        cold,
        "durable verifying download",
        durable,
        "(the install beyond hashing and flushing)",
    );

    let cache = last_cache.context("no cache")?;
    let cold_notes = format!(
        "\nCold install, where the time went (medians over the {COLD_ROUNDS} rounds; all threads of the bench \
         process, the in-process server included): CPU time install {:.1} ms, streaming verifying download {:.1} ms, \
         plain download {:.1} ms; time spent runnable but waiting for a core: {:.1} ms, {:.1} ms, {:.1} ms. Load \
         average at the start: {}. The install flushes each blob it wrote and the directories naming them; the \
         untimed `sync --file-system` before each install (other processes' writes) took {} ms (median; max {} \
         ms), right after each streaming download {} ms (max {} ms).\n",
        cpu_cold.cpu_ms,
        cpu_hashed.cpu_ms,
        cpu_plain.cpu_ms,
        cpu_cold.wait_ms,
        cpu_hashed.wait_ms,
        cpu_plain.wait_ms,
        load,
        fmt_ms(median(&before_install)),
        fmt_ms(before_install.iter().max().copied().unwrap_or_default()),
        fmt_ms(median(&after_download)),
        fmt_ms(after_download.iter().max().copied().unwrap_or_default()),
    );
    update_check_rows(&mut out, &cache, &server, &url, &trust, work.path()).await?;

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
    let offline = median(&offline);
    row(
        &mut out,
        "offline resolve of 10 cached remotes",
        offline,
        "open cache + list versions",
        median(&listing),
        &format!("≤ 20 ms ({})", verdict(offline <= Duration::from_millis(20))),
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
        "| `cache verify` throughput ({:.1} MiB) | {:.0} MiB/s | `sha256sum`: {:.0} MiB/s | {:.2}× | ≥ 0.8× ({}) |\n",
        bytes as f64 / 1048576.0,
        mib_per_s(bytes, ours),
        mib_per_s(bytes, base),
        ratio(base, ours),
        verdict(ratio(base, ours) >= 0.8),
    ));
    out.push_str(&cold_notes);
    print!("{out}");
    Ok(())
}

/// Writes out every pending write on the file system holding `dir`, untimed,
/// before each timed side of the cold-install comparison, so that neither
/// side's flushes (the install's, the durable download's) also write out
/// the previous round's files or anything else left dirty: each side pays
/// for its own writes only.
fn flush_file_system(dir: &Path) -> Result<Duration> {
    let started = Instant::now();
    let status = std::process::Command::new("sync").arg("--file-system").arg(dir).status().context("running sync")?;
    anyhow::ensure!(status.success(), "sync --file-system failed");
    Ok(started.elapsed())
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
        ratio(ours, base),
    ));
}

/// On-CPU and run-queue time summed over this process's live threads
/// (`/proc/self/task/*/schedstat`, nanoseconds).
#[derive(Clone, Copy, Default)]
struct Sched {
    cpu_ns: u64,
    wait_ns: u64,
}

/// A difference of two [`Sched`] readings, in milliseconds.
#[derive(Clone, Copy, Default)]
struct SchedMs {
    cpu_ms: f64,
    wait_ms: f64,
}

impl Sched {
    fn now() -> Self {
        let mut total = Self::default();
        for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
            let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else { continue };
            let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().unwrap_or(0));
            total.cpu_ns += fields.next().unwrap_or(0);
            total.wait_ns += fields.next().unwrap_or(0);
        }
        total
    }

    fn since(self, before: Self) -> SchedMs {
        SchedMs {
            cpu_ms: self.cpu_ns.saturating_sub(before.cpu_ns) as f64 / 1e6,
            wait_ms: self.wait_ns.saturating_sub(before.wait_ns) as f64 / 1e6,
        }
    }

    fn median(samples: &[SchedMs]) -> SchedMs {
        let pick = |f: fn(&SchedMs) -> f64| {
            let mut values: Vec<f64> = samples.iter().map(f).collect();
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied().unwrap_or(0.0)
        };
        SchedMs { cpu_ms: pick(|s| s.cpu_ms), wait_ms: pick(|s| s.wait_ms) }
    }
}

fn fmt_ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn ratio(ours: Duration, base: Duration) -> f64 {
    ours.as_secs_f64() / base.as_secs_f64()
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}

/// The update check against an unchanged registry: timed on loopback
/// against the two bare conditional GETs it needs, and through a proxy
/// that delays every answer by [`RTT`] against one conditional GET of
/// `snapshot.json` through the same proxy, counting its requests and round
/// trips from the proxy's timestamps of request arrival and answer.
async fn update_check_rows(
    out: &mut String,
    cache: &cache::BundleCache,
    server: &test_support::RegistryServer,
    url: &str,
    trust: &str,
    work: &Path,
) -> Result<()> {
    let (mut check, mut bare) = (Vec::new(), Vec::new());
    let etags = current_etags(url).await?;
    for _ in 0..30 {
        let started = Instant::now();
        api::resolve(cache, &request(url, trust), &api::NoProgress).await?;
        check.push(started.elapsed());
        let started = Instant::now();
        conditional_requests(url, &etags).await?;
        bare.push(started.elapsed());
    }
    let check = median(&check);
    row(
        out,
        "update check, nothing changed",
        check,
        "2 bare conditional GETs",
        median(&bare),
        &format!("≤ 50 ms ({})", verdict(check <= Duration::from_millis(50))),
    );

    let proxy = rtt_proxy::RttProxy::start(server.addr(), RTT).await?;
    let proxied = proxy.url();
    // Through the proxy the registry has another URL, so another cache
    // entry: one untimed install first, then every check finds nothing new.
    let cache = cache::BundleCache::open(&work.join("cache-rtt"))?;
    api::resolve(&cache, &request(&proxied, trust), &api::NoProgress).await?;
    let snapshot_etag = etags.iter().find(|(path, _)| path == "snapshot.json").context("no snapshot etag")?;
    let (mut check, mut single, mut trips, mut leads) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut answered, mut seen_by_proxy) = (Vec::new(), Vec::new());
    for _ in 0..RTT_ROUNDS {
        proxy.take();
        server.clear_requests();
        let started = Instant::now();
        let report = api::resolve(&cache, &request(&proxied, trust), &api::NoProgress).await?;
        check.push(started.elapsed());
        anyhow::ensure!(
            report.registry.status.state == api::RegistryState::Online,
            "the check did not find the registry online: {:?}",
            report.registry
        );
        let exchanges = proxy.take();
        trips.push(rtt_proxy::round_trips(&exchanges));
        seen_by_proxy = exchanges.iter().map(|e| e.path.clone()).collect::<Vec<_>>();
        // How long before the first answer came back the last request was out.
        let first_answer = exchanges.iter().filter_map(|e| e.answered).min();
        let last_request = exchanges.iter().map(|e| e.arrived).max();
        if let (Some(answer), Some(request)) = (first_answer, last_request) {
            leads.push(if answer >= request {
                answer.duration_since(request).as_secs_f64() * 1e3
            } else {
                -request.duration_since(answer).as_secs_f64() * 1e3
            });
        }
        answered.push(server.requests());

        let started = Instant::now();
        single_conditional_get(&proxied, snapshot_etag).await?;
        single.push(started.elapsed());
    }
    // Control: the same two conditional GETs one after the other must count
    // as two round trips, or the proxy could not tell.
    proxy.take();
    conditional_requests(&proxied, &etags).await?;
    let control = rtt_proxy::round_trips(&proxy.take());
    let one_trip = trips.iter().filter(|&&n| n == 1).count();
    let requests: Vec<String> = answered
        .last()
        .map(|last| {
            last.iter().map(|r| format!("{} {}", r.path, r.status.map_or("-".to_owned(), |s| s.to_string()))).collect()
        })
        .unwrap_or_default();
    let all_two_304 = answered
        .iter()
        .all(|requests| requests.len() == 2 && requests.iter().all(|r| r.method == "GET" && r.status == Some(304)));
    leads.sort_by(f64::total_cmp);
    let lead = leads.get(leads.len() / 2).copied().unwrap_or(f64::NAN);
    let met = one_trip == RTT_ROUNDS && all_two_304 && control == 2;
    row(
        out,
        &format!("update check, nothing changed, every answer delayed {} ms", RTT.as_millis()),
        median(&check),
        "one conditional GET of snapshot.json, same delay",
        median(&single),
        &format!(
            "1 round trip ({}: {one_trip}/{RTT_ROUNDS} checks in 1 round trip; requests {}; the last request reached \
             the proxy {lead:.1} ms (median) before the first answer was passed on; control: the same two GETs one \
             after the other count {control})",
            verdict(met),
            if all_two_304 {
                format!("2 per check, both 304 ({})", requests.join(", "))
            } else {
                format!(
                    "not always 2 × 304, last check: {} (through the proxy: {})",
                    requests.join(", "),
                    seen_by_proxy.join(", ")
                )
            },
        ),
    );
    Ok(())
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

async fn plain_download(url: &str, paths: &[String], target: &Path) -> Result<()> {
    std::fs::create_dir_all(target)?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    futures_util::stream::iter(paths)
        .map(|path| {
            let client = &client;
            async move {
                let bytes = client.get(format!("{url}{path}")).send().await?.error_for_status()?.bytes().await?;
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

/// Whether the verifying download also fsyncs each blob file.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durable {
    No,
    Fsync,
}

/// The plain download, verifying as it streams: each chunk is hashed and
/// written to the blob's file as it arrives, and the digest is checked at
/// the end (no temporary file, rename, cache index; a flush only with
/// [`Durable::Fsync`], on a blocking thread).
async fn streaming_verified_download(url: &str, paths: &[String], target: &Path, durable: Durable) -> Result<()> {
    std::fs::create_dir_all(target)?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    futures_util::stream::iter(paths)
        .map(|path| {
            let client = &client;
            async move {
                let response = client.get(format!("{url}{path}")).send().await?.error_for_status()?;
                let mut file = std::fs::File::create(target.join(path.replace('/', "_")))?;
                let mut hasher = sha2::Sha256::new();
                let mut body = response.bytes_stream();
                while let Some(chunk) = body.next().await {
                    let chunk = chunk?;
                    hasher.update(&chunk);
                    file.write_all(&chunk)?;
                }
                let expected = path.rsplit('/').next().unwrap_or_default();
                anyhow::ensure!(format!("{:x}", hasher.finalize()) == expected, "{path} does not match its hash");
                if durable == Durable::Fsync {
                    tokio::task::spawn_blocking(move || file.sync_all()).await??;
                }
                Ok::<_, anyhow::Error>(())
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// One conditional GET with a fresh client, as a check of one document needs.
async fn single_conditional_get(url: &str, (path, etag): &(String, String)) -> Result<()> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let response = client.get(format!("{url}{path}")).header("if-none-match", etag).send().await?;
    anyhow::ensure!(response.status() == 304, "expected 304 for {path}, got {}", response.status());
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
