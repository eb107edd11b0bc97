//! Verify and garbage collection.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::digest::{HASH_BUFFER_SIZE, Sha256Digest, hash_file};
use crate::error::{Result, db_err, io_err};
use crate::gc_lock::{LockMode, acquire};
use crate::versions::{VersionRef, file_from_row};
use crate::{BundleCache, immediate, read_snapshot};

/// Temporary files younger than this may belong to a writer that does not
/// take the install lock (or to a clock-skewed one), so gc leaves them.
const TMP_MAX_AGE: Duration = Duration::from_secs(60 * 60);

/// The outcome of [`BundleCache::verify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// Distinct blobs referenced by installed versions.
    pub blobs_checked: usize,
    /// Bytes read and hashed.
    pub bytes_checked: u64,
    /// Blobs that are missing or damaged, sorted by digest.
    pub problems: Vec<BlobProblem>,
    /// `PRAGMA integrity_check` and foreign key findings; exactly `["ok"]`
    /// when the index is sound.
    pub integrity: Vec<String>,
}

impl VerifyReport {
    /// No damaged blob and a sound index.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty() && self.integrity_ok()
    }

    /// Whether the index passed its integrity checks.
    pub fn integrity_ok(&self) -> bool {
        self.integrity == ["ok"]
    }

    /// Every version with at least one damaged or missing file.
    pub fn affected_versions(&self) -> BTreeSet<VersionRef> {
        self.problems.iter().flat_map(|p| p.affected.iter().cloned()).collect()
    }
}

/// One blob that failed verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlobProblem {
    pub digest: Sha256Digest,
    pub expected_length: u64,
    pub kind: BlobProblemKind,
    /// The versions that reference this blob; reinstall them to repair it.
    pub affected: Vec<VersionRef>,
}

/// How a blob failed verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[non_exhaustive]
pub enum BlobProblemKind {
    Missing,
    WrongLength { actual: u64 },
    WrongHash { actual: Sha256Digest },
    Unreadable { error: String },
}

/// The outcome of [`BundleCache::gc`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GcReport {
    pub versions_removed: Vec<VersionRef>,
    pub blobs_removed: usize,
    pub tmp_files_removed: usize,
    /// Bytes of blobs and temporary files deleted.
    pub bytes_freed: u64,
    /// Files that could not be deleted (for example, open on Windows); the
    /// next gc tries again.
    pub failures: Vec<String>,
}

struct BlobRef {
    digest: Sha256Digest,
    length: u64,
    affected: BTreeSet<VersionRef>,
}

enum Outcome {
    Ok(u64),
    Problem(BlobProblemKind, u64),
}

