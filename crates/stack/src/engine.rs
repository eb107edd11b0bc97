//! Finding and connecting to a container engine: Docker or Podman's
//! Docker-compatible API, over a Unix socket or TCP.

use std::path::PathBuf;
use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, Docker};

use crate::StackError;

/// How long to wait for an engine to answer a ping: a live local engine
/// answers in milliseconds, and a dead socket should fail fast.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// Per-request limit once connected; image builds are the slowest requests.
const REQUEST_TIMEOUT_SECS: u64 = 300;

/// Which engine answered.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Docker,
    Podman,
}

/// A connected engine, with the API version agreed on.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) docker: Docker,
    endpoint: String,
    kind: EngineKind,
    version: String,
}

impl Engine {
    /// Connects to `DOCKER_HOST` when it is set (and only there: the caller
    /// chose it), else to the first of the usual sockets that answers:
    /// `/var/run/docker.sock`, `$XDG_RUNTIME_DIR/podman/podman.sock`,
    /// `/run/podman/podman.sock`, `$HOME/.docker/run/docker.sock`.
    pub async fn connect() -> Result<Self, StackError> {
        match std::env::var("DOCKER_HOST") {
            Ok(host) if !host.trim().is_empty() => Self::connect_to(host.trim()).await,
            _ => {
                let candidates = default_sockets();
                let mut last = "no socket found".to_owned();
                for socket in &candidates {
                    if !socket.exists() {
                        continue;
                    }
                    let host = format!("unix://{}", socket.display());
                    match Self::connect_to(&host).await {
                        Ok(engine) => return Ok(engine),
                        Err(err) => last = err.to_string(),
                    }
                }
                Err(StackError::EngineNotRunning {
                    tried: candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
                    reason: last,
                })
            }
        }
    }

    /// Connects to one address: `unix:///path`, `tcp://host:port` or `http://host:port`.
    pub async fn connect_to(host: &str) -> Result<Self, StackError> {
        let not_running = |reason: String| StackError::EngineNotRunning { tried: host.to_owned(), reason };
        let docker = if let Some(path) = host.strip_prefix("unix://") {
            Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
        } else {
            return Err(not_running("only unix:// and tcp:// addresses are supported".to_owned()));
        }
        .map_err(|e| not_running(e.to_string()))?;
        match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => return Err(not_running(root_cause(&err))),
            Err(_) => return Err(not_running(format!("no answer within {} s", PING_TIMEOUT.as_secs()))),
        }
        // The engine here speaks 1.41 while bollard defaults to newer: agree
        // on the lower of the two so every request is understood.
        let docker =
            docker.negotiate_version().await.map_err(|e| StackError::engine(host, "agreeing on an API version", e))?;
        let version = docker.version().await.map_err(|e| StackError::engine(host, "asking for its version", e))?;
        let podman = version.components.iter().flatten().any(|c| c.name.to_ascii_lowercase().contains("podman"));
        let kind = if podman { EngineKind::Podman } else { EngineKind::Docker };
        tracing::debug!(endpoint = host, ?kind, api = %docker.client_version(), "connected to the container engine");
        Ok(Engine { version: docker.client_version().to_string(), docker, endpoint: host.to_owned(), kind })
    }

    /// The address connected to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    /// The API version agreed on, e.g. `1.41`.
    pub fn api_version(&self) -> &str {
        &self.version
    }

    /// The bollard client, for callers (tests, tools) that need more.
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    pub(crate) fn err(&self, action: impl Into<String>, source: bollard::errors::Error) -> StackError {
        StackError::engine(&self.endpoint, action, source)
    }
}

fn default_sockets() -> Vec<PathBuf> {
    let mut sockets = vec![PathBuf::from("/var/run/docker.sock")];
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
        sockets.push(PathBuf::from(runtime).join("podman/podman.sock"));
    }
    sockets.push(PathBuf::from("/run/podman/podman.sock"));
    if let Some(home) = std::env::var_os("HOME") {
        sockets.push(PathBuf::from(home).join(".docker/run/docker.sock"));
    }
    sockets
}

/// The innermost cause of an error ("Connection refused (os error 111)"),
/// which says more than the outer "error trying to connect".
pub(crate) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
