//! Which version of each remote is in use: active, pinned, last known good.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension as _, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::error::{CacheError, Result, db_err};
use crate::versions::installed;
use crate::{BundleCache, immediate, next_tick, non_empty, now_unix};

/// What [`BundleCache::rollback`] did.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollback {
    pub name: String,
    /// The version that was active.
    pub from: String,
    /// The version now active, and pinned.
    pub to: String,
}

impl BundleCache {
    /// Records that `version` of `name` is the one in use (what the last
    /// resolve selected). The version must be installed.
    pub fn set_active(&self, name: &str, version: &str) -> Result<()> {
        non_empty("remote name", name)?;
        non_empty("version", version)?;
        let mut conn = self.conn();
        let tx = immediate(&mut conn, "starting to select a version")?;
        if !installed(&tx, name, version)? {
            return Err(not_installed(name, version));
        }
        if active_in(&tx, name)?.as_deref() == Some(version) {
            // Resolve runs at every start; re-selecting the same version must
            // not flood the history that rollback walks.
            return Ok(());
        }
        activate(&tx, name, version)?;
        tx.commit().map_err(db_err("committing a selection"))?;
        tracing::info!(name, version, "activated version");
        Ok(())
    }

    /// Records the versions in use for several remotes in one transaction:
    /// all of them or, when one is not installed, none.
    /// See [`BundleCache::set_active`].
    pub fn set_active_versions(&self, selections: &[(String, String)]) -> Result<()> {
        let mut conn = self.conn();
        let tx = immediate(&mut conn, "starting to select versions")?;
        let changed = activate_all(&tx, selections)?;
        tx.commit().map_err(db_err("committing a selection"))?;
        for (name, version) in changed {
            tracing::info!(name, version, "activated version");
        }
        Ok(())
    }

    /// The active version of `name`.
    pub fn active(&self, name: &str) -> Result<Option<String>> {
        active_in(&self.conn(), name)
    }

    /// Every active version, by remote name.
    pub fn active_all(&self) -> Result<BTreeMap<String, String>> {
        name_version_map(&self.conn(), "SELECT name, version FROM active", "listing active versions")
    }

    /// Pins `name` to `version`. The version need not be installed yet (resolve
    /// will install it), so only emptiness is checked.
    pub fn pin(&self, name: &str, version: &str) -> Result<()> {
        non_empty("remote name", name)?;
        non_empty("version", version)?;
        upsert_pin(&self.conn(), name, version)?;
        tracing::info!(name, version, "pinned version");
        Ok(())
    }

    /// Removes the pin on `name`; returns whether there was one.
    pub fn unpin(&self, name: &str) -> Result<bool> {
        let removed =
            self.conn().execute("DELETE FROM pins WHERE name = ?1", [name]).map_err(db_err("removing a pin"))?;
        Ok(removed > 0)
    }

    /// Every pin, by remote name.
    pub fn pins(&self) -> Result<BTreeMap<String, String>> {
        name_version_map(&self.conn(), "SELECT name, version FROM pins", "listing pins")
    }

    /// Records that `version` of `name` has been seen working. It must be installed.
    pub fn mark_known_good(&self, name: &str, version: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = immediate(&mut conn, "starting to mark a version known-good")?;
        if !installed(&tx, name, version)? {
            return Err(not_installed(name, version));
        }
        tx.execute(
            "INSERT INTO known_good (name, version, marked_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET version = excluded.version, marked_at = excluded.marked_at",
            params![name, version, now_unix()],
        )
        .map_err(db_err("marking a version known-good"))?;
        tx.commit().map_err(db_err("committing a known-good mark"))
    }

    /// The last version of `name` marked known-good.
    pub fn last_known_good(&self, name: &str) -> Result<Option<String>> {
        known_good_in(&self.conn(), name)
    }

    /// Goes back from the active version of `name` to the last-known-good one
    /// (if it differs and is installed) or else to the version active before.
    ///
    /// The target is also pinned, so the next resolve does not move forward
    /// again; unpin to follow updates. Rolling back twice in a row returns to
    /// where the first rollback started, like `cd -`.
    pub fn rollback(&self, name: &str) -> Result<Rollback> {
        let mut conn = self.conn();
        let tx = immediate(&mut conn, "starting a rollback")?;
        let Some(from) = active_in(&tx, name)? else {
            return Err(CacheError::NothingToRollBackTo {
                name: name.to_owned(),
                reason: "no version of it is active".to_owned(),
            });
        };
        let to = match known_good_in(&tx, name)?.filter(|v| *v != from) {
            Some(v) => Some(v),
            // History rows of uninstalled versions cascade away, so whatever
            // this finds is installed.
            None => tx
                .query_row(
                    "SELECT version FROM activations WHERE name = ?1 AND version <> ?2 ORDER BY id DESC LIMIT 1",
                    params![name, from],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db_err("reading the activation history"))?,
        };
        let Some(to) = to else {
            return Err(CacheError::NothingToRollBackTo {
                name: name.to_owned(),
                reason: format!(
                    "{from} is active and no other installed version was active before or is marked known-good"
                ),
            });
        };
        roll_back_in(tx, name, from, to)
    }

