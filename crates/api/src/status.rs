//! How a registry answered a resolve, in the words every front end shows:
//! online, offline, stale or refused, with the reason and when its signed
//! metadata last verified.

use serde::Serialize;

/// The four states a registry can be in after a resolve.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RegistryState {
    /// Fresh signed metadata was verified by this resolve.
    Online,
    /// Nothing answered (no connection, a connection dropped, a missing
    /// folder) or offline mode was asked for: the verified cache serves.
    Offline,
    /// The registry answered, but not with anything usable: an HTTP error,
    /// an HTML or malformed page, a timeout or a trickle, an expired
    /// snapshot or root. The verified cache serves.
    Stale,
    /// An answer failed verification (signature, rollback, hash or length,
    /// unsafe path): it was not used and trusted state did not change. The
    /// verified cache serves.
    Refused,
}

/// The registry's state after a resolve (`registry` in `resolve --json`).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryStatus {
    pub state: RegistryState,
    /// Why it is not online, or which remotes could not be updated, in words
    /// a person can act on; `None` when everything worked.
    pub reason: Option<String>,
    /// When fresh signed metadata from it last verified (unix seconds).
    pub last_verified_at: Option<i64>,
    /// When it last answered at all (unix seconds).
    pub last_reached_at: Option<i64>,
    /// The newest snapshot version verified (for a stale registry, the
    /// highest ever accepted).
    pub snapshot_version: Option<u64>,
}

impl RegistryStatus {
    /// No registry was asked: `--offline`, or the shell's cache-only paint.
    pub fn offline_mode(last_verified_at: Option<i64>, last_reached_at: Option<i64>) -> Self {
        Self {
            state: RegistryState::Offline,
            reason: Some("offline mode".into()),
            last_verified_at,
            last_reached_at,
            snapshot_version: None,
        }
    }
}

/// How a failure of the registry is shown: nothing answered (offline), the
/// answer was unusable (stale) or it failed verification (refused).
pub(crate) fn state_for(err: &registry::RegistryError, source: &registry::RegistrySource) -> RegistryState {
    use registry::RegistryError as E;
    let missing_folder = matches!(
        (err, source),
        (E::NotFound { .. }, registry::RegistrySource::Folder(folder)) if !folder.join("root.json").exists()
    );
    // A connection refused or dropped (before or during an answer) is the
    // network, not the registry: offline, like a missing folder.
    if missing_folder || matches!(err, E::Unreachable { .. } | E::Transfer { .. }) {
        return RegistryState::Offline;
    }
    if err.is_refusal() { RegistryState::Refused } else { RegistryState::Stale }
}
