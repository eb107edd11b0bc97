//! What the commands share: the open cache, the settings file, the launch
//! registry; and the view of resolved remotes the UI renders.
//!
//! Resolving is `api::resolve_registries` over the configured registries, in
//! priority order; the same function serves the offline paint at start-up
//! (`offline`: cache only, no request at all) and the background check. What
//! is left here is the view: manifests, dev overrides, isolation and grants.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use api::{RegistryStatus, RemoteOutcome, Verdict};
use cache::BundleCache;
use manifest::{HostProfile, Permission, RemoteManifest};
use serde::Serialize;

use crate::dev_mode::{self, DevOverrideView, DevOverrides, DevTarget};
use crate::error::{CommandError, CommandResult};
use crate::isolation;
use crate::scheme;
use crate::settings::{RegistryConfig, SettingsFile};
use crate::ui_state::UiStateFile;

/// The registry check gives up on a registry after this long and uses the
/// cache: one bounded probe, never a hang at start-up.
const REGISTRY_TIMEOUT: Duration = Duration::from_secs(10);

/// Managed Tauri state.
#[derive(Debug)]
pub struct ShellState {
    pub cache: Arc<BundleCache>,
    pub settings: SettingsFile,
    /// The last screen and the theme (ui.json beside settings.json).
    pub ui: UiStateFile,
    /// `--registry`/`AUGMENT_REGISTRY`: used first, never saved.
    pub launch_registry: Option<RegistryConfig>,
    /// An installed package's seed registry (`packaged.rs`): used only while
    /// no other registry is configured, never saved.
    pub seed_registry: Option<RegistryConfig>,
    pub profile: HostProfile,
    /// Dev mode: remotes served from a folder or a loopback dev server.
    pub dev: DevOverrides,
    checking: Arc<AtomicBool>,
    /// Counts grant changes (see [`ShellView::grants_revision`]).
    grants_revision: AtomicU64,
}

impl ShellState {
    pub fn open(cache_dir: &Path, config_dir: &Path, launch_registry: Option<RegistryConfig>) -> anyhow::Result<Self> {
        let cache =
            BundleCache::open(cache_dir).with_context(|| format!("opening the cache in {}", cache_dir.display()))?;
        Ok(Self {
            cache: Arc::new(cache),
            settings: SettingsFile::new(config_dir),
            ui: UiStateFile::new(config_dir),
            launch_registry,
            seed_registry: None,
            profile: HostProfile::builtin(),
            dev: DevOverrides::default(),
            checking: Arc::new(AtomicBool::new(false)),
            grants_revision: AtomicU64::new(0),
        })
    }

    /// Call after each change of a remote's grants, once it is stored.
    pub fn grants_changed(&self) {
        self.grants_revision.fetch_add(1, Ordering::SeqCst);
    }

    /// Sets the package's seed registry (see [`Self::seed_registry`]).
    pub fn with_seed_registry(self, seed_registry: Option<RegistryConfig>) -> Self {
        Self { seed_registry, ..self }
    }

    /// Sets this launch's dev overrides (see [`crate::dev_mode`]).
    pub fn with_dev_overrides(self, dev: DevOverrides) -> Self {
        Self { dev, ..self }
    }

    /// The registries to resolve from, in priority order: the launch
    /// registry, then the saved ones; the seed registry when there is
    /// neither, so a fresh install opens the product offline. A team that
    /// points the app at its registry replaces the seed, so a remote the
    /// team withdrew never comes back from it.
    pub fn registries(&self) -> CommandResult<Vec<(RegistryConfig, bool)>> {
        Ok(self.with_launch_registry(self.settings.load()?.registries))
    }

    fn with_launch_registry(&self, saved: Vec<RegistryConfig>) -> Vec<(RegistryConfig, bool)> {
        let mut out: Vec<(RegistryConfig, bool)> = self.launch_registry.iter().cloned().map(|r| (r, true)).collect();
        for saved in saved {
            if !out.iter().any(|(r, _)| r.url == saved.url) {
                out.push((saved, false));
            }
        }
        if out.is_empty() {
            out.extend(self.seed_registry.iter().cloned().map(|r| (r, true)));
        }
        out
    }

    /// The registries to resolve from and what in the settings could not be
    /// used: a settings file that is not settings at all leaves the launch
    /// registry, so the app still starts and says why (issue 20, point 6).
    pub fn registries_reporting(&self) -> (Vec<(RegistryConfig, bool)>, Vec<String>) {
        let (saved, mut problems) = match self.settings.load_reporting() {
            Ok((settings, problems)) => (settings.registries, problems),
            Err(err) => (Vec::new(), vec![err.message]),
        };
        problems.extend(self.dev.skipped().iter().map(|err| format!("{err}; skipped")));
        (self.with_launch_registry(saved), problems)
    }

