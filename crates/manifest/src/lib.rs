//! The remote manifest and the compatibility rules, with no I/O.
//!
//! A built remote carries a `remote.json` ([`RemoteManifest`]) that says which
//! host API and which shared singletons it needs. The shell describes what it
//! provides with a [`HostProfile`]. [`select`] picks, for each wanted remote, the
//! newest version that fits the host, every shared range, the `requires` of the
//! other selected remotes and any pin, and records why newer versions were
//! passed over. The same rules run before mount, in the CLI and at publish
//! time, so they live here and nowhere else. A manifest also declares the
//! [`Permission`]s its remote needs from the host.

mod host;
mod permissions;
mod remote;
mod select;

pub use host::HostProfile;
pub use permissions::{Permission, UnknownPermission};
pub use remote::{MAX_MANIFEST_BYTES, ManifestError, RemoteManifest, validate_bundle_path, validate_remote_name};
pub use select::{Candidate, Chosen, Incompatibility, SelectError, Selection, SelectionRequest, Skipped, select};

/// Re-exported so callers name the same semver types as the manifest does.
pub use semver::{Version, VersionReq};
