//! `cache verify` beyond the blobs: each installed version against the signed
//! metadata of the registry it was installed from. A blob that matches its
//! own hash proves nothing if the index maps a file to the wrong blob, or a
//! version to files its registry never listed.

use std::collections::BTreeSet;

use cache::{BundleCache, FileEntry, InstalledVersion, VersionRef};
use manifest::Version;
use registry::{Limits, SnapshotCheck, TrustAnchor};
use serde::Serialize;

use crate::ApiError;

/// One installed version, set against its registry's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceFinding {
    #[serde(flatten)]
    pub version: VersionRef,
    pub registry: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceReport {
    /// Versions whose files match what their registry lists.
    pub matched: usize,
    /// Versions whose files differ from it, or whose stored metadata no
    /// longer verifies: the cache must not serve them.
    pub mismatched: Vec<SourceFinding>,
    /// Versions with no stored metadata to compare with (the registry no
    /// longer lists them, or its index was not fetched since its snapshot).
    pub unchecked: Vec<SourceFinding>,
}

impl SourceReport {
    pub fn is_clean(&self) -> bool {
        self.mismatched.is_empty()
    }
}

enum Finding {
    Matched,
    Mismatched(String),
    Unchecked(String),
}

/// Compares every installed version's files with the files the stored,
/// signature-verified index of its registry lists for it.
pub fn verify_sources(cache: &BundleCache) -> Result<SourceReport, ApiError> {
    let now = jiff::Timestamp::now();
    let limits = Limits::default();
    let mut report = SourceReport::default();
    for installed in cache.versions()? {
        let finding = check_version(cache, &installed, now, &limits)?;
        let found = |detail| SourceFinding {
            version: VersionRef { name: installed.name.clone(), version: installed.version.clone() },
            registry: installed.registry.clone(),
            detail,
        };
        match finding {
            Finding::Matched => report.matched += 1,
            Finding::Mismatched(detail) => {
                tracing::warn!(name = %installed.name, version = %installed.version, %detail, "cached version differs from its registry's metadata");
                report.mismatched.push(found(detail));
            }
            Finding::Unchecked(detail) => report.unchecked.push(found(detail)),
        }
    }
    Ok(report)
}

fn check_version(
    cache: &BundleCache,
    installed: &InstalledVersion,
    now: jiff::Timestamp,
    limits: &Limits,
) -> Result<Finding, ApiError> {
    let registry = installed.registry.as_str();
    let Some(state) = cache.registry_state(registry)? else {
        return Ok(Finding::Unchecked("no trust state is stored for its registry".into()));
    };
    let root = match TrustAnchor::from_root_json(state.trusted_root_json.as_bytes()) {
        Ok(TrustAnchor::Root(root)) => root,
        Ok(TrustAnchor::Key(_)) => return Ok(Finding::Unchecked("its registry's trusted root is a bare key".into())),
        Err(err) => return Ok(Finding::Mismatched(format!("its registry's stored root does not verify: {err}"))),
    };
    let Some(snapshot) = cache.metadata(registry, "snapshot.json")? else {
        return Ok(Finding::Unchecked("no snapshot of its registry is stored".into()));
    };
    // Expiry does not matter here: the question is what was signed.
    let snapshot = match registry::verify_snapshot(&root, &snapshot.body, None, now, limits) {
        Ok(SnapshotCheck::Fresh(snapshot) | SnapshotCheck::Expired(snapshot)) => snapshot,
        Err(err) => return Ok(Finding::Mismatched(format!("its registry's stored snapshot does not verify: {err}"))),
    };
    let Some(entry) = snapshot.remotes.get(&installed.name) else {
        return Ok(Finding::Unchecked("its registry's snapshot no longer lists it".into()));
    };
    let path = registry::remote_index_path(&installed.name);
    let Some(stored) = cache.metadata(registry, &path)? else {
        return Ok(Finding::Unchecked(format!("no copy of {path} is stored")));
    };
    let index = match registry::verify_remote_index(entry, &installed.name, &stored.body, limits) {
        Ok(index) => index,
        Err(err) => {
            return Ok(Finding::Unchecked(format!("the stored {path} is not the one the snapshot pins: {err}")));
        }
    };
    let Ok(version) = installed.version.parse::<Version>() else {
        return Ok(Finding::Mismatched(format!("`{}` is not a version its registry could list", installed.version)));
    };
    let Some(listed) = index.version(&version) else {
        return Ok(Finding::Mismatched("its registry's index does not list this version".into()));
    };
    let listed: BTreeSet<FileEntry> = listed
        .files
        .iter()
        .map(|f| Ok(FileEntry { path: f.path.clone(), sha256: f.sha256.parse()?, length: f.length }))
        .collect::<Result<_, cache::CacheError>>()?;
    let cached: BTreeSet<FileEntry> = installed.files.iter().cloned().collect();
    if listed == cached {
        return Ok(Finding::Matched);
    }
    let differing: BTreeSet<&str> = listed.symmetric_difference(&cached).map(|f| f.path.as_str()).collect();
    Ok(Finding::Mismatched(format!(
        "files differ from what its registry lists: {}; reinstall it (`augment cache gc`, then resolve)",
        differing.into_iter().collect::<Vec<_>>().join(", ")
    )))
}