    /// Marks a registry check as running; `None` when one already is.
    pub fn begin_check(&self) -> Option<CheckGuard> {
        let was_running = self.checking.swap(true, Ordering::AcqRel);
        (!was_running).then(|| CheckGuard(self.checking.clone()))
    }
}

/// Clears the "check running" flag when dropped.
#[derive(Debug)]
pub struct CheckGuard(Arc<AtomicBool>);

impl Drop for CheckGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Everything the shell shows about remotes and registries.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShellView {
    /// `false` for the cache-only paint at start-up.
    pub checked: bool,
    pub registries: Vec<RegistryView>,
    pub remotes: Vec<RemoteView>,
    /// Saved settings that could not be used and were skipped, each saying
    /// what and why (the shell shows them as notices).
    pub problems: Vec<String>,
    /// Every permission a remote may ask for and what granting it allows.
    #[cfg_attr(test, ts(type = "Record<string, string>"))]
    pub permission_descriptions: BTreeMap<&'static str, &'static str>,
    /// How many grant changes this view's grants include. A background check
    /// that read the grants before the person answered a consent prompt must
    /// not bring the prompt back, so the page never shows the remotes of a
    /// view older than one it has shown (it reads the cache again instead).
    pub grants_revision: u64,
}

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryView {
    pub url: String,
    /// Given on the command line rather than in the settings.
    pub from_launch: bool,
    pub status: Option<RegistryStatus>,
    pub error: Option<CommandError>,
}

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteView {
    pub name: String,
    pub version: Option<String>,
    /// The `mfe://` URL of the Module Federation entry.
    pub entry_url: Option<String>,
    pub exposes: Vec<String>,
    pub display_name: Option<String>,
    /// The registry the version came from.
    pub source: Option<String>,
    pub verdict: Verdict,
    pub pinned: bool,
    pub last_known_good: Option<String>,
    /// Why a newer version was passed over, or why none fits.
    pub reason: Option<String>,
    /// Set when dev mode serves this remote from a folder or dev server.
    pub dev_override: Option<DevOverrideView>,
    /// Runs in a sandboxed iframe, reaching the host only through the
    /// grant-checked bridge (see [`crate::isolation`]).
    pub sandboxed: bool,
    /// What the shown version declares in its `remote.json`.
    #[cfg_attr(test, ts(type = "Array<PermissionName>"))]
    pub permissions: Vec<Permission>,
    /// What the person granted; `None` when they were never asked.
    #[cfg_attr(test, ts(type = "Array<PermissionName> | null"))]
    pub granted: Option<Vec<Permission>>,
    /// A newer version that asks for more than was granted.
    pub held_back: Option<isolation::HeldBack>,
}

/// Resolves every configured registry (or, with none configured, the whole
/// cache) and builds the view. `offline` makes no request at all.
pub async fn resolve_view(state: &ShellState, offline: bool) -> CommandResult<ShellView> {
    let (registries, problems) = state.registries_reporting();
    let cache = &*state.cache;
    let entries: Vec<api::RegistryEntry> = registries
        .iter()
        .map(|(config, _)| api::RegistryEntry { url: config.url.clone(), trust: config.trust.clone() })
        .collect();
    let report = api::resolve_registries(cache, &entries, &state.profile, offline, REGISTRY_TIMEOUT).await?;
    let registry_views = report
        .registries
        .into_iter()
        .zip(&registries)
        .map(|(result, (_, from_launch))| {
            let (status, error) = match result.status {
                Ok(status) => (Some(status), None),
                Err(err) => (None, Some(err.into())),
            };
            RegistryView { url: result.url, from_launch: *from_launch, status, error }
        })
        .collect();
    let mut remotes =
        report.remotes.into_iter().map(|outcome| remote_view(cache, outcome)).collect::<CommandResult<_>>()?;
    apply_dev_overrides(&mut remotes, &state.dev);
    // Sources are recorded as the registry's canonical form (a folder as a file:// URL).
    let trusted: Vec<String> = registries
        .iter()
        .filter(|(config, from_launch)| *from_launch || config.trusted)
        .filter_map(|(config, _)| registry::RegistrySource::parse(&config.url).ok().map(|source| source.to_string()))
        .collect();
    // Read before the grants: the view holds at least every change counted.
    let grants_revision = state.grants_revision.load(Ordering::SeqCst);
    isolation::apply(cache, &state.profile, &trusted, &mut remotes)?;
    let permission_descriptions = Permission::ALL.iter().map(|p| (p.as_str(), p.describe())).collect();
    Ok(ShellView {
        checked: !offline,
        registries: registry_views,
        remotes,
        problems,
        permission_descriptions,
        grants_revision,
    })
}

