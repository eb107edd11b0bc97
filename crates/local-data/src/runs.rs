//! The persisted state of runs, which the run engine drives.
//!
//! Each request of a run is an item that moves `queued → in_flight →
//! answered | failed`. `in_flight` is committed *before* the request is sent,
//! and the response is inserted in the same transaction that marks the item
//! `answered`, so after a crash every item is in one of two cases:
//!
//! - `answered`: the answer is in `responses`; it is never sent again (a
//!   unique index on successful responses per request enforces it too);
//! - `queued` or `in_flight`: no answer was stored. On resume, `in_flight`
//!   items go back to `queued` and are sent again. The provider may have
//!   answered an in-flight request before the crash, so delivery is
//!   *at-least-once* for requests in flight at the crash and *exactly-once*
//!   for requests whose answer was stored.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use rusqlite::{Connection, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::error::{OrNotFound, is_unique_violation};
use crate::structured::validate_answer;
use crate::{Assertion, Checker, Error, PriceTable, Store, now_millis};

// The queries a run makes per request or per run, named so that a test can
// check their plans: each must find its rows through an index (schema V4),
// or a run gets slower with every request and every run before it.

/// A run's items: the approved requests without an answer that no unfinished run holds.
const CREATE_RUN_ITEMS: &str = "INSERT INTO run_items (run_id, request_id)
    SELECT ?1, q.id FROM requests q
    WHERE q.dataset_id = ?2 AND (?3 IS NULL OR q.template_version_id = ?3) AND q.status = 'approved'
      AND q.sample < ?4
      AND NOT EXISTS (SELECT 1 FROM responses s WHERE s.request_id = q.id AND s.error_code IS NULL)
      AND NOT EXISTS (SELECT 1 FROM run_items i JOIN runs u ON u.id = i.run_id
                      WHERE i.request_id = q.id AND i.state IN ('queued', 'in_flight')
                        AND u.status IN ('running', 'paused', 'cancelled'))
    ORDER BY q.id";

/// The next queued request of a run, in request order, with its template version's schema.
const NEXT_QUEUED: &str =
    "SELECT q.id, q.provider, q.model, coalesce(q.edited, q.rendered), i.attempts, v.schema, q.sample
    FROM run_items i JOIN requests q ON q.id = i.request_id JOIN template_versions v ON v.id = q.template_version_id
    WHERE i.run_id = ?1 AND i.state = 'queued'
    ORDER BY i.request_id LIMIT ?2";

/// How many of a run's answers came from the response cache.
const CACHED_ANSWERS: &str = "SELECT count(*) FROM responses WHERE run_id = ?1 AND cached AND error_code IS NULL";

/// Where a run is.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Being sent, or was being sent when the app stopped (then resume it).
    Running,
    /// Stopped with requests left: a provider was unreachable, its quota
    /// or the run's budget cap was used up, or the person paused it (the
    /// run's note says which); resume it.
    Paused,
    /// Stopped by the person; can be resumed.
    Cancelled,
    /// Every item is answered or failed.
    Completed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Paused => "paused",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Completed => "completed",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "running" => Ok(RunStatus::Running),
            "paused" => Ok(RunStatus::Paused),
            "cancelled" => Ok(RunStatus::Cancelled),
            "completed" => Ok(RunStatus::Completed),
            other => Err(Error::State(format!("unknown run status `{other}` in the database"))),
        }
    }
}

/// Counts of a run's items by state.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunProgress {
    pub run_id: i64,
    pub status: RunStatus,
    pub total: u64,
    pub queued: u64,
    pub in_flight: u64,
    pub answered: u64,
    pub failed: u64,
    /// Why the run stopped, when it did not complete.
    pub note: Option<String>,
    /// How many of `answered` came from the response cache (no provider
    /// call, no spend). Always set by the store; optional for the contract
    /// (host API 1.4.0).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(default)]
    pub cached: Option<u64>,
    /// How many times the run asks each prompt (1: no repeats; see
    /// [`Store::run_stability`]). Always set by the store; optional for the
    /// contract (host API 1.7.0).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(default)]
    pub repeats: Option<u32>,
}

impl RunProgress {
    /// Whether nothing is left to send.
    pub fn is_done(&self) -> bool {
        self.queued == 0 && self.in_flight == 0
    }
}

