//! Container engines for the stack tests and benchmarks: a Docker daemon and
//! Podman's Docker-compatible service on sockets under /tmp, installed if
//! missing, started if not already answering, and stopped again when the
//! [`EngineGuard`] is dropped (only if this process started them).
//!
//! Nothing here sets process environment variables (that is `unsafe` in
//! edition 2024, which the workspace forbids): pass [`EngineGuard::env`] to
//! the commands that need it, e.g. `guard.apply(&mut Command::new("cargo"))`.
//!
//! ```ignore
//! let docker = engines::ensure_docker()?;
//! let podman = engines::ensure_podman()?;
//! let bins = engines::build_stack_binaries()?;
//! let mut test = Command::new("cargo");
//! test.args(["test", "-p", "integration-tests", "--test", "stack"]).env("AUGMENT_STACK_BIN_DIR", &bins);
//! docker.apply(&mut test);
//! podman.apply(&mut test);
//! run_checked(&mut test)?;
//! ```

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{run_checked, workspace_root};

pub const DOCKER_SOCKET: &str = "/tmp/docker.sock";
pub const PODMAN_SOCKET: &str = "/tmp/podman.sock";
/// How long a daemon may take to answer after starting (dockerd's first
/// start initialises its data root; a few seconds here).
const START_DEADLINE: Duration = Duration::from_secs(90);

/// The build of the static service binaries, the same one `augment stack up`
/// runs in a checkout: the stack crate's file, included rather than depended
/// on so xtask does not compile bollard and reqwest.
#[path = "../../crates/stack/src/static_build.rs"]
#[allow(dead_code)] // xtask uses the build, not every helper the stack crate does
mod static_build;

/// A running engine. Stops it on drop if this process started it.
#[derive(Debug)]
pub struct EngineGuard {
    name: &'static str,
    variable: &'static str,
    host: String,
    child: Option<Child>,
}

impl EngineGuard {
    /// `unix:///tmp/docker.sock` or `unix:///tmp/podman.sock`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The variable the tests read it from (`DOCKER_HOST` or `AUGMENT_PODMAN_HOST`) and its value.
    pub fn env(&self) -> (&'static str, String) {
        (self.variable, self.host.clone())
    }

    /// Sets [`env`](Self::env) on `command`.
    pub fn apply<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        let (variable, value) = self.env();
        command.env(variable, value)
    }
}