fn remote_view(cache: &BundleCache, outcome: RemoteOutcome) -> CommandResult<RemoteView> {
    let manifest = match &outcome.version {
        Some(version) => cache
            .version(&outcome.name, version)?
            .map(|installed| RemoteManifest::from_json(installed.manifest_json.as_bytes()))
            .transpose()
            .map_err(|err| {
                CommandError::new(crate::error::ErrorCode::Cache, format!("{} {version}: {err}", outcome.name))
            })?,
        None => None,
    };
    let entry_url = match (&outcome.version, &manifest) {
        (Some(version), Some(manifest)) => Some(scheme::url_for(&outcome.name, version, &manifest.entry)),
        _ => None,
    };
    Ok(RemoteView {
        last_known_good: cache.last_known_good(&outcome.name)?,
        entry_url,
        exposes: manifest.as_ref().map(|m| m.exposes.clone()).unwrap_or_default(),
        permissions: manifest.as_ref().map(|m| m.permissions.iter().copied().collect()).unwrap_or_default(),
        display_name: manifest.and_then(|m| m.display_name),
        name: outcome.name,
        version: outcome.version,
        source: outcome.source,
        verdict: outcome.verdict,
        pinned: outcome.pinned,
        reason: outcome.reason,
        dev_override: None,
        sandboxed: false,
        granted: None,
        held_back: None,
    })
}

/// Points each overridden remote at its folder or dev server, adding the
/// remotes no registry offers. Only the view changes: the cache, pins and
/// known-good marks stay as the registry left them.
fn apply_dev_overrides(remotes: &mut Vec<RemoteView>, dev: &DevOverrides) {
    for (name, dev_override) in dev.iter() {
        let manifest = match &dev_override.target {
            DevTarget::Folder(folder) => dev_mode::read_manifest(name, folder)
                .inspect_err(|err| tracing::warn!(%err, "dev override: remote.json not readable now"))
                .ok(),
            DevTarget::Url(_) => None,
        };
        let view = match remotes.iter().position(|r| &r.name == name) {
            Some(at) => &mut remotes[at],
            None => {
                remotes.push(RemoteView {
                    name: name.clone(),
                    version: None,
                    entry_url: None,
                    exposes: Vec::new(),
                    display_name: None,
                    source: None,
                    verdict: Verdict::Cached,
                    pinned: false,
                    last_known_good: None,
                    reason: None,
                    dev_override: None,
                    sandboxed: false,
                    permissions: Vec::new(),
                    granted: None,
                    held_back: None,
                });
                let last = remotes.len() - 1;
                &mut remotes[last]
            }
        };
        let entry = match manifest {
            Some(manifest) => {
                view.version = Some(manifest.version.to_string());
                view.exposes = manifest.exposes;
                view.permissions = manifest.permissions.into_iter().collect();
                view.display_name = manifest.display_name.or(view.display_name.take());
                manifest.entry
            }
            None => DEFAULT_ENTRY.to_owned(),
        };
        if view.version.is_none() {
            view.version = Some("dev".to_owned());
        }
        view.entry_url = Some(dev_mode::entry_url(name, dev_override, &entry));
        // The badge names the folder or URL; no registry is the source.
        view.source = None;
        view.reason = None;
        view.dev_override = Some(dev_override.into());
    }
    remotes.sort_by(|a, b| a.name.cmp(&b.name));
}

/// The entry file when a folder's remote.json cannot be read (mid-rebuild).
const DEFAULT_ENTRY: &str = "remoteEntry.js";

/// Checks a remote name and version from the UI.
pub fn checked_ref(name: &str, version: Option<&str>) -> CommandResult<()> {
    manifest::validate_remote_name(name).map_err(CommandError::invalid)?;
    if let Some(version) = version {
        manifest::Version::parse(version)
            .map_err(|err| CommandError::invalid(format!("{version:?} is not a version: {err}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    fn registry(url: &str) -> RegistryConfig {
        RegistryConfig { url: url.to_owned(), trust: None, trusted: false }
    }

    fn urls(state: &ShellState) -> Vec<String> {
        state.registries().unwrap().into_iter().map(|(config, _)| config.url).collect()
    }

    #[test]
    fn the_seed_registry_serves_only_while_nothing_else_is_configured() {
        let dirs = tempfile::tempdir().unwrap();
        let open = |launch: Option<RegistryConfig>| {
            ShellState::open(&dirs.path().join("cache"), &dirs.path().join("config"), launch)
                .unwrap()
                .with_seed_registry(Some(registry("/usr/lib/Augment-It/seed-registry")))
        };
        assert_eq!(urls(&open(None)), ["/usr/lib/Augment-It/seed-registry"]);
        assert_eq!(urls(&open(Some(registry("https://launch.example")))), ["https://launch.example"]);

        let state = open(None);
        state
            .settings
            .save(&Settings { registries: vec![registry("https://team.example")], ..Default::default() })
            .unwrap();
        assert_eq!(urls(&state), ["https://team.example"]);
    }
}
