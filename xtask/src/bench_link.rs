//! Cold install over a shaped link, for BENCHMARKS.md: 10 remotes × 1 MiB
//! installed by the real `augment resolve` (release, empty cache each time)
//! against a plain download of the same metadata and blobs over the same
//! link in the same run (`bench-core plain-fetch`: root and snapshot
//! together, then the indexes, then the blobs, 8 in flight like the client,
//! no verification), alternating, medians.
//!
//! The link is made here and only here: two network namespaces of this
//! bench's own (`augbench-<pid>-c`, `-s`) joined by a veth pair created
//! inside them, so the 10.x addresses exist only on those two interfaces and
//! no packet leaves the machine. Each end gets `tc … root netem delay D rate
//! R` (D each way, so the round trip is 2·D). The registry is served from
//! the server namespace by `registry-server` (release, the tree from memory);
//! both clients run in the client namespace through `ip netns exec`. Needs
//! root. The namespaces are deleted when the [`Link`] guard drops, on
//! success, error or panic.
//!
//! When the kernel has no `netem` (the qdisc is missing: the row says so
//! with `tc`'s own error), the same link is shaped by rate only with `tbf`
//! and measured as a substitute, so the rate-bound part is still known.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::{run_checked, workspace_root};

const REMOTES: usize = 10;
const REMOTE_BYTES: usize = 1024 * 1024;
/// Alternating rounds per profile (each round: one install, one plain download).
const ROUNDS: usize = 7;
/// Any wait for a child's output gives up after this long.
const DEADLINE: Duration = Duration::from_secs(60);
const CLIENT_ADDR: &str = "10.213.0.1";
const SERVER_ADDR: &str = "10.213.0.2";
const SERVER_PORT: u16 = 8787;

/// One shaped link: the netem arguments for each direction and the goal.
struct Profile {
    label: &'static str,
    /// One-way delay (each end's egress).
    delay: &'static str,
    /// The same, for the user-space delay where the kernel has no `netem`.
    one_way_ms: u64,
    rate: &'static str,
    /// The token bucket of the rate-only substitute.
    tbf_burst: &'static str,
    goal: f64,
}

const PROFILES: [Profile; 2] = [
    Profile { label: "1 Gbit/s, 2 ms RTT", delay: "1ms", one_way_ms: 1, rate: "1gbit", tbf_burst: "256kb", goal: 1.15 },
    Profile {
        label: "100 Mbit/s, 20 ms RTT",
        delay: "10ms",
        one_way_ms: 10,
        rate: "100mbit",
        tbf_burst: "64kb",
        goal: 1.1,
    },
];

pub fn run() -> Result<String> {
    let root = workspace_root();
    run_checked(Command::new("cargo").current_dir(&root).args([
        "build",
        "--release",
        "--locked",
        "-p",
        "cli",
        "-p",
        "registry-server",
        "-p",
        "integration-tests",
        "--bins",
    ]))?;
    let bin = root.join("target/release");
    let tools =
        Tools { augment: bin.join("augment"), server: bin.join("registry-server"), fetch: bin.join("bench-core") };
    let work = tempfile::tempdir()?;
    let (registry, keys) = tools.registry(work.path())?;

    let mut rows = String::new();
    let mut notes = String::new();
    if let Err(err) = measure_all(&tools, work.path(), &registry, &keys, &mut rows, &mut notes) {
        let why = format!("{err:#}").replace('\n', " ");
        if rows.is_empty() {
            // No link at all (not root, no `ip netns`): every row says why.
            for profile in &PROFILES {
                rows.push_str(&format!(
                    "| {} | not measured: {why} | | | ≤ {:.2}× | not measured |\n",
                    profile.label, profile.goal
                ));
            }
        } else {
            rows.push_str(&format!("| (the rest) | not measured, the bench stopped: {why} | | | | |\n"));
        }
    }
    Ok(format!(
        "## Cold install over a shaped link (`xtask/src/bench_link.rs`)\n\n\
         Goal: a cold `augment resolve` of {REMOTES} remotes × 1 MiB within 1.15× of a plain download of the same \
         metadata and blobs at 1 Gbit/s with 2 ms RTT, and within 1.1× at 100 Mbit/s with 20 ms RTT.\n\n\
         Two network namespaces of the bench's own joined by a veth pair (10.213.0.1 ↔ 10.213.0.2, addresses that \
         exist only inside them), `tc qdisc … root netem delay D rate R` on both ends; the registry served from one \
         by `registry-server` (release), both clients run in the other through `ip netns exec`: `augment resolve` \
         (release, a new empty cache each time) and `bench-core plain-fetch` (root and snapshot together, then the \
         10 indexes, then the blobs, 8 in flight like the client, each written to a file, nothing verified). \
         {ROUNDS} alternating rounds per link after one untimed round of each; medians; the file system is flushed \
         before each timed side, untimed.\n\n\
         | link | `augment resolve`, cold | plain download | ratio | goal | |\n| --- | --- | --- | --- | --- | --- |\n\
         {rows}{notes}"
    ))
}

