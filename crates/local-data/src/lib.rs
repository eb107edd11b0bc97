//! The analyst's local data, in one SQLite file: datasets and their records,
//! prompt templates with immutable versions, the requests rendered from them,
//! runs and the responses they collected, and the insights (tags, groups,
//! notes) assembled from those, with export to CSV, JSON and Markdown, and
//! the aggregates the dashboards chart (`stats`: per day, provider, model, tag).
//!
//! [`Store`] is the whole API. Its methods take and return plain serde types
//! so that each Tauri command can be a one-line wrapper, and every failure is
//! an [`Error`] with a stable [`Error::code`] and a message that says what to
//! do. The run engine (crate `runs`) drives the run methods
//! ([`Store::claim_next`], [`Store::record_answer`] …) from async code.
//!
//! Design points:
//!
//! - **Streaming import.** CSV and JSON Lines go row by row from
//!   [`records::RowReader`] into one transaction, so a 100k-row file never
//!   sits in memory and a malformed row leaves no half-imported dataset. CSV
//!   cells are stored as the text the file had and typed on read with the
//!   column types known only at the end of the file.
//! - **Pages, not tables.** Records, requests and responses are read in
//!   pages (at most [`MAX_PAGE`]) with their filters evaluated in SQL, so the
//!   webview never receives a whole dataset: by keyset ([`PageStart`],
//!   [`Cursor`]: `records_page`, `requests_page`, `responses_page`, and
//!   `list_records`, `list_requests`, `list_responses` for the host, with
//!   the cursors as opaque tokens and a total counted once per state of the
//!   database), where a page deep in a million rows seeks past its cursor
//!   and costs what the first page does; by offset/limit only for the
//!   deprecated `offset` of host API 1.6 remotes and `augment data show`.
//! - **Templates are checked before any request exists.** Variables the
//!   dataset does not have are reported per template ([`Store::check_template`]);
//!   [`Store::generate_requests`] refuses while any remain.
//! - **A response is written in the same transaction that marks its request
//!   answered**, and a unique index refuses a second answer to a request, so
//!   a crash can never lose an answer or let it be asked for again.
//!
//! - **Structured output and checks** (`structured.rs`, `checks.rs`): a
//!   template version may carry a JSON Schema, checked when saved; every
//!   answer to it is validated when stored (valid, the first problems with
//!   their paths, its top-level fields, which become export columns); a
//!   run's assertions score each answer, with a pass rate per run.
//!
//! - **A response cache** ([`AiCall`], [`AiCacheKey`], `ai_cache.rs`):
//!   successful answers only, by the digest of everything that can change
//!   them; a hit is stored like a live answer, marked `cached`; nothing
//!   leaves it but [`Store::prune_ai_cache`].
//!
//! - **Repeat runs** (`stability.rs`): a request is one sample of a prompt,
//!   so a run can ask each prompt several times, each repeat with an answer
//!   of its own; [`Store::run_stability`] says per record whether they agree.
//!
//! The connection runs in WAL mode with foreign keys on (off while migrating,
//! so a migration that rebuilds a table keeps the rows that reference it), and
//! the schema is kept by `rusqlite_migration` (the SQLite `user_version`).

mod ai_cache;
mod batch_jobs;
mod checks;
mod compare;
mod datasets;
mod datastores;
mod error;
mod estimate;
mod export;
mod hooks;
mod insights;
mod keyset;
mod lists;
mod prices;
mod requests;
mod run_list;
mod run_writes;
mod runs;
mod schema;
mod stability;
mod stats;
mod structured;
mod templates;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;
use serde::Serialize;

pub use ai_cache::{AiCacheEntry, AiCacheKey, AiCacheSize, AiCall};
pub use batch_jobs::{BatchJob, BatchJobCounts};
pub use checks::{
    ASSERTION_SYNTAX, Assertion, AssertionTally, CheckOutcome, CheckResult, Checker, JudgeUsage, RunChecks,
    SchemaFailure,
};
pub use compare::{
    ComparePage, CompareQuery, CompareSide, CompareSummary, ComparedPair, PairAnswer, PairFilter, answers_agree,
};
pub use datasets::{
    Column, Dataset, FieldFilter, FilterOp, ImportOptions, ImportProgress, RecordQuery, RecordRow, RecordSort,
};
pub use datastores::{
    DATASTORE_KINDS, DatasetSource, DatastoreConnection, NewDatasetSource, WriteBackRow, WriteBackRows,
};
pub use error::Error;
pub use estimate::{
    DEFAULT_OUTPUT_TOKENS, MAX_RATE, ModelEstimate, ModelPrice, PRICES, PriceRow, PriceTable, Rates, estimate_tokens,
    price_of,
};
pub use export::ExportFormat;
pub use hooks::{HookDelivery, HookEndpoint, MAX_HOOK_DELIVERIES, NewHookDelivery, PendingHookDelivery};
pub use insights::{Insight, ResponseQuery, ResponseRow, ResponseSort, ResponseSortColumn};
pub use keyset::{Cursor, KeysetPage, PageStart};
pub use requests::{MAX_REPEATS, ModelTarget, RequestQuery, RequestRow, RequestSort, RequestSortColumn, RequestStatus};
pub use run_list::RunSummary;
pub use run_writes::{RunWrite, RunWritten};
pub use runs::{Answer, ClaimedRequest, Failure, NewRun, RunProgress, RunStatus};
pub use stability::{SampleAnswer, StabilityPage, StabilityQuery, StabilitySummary, UnstableRecord};
pub use stats::{
    DayActivity, DayWindow, MAX_STATS_DAYS, MAX_TAGS, ModelStats, ProviderActivity, ResponseStats, RunActivity,
    TagCount,
};
pub use structured::{
    MAX_SCHEMA_ERRORS, SchemaCheck, SchemaIssue, check_schema, schema_properties, strict_mode_notes, validate_answer,
};
pub use templates::{MAX_BODY_BYTES, RECORD_VARIABLE, TEMPLATE_FUEL, Template, TemplateCheck, TemplateVersion};

