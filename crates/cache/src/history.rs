//! History for the Admin Dashboard's charts: the cache's size over time and
//! every mount and load failure the shell reported, per remote.
//!
//! A size sample is written in the same transaction as each change to the
//! installed versions (an install, a gc), from the index alone: the bytes of
//! the blobs the versions reference, each blob once. That is what the cache
//! holds once gc has swept; [`BundleCache::usage`] walks the disk instead and
//! also counts blobs waiting for the next gc. A change that leaves the size
//! as it was adds no sample. Both tables keep only their newest rows
//! ([`SIZE_SAMPLES_KEPT`], [`MOUNT_EVENTS_KEPT`]), so history never grows the
//! index without bound.

use rusqlite::{Transaction, params};
use serde::{Deserialize, Serialize};

use crate::error::{Result, db_err};
use crate::{BundleCache, immediate, non_empty, now_unix};

/// Size samples kept: one per install or gc that changed something, so
/// years of ordinary use.
pub const SIZE_SAMPLES_KEPT: i64 = 1000;

/// Mount and failure events kept: a start mounts each remote once, so about
/// a thousand starts of five remotes.
pub const MOUNT_EVENTS_KEPT: i64 = 5000;

/// The cache's size after one change.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheSizeSample {
    /// Unix seconds.
    pub at: i64,
    /// Bytes of the blobs the installed versions reference, each blob once.
    pub bytes: u64,
    pub blobs: u64,
    pub versions: u64,
}

/// How a remote's mount ended, as the shell reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MountOutcome<'a> {
    /// On screen; `mount_ms` from the start of its load, as the page measured it.
    Mounted { mount_ms: Option<f64> },
    /// Failed in `phase` (the shell's word: load, render, timeout).
    Failed { phase: &'a str },
}

/// One remote's mounts and failures over a period.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteLoadStats {
    pub name: String,
    pub mounts: u64,
    pub failures: u64,
    /// Mean time from load start to mounted, over the mounts that reported one.
    pub mean_mount_ms: Option<f64>,
    /// Unix seconds of the latest failure in the period.
    pub last_failure_at: Option<i64>,
}

impl BundleCache {
    /// The size samples, oldest first (at most [`SIZE_SAMPLES_KEPT`]).
    pub fn size_history(&self) -> Result<Vec<CacheSizeSample>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT sampled_at, bytes, blobs, versions FROM size_samples ORDER BY id")
            .map_err(db_err("reading the cache size history"))?;
        let rows = stmt
            .query_map([], |row| {
                Ok(CacheSizeSample {
                    at: row.get(0)?,
                    bytes: non_negative(row.get(1)?),
                    blobs: non_negative(row.get(2)?),
                    versions: non_negative(row.get(3)?),
                })
            })
            .map_err(db_err("reading the cache size history"))?;
        rows.collect::<rusqlite::Result<_>>().map_err(db_err("reading the cache size history"))
    }

    /// Records that `name` `version` mounted or failed, now.
    pub fn record_mount(&self, name: &str, version: &str, outcome: MountOutcome<'_>) -> Result<()> {
        non_empty("remote name", name)?;
        non_empty("version", version)?;
        let (mounted, phase, mount_ms) = match outcome {
            MountOutcome::Mounted { mount_ms } => (true, None, mount_ms.filter(|ms| ms.is_finite() && *ms >= 0.0)),
            MountOutcome::Failed { phase } => {
                non_empty("failure phase", phase)?;
                (false, Some(phase), None)
            }
        };
        let mut conn = self.conn();
        let tx = immediate(&mut conn, "starting to record a mount")?;
        tx.execute(
            "INSERT INTO mount_events (name, version, at, mounted, phase, mount_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![name, version, now_unix(), mounted, phase, mount_ms],
        )
        .map_err(db_err("recording a mount"))?;
        tx.execute("DELETE FROM mount_events WHERE id <= (SELECT max(id) FROM mount_events) - ?1", [MOUNT_EVENTS_KEPT])
            .map_err(db_err("trimming the mount history"))?;
        tx.commit().map_err(db_err("recording a mount"))
    }

    /// Mounts and failures per remote since `since` (Unix seconds), by name.
    pub fn load_stats(&self, since: i64) -> Result<Vec<RemoteLoadStats>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT name, sum(mounted), sum(1 - mounted),
                        avg(mount_ms) FILTER (WHERE mounted = 1), max(at) FILTER (WHERE mounted = 0)
                 FROM mount_events WHERE at >= ?1 GROUP BY name ORDER BY name",
            )
            .map_err(db_err("summing mounts per remote"))?;
        let rows = stmt
            .query_map([since], |row| {
                Ok(RemoteLoadStats {
                    name: row.get(0)?,
                    mounts: non_negative(row.get(1)?),
                    failures: non_negative(row.get(2)?),
                    mean_mount_ms: row.get(3)?,
                    last_failure_at: row.get(4)?,
                })
            })
            .map_err(db_err("summing mounts per remote"))?;
        rows.collect::<rusqlite::Result<_>>().map_err(db_err("summing mounts per remote"))
    }
}

/// Adds a size sample in `tx` (the transaction that changed the versions)
/// unless the size is the same as the last sample's.
pub(crate) fn sample_size(tx: &Transaction<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO size_samples (sampled_at, bytes, blobs, versions)
         SELECT ?1, bytes, blobs, versions FROM (
             SELECT coalesce(sum(length), 0) AS bytes, count(*) AS blobs, (SELECT count(*) FROM versions) AS versions
             FROM (SELECT max(length) AS length FROM files GROUP BY sha256)
         ) AS now
         WHERE NOT EXISTS (
             SELECT 1 FROM size_samples s
             WHERE s.id = (SELECT max(id) FROM size_samples)
               AND s.bytes = now.bytes AND s.blobs = now.blobs AND s.versions = now.versions
         )",
        [now_unix()],
    )
    .map_err(db_err("sampling the cache size"))?;
    tx.execute("DELETE FROM size_samples WHERE id <= (SELECT max(id) FROM size_samples) - ?1", [SIZE_SAMPLES_KEPT])
        .map_err(db_err("trimming the cache size history"))?;
    Ok(())
}

/// Counts and sizes are never negative (the table's checks); read one that
/// is (a hand-edited index) as zero rather than failing the chart.
fn non_negative(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
