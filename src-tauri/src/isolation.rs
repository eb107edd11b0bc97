//! Which realm a remote runs in, and what the person granted it (issue 15,
//! points 2 and 3).
//!
//! - A remote installed from a **trusted** registry (the launch registry, or
//!   a saved one marked `trusted`, which only a natively confirmed
//!   `save_settings` can do) or served by a dev override runs in the shell's
//!   page through Module Federation, sharing React and the shell's modules:
//!   first-party code, as able as the shell itself.
//! - Every other remote is **sandboxed**: it runs in an iframe with an
//!   opaque origin and no Tauri internals (`scheme.rs`, `@sandbox` pages) and
//!   reaches Rust only through the shell page's bridge, whose every call
//!   `grants::check_remote_call` checks against the person's grants.
//!
//! Consent works like browser extensions: a sandboxed remote the person was
//! never asked about shows its permissions and mounts only once they are
//! granted; a newer version that asks for more is held back, and the newest
//! cached version within the grants is shown, until the person accepts.

use std::collections::BTreeSet;

use cache::BundleCache;
use manifest::{HostProfile, Permission, RemoteManifest, Version};
use serde::Serialize;

use crate::error::CommandResult;
use crate::scheme;
use crate::shell::RemoteView;

/// A newer version waiting for the person to grant what it adds.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldBack {
    pub version: String,
    /// The permissions it asks for beyond the granted ones.
    #[cfg_attr(test, ts(type = "Array<PermissionName>"))]
    pub adds: Vec<Permission>,
}

/// Sets each view's realm and grants, holding back versions that ask for
/// more than was granted. `trusted_sources` are the URLs of trusted registries.
pub fn apply(
    cache: &BundleCache,
    profile: &HostProfile,
    trusted_sources: &[String],
    remotes: &mut [RemoteView],
) -> CommandResult<()> {
    for view in remotes.iter_mut() {
        let trusted = view.dev_override.is_some() || view.source.as_ref().is_some_and(|s| trusted_sources.contains(s));
        view.sandboxed = !trusted;
        if trusted || view.version.is_none() {
            view.granted = Some(view.permissions.clone());
            continue;
        }
        let decision = cache.grant_decision(&view.name)?;
        let granted: Option<BTreeSet<Permission>> =
            decision.map(|names| names.iter().filter_map(|name| name.parse().ok()).collect());
        view.granted = granted.as_ref().map(|set| set.iter().copied().collect());
        let Some(granted) = granted else { continue };
        let adds: Vec<Permission> = view.permissions.iter().filter(|p| !granted.contains(p)).copied().collect();
        if adds.is_empty() {
            continue;
        }
        if let Some((version, manifest)) = newest_within(cache, profile, &view.name, &granted)? {
            let held = view.version.replace(version.to_string()).unwrap_or_default();
            view.entry_url = Some(scheme::url_for(&view.name, &version.to_string(), &manifest.entry));
            view.exposes = manifest.exposes;
            view.permissions = manifest.permissions.into_iter().collect();
            view.held_back = Some(HeldBack { version: held, adds });
        } else {
            // Nothing cached fits the grants: the person is asked again, for the new set.
            view.held_back = Some(HeldBack { version: view.version.clone().unwrap_or_default(), adds });
        }
    }
    Ok(())
}

/// The newest cached version of `name` that fits this app and asks for no
/// more than `granted`.
fn newest_within(
    cache: &BundleCache,
    profile: &HostProfile,
    name: &str,
    granted: &BTreeSet<Permission>,
) -> CommandResult<Option<(Version, RemoteManifest)>> {
    let mut best: Option<(Version, RemoteManifest)> = None;
    for installed in cache.versions()?.into_iter().filter(|v| v.name == name) {
        // A cached manifest that no longer parses is simply not a candidate.
        let Ok(manifest) = RemoteManifest::from_json(installed.manifest_json.as_bytes()) else { continue };
        let fits = manifest.host_api.matches(&profile.host_api)
            && manifest
                .shared
                .iter()
                .all(|(package, needs)| profile.shared.get(package).is_some_and(|v| needs.matches(v)))
            && manifest.permissions.is_subset(granted);
        if fits && best.as_ref().is_none_or(|(version, _)| manifest.version > *version) {
            best = Some((manifest.version.clone(), manifest));
        }
    }
    Ok(best)
}
