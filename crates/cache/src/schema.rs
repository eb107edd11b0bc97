//! Opening the index and bringing its schema up to date.

use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{CacheError, Result, db_err, io_err};

/// How long a statement waits for another process's write lock. Installs from
/// several processes queue behind each other; ten seconds is the floor the
/// design asks for, and a slow disk under gc deserves more.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Forward-only migrations: `MIGRATIONS[n]` takes `user_version` from `n` to
/// `n + 1`. Never edit a released entry; append a new one.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the initial schema.
    r#"
    CREATE TABLE registry_state (
        registry TEXT PRIMARY KEY NOT NULL,
        trusted_root_json TEXT NOT NULL,
        highest_snapshot_version INTEGER NOT NULL CHECK (highest_snapshot_version >= 0),
        last_reached_at INTEGER,
        stale_since INTEGER
    ) STRICT;

    CREATE TABLE metadata (
        registry TEXT NOT NULL,
        path TEXT NOT NULL,
        etag TEXT,
        body BLOB NOT NULL,
        saved_at INTEGER NOT NULL,
        PRIMARY KEY (registry, path)
    ) STRICT;

    -- `touched` orders versions by most recent install or activation (from
    -- `clock`), which is what gc keeps; `id` is install order.
    CREATE TABLE versions (
        id INTEGER PRIMARY KEY,
        registry TEXT NOT NULL,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        manifest_json TEXT NOT NULL,
        installed_at INTEGER NOT NULL,
        touched INTEGER NOT NULL,
        UNIQUE (name, version)
    ) STRICT;

    CREATE TABLE files (
        version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
        length INTEGER NOT NULL CHECK (length >= 0),
        PRIMARY KEY (version_id, path)
    ) STRICT;
    CREATE INDEX files_by_sha256 ON files (sha256);

    -- No cascade: deleting an active or known-good version is a bug that the
    -- foreign key turns into an error instead of a dangling selection.
    CREATE TABLE active (
        name TEXT PRIMARY KEY NOT NULL,
        version TEXT NOT NULL,
        FOREIGN KEY (name, version) REFERENCES versions (name, version)
    ) STRICT;

    CREATE TABLE known_good (
        name TEXT PRIMARY KEY NOT NULL,
        version TEXT NOT NULL,
        marked_at INTEGER NOT NULL,
        FOREIGN KEY (name, version) REFERENCES versions (name, version)
    ) STRICT;

    -- History only matters for versions that can still be rolled back to.
    CREATE TABLE activations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        activated_at INTEGER NOT NULL,
        FOREIGN KEY (name, version) REFERENCES versions (name, version) ON DELETE CASCADE
    ) STRICT;
    CREATE INDEX activations_by_name ON activations (name, id);

    -- Pins may name versions not installed yet: resolve installs them.
    CREATE TABLE pins (
        name TEXT PRIMARY KEY NOT NULL,
        version TEXT NOT NULL,
        pinned_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE clock (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        seq INTEGER NOT NULL
    ) STRICT;
    INSERT INTO clock (id, seq) VALUES (0, 0);
    "#,
    // 1 -> 2: when fresh signed metadata last verified, shown as "last
    // verified at T" while a registry is stale, offline or refused.
    r#"
    ALTER TABLE registry_state ADD COLUMN last_verified_at INTEGER;
    "#,
    // 2 -> 3: what the person allowed each remote to do. A decision row with
    // no grants is "asked, allowed nothing", unlike no row ("never asked").
    r#"
    CREATE TABLE grant_decisions (
        remote TEXT PRIMARY KEY NOT NULL,
        decided_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE grants (
        remote TEXT NOT NULL REFERENCES grant_decisions (remote) ON DELETE CASCADE,
        permission TEXT NOT NULL,
        PRIMARY KEY (remote, permission)
    ) STRICT;
    "#,
    // 3 -> 4: history for the Admin Dashboard's charts (`history.rs`): the
    // size of what the index references after each change, and every mount
    // and load failure the shell reported. Both are trimmed to a bound on
    // insert; no foreign key, so gc'd versions keep their history. The first
    // sample is the cache as the upgrade found it.
    r#"
    CREATE TABLE size_samples (
        id INTEGER PRIMARY KEY,
        sampled_at INTEGER NOT NULL,
        bytes INTEGER NOT NULL CHECK (bytes >= 0),
        blobs INTEGER NOT NULL CHECK (blobs >= 0),
        versions INTEGER NOT NULL CHECK (versions >= 0)
    ) STRICT;
    INSERT INTO size_samples (sampled_at, bytes, blobs, versions)
        SELECT unixepoch(), coalesce(sum(length), 0), count(*), (SELECT count(*) FROM versions)
        FROM (SELECT max(length) AS length FROM files GROUP BY sha256);

    CREATE TABLE mount_events (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        at INTEGER NOT NULL,
        mounted INTEGER NOT NULL CHECK (mounted IN (0, 1)),
        phase TEXT,
        mount_ms REAL
    ) STRICT;
    CREATE INDEX mount_events_by_time ON mount_events (at);
    "#,
];

/// The schema version this build writes.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Opens (creating if needed) the index at `path`, configures it and migrates it.
/// A new index is built in `tmp_dir` first (see [`create`]).
pub(crate) fn open(path: &Path, tmp_dir: &Path) -> Result<Connection> {
    if !path.exists() {
        create(path, tmp_dir)?;
    }
    let mut conn = Connection::open(path).map_err(db_err("opening the index"))?;
    // Set first so that even switching to WAL waits for a concurrent opener.
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err("setting the busy timeout"))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(db_err("switching the index to WAL mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "cache index did not switch to WAL mode; concurrent access will be slower");
    }
    // NORMAL, not FULL: in WAL mode SQLite still never corrupts the index, a
    // killed process loses nothing, and a power cut can at most forget the
    // last few commits; the cache is re-downloadable, so that is the right
    // trade for an fsync less on every one of the dozen transactions a
    // resolve makes. Blobs are flushed before a version referencing them
    // commits, so a forgotten commit never exposes a missing blob.
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
        .map_err(db_err("configuring the index"))?;
    // The checkpoint SQLite runs when the last connection closes (a dozen page
    // writes, two flushes, the WAL's unlink) made every `augment` command wait
    // about 6 ms on its way out. The WAL is checkpointed as it grows anyway
    // (every 1000 pages, during commits), and a WAL left behind is replayed by
    // the next opener, so nothing is lost by skipping it.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(db_err("configuring the index"))?;
    migrate(&mut conn, path)?;
    Ok(conn)
}

/// Builds a new index in a temporary file with no flushes, flushes it once and
/// links it into place. Creating the database in place costs half a dozen
/// flushes (journal, directory, database, WAL, directory again), which is most
/// of opening a new cache; built aside, the index is whole or absent after a
/// crash all the same. When another process links its index first, that one is
/// used and this one is dropped.
fn create(path: &Path, tmp_dir: &Path) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix("index-")
        .suffix(".sqlite")
        .tempfile_in(tmp_dir)
        .map_err(io_err("create a temporary file in", tmp_dir))?;
    let mut conn = Connection::open(tmp.path()).map_err(db_err("creating the index"))?;
    // Nothing can depend on this file before it is flushed and linked below.
    conn.execute_batch("PRAGMA synchronous = OFF;").map_err(db_err("configuring the new index"))?;
    conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get::<_, String>(0))
        .map_err(db_err("switching the new index to WAL mode"))?;
    migrate(&mut conn, path)?;
    // Closing checkpoints the WAL into the database file and removes it.
    conn.close().map_err(|(_, source)| CacheError::Database { action: "closing the new index", source })?;
    tmp.as_file().sync_all().map_err(io_err("flush", tmp.path()))?;
    match fs::hard_link(tmp.path(), path) {
        Ok(()) => tracing::debug!(path = %path.display(), "created cache index"),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            tracing::debug!(path = %path.display(), "another process created the cache index first")
        }
        // A file system without hard links: the caller creates it in place.
        Err(err) => tracing::debug!(path = %path.display(), %err, "could not link a new cache index into place"),
    }
    Ok(())
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let current = user_version(conn)?;
    if current == LATEST {
        return Ok(());
    }
    if current > LATEST {
        return Err(too_new(path, current));
    }
    // IMMEDIATE so that two processes opening a fresh cache at once do not both
    // run the same migration: the second waits, then sees the new version.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err("starting the schema migration"))?;
    let current = user_version(&tx)?;
    if current > LATEST {
        return Err(too_new(path, current));
    }
    let start = usize::try_from(current).map_err(|_| CacheError::InvalidInput {
        what: "cache index schema version",
        reason: format!(
            "`{}` has user_version {current}, which no Augment-It build writes; move the cache directory aside to rebuild it",
            path.display()
        ),
    })?;
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tracing::info!(from, to = from + 1, "migrating cache index schema");
        tx.execute_batch(sql).map_err(db_err("migrating the index schema"))?;
    }
    tx.pragma_update(None, "user_version", LATEST).map_err(db_err("recording the schema version"))?;
    tx.commit().map_err(db_err("committing the schema migration"))
}

fn user_version(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0)).map_err(db_err("reading the schema version"))
}

fn too_new(path: &Path, found: i64) -> CacheError {
    CacheError::SchemaTooNew { path: path.to_owned(), found, supported: LATEST }
}
