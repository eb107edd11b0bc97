//! The local stack's benchmarks for BENCHMARKS.md: `augment stack up` to all
//! healthy with the images present, against `docker start` of the same
//! containers (plus the same health wait) in the same run, and the size of
//! each image. Times are medians of a few rounds; the ratio is what to
//! compare across machines, since this one is shared and absolute numbers drift.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::engines;
use crate::{run_checked, workspace_root};

const ROUNDS: usize = 5;

/// Runs the benchmarks against a Docker engine (started if needed) and
/// returns a markdown section.
pub fn run() -> Result<String> {
    let docker = engines::ensure_docker()?;
    let bin_dir = engines::build_stack_binaries()?;
    let root = workspace_root();
    run_checked(Command::new("cargo").current_dir(&root).args(["build", "--locked", "-p", "cli"]))?;
    let augment = root.join("target/debug/augment");

    let work = tempfile::tempdir()?;
    let definition = work.path().join("stack.toml");
    let ports = free_ports(3)?;
    // The built-in definition with its own name and free ports, so a stack
    // the developer is running is left alone.
    let mut text = std::fs::read_to_string(root.join("docker/stack.toml"))?
        .replace("name = \"augment\"", "name = \"augment-bench\"");
    for (default, port) in [("47801", ports[0]), ("47802", ports[1]), ("47800", ports[2])] {
        text = text.replace(&format!("host_port = {default}"), &format!("host_port = {port}"));
    }
    std::fs::write(&definition, text)?;

    let stack = |args: &[&str]| -> Result<()> {
        let mut command = Command::new(&augment);
        command.args(["stack"]).args(args).arg("--definition").arg(&definition).env("AUGMENT_STACK_BIN_DIR", &bin_dir);
        docker.apply(&mut command);
        let output = command.output().context("running augment")?;
        if !output.status.success() {
            bail!("augment stack {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(())
    };
    let docker_cli = |args: &[&str]| -> Result<String> {
        let output =
            Command::new("docker").arg("-H").arg(docker.host()).args(args).output().context("running docker")?;
        if !output.status.success() {
            bail!("docker {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };

    // Build the images once (not timed) so every round has them present.
    stack(&["down"])?;
    stack(&["up"])?;
    let listing = docker_cli(&[
        "ps",
        "-a",
        "--filter",
        "label=it.augment.stack=augment-bench",
        "--format",
        "{{.Names}} {{.Image}}",
    ])?;
    let containers: Vec<(String, String)> =
        listing.lines().filter_map(|l| l.split_once(' ')).map(|(n, i)| (n.to_owned(), i.to_owned())).collect();
    let names: Vec<&str> = containers.iter().map(|(n, _)| n.as_str()).collect();
    stack(&["down"])?;

    let (mut fresh, mut stopped, mut baseline) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        // 1. No containers, images present: create, start, wait for health.
        let started = Instant::now();
        stack(&["up"])?;
        fresh.push(started.elapsed());
        // 2. Stopped containers: `up` starts and health-checks them.
        docker_cli(&[&["stop", "-t", "10"][..], &names].concat())?;
        let started = Instant::now();
        stack(&["up"])?;
        stopped.push(started.elapsed());
        // 3. The baseline: `docker start` of the same stopped containers,
        //    then the same wait for every /health to answer.
        docker_cli(&[&["stop", "-t", "10"][..], &names].concat())?;
        let started = Instant::now();
        docker_cli(&[&["start"][..], &names].concat())?;
        for &port in &ports {
            wait_healthy(port, Duration::from_secs(60))?;
        }
        baseline.push(started.elapsed());
        stack(&["down"])?;
    }
    let (fresh, stopped, baseline) = (median(fresh), median(stopped), median(baseline));

    let mut out = String::from("## Local stack (`augment stack up`)\n\n");
    out.push_str(&format!(
        "Docker engine on this machine, {ROUNDS} rounds, medians; three services (parsers, connector, gateway), images present.\n\n"
    ));
    out.push_str("| what | time | vs `docker start` |\n|---|---|---|\n");
    out.push_str(&format!(
        "| `docker start` of the 3 stopped containers + wait until every /health answers (baseline) | {} | 1.00× |\n",
        ms(baseline)
    ));
    out.push_str(&format!(
        "| `augment stack up` with the containers stopped, to all healthy | {} | {:.2}× |\n",
        ms(stopped),
        ratio(stopped, baseline)
    ));
    out.push_str(&format!("| `augment stack up` with no containers (create network, volumes, containers), to all healthy | {} | {:.2}× |\n", ms(fresh), ratio(fresh, baseline)));
    out.push_str("\nGoal: `stack up` within 1.5× of `docker start`.\n\n| image | size | binary |\n|---|---|---|\n");
    for (_, image) in &containers {
        let size: u64 = docker_cli(&["image", "inspect", "--format", "{{.Size}}", image])?.parse().unwrap_or(0);
        let binary = image.trim_start_matches("augment-it/").split(':').next().unwrap_or("");
        let binary_size = std::fs::metadata(bin_dir.join(binary)).map(|m| m.len()).unwrap_or(0);
        out.push_str(&format!("| `{image}` | {} | {} |\n", mib(size), mib(binary_size)));
    }
    out.push_str("\nImages are `FROM scratch` with one static binary (glibc, `+crt-static`, debug info stripped), so the image is the binary.\n");
    Ok(out)
}

fn wait_healthy(port: u16, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if health_ok(port) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    bail!("127.0.0.1:{port}/health did not answer within {} s", limit.as_secs())
}

fn health_ok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && &head[9..12] == b"200"
}

/// `count` different free loopback ports: each listener is held until the
/// last is bound, or the same port could be handed out twice. (The twin of
/// `test_support::free_loopback_ports`, which xtask does not depend on: it
/// keeps its build to four small crates.)
fn free_ports(count: usize) -> Result<Vec<u16>> {
    let listeners =
        (0..count).map(|_| std::net::TcpListener::bind("127.0.0.1:0")).collect::<std::io::Result<Vec<_>>>()?;
    Ok(listeners.iter().map(|l| l.local_addr().map(|a| a.port())).collect::<std::io::Result<_>>()?)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(f64::EPSILON)
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