impl BundleCache {
    /// Re-hashes every blob referenced by an installed version and checks the
    /// index's integrity.
    ///
    /// Holds the install lock (shared) so a concurrent gc cannot make blobs
    /// disappear mid-check; hashes on every core with a 1 MiB read buffer.
    pub fn verify(&self) -> Result<VerifyReport> {
        let _no_gc = acquire(&self.lock_path, LockMode::Shared)?;
        let (integrity, refs) = {
            let mut conn = self.conn();
            let conn = read_snapshot(&mut conn, "reading the index for verify")?;
            let mut integrity: Vec<String> = {
                let mut stmt = conn.prepare("PRAGMA integrity_check").map_err(db_err("checking index integrity"))?;
                let rows = stmt.query_map([], |row| row.get(0)).map_err(db_err("checking index integrity"))?;
                rows.collect::<rusqlite::Result<_>>().map_err(db_err("checking index integrity"))?
            };
            let mut stmt = conn.prepare("PRAGMA foreign_key_check").map_err(db_err("checking index foreign keys"))?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(format!(
                        "foreign key violation: {} row {} refers to a missing {}",
                        row.get::<_, String>(0)?,
                        row.get::<_, Option<i64>>(1)?.map_or_else(|| "?".to_owned(), |r| r.to_string()),
                        row.get::<_, String>(2)?,
                    ))
                })
                .map_err(db_err("checking index foreign keys"))?;
            let violations: Vec<String> =
                rows.collect::<rusqlite::Result<_>>().map_err(db_err("checking index foreign keys"))?;
            if !violations.is_empty() {
                integrity.retain(|line| line != "ok");
                integrity.extend(violations);
            }
            drop(stmt);
            (integrity, referenced_blobs(&conn)?)
        };

        let outcomes = hash_in_parallel(self, &refs);
        let mut report = VerifyReport { blobs_checked: refs.len(), bytes_checked: 0, problems: Vec::new(), integrity };
        for (r, outcome) in refs.into_iter().zip(outcomes) {
            match outcome {
                Outcome::Ok(read) => report.bytes_checked += read,
                Outcome::Problem(kind, read) => {
                    report.bytes_checked += read;
                    tracing::warn!(digest = %r.digest, ?kind, "blob failed verification");
                    report.problems.push(BlobProblem {
                        digest: r.digest,
                        expected_length: r.length,
                        kind,
                        affected: r.affected.into_iter().collect(),
                    });
                }
            }
        }
        tracing::info!(
            blobs = report.blobs_checked,
            bytes = report.bytes_checked,
            problems = report.problems.len(),
            integrity_ok = report.integrity_ok(),
            "verified cache"
        );
        Ok(report)
    }

    /// Removes versions nobody needs and the blobs only they referenced.
    ///
    /// Per remote it keeps the pinned, active and last-known-good versions plus
    /// the `keep_previous` most recently activated or installed others. Then it
    /// deletes every blob no remaining version references and temporary files
    /// older than an hour. Waits for in-flight installs (their
    /// [`InstallGuard`](crate::InstallGuard)s) to finish first, and blocks new
    /// ones until done.
    pub fn gc(&self, keep_previous: usize) -> Result<GcReport> {
        // Lock before taking the connection: installers take the connection
        // while holding their guard, so the reverse order would deadlock.
        let _exclusive = acquire(&self.lock_path, LockMode::Exclusive)?;
        let mut report = GcReport::default();

        let referenced = {
            let mut conn = self.conn();
            let tx = immediate(&mut conn, "starting gc")?;
            let doomed = doomed_versions(&tx, keep_previous)?;
            for (id, v) in doomed {
                tx.execute("DELETE FROM versions WHERE id = ?1", [id]).map_err(db_err("removing an old version"))?;
                report.versions_removed.push(v);
            }
            let referenced: HashSet<String> = {
                let mut stmt =
                    tx.prepare("SELECT DISTINCT sha256 FROM files").map_err(db_err("listing referenced blobs"))?;
                let rows = stmt.query_map([], |row| row.get(0)).map_err(db_err("listing referenced blobs"))?;
                rows.collect::<rusqlite::Result<_>>().map_err(db_err("listing referenced blobs"))?
            };
            crate::history::sample_size(&tx)?;
            tx.commit().map_err(db_err("committing gc"))?;
            referenced
        };
        for v in &report.versions_removed {
            tracing::info!(name = %v.name, version = %v.version, "gc removed version");
        }

        self.sweep_blobs(&referenced, &mut report)?;
        self.sweep_tmp(&mut report)?;
        tracing::info!(
            versions = report.versions_removed.len(),
            blobs = report.blobs_removed,
            tmp_files = report.tmp_files_removed,
            bytes = report.bytes_freed,
            "gc finished"
        );
        Ok(report)
    }

    fn sweep_blobs(&self, referenced: &HashSet<String>, report: &mut GcReport) -> Result<()> {
        for fanout in read_dir(&self.blobs_dir)? {
            let fanout = fanout.map_err(io_err("list", &self.blobs_dir))?.path();
            if !fanout.is_dir() {
                continue;
            }
            for entry in read_dir(&fanout)? {
                let path = entry.map_err(io_err("list", &fanout))?.path();
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let Ok(digest) = name.parse::<Sha256Digest>() else {
                    tracing::warn!(path = %path.display(), "leaving a file that is not a blob in the blob store");
                    continue;
                };
                // A file in the wrong fan-out directory is never served, so it
                // is garbage even when its digest is referenced.
                if referenced.contains(name) && self.blob_path(&digest) == path {
                    continue;
                }
                remove_file(&path, report, |r| r.blobs_removed += 1);
            }
            // Only succeeds when empty, which is the point.
            let _ = fs::remove_dir(&fanout);
        }
        Ok(())
    }

    fn sweep_tmp(&self, report: &mut GcReport) -> Result<()> {
        let now = SystemTime::now();
        for entry in read_dir(&self.tmp_dir)? {
            let path = entry.map_err(io_err("list", &self.tmp_dir))?.path();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let old =
                meta.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age > TMP_MAX_AGE);
            if meta.is_file() && old {
                remove_file(&path, report, |r| r.tmp_files_removed += 1);
            }
        }
        Ok(())
    }
}

fn read_dir(dir: &Path) -> Result<fs::ReadDir> {
    fs::read_dir(dir).map_err(io_err("list", dir))
}

fn remove_file(path: &Path, report: &mut GcReport, count: impl FnOnce(&mut GcReport)) {
    let size = fs::symlink_metadata(path).map(|m| m.len()).unwrap_or(0);
    match fs::remove_file(path) {
        Ok(()) => {
            report.bytes_freed += size;
            count(report);
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "gc could not delete a file");
            report.failures.push(format!("{}: {e}", path.display()));
        }
    }
}

