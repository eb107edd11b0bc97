//! The local stack: the sidecar services (parsers, connector, gateway) as
//! containers on this machine, through the Docker Engine API (bollard) of
//! Docker or Podman.
//!
//! ```text
//! StackDefinition (docker/stack.toml) ──▶ Stack::up ──▶ images from static binaries (no pull)
//!                                                   ├─▶ labelled network, volumes, containers
//!                                                   └─▶ each service's /health polled on 127.0.0.1
//! ```
//!
//! What holds everywhere:
//!
//! - everything created carries [`LABEL_STACK`]`=<stack name>`; [`Stack::down`]
//!   removes containers, networks and volumes with that label and nothing else;
//! - ports are published on `127.0.0.1` only;
//! - every container gets the stack's access token ([`StackToken`], made by
//!   the first `up`), which the gateway and connector require; the app's
//!   Rust side reads it with [`Stack::access_token`] to call the gateway;
//! - state is never kept on disk: [`Stack::status`] and [`Stack::up`] ask the
//!   engine, so a new process (or the app after a restart) sees the same stack;
//! - [`Stack::up`] is idempotent: running healthy containers are left alone,
//!   stopped ones started, unhealthy ones restarted, ones whose image or
//!   settings changed recreated;
//! - health is polled over loopback by this crate rather than read from the
//!   engine, because Podman's health status stays `starting` without systemd;
//! - every check that can refuse (engine, binaries, ports) runs before the
//!   first change, so a refused `up` leaves nothing behind;
//! - the binaries come from a folder given by the caller, an installed
//!   package, or this source checkout, where [`prepare_binaries`] builds
//!   them first (one `cargo build`, [`static_build`], shared with xtask;
//!   progress line by line) so `up` works on the first try;
//! - every image and container carries [`LABEL_VERSION`], this program's
//!   [`VERSION`]: [`Stack::status`] reports a stack made by another version
//!   ([`VersionMismatch`]) and [`Stack::up`] recreates its containers.
//!
//! Services may belong to profiles ([`StackDefinition::with_profiles`],
//! [`Stack::with_profiles`]): `monitoring` adds a Prometheus built from the
//! Debian package on this machine ([`monitoring`]) that scrapes the others.
//!
//! [`import`] routes a records import through the stack's `parsers` service
//! when the stack is healthy and parses in process when it is not.

mod binaries;
mod definition;
mod engine;
mod error;
mod images;
pub mod import;
mod lifecycle;
mod log_lines;
pub mod monitoring;
pub mod static_build;

pub use binaries::{
    BinLocation, BinOrigin, BinariesPlan, BuildPolicy, PreparedBinaries, checkout_root, locate_binaries,
    missing_binaries, plan_binaries, prepare_binaries,
};
pub use definition::{BUILT_IN, ServiceDefinition, StackDefinition, ToolImage};
pub use engine::{Engine, EngineKind};
pub use error::StackError;
pub use images::{
    Binary, IMAGE_PREFIX, PREBUILT_DOCKERFILE, bin_dir, default_bin_dir, ensure_image, ensure_tool_image, is_static,
};
pub use lifecycle::{
    Action, DownReport, EngineInfo, Health, ServiceStatus, ServiceUp, Stack, StackStatus, StackToken, State, TOKEN_ENV,
    UpReport, VersionMismatch, version_mismatch,
};
pub use log_lines::LineSplitter;
pub use monitoring::locate_prometheus;

/// On every container, network and volume: the stack's name.
pub const LABEL_STACK: &str = "it.augment.stack";
/// On every container: the service it runs.
pub const LABEL_SERVICE: &str = "it.augment.service";
/// On every container: a hash of everything it was created from, so `up`
/// can tell a container whose image or settings changed.
pub const LABEL_CONFIG: &str = "it.augment.config";
/// On every image the stack builds.
pub const LABEL_MANAGED: &str = "it.augment.managed";
/// On every image and container: the version of the program (the app or
/// `augment`) that made it, so `status` can say when the running stack and
/// this program disagree and `up` recreates the containers of another version.
pub const LABEL_VERSION: &str = "it.augment.version";
/// This program's version: the workspace's, which the app, `augment` and the
/// services share.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
