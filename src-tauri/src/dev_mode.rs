//! Dev mode: a remote overridden by a local folder (a built `dist/` with its
//! `remote.json`) or by a dev server on this machine.
//!
//! Overrides come from the settings (`devOverrides`) and from
//! `--dev-remote NAME=PATH_OR_URL` at launch (the flag wins). They are read
//! once at start-up: a dev-server origin has to be in the page's CSP, and the
//! CSP is fixed when the window opens. Folder overrides are served by the
//! `mfe` scheme under `/@dev/<remote>/<revision>/<path>`, read straight from
//! the folder and never written into the cache; [`crate::dev_watch`] bumps
//! the revision when a file changes, so every module of the remote (not only
//! its entry) gets a fresh URL and the webview evaluates it again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use manifest::RemoteManifest;
use serde::Serialize;
use tauri::Url;
use tauri::utils::config::{Csp, CspDirectiveSources};

/// The scheme path prefix of folder overrides; `@` cannot start a remote
/// name, so these paths never collide with cached versions.
pub const DEV_PREFIX: &str = "@dev";

/// The hosts a dev-server override may name: this machine only.
const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1"];

/// The CSP directives a dev-server origin is added to: what a Vite dev
/// server serves to a remote (modules, styles, assets, HMR socket).
const DEV_SERVER_DIRECTIVES: &[&str] = &["script-src", "style-src", "img-src", "font-src", "connect-src"];

/// Why an override was refused. Each message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DevOverrideError {
    #[error("dev override {0:?} must look like NAME=PATH_OR_URL, e.g. alpha=./remotes/alpha/dist")]
    Syntax(String),
    #[error("dev override of {remote:?}: {reason}")]
    Remote { remote: String, reason: String },
}

impl DevOverrideError {
    fn remote(remote: &str, reason: impl Into<String>) -> Self {
        Self::Remote { remote: remote.to_owned(), reason: reason.into() }
    }
}

/// Where an overridden remote comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevTarget {
    /// A built remote: the canonical folder holding `remote.json`.
    Folder(PathBuf),
    /// The URL of the remote's entry module on a loopback dev server.
    Url(Url),
}

/// Splits `NAME=PATH_OR_URL` (the `--dev-remote` flag).
pub fn parse_flag(flag: &str) -> Result<(String, String), DevOverrideError> {
    match flag.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() && !value.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(DevOverrideError::Syntax(flag.to_owned())),
    }
}

/// Checks the shape of an override without touching the disk (for saving settings).
pub fn validate_syntax(remote: &str, value: &str) -> Result<(), DevOverrideError> {
    manifest::validate_remote_name(remote).map_err(|reason| DevOverrideError::remote(remote, reason))?;
    if looks_like_url(value) {
        parse_dev_server_url(remote, value)?;
    } else if value.trim().is_empty() {
        return Err(DevOverrideError::remote(remote, "the folder path is empty"));
    }
    Ok(())
}

fn looks_like_url(value: &str) -> bool {
    value.contains("://")
}

