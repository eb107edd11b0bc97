//! Installed versions and their files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

use crate::digest::Sha256Digest;
use crate::error::{CacheError, MissingBlob, Result, db_err};
use crate::{BundleCache, InstallGuard, immediate, next_tick, non_empty, now_unix, read_snapshot, to_i64};

/// One file of a version: its path inside the bundle and the blob holding it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub sha256: Sha256Digest,
    pub length: u64,
}

/// A version to record with [`BundleCache::commit_version`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewVersion {
    /// The registry URL it came from.
    pub registry: String,
    pub name: String,
    pub version: String,
    /// The remote's manifest, stored verbatim.
    pub manifest_json: String,
    pub files: Vec<FileEntry>,
}

/// A version present in the cache.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstalledVersion {
    pub registry: String,
    pub name: String,
    pub version: String,
    pub manifest_json: String,
    /// Sorted by path.
    pub files: Vec<FileEntry>,
    /// Unix seconds.
    pub installed_at: i64,
}

/// A `name@version` pair, used in reports.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VersionRef {
    pub name: String,
    pub version: String,
}

impl std::fmt::Display for VersionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

impl BundleCache {
    /// Records a version whose blobs have all been written under `guard`.
    /// See [`BundleCache::commit_versions`].
    pub fn commit_version(&self, guard: &InstallGuard, v: &NewVersion) -> Result<()> {
        self.commit_versions(guard, std::slice::from_ref(v))
    }

    /// Records versions whose blobs have all been written under `guard`.
    ///
    /// Every blob is checked to exist with its declared length and flushed to
    /// disk first; then one transaction inserts the versions and all their
    /// files, so readers see every version whole or none of them. Committing
    /// the same files again is a no-op; other files from the same registry
    /// are [`CacheError::VersionConflict`], from another registry they
    /// replace the cached copy.
    pub fn commit_versions(&self, guard: &InstallGuard, versions: &[NewVersion]) -> Result<()> {
        self.commit_and_activate(guard, versions, &[])
    }

    /// [`BundleCache::commit_versions`], then activates `selections` (see
    /// [`BundleCache::set_active_versions`]) in the same transaction: a
    /// resolve's new versions and its choice of versions appear together.
    pub fn commit_and_activate(
        &self,
        guard: &InstallGuard,
        versions: &[NewVersion],
        selections: &[(String, String)],
    ) -> Result<()> {
        self.check_guard(guard)?;
        for v in versions {
            validate(v)?;
            for f in &v.files {
                let found = crate::blobs::blob_length(&self.blob_path(&f.sha256));
                if found != Some(f.length) {
                    return Err(CacheError::BlobMissing(Box::new(MissingBlob {
                        name: v.name.clone(),
                        version: v.version.clone(),
                        path: f.path.clone(),
                        digest: f.sha256,
                        expected_length: f.length,
                        found_length: found,
                    })));
                }
            }
        }
        if versions.is_empty() {
            return self.set_active_versions(selections);
        }
        self.make_durable(versions.iter().flat_map(|v| v.files.iter().map(|f| &f.sha256)))?;

        let mut conn = self.conn();
        let tx = immediate(&mut conn, "starting to commit a version")?;
        for v in versions {
            insert_version(&tx, v)?;
        }
        let activated = crate::selection::activate_all(&tx, selections)?;
        crate::history::sample_size(&tx)?;
        tx.commit().map_err(db_err("committing a version"))?;
        for v in versions {
            tracing::info!(name = %v.name, version = %v.version, files = v.files.len(), "installed version");
        }
        for (name, version) in activated {
            tracing::info!(name, version, "activated version");
        }
        Ok(())
    }

