//! Generated requests: one per record × template version × provider model,
//! reviewed (approved, rejected, edited) before any is sent.

use std::fmt;
use std::str::FromStr;

use rusqlite::params;
use rusqlite::types::Value as SqlValue;
use serde::{Deserialize, Serialize};

use crate::error::OrNotFound;
use crate::estimate::ModelEstimate;
use crate::keyset::{Key, KeysetPage, Order, PageStart, Query};
use crate::templates::{Renderer, missing_fields, render_with, renderer_env, syntax_error};
use crate::{Error, Page, Store, now_millis, order_by, page_bounds};

/// A provider and one of its models.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelTarget {
    /// The provider id the run engine has a client for (`openai`, `anthropic`, `groq`, a custom id).
    pub provider: String,
    pub model: String,
}

impl ModelTarget {
    pub fn new(provider: impl Into<String>, model: impl Into<String>) -> Self {
        ModelTarget { provider: provider.into(), model: model.into() }
    }

    fn check(&self) -> Result<(), Error> {
        let ok = |s: &str| !s.trim().is_empty() && s.len() <= 200 && !s.chars().any(char::is_control);
        if !ok(&self.provider) {
            return Err(Error::invalid("provider", "the provider id is empty or malformed: pick a provider"));
        }
        if !ok(&self.model) {
            return Err(Error::invalid("model", "the model name is empty or malformed: pick a model"));
        }
        Ok(())
    }
}

/// Where a request is in review.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
        }
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "pending" => Ok(RequestStatus::Pending),
            "approved" => Ok(RequestStatus::Approved),
            "rejected" => Ok(RequestStatus::Rejected),
            other => Err(Error::invalid(
                "status",
                format!("`{other}` is not a request status: use pending, approved or rejected"),
            )),
        }
    }
}

/// A request as the reviewer lists it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRow {
    pub id: i64,
    pub dataset_id: i64,
    pub record_id: i64,
    pub template_version_id: i64,
    pub provider: String,
    pub model: String,
    /// The text rendered from the template.
    pub rendered: String,
    /// The reviewer's replacement text, if edited; this is what is sent.
    pub edited: Option<String>,
    pub status: RequestStatus,
    /// Whether a successful response exists.
    pub answered: bool,
    /// Which repeat of its prompt it is (0: the first; see
    /// [`Store::generate_repeated_requests`]). Always set by the store;
    /// optional for the contract (host API 1.7.0).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(default)]
    pub sample: Option<u32>,
}

impl RequestRow {
    /// The text that is (or would be) sent.
    pub fn prompt(&self) -> &str {
        self.edited.as_deref().unwrap_or(&self.rendered)
    }
}

/// Which requests to list.
// An argument: serde reads a missing `Option` field as `None`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestQuery {
    pub dataset_id: i64,
    pub template_version_id: Option<i64>,
    pub status: Option<RequestStatus>,
    pub target: Option<ModelTarget>,
    /// Deprecated (host API 1.7.0): send 0 and page with the list
    /// command's `cursor`. Read only without a cursor, by an `OFFSET` scan
    /// that reads and drops this many rows first (remotes of host API 1.6).
    pub offset: u64,
    pub limit: u32,
    /// Record order when `None`.
    pub sort: Option<RequestSort>,
}

/// What the requests table can be sorted by.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestSortColumn {
    /// The record's row number in its file.
    Record,
    /// Provider, then model.
    Model,
    /// The text that is (or would be) sent, ignoring ASCII case.
    Text,
    /// Review order: pending, approved, rejected.
    Status,
    /// Unanswered first.
    Answered,
}

