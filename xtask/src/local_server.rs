//! What the throw-away servers of one `cargo xtask test` run (PostgreSQL,
//! Redis) have in common: a free loopback port, waiting for readiness with a
//! deadline, the log's tail when they fail, and a stop by signal that
//! escalates to a kill.

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// The last lines of a server's log, for an error message.
pub fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Polls `ready` until it holds, failing early with the log's tail if the
/// server exits, or at `deadline`.
pub fn wait_until_ready(
    name: &str,
    child: &mut Child,
    log: &Path,
    deadline: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<()> {
    let started = Instant::now();
    while started.elapsed() < deadline {
        if ready() {
            eprintln!("xtask: {name} ready after {:.1} s", started.elapsed().as_secs_f64());
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            bail!("{name} exited with {status} before it was ready:\n{}", log_tail(log));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{name} was not ready within {} s:\n{}", deadline.as_secs(), log_tail(log))
}

/// Sends `signal` (the server's own "stop now") and waits up to 20 s for
/// the exit, then kills it.
pub fn stop(name: &str, child: &mut Child, signal: &str) {
    let _ = std::process::Command::new("kill").args([signal, &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            eprintln!("xtask: stopped {name}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
