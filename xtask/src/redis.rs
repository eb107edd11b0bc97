//! A Redis server for one `cargo xtask test` run (the gateway's shared rate
//! limits are tested on it): the Debian package's `redis-server`, installed
//! if missing, on a free loopback port with no persistence (`--save ''
//! --appendonly no`) and its working dir in a temp dir, stopped when the
//! [`RedisGuard`] drops. Tests use keys of their own, so they never collide.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::engines::ensure_packages;
use crate::local_server;

/// The variable the tests read the server's URL from.
pub const URL_ENV: &str = "AUGMENT_TEST_REDIS_URL";
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A running server; stops it and deletes its dir on drop.
#[derive(Debug)]
pub struct RedisGuard {
    url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl RedisGuard {
    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sets [`URL_ENV`] on `command`.
    pub fn apply<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command.env(URL_ENV, self.url())
    }
}

impl Drop for RedisGuard {
    fn drop(&mut self) {
        // SIGTERM: with nothing to save, Redis exits at once.
        local_server::stop(&format!("Redis ({})", self.url), &mut self.child, "-TERM");
    }
}

/// Starts a fresh server (installing `redis-server` if missing) and waits
/// until it answers PING.
pub fn start() -> Result<RedisGuard> {
    ensure_packages(&[("redis-server", "redis-server")])?;
    let dir = tempfile::Builder::new().prefix("augment-redis-").tempdir().context("making a temp dir for Redis")?;
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let port = local_server::free_port()?;
    let child = Command::new("redis-server")
        .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1", "--port", &port.to_string()])
        .arg("--dir")
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting redis-server")?;
    let mut guard = RedisGuard { url: format!("redis://127.0.0.1:{port}"), child, _dir: dir };
    local_server::wait_until_ready(
        &format!("Redis on 127.0.0.1:{port}"),
        &mut guard.child,
        &log_path,
        START_DEADLINE,
        || pings(port),
    )?;
    Ok(guard)
}

/// Whether the server answers `PING` with `+PONG` (RESP, no client needed).
fn pings(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts a real server, so not part of `cargo test --workspace` (which
    /// runs inside `cargo xtask test`, next to the run's own server).
    #[test]
    #[ignore = "starts a Redis server: cargo test -p xtask redis -- --ignored"]
    fn a_server_starts_answers_and_is_gone_after_the_guard_drops() -> Result<()> {
        let guard = start()?;
        let port: u16 = guard.url().rsplit(':').next().context("a port in the URL")?.parse()?;
        assert!(pings(port), "answers at {}", guard.url());
        let dir = guard._dir.path().to_path_buf();
        drop(guard);
        assert!(!pings(port), "stopped after the guard dropped");
        assert!(!dir.exists(), "its dir deleted");
        Ok(())
    }
}
