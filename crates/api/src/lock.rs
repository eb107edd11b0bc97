//! Lock files: share an exact set of remote versions across machines, and
//! the permissions the team pre-approved for each.
//!
//! A remote's `grants` in a lock file are optional: a lock written before
//! grants existed, or one exported where the person was never asked about a
//! remote, applies as before and leaves that remote's grants alone (the
//! person is asked when it mounts). Grants present replace the remote's
//! grants once its versions install. The format version stays 1: older
//! builds ignore the field, which only means they ask.

use std::collections::{BTreeMap, BTreeSet};

use cache::{BundleCache, LockFile};
use manifest::HostProfile;
use serde::Serialize;

use crate::{
    ApiError, Progress, RegistryState, RegistryStatus, ResolveReport, ResolveRequest, parse_permissions,
    permission_names, resolve,
};

/// The active versions with their digests and registries, and each one's
/// grants when the person decided on them.
pub fn export_lock(cache: &BundleCache) -> Result<LockFile, ApiError> {
    Ok(LockFile::new(cache.lock_entries()?))
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockApplyReport {
    pub resolved: Vec<ResolveReport>,
    /// Remotes now pinned to the lock's versions.
    pub pinned: Vec<String>,
    /// Remotes whose grants the lock set.
    pub granted: Vec<String>,
}

/// Pins every remote of the lock to its version and resolves it from the
/// lock's registry, refusing any version whose files differ from the lock;
/// then records the grants the lock carries for the remotes that installed.
/// A grant naming a permission this build does not know refuses the whole
/// lock before anything is pinned, installed or granted.
pub async fn apply_lock(
    cache: &BundleCache,
    lock: &LockFile,
    trust: Option<&str>,
    profile: &HostProfile,
    progress: &dyn Progress,
) -> Result<LockApplyReport, ApiError> {
    let grants = checked_grants(lock)?;
    let mut by_registry: BTreeMap<&str, Vec<&cache::LockEntry>> = BTreeMap::new();
    for entry in &lock.remotes {
        by_registry.entry(entry.registry.as_str()).or_default().push(entry);
    }
    let mut report = LockApplyReport { resolved: Vec::new(), pinned: Vec::new(), granted: Vec::new() };
    let previous_pins = cache.pins()?;
    for (registry, entries) in by_registry {
        for entry in &entries {
            cache.pin(&entry.name, &entry.version)?;
        }
        let mut request = ResolveRequest::new(Some(registry.to_owned()), profile.clone());
        request.trust = trust.map(str::to_owned);
        request.wanted = entries.iter().map(|e| e.name.clone()).collect();
        request.expected_files = entries.iter().map(|e| (e.name.clone(), e.files.clone())).collect();
        // A lock installs exactly what it names: the cache standing in for
        // a failing registry is not that.
        let resolved = resolve(cache, &request, progress).await.and_then(|resolved| match resolved.registry.status {
            RegistryStatus { state: RegistryState::Online, reason: None, .. } => Ok(resolved),
            RegistryStatus { state, reason, .. } => Err(ApiError::RegistryNotUsable {
                registry: registry.to_owned(),
                refused: state == RegistryState::Refused,
                reason: reason.unwrap_or_default(),
            }),
        });
        match resolved {
            Ok(resolved) => {
                report.pinned.extend(entries.iter().map(|e| e.name.clone()));
                report.resolved.push(resolved);
                let installed: BTreeMap<String, BTreeSet<String>> =
                    entries.iter().filter_map(|e| Some((e.name.clone(), grants.get(&e.name)?.clone()))).collect();
                cache.set_grants_all(&installed)?;
                report.granted.extend(installed.into_keys());
            }
            Err(err) => {
                // Leave the pins as they were before this lock was applied.
                for entry in &entries {
                    match previous_pins.get(&entry.name) {
                        Some(version) => cache.pin(&entry.name, version)?,
                        None => {
                            cache.unpin(&entry.name)?;
                        }
                    }
                }
                return Err(err);
            }
        }
    }
    Ok(report)
}

/// The lock's grants by remote, each name checked against this build's
/// permissions and stored in its canonical spelling.
fn checked_grants(lock: &LockFile) -> Result<BTreeMap<String, BTreeSet<String>>, ApiError> {
    let mut out = BTreeMap::new();
    for entry in &lock.remotes {
        let Some(names) = &entry.grants else { continue };
        let permissions = parse_permissions(names)
            .map_err(|permission| ApiError::UnknownPermission { remote: entry.name.clone(), permission })?;
        out.insert(entry.name.clone(), permission_names(&permissions));
    }
    Ok(out)
}
