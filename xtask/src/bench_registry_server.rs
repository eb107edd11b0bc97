//! Benchmarks of the hosted registry server, for BENCHMARKS.md:
//!
//! - serving an index (`remotes/<name>.json`), a blob, and the mix a client
//!   installing a remote asks for: requests/s and p99 latency with `wrk`,
//!   against nginx serving the same tree, in alternating rounds of this run
//!   on loopback (the machine is shared: only the ratio is stable). wrk runs
//!   on the first core and both servers on the others ([`Cores`]);
//! - publish latency of a 1 MiB remote through `augment publish --registry
//!   http://…` (pack, upload, validate, store, sign), end to end;
//! - the same server on S3 storage (a local S3, moto, as the tests use:
//!   `crate::s3`) against the one on the folder, in the same run: publish
//!   latency (publishes alternate between the two) and the install mix's
//!   throughput (alternating rounds), each as a ratio.
//!
//! Needs `wrk` and `nginx` (Debian packages, installed when missing) and
//! moto (PyPI, installed into a venv when missing). [`run`] returns a markdown section.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Seconds per wrk measurement.
const SECONDS: usize = 3;
/// The loads measured, as wrk `threads x connections` (keep-alive). On 2
/// cores, wrk's one thread keeps one server core busy at 4 and 8
/// connections; at `2x16` two wrk threads share a core and 16 connections
/// queue on the server's, so every server's p99 there is queueing. Each load
/// gets its own verdict. `AUGMENT_BENCH_REGISTRY_LOADS=1x4,2x8,…` measures
/// others.
const DEFAULT_LOADS: &str = "1x4,1x8,2x16";
/// ours, nginx, ours, nginx, …: both see the same drift of a shared machine,
/// and each round's pair gives one ratio.
const ROUNDS: usize = 5;
const PUBLISHES: usize = 10;
/// The load and rounds of the S3-vs-folder serving comparison.
const S3_LOAD: WrkLoad = WrkLoad { threads: 1, connections: 8 };
const S3_ROUNDS: usize = 3;
/// The registry's prefix in the local S3's bucket.
const S3_PREFIX: &str = "registry";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the benchmarks and returns the BENCHMARKS.md section.
pub fn run() -> Result<String> {
    let root = crate::workspace_root();
    crate::run_checked(Command::new("cargo").current_dir(&root).args([
        "build",
        "--release",
        "--locked",
        "-p",
        "cli",
        "-p",
        "registry-server",
        "--features",
        "registry-server/aws",
    ]))?;
    let bin = root.join("target/release");
    let augment = bin.join("augment");
    let server_bin = bin.join("registry-server");
    crate::engines::ensure_packages(&[("wrk", "wrk"), ("nginx", "nginx")])?;

    let work = tempfile::tempdir()?;
    let work_dir = work.path();
    // nginx workers may run as another user: the tree must be readable.
    set_mode(work_dir, 0o755)?;
    let keys = work_dir.join("keys");
    let registry = work_dir.join("registry");
    augment_ok(&augment, &["keygen", "--out", path(&keys)])?;
    augment_ok(&augment, &["registry", "init", path(&registry), "--key", path(&keys.join("registry.key"))])?;
    let out =
        augment_ok(&augment, &["registry", "token", "create", "--registry-dir", path(&registry), "--remotes", "*"])?;
    // The human output starts with the token on a line of its own.
    let token = out.lines().next().unwrap_or_default().trim().to_owned();

    // The same registry (keys, token) in a local S3's bucket, for the
    // S3-vs-folder rows.
    let s3 = crate::s3::start_local_s3("augment-bench")?;
    s3.upload_dir(&registry, S3_PREFIX)?;

    let cores = Cores::split();
    let key = keys.join("registry.key");
    let (_server, url) = start_server(&cores, &server_bin, &["--dir", path(&registry)], &key, &[])?;
    let mut s3_env = s3.server_env().to_vec();
    s3_env.extend([("REGISTRY_S3_BUCKET", s3.bucket().to_owned()), ("REGISTRY_S3_PREFIX", S3_PREFIX.to_owned())]);
    let (_s3_server, s3_url) = start_server(&cores, &server_bin, &[], &key, &s3_env)?;

    // Publish latency: PUBLISHES versions of a remote with 1 MiB of files,
    // each published to the folder's server and then to the S3 one.
    let mut latencies = Vec::new();
    let mut s3_latencies = Vec::new();
    for i in 0..PUBLISHES {
        let remote = make_remote(work_dir, "bench", &format!("1.{i}.0"), 1024 * 1024)?;
        latencies.push(timed_publish(&augment, &remote, &url, &token)?);
        s3_latencies.push(timed_publish(&augment, &remote, &s3_url, &token)?);
    }
    latencies.sort();
    s3_latencies.sort();

    // What a client fetches to install the newest version: the snapshot,
    // the index, then the version's blobs.
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(registry.join("remotes/bench.json"))?)?;
    let blobs = newest_version_blobs(&index).context("the index lists no files")?;
    let blob = &blobs[0];
    let blob_size = std::fs::metadata(registry.join("blobs/sha256").join(blob))?.len();
    let index_size = std::fs::metadata(registry.join("remotes/bench.json"))?.len();
    let mut mix = vec!["/snapshot.json".to_owned(), "/remotes/bench.json".to_owned()];
    mix.extend(blobs.iter().map(|hash| format!("/blobs/sha256/{hash}")));
    let mix_script = work_dir.join("mix.lua");
    std::fs::write(&mix_script, wrk_rotation_script(&mix))?;

    // nginx over the same folder.
    let nginx_port = free_port()?;
    let _nginx = start_nginx(&cores, work_dir, &registry, nginx_port)?;
    let nginx_url = format!("http://127.0.0.1:{nginx_port}");

    let targets = [
        (
            format!("index `remotes/bench.json` ({:.1} KiB)", index_size as f64 / 1024.0),
            Load::Path("/remotes/bench.json".into()),
        ),
        (format!("blob ({} KiB)", blob_size / 1024), Load::Path(format!("/blobs/sha256/{blob}"))),
        (format!("install mix: snapshot, index, {} blobs in turn", blobs.len()), Load::Script(mix_script)),
    ];
    let loads = loads()?;
    let mut rows = String::new();
    let mut verdicts = String::new();
    for load in &loads {
        let mut worst_ratio = f64::INFINITY;
        let mut worst_p99 = 0.0f64;
        for (label, target) in &targets {
            let mut ours = Vec::new();
            let mut theirs = Vec::new();
            let mut ratios = Vec::new();
            for _ in 0..ROUNDS {
                let (our_round, their_round) =
                    (wrk(&cores, &url, *load, target)?, wrk(&cores, &nginx_url, *load, target)?);
                ratios.push(our_round.rps / their_round.rps);
                ours.push(our_round);
                theirs.push(their_round);
            }
            let (ours, theirs) = (WrkResult::median(&ours), WrkResult::median(&theirs));
            let ratio = median(ratios);
            worst_ratio = worst_ratio.min(ratio);
            worst_p99 = worst_p99.max(ours.p99_ms);
            writeln!(
                rows,
                "| {load} | {label} | {:.0} | {:.2} | {:.0} | {:.2} | {ratio:.2}× |",
                ours.rps, ours.p99_ms, theirs.rps, theirs.p99_ms
            )?;
        }
        writeln!(
            verdicts,
            "- {load}: ≥ 0.8× nginx's throughput {} (lowest {worst_ratio:.2}×), p99 ≤ 2 ms {} (highest {worst_p99:.2} ms).",
            met(worst_ratio >= 0.8),
            met(worst_p99 <= 2.0)
        )?;
    }

    // The install mix from the server on S3 against the one on the folder.
    // Both serve documents and blobs from memory once read (the document
    // cache's 500 ms, the blob cache), so this shows what clients feel of
    // the storage behind them.
    let mix = Load::Script(work_dir.join("mix.lua"));
    let (mut folder_rounds, mut s3_rounds, mut s3_ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..S3_ROUNDS {
        let (folder, on_s3) = (wrk(&cores, &url, S3_LOAD, &mix)?, wrk(&cores, &s3_url, S3_LOAD, &mix)?);
        s3_ratios.push(on_s3.rps / folder.rps);
        folder_rounds.push(folder);
        s3_rounds.push(on_s3);
    }
    let (folder_mix, s3_mix) = (WrkResult::median(&folder_rounds), WrkResult::median(&s3_rounds));

    let median_latency = latencies[latencies.len() / 2];
    let worst = latencies[latencies.len() - 1];
    let mut out = String::new();
    writeln!(out, "## Registry server (`xtask/src/bench_registry_server.rs`)\n")?;
    writeln!(
        out,
        "registry-server (release) and nginx (`sendfile on`, `access_log off`: the tree routes log nothing \
         per request either) serving the same folder on loopback, with `wrk -d{SECONDS}s --latency` at each \
         load: {ROUNDS} alternating rounds per target; req/s and p99 are medians, the ratio is the median of \
         the rounds' ratios. Plain GETs without `Accept-Encoding`, all answered 200. {}\n",
        cores.describe()
    )?;
    writeln!(out, "| load | target | registry-server req/s | p99 ms | nginx req/s | p99 ms | throughput ratio |")?;
    writeln!(out, "| --- | --- | ---: | ---: | ---: | ---: | ---: |")?;
    out.push_str(&rows);
    writeln!(out, "\nGoals, at each load:\n")?;
    out.push_str(&verdicts);
    writeln!(
        out,
        "\nPublish of a 1 MiB remote (`augment publish --registry http://…`: pack, upload, validate, store, \
         sign), {PUBLISHES} runs: median {:.0} ms, worst {:.0} ms.",
        median_latency.as_secs_f64() * 1000.0,
        worst.as_secs_f64() * 1000.0
    )?;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let s3_median = s3_latencies[s3_latencies.len() / 2];
    writeln!(
        out,
        "\n### On S3 vs on the file system\n\n\
         The same registry in a bucket of a local S3 (moto {moto}, single-threaded, on loopback, unpinned; \
         `xtask/src/s3.rs`) served by a second registry-server (feature `aws`), in the same run: the \
         publishes above alternate between the two servers; the install mix at {S3_LOAD}, {S3_ROUNDS} \
         alternating rounds (median req/s and p99, ratio the median of the rounds' ratios).\n",
        moto = crate::s3::MOTO_VERSION,
    )?;
    writeln!(out, "| measure | on the folder | on S3 | S3 ÷ folder |")?;
    writeln!(out, "| --- | ---: | ---: | ---: |")?;
    writeln!(
        out,
        "| publish of a 1 MiB remote, median of {PUBLISHES} | {:.0} ms | {:.0} ms | {:.2}× the time |",
        ms(median_latency),
        ms(s3_median),
        s3_median.as_secs_f64() / median_latency.as_secs_f64()
    )?;
    writeln!(
        out,
        "| publish, worst of {PUBLISHES} | {:.0} ms | {:.0} ms | {:.2}× the time |",
        ms(worst),
        ms(s3_latencies[s3_latencies.len() - 1]),
        s3_latencies[s3_latencies.len() - 1].as_secs_f64() / worst.as_secs_f64()
    )?;
    writeln!(
        out,
        "| install mix at {S3_LOAD}: req/s (p99) | {:.0} ({:.2} ms) | {:.0} ({:.2} ms) | {:.2}× the throughput |",
        folder_mix.rps,
        folder_mix.p99_ms,
        s3_mix.rps,
        s3_mix.p99_ms,
        median(s3_ratios)
    )?;
    Ok(out)
}

