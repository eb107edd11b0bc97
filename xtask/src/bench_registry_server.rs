//! Benchmarks of the hosted registry server, for BENCHMARKS.md:
//!
//! - serving an index (`remotes/<name>.json`) and a blob, requests/s and p99
//!   latency with `wrk`, against nginx serving the same tree, both in this
//!   run on loopback (the machine is shared: only the ratio is stable);
//! - publish latency of a 1 MiB remote through `augment publish --registry
//!   http://…` (pack, upload, validate, store, sign), end to end.
//!
//! Needs `wrk` and `nginx` (Debian packages; `cargo xtask setup` installs
//! them). [`run`] returns a markdown section.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Load per target: two threads (the machine has two cores), 32 connections.
const WRK_ARGS: &[&str] = &["-t2", "-c32", "-d8s", "--latency"];
const PUBLISHES: usize = 10;

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
    crate::run_checked(
        Command::new(env!("CARGO"))
            .current_dir(&root)
            .args(["build", "--release", "-p", "cli", "-p", "registry-server"]),
    )?;
    let bin = root.join("target/release");
    let augment = bin.join("augment");
    let server_bin = bin.join("registry-server");
    for tool in ["wrk", "nginx"] {
        if Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().map(|o| o.status.success()).ok() != Some(true) {
            bail!("{tool} is missing: `apt-get install -y wrk nginx` (cargo xtask setup does it)");
        }
    }

    let work = tempfile::tempdir()?;
    let work_dir = work.path();
    // nginx workers may run as another user: the tree must be readable.
    set_mode(work_dir, 0o755)?;
    let keys = work_dir.join("keys");
    let registry = work_dir.join("registry");
    augment_ok(&augment, &["keygen", "--out", path(&keys)])?;
    augment_ok(&augment, &["registry", "init", path(&registry), "--key", path(&keys.join("registry.key"))])?;
    let out = augment_ok(&augment, &["registry", "token", "create", "--registry-dir", path(&registry), "--remotes", "*"])?;
    // The human output starts with the token on a line of its own.
    let token = out.lines().next().unwrap_or_default().trim().to_owned();

    let (mut server, url) = start_server(&server_bin, &registry, &keys.join("registry.key"))?;

    // Publish latency: PUBLISHES versions of a remote with 1 MiB of files.
    let mut latencies = Vec::new();
    let mut blob = None;
    for i in 0..PUBLISHES {
        let remote = make_remote(work_dir, "bench", &format!("1.{i}.0"), 1024 * 1024)?;
        let started = Instant::now();
        let out = Command::new(&augment)
            .args(["publish", path(&remote), "--registry", &url])
            .env("AUGMENT_REGISTRY_TOKEN", &token)
            .output()?;
        latencies.push(started.elapsed());
        if !out.status.success() {
            bail!("publish failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        if blob.is_none() {
            blob = largest_blob(&registry.join("blobs/sha256"))?;
        }
    }
    latencies.sort();
    let blob = blob.context("no blob was stored")?;
    let blob_size = std::fs::metadata(registry.join("blobs/sha256").join(&blob))?.len();

    // nginx over the same folder.
    let nginx_port = free_port()?;
    let _nginx = start_nginx(work_dir, &registry, nginx_port)?;
    let nginx_url = format!("http://127.0.0.1:{nginx_port}");

    let targets = [("index `remotes/bench.json`", "remotes/bench.json".to_owned()), (&*format!("blob ({} KiB)", blob_size / 1024), format!("blobs/sha256/{blob}"))];
    let mut rows = String::new();
    for (label, rel) in &targets {
        let ours = wrk(&format!("{url}/{rel}"))?;
        let theirs = wrk(&format!("{nginx_url}/{rel}"))?;
        writeln!(
            rows,
            "| {label} | {:.0} | {:.2} | {:.0} | {:.2} | {:.2}× |",
            ours.rps, ours.p99_ms, theirs.rps, theirs.p99_ms, ours.rps / theirs.rps
        )?;
    }
    let _ = server.0.kill();

    let median = latencies[latencies.len() / 2];
    let worst = latencies[latencies.len() - 1];
    let mut out = String::new();
    writeln!(out, "## Registry server\n")?;
    writeln!(out, "`wrk {}` on loopback, registry-server (release) and nginx serving the same folder in the same run; plain GETs, no compression.\n", WRK_ARGS.join(" "))?;
    writeln!(out, "| target | registry-server req/s | p99 ms | nginx req/s | p99 ms | throughput ratio |")?;
    writeln!(out, "| --- | ---: | ---: | ---: | ---: | ---: |")?;
    out.push_str(&rows);
    writeln!(
        out,
        "\nPublish of a 1 MiB remote (`augment publish --registry http://…`, pack + upload + validate + store + sign), {PUBLISHES} runs: median {:.0} ms, worst {:.0} ms.",
        median.as_secs_f64() * 1000.0,
        worst.as_secs_f64() * 1000.0
    )?;
    Ok(out)
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

fn start_server(bin: &Path, registry: &Path, key: &Path) -> Result<(Killed, String)> {
    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--dir", path(registry), "--signing-key-file", path(key)])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .context("starting registry-server")?;
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

fn start_nginx(work: &Path, root: &Path, port: u16) -> Result<Nginx> {
    let dir = work.join("nginx");
    std::fs::create_dir_all(&dir)?;
    let conf = format!(
        "daemon off;\nworker_processes auto;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 100000;\n\
           client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;\n\
           types {{ application/json json; }}\n  default_type application/octet-stream;\n\
           server {{ listen 127.0.0.1:{port}; root {root}; etag on; }}\n}}\n",
        dir = dir.display(),
        root = root.display()
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let child = Command::new("nginx")
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

struct WrkResult {
    rps: f64,
    p99_ms: f64,
}

fn wrk(url: &str) -> Result<WrkResult> {
    let out = Command::new("wrk").args(WRK_ARGS).arg(url).output().context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.contains("Non-2xx") {
        bail!("wrk against {url} failed or got errors:\n{text}");
    }
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .context("wrk printed no Requests/sec")?;
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(str::trim)
        .context("wrk printed no 99% latency")?;
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

fn largest_blob(dir: &Path) -> Result<Option<String>> {
    let mut best: Option<(u64, String)> = None;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.len() != 64 {
            continue;
        }
        let size = entry.metadata()?.len();
        if best.as_ref().is_none_or(|(s, _)| size > *s) {
            best = Some((size, name));
        }
    }
    Ok(best.map(|(_, name)| name))
}