impl RequestSortColumn {
    /// Fixed SQL over `requests q` and `records r`: a whitelist, so nothing
    /// the caller sends reaches the SQL text.
    fn terms(self) -> &'static [&'static str] {
        match self {
            RequestSortColumn::Record => &["r.position"],
            RequestSortColumn::Model => &["q.provider", "q.model"],
            RequestSortColumn::Text => &["coalesce(q.edited, q.rendered) COLLATE NOCASE"],
            RequestSortColumn::Status => &["CASE q.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 ELSE 2 END"],
            // The alias of REQUEST_SELECT's column.
            RequestSortColumn::Answered => &["answered"],
        }
    }
}

/// Orders requests over the whole query; equal values stay in record order.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSort {
    pub column: RequestSortColumn,
    pub descending: bool,
}

impl Store {
    /// Renders `version_id` over every record of `dataset_id` for each target,
    /// as pending requests. Refuses, creating nothing, if the template uses
    /// fields the dataset lacks. Requests that already exist for the same
    /// record, version and model are kept as they are (review included).
    /// Returns how many were created.
    pub fn generate_requests(
        &mut self,
        dataset_id: i64,
        version_id: i64,
        targets: &[ModelTarget],
    ) -> Result<u64, Error> {
        self.generate_repeated_requests(dataset_id, version_id, targets, 1)
    }