impl Drop for EngineGuard {
    fn drop(&mut self) {
        let Some(child) = self.child.as_mut() else { return };
        // SIGTERM first so the daemon stops its containers and cleans up.
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                eprintln!("xtask: stopped {}", self.name);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A Docker daemon on unix:///tmp/docker.sock (exported as `DOCKER_HOST`).
pub fn ensure_docker() -> Result<EngineGuard> {
    let host = format!("unix://{DOCKER_SOCKET}");
    let guard = |child| EngineGuard { name: "dockerd", variable: "DOCKER_HOST", host: host.clone(), child };
    if ping(Path::new(DOCKER_SOCKET)) {
        return Ok(guard(None));
    }
    ensure_packages(&[("dockerd", "docker.io"), ("runc", "runc")])?;
    let pid_file = Path::new("/tmp/dockerd.pid");
    // dockerd refuses to start over the pid file of a daemon that died.
    if let Ok(pid) = std::fs::read_to_string(pid_file)
        && !Path::new("/proc").join(pid.trim()).exists()
    {
        let _ = std::fs::remove_file(pid_file);
    }
    let _ = std::fs::remove_file(DOCKER_SOCKET);
    let log = std::fs::File::create("/tmp/dockerd.log").context("creating /tmp/dockerd.log")?;
    let child = Command::new("dockerd")
        .args(["--host", &host, "--data-root", "/tmp/docker-data", "--pidfile"])
        .arg(pid_file)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting dockerd")?;
    let mut guard = guard(Some(child));
    wait_until_answering(&mut guard, Path::new(DOCKER_SOCKET), "/tmp/dockerd.log")?;
    Ok(guard)
}

/// Podman's Docker-compatible API on unix:///tmp/podman.sock (exported as
/// `AUGMENT_PODMAN_HOST`), with runc and explicit ulimits as this machine needs.
pub fn ensure_podman() -> Result<EngineGuard> {
    let host = format!("unix://{PODMAN_SOCKET}");
    let guard = |child| EngineGuard {
        name: "podman system service",
        variable: "AUGMENT_PODMAN_HOST",
        host: host.clone(),
        child,
    };
    if ping(Path::new(PODMAN_SOCKET)) {
        return Ok(guard(None));
    }
    // netavark + aardvark-dns give containers DNS names on a network (the
    // gateway reaches `parsers` by name); they are only recommended by podman.
    ensure_packages(&[
        ("podman", "podman"),
        ("runc", "runc"),
        ("/usr/lib/podman/netavark", "netavark"),
        ("/usr/lib/podman/aardvark-dns", "aardvark-dns"),
    ])?;
    write_containers_conf()?;
    let _ = std::fs::remove_file(PODMAN_SOCKET);
    let log = std::fs::File::create("/tmp/podman-service.log").context("creating /tmp/podman-service.log")?;
    let child = Command::new("podman")
        .args(["system", "service", "--time=0", &host])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting podman system service")?;
    let mut guard = guard(Some(child));
    wait_until_answering(&mut guard, Path::new(PODMAN_SOCKET), "/tmp/podman-service.log")?;
    Ok(guard)
}

/// Builds the static parsers, gateway, connector, registry-server and auth-service binaries
/// the images are made from, once per xtask run, and returns their folder
/// (give it to the tests and `augment stack up` as `AUGMENT_STACK_BIN_DIR`).
/// It is the build `augment stack up` runs in a checkout
/// (`static_build::build`: same packages, flags and target), so neither
/// recompiles what the other built.
pub fn build_stack_binaries() -> Result<PathBuf> {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    if let Some(dir) = BUILT.get() {
        return Ok(dir.clone());
    }
    let root = workspace_root();
    eprintln!("xtask: {}", static_build::command_line());
    let built =
        static_build::build(&root, &mut |line| eprintln!("{line}")).context("building the static service binaries")?;
    Ok(BUILT.get_or_init(|| built.dir).clone())
}

/// Polls the socket until the engine answers `/_ping`, failing early with
/// the log's tail if the daemon exits.
fn wait_until_answering(guard: &mut EngineGuard, socket: &Path, log: &str) -> Result<()> {
    let started = Instant::now();
    while started.elapsed() < START_DEADLINE {
        if ping(socket) {
            eprintln!(
                "xtask: {} answering on {} after {:.1} s",
                guard.name,
                guard.host,
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if let Some(child) = guard.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            bail!("{} exited with {status} before answering:\n{}", guard.name, tail(log));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("{} did not answer on {} within {} s:\n{}", guard.name, guard.host, START_DEADLINE.as_secs(), tail(log))
}

/// Whether an engine answers `GET /_ping` with 200 on this Unix socket.
pub fn ping(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    if stream.write_all(b"GET /_ping HTTP/1.0\r\nHost: engine\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 16];
    let mut read = 0;
    while read < head.len() {
        match stream.read(&mut head[read..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    let head = String::from_utf8_lossy(&head[..read]);
    head.starts_with("HTTP/1.") && head.get(9..12) == Some("200")
}

fn tail(log: &str) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// Podman needs explicit ulimits and runc on this kind of machine (see
/// ENVIRONMENT.md). An existing file is kept if it already says so.
fn write_containers_conf() -> Result<()> {
    let path = Path::new("/etc/containers/containers.conf");
    let wanted =
        "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1000:1000\"]\n[engine]\nruntime = \"runc\"\n";
    match std::fs::read_to_string(path) {
        Ok(existing) if existing.contains("runtime = \"runc\"") && existing.contains("default_ulimits") => Ok(()),
        Ok(_) => bail!(
            "{} exists without the settings Podman needs here; add these lines to it and run again:\n{wanted}",
            path.display()
        ),
        Err(_) => {
            std::fs::create_dir_all("/etc/containers")?;
            std::fs::write(path, wanted).with_context(|| format!("writing {}", path.display()))
        }
    }
}

/// Installs the Debian package of each program that is not found.
pub fn ensure_packages(needed: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> =
        needed.iter().filter(|(program, _)| !on_path(program)).map(|(_, package)| *package).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    let install = |command: &mut Command| {
        run_checked(command.args(["install", "-y", "-qq"]).args(&missing).env("DEBIAN_FRONTEND", "noninteractive"))
    };
    if install(&mut Command::new("apt-get")).is_err() {
        // A fresh machine has no package lists yet.
        run_checked(Command::new("apt-get").args(["update", "-qq"])).context("apt-get update")?;
        install(&mut Command::new("apt-get")).context("apt-get install")?;
    }
    Ok(())
}

pub(crate) fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).exists();
    }
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