/// The binaries the bench runs.
struct Tools {
    augment: PathBuf,
    server: PathBuf,
    fetch: PathBuf,
}

impl Tools {
    /// A registry folder with REMOTES remotes of REMOTE_BYTES distinct bytes each.
    fn registry(&self, work: &Path) -> Result<(PathBuf, PathBuf)> {
        let (keys, registry) = (work.join("keys"), work.join("registry"));
        let augment = |args: &[&std::ffi::OsStr]| {
            run_checked(Command::new(&self.augment).args(args).env_remove("AUGMENT_CACHE_DIR").stdout(Stdio::null()))
        };
        augment(&["keygen".as_ref(), "--out".as_ref(), keys.as_os_str()])?;
        let key = keys.join("registry.key");
        augment(&["registry".as_ref(), "init".as_ref(), registry.as_os_str(), "--key".as_ref(), key.as_os_str()])?;
        for i in 0..REMOTES {
            let dir = work.join(format!("remote-{i}"));
            std::fs::create_dir_all(&dir)?;
            std::fs::write(
                dir.join("remote.json"),
                format!(
                    r#"{{"name":"remote-{i}","version":"1.0.0","entry":"remoteEntry.js","hostApi":"^1.0.0","shared":{{"react":"^19.0.0"}}}}"#
                ),
            )?;
            let bytes: Vec<u8> =
                (0..REMOTE_BYTES).map(|j| (j.wrapping_mul(31).wrapping_add(i * 7919) % 251) as u8).collect();
            std::fs::write(dir.join("remoteEntry.js"), bytes)?;
            augment(&[
                "publish".as_ref(),
                dir.as_os_str(),
                "--registry".as_ref(),
                registry.as_os_str(),
                "--key".as_ref(),
                key.as_os_str(),
            ])?;
        }
        Ok((registry, keys))
    }
}