/// A dev-server URL: `http(s)://localhost[:PORT]/…` or `127.0.0.1` only,
/// so dev mode can never make the shell run code from another machine.
pub fn parse_dev_server_url(remote: &str, value: &str) -> Result<Url, DevOverrideError> {
    let url = Url::parse(value)
        .map_err(|err| DevOverrideError::remote(remote, format!("{value:?} is not a valid URL ({err})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(DevOverrideError::remote(
            remote,
            format!("{value:?}: a dev server is reached over http:// or https://, or give a folder path"),
        ));
    }
    let host = url.host_str().unwrap_or_default();
    if !LOOPBACK_HOSTS.contains(&host) {
        return Err(DevOverrideError::remote(
            remote,
            format!(
                "{value:?}: a dev server must run on this machine (localhost or 127.0.0.1), not {host:?}; publish to a registry to use a remote from elsewhere"
            ),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DevOverrideError::remote(remote, "a dev-server URL carries no user or password"));
    }
    if url.path() == "/" || url.path().ends_with('/') {
        return Err(DevOverrideError::remote(
            remote,
            format!("{value:?}: give the URL of the remote's entry module, e.g. http://localhost:5173/remoteEntry.js"),
        ));
    }
    Ok(url)
}

/// A folder override: it must exist and hold the `remote.json` of `remote`.
fn parse_folder(remote: &str, value: &str, base: &Path) -> Result<(PathBuf, RemoteManifest), DevOverrideError> {
    let folder = base.join(value);
    let folder = folder.canonicalize().map_err(|err| {
        DevOverrideError::remote(remote, format!("the folder {} cannot be opened ({err})", folder.display()))
    })?;
    if !folder.is_dir() {
        return Err(DevOverrideError::remote(remote, format!("{} is not a folder", folder.display())));
    }
    let manifest = read_manifest(remote, &folder)?;
    Ok((folder, manifest))
}

/// The folder's `remote.json`, checked to be the overridden remote's.
pub fn read_manifest(remote: &str, folder: &Path) -> Result<RemoteManifest, DevOverrideError> {
    let path = folder.join("remote.json");
    let bytes = std::fs::read(&path).map_err(|err| {
        DevOverrideError::remote(
            remote,
            format!("{} is missing or unreadable ({err}): point at the remote's built dist/ folder", path.display()),
        )
    })?;
    let manifest = RemoteManifest::from_json(&bytes)
        .map_err(|err| DevOverrideError::remote(remote, format!("{}: {err}", path.display())))?;
    if manifest.name != remote {
        return Err(DevOverrideError::remote(
            remote,
            format!("{} is the manifest of {:?}, not of {remote:?}", path.display(), manifest.name),
        ));
    }
    Ok(manifest)
}

/// One active override and its reload counter.
#[derive(Debug)]
pub struct DevOverride {
    pub target: DevTarget,
    /// Bumped on every change in the folder; part of the served URLs.
    revision: AtomicU64,
}

impl DevOverride {
    pub fn revision(&self) -> u64 {
        self.revision.load(Ordering::Acquire)
    }

    /// Records a change and returns the new revision.
    pub fn bump(&self) -> u64 {
        self.revision.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// What the UI shows in the "dev override" badge.
    pub fn shown(&self) -> String {
        match &self.target {
            DevTarget::Folder(folder) => folder.display().to_string(),
            DevTarget::Url(url) => url.to_string(),
        }
    }
}

/// Every override of this launch, by remote name.
#[derive(Debug, Default, Clone)]
pub struct DevOverrides {
    by_remote: Arc<BTreeMap<String, DevOverride>>,
    /// Saved overrides that could not be used (a folder gone, a bad URL): skipped, reported.
    skipped: Arc<Vec<DevOverrideError>>,
}

impl DevOverrides {
    /// Merges the saved overrides with the launch flags (a flag wins) and
    /// checks each one. Relative folders are taken from `base` (the current directory).
    ///
    /// A bad flag is an error: the person starting the app typed it and is
    /// told at once. A bad saved override (settings.json can be written from
    /// the page, and folders go away) never stops the app: it is skipped and
    /// listed in [`DevOverrides::skipped`] (issue 20, point 6).
    pub fn resolve(saved: &BTreeMap<String, String>, flags: &[String], base: &Path) -> Result<Self, DevOverrideError> {
        let mut wanted: BTreeMap<String, (String, bool)> =
            saved.iter().map(|(remote, value)| (remote.clone(), (value.clone(), false))).collect();
        for flag in flags {
            let (remote, value) = parse_flag(flag)?;
            wanted.insert(remote, (value, true));
        }
        let mut by_remote = BTreeMap::new();
        let mut skipped = Vec::new();
        for (remote, (value, from_flag)) in wanted {
            match target(&remote, &value, base) {
                Ok(target) => {
                    by_remote.insert(remote, DevOverride { target, revision: AtomicU64::new(0) });
                }
                Err(err) if from_flag => return Err(err),
                Err(err) => {
                    tracing::warn!(%err, "settings: a saved dev override cannot be used; skipped");
                    skipped.push(err);
                }
            }
        }
        Ok(Self { by_remote: Arc::new(by_remote), skipped: Arc::new(skipped) })
    }

    /// The saved overrides this launch skipped, and why.
    pub fn skipped(&self) -> &[DevOverrideError] {
        &self.skipped
    }

    pub fn is_empty(&self) -> bool {
        self.by_remote.is_empty()
    }

    pub fn get(&self, remote: &str) -> Option<&DevOverride> {
        self.by_remote.get(remote)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &DevOverride)> {
        self.by_remote.iter()
    }

    /// The folder overrides, for the watcher.
    pub fn folders(&self) -> Vec<(String, PathBuf)> {
        self.iter()
            .filter_map(|(remote, o)| match &o.target {
                DevTarget::Folder(folder) => Some((remote.clone(), folder.clone())),
                DevTarget::Url(_) => None,
            })
            .collect()
    }

    /// The origins of the dev-server overrides (what the CSP must allow).
    pub fn dev_server_origins(&self) -> Vec<String> {
        let mut origins: Vec<String> = self
            .iter()
            .filter_map(|(_, o)| match &o.target {
                DevTarget::Url(url) => Some(url.origin().ascii_serialization()),
                DevTarget::Folder(_) => None,
            })
            .collect();
        origins.sort();
        origins.dedup();
        origins
    }

    /// The folder of a folder override of `remote`.
    pub fn folder(&self, remote: &str) -> Option<&Path> {
        match &self.get(remote)?.target {
            DevTarget::Folder(folder) => Some(folder),
            DevTarget::Url(_) => None,
        }
    }
}

/// Checks one override and finds its folder or dev server.
fn target(remote: &str, value: &str, base: &Path) -> Result<DevTarget, DevOverrideError> {
    validate_syntax(remote, value)?;
    Ok(if looks_like_url(value) {
        DevTarget::Url(parse_dev_server_url(remote, value)?)
    } else {
        DevTarget::Folder(parse_folder(remote, value, base)?.0)
    })
}

/// The URL the shell mounts an overridden remote from, at its current revision.
pub fn entry_url(remote: &str, dev: &DevOverride, entry: &str) -> String {
    match &dev.target {
        DevTarget::Folder(_) => format!("{}/{DEV_PREFIX}/{remote}/{}/{entry}", crate::scheme::ORIGIN, dev.revision()),
        DevTarget::Url(url) => url.to_string(),
    }
}

/// How the UI marks an overridden remote.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DevOverrideView {
    /// `folder` or `url`.
    #[cfg_attr(test, ts(type = "\"folder\" | \"url\""))]
    pub kind: &'static str,
    /// The folder path or the dev-server URL, shown in the badge.
    pub target: String,
}

impl From<&DevOverride> for DevOverrideView {
    fn from(dev: &DevOverride) -> Self {
        let kind = match dev.target {
            DevTarget::Folder(_) => "folder",
            DevTarget::Url(_) => "url",
        };
        Self { kind, target: dev.shown() }
    }
}

/// The event a folder change sends to the UI; payload of `dev-remote-changed`.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DevRemoteChanged {
    pub remote: String,
    pub revision: u64,
    pub entry_url: String,
}