    /// Every installed version, sorted by name, then in install order.
    pub fn versions(&self) -> Result<Vec<InstalledVersion>> {
        let mut conn = self.conn();
        let conn = read_snapshot(&mut conn, "listing versions")?;
        let mut files: BTreeMap<i64, Vec<FileEntry>> = BTreeMap::new();
        {
            let mut stmt = conn
                .prepare("SELECT version_id, path, sha256, length FROM files ORDER BY version_id, path")
                .map_err(db_err("listing version files"))?;
            let rows = stmt
                .query_map([], |row| Ok((row.get::<_, i64>(0)?, file_from_row(row, 1)?)))
                .map_err(db_err("listing version files"))?;
            for row in rows {
                let (id, entry) = row.map_err(db_err("listing version files"))?;
                files.entry(id).or_default().push(entry);
            }
        }
        let mut stmt = conn
            .prepare(
                "SELECT id, registry, name, version, manifest_json, installed_at
                 FROM versions ORDER BY name, id",
            )
            .map_err(db_err("listing versions"))?;
        let rows = stmt
            .query_map([], |row| Ok((row.get::<_, i64>(0)?, version_from_row(row, 1)?)))
            .map_err(db_err("listing versions"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, mut v) = row.map_err(db_err("listing versions"))?;
            v.files = files.remove(&id).unwrap_or_default();
            out.push(v);
        }
        Ok(out)
    }

    /// One installed version, if present.
    pub fn version(&self, name: &str, version: &str) -> Result<Option<InstalledVersion>> {
        let mut conn = self.conn();
        let conn = read_snapshot(&mut conn, "looking up an installed version")?;
        let found = conn
            .query_row(
                "SELECT id, registry, name, version, manifest_json, installed_at
                 FROM versions WHERE name = ?1 AND version = ?2",
                params![name, version],
                |row| Ok((row.get::<_, i64>(0)?, version_from_row(row, 1)?)),
            )
            .optional()
            .map_err(db_err("looking up an installed version"))?;
        let Some((id, mut v)) = found else {
            return Ok(None);
        };
        v.files = files_of(&conn, id)?;
        Ok(Some(v))
    }

    /// The blob holding `path` of an installed version, for serving it.
    pub fn file_path(&self, name: &str, version: &str, path: &str) -> Result<Option<(PathBuf, FileEntry)>> {
        let conn = self.conn();
        let entry = conn
            .query_row(
                "SELECT f.path, f.sha256, f.length FROM files f JOIN versions v ON v.id = f.version_id
                 WHERE v.name = ?1 AND v.version = ?2 AND f.path = ?3",
                params![name, version, path],
                |row| file_from_row(row, 0),
            )
            .optional()
            .map_err(db_err("looking up a file of a version"))?;
        Ok(entry.map(|e| (self.blob_path(&e.sha256), e)))
    }
}

pub(crate) fn installed(conn: &Connection, name: &str, version: &str) -> Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM versions WHERE name = ?1 AND version = ?2)",
        params![name, version],
        |row| row.get(0),
    )
    .map_err(db_err("looking up an installed version"))
}

pub(crate) fn files_of(conn: &Connection, version_id: i64) -> Result<Vec<FileEntry>> {
    let mut stmt = conn
        .prepare_cached("SELECT path, sha256, length FROM files WHERE version_id = ?1 ORDER BY path")
        .map_err(db_err("reading version files"))?;
    let rows = stmt.query_map([version_id], |row| file_from_row(row, 0)).map_err(db_err("reading version files"))?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err("reading version files"))
}