/// A request taken for sending, already marked in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedRequest {
    pub run_id: i64,
    pub request_id: i64,
    pub provider: String,
    pub model: String,
    /// The text to send (the edited text if there is one).
    pub prompt: String,
    /// 1 for the first time this run sends it.
    pub attempt: u32,
    /// Unix milliseconds when it was claimed.
    pub started_at: i64,
    /// The JSON Schema of the request's template version, if it has one:
    /// asked of the provider and checked in the answer.
    #[serde(default)]
    pub schema: Option<String>,
    /// Which repeat of its prompt the request is (0: the first); a part of
    /// its response cache key after the first (see `AiCall::sample`).
    #[serde(default)]
    pub sample: u32,
}

/// A successful answer to store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub text: String,
    pub model: String,
    pub finish_reason: Option<String>,
    pub input_tokens: Option<u32>,
    pub output_tokens: Option<u32>,
}

/// A request that failed for good (after the provider client's retries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The provider error's code (`rate_limited`, `server_error` …).
    pub code: String,
    pub message: String,
}

/// How a new run sends its requests; each setting is kept with the run,
/// so a resume does the same.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewRun<'a> {
    /// Do not read the response cache ([`Store::run_no_cache`]).
    pub no_cache: bool,
    /// Stop at this cost in US dollars ([`Store::run_max_cost_usd`]).
    pub max_cost_usd: Option<f64>,
    /// Send through the providers' batch APIs ([`Store::run_is_batch`]).
    pub batch: bool,
    /// Score each answer with these ([`crate::Assertion`]).
    pub assertions: &'a [Assertion],
    /// Ask each prompt this many times, 1 to [`crate::MAX_REPEATS`]
    /// ([`Store::run_repeats`]).
    pub repeats: u32,
}

impl Default for NewRun<'_> {
    fn default() -> Self {
        NewRun { no_cache: false, max_cost_usd: None, batch: false, assertions: &[], repeats: 1 }
    }
}

impl Store {
    /// Starts a run of the approved requests of a dataset (and optionally one
    /// template version) that have no answer yet and are not waiting in
    /// another unfinished run.
    pub fn create_run(&mut self, dataset_id: i64, template_version_id: Option<i64>) -> Result<RunProgress, Error> {
        self.create_run_with(dataset_id, template_version_id, false)
    }

    /// [`Store::create_run`]; with `no_cache` the run (and any resume of
    /// it) does not read the response cache ([`Store::run_no_cache`]).
    pub fn create_run_with(
        &mut self,
        dataset_id: i64,
        template_version_id: Option<i64>,
        no_cache: bool,
    ) -> Result<RunProgress, Error> {
        self.create_capped_run(dataset_id, template_version_id, no_cache, None)
    }

    /// [`Store::create_run_with`] with a budget cap in US dollars
    /// ([`Store::run_max_cost_usd`]), written with the run in one transaction
    /// so that no resume can ever send it without its cap.
    pub fn create_capped_run(
        &mut self,
        dataset_id: i64,
        template_version_id: Option<i64>,
        no_cache: bool,
        max_cost_usd: Option<f64>,
    ) -> Result<RunProgress, Error> {
        self.create_checked_run(dataset_id, template_version_id, no_cache, max_cost_usd, &[])
    }

    /// [`Store::create_capped_run`] with assertions that score each answer
    /// ([`crate::Assertion`]), written with the run in one transaction so
    /// that a resume checks with them too.
    pub fn create_checked_run(
        &mut self,
        dataset_id: i64,
        template_version_id: Option<i64>,
        no_cache: bool,
        max_cost_usd: Option<f64>,
        assertions: &[Assertion],
    ) -> Result<RunProgress, Error> {
        let run = NewRun { no_cache, max_cost_usd, assertions, ..NewRun::default() };
        self.create_run_as(dataset_id, template_version_id, &run)
    }

