//! The flows that the CLI, the desktop app and the services share.
//!
//! `manifest`, `registry` and `cache` each do one job; this crate composes
//! them the one way every front end needs: refresh a registry's signed
//! metadata (or fall back to the cache when it cannot be reached), select
//! versions against the host profile and the pins, and install what is
//! missing. Front ends stay thin: they parse input, call one function here and
//! render the report.

mod error;
mod lock;
mod paths;
mod permissions;
mod progress;
mod registries;
mod resolve;
mod status;
mod verify;

pub use error::{ApiError, ErrorKind};
pub use lock::{LockApplyReport, apply_lock, export_lock};
pub use paths::default_cache_dir;
pub use permissions::{parse_permissions, permission_names};
pub use progress::{NoProgress, Progress, ProgressEvent};
pub use registries::{
    InstalledVersion, RegistriesReport, RegistryEntry, RegistryResult, RemoteVersions, installed_versions,
    resolve_registries,
};
pub use resolve::{RegistryReport, RemoteOutcome, ResolveReport, ResolveRequest, Verdict, resolve};
pub use status::{RegistryState, RegistryStatus};
pub use verify::{SourceFinding, SourceReport, verify_sources};
