//! Lock files: share an exact set of remote versions across machines.

use std::collections::BTreeMap;

use cache::{BundleCache, LockFile};
use manifest::HostProfile;
use serde::Serialize;

use crate::{ApiError, Progress, RegistryState, RegistryStatus, ResolveReport, ResolveRequest, resolve};

/// The active versions with their digests and registries.
pub fn export_lock(cache: &BundleCache) -> Result<LockFile, ApiError> {
    Ok(LockFile::new(cache.lock_entries()?))
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockApplyReport {
    pub resolved: Vec<ResolveReport>,
    /// Remotes now pinned to the lock's versions.
    pub pinned: Vec<String>,
}

/// Pins every remote of the lock to its version and resolves it from the
/// lock's registry, refusing any version whose files differ from the lock.
pub async fn apply_lock(
    cache: &BundleCache,
    lock: &LockFile,
    trust: Option<&str>,
    profile: &HostProfile,
    progress: &dyn Progress,
) -> Result<LockApplyReport, ApiError> {
    let mut by_registry: BTreeMap<&str, Vec<&cache::LockEntry>> = BTreeMap::new();
    for entry in &lock.remotes {
        by_registry.entry(entry.registry.as_str()).or_default().push(entry);
    }
    let mut report = LockApplyReport { resolved: Vec::new(), pinned: Vec::new() };
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