/// The versions gc removes: everything not protected and not among the
/// `keep_previous` most recently touched of its remote.
fn doomed_versions(conn: &rusqlite::Connection, keep_previous: usize) -> Result<Vec<(i64, VersionRef)>> {
    let mut stmt = conn
        .prepare(
            "SELECT v.id, v.name, v.version,
                    EXISTS (SELECT 1 FROM pins p WHERE p.name = v.name AND p.version = v.version)
                 OR EXISTS (SELECT 1 FROM active a WHERE a.name = v.name AND a.version = v.version)
                 OR EXISTS (SELECT 1 FROM known_good k WHERE k.name = v.name AND k.version = v.version)
             FROM versions v
             ORDER BY v.name, v.touched DESC, v.id DESC",
        )
        .map_err(db_err("choosing versions to remove"))?;
    let rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, i64>(0)?, VersionRef { name: row.get(1)?, version: row.get(2)? }, row.get::<_, bool>(3)?))
        })
        .map_err(db_err("choosing versions to remove"))?;
    let mut kept_others: BTreeMap<String, usize> = BTreeMap::new();
    let mut doomed = Vec::new();
    for row in rows {
        let (id, v, protected) = row.map_err(db_err("choosing versions to remove"))?;
        if protected {
            continue;
        }
        let kept = kept_others.entry(v.name.clone()).or_default();
        if *kept < keep_previous {
            *kept += 1;
        } else {
            doomed.push((id, v));
        }
    }
    Ok(doomed)
}

/// Every distinct (digest, length) referenced by a version, with the versions
/// that reference it, in digest order.
fn referenced_blobs(conn: &rusqlite::Connection) -> Result<Vec<BlobRef>> {
    let mut stmt = conn
        .prepare(
            "SELECT f.path, f.sha256, f.length, v.name, v.version
             FROM files f JOIN versions v ON v.id = f.version_id
             ORDER BY f.sha256, f.length",
        )
        .map_err(db_err("listing referenced blobs"))?;
    let rows = stmt
        .query_map([], |row| Ok((file_from_row(row, 0)?, VersionRef { name: row.get(3)?, version: row.get(4)? })))
        .map_err(db_err("listing referenced blobs"))?;
    let mut out: Vec<BlobRef> = Vec::new();
    for row in rows {
        let (file, version) = row.map_err(db_err("listing referenced blobs"))?;
        match out.last_mut() {
            Some(last) if last.digest == file.sha256 && last.length == file.length => {
                last.affected.insert(version);
            }
            _ => out.push(BlobRef { digest: file.sha256, length: file.length, affected: BTreeSet::from([version]) }),
        }
    }
    Ok(out)
}

/// Checks every blob, in `refs` order, on all cores. Workers pull the next
/// blob from a shared counter rather than owning fixed chunks, so one huge
/// blob does not leave a core idle while the rest of its chunk waits.
fn hash_in_parallel(cache: &BundleCache, refs: &[BlobRef]) -> Vec<Outcome> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(refs.len()).max(1);
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Outcome)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut buf = vec![0u8; HASH_BUFFER_SIZE];
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(r) = refs.get(i) else { break };
                        done.push((i, check_blob(cache, r, &mut buf)));
                    }
                    done
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    // Each index was taken exactly once, so sorting restores `refs` order.
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, outcome)| outcome).collect()
}

fn check_blob(cache: &BundleCache, r: &BlobRef, buf: &mut [u8]) -> Outcome {
    let path = cache.blob_path(&r.digest);
    match fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Outcome::Problem(BlobProblemKind::Missing, 0);
        }
        Err(e) => {
            return Outcome::Problem(BlobProblemKind::Unreadable { error: e.to_string() }, 0);
        }
        Ok(m) if !m.is_file() => {
            return Outcome::Problem(BlobProblemKind::Unreadable { error: "not a regular file".to_owned() }, 0);
        }
        // No need to read a blob whose size already proves it wrong.
        Ok(m) if m.len() != r.length => {
            return Outcome::Problem(BlobProblemKind::WrongLength { actual: m.len() }, 0);
        }
        Ok(_) => {}
    }
    match hash_file(&path, buf) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Outcome::Problem(BlobProblemKind::Missing, 0),
        Err(e) => Outcome::Problem(BlobProblemKind::Unreadable { error: e.to_string() }, 0),
        Ok((_, read)) if read != r.length => Outcome::Problem(BlobProblemKind::WrongLength { actual: read }, read),
        Ok((digest, read)) if digest != r.digest => {
            Outcome::Problem(BlobProblemKind::WrongHash { actual: digest }, read)
        }
        Ok((_, read)) => Outcome::Ok(read),
    }
}