fn measure_all(
    tools: &Tools,
    work: &Path,
    registry: &Path,
    keys: &Path,
    rows: &mut String,
    notes: &mut String,
) -> Result<()> {
    // Declared first, dropped last: the server stops before the namespaces go.
    let link = Link::create()?;
    let _server = Server::start(&link, &tools.server, registry, &keys.join("registry.key"))?;
    let url = format!("http://{SERVER_ADDR}:{SERVER_PORT}/");
    let trust = keys.join("registry.pub");
    let mut substitutes = Vec::new();
    for profile in &PROFILES {
        let netem = ["netem", "delay", profile.delay, "rate", profile.rate];
        match link.shape(&netem) {
            Ok(()) => {
                let (ours, base) = measure(&link, tools, work, &url, &trust)?;
                rows.push_str(&result_row(profile.label, &ours, &base, profile.goal, ""));
            }
            Err(err) => {
                let why = format!("{err:#}").replace('\n', " ");
                rows.push_str(&format!(
                    "| {} | not measured: {why} | | | ≤ {:.2}× | not measured |\n",
                    profile.label, profile.goal
                ));
                substitutes.push(profile);
            }
        }
    }
    // Without netem: the same link shaped by rate only (tbf, a queue of about
    // netem's default 1000 packets), no added delay.
    for profile in substitutes {
        let tbf = ["tbf", "rate", profile.rate, "burst", profile.tbf_burst, "limit", "1514000"];
        link.shape(&tbf)?;
        let (ours, base) = measure(&link, tools, work, &url, &trust)?;
        let label = format!(
            "substitute for {}: rate only (`tbf rate {} burst {}`), no added delay",
            profile.label, profile.rate, profile.tbf_burst
        );
        rows.push_str(&result_row(&label, &ours, &base, profile.goal, " (rate only)"));
        // And with the delay added in user space, on the same rate-shaped link.
        let proxy = DelayLink::start(&link, &tools.fetch, profile.one_way_ms)?;
        let (ours, base) = measure(&link, tools, work, &proxy.url, &trust)?;
        drop(proxy);
        let label = format!(
            "substitute for {}: `tbf rate {}` and {} ms each way added by a user-space proxy (`bench-core delay-link`)",
            profile.label, profile.rate, profile.one_way_ms
        );
        rows.push_str(&result_row(&label, &ours, &base, profile.goal, " (user-space delay)"));
    }
    if rows.contains("not measured") {
        notes.push_str(
            "\nThe delay rows need the `netem` queueing discipline, which this machine's kernel does not have \
             (`CONFIG_NET_SCH_NETEM` is not set; of the shaping qdiscs only `tbf` and `htb` are built in), so \
             they are not measured here; the substitute rows shape the same link by rate only, then add the \
             delay in user space: `bench-core delay-link` (`tests/bench/delay_link.rs`) runs in the server's \
             namespace in front of the registry server and holds every chunk, both ways, for the one-way delay, \
             and each connection's first request one round trip more (the TCP handshake its own accept hides). \
             It keeps throughput but not TCP's slow start over the emulated round trip (the congestion window \
             grows with the proxy's near-zero one), which both clients pass through alike. Run on a kernel with \
             `sch_netem` for the delay rows.\n",
        );
    }
    Ok(())
}

fn result_row(label: &str, ours: &[Duration], base: &[Duration], goal: f64, qualifier: &str) -> String {
    let (ours_ms, base_ms) = (median_ms(ours), median_ms(base));
    let ratio = ours_ms / base_ms;
    let runs = |samples: &[Duration]| {
        samples.iter().map(|d| format!("{:.0}", d.as_secs_f64() * 1e3)).collect::<Vec<_>>().join(", ")
    };
    format!(
        "| {label} | {ours_ms:.0} ms ({}) | {base_ms:.0} ms ({}) | {ratio:.2}× | ≤ {goal:.2}× | {}{qualifier} |\n",
        runs(ours),
        runs(base),
        if ratio <= goal { "met" } else { "**not met**" },
    )
}

fn median_ms(samples: &[Duration]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2].as_secs_f64() * 1e3
}

/// ROUNDS alternating rounds of a cold install and a plain download over
/// the link as shaped now, after one untimed round of each.
fn measure(link: &Link, tools: &Tools, work: &Path, url: &str, trust: &Path) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let scratch = work.join("runs");
    let install = |dir: &Path| -> Result<Duration> {
        let mut command = link.in_client(&tools.augment);
        command.arg("--json").arg("resolve").arg("--registry").arg(url).arg("--trust").arg(trust);
        command.arg("--cache-dir").arg(dir);
        let (elapsed, stdout) = timed(&mut command, work)?;
        check_install(&stdout)?;
        Ok(elapsed)
    };
    let download = |dir: &Path| -> Result<Duration> {
        let mut command = link.in_client(&tools.fetch);
        command.arg("plain-fetch").arg(url).arg(dir);
        let (elapsed, stdout) = timed(&mut command, work)?;
        let bytes: u64 = stdout.trim().parse().with_context(|| format!("plain-fetch printed {stdout:?}"))?;
        ensure!(bytes >= (REMOTES * REMOTE_BYTES) as u64, "plain-fetch fetched only {bytes} bytes");
        Ok(elapsed)
    };
    let fresh = |name: &str| -> Result<PathBuf> {
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch)?;
        Ok(scratch.join(name))
    };
    install(&fresh("warm-install")?)?;
    download(&fresh("warm-download")?)?;
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            ours.push(install(&fresh("install")?)?);
            base.push(download(&fresh("download")?)?);
        } else {
            base.push(download(&fresh("download")?)?);
            ours.push(install(&fresh("install")?)?);
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok((ours, base))
}