/// Reads `path, sha256, length` starting at column `at`.
pub(crate) fn file_from_row(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<FileEntry> {
    let hex: String = row.get(at + 1)?;
    let sha256 = hex
        .parse::<Sha256Digest>()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(at + 1, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(FileEntry { path: row.get(at)?, sha256, length: row.get(at + 2)? })
}

fn version_from_row(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<InstalledVersion> {
    Ok(InstalledVersion {
        registry: row.get(at)?,
        name: row.get(at + 1)?,
        version: row.get(at + 2)?,
        manifest_json: row.get(at + 3)?,
        files: Vec::new(),
        installed_at: row.get(at + 4)?,
    })
}

fn validate(v: &NewVersion) -> Result<()> {
    non_empty("remote name", &v.name)?;
    non_empty("version", &v.version)?;
    non_empty("registry", &v.registry)?;
    serde_json::from_str::<serde::de::IgnoredAny>(&v.manifest_json).map_err(|e| CacheError::InvalidInput {
        what: "manifest JSON",
        reason: format!("{}@{}: {e}", v.name, v.version),
    })?;
    let mut seen = BTreeSet::new();
    for f in &v.files {
        check_bundle_path(&f.path)?;
        if !seen.insert(f.path.as_str()) {
            return Err(CacheError::InvalidInput {
                what: "file list",
                reason: format!("{}@{} lists `{}` twice", v.name, v.version, f.path),
            });
        }
        to_i64("file length", f.length)?;
    }
    Ok(())
}

/// Paths are served by exact lookup so cannot reach the file system, but a
/// path that could escape a bundle when extracted is refused here as well:
/// the cache should never hold something that is dangerous elsewhere.
fn check_bundle_path(path: &str) -> Result<()> {
    let bad =
        |reason: &str| CacheError::InvalidInput { what: "bundle file path", reason: format!("`{path}` {reason}") };
    if path.is_empty() {
        return Err(bad("is empty"));
    }
    if path.starts_with('/') || path.contains('\\') || path.contains('\0') || path.contains(':') {
        return Err(bad("must be a relative path with `/` separators"));
    }
    if path.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(bad("has an empty, `.` or `..` component"));
    }
    Ok(())
}

/// Inserts one version and its files inside the caller's transaction. The
/// same files already there are left as they are (whichever registry
/// installed them); other files from the same registry are
/// [`CacheError::VersionConflict`] (a published version never changes). A
/// copy with other files from another registry is replaced in place (the selection,
/// pins and known-good marks keep naming `name@version`): the caller verified
/// `v` against its registry's signed metadata and decided it owns the key
/// (see `api::resolve`, which never lets a registry of lower precedence
/// replace a copy).
fn insert_version(tx: &rusqlite::Transaction<'_>, v: &NewVersion) -> Result<()> {
    let mut files = v.files.clone();
    files.sort();

    let existing: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, registry FROM versions WHERE name = ?1 AND version = ?2",
            params![v.name, v.version],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(db_err("looking up an installed version"))?;
    if let Some((id, registry)) = &existing {
        if files_of(tx, *id)? == files {
            tracing::debug!(name = %v.name, version = %v.version, "version already installed");
            return Ok(());
        }
        if *registry == v.registry {
            return Err(CacheError::VersionConflict { name: v.name.clone(), version: v.version.clone() });
        }
    }
    let tick = next_tick(tx)?;
    let id = match existing {
        Some((id, registry)) => {
            tracing::warn!(
                name = %v.name,
                version = %v.version,
                replaced = %registry,
                by = %v.registry,
                "replacing the cached copy of a version with the one its registry lists"
            );
            tx.execute(
                "UPDATE versions SET registry = ?2, manifest_json = ?3, installed_at = ?4, touched = ?5 WHERE id = ?1",
                params![id, v.registry, v.manifest_json, now_unix(), tick],
            )
            .map_err(db_err("replacing a version"))?;
            tx.execute("DELETE FROM files WHERE version_id = ?1", [id]).map_err(db_err("replacing a version"))?;
            id
        }
        None => {
            tx.execute(
                "INSERT INTO versions (registry, name, version, manifest_json, installed_at, touched)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![v.registry, v.name, v.version, v.manifest_json, now_unix(), tick],
            )
            .map_err(db_err("recording a version"))?;
            tx.last_insert_rowid()
        }
    };
    let mut insert = tx
        .prepare("INSERT INTO files (version_id, path, sha256, length) VALUES (?1, ?2, ?3, ?4)")
        .map_err(db_err("recording version files"))?;
    for f in &files {
        insert
            .execute(params![id, f.path, f.sha256.to_hex(), to_i64("file length", f.length)?])
            .map_err(db_err("recording version files"))?;
    }
    Ok(())
}