/// The configured CSP with each dev-server origin added to the directives a
/// remote needs, and its WebSocket twin to `connect-src` (HMR). With no
/// dev-server override the CSP is returned unchanged: the widening exists
/// only for the launches that ask for it.
pub fn widen_csp(csp: Csp, origins: &[String]) -> Csp {
    if origins.is_empty() {
        return csp;
    }
    let mut directives: std::collections::HashMap<String, CspDirectiveSources> = csp.into();
    for directive in DEV_SERVER_DIRECTIVES {
        let sources = directives.entry((*directive).to_owned()).or_default();
        for origin in origins {
            sources.push(origin.clone());
            if *directive == "connect-src" {
                sources.push(origin.replacen("http", "ws", 1));
            }
        }
    }
    Csp::DirectiveMap(directives)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder_remote(dir: &Path, name: &str) -> PathBuf {
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(
            folder.join("remote.json"),
            format!(r#"{{"name":"{name}","version":"1.2.3","entry":"remoteEntry.js","hostApi":"^1.0.0"}}"#),
        )
        .unwrap();
        folder
    }

    #[test]
    fn flags_split_on_the_first_equals_sign() {
        assert_eq!(parse_flag("alpha=./dist").unwrap(), ("alpha".into(), "./dist".into()));
        assert_eq!(
            parse_flag("alpha=http://localhost:5173/x.js?a=b").unwrap(),
            ("alpha".into(), "http://localhost:5173/x.js?a=b".into())
        );
        for bad in ["alpha", "=./dist", "alpha=", " = "] {
            assert!(matches!(parse_flag(bad), Err(DevOverrideError::Syntax(_))), "{bad}");
        }
    }

    #[test]
    fn dev_servers_must_be_on_loopback() {
        for good in
            ["http://localhost:5173/remoteEntry.js", "http://127.0.0.1:4000/assets/entry.js", "https://localhost/e.js"]
        {
            assert!(parse_dev_server_url("alpha", good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("http://example.com:5173/remoteEntry.js", "on this machine"),
            ("http://192.168.1.5:5173/remoteEntry.js", "on this machine"),
            ("http://localhost.evil.com/remoteEntry.js", "on this machine"),
            ("http://[::1]:5173/remoteEntry.js", "on this machine"),
            ("http://user:pw@localhost:5173/remoteEntry.js", "no user or password"),
            ("ftp://localhost/remoteEntry.js", "http:// or https://"),
            ("file:///tmp/remoteEntry.js", "http:// or https://"),
            ("http://localhost:5173/", "entry module"),
            ("http://localhost:5173", "entry module"),
            ("http://localhost:notaport/x.js", "not a valid URL"),
        ] {
            let err = parse_dev_server_url("alpha", bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
            assert!(!err.contains("pw@"), "no password echoed: {err}");
        }
    }

    #[test]
    fn folders_must_hold_the_remotes_own_manifest() {
        let dir = tempfile::tempdir().unwrap();
        folder_remote(dir.path(), "alpha");
        let flags = vec!["alpha=alpha".to_owned()];
        let overrides = DevOverrides::resolve(&BTreeMap::new(), &flags, dir.path()).unwrap();
        let folder = overrides.folder("alpha").unwrap();
        assert_eq!(folder, dir.path().join("alpha").canonicalize().unwrap());
        assert_eq!(overrides.folders().len(), 1);
        assert!(overrides.dev_server_origins().is_empty());

        let err = DevOverrides::resolve(&BTreeMap::new(), &["beta=alpha".to_owned()], dir.path()).unwrap_err();
        assert!(err.to_string().contains(r#"the manifest of "alpha", not of "beta""#), "{err}");
        let err = DevOverrides::resolve(&BTreeMap::new(), &["alpha=missing".to_owned()], dir.path()).unwrap_err();
        assert!(err.to_string().contains("cannot be opened"), "{err}");
        std::fs::create_dir(dir.path().join("empty")).unwrap();
        let err = DevOverrides::resolve(&BTreeMap::new(), &["alpha=empty".to_owned()], dir.path()).unwrap_err();
        assert!(err.to_string().contains("remote.json is missing"), "{err}");
        let err = DevOverrides::resolve(&BTreeMap::new(), &["Alpha=alpha".to_owned()], dir.path()).unwrap_err();
        assert!(err.to_string().contains("not a remote name"), "{err}");
    }

    #[test]
    fn a_flag_wins_over_the_saved_override() {
        let dir = tempfile::tempdir().unwrap();
        folder_remote(dir.path(), "alpha");
        let saved = BTreeMap::from([("alpha".to_owned(), "http://localhost:5173/remoteEntry.js".to_owned())]);
        let from_settings = DevOverrides::resolve(&saved, &[], dir.path()).unwrap();
        assert_eq!(from_settings.dev_server_origins(), vec!["http://localhost:5173".to_owned()]);
        let with_flag = DevOverrides::resolve(&saved, &["alpha=alpha".to_owned()], dir.path()).unwrap();
        assert!(with_flag.folder("alpha").is_some());
        assert!(with_flag.dev_server_origins().is_empty(), "the flag's folder replaced the URL");
    }

    /// Issue 20, point 6: a saved override whose folder is gone is skipped
    /// and reported; the others still apply. A bad flag still stops the launch.
    #[test]
    fn point_6_a_saved_override_that_cannot_be_used_is_skipped_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        folder_remote(dir.path(), "alpha");
        let saved = BTreeMap::from([
            ("alpha".to_owned(), "alpha".to_owned()),
            ("beta".to_owned(), "gone-folder".to_owned()),
            ("gamma".to_owned(), "http://example.com/remoteEntry.js".to_owned()),
        ]);
        let overrides = DevOverrides::resolve(&saved, &[], dir.path()).expect("saved overrides never fail the launch");
        assert!(overrides.folder("alpha").is_some(), "the good override applies");
        assert!(overrides.get("beta").is_none() && overrides.get("gamma").is_none());
        let skipped: Vec<String> = overrides.skipped().iter().map(ToString::to_string).collect();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped[0].contains("\"beta\"") && skipped[0].contains("cannot be opened"), "{skipped:?}");
        assert!(skipped[1].contains("\"gamma\"") && skipped[1].contains("on this machine"), "{skipped:?}");
        let err = DevOverrides::resolve(&saved, &["delta=gone".to_owned()], dir.path()).unwrap_err();
        assert!(err.to_string().contains("cannot be opened"), "{err}");
    }

    #[test]
    fn folder_entry_urls_carry_the_revision() {
        let dir = tempfile::tempdir().unwrap();
        folder_remote(dir.path(), "alpha");
        let overrides = DevOverrides::resolve(&BTreeMap::new(), &["alpha=alpha".to_owned()], dir.path()).unwrap();
        let dev = overrides.get("alpha").unwrap();
        assert_eq!(
            entry_url("alpha", dev, "remoteEntry.js"),
            format!("{}/@dev/alpha/0/remoteEntry.js", crate::scheme::ORIGIN)
        );
        assert_eq!(dev.bump(), 1);
        assert_eq!(
            entry_url("alpha", dev, "remoteEntry.js"),
            format!("{}/@dev/alpha/1/remoteEntry.js", crate::scheme::ORIGIN)
        );
        assert_eq!(DevOverrideView::from(dev).kind, "folder");
    }

    #[test]
    fn the_csp_is_widened_only_by_the_configured_dev_server_origins() {
        let configured = Csp::Policy("default-src 'self'; script-src 'self' mfe:".to_owned());
        assert_eq!(widen_csp(configured.clone(), &[]), configured, "no dev server, no change");
        let widened = widen_csp(configured, &["http://localhost:5173".to_owned()]).to_string();
        assert!(widened.contains("script-src 'self' mfe: http://localhost:5173"), "{widened}");
        assert!(widened.contains("connect-src http://localhost:5173 ws://localhost:5173"), "{widened}");
        assert!(widened.contains("default-src 'self'"), "{widened}");
        assert!(!widened.contains("unsafe-eval") && !widened.contains('*'), "{widened}");
    }
}