/// One `augment publish` of `remote` to the server at `url`, timed end to end.
fn timed_publish(augment: &Path, remote: &Path, url: &str, token: &str) -> Result<Duration> {
    let started = Instant::now();
    let out = Command::new(augment)
        .args(["publish", path(remote), "--registry", url])
        .env("AUGMENT_REGISTRY_TOKEN", token)
        .output()?;
    let elapsed = started.elapsed();
    if !out.status.success() {
        bail!("publish to {url} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(elapsed)
}

/// The blobs of the index's newest version (the last one listed).
fn newest_version_blobs(index: &serde_json::Value) -> Option<Vec<String>> {
    let files = index["versions"].as_array()?.last()?["files"].as_array()?;
    let blobs: Vec<String> = files.iter().filter_map(|f| f["sha256"].as_str().map(str::to_owned)).collect();
    (!blobs.is_empty()).then_some(blobs)
}

/// A wrk script that requests `paths` in turn on each connection's thread.
fn wrk_rotation_script(paths: &[String]) -> String {
    let list: Vec<String> = paths.iter().map(|p| format!("{p:?}")).collect();
    format!(
        "local paths = {{ {} }}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n",
        list.join(", ")
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

fn set_mode(p: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn augment_ok(augment: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(augment).args(args).output()?;
    if !out.status.success() {
        bail!("augment {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A release registry-server with `storage_args` (`--dir DIR`, or none
/// when `env` names a bucket) and `env`.
fn start_server(
    cores: &Cores,
    bin: &Path,
    storage_args: &[&str],
    key: &Path,
    env: &[(&str, String)],
) -> Result<(Killed, String)> {
    let mut command = cores.for_server(bin);
    command
        .args(["--listen", "127.0.0.1:0", "--signing-key-file", path(key)])
        .args(storage_args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().context("starting registry-server")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let Some(line) = lines.next() else { bail!("registry-server exited before listening") };
        if let Some(url) = line?.strip_prefix("registry-server listening on ") {
            break url.trim().to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok((Killed(child), url))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn start_nginx(cores: &Cores, work: &Path, root: &Path, port: u16) -> Result<Nginx> {
    let dir = work.join("nginx");
    std::fs::create_dir_all(&dir)?;
    let conf = format!(
        "daemon off;\nworker_processes {workers};\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 100000;\n\
           client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;\n\
           types {{ application/json json; }}\n  default_type application/octet-stream;\n\
           server {{ listen 127.0.0.1:{port}; root {root}; etag on; }}\n}}\n",
        dir = dir.display(),
        root = root.display(),
        workers = cores.server_cores,
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let child = cores
        .for_server(Path::new("nginx"))
        .args(["-c", path(&conf_path), "-e", path(&dir.join("error.log"))])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let nginx = Nginx(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("nginx did not start; see {}", dir.join("error.log").display());
        }
        std::thread::sleep(Duration::from_millis(20)); // poll interval while waiting for the port
    }
    Ok(nginx)
}

/// nginx's master must be told to stop (SIGTERM): killing it outright
/// would leave its workers running.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "not met" }
}

/// Which cores the load generator and the servers run on. With both free to
/// share every core, where the scheduler put them decided the result: nginx
/// alone ranged from 40 to 65 k index requests/s over six identical runs on
/// 2 cores. Pinned, each server gets the same cores and as many workers as
/// cores (nginx `worker_processes`, tokio by the affinity it starts with), and
/// is measured by how much it serves with them.
struct Cores {
    /// Cores for the servers (the ones after the first); 0 when unpinned.
    server_cores: usize,
}

impl Cores {
    /// wrk on core 0 and the servers on the rest, given 2 cores or more and
    /// `taskset` (util-linux); otherwise all share every core.
    fn split() -> Cores {
        let cores = std::thread::available_parallelism().map(std::num::NonZeroUsize::get).unwrap_or(1);
        let pinned = cores >= 2 && crate::engines::on_path("taskset");
        Cores { server_cores: if pinned { cores - 1 } else { 0 } }
    }

    fn for_server(&self, program: &Path) -> Command {
        self.pinned(program, &format!("1-{}", self.server_cores))
    }

    fn for_load(&self, program: &Path) -> Command {
        self.pinned(program, "0")
    }

    fn pinned(&self, program: &Path, cpus: &str) -> Command {
        if self.server_cores == 0 {
            return Command::new(program);
        }
        let mut command = Command::new("taskset");
        command.args(["--cpu-list", cpus]).arg(program);
        command
    }

    fn describe(&self) -> String {
        match self.server_cores {
            0 => "wrk shares every core with the servers (fewer than 2 cores, or no `taskset`).".to_owned(),
            1 => "wrk runs on core 0, each server on core 1 with one worker.".to_owned(),
            n => format!("wrk runs on core 0, each server on cores 1–{n} with {n} workers."),
        }
    }
}

/// wrk's threads and keep-alive connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WrkLoad {
    threads: usize,
    connections: usize,
}

impl std::fmt::Display for WrkLoad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`-t{} -c{}`", self.threads, self.connections)
    }
}

/// The loads to measure: `AUGMENT_BENCH_REGISTRY_LOADS` or [`DEFAULT_LOADS`].
fn loads() -> Result<Vec<WrkLoad>> {
    let text = std::env::var("AUGMENT_BENCH_REGISTRY_LOADS").unwrap_or_else(|_| DEFAULT_LOADS.to_owned());
    parse_loads(&text)
}

/// `1x4,2x16` → wrk `-t1 -c4` and `-t2 -c16`.
fn parse_loads(text: &str) -> Result<Vec<WrkLoad>> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let parsed = item.split_once('x').and_then(|(threads, connections)| {
                Some(WrkLoad { threads: threads.trim().parse().ok()?, connections: connections.trim().parse().ok()? })
            });
            match parsed {
                // wrk needs at least one connection per thread.
                Some(load) if load.threads > 0 && load.connections >= load.threads => Ok(load),
                _ => bail!(
                    "AUGMENT_BENCH_REGISTRY_LOADS item {item:?} is not THREADSxCONNECTIONS with connections ≥ threads ≥ 1, e.g. 1x4,2x16"
                ),
            }
        })
        .collect()
}

/// What wrk requests: one path, or a Lua script choosing paths.
enum Load {
    Path(String),
    Script(PathBuf),
}

#[derive(Debug, Clone, Copy)]
struct WrkResult {
    rps: f64,
    p99_ms: f64,
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

impl WrkResult {
    /// Median throughput and median p99 of the rounds, each on its own.
    fn median(results: &[WrkResult]) -> WrkResult {
        WrkResult {
            rps: median(results.iter().map(|r| r.rps).collect()),
            p99_ms: median(results.iter().map(|r| r.p99_ms).collect()),
        }
    }
}

fn wrk(cores: &Cores, base: &str, load: WrkLoad, target: &Load) -> Result<WrkResult> {
    let mut command = cores.for_load(Path::new("wrk"));
    command.args([
        &format!("-t{}", load.threads),
        &format!("-c{}", load.connections),
        &format!("-d{SECONDS}s"),
        "--latency",
    ]);
    let url = match target {
        Load::Path(rel) => format!("{base}{rel}"),
        Load::Script(script) => {
            command.arg("-s").arg(script);
            base.to_owned()
        }
    };
    let out = command.arg(&url).output().context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.contains("Non-2xx") || text.contains("Socket errors") {
        bail!("wrk against {url} failed or got errors:\n{text}");
    }
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .context("wrk printed no Requests/sec")?;
    let p99 =
        text.lines().find_map(|l| l.trim().strip_prefix("99%")).map(str::trim).context("wrk printed no 99% latency")?;
    Ok(WrkResult { rps, p99_ms: parse_duration_ms(p99)? })
}

/// wrk prints latencies as `812.00us`, `1.52ms` or `1.02s`.
fn parse_duration_ms(text: &str) -> Result<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        bail!("unknown wrk latency {text:?}")
    };
    Ok(number.parse::<f64>()? * scale)
}

/// A remote with `bytes` of pseudo-random content in 16 files.
fn make_remote(work: &Path, name: &str, version: &str, bytes: usize) -> Result<PathBuf> {
    let dir = work.join("src").join(format!("{name}-{version}"));
    std::fs::create_dir_all(dir.join("assets"))?;
    let manifest = format!(
        "{{\"name\":\"{name}\",\"version\":\"{version}\",\"entry\":\"remoteEntry.js\",\"hostApi\":\"^1.0.0\",\"shared\":{{\"react\":\"^19.0.0\"}}}}"
    );
    std::fs::write(dir.join("remote.json"), manifest)?;
    std::fs::write(dir.join("remoteEntry.js"), format!("export const v = {version:?};\n"))?;
    let mut state = version.bytes().fold(0x9e37_79b9_7f4a_7c15u64, |h, b| h.rotate_left(5) ^ u64::from(b));
    let per_file = bytes / 16;
    for i in 0..16 {
        let mut chunk = Vec::with_capacity(per_file);
        while chunk.len() < per_file {
            // xorshift: incompressible bytes, so the upload really is 1 MiB.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.extend_from_slice(&state.to_le_bytes());
        }
        chunk.truncate(per_file);
        std::fs::write(dir.join("assets").join(format!("chunk-{i}.js")), chunk)?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_parse_and_bad_ones_say_what_is_expected() {
        let loads = parse_loads("1x4, 2x16").unwrap();
        assert_eq!(loads, [WrkLoad { threads: 1, connections: 4 }, WrkLoad { threads: 2, connections: 16 }]);
        assert_eq!(parse_loads(DEFAULT_LOADS).unwrap().len(), DEFAULT_LOADS.split(',').count());
        for bad in ["4", "2x1", "0x4", "ax4"] {
            let err = parse_loads(bad).unwrap_err().to_string();
            assert!(err.contains("THREADSxCONNECTIONS"), "{bad}: {err}");
        }
    }

    /// Runs only this section (`cargo test -p xtask bench_registry_server_only -- --ignored --nocapture`,
    /// loads from `AUGMENT_BENCH_REGISTRY_LOADS`), for refreshing the "Registry server" section alone.
    #[test]
    #[ignore = "builds release binaries and takes minutes; run on demand"]
    fn bench_registry_server_only() {
        let section = run().unwrap();
        println!("{section}");
    }
}