    /// Starts a run of the approved requests of a dataset (and optionally
    /// one template version) that have no answer yet and are not waiting in
    /// another unfinished run, sent as `run` says. With `run.repeats` above
    /// 1, each approved prompt is asked that many times: samples
    /// `1..repeats` are added as copies of every approved sample 0 that
    /// lacks them ([`Store::generate_repeated_requests`]), and the run
    /// takes samples `0..repeats` (a run takes no sample beyond its repeats).
    /// The run row, the samples and its items are written in one transaction.
    pub fn create_run_as(
        &mut self,
        dataset_id: i64,
        template_version_id: Option<i64>,
        run: &NewRun<'_>,
    ) -> Result<RunProgress, Error> {
        let NewRun { no_cache, max_cost_usd, batch, assertions, repeats } = *run;
        let repeats = crate::requests::check_repeats(repeats)?;
        let max_cost_usd = max_cost_usd.map(checked_budget).transpose()?;
        // Refuses a bad one (an unusable pattern) before the run exists.
        Checker::new(assertions)?;
        let assertions = if assertions.is_empty() {
            None
        } else {
            Some(serde_json::to_string(assertions).map_err(|e| Error::State(format!("assertions: {e}")))?)
        };
        self.dataset(dataset_id)?;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_millis();
        tx.execute(
            "INSERT INTO runs (status, created_at, no_cache, max_cost_usd, batch, assertions, repeats)
             VALUES ('running', ?1, ?2, ?3, ?4, ?5, ?6)",
            params![now, no_cache, max_cost_usd, batch, assertions, repeats],
        )?;
        let run_id = tx.last_insert_rowid();
        crate::requests::add_samples(&tx, dataset_id, template_version_id, None, repeats, true, now)?;
        let added = tx.execute(CREATE_RUN_ITEMS, params![run_id, dataset_id, template_version_id, repeats])?;
        if added == 0 {
            return Err(Error::NothingToRun);
        }
        tx.commit()?;
        tracing::info!(run_id, requests = added, "created run");
        self.run_progress(run_id)
    }

    /// Prepares an unfinished run to go on: requests that were in flight when
    /// it stopped go back to the queue (at-least-once, see the module docs),
    /// except those a submitted provider batch holds: their results are
    /// fetched, they are not sent again ([`Store::open_batch_jobs`]).
    pub fn resume_run(&mut self, run_id: i64) -> Result<RunProgress, Error> {
        let progress = self.run_progress(run_id)?;
        if progress.status == RunStatus::Completed {
            return Err(Error::State(format!("run {run_id} has already completed: start a new run")));
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let requeued = tx.execute(
            "UPDATE run_items SET state = 'queued' WHERE run_id = ?1 AND state = 'in_flight'
               AND request_id NOT IN (SELECT b.request_id FROM batch_job_items b JOIN batch_jobs j ON j.id = b.job_id
                                      WHERE j.run_id = ?1 AND j.state = 'submitted')",
            [run_id],
        )?;
        tx.execute("UPDATE runs SET status = 'running', finished_at = NULL, note = NULL WHERE id = ?1", [run_id])?;
        tx.commit()?;
        tracing::info!(run_id, requeued, "resuming run");
        self.run_progress(run_id)
    }

    /// Runs that were running when the app stopped, paused offline, or
    /// cancelled with requests left: offer to resume them. (A new run never
    /// takes requests still queued in one of these, so without the resume
    /// they could not be sent.)
    pub fn unfinished_runs(&self) -> Result<Vec<RunProgress>, Error> {
        let ids: Vec<i64> = self
            .conn
            .prepare(
                "SELECT u.id FROM runs u WHERE u.status IN ('running', 'paused')
                    OR (u.status = 'cancelled' AND EXISTS (SELECT 1 FROM run_items i
                        WHERE i.run_id = u.id AND i.state IN ('queued', 'in_flight')))
                 ORDER BY u.id",
            )?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.into_iter().map(|id| self.run_progress(id)).collect()
    }

    /// Takes the next queued request of a run and commits it as in flight
    /// before returning it, so it is on record before it is sent.
    pub fn claim_next(&mut self, run_id: i64) -> Result<Option<ClaimedRequest>, Error> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let claimed = claim_in(&tx, run_id, 1)?.pop();
        tx.commit()?;
        Ok(claimed)
    }

