//! Runs sent through the providers' batch APIs (issue 17, point 3; schema 8).
//!
//! A batch run claims its queued requests (committed *in flight*, as a live
//! send does), submits them in provider batches and records each batch's id
//! with the requests it holds ([`Store::record_batch_job`]) right after the
//! provider accepted it. From then on a restart polls the stored job instead
//! of submitting again: [`Store::resume_run`] leaves those requests in
//! flight, [`Store::open_batch_jobs`] lists the jobs to pick up. Each result
//! is stored with [`Store::record_answer`] / [`Store::record_failure`], so an
//! answered request is never stored twice, and results are stored as each
//! job ends ([`Store::batch_job_pending`] lists what a job still owes).
//!
//! The window between the provider accepting a batch and its id being
//! committed is the batch form of a request in flight at a crash: a kill
//! inside it leaves the requests in flight with no job, so a resume submits
//! them again (at-least-once, as for live requests).

use rusqlite::{TransactionBehavior, params};
use serde::Serialize;

use crate::error::OrNotFound as _;
use crate::runs::claim_in;
use crate::{ClaimedRequest, Error, RunProgress, Store, now_millis};

/// A provider batch a run submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchJob {
    pub id: i64,
    pub run_id: i64,
    pub provider: String,
    /// The provider's batch id (`batch_…`, `msgbatch_…`).
    pub remote_id: String,
    /// Unix milliseconds when it was recorded.
    pub created_at: i64,
}

/// How many provider batches a run submitted, and how many still owe results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchJobCounts {
    pub jobs: u64,
    pub open: u64,
}

impl Store {
    /// [`Store::create_run_with`] for a run sent through the providers'
    /// batch APIs (kept with the run, so a resume polls its batches).
    pub fn create_batch_run(
        &mut self,
        dataset_id: i64,
        template_version_id: Option<i64>,
        no_cache: bool,
        assertions: &[crate::Assertion],
    ) -> Result<RunProgress, Error> {
        self.create_run_as(
            dataset_id,
            template_version_id,
            &crate::NewRun { no_cache, batch: true, assertions, ..Default::default() },
        )
    }

    /// The batch runs that were being sent when the process stopped (still
    /// `running`: neither paused nor cancelled by the person). Their batches
    /// go on at the provider whatever the app does, so a start goes back to
    /// collecting them.
    pub fn interrupted_batch_runs(&self) -> Result<Vec<i64>, Error> {
        Ok(self
            .conn
            .prepare("SELECT id FROM runs WHERE batch AND status = 'running' ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    /// Whether the run is sent through the providers' batch APIs.
    pub fn run_is_batch(&self, run_id: i64) -> Result<bool, Error> {
        self.conn.query_row("SELECT batch FROM runs WHERE id = ?1", [run_id], |r| r.get(0)).or_not_found("run", run_id)
    }

    /// Takes every queued request of a run and commits them in flight in one
    /// transaction, in request order (what a batch will hold).
    pub fn claim_all_queued(&mut self, run_id: i64) -> Result<Vec<ClaimedRequest>, Error> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let claimed = claim_in(&tx, run_id, u32::MAX)?;
        tx.commit()?;
        Ok(claimed)
    }

    /// Records a batch the provider accepted, with the requests it holds.
    pub fn record_batch_job(
        &mut self,
        run_id: i64,
        provider: &str,
        remote_id: &str,
        request_ids: &[i64],
    ) -> Result<BatchJob, Error> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let created_at = now_millis();
        tx.execute(
            "INSERT INTO batch_jobs (run_id, provider, remote_id, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![run_id, provider, remote_id, created_at],
        )?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx.prepare("INSERT INTO batch_job_items (job_id, request_id) VALUES (?1, ?2)")?;
            for request_id in request_ids {
                insert.execute(params![id, request_id])?;
            }
        }
        tx.commit()?;
        tracing::info!(run_id, provider, remote_id, requests = request_ids.len(), "batch job recorded");
        Ok(BatchJob { id, run_id, provider: provider.to_owned(), remote_id: remote_id.to_owned(), created_at })
    }

    /// The run's batches whose results are not all stored yet, oldest first.
    pub fn open_batch_jobs(&self, run_id: i64) -> Result<Vec<BatchJob>, Error> {
        let jobs = self
            .conn
            .prepare(
                "SELECT id, provider, remote_id, created_at FROM batch_jobs
                 WHERE run_id = ?1 AND state = 'submitted' ORDER BY id",
            )?
            .query_map([run_id], |r| {
                Ok(BatchJob { id: r.get(0)?, run_id, provider: r.get(1)?, remote_id: r.get(2)?, created_at: r.get(3)? })
            })?
            .collect::<Result<_, _>>()?;
        Ok(jobs)
    }

    /// The requests of a job still in flight (no result stored), as claimed
    /// requests to store their results with.
    pub fn batch_job_pending(&self, job: &BatchJob) -> Result<Vec<ClaimedRequest>, Error> {
        let pending = self
            .conn
            .prepare(
                "SELECT q.id, q.provider, q.model, coalesce(q.edited, q.rendered), i.attempts, v.schema, q.sample
                 FROM batch_job_items b
                 JOIN run_items i ON i.run_id = ?2 AND i.request_id = b.request_id
                 JOIN requests q ON q.id = b.request_id
                 JOIN template_versions v ON v.id = q.template_version_id
                 WHERE b.job_id = ?1 AND i.state = 'in_flight' ORDER BY q.id",
            )?
            .query_map(params![job.id, job.run_id], |r| {
                Ok(ClaimedRequest {
                    run_id: job.run_id,
                    request_id: r.get(0)?,
                    provider: r.get(1)?,
                    model: r.get(2)?,
                    prompt: r.get(3)?,
                    attempt: r.get(4)?,
                    started_at: job.created_at,
                    schema: r.get(5)?,
                    sample: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(pending)
    }

    /// Marks a job ended (every result stored), with the provider's last word on it.
    pub fn end_batch_job(&mut self, job_id: i64, provider_status: &str) -> Result<(), Error> {
        let n = self.conn.execute(
            "UPDATE batch_jobs SET state = 'ended', provider_status = ?1, updated_at = ?2 WHERE id = ?3",
            params![provider_status, now_millis(), job_id],
        )?;
        if n == 0 {
            return Err(Error::NotFound { kind: "batch job", id: job_id });
        }
        Ok(())
    }

    /// How many batches the run submitted and how many still owe results.
    pub fn batch_job_counts(&self, run_id: i64) -> Result<BatchJobCounts, Error> {
        let (jobs, open): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(state = 'submitted'), 0) FROM batch_jobs WHERE run_id = ?1",
            [run_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(BatchJobCounts { jobs: jobs.max(0) as u64, open: open.max(0) as u64 })
    }
}
