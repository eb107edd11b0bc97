//! Resolving from several registries at once, as the desktop app does: each
//! registry in priority order, merged so the first healthy registry that
//! offers a usable version of a remote wins (see [`merge`]); and the list of
//! installed versions with their marks.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::time::Duration;

use cache::BundleCache;
use manifest::HostProfile;
use serde::Serialize;

use crate::{ApiError, NoProgress, RegistryState, RegistryStatus, RemoteOutcome, ResolveReport, ResolveRequest};

/// One configured registry.
#[derive(Debug, Clone)]
pub struct RegistryEntry {
    /// A folder, `file://` or `http(s)://` URL.
    pub url: String,
    /// Trust anchor for a registry seen for the first time.
    pub trust: Option<String>,
}

/// How one registry of a [`resolve_registries`] answered.
#[derive(Debug)]
pub struct RegistryResult {
    pub url: String,
    /// `Err` when nothing at all could be served from it.
    pub status: Result<RegistryStatus, ApiError>,
}

/// What [`resolve_registries`] found: every registry's answer, in the order
/// given, and the winning outcome per remote, sorted by name.
#[derive(Debug)]
pub struct RegistriesReport {
    pub registries: Vec<RegistryResult>,
    pub remotes: Vec<RemoteOutcome>,
}

/// Resolves every registry in `registries` (or, with none, the whole cache
/// offline) and merges the outcomes. `offline` makes no request at all;
/// `timeout` bounds each request, so one hung registry cannot hold the rest.
///
/// A registry that fails is reported in its [`RegistryResult`] and the others
/// still count; only a cache failure is an error.
pub async fn resolve_registries(
    cache: &BundleCache,
    registries: &[RegistryEntry],
    profile: &HostProfile,
    offline: bool,
    timeout: Duration,
) -> Result<RegistriesReport, ApiError> {
    let mut reports = Vec::new();
    let mut results = Vec::new();
    if registries.is_empty() {
        let mut request = ResolveRequest::new(None, profile.clone());
        request.offline = true;
        reports.push(crate::resolve(cache, &request, &NoProgress).await?);
    }
    for (position, entry) in registries.iter().enumerate() {
        let mut request = ResolveRequest::new(Some(entry.url.clone()), profile.clone());
        request.trust = entry.trust.clone();
        // The same name and version with other files in a later registry
        // never replaces the earlier one's copy in the cache.
        request.yields_to = registries[..position].iter().map(|earlier| earlier.url.clone()).collect();
        request.offline = offline;
        request.timeout = Some(timeout);
        let status = match crate::resolve(cache, &request, &NoProgress).await {
            Ok(report) => {
                let status = report.registry.status.clone();
                reports.push(report);
                Ok(status)
            }
            Err(err) => {
                tracing::warn!(registry = %entry.url, %err, "registry check failed");
                Err(err)
            }
        };
        results.push(RegistryResult { url: entry.url.clone(), status });
    }
    let merged = merge(reports);
    if registries.len() > 1 {
        // A later registry's resolve may have activated its own version of a
        // remote the first one also offers: re-assert the winners.
        for outcome in merged.values() {
            if let Some(version) = &outcome.version {
                cache.set_active(&outcome.name, version)?;
            }
        }
    }
    Ok(RegistriesReport { registries: results, remotes: merged.into_values().collect() })
}

/// Per remote, in registry precedence order: the first registry that
/// verified fresh metadata and offers a usable version wins; when none did
/// (every registry that has it is offline, stale or refused), the first
/// registry whose cache has one. So a failing team registry falls back to
/// its mirror for updates, and the same name in two healthy registries is
/// the first one's. An incompatible outcome is kept only when no registry
/// offers a usable version.
fn merge(reports: Vec<ResolveReport>) -> BTreeMap<String, RemoteOutcome> {
    let mut merged: BTreeMap<String, (bool, RemoteOutcome)> = BTreeMap::new();
    for report in reports {
        let fresh = report.registry.status.state == RegistryState::Online;
        for outcome in report.remotes {
            let rank = (outcome.version.is_some(), fresh && outcome.version.is_some());
            let replace = match merged.get(&outcome.name) {
                None => true,
                Some((existing_fresh, existing)) => rank > (existing.version.is_some(), *existing_fresh),
            };
            if replace {
                merged.insert(outcome.name.clone(), (rank.1, outcome));
            }
        }
    }
    merged.into_iter().map(|(name, (_, outcome))| (name, outcome)).collect()
}