/// Flushes the file system (untimed), then runs `command` to completion and
/// times it; fails on a non-zero exit.
fn timed(command: &mut Command, work: &Path) -> Result<(Duration, String)> {
    run_checked(Command::new("sync").arg("--file-system").arg(work))?;
    let started = Instant::now();
    let output = command.stdin(Stdio::null()).output().with_context(|| format!("running {command:?}"))?;
    let elapsed = started.elapsed();
    ensure!(
        output.status.success(),
        "{command:?} failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok((elapsed, String::from_utf8_lossy(&output.stdout).into_owned()))
}

/// `augment resolve --json` installed every remote from a registry it found online.
fn check_install(stdout: &str) -> Result<()> {
    let report: serde_json::Value =
        serde_json::from_str(stdout).with_context(|| format!("resolve --json printed {stdout:?}"))?;
    let state = report["registry"]["state"].as_str();
    ensure!(state == Some("online"), "the registry was not online: {}", report["registry"]);
    let remotes = report["remotes"].as_array().context("no remotes in the report")?;
    let installed = remotes.iter().filter(|remote| remote["verdict"] == "installed").count();
    ensure!(installed == REMOTES, "{installed} of {REMOTES} remotes installed: {stdout}");
    Ok(())
}

/// The two namespaces and the veth pair between them; dropping it deletes
/// both namespaces (and with them the veth pair and its qdiscs).
struct Link {
    client: String,
    server: String,
    /// The namespaces that exist now, for the cleanup.
    created: Vec<String>,
}

/// The veth ends' names inside their namespaces.
const CLIENT_IF: &str = "augc0";
const SERVER_IF: &str = "augs0";

impl Link {
    fn create() -> Result<Self> {
        let id = std::process::id();
        let mut link =
            Self { client: format!("augbench-{id}-c"), server: format!("augbench-{id}-s"), created: Vec::new() };
        for ns in [link.client.clone(), link.server.clone()] {
            command_ok("ip", &["netns", "add", &ns])?;
            link.created.push(ns);
        }
        let (c, s) = (link.client.as_str(), link.server.as_str());
        // Created inside the client namespace with its peer placed straight
        // into the server's: neither end ever exists in the machine's own.
        command_ok("ip", &["-n", c, "link", "add", CLIENT_IF, "type", "veth", "peer", "name", SERVER_IF, "netns", s])?;
        command_ok("ip", &["-n", c, "addr", "add", &format!("{CLIENT_ADDR}/30"), "dev", CLIENT_IF])?;
        command_ok("ip", &["-n", s, "addr", "add", &format!("{SERVER_ADDR}/30"), "dev", SERVER_IF])?;
        for (ns, dev) in [(c, CLIENT_IF), (s, SERVER_IF)] {
            command_ok("ip", &["-n", ns, "link", "set", dev, "up"])?;
            command_ok("ip", &["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(link)
    }

    /// Puts `qdisc` (e.g. `netem delay 1ms rate 1gbit`) on both ends' egress.
    fn shape(&self, qdisc: &[&str]) -> Result<()> {
        for (ns, dev) in [(&self.client, CLIENT_IF), (&self.server, SERVER_IF)] {
            let mut args = vec!["-n", ns.as_str(), "qdisc", "replace", "dev", dev, "root"];
            args.extend_from_slice(qdisc);
            command_ok("tc", &args)?;
        }
        Ok(())
    }

    /// `program` run inside the client namespace, with no proxy settings.
    fn in_client(&self, program: &Path) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.client]).arg(program);
        for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
            command.env_remove(var);
        }
        command.env_remove("AUGMENT_CACHE_DIR");
        command
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        for ns in self.created.iter().rev() {
            if let Err(err) = command_ok("ip", &["netns", "del", ns]) {
                eprintln!("bench_link: could not delete network namespace {ns}: {err:#}");
            }
        }
    }
}

