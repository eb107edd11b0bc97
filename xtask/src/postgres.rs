//! A PostgreSQL server for one `cargo xtask test` run (the auth service's
//! suites run on it as well as on SQLite): the Debian package's binaries,
//! installed if missing, a cluster made by `initdb` in a temp dir, listening
//! on a free loopback port with trust authentication (nothing else can
//! reach 127.0.0.1 here, and the data is thrown away), stopped and deleted
//! when the [`PostgresGuard`] drops. Tests make a database of their own on
//! it, so they never collide.
//!
//! `initdb` and `postgres` refuse to run as root, so as root they run as the
//! `postgres` user the package creates (through `setpriv`, which execs, so
//! the child we hold is the server itself and our signal reaches it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::engines::ensure_packages;
use crate::local_server::{self, free_port};
use crate::run_checked;

/// The variable the tests read the server's URL from.
pub const URL_ENV: &str = "AUGMENT_TEST_POSTGRES_URL";
/// The user the server runs as when we are root (the Debian package makes it).
const SYSTEM_USER: &str = "postgres";
const START_DEADLINE: Duration = Duration::from_secs(60);

/// A running server; stops it (fast shutdown) and deletes its data on drop.
#[derive(Debug)]
pub struct PostgresGuard {
    url: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl PostgresGuard {
    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sets [`URL_ENV`] on `command`.
    pub fn apply<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command.env(URL_ENV, self.url())
    }
}

impl Drop for PostgresGuard {
    fn drop(&mut self) {
        // SIGINT is PostgreSQL's "fast" shutdown: clients are disconnected, no waiting for them.
        local_server::stop(&format!("PostgreSQL ({})", self.dir.path().display()), &mut self.child, "-INT");
    }
}

/// Starts a fresh server (installing the `postgresql` package if its
/// binaries are missing) and waits until it accepts connections.
pub fn start() -> Result<PostgresGuard> {
    let bin = match find_bin_dir() {
        Some(bin) => bin,
        None => {
            ensure_packages(&[("/usr/lib/postgresql", "postgresql")])?;
            find_bin_dir()
                .context("the postgresql package is installed but no initdb was found under /usr/lib/postgresql")?
        }
    };
    let root = crate::setup::is_root();
    let dir =
        tempfile::Builder::new().prefix("augment-postgres-").tempdir().context("making a temp dir for PostgreSQL")?;
    if root {
        run_checked(Command::new("chown").arg(format!("{SYSTEM_USER}:{SYSTEM_USER}")).arg(dir.path())).with_context(
            || format!("handing {} to the {SYSTEM_USER} user (the postgresql package makes it)", dir.path().display()),
        )?;
    }
    let as_server_user = |program: &Path| {
        if root {
            let mut command = Command::new("setpriv");
            command.args(["--reuid", SYSTEM_USER, "--regid", SYSTEM_USER, "--init-groups"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    };
    let data = dir.path().join("data");
    let log_path = dir.path().join("server.log");
    let init = as_server_user(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        .output()
        .context("running initdb")?;
    if !init.status.success() {
        bail!("initdb failed: {}{}", String::from_utf8_lossy(&init.stdout), String::from_utf8_lossy(&init.stderr));
    }
    let port = free_port()?;
    let log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let child = as_server_user(&bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        // The socket in the temp dir: /var/run/postgresql may not exist or be writable.
        .arg("-k")
        .arg(dir.path())
        .args(["-c", "listen_addresses=127.0.0.1", "-p", &port.to_string()])
        // Throw-away data: no fsync; room for every test's connection pool.
        .args(["-c", "fsync=off", "-c", "max_connections=300"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting postgres")?;
    let mut guard = PostgresGuard { url: format!("postgres://postgres@127.0.0.1:{port}/postgres"), child, dir };
    wait_until_accepting(&mut guard, &bin, port, &log_path)?;
    Ok(guard)
}

/// The folder with `initdb` and `postgres`: the one `initdb` on PATH lives
/// in (following its symlink), else the newest /usr/lib/postgresql/<version>/bin.
fn find_bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join("initdb")).find(|initdb| initdb.is_file()));
    if let Some(bin) =
        on_path.and_then(|initdb| initdb.canonicalize().ok()).and_then(|initdb| initdb.parent().map(Path::to_path_buf))
        && bin.join("postgres").is_file()
    {
        return Some(bin);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").is_file() && bin.join("postgres").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Polls `pg_isready` until the server accepts connections, failing early
/// with the log's tail if it exits.
fn wait_until_accepting(guard: &mut PostgresGuard, bin: &Path, port: u16, log: &Path) -> Result<()> {
    local_server::wait_until_ready(
        &format!("PostgreSQL on 127.0.0.1:{port}"),
        &mut guard.child,
        log,
        START_DEADLINE,
        || {
            Command::new(bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|status| status.success())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts a real server, so not part of `cargo test --workspace` (which
    /// runs inside `cargo xtask test`, next to the run's own server).
    #[test]
    #[ignore = "starts a PostgreSQL server: cargo test -p xtask postgres -- --ignored"]
    fn a_server_starts_answers_and_is_gone_after_the_guard_drops() -> Result<()> {
        let guard = start()?;
        let url = guard.url().to_owned();
        let port =
            url.rsplit(':').next().and_then(|rest| rest.split('/').next()).context("a port in the URL")?.to_owned();
        let bin = find_bin_dir().context("binaries")?;
        let ready = |bin: &Path| {
            Command::new(bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port])
                .status()
                .is_ok_and(|s| s.success())
        };
        assert!(ready(&bin), "accepting connections at {url}");
        let data = guard.dir.path().to_path_buf();
        drop(guard);
        assert!(!ready(&bin), "stopped after the guard dropped");
        assert!(!data.exists(), "its data deleted");
        Ok(())
    }
}
