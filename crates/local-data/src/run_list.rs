//! Every run with what it sent, and a cancel that another process can ask
//! for: what the command line (`augment run list|status|cancel|export`)
//! needs beyond the app's live-run calls. Kept apart from `runs.rs`, which
//! the engine drives.

use rusqlite::params;
use serde::Serialize;

use crate::{Error, ModelTarget, RunProgress, RunStatus, Store, now_millis};

/// A run, its counts, and the dataset, template versions and models of the
/// requests it holds.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    #[serde(flatten)]
    pub progress: RunProgress,
    /// The dataset its requests belong to (one per run); `None` only for a
    /// run whose requests were all deleted with their dataset.
    pub dataset_id: Option<i64>,
    /// The template versions its requests were rendered from.
    pub template_version_ids: Vec<i64>,
    /// The provider models its requests go to.
    pub targets: Vec<ModelTarget>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds when sending last stopped; `None` while running.
    pub finished_at: Option<i64>,
}

impl Store {
    /// Every run, newest first.
    pub fn runs(&self) -> Result<Vec<RunSummary>, Error> {
        let ids: Vec<i64> = self
            .conn
            .prepare("SELECT id FROM runs ORDER BY id DESC")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.into_iter().map(|id| self.run_summary(id)).collect()
    }

    /// One run with what it sent.
    pub fn run_summary(&self, run_id: i64) -> Result<RunSummary, Error> {
        let progress = self.run_progress(run_id)?;
        let (created_at, finished_at): (i64, Option<i64>) =
            self.conn.query_row("SELECT created_at, finished_at FROM runs WHERE id = ?1", [run_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let mut dataset_id = None;
        let mut template_version_ids = Vec::new();
        let mut targets = Vec::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT q.dataset_id, q.template_version_id, q.provider, q.model
             FROM run_items i JOIN requests q ON q.id = i.request_id
             WHERE i.run_id = ?1 ORDER BY q.template_version_id, q.provider, q.model",
        )?;
        let mut rows = stmt.query([run_id])?;
        while let Some(row) = rows.next()? {
            dataset_id.get_or_insert(row.get::<_, i64>(0)?);
            let version: i64 = row.get(1)?;
            if !template_version_ids.contains(&version) {
                template_version_ids.push(version);
            }
            let target = ModelTarget::new(row.get::<_, String>(2)?, row.get::<_, String>(3)?);
            if !targets.contains(&target) {
                targets.push(target);
            }
        }
        Ok(RunSummary { progress, dataset_id, template_version_ids, targets, created_at, finished_at })
    }

    /// Marks a running or paused run cancelled, in one statement so that a
    /// run completing meanwhile stays completed. A process sending the run
    /// stops when it sees the status (the command line polls it); a run no
    /// process is sending keeps its requests for a resume.
    pub fn mark_cancelled(&mut self, run_id: i64, note: &str) -> Result<RunProgress, Error> {
        let changed = self.conn.execute(
            "UPDATE runs SET status = 'cancelled', note = ?1, finished_at = ?2
             WHERE id = ?3 AND status IN ('running', 'paused')",
            params![note, now_millis(), run_id],
        )?;
        let progress = self.run_progress(run_id)?;
        if changed == 0 && progress.status != RunStatus::Cancelled {
            return Err(Error::State(format!("run {run_id} has already completed: there is nothing to cancel")));
        }
        Ok(progress)
    }
}
