//! What the person allowed each remote to do, by remote name.
//!
//! A grant is a set of permission names (`data:read`, `runs:start`, …) the
//! person approved for a remote, or a team pre-approved in a lock file. The
//! cache stores them as opaque strings: the `manifest` crate owns the
//! vocabulary and callers check names against it before storing them.
//!
//! "Never asked" and "asked, allowed nothing" are different answers: the
//! first shows the consent dialog, the second does not. So a remote has a
//! *decision* (a row in `grant_decisions`, with when it was made) and, under
//! it, zero or more granted permissions. [`BundleCache::grant_decision`] is
//! `None` for never asked; [`BundleCache::grants`] flattens both to a set for
//! callers that only check whether a permission is granted.
//!
//! Grants are per remote name, not per version: an update that declares a
//! new permission gets only what was granted before, so the shell asks again
//! for the difference.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use crate::error::{Result, db_err};
use crate::{BundleCache, immediate, non_empty, now_unix, read_snapshot};

impl BundleCache {
    /// The permissions granted to `remote`; empty both when the person
    /// declined everything and when they were never asked (see
    /// [`BundleCache::grant_decision`] to tell the two apart).
    pub fn grants(&self, remote: &str) -> Result<BTreeSet<String>> {
        Ok(self.grant_decision(remote)?.unwrap_or_default())
    }

    /// The person's decision for `remote`: `None` when they were never asked,
    /// else the permissions granted (possibly none).
    pub fn grant_decision(&self, remote: &str) -> Result<Option<BTreeSet<String>>> {
        let mut conn = self.conn();
        let tx = read_snapshot(&mut conn, "reading a remote's grants")?;
        decision_in(&tx, remote)
    }

    /// Records the person's decision for `remote`: exactly `permissions` are
    /// granted from now on (the previous set is replaced, not extended), and
    /// an empty set records "asked, allowed nothing".
    pub fn set_grants(&self, remote: &str, permissions: &BTreeSet<String>) -> Result<()> {
        self.set_grants_all(&BTreeMap::from([(remote.to_owned(), permissions.clone())]))
    }

    /// Records several remotes' decisions in one transaction: all of them or,
    /// when one is invalid, none. See [`BundleCache::set_grants`].
    pub fn set_grants_all(&self, grants: &BTreeMap<String, BTreeSet<String>>) -> Result<()> {
        for (remote, permissions) in grants {
            check_decision(remote, permissions)?;
        }
        let mut conn = self.conn();
        let tx = immediate(&mut conn, "starting to record grants")?;
        let decided_at = now_unix();
        for (remote, permissions) in grants {
            replace_decision(&tx, remote, permissions, decided_at)?;
        }
        tx.commit().map_err(db_err("committing grants"))?;
        for (remote, permissions) in grants {
            tracing::info!(remote, ?permissions, "recorded grants");
        }
        Ok(())
    }

    /// Forgets the decision for `remote`, so the person is asked again.
    /// Returns whether there was one (an empty decision counts).
    pub fn revoke_grants(&self, remote: &str) -> Result<bool> {
        let removed = self
            .conn()
            .execute("DELETE FROM grant_decisions WHERE remote = ?1", [remote])
            .map_err(db_err("revoking grants"))?;
        if removed > 0 {
            tracing::info!(remote, "revoked grants");
        }
        Ok(removed > 0)
    }

    /// Every decision, by remote name; remotes never asked are absent, those
    /// that were granted nothing map to an empty set.
    pub fn all_grants(&self) -> Result<BTreeMap<String, BTreeSet<String>>> {
        let mut conn = self.conn();
        let tx = read_snapshot(&mut conn, "listing grants")?;
        all_decisions_in(&tx)
    }
}

fn check_decision(remote: &str, permissions: &BTreeSet<String>) -> Result<()> {
    non_empty("remote name", remote)?;
    permissions.iter().try_for_each(|permission| non_empty("permission", permission))
}

fn replace_decision(tx: &Transaction<'_>, remote: &str, permissions: &BTreeSet<String>, decided_at: i64) -> Result<()> {
    // Deleting the decision cascades to its permissions, so nothing of the
    // previous set survives the replacement.
    tx.execute("DELETE FROM grant_decisions WHERE remote = ?1", [remote]).map_err(db_err("replacing grants"))?;
    tx.execute("INSERT INTO grant_decisions (remote, decided_at) VALUES (?1, ?2)", params![remote, decided_at])
        .map_err(db_err("recording grants"))?;
    let mut insert = tx
        .prepare_cached("INSERT INTO grants (remote, permission) VALUES (?1, ?2)")
        .map_err(db_err("recording grants"))?;
    for permission in permissions {
        insert.execute(params![remote, permission]).map_err(db_err("recording grants"))?;
    }
    Ok(())
}

/// The decision for `remote` as seen by `conn` (inside the caller's snapshot).
pub(crate) fn decision_in(conn: &Connection, remote: &str) -> Result<Option<BTreeSet<String>>> {
    let decided = conn
        .query_row("SELECT 1 FROM grant_decisions WHERE remote = ?1", [remote], |_| Ok(()))
        .optional()
        .map_err(db_err("reading a remote's grants"))?;
    if decided.is_none() {
        return Ok(None);
    }
    let mut stmt = conn
        .prepare_cached("SELECT permission FROM grants WHERE remote = ?1")
        .map_err(db_err("reading a remote's grants"))?;
    let permissions = stmt
        .query_map([remote], |row| row.get::<_, String>(0))
        .map_err(db_err("reading a remote's grants"))?
        .collect::<rusqlite::Result<BTreeSet<String>>>()
        .map_err(db_err("reading a remote's grants"))?;
    Ok(Some(permissions))
}

fn all_decisions_in(conn: &Connection) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut decisions = conn.prepare("SELECT remote FROM grant_decisions").map_err(db_err("listing grants"))?;
    for remote in decisions.query_map([], |row| row.get::<_, String>(0)).map_err(db_err("listing grants"))? {
        out.insert(remote.map_err(db_err("listing grants"))?, BTreeSet::new());
    }
    let mut grants = conn.prepare("SELECT remote, permission FROM grants").map_err(db_err("listing grants"))?;
    let rows = grants
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
        .map_err(db_err("listing grants"))?;
    for row in rows {
        let (remote, permission) = row.map_err(db_err("listing grants"))?;
        out.entry(remote).or_default().insert(permission);
    }
    Ok(out)
}
