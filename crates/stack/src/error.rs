use std::path::PathBuf;

/// Everything the stack can fail at, each with what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    /// No engine answered at any address tried.
    #[error("Docker is not running: start Docker Desktop or Podman, or set DOCKER_HOST (tried {tried}: {reason})")]
    EngineNotRunning {
        /// The addresses tried, comma-separated.
        tried: String,
        /// Why the last one failed.
        reason: String,
    },

    /// An engine answered but a request failed.
    #[error("the container engine at {endpoint} failed while {action}: {source}")]
    Engine {
        endpoint: String,
        action: String,
        #[source]
        source: bollard::errors::Error,
    },

    /// A host port the stack publishes is taken by something else.
    #[error(
        "port {port} on 127.0.0.1 is already in use, so {service} cannot be published there: stop whatever listens on it (`ss -ltnp 'sport = :{port}'` shows it), or give {service} another host_port in the stack definition"
    )]
    PortInUse { service: String, port: u16 },

    /// The stack definition is invalid.
    #[error("the stack definition {origin} is invalid: {reason}")]
    Definition { origin: String, reason: String },

    /// The definition file could not be read.
    #[error("could not read the stack definition {path}: {source}")]
    DefinitionRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A service binary is unusable.
    #[error(
        "{reason}: {path}; point --bin-dir (or AUGMENT_STACK_BIN_DIR) at a folder holding the static service binaries (an installed Augment-It has them in /usr/lib/Augment-It/stack-bin; in a source checkout `augment stack up` builds them)"
    )]
    Binary { path: PathBuf, reason: String },

    /// Service binaries are not in the folder `up` would take them from.
    #[error("the service binaries {} are not in {dir}: {what_to_do}", missing.join(", "))]
    BinariesMissing { dir: PathBuf, missing: Vec<String>, what_to_do: String },

    /// Building the service binaries in a source checkout failed.
    #[error(
        "building the service binaries in {workspace} failed: {reason}\nFix the build, or run the same command by hand to see everything: {command}"
    )]
    BinariesBuild { command: String, workspace: PathBuf, reason: String },

    /// The engine refused to build an image.
    #[error("building the image {image} failed: {reason}")]
    Build { image: String, reason: String },

    /// A service did not become healthy before the deadline.
    #[error(
        "{service} did not become healthy within {seconds} s ({url}: {last_error}); see `augment stack logs {service}`{logs}"
    )]
    Unhealthy {
        service: String,
        url: String,
        seconds: u64,
        last_error: String,
        /// The container's last log lines, prefixed with a newline, or empty.
        logs: String,
    },

    /// A service's container stopped while the stack waited for it.
    #[error("{service} exited with code {exit_code} while starting; its last log lines:{logs}")]
    Exited { service: String, exit_code: i64, logs: String },

    /// The service is not part of the stack.
    #[error("no service `{service}` in the stack {stack}; its services are: {}", known.join(", "))]
    UnknownService { stack: String, service: String, known: Vec<String> },

    /// A profile no service of the stack names.
    #[error("no service of the stack {stack} has the profile `{profile}`; its profiles are: {}", if known.is_empty() { "none".to_owned() } else { known.join(", ") })]
    UnknownProfile { stack: String, profile: String, known: Vec<String> },

    /// A tool an image is built from is not installed here.
    #[error("{tool} was not found ({tried}): {remedy}")]
    ToolMissing { tool: String, tried: String, remedy: String },

    /// The service has no container (the stack is not up).
    #[error("{service} has no container in the stack {stack}: start it with `augment stack up`")]
    NotCreated { stack: String, service: String },

    /// Local I/O while preparing a build context.
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
}

impl StackError {
    pub(crate) fn engine(endpoint: &str, action: impl Into<String>, source: bollard::errors::Error) -> Self {
        StackError::Engine { endpoint: endpoint.to_owned(), action: action.into(), source }
    }

    /// A stable machine-readable code for user interfaces and `--json`.
    pub fn code(&self) -> &'static str {
        match self {
            StackError::EngineNotRunning { .. } => "engine_not_running",
            StackError::Engine { .. } => "engine_error",
            StackError::PortInUse { .. } => "port_in_use",
            StackError::Definition { .. } | StackError::DefinitionRead { .. } => "invalid_definition",
            StackError::Binary { .. } | StackError::BinariesMissing { .. } => "binary_missing",
            StackError::BinariesBuild { .. } => "binary_build_failed",
            StackError::Build { .. } => "build_failed",
            StackError::Unhealthy { .. } => "unhealthy",
            StackError::Exited { .. } => "exited",
            StackError::UnknownService { .. } => "unknown_service",
            StackError::NotCreated { .. } => "not_created",
            StackError::UnknownProfile { .. } => "unknown_profile",
            StackError::ToolMissing { .. } => "tool_missing",
            StackError::Io { .. } => "io",
        }
    }
}