/// The most rows one page may hold.
pub const MAX_PAGE: u32 = 1000;

/// One page of a longer list, and how many items match in all.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Page<T> {
    /// Items matching the query, in total (not just on this page).
    pub total: u64,
    /// This page's items.
    pub items: Vec<T>,
    /// Pass as the list command's `cursor` for the page after this one;
    /// absent on the last page (and on a page asked for by offset).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Pass as `cursor` for the page before this one; absent on the first.
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_cursor: Option<String>,
}

/// An open local database.
///
/// A `Store` is one SQLite connection: use it from one thread at a time
/// (wrap it in a `Mutex` to share it). Several `Store`s may open the same file;
/// WAL lets readers go on while one writes, and writers wait up to
/// [`Store::BUSY_TIMEOUT`] for each other.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    /// Totals of filtered lists, reused while the database is unchanged.
    counts: lists::CountCache,
}

impl Store {
    /// How long a write waits for another connection's write to finish.
    pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, Error> {
        Self::prepare(Connection::open(path)?)
    }

    /// A private database in memory, for tests and previews.
    pub fn open_in_memory() -> Result<Store, Error> {
        Self::prepare(Connection::open_in_memory()?)
    }

    fn prepare(mut conn: Connection) -> Result<Store, Error> {
        conn.busy_timeout(Self::BUSY_TIMEOUT)?;
        // WAL: the UI keeps reading pages while a run or an import writes.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL is durable across application crashes in WAL mode (only an OS
        // crash can lose the last commits), which is the failure runs guard against.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Off while migrating, outside the migrations' transaction (the pragma
        // is a no-op inside one): a migration that rebuilds a table (V10) would
        // otherwise delete the rows that reference it. Each such migration
        // checks the keys before it commits.
        conn.pragma_update(None, "foreign_keys", false)?;
        schema::migrations().to_latest(&mut conn)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        Ok(Store { conn, counts: lists::CountCache::default() })
    }
}

/// Counts over the whole database, for the Admin Dashboard.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub datasets: u64,
    pub records: u64,
    pub templates: u64,
    pub requests: u64,
    pub approved_requests: u64,
    pub runs: u64,
    /// Answers and failures stored for requests.
    pub responses: u64,
    pub failed_responses: u64,
    /// Tokens of live answers (answers from the response cache cost nothing).
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Store {
    /// How much is stored: datasets, records, templates, requests, runs, responses and tokens used.
    pub fn usage(&self) -> Result<Usage, Error> {
        let count = |sql: &str| -> Result<u64, Error> {
            let n: i64 = self.conn.query_row(sql, [], |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        Ok(Usage {
            datasets: count("SELECT count(*) FROM datasets WHERE deleted_at IS NULL")?,
            records: count("SELECT count(*) FROM records")?,
            templates: count("SELECT count(*) FROM templates")?,
            requests: count("SELECT count(*) FROM requests")?,
            approved_requests: count("SELECT count(*) FROM requests WHERE status = 'approved'")?,
            runs: count("SELECT count(*) FROM runs")?,
            responses: count("SELECT count(*) FROM responses")?,
            failed_responses: count("SELECT count(*) FROM responses WHERE error_code IS NOT NULL")?,
            input_tokens: count("SELECT coalesce(sum(input_tokens), 0) FROM responses WHERE NOT cached")?,
            output_tokens: count("SELECT coalesce(sum(output_tokens), 0) FROM responses WHERE NOT cached")?,
        })
    }
}

/// The plan SQLite picks for `sql` (its parameters all 1), one step per
/// line: what the query-plan tests read.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn query_plan(store: &Store, sql: &str) -> String {
    let mut stmt = store.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let ones = vec![1; stmt.parameter_count()];
    let steps = stmt.query_map(rusqlite::params_from_iter(ones), |r| r.get::<_, String>(3)).unwrap();
    steps.map(Result::unwrap).collect::<Vec<_>>().join("\n")
}

pub(crate) fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Checks offset/limit from a caller.
pub(crate) fn page_bounds(offset: u64, limit: u32) -> Result<(i64, i64), Error> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::invalid(
            "limit",
            format!("a page holds 1 to {MAX_PAGE} rows, not {limit}: ask for several pages"),
        ));
    }
    let offset = i64::try_from(offset).map_err(|_| Error::invalid("offset", "the offset is too large"))?;
    Ok((offset, i64::from(limit)))
}

/// An `ORDER BY` list: each of `terms` (fixed SQL, never caller text) in
/// the asked direction with missing values last either way, then `ties`
/// (ascending), which must order every row so that pages are stable.
pub(crate) fn order_by(terms: &[&str], descending: bool, ties: &str) -> String {
    let direction = if descending { "DESC" } else { "ASC" };
    let mut sql = String::new();
    for term in terms {
        sql.push_str(term);
        sql.push(' ');
        sql.push_str(direction);
        sql.push_str(" NULLS LAST, ");
    }
    sql.push_str(ties);
    sql
}

/// Checks a user-given name: not blank, not absurdly long.
pub(crate) fn check_name(field: &'static str, name: &str) -> Result<String, Error> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(field, "the name is empty: give it a name"));
    }
    if trimmed.chars().count() > 200 {
        return Err(Error::invalid(field, "the name is longer than 200 characters: shorten it"));
    }
    Ok(trimmed.to_owned())
}
