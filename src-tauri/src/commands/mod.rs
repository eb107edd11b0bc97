//! IPC commands, one module per domain. Each command validates its input,
//! calls one crate function (through [`crate::shell`] for resolving), and
//! returns data or a `{ code, message }` error.

pub mod charts;
pub mod data;
pub mod datastores;
pub mod files;
pub mod grants;
pub mod hooks;
pub mod keys;
pub mod remotes;
pub mod runs;
pub mod settings;
pub mod stack;
pub mod stack_metrics;
pub mod team;

/// Events the shell emits to the UI.
pub mod events {
    /// A background registry check finished; payload: `ShellView`.
    pub const REGISTRY_CHECKED: &str = "registry-checked";
    /// A background registry check failed as a whole; payload: `CommandError`.
    pub const REGISTRY_CHECK_FAILED: &str = "registry-check-failed";
    /// A provider call is waiting to retry (e.g. rate limited); payload: `keys::ProgressEvent`.
    pub const PROVIDER_PROGRESS: &str = "provider-progress";
    /// A step of a run (sending, answered, progress, finished …); payload: `runs::RunEvent`.
    pub const RUN_EVENT: &str = "run-event";
    /// A dev-override folder changed; payload: `dev_mode::DevRemoteChanged`.
    pub const DEV_REMOTE_CHANGED: &str = "dev-remote-changed";
}