/// One remote's installed versions (newest first) and marks.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteVersions {
    pub name: String,
    pub active: Option<String>,
    pub pinned: Option<String>,
    pub last_known_good: Option<String>,
    pub versions: Vec<InstalledVersion>,
}

/// One installed version and where it came from.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "InstalledView"))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstalledVersion {
    pub version: String,
    pub registry: String,
    /// Unix seconds.
    pub installed_at: i64,
}

/// Every remote with installed versions, by name; its versions newest first
/// (by semver; a version that does not parse sorts by text, after).
pub fn installed_versions(cache: &BundleCache) -> Result<Vec<RemoteVersions>, ApiError> {
    let active = cache.active_all()?;
    let pins = cache.pins()?;
    let mut by_name: BTreeMap<String, RemoteVersions> = BTreeMap::new();
    for installed in cache.versions()? {
        let entry = match by_name.entry(installed.name.clone()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(slot) => slot.insert(RemoteVersions {
                active: active.get(&installed.name).cloned(),
                pinned: pins.get(&installed.name).cloned(),
                last_known_good: cache.last_known_good(&installed.name)?,
                name: installed.name.clone(),
                versions: Vec::new(),
            }),
        };
        entry.versions.push(InstalledVersion {
            version: installed.version,
            registry: installed.registry,
            installed_at: installed.installed_at,
        });
    }
    for remote in by_name.values_mut() {
        remote.versions.sort_by(|a, b| {
            match (a.version.parse::<manifest::Version>(), b.version.parse::<manifest::Version>()) {
                (Ok(a), Ok(b)) => b.cmp(&a),
                _ => b.version.cmp(&a.version),
            }
        });
    }
    Ok(by_name.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RegistryReport, Verdict};

    fn outcome(name: &str, version: Option<&str>, source: &str) -> RemoteOutcome {
        RemoteOutcome {
            name: name.into(),
            version: version.map(Into::into),
            source: Some(source.into()),
            verdict: if version.is_some() { Verdict::Cached } else { Verdict::Incompatible },
            pinned: false,
            reason: None,
        }
    }

    fn report(url: &str, state: RegistryState, remotes: Vec<RemoteOutcome>) -> ResolveReport {
        let mut status = RegistryStatus::offline_mode(None, None);
        status.state = state;
        ResolveReport { registry: RegistryReport { url: Some(url.into()), status }, remotes }
    }

    #[test]
    fn the_first_fresh_registry_with_a_usable_version_wins_then_the_first_cached_one() {
        let merged = merge(vec![
            report(
                "first",
                RegistryState::Stale,
                vec![outcome("a", Some("1.0.0"), "first"), outcome("b", Some("1.0.0"), "first")],
            ),
            report(
                "second",
                RegistryState::Online,
                vec![
                    outcome("a", Some("2.0.0"), "second"),
                    outcome("b", None, "second"),
                    outcome("c", Some("1.0.0"), "second"),
                ],
            ),
            report("third", RegistryState::Online, vec![outcome("c", Some("9.0.0"), "third")]),
        ]);
        // A stale first registry yields to a fresh second one for updates...
        assert_eq!(merged["a"].source.as_deref(), Some("second"));
        // ...but an incompatible outcome never replaces a usable cached one...
        assert_eq!(merged["b"].version.as_deref(), Some("1.0.0"));
        // ...and between two fresh registries the earlier one wins.
        assert_eq!(merged["c"].source.as_deref(), Some("second"));
    }

    #[test]
    fn an_incompatible_outcome_is_kept_only_when_nothing_usable_is_offered() {
        let merged = merge(vec![
            report("first", RegistryState::Online, vec![outcome("a", None, "first")]),
            report("second", RegistryState::Stale, vec![outcome("a", Some("1.0.0"), "second")]),
        ]);
        assert_eq!(merged["a"].version.as_deref(), Some("1.0.0"));
        let merged = merge(vec![report("first", RegistryState::Online, vec![outcome("a", None, "first")])]);
        assert_eq!(merged["a"].verdict, Verdict::Incompatible);
    }
}
