//! The lock file: the exact active versions and file digests, for reproducing
//! a set of remotes on another machine (`augment lock export`), and the
//! permissions each was granted, so a team can pre-approve them.

use std::collections::BTreeSet;

use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::error::{CacheError, Result, db_err};
use crate::grants::decision_in;
use crate::versions::{FileEntry, files_of};
use crate::{BundleCache, read_snapshot};

/// The lock file format version this build reads and writes.
pub const LOCK_FILE_VERSION: u32 = 1;

/// One remote in a lock file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEntry {
    pub name: String,
    pub version: String,
    pub registry: String,
    /// Sorted by path.
    pub files: Vec<FileEntry>,
    /// The permissions granted to this remote, when a decision was made
    /// (an empty set: granted nothing). Absent from lock files written
    /// before grants existed, which still apply: the person is asked as
    /// usual. Builds that predate the field ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<BTreeSet<String>>,
}

/// `{ "lockVersion": 1, "remotes": [ { name, version, registry, files, grants? } ] }`
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockFile {
    pub lock_version: u32,
    pub remotes: Vec<LockEntry>,
}

impl LockFile {
    /// A lock file of the current format version.
    pub fn new(remotes: Vec<LockEntry>) -> Self {
        Self { lock_version: LOCK_FILE_VERSION, remotes }
    }

    /// Pretty-printed JSON, with a trailing newline so it diffs well.
    pub fn to_json(&self) -> Result<String> {
        let mut out = serde_json::to_string_pretty(self)
            .map_err(|e| CacheError::InvalidLockFile { location: "(writing)".to_owned(), reason: e.to_string() })?;
        out.push('\n');
        Ok(out)
    }

    /// Parses and checks a lock file. Errors name the offending field, for
    /// example `remotes[0].files[2].sha256`.
    pub fn from_json(json: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| CacheError::InvalidLockFile {
            location: format!("line {} column {}", e.line(), e.column()),
            reason: e.to_string(),
        })?;
        // Check the format version before the shape, so a newer file gets
        // "upgrade" rather than a confusing complaint about some new field.
        match value.get("lockVersion") {
            None => {
                return Err(CacheError::InvalidLockFile {
                    location: "lockVersion".to_owned(),
                    reason: "the field is missing (is this an Augment-It lock file?)".to_owned(),
                });
            }
            Some(v) if v.as_u64() != Some(u64::from(LOCK_FILE_VERSION)) => {
                return Err(CacheError::UnsupportedLockVersion { found: v.to_string(), supported: LOCK_FILE_VERSION });
            }
            Some(_) => {}
        }
        let lock: LockFile = serde_path_to_error::deserialize(value).map_err(|e| CacheError::InvalidLockFile {
            location: e.path().to_string(),
            reason: e.inner().to_string(),
        })?;
        let mut names = BTreeSet::new();
        for (i, remote) in lock.remotes.iter().enumerate() {
            if remote.name.trim().is_empty() {
                return Err(CacheError::InvalidLockFile {
                    location: format!("remotes[{i}].name"),
                    reason: "the remote name is empty".to_owned(),
                });
            }
            if remote.version.trim().is_empty() {
                return Err(CacheError::InvalidLockFile {
                    location: format!("remotes[{i}].version"),
                    reason: "the version is empty".to_owned(),
                });
            }
            if !names.insert(remote.name.as_str()) {
                return Err(CacheError::InvalidLockFile {
                    location: format!("remotes[{i}].name"),
                    reason: format!("remote `{}` appears more than once", remote.name),
                });
            }
            let mut paths = BTreeSet::new();
            for (j, file) in remote.files.iter().enumerate() {
                if !paths.insert(file.path.as_str()) {
                    return Err(CacheError::InvalidLockFile {
                        location: format!("remotes[{i}].files[{j}].path"),
                        reason: format!("`{}` appears more than once in {}", file.path, remote.name),
                    });
                }
            }
        }
        Ok(lock)
    }
}

impl BundleCache {
    /// The active version of every remote with its files and its grant
    /// decision, sorted by name.
    pub fn lock_entries(&self) -> Result<Vec<LockEntry>> {
        let mut conn = self.conn();
        let conn = read_snapshot(&mut conn, "listing active versions")?;
        let mut stmt = conn
            .prepare(
                "SELECT v.id, a.name, a.version, v.registry
                 FROM active a JOIN versions v ON v.name = a.name AND v.version = a.version
                 ORDER BY a.name",
            )
            .map_err(db_err("listing active versions"))?;
        let rows = stmt
            .query_map(params![], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })
            .map_err(db_err("listing active versions"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, version, registry) = row.map_err(db_err("listing active versions"))?;
            let grants = decision_in(&conn, &name)?;
            out.push(LockEntry { files: files_of(&conn, id)?, grants, name, version, registry });
        }
        Ok(out)
    }
}
