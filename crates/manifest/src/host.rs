use std::collections::BTreeMap;

use semver::Version;
use serde::{Deserialize, Serialize};

/// What the shell provides to remotes: its host-API version and the shared
/// singletons (package → exact version) it loads once for everybody.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostProfile {
    pub host_api: Version,
    pub shared: BTreeMap<String, Version>,
}

impl HostProfile {
    /// The profile of this build of the shell. The shell UI, the CLI and the
    /// publish-time check all use it, so a remote is judged the same way
    /// everywhere.
    pub fn builtin() -> Self {
        let shared = [
            ("react", Version::new(19, 2, 0)),
            ("react-dom", Version::new(19, 2, 0)),
            ("@augment-it/ui-kit", Version::new(1, 3, 0)),
            ("@augment-it/host-client", Version::new(1, 0, 0)),
            ("@augment-it/messaging", Version::new(1, 0, 0)),
        ];
        Self {
            host_api: Version::new(1, 11, 0),
            shared: shared.into_iter().map(|(name, version)| (name.to_owned(), version)).collect(),
        }
    }
}