    /// Stores an answer and marks the item answered, in one transaction.
    /// Returns `false` (storing nothing) if the request already had an answer.
    pub fn record_answer(&mut self, claimed: &ClaimedRequest, answer: &Answer) -> Result<bool, Error> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = crate::ai_cache::record_answer_in(&tx, claimed, answer, None)?;
        tx.commit()?;
        Ok(stored)
    }

    /// Stores a failure as the request's response and marks the item failed.
    pub fn record_failure(&mut self, claimed: &ClaimedRequest, failure: &Failure) -> Result<(), Error> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        record_failure_in(&tx, claimed, failure)?;
        tx.commit()?;
        Ok(())
    }

    /// Puts a claimed request back in the queue (cancelled, or provider unreachable).
    pub fn requeue(&mut self, claimed: &ClaimedRequest) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        set_item_state(&tx, claimed, "queued")?;
        tx.commit()?;
        Ok(())
    }

    /// Ends a run's sending with `status` and an optional reason.
    pub fn finish_run(&mut self, run_id: i64, status: RunStatus, note: Option<&str>) -> Result<RunProgress, Error> {
        let n = self.conn.execute(
            "UPDATE runs SET status = ?1, note = ?2, finished_at = ?3 WHERE id = ?4",
            params![status.as_str(), note, now_millis(), run_id],
        )?;
        if n == 0 {
            return Err(Error::NotFound { kind: "run", id: run_id });
        }
        self.run_progress(run_id)
    }

    /// Whether the run was started not to read the response cache.
    pub fn run_no_cache(&self, run_id: i64) -> Result<bool, Error> {
        self.conn
            .query_row("SELECT no_cache FROM runs WHERE id = ?1", [run_id], |r| r.get(0))
            .or_not_found("run", run_id)
    }

    /// How many times the run asks each prompt (1 for a run without repeats).
    pub fn run_repeats(&self, run_id: i64) -> Result<u32, Error> {
        self.conn
            .query_row("SELECT repeats FROM runs WHERE id = ?1", [run_id], |r| r.get(0))
            .or_not_found("run", run_id)
    }

    /// The run's budget cap in US dollars, if it has one.
    pub fn run_max_cost_usd(&self, run_id: i64) -> Result<Option<f64>, Error> {
        self.conn
            .query_row("SELECT max_cost_usd FROM runs WHERE id = ?1", [run_id], |r| r.get(0))
            .or_not_found("run", run_id)
    }

    /// Sets (or lifts, `None`) a run's budget cap, e.g. to resume a run that stopped at it.
    pub fn set_run_max_cost_usd(&mut self, run_id: i64, max_cost_usd: Option<f64>) -> Result<(), Error> {
        let max_cost_usd = max_cost_usd.map(checked_budget).transpose()?;
        let n = self.conn.execute("UPDATE runs SET max_cost_usd = ?1 WHERE id = ?2", params![max_cost_usd, run_id])?;
        if n == 0 {
            return Err(Error::NotFound { kind: "run", id: run_id });
        }
        Ok(())
    }

    /// What a run has spent so far, in US dollars at `prices` (the store's
    /// [`Store::price_table`]): the token usage of the answers it got from a
    /// provider (answers from the AI cache cost nothing). Models without a
    /// price count nothing; [`Store::run_unpriced_targets`] names them.
    pub fn run_cost_usd(&self, run_id: i64, prices: &PriceTable) -> Result<f64, Error> {
        self.run_progress(run_id)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT q.provider, q.model, coalesce(sum(s.input_tokens), 0), coalesce(sum(s.output_tokens), 0)
             FROM responses s JOIN requests q ON q.id = s.request_id
             WHERE s.run_id = ?1 AND s.error_code IS NULL AND NOT s.cached
             GROUP BY q.provider, q.model",
        )?;
        let rows = stmt.query_map([run_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
        })?;
        let mut total = 0.0;
        for row in rows {
            let (provider, model, input, output) = row?;
            total += prices.cost(&provider, &model, input.max(0) as u64, output.max(0) as u64).unwrap_or(0.0);
        }
        // A judge's call is a call like any other.
        let mut judges = self.conn.prepare_cached(
            "SELECT c.judge_provider, c.judge_model, coalesce(sum(c.input_tokens), 0), coalesce(sum(c.output_tokens), 0)
             FROM answer_checks c JOIN responses s ON s.id = c.response_id
             WHERE s.run_id = ?1 AND c.judge_provider IS NOT NULL
             GROUP BY c.judge_provider, c.judge_model",
        )?;
        let rows = judges.query_map([run_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
        })?;
        for row in rows {
            let (provider, model, input, output) = row?;
            total += prices.cost(&provider, &model, input.max(0) as u64, output.max(0) as u64).unwrap_or(0.0);
        }
        Ok(total)
    }

    /// The models a run still has to send to that `prices` cannot price, as
    /// `(provider, model)`: a budget cap cannot be kept for them.
    pub fn run_unpriced_targets(&self, run_id: i64, prices: &PriceTable) -> Result<Vec<(String, String)>, Error> {
        self.run_progress(run_id)?;
        let targets: Vec<(String, String)> = self
            .conn
            .prepare(
                "SELECT DISTINCT q.provider, q.model FROM run_items i JOIN requests q ON q.id = i.request_id
                 WHERE i.run_id = ?1 AND i.state IN ('queued', 'in_flight') ORDER BY 1, 2",
            )?
            .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(targets.into_iter().filter(|(provider, model)| prices.cost(provider, model, 0, 0).is_none()).collect())
    }

    /// The providers a run still has to send to.
    pub fn run_providers(&self, run_id: i64) -> Result<BTreeSet<String>, Error> {
        self.run_progress(run_id)?;
        let providers = self
            .conn
            .prepare(
                "SELECT DISTINCT q.provider FROM run_items i JOIN requests q ON q.id = i.request_id
                 WHERE i.run_id = ?1 AND i.state IN ('queued', 'in_flight')",
            )?
            .query_map([run_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(providers)
    }

    /// Deletes a run that has stored no response (a run refused before sending).
    pub fn delete_run(&mut self, run_id: i64) -> Result<(), Error> {
        let responses: i64 =
            self.conn.query_row("SELECT count(*) FROM responses WHERE run_id = ?1", [run_id], |r| r.get(0))?;
        if responses > 0 {
            return Err(Error::State(format!("run {run_id} has stored responses and cannot be deleted")));
        }
        if self.conn.execute("DELETE FROM runs WHERE id = ?1", [run_id])? == 0 {
            return Err(Error::NotFound { kind: "run", id: run_id });
        }
        Ok(())
    }

    pub fn run_progress(&self, run_id: i64) -> Result<RunProgress, Error> {
        let (status, note, repeats): (String, Option<String>, u32) = self
            .conn
            .query_row("SELECT status, note, repeats FROM runs WHERE id = ?1", [run_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .or_not_found("run", run_id)?;
        let mut progress = RunProgress {
            run_id,
            status: status.parse()?,
            total: 0,
            queued: 0,
            in_flight: 0,
            answered: 0,
            failed: 0,
            note,
            cached: None,
            repeats: Some(repeats),
        };
        let mut stmt =
            self.conn.prepare_cached("SELECT state, count(*) FROM run_items WHERE run_id = ?1 GROUP BY state")?;
        let mut rows = stmt.query([run_id])?;
        while let Some(row) = rows.next()? {
            let count = u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0);
            match row.get_ref(0)?.as_str().unwrap_or_default() {
                "queued" => progress.queued = count,
                "in_flight" => progress.in_flight = count,
                "answered" => progress.answered = count,
                "failed" => progress.failed = count,
                _ => {}
            }
            progress.total += count;
        }
        let cached: i64 = self.conn.prepare_cached(CACHED_ANSWERS)?.query_row([run_id], |r| r.get(0))?;
        progress.cached = Some(u64::try_from(cached).unwrap_or(0));
        Ok(progress)
    }
}

fn checked_budget(max_cost_usd: f64) -> Result<f64, Error> {
    if max_cost_usd.is_finite() && max_cost_usd > 0.0 {
        Ok(max_cost_usd)
    } else {
        Err(Error::invalid("max_cost_usd", format!("a budget cap must be more than $0, not {max_cost_usd}")))
    }
}

/// Inserts a successful response (`cached`: taken from the response cache);
/// `false` when the request already had one (the unique index refused it).
/// Claims up to `max` of a run's queued requests, in queue order, within
/// the caller's transaction ([`Store::claim_next`] claims one).
pub(crate) fn claim_in(conn: &Connection, run_id: i64, max: u32) -> Result<Vec<ClaimedRequest>, Error> {
    type Row = (i64, String, String, String, u32, Option<String>, u32);
    let next: Vec<Row> = conn
        .prepare_cached(NEXT_QUEUED)?
        .query_map(params![run_id, max], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut mark = conn.prepare_cached(
        "UPDATE run_items SET state = 'in_flight', attempts = attempts + 1 WHERE run_id = ?1 AND request_id = ?2",
    )?;
    let started_at = now_millis();
    let mut claimed = Vec::with_capacity(next.len());
    for (request_id, provider, model, prompt, attempts, schema, sample) in next {
        mark.execute(params![run_id, request_id])?;
        claimed.push(ClaimedRequest {
            run_id,
            request_id,
            provider,
            model,
            prompt,
            attempt: attempts + 1,
            started_at,
            schema,
            sample,
        });
    }
    Ok(claimed)
}

/// [`Store::record_failure`] within the caller's transaction.
pub(crate) fn record_failure_in(conn: &Connection, claimed: &ClaimedRequest, failure: &Failure) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT INTO responses (request_id, run_id, error_code, error_message, started_at, finished_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        claimed.request_id,
        claimed.run_id,
        failure.code,
        failure.message,
        claimed.started_at,
        now_millis()
    ])?;
    set_item_state(conn, claimed, "failed")
}

pub(crate) fn insert_answer(
    conn: &Connection,
    claimed: &ClaimedRequest,
    answer: &Answer,
    cached: bool,
) -> Result<bool, Error> {
    // Validated here, where every answer passes (live or from the cache),
    // so no stored answer to a schema goes unchecked.
    let check = claimed.schema.as_deref().map(|schema| validate_answer(schema, &answer.text));
    let (valid, issues, fields) = match &check {
        None => (None, None, None),
        Some(check) => (
            Some(check.valid),
            (!check.issues.is_empty())
                .then(|| serde_json::Value::from(check.issues.iter().map(issue_json).collect::<Vec<_>>()).to_string()),
            check.fields.as_ref().map(|f| serde_json::Value::Object(f.clone()).to_string()),
        ),
    };
    let inserted = conn
        .prepare_cached(
            "INSERT INTO responses (request_id, run_id, text, model, finish_reason, input_tokens, output_tokens,
                                started_at, finished_at, cached, schema_valid, schema_errors, fields)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            claimed.request_id,
            claimed.run_id,
            answer.text,
            answer.model,
            answer.finish_reason,
            answer.input_tokens,
            answer.output_tokens,
            claimed.started_at,
            now_millis(),
            cached,
            valid,
            issues,
            fields
        ]);
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn issue_json(issue: &crate::SchemaIssue) -> serde_json::Value {
    serde_json::json!({ "path": issue.path, "message": issue.message })
}