    /// `version` of `name` failed to load or render: when it is the active
    /// version and a different version is marked known-good, goes back to
    /// that one and pins it; otherwise changes nothing and returns `None`.
    ///
    /// The decision and its writes are one transaction, so a crash or a
    /// concurrent change between them never leaves a half-made rollback, nor
    /// one decided on a version that is no longer active.
    pub fn roll_back_failed(&self, name: &str, version: &str) -> Result<Option<Rollback>> {
        let mut conn = self.conn();
        let tx = immediate(&mut conn, "starting a rollback after a failure")?;
        if active_in(&tx, name)?.as_deref() != Some(version) {
            return Ok(None);
        }
        // The foreign key guarantees a known-good version is installed.
        let Some(known_good) = known_good_in(&tx, name)?.filter(|good| good != version) else {
            return Ok(None);
        };
        roll_back_in(tx, name, version.to_owned(), known_good).map(Some)
    }
}

/// The last version of `name` marked known-good, inside the caller's transaction.
fn known_good_in(conn: &Connection, name: &str) -> Result<Option<String>> {
    conn.query_row("SELECT version FROM known_good WHERE name = ?1", [name], |row| row.get(0))
        .optional()
        .map_err(db_err("reading the known-good version"))
}

/// Activates and pins `to` and commits the caller's transaction.
fn roll_back_in(tx: Transaction<'_>, name: &str, from: String, to: String) -> Result<Rollback> {
    activate(&tx, name, &to)?;
    upsert_pin(&tx, name, &to)?;
    tx.commit().map_err(db_err("committing a rollback"))?;
    tracing::info!(name, %from, %to, "rolled back and pinned");
    Ok(Rollback { name: name.to_owned(), from, to })
}

/// Activates each installed version that is not active yet, inside the
/// caller's transaction; returns the ones that changed.
pub(crate) fn activate_all<'s>(
    tx: &Transaction<'_>,
    selections: &'s [(String, String)],
) -> Result<Vec<(&'s str, &'s str)>> {
    let mut changed = Vec::new();
    for (name, version) in selections {
        non_empty("remote name", name)?;
        non_empty("version", version)?;
        if !installed(tx, name, version)? {
            return Err(not_installed(name, version));
        }
        // Re-selecting the active version must not flood the rollback history.
        if active_in(tx, name)?.as_deref() != Some(version.as_str()) {
            activate(tx, name, version)?;
            changed.push((name.as_str(), version.as_str()));
        }
    }
    Ok(changed)
}

fn activate(tx: &Transaction<'_>, name: &str, version: &str) -> Result<()> {
    let tick = next_tick(tx)?;
    let now = now_unix();
    tx.execute(
        "INSERT INTO active (name, version) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version",
        params![name, version],
    )
    .and_then(|_| {
        tx.execute(
            "INSERT INTO activations (name, version, activated_at) VALUES (?1, ?2, ?3)",
            params![name, version, now],
        )
    })
    .and_then(|_| {
        tx.execute("UPDATE versions SET touched = ?3 WHERE name = ?1 AND version = ?2", params![name, version, tick])
    })
    .map_err(db_err("activating a version"))?;
    Ok(())
}

fn upsert_pin(conn: &Connection, name: &str, version: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO pins (name, version, pinned_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version, pinned_at = excluded.pinned_at",
        params![name, version, now_unix()],
    )
    .map_err(db_err("saving a pin"))?;
    Ok(())
}

fn active_in(conn: &Connection, name: &str) -> Result<Option<String>> {
    conn.query_row("SELECT version FROM active WHERE name = ?1", [name], |row| row.get(0))
        .optional()
        .map_err(db_err("reading the active version"))
}

fn name_version_map(conn: &Connection, sql: &str, action: &'static str) -> Result<BTreeMap<String, String>> {
    let mut stmt = conn.prepare(sql).map_err(db_err(action))?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).map_err(db_err(action))?;
    rows.collect::<rusqlite::Result<_>>().map_err(db_err(action))
}

fn not_installed(name: &str, version: &str) -> CacheError {
    CacheError::VersionNotInstalled { name: name.to_owned(), version: version.to_owned() }
}