/// Runs `program args…`; the error is the command line and its own words.
fn command_ok(program: &str, args: &[&str]) -> Result<()> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run `{program}`"))?;
    if !output.status.success() {
        bail!("`{program} {}`: {}", args.join(" "), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// A child process in the server namespace; killed when dropped.
struct Server(Child);

impl Server {
    fn start(link: &Link, bin: &Path, registry: &Path, key: &Path) -> Result<Self> {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &link.server])
            .arg(bin)
            .arg("--listen")
            .arg(format!("{SERVER_ADDR}:{SERVER_PORT}"))
            .arg("--dir")
            .arg(registry)
            .arg("--signing-key-file")
            .arg(key)
            .env("RUST_LOG", "warn");
        Self::spawn_until(command, "registry-server listening on ")
    }

    /// Starts `command` and waits until it prints a line starting with `ready`.
    fn spawn_until(mut command: Command, ready: &'static str) -> Result<Self> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {command:?}"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let server = Self(child);
        let (ready_tx, listening) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if line.starts_with(ready) {
                    let _ = ready_tx.send(line);
                    break;
                }
            }
            // Keep draining stdout so the child never blocks on a full pipe.
            for _ in lines {}
        });
        listening.recv_timeout(DEADLINE).with_context(|| format!("{command:?} did not print `{ready}…`"))?;
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `bench-core delay-link` in the server namespace, in front of the registry
/// server: the link's delay where the kernel cannot add it.
struct DelayLink {
    url: String,
    _child: Server,
}

impl DelayLink {
    fn start(link: &Link, bench_core: &Path, one_way_ms: u64) -> Result<Self> {
        let listen = format!("{SERVER_ADDR}:{}", SERVER_PORT + 1);
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &link.server]).arg(bench_core).arg("delay-link").arg(&listen);
        command.arg(format!("{SERVER_ADDR}:{SERVER_PORT}")).arg(one_way_ms.to_string());
        let child = Server::spawn_until(command, "delay-link listening on ")?;
        Ok(Self { url: format!("http://{listen}/"), _child: child })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_give_the_median_ratio_and_a_verdict() {
        let ms = |v: &[u64]| v.iter().map(|&m| Duration::from_millis(m)).collect::<Vec<_>>();
        let row = result_row("1 Gbit/s, 2 ms RTT", &ms(&[110, 100, 120]), &ms(&[100, 90, 95]), 1.15, "");
        assert!(
            row.contains("| 110 ms (110, 100, 120) | 95 ms (100, 90, 95) | 1.16× | ≤ 1.15× | **not met** |"),
            "{row}"
        );
        let row = result_row("x", &ms(&[100]), &ms(&[100]), 1.1, " (rate only)");
        assert!(row.ends_with("| 1.00× | ≤ 1.10× | met (rate only) |\n"), "{row}");
    }

    #[test]
    fn an_install_counts_only_with_every_remote_installed_from_an_online_registry() {
        let remotes: Vec<_> =
            (0..REMOTES).map(|i| serde_json::json!({"name": format!("remote-{i}"), "verdict": "installed"})).collect();
        let ok = serde_json::json!({"registry": {"url": "http://x/", "state": "online"}, "remotes": remotes});
        assert!(check_install(&ok.to_string()).is_ok());
        let stale = serde_json::json!({"registry": {"url": "http://x/", "state": "stale"}, "remotes": remotes});
        assert!(check_install(&stale.to_string()).is_err());
    }
}

/// Runs only this section (`cargo test -p xtask bench_link_only -- --ignored --nocapture`).
#[cfg(test)]
mod only {
    #[test]
    #[ignore = "needs root, builds release binaries and takes minutes; run on demand"]
    fn bench_link_only() {
        let section = super::run().unwrap();
        println!("{section}");
    }
}