    /// [`Store::generate_requests`], each record × target asked `repeats`
    /// times (1 to [`MAX_REPEATS`]): samples `0..repeats`, each a request
    /// of its own (issue 17 point 6, stability). A sample after the first
    /// is a copy of sample 0 as it stands, its review and edit included, so
    /// every repeat asks what the first one asks.
    pub fn generate_repeated_requests(
        &mut self,
        dataset_id: i64,
        version_id: i64,
        targets: &[ModelTarget],
        repeats: u32,
    ) -> Result<u64, Error> {
        check_repeats(repeats)?;
        if targets.is_empty() {
            return Err(Error::invalid("targets", "no model chosen: pick at least one provider model"));
        }
        for target in targets {
            target.check()?;
        }
        let version = self.template_version(version_id)?;
        let dataset = self.dataset(dataset_id)?;
        let missing = missing_fields(&version.body, &dataset)?;
        if !missing.is_empty() {
            return Err(Error::MissingFields { fields: missing });
        }
        let label = self.version_label(&version)?;
        let renderer = Renderer::new();
        let template = renderer_env(&renderer).template_from_str(&version.body).map_err(syntax_error)?;
        let now = now_millis();
        let tx = self.conn.transaction()?;
        let mut created = 0;
        {
            let mut insert = tx.prepare(
                "INSERT OR IGNORE INTO requests
                   (dataset_id, record_id, template_version_id, provider, model, rendered, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            )?;
            Store::for_each_record(&tx, &dataset, |record_id, fields| {
                let text = render_with(&template, &label, record_id, fields)?;
                for target in targets {
                    created += insert.execute(params![
                        dataset_id,
                        record_id,
                        version_id,
                        target.provider,
                        target.model,
                        text,
                        now
                    ])? as u64;
                }
                Ok(())
            })?;
            for target in targets {
                created += add_samples(&tx, dataset_id, Some(version_id), Some(target), repeats, false, now)?;
            }
        }
        tx.commit()?;
        tracing::info!(dataset_id, version_id, repeats, created, "generated requests");
        Ok(created)
    }

    /// A page of requests in record order.
    pub fn requests(&self, query: &RequestQuery) -> Result<Page<RequestRow>, Error> {
        let (offset, limit) = page_bounds(query.offset, query.limit)?;
        let (provider, model) = match &query.target {
            Some(t) => (Some(t.provider.as_str()), Some(t.model.as_str())),
            None => (None, None),
        };
        let filter = REQUEST_FILTER;
        let status = query.status.map(RequestStatus::as_str);
        let bind = params![query.dataset_id, query.template_version_id, status, provider, model];
        let total = self.requests_total(query)?;
        // Record order, then id, breaks every tie, so paging is stable.
        let order = match query.sort {
            None => RECORD_ORDER.to_owned(),
            Some(sort) => order_by(sort.column.terms(), sort.descending, RECORD_ORDER),
        };
        let sql = format!("{REQUEST_SELECT} WHERE {filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}");
        let mut stmt = self.conn.prepare(&sql)?;
        let items = stmt.query_map(bind, request_from_row)?.map(|r| r?).collect::<Result<Vec<_>, Error>>()?;
        Ok(Page { total, items, next_cursor: None, previous_cursor: None })
    }

    /// How many requests `query`'s filters match (once per state of the database).
    pub(crate) fn requests_total(&self, query: &RequestQuery) -> Result<u64, Error> {
        self.count_once(format!("requests@{}", crate::keyset::scope_digest(&filters_of(query))), || {
            let (provider, model) = match &query.target {
                Some(t) => (Some(t.provider.as_str()), Some(t.model.as_str())),
                None => (None, None),
            };
            let status = query.status.map(RequestStatus::as_str);
            let bind = params![query.dataset_id, query.template_version_id, status, provider, model];
            let sql = format!("SELECT count(*) FROM requests q WHERE {REQUEST_FILTER}");
            let n: i64 = self.conn.query_row(&sql, bind, |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// A page of requests found by keyset (see [`PageStart`]): the same
    /// filter and order as [`Store::requests`] (`query.offset` is not read),
    /// but a deep page seeks to its first row instead of counting its way
    /// there, so every page costs the same. No total: [`Store::requests`]
    /// with a limit of 1 gives it once.
    pub fn requests_page(&self, query: &RequestQuery, start: &PageStart) -> Result<KeysetPage<RequestRow>, Error> {
        let (from_where, args) = request_keyset_filter(query);
        let parts = Query { columns: REQUEST_COLUMNS, from_where: &from_where, args, column_count: 11 };
        request_order(query.sort)
            .scoped(&filters_of(query))
            .page(&self.conn, parts, start, query.limit, |row| request_from_row(row)?)
    }

    pub fn request(&self, request_id: i64) -> Result<RequestRow, Error> {
        self.conn
            .query_row(&format!("{REQUEST_SELECT} WHERE q.id = ?1"), [request_id], request_from_row)
            .or_not_found("request", request_id)?
    }

    /// Sets the review status of many requests at once (bulk approve/reject).
    /// Returns how many changed.
    pub fn set_request_status(&mut self, request_ids: &[i64], status: RequestStatus) -> Result<u64, Error> {
        let tx = self.conn.transaction()?;
        let mut changed = 0;
        {
            let mut stmt = tx.prepare("UPDATE requests SET status = ?1, updated_at = ?2 WHERE id = ?3")?;
            let now = now_millis();
            for &id in request_ids {
                if stmt.execute(params![status.as_str(), now, id])? == 0 {
                    return Err(Error::NotFound { kind: "request", id });
                }
                changed += 1;
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Sets the status of every request of a dataset (and version) that has `from` status.
    pub fn set_all_request_status(
        &mut self,
        dataset_id: i64,
        template_version_id: Option<i64>,
        from: RequestStatus,
        to: RequestStatus,
    ) -> Result<u64, Error> {
        let n = self.conn.execute(
            "UPDATE requests SET status = ?1, updated_at = ?2
             WHERE dataset_id = ?3 AND (?4 IS NULL OR template_version_id = ?4) AND status = ?5",
            params![to.as_str(), now_millis(), dataset_id, template_version_id, from.as_str()],
        )?;
        Ok(n as u64)
    }

    /// Like [`Store::set_all_request_status`], and returns the ids it
    /// changed, read in the same transaction, so the change can be undone.
    pub fn set_all_request_status_ids(
        &mut self,
        dataset_id: i64,
        template_version_id: Option<i64>,
        from: RequestStatus,
        to: RequestStatus,
    ) -> Result<Vec<i64>, Error> {
        let tx = self.conn.transaction()?;
        let ids = {
            let mut stmt = tx.prepare(
                "SELECT id FROM requests
                 WHERE dataset_id = ?1 AND (?2 IS NULL OR template_version_id = ?2) AND status = ?3 ORDER BY id",
            )?;
            let rows = stmt.query_map(params![dataset_id, template_version_id, from.as_str()], |row| row.get(0))?;
            rows.collect::<Result<Vec<i64>, _>>()?
        };
        tx.execute(
            "UPDATE requests SET status = ?1, updated_at = ?2
             WHERE dataset_id = ?3 AND (?4 IS NULL OR template_version_id = ?4) AND status = ?5",
            params![to.as_str(), now_millis(), dataset_id, template_version_id, from.as_str()],
        )?;
        tx.commit()?;
        Ok(ids)
    }

    /// Undoes a bulk change: each of `ids` still at `to` goes back to
    /// `from`; one changed since (reviewed again, edited, deleted) is left as
    /// it is. Returns how many went back.
    pub fn revert_request_status(&mut self, ids: &[i64], from: RequestStatus, to: RequestStatus) -> Result<u64, Error> {
        let tx = self.conn.transaction()?;
        let mut reverted = 0;
        {
            let mut stmt =
                tx.prepare("UPDATE requests SET status = ?1, updated_at = ?2 WHERE id = ?3 AND status = ?4")?;
            let now = now_millis();
            for &id in ids {
                reverted += stmt.execute(params![from.as_str(), now, id, to.as_str()])? as u64;
            }
        }
        tx.commit()?;
        Ok(reverted)
    }

    /// Replaces the text to send (`None` goes back to the rendered text). The
    /// request returns to pending so the edit itself gets reviewed; so do
    /// the other repeats of its prompt that have no answer yet, with the
    /// same text.
    pub fn edit_request(&mut self, request_id: i64, text: Option<&str>) -> Result<RequestRow, Error> {
        if let Some(text) = text {
            if text.trim().is_empty() {
                return Err(Error::invalid(
                    "text",
                    "the edited request is empty: write the text to send, or reject the request",
                ));
            }
            crate::templates::body_within_limit("text", text)?;
        }
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE requests SET edited = ?1, status = 'pending', updated_at = ?2 WHERE id = ?3",
            params![text, now_millis(), request_id],
        )?;
        if n == 0 {
            return Err(Error::NotFound { kind: "request", id: request_id });
        }
        // The repeats of a prompt ask the same text, or their stability
        // would compare different questions: the edit goes to those of its
        // repeats that have no answer yet (an answered one keeps the text
        // it was answered for).
        tx.execute(
            "UPDATE requests SET edited = ?1, status = 'pending', updated_at = ?2
             WHERE id IN (SELECT q.id FROM requests q JOIN requests e
                            ON q.record_id = e.record_id AND q.template_version_id = e.template_version_id
                           AND q.provider = e.provider AND q.model = e.model
                          WHERE e.id = ?3 AND q.id != e.id
                            AND NOT EXISTS (SELECT 1 FROM responses s WHERE s.request_id = q.id AND s.error_code IS NULL))",
            params![text, now_millis(), request_id],
        )?;
        tx.commit()?;
        self.request(request_id)
    }

    /// Tokens and cost per provider model for the requests that `status`
    /// selects (all but rejected when `None`), assuming `output_tokens_per_answer`.
    pub fn estimate(
        &self,
        dataset_id: i64,
        template_version_id: Option<i64>,
        status: Option<RequestStatus>,
        output_tokens_per_answer: u64,
    ) -> Result<Vec<ModelEstimate>, Error> {
        self.estimate_times(dataset_id, template_version_id, status, output_tokens_per_answer, None)
    }

    /// [`Store::estimate`] of a run asking each prompt `repeats` times (1 to
    /// [`MAX_REPEATS`]): each record × model's first sample counted
    /// `repeats` times, so samples a previous run added are not counted twice.
    pub fn estimate_repeated(
        &self,
        dataset_id: i64,
        template_version_id: Option<i64>,
        status: Option<RequestStatus>,
        output_tokens_per_answer: u64,
        repeats: u32,
    ) -> Result<Vec<ModelEstimate>, Error> {
        let repeats = check_repeats(repeats)?;
        self.estimate_times(dataset_id, template_version_id, status, output_tokens_per_answer, Some(repeats))
    }

    /// Every request, or with `repeats` each first sample that many times.
    fn estimate_times(
        &self,
        dataset_id: i64,
        template_version_id: Option<i64>,
        status: Option<RequestStatus>,
        output_tokens_per_answer: u64,
        repeats: Option<u32>,
    ) -> Result<Vec<ModelEstimate>, Error> {
        let mut stmt = self.conn.prepare(
            "SELECT provider, model, count(*), sum(length(coalesce(edited, rendered)))
             FROM requests
             WHERE dataset_id = ?1 AND (?2 IS NULL OR template_version_id = ?2)
               AND (CASE WHEN ?3 IS NULL THEN status <> 'rejected' ELSE status = ?3 END)
               AND (NOT ?4 OR sample = 0)
             GROUP BY provider, model ORDER BY provider, model",
        )?;
        let bind = params![dataset_id, template_version_id, status.map(RequestStatus::as_str), repeats.is_some()];
        let rows = stmt.query_map(bind, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
        })?;
        // The prompts once, then times the repeats: N repeats cost exactly N times one.
        let times = u64::from(repeats.unwrap_or(1));
        let prices = self.price_table()?;
        rows.map(|row| {
            let (provider, model, count, chars) = row?;
            let requests = u64::try_from(count).unwrap_or(0);
            let input_tokens = crate::estimate::chars_to_tokens(u64::try_from(chars).unwrap_or(0));
            Ok(ModelEstimate::priced(
                provider,
                model,
                requests * times,
                input_tokens * times,
                requests * times * output_tokens_per_answer,
                &prices,
            ))
        })
        .collect()
    }
}

/// The most times a run may ask each prompt (issue 17 point 6): enough to
/// see whether a model answers the same way, few enough that a slip of the
/// keyboard cannot multiply a run's cost a hundredfold.
pub const MAX_REPEATS: u32 = 10;

/// Refuses a repeat count outside `1..=MAX_REPEATS`.
pub(crate) fn check_repeats(repeats: u32) -> Result<u32, Error> {
    if (1..=MAX_REPEATS).contains(&repeats) {
        Ok(repeats)
    } else {
        Err(Error::invalid(
            "repeats",
            format!(
                "repeats must be 1 to {MAX_REPEATS} (how many times each prompt is asked of each model), not {repeats}"
            ),
        ))
    }
}

/// Adds samples `1..repeats` of every sample-0 request of the dataset (one
/// template version and target when given; only approved ones with
/// `only_approved`) that lacks them, as copies of sample 0: its text, edit
/// and review. Samples that exist are kept as they are. Returns how many were added.
pub(crate) fn add_samples(
    conn: &rusqlite::Connection,
    dataset_id: i64,
    version_id: Option<i64>,
    target: Option<&ModelTarget>,
    repeats: u32,
    only_approved: bool,
    now: i64,
) -> Result<u64, Error> {
    if repeats <= 1 {
        return Ok(0);
    }
    let added = conn
        .prepare_cached(
            "WITH RECURSIVE samples(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM samples WHERE n + 1 < ?6)
         INSERT OR IGNORE INTO requests
           (dataset_id, record_id, template_version_id, provider, model, sample, rendered, edited, status,
            created_at, updated_at)
         SELECT q.dataset_id, q.record_id, q.template_version_id, q.provider, q.model, samples.n, q.rendered, q.edited,
                q.status, ?7, ?7
         FROM requests q JOIN samples
         WHERE q.dataset_id = ?1 AND q.sample = 0 AND (?2 IS NULL OR q.template_version_id = ?2)
           AND (?3 IS NULL OR q.provider = ?3) AND (?4 IS NULL OR q.model = ?4)
           AND (NOT ?5 OR q.status = 'approved')
         ORDER BY q.id, samples.n",
        )?
        .execute(params![
            dataset_id,
            version_id,
            target.map(|t| t.provider.as_str()),
            target.map(|t| t.model.as_str()),
            only_approved,
            repeats,
            now
        ])?;
    Ok(added as u64)
}

impl Store {
    /// Tokens and cost per provider model of the requests a run asking each
    /// prompt `repeats` times would take now: approved ones (and pending ones
    /// with `with_pending`) of samples below `repeats` without an answer,
    /// assuming `output_tokens_per_answer`. Samples a run would add (copies
    /// of an approved sample 0 not generated yet) are counted as sample 0
    /// is, so the estimate is what the run will send whether or not they exist.
    pub fn estimate_unanswered(
        &self,
        dataset_id: i64,
        template_version_id: Option<i64>,
        with_pending: bool,
        repeats: u32,
        output_tokens_per_answer: u64,
    ) -> Result<Vec<ModelEstimate>, Error> {
        let repeats = check_repeats(repeats)?;
        // Each sample 0 stands for its samples 0..repeats: those that exist
        // unanswered, and those a run would add (missing copies of an approved one).
        let mut stmt = self.conn.prepare(
            "WITH RECURSIVE samples(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM samples WHERE n + 1 < ?4),
             asked AS (
                 SELECT z.provider, z.model, coalesce(q.edited, q.rendered, z.edited, z.rendered) AS prompt,
                        coalesce(q.status, z.status) AS status, q.id AS request_id
                 FROM requests z JOIN samples
                 LEFT JOIN requests q ON q.record_id = z.record_id AND q.template_version_id = z.template_version_id
                                     AND q.provider = z.provider AND q.model = z.model AND q.sample = samples.n
                 WHERE z.dataset_id = ?1 AND z.sample = 0 AND (?2 IS NULL OR z.template_version_id = ?2))
             SELECT provider, model, count(*), sum(length(prompt))
             FROM asked
             WHERE (status = 'approved' OR (?3 AND status = 'pending'))
               AND NOT EXISTS (SELECT 1 FROM responses s WHERE s.request_id = asked.request_id AND s.error_code IS NULL)
             GROUP BY provider, model ORDER BY provider, model",
        )?;
        let rows = stmt.query_map(params![dataset_id, template_version_id, with_pending, repeats], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<i64>>(3)?))
        })?;
        let prices = self.price_table()?;
        rows.map(|row| {
            let (provider, model, count, chars) = row?;
            Ok(ModelEstimate::new(
                provider,
                model,
                u64::try_from(count).unwrap_or(0),
                u64::try_from(chars.unwrap_or(0)).unwrap_or(0),
                output_tokens_per_answer,
                &prices,
            ))
        })
        .collect()
    }
}

const REQUEST_SELECT: &str = "SELECT q.id, q.dataset_id, q.record_id, q.template_version_id, q.provider, q.model,
        q.rendered, q.edited, q.status,
        EXISTS (SELECT 1 FROM responses s WHERE s.request_id = q.id AND s.error_code IS NULL) AS answered, q.sample
    FROM requests q JOIN records r ON r.id = q.record_id";

/// [`REQUEST_SELECT`] in its two parts, for the keyset query that adds its keys between them.
const REQUEST_COLUMNS: &str = "q.id, q.dataset_id, q.record_id, q.template_version_id, q.provider, q.model,
        q.rendered, q.edited, q.status,
        EXISTS (SELECT 1 FROM responses s WHERE s.request_id = q.id AND s.error_code IS NULL) AS answered, q.sample";
const REQUEST_FROM: &str = "FROM requests q JOIN records r ON r.id = q.record_id";

/// A [`RequestQuery`]'s filter, `?1`..`?5` bound in its field order.
const REQUEST_FILTER: &str = "q.dataset_id = ?1
            AND (?2 IS NULL OR q.template_version_id = ?2)
            AND (?3 IS NULL OR q.status = ?3)
            AND (?4 IS NULL OR q.provider = ?4)
            AND (?5 IS NULL OR q.model = ?5)";

/// What decides which requests a query lists (not their order or page):
/// what its cursors and its counted total are tied to.
fn filters_of(query: &RequestQuery) -> impl Serialize + '_ {
    let RequestQuery { dataset_id, template_version_id, status, target, .. } = query;
    (dataset_id, template_version_id, status, target)
}

/// `FROM … WHERE …` of a keyset page of requests and its parameters. The
/// record's dataset is the request's: saying so lets SQLite seek the
/// records' `(dataset_id, position)` index to the cursor.
fn request_keyset_filter(query: &RequestQuery) -> (String, Vec<SqlValue>) {
    let text = |value: Option<&str>| value.map_or(SqlValue::Null, |v| SqlValue::Text(v.to_owned()));
    let args = vec![
        SqlValue::Integer(query.dataset_id),
        query.template_version_id.map_or(SqlValue::Null, SqlValue::Integer),
        text(query.status.map(RequestStatus::as_str)),
        text(query.target.as_ref().map(|t| t.provider.as_str())),
        text(query.target.as_ref().map(|t| t.model.as_str())),
    ];
    (format!("{REQUEST_FROM} WHERE r.dataset_id = ?1 AND {REQUEST_FILTER}"), args)
}

/// The keyset order of [`Store::requests`]'s order: the sort's terms, then
/// record order and id, which break every tie.
fn request_order(sort: Option<RequestSort>) -> Order {
    let mut keys = Vec::new();
    let mut name = "requests".to_owned();
    if let Some(sort) = sort {
        for term in sort.column.terms() {
            // `answered` is the select list's alias: a WHERE needs the expression.
            let sql = if *term == "answered" { ANSWERED } else { term };
            // Every request sort term has a value (a request's columns are NOT NULL).
            keys.push(Key::not_null(sql, sort.descending));
        }
        name = format!("requests:{:?}:{}", sort.column, if sort.descending { "desc" } else { "asc" });
    }
    keys.push(Key::asc("r.position"));
    keys.push(Key::asc("q.id"));
    Order { name, keys }
}

const ANSWERED: &str = "EXISTS (SELECT 1 FROM responses s WHERE s.request_id = q.id AND s.error_code IS NULL)";

/// The list's own order.
const RECORD_ORDER: &str = "r.position, q.id";

fn request_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<RequestRow, Error>> {
    let status: String = r.get(8)?;
    let status = match status.parse() {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(RequestRow {
        id: r.get(0)?,
        dataset_id: r.get(1)?,
        record_id: r.get(2)?,
        template_version_id: r.get(3)?,
        provider: r.get(4)?,
        model: r.get(5)?,
        rendered: r.get(6)?,
        edited: r.get(7)?,
        status,
        answered: r.get(9)?,
        sample: Some(r.get(10)?),
    }))
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;
    use rusqlite::types::Value as SqlValue;

    use super::{REQUEST_COLUMNS, request_keyset_filter, request_order};
    use crate::keyset::{PageStart, Query};
    use crate::{ModelTarget, RequestQuery, Store};

    /// Runs `sql` to the end and returns SQLite's count of virtual machine
    /// steps: the work done, counted, so the comparison cannot flake.
    fn steps(store: &Store, sql: &str, args: &[SqlValue]) -> i64 {
        let mut stmt = store.conn.prepare(sql).unwrap();
        let mut rows = stmt.query(rusqlite::params_from_iter(args)).unwrap();
        while rows.next().unwrap().is_some() {}
        drop(rows);
        i64::from(stmt.get_status(StatementStatus::VmStep))
    }

    /// Issue 17 point 8: the page at row 3,900 of 4,000 costs what the page
    /// at row 100 does (an index seek to the cursor), where `OFFSET` reads
    /// and drops every row before the page.
    #[test]
    fn a_deep_keyset_page_seeks_the_index_and_costs_what_an_early_one_does() {
        let mut store = Store::open_in_memory().unwrap();
        let csv: String = std::iter::once("n\n".to_owned()).chain((0..2000).map(|i| format!("{i}\n"))).collect();
        let dataset =
            store.import(csv.as_bytes(), &crate::ImportOptions::new("numbers", records::Format::Csv), |_| {}).unwrap();
        let template = store.create_template("ask", "Number {{ n }}").unwrap();
        let targets = [ModelTarget::new("openai", "gpt-4o-mini"), ModelTarget::new("groq", "llama")];
        assert_eq!(store.generate_requests(dataset.id, template.current.id, &targets).unwrap(), 4000);
        let query = RequestQuery { dataset_id: dataset.id, limit: 50, ..Default::default() };
        let order = request_order(None);
        let page_after = |row: u64| {
            let at = store.requests(&RequestQuery { offset: row - 1, limit: 1, ..query.clone() }).unwrap().items;
            let position = store.record(at[0].record_id).unwrap().position;
            let cursor = order
                .encode(&[SqlValue::Integer(i64::try_from(position).unwrap()), SqlValue::Integer(at[0].id)])
                .unwrap();
            let (from_where, args) = request_keyset_filter(&query);
            let parts = Query { columns: REQUEST_COLUMNS, from_where: &from_where, args, column_count: 11 };
            order.sql(parts, &PageStart::After(cursor), 50).unwrap()
        };
        let (early, early_args) = page_after(100);
        let (deep, deep_args) = page_after(3900);

        let plan = {
            let mut stmt = store.conn.prepare(&format!("EXPLAIN QUERY PLAN {deep}")).unwrap();
            let steps = stmt.query_map(rusqlite::params_from_iter(&deep_args), |r| r.get::<_, String>(3)).unwrap();
            steps.map(Result::unwrap).collect::<Vec<_>>().join("\n")
        };
        assert!(plan.contains("(dataset_id=? AND position>?)"), "an index seek to the cursor: {plan}");
        assert!(!deep.contains("OFFSET"), "{deep}");

        let (early_steps, deep_steps) = (steps(&store, &early, &early_args), steps(&store, &deep, &deep_args));
        assert!(
            deep_steps * 10 < early_steps * 12,
            "a deep page does no more work than an early one: {deep_steps} vs {early_steps} steps"
        );
        // The first page too: read in order from the index, not the whole list sorted for 50 rows.
        let (first, first_args) = {
            let (from_where, args) = request_keyset_filter(&query);
            let parts = Query { columns: REQUEST_COLUMNS, from_where: &from_where, args, column_count: 10 };
            order.sql(parts, &PageStart::First, 50).unwrap()
        };
        let first_steps = steps(&store, &first, &first_args);
        assert!(
            first_steps * 10 < early_steps * 12,
            "the first page does no more work than a page after a cursor: {first_steps} vs {early_steps} steps"
        );
        // The comparison this replaces, so the test shows what it guards against.
        let offset_sql = |offset: u64| {
            format!(
                "{} WHERE {} ORDER BY r.position, q.id LIMIT 50 OFFSET {offset}",
                super::REQUEST_SELECT,
                super::REQUEST_FILTER
            )
        };
        let filter_args = request_keyset_filter(&query).1;
        let (offset_early, offset_deep) =
            (steps(&store, &offset_sql(100), &filter_args), steps(&store, &offset_sql(3900), &filter_args));
        assert!(
            offset_deep > offset_early && offset_deep > 10 * deep_steps,
            "OFFSET reads every row before the page: {offset_deep} steps at row 3,900, {offset_early} at row 100, \
             {deep_steps} for the keyset page"
        );
    }
}
