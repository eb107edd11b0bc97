//! Per-registry trust state and cached metadata documents.

use rusqlite::{Connection, OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

use crate::error::{CacheError, Result, db_err};
use crate::{BundleCache, immediate, non_empty, now_unix, to_i64};

/// What the client has learned to trust about one registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryState {
    /// The newest verified `root.json`, verbatim.
    pub trusted_root_json: String,
    /// The highest snapshot version ever accepted; never decreases.
    pub highest_snapshot_version: u64,
    /// When the registry last answered (unix seconds).
    pub last_reached_at: Option<i64>,
    /// When fresh signed metadata from it last verified (unix seconds).
    #[serde(default)]
    pub last_verified_at: Option<i64>,
    /// Since when the registry's snapshot has been expired (unix seconds).
    pub stale_since: Option<i64>,
}

/// A metadata document kept for conditional requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDocument {
    pub etag: Option<String>,
    pub body: Vec<u8>,
}

impl BundleCache {
    /// The stored trust state for `registry`, if any.
    pub fn registry_state(&self, registry: &str) -> Result<Option<RegistryState>> {
        self.conn()
            .query_row(
                "SELECT trusted_root_json, highest_snapshot_version, last_reached_at, stale_since, last_verified_at
                 FROM registry_state WHERE registry = ?1",
                [registry],
                |row| {
                    Ok(RegistryState {
                        trusted_root_json: row.get(0)?,
                        highest_snapshot_version: row.get(1)?,
                        last_reached_at: row.get(2)?,
                        stale_since: row.get(3)?,
                        last_verified_at: row.get(4)?,
                    })
                },
            )
            .optional()
            .map_err(db_err("reading registry state"))
    }

    /// Stores the trust state for `registry`.
    ///
    /// Refuses with [`CacheError::SnapshotRollback`] if the stored highest
    /// snapshot version is greater than the new one. The check and the write
    /// share one IMMEDIATE transaction, so two processes racing cannot leave
    /// the older snapshot version stored.
    pub fn save_registry_state(&self, registry: &str, state: &RegistryState) -> Result<()> {
        self.save_trust(registry, state, &[], false)
    }

    /// Stores the trust state for `registry` together with the metadata
    /// documents it was verified from (`root.json` and its ETag,
    /// `snapshot.json`), in one transaction: a root is never stored without
    /// its validator or the other way round, so an interrupted refresh
    /// cannot leave a 304 pointing at a root that was never trusted.
    /// Refuses a lower snapshot version like [`Self::save_registry_state`],
    /// unless `root_rotated`: a new root re-anchors the high-water mark (a
    /// leaked snapshot key may have pushed it beyond anything honest).
    pub fn save_trust(
        &self,
        registry: &str,
        state: &RegistryState,
        documents: &[(String, StoredDocument)],
        root_rotated: bool,
    ) -> Result<()> {
        non_empty("registry", registry)?;
        let attempted = state.highest_snapshot_version;
        let attempted_sql = to_i64("snapshot version", attempted)?;
        let mut conn = self.conn();
        let tx = immediate(&mut conn, "starting to save registry state")?;
        let stored: Option<u64> = tx
            .query_row("SELECT highest_snapshot_version FROM registry_state WHERE registry = ?1", [registry], |row| {
                row.get(0)
            })
            .optional()
            .map_err(db_err("reading registry state"))?;
        if let Some(stored) = stored
            && stored > attempted
            && !root_rotated
        {
            tracing::warn!(registry, stored, attempted, "refused to lower the snapshot version");
            return Err(CacheError::SnapshotRollback { registry: registry.to_owned(), stored, attempted });
        }
        tx.execute(
            "INSERT INTO registry_state (registry, trusted_root_json, highest_snapshot_version, last_reached_at, stale_since, last_verified_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (registry) DO UPDATE SET
                trusted_root_json = excluded.trusted_root_json,
                highest_snapshot_version = excluded.highest_snapshot_version,
                last_reached_at = excluded.last_reached_at,
                stale_since = excluded.stale_since,
                last_verified_at = excluded.last_verified_at",
            params![
                registry,
                state.trusted_root_json,
                attempted_sql,
                state.last_reached_at,
                state.stale_since,
                state.last_verified_at
            ],
        )
        .map_err(db_err("saving registry state"))?;
        for (path, doc) in documents {
            upsert_metadata(&tx, registry, path, doc)?;
        }
        tx.commit().map_err(db_err("committing registry state"))
    }

    /// The cached document at `path` of `registry`, if any.
    pub fn metadata(&self, registry: &str, path: &str) -> Result<Option<StoredDocument>> {
        self.conn()
            .query_row("SELECT etag, body FROM metadata WHERE registry = ?1 AND path = ?2", [registry, path], |row| {
                Ok(StoredDocument { etag: row.get(0)?, body: row.get(1)? })
            })
            .optional()
            .map_err(db_err("reading cached metadata"))
    }

    /// Caches a document (replacing any previous one at the same path).
    pub fn save_metadata(&self, registry: &str, path: &str, doc: &StoredDocument) -> Result<()> {
        upsert_metadata(&self.conn(), registry, path, doc)
    }

    /// Caches several documents of `registry` in one transaction.
    pub fn save_metadata_all(&self, registry: &str, docs: &[(String, StoredDocument)]) -> Result<()> {
        if docs.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = immediate(&mut conn, "starting to save cached metadata")?;
        for (path, doc) in docs {
            upsert_metadata(&tx, registry, path, doc)?;
        }
        tx.commit().map_err(db_err("committing cached metadata"))
    }
}

fn upsert_metadata(conn: &Connection, registry: &str, path: &str, doc: &StoredDocument) -> Result<()> {
    non_empty("registry", registry)?;
    non_empty("metadata path", path)?;
    conn.prepare_cached(
        "INSERT INTO metadata (registry, path, etag, body, saved_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (registry, path) DO UPDATE SET
            etag = excluded.etag, body = excluded.body, saved_at = excluded.saved_at",
    )
    .and_then(|mut stmt| stmt.execute(params![registry, path, doc.etag, doc.body, now_unix()]))
    .map_err(db_err("saving cached metadata"))?;
    Ok(())
}