pub(crate) fn set_item_state(conn: &Connection, claimed: &ClaimedRequest, state: &str) -> Result<(), Error> {
    let n = conn
        .prepare_cached("UPDATE run_items SET state = ?1 WHERE run_id = ?2 AND request_id = ?3")?
        .execute(params![state, claimed.run_id, claimed.request_id])?;
    if n == 0 {
        return Err(Error::State(format!("request {} is not part of run {}", claimed.request_id, claimed.run_id)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{CACHED_ANSWERS, CREATE_RUN_ITEMS, NEXT_QUEUED};
    use crate::{Store, query_plan};

    #[test]
    fn the_per_request_queries_of_a_run_find_their_rows_through_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("data.sqlite")).unwrap();

        let next = query_plan(&store, NEXT_QUEUED);
        assert!(next.contains("run_items_by_state"), "{next}");
        assert!(!next.contains("TEMP B-TREE"), "the queue is read in order, not sorted per claim: {next}");

        let cached = query_plan(&store, CACHED_ANSWERS);
        assert!(cached.contains("responses_by_run"), "not a scan of every response: {cached}");

        let create = query_plan(&store, CREATE_RUN_ITEMS);
        assert!(create.contains("run_items_by_request"), "earlier runs' items are looked up, not scanned: {create}");
        assert!(!create.contains("SCAN i"), "{create}");
    }
}
