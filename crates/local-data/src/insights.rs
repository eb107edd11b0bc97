//! Responses next to their records, with the analyst's tags, group and note.

use rusqlite::params;
use rusqlite::types::Value as SqlValue;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::datasets::json_bug;
use crate::error::OrNotFound;
use crate::keyset::{Key, KeysetPage, Order, PageStart, Query};
use crate::{CheckResult, Dataset, Error, ModelTarget, Page, SchemaIssue, Store, order_by, page_bounds};

/// One response with its request, record and insight fields.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseRow {
    pub response_id: i64,
    pub request_id: i64,
    pub run_id: i64,
    pub record_id: i64,
    pub record_position: u64,
    #[cfg_attr(feature = "ts", ts(type = "Record<string, JsonValue>"))]
    pub record: Map<String, Value>,
    pub provider: String,
    pub model: String,
    pub prompt: String,
    /// The answer; `None` when the request failed.
    pub text: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub input_tokens: Option<u32>,
    pub output_tokens: Option<u32>,
    pub started_at: i64,
    pub finished_at: i64,
    pub tags: Vec<String>,
    pub group: Option<String>,
    pub note: Option<String>,
    /// Whether the answer came from the response cache (no provider call).
    /// Always set; optional for the contract (host API 1.4.0).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(default)]
    pub cached: Option<bool>,
    /// Whether the answer fits its template's JSON Schema; `None` when the
    /// template has none (host API 1.6.0, as the three below).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_valid: Option<bool>,
    /// The first ways it does not fit, with their paths.
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_errors: Option<Vec<SchemaIssue>>,
    /// The answer's top-level fields, when it is a JSON object (with a schema).
    #[cfg_attr(feature = "ts", ts(optional, type = "Record<string, JsonValue>"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Map<String, Value>>,
    /// The run's assertions' results for this answer, in the run's order.
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<CheckResult>>,
    /// Which repeat of its prompt the request is (0: the first; a run with
    /// repeats, issue 17 point 6). Always set by the store; optional for the
    /// contract (host API 1.7.0).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(default)]
    pub sample: Option<u32>,
}

/// Which responses to list or export.
// An argument: serde reads a missing `Option` field as `None`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseQuery {
    pub dataset_id: i64,
    pub template_version_id: Option<i64>,
    pub target: Option<ModelTarget>,
    pub tag: Option<String>,
    pub group: Option<String>,
    /// Include failed requests' error responses.
    pub include_errors: bool,
    /// Deprecated (host API 1.7.0): send 0 and page with the list
    /// command's `cursor`. Read only without a cursor, by an `OFFSET` scan
    /// that reads and drops this many rows first (remotes of host API 1.6).
    pub offset: u64,
    /// Page size; ignored by export, which writes every match.
    pub limit: u32,
    /// Record order, then model, when `None` (the list's and the export's).
    pub sort: Option<ResponseSort>,
}

/// What the responses table (and its export) can be sorted by.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseSortColumn {
    /// The record's row number in its file.
    Record,
    /// Provider, then model.
    Model,
    /// The answer's text, ignoring ASCII case; failed requests last.
    Answer,
    /// The answer's length in characters; failed requests last.
    AnswerLength,
    /// Input plus output tokens; responses with no usage last.
    Tokens,
    /// Milliseconds from sending to the answer (or the failure).
    Latency,
    /// The alphabetically first tag; untagged responses last.
    Tags,
    Group,
    Note,
}

impl ResponseSortColumn {
    /// Fixed SQL over [`RESPONSE_FROM`]'s tables: a whitelist, so nothing
    /// the caller sends reaches the SQL text.
    fn terms(self) -> &'static [&'static str] {
        match self {
            ResponseSortColumn::Record => &["r.position"],
            ResponseSortColumn::Model => &["q.provider", "q.model"],
            ResponseSortColumn::Answer => &["s.text COLLATE NOCASE"],
            ResponseSortColumn::AnswerLength => &["length(s.text)"],
            ResponseSortColumn::Tokens => &[TOTAL_TOKENS],
            ResponseSortColumn::Latency => &["s.finished_at - s.started_at"],
            ResponseSortColumn::Tags => &["(SELECT min(tag) FROM response_tags t WHERE t.response_id = s.id)"],
            ResponseSortColumn::Group => &["n.group_name COLLATE NOCASE"],
            ResponseSortColumn::Note => &["n.note COLLATE NOCASE"],
        }
    }
}

/// Orders responses over the whole query; equal values stay in record
/// order, then model.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseSort {
    pub column: ResponseSortColumn,
    pub descending: bool,
}

/// The analyst's additions to a response.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Insight {
    pub tags: Vec<String>,
    pub group: Option<String>,
    pub note: Option<String>,
}

const RESPONSE_FROM: &str = "FROM responses s
    JOIN requests q ON q.id = s.request_id
    JOIN records r ON r.id = q.record_id
    LEFT JOIN insights n ON n.response_id = s.id
    WHERE q.dataset_id = ?1
      AND (?2 IS NULL OR q.template_version_id = ?2)
      AND (?3 IS NULL OR q.provider = ?3)
      AND (?4 IS NULL OR q.model = ?4)
      AND (?5 IS NULL OR EXISTS (SELECT 1 FROM response_tags t WHERE t.response_id = s.id AND t.tag = ?5))
      AND (?6 IS NULL OR n.group_name = ?6)
      AND (?7 OR s.error_code IS NULL)";

const RESPONSE_COLUMNS: &str = "SELECT s.id, s.request_id, s.run_id, r.id, r.position, r.data, q.provider, q.model,
    coalesce(q.edited, q.rendered), s.text, s.error_code, s.error_message, s.input_tokens, s.output_tokens,
    s.started_at, s.finished_at, n.group_name, n.note,
    (SELECT json_group_array(tag) FROM (SELECT tag FROM response_tags t WHERE t.response_id = s.id ORDER BY tag)),
    s.cached, s.schema_valid, s.schema_errors, s.fields,
    (SELECT json_group_array(json_array(c.position, c.label,
                                        CASE c.passed WHEN 1 THEN json('true') WHEN 0 THEN json('false') END, c.reason))
     FROM (SELECT * FROM answer_checks c WHERE c.response_id = s.id ORDER BY c.position) c),
    q.sample";

/// How many columns [`RESPONSE_COLUMNS`] selects: a keyset page reads its
/// sort keys after them (the keyset tests fail when the two disagree).
const RESPONSE_COLUMN_COUNT: usize = 25;

/// Unknown when neither count came back; one missing count counts as 0.
const TOTAL_TOKENS: &str = "CASE WHEN s.input_tokens IS NULL AND s.output_tokens IS NULL THEN NULL \
    ELSE coalesce(s.input_tokens, 0) + coalesce(s.output_tokens, 0) END";

/// Record order, then model; `s.id` makes it total.
const DEFAULT_ORDER: &str = "r.position, q.provider, q.model, s.id";

impl Store {
    /// A page of responses, in record order then model unless `query.sort` says otherwise.
    pub fn responses(&self, query: &ResponseQuery) -> Result<Page<ResponseRow>, Error> {
        let (offset, limit) = page_bounds(query.offset, query.limit)?;
        let dataset = self.dataset(query.dataset_id)?;
        let total = self.responses_total(query)?;
        let mut items = Vec::new();
        self.for_each_response(&dataset, query, Some((offset, limit)), |row| {
            items.push(row);
            Ok(())
        })?;
        Ok(Page { total, items, next_cursor: None, previous_cursor: None })
    }

    /// How many responses `query`'s filters match (once per state of the database).
    pub(crate) fn responses_total(&self, query: &ResponseQuery) -> Result<u64, Error> {
        self.count_once(format!("responses@{}", crate::keyset::scope_digest(&filters_of(query))), || {
            let sql = format!("SELECT count(*) {RESPONSE_FROM}");
            let n: i64 = self.conn.query_row(&sql, bind(query).as_params(), |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// A page of responses found by keyset (see [`PageStart`]): the filter
    /// and order of [`Store::responses`] (`query.offset` is not read), a deep
    /// page seeking to its first row instead of counting its way there. No
    /// total: [`Store::responses`] with a limit of 1 gives it once.
    pub fn responses_page(&self, query: &ResponseQuery, start: &PageStart) -> Result<KeysetPage<ResponseRow>, Error> {
        let dataset = self.dataset(query.dataset_id)?;
        let (from_where, args) = response_keyset_filter(query);
        let columns = RESPONSE_COLUMNS.trim_start_matches("SELECT ");
        let parts = Query { columns, from_where: &from_where, args, column_count: RESPONSE_COLUMN_COUNT };
        let order = response_order(query.sort).scoped(&filters_of(query));
        order.page(&self.conn, parts, start, query.limit, |row| response_from_row(&dataset, row))
    }

    /// Calls `f` with each matching response in order, one at a time.
    pub(crate) fn for_each_response(
        &self,
        dataset: &Dataset,
        query: &ResponseQuery,
        page: Option<(i64, i64)>,
        mut f: impl FnMut(ResponseRow) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let paging = page.map_or(String::new(), |(offset, limit)| format!(" LIMIT {limit} OFFSET {offset}"));
        // The default order breaks every tie, so pages are stable and an
        // export without a sort keeps the order it always had.
        let order = match query.sort {
            None => DEFAULT_ORDER.to_owned(),
            Some(sort) => order_by(sort.column.terms(), sort.descending, DEFAULT_ORDER),
        };
        let sql = format!("{RESPONSE_COLUMNS} {RESPONSE_FROM} ORDER BY {order}{paging}");
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(bind(query).as_params())?;
        while let Some(row) = rows.next()? {
            f(response_from_row(dataset, row)?)?;
        }
        Ok(())
    }

    /// Replaces the tags, group and note of a response.
    pub fn set_insight(&mut self, response_id: i64, insight: &Insight) -> Result<Insight, Error> {
        let tags = clean_tags(&insight.tags)?;
        let group = clean_optional("group", insight.group.as_deref())?;
        let note = insight.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
        self.conn
            .query_row("SELECT 1 FROM responses WHERE id = ?1", [response_id], |_| Ok(()))
            .or_not_found("response", response_id)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO insights (response_id, group_name, note) VALUES (?1, ?2, ?3)
             ON CONFLICT (response_id) DO UPDATE SET group_name = excluded.group_name, note = excluded.note",
            params![response_id, group, note],
        )?;
        tx.execute("DELETE FROM response_tags WHERE response_id = ?1", [response_id])?;
        for tag in &tags {
            tx.execute(
                "INSERT OR IGNORE INTO response_tags (response_id, tag) VALUES (?1, ?2)",
                params![response_id, tag],
            )?;
        }
        tx.commit()?;
        Ok(Insight { tags, group, note: note.map(str::to_owned) })
    }

    /// Adds one tag to many responses (bulk tagging).
    pub fn tag_responses(&mut self, response_ids: &[i64], tag: &str) -> Result<u64, Error> {
        let tag = clean_optional("tag", Some(tag))?.ok_or_else(|| Error::invalid("tag", "the tag is empty"))?;
        let tx = self.conn.transaction()?;
        let mut added = 0;
        for &id in response_ids {
            tx.query_row("SELECT 1 FROM responses WHERE id = ?1", [id], |_| Ok(())).or_not_found("response", id)?;
            added += tx
                .execute("INSERT OR IGNORE INTO response_tags (response_id, tag) VALUES (?1, ?2)", params![id, tag])?
                as u64;
        }
        tx.commit()?;
        Ok(added)
    }
}

/// The keyset order of [`Store::responses`]: the sort's terms (any may be
/// NULL: a failed request's answer, a missing group), then record order,
/// model and id, which break every tie.
fn response_order(sort: Option<ResponseSort>) -> Order {
    let mut keys = Vec::new();
    let mut name = "responses".to_owned();
    if let Some(sort) = sort {
        keys.extend(sort.column.terms().iter().map(|term| Key::nullable(*term, sort.descending)));
        name = format!("responses:{:?}:{}", sort.column, if sort.descending { "desc" } else { "asc" });
    }
    keys.extend(["r.position", "q.provider", "q.model", "s.id"].map(Key::asc));
    Order { name, keys }
}

/// `FROM … WHERE …` of a keyset page of responses and its parameters. The
/// record's dataset is the request's: saying so lets SQLite seek the
/// records' `(dataset_id, position)` index in record order. The `+` keeps it
/// from reading the requests by dataset instead and sorting them all for one
/// page (its choice for a first page, and past a cursor once every request
/// has an answer).
fn response_keyset_filter(query: &ResponseQuery) -> (String, Vec<SqlValue>) {
    let bound = bind(query);
    let args = vec![
        SqlValue::Integer(bound.dataset_id),
        bound.version.map_or(SqlValue::Null, SqlValue::Integer),
        bound.provider.map_or(SqlValue::Null, SqlValue::Text),
        bound.model.map_or(SqlValue::Null, SqlValue::Text),
        bound.tag.map_or(SqlValue::Null, SqlValue::Text),
        bound.group.map_or(SqlValue::Null, SqlValue::Text),
        SqlValue::Integer(i64::from(bound.include_errors)),
    ];
    let from = RESPONSE_FROM.replacen("WHERE q.dataset_id = ?1", "WHERE +q.dataset_id = ?1", 1);
    (format!("{from} AND r.dataset_id = ?1"), args)
}

/// What decides which responses a query lists (not their order or page):
/// what its cursors and its counted total are tied to.
fn filters_of(query: &ResponseQuery) -> impl Serialize + '_ {
    let ResponseQuery { dataset_id, template_version_id, target, tag, group, include_errors, .. } = query;
    (dataset_id, template_version_id, target, tag, group, include_errors)
}

/// The positional parameters of [`RESPONSE_FROM`].
struct Bound {
    dataset_id: i64,
    version: Option<i64>,
    provider: Option<String>,
    model: Option<String>,
    tag: Option<String>,
    group: Option<String>,
    include_errors: bool,
}

impl Bound {
    fn as_params(&self) -> [&dyn rusqlite::ToSql; 7] {
        [&self.dataset_id, &self.version, &self.provider, &self.model, &self.tag, &self.group, &self.include_errors]
    }
}

fn bind(query: &ResponseQuery) -> Bound {
    Bound {
        dataset_id: query.dataset_id,
        version: query.template_version_id,
        provider: query.target.as_ref().map(|t| t.provider.clone()),
        model: query.target.as_ref().map(|t| t.model.clone()),
        tag: query.tag.clone(),
        group: query.group.clone(),
        include_errors: query.include_errors,
    }
}

fn response_from_row(dataset: &Dataset, r: &rusqlite::Row<'_>) -> Result<ResponseRow, Error> {
    let record_id: i64 = r.get(3)?;
    let position: i64 = r.get(4)?;
    let data: String = r.get(5)?;
    let record = crate::datasets::typed_record(dataset, record_id, position, &data)?;
    let tags: String = r.get(18)?;
    Ok(ResponseRow {
        response_id: r.get(0)?,
        request_id: r.get(1)?,
        run_id: r.get(2)?,
        record_id,
        record_position: record.position,
        record: record.fields,
        provider: r.get(6)?,
        model: r.get(7)?,
        prompt: r.get(8)?,
        text: r.get(9)?,
        error_code: r.get(10)?,
        error_message: r.get(11)?,
        input_tokens: r.get(12)?,
        output_tokens: r.get(13)?,
        started_at: r.get(14)?,
        finished_at: r.get(15)?,
        group: r.get(16)?,
        note: r.get(17)?,
        tags: serde_json::from_str(&tags).map_err(json_bug)?,
        cached: Some(r.get(19)?),
        schema_valid: r.get(20)?,
        schema_errors: match r.get_ref(21)?.as_str_or_null().map_err(rusqlite::Error::from)? {
            Some(text) => Some(serde_json::from_str(text).map_err(json_bug)?),
            None => None,
        },
        fields: match r.get_ref(22)?.as_str_or_null().map_err(rusqlite::Error::from)? {
            Some(text) => serde_json::from_str(text).map_err(json_bug)?,
            None => None,
        },
        checks: checks_from_json(r.get_ref(23)?.as_str().map_err(rusqlite::Error::from)?)?,
        sample: Some(r.get(24)?),
    })
}

/// The `[position, label, passed, reason]` arrays of [`RESPONSE_COLUMNS`]; `None` when unchecked.
fn checks_from_json(text: &str) -> Result<Option<Vec<CheckResult>>, Error> {
    let rows: Vec<(u32, String, Option<bool>, String)> = serde_json::from_str(text).map_err(json_bug)?;
    Ok((!rows.is_empty()).then(|| {
        rows.into_iter()
            .map(|(position, assertion, passed, reason)| CheckResult {
                position,
                assertion,
                passed,
                reason,
                judge: None,
            })
            .collect()
    }))
}

fn clean_tags(tags: &[String]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = tags
        .iter()
        .map(|t| clean_optional("tags", Some(t)))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

fn clean_optional(field: &'static str, value: Option<&str>) -> Result<Option<String>, Error> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > 100 || value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "tags and groups are at most 100 characters on one line: shorten it"));
    }
    Ok(Some(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use rusqlite::types::Value as SqlValue;

    use super::{DEFAULT_ORDER, RESPONSE_COLUMN_COUNT, RESPONSE_COLUMNS, RESPONSE_FROM, filters_of};
    use super::{response_keyset_filter, response_order};
    use crate::keyset::{PageStart, Query};
    use crate::{ModelTarget, ResponseQuery, Store};

    /// The plan SQLite picks for `sql` with `args`, one step per line.
    fn plan(store: &Store, sql: &str, args: &[SqlValue]) -> String {
        let mut stmt = store.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let steps = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3)).unwrap();
        steps.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    /// Issue 17 point 8: a list or export of responses (failures included)
    /// finds each request's responses through an index; before schema 7 it
    /// scanned every stored response once per request of the dataset.
    #[test]
    fn responses_are_found_by_their_request_not_scanned_per_request() {
        let store = Store::open_in_memory().unwrap();
        let sql = format!("{RESPONSE_COLUMNS} {RESPONSE_FROM} ORDER BY {DEFAULT_ORDER}");
        let text = |s: &str| SqlValue::Text(s.to_owned());
        let args = [
            SqlValue::Integer(1),
            SqlValue::Null,
            text("openai"),
            text("m"),
            SqlValue::Null,
            SqlValue::Null,
            SqlValue::Integer(1),
        ];
        let plan = plan(&store, &sql, &args);
        let scans: Vec<&str> = plan.lines().filter(|step| step.starts_with("SCAN s")).collect();
        assert!(
            plan.contains("responses_by_request")
                || plan.lines().next().is_some_and(|first| first.starts_with("SCAN s")),
            "responses are looked up by request (or read once, first): {plan}"
        );
        assert!(
            scans.is_empty() || plan.lines().next().is_some_and(|first| first.starts_with("SCAN s")),
            "no scan of the responses inside another loop: {plan}"
        );
    }

    /// Issue 17 point 8: a page of responses in record order, the first or
    /// one past a cursor, is read in order from the records' index, not
    /// made by sorting every response of the dataset (which SQLite chose,
    /// reading the requests by dataset, once every request had an answer).
    #[test]
    fn a_page_of_responses_reads_the_records_index_in_order() {
        let mut store = Store::open_in_memory().unwrap();
        let csv: String = std::iter::once("n\n".to_owned()).chain((0..500).map(|i| format!("{i}\n"))).collect();
        let options = crate::ImportOptions::new("numbers", records::Format::Csv);
        let dataset = store.import(csv.as_bytes(), &options, |_| {}).unwrap();
        let template = store.create_template("ask", "Number {{ n }}").unwrap();
        store.generate_requests(dataset.id, template.current.id, &[ModelTarget::new("openai", "m")]).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO runs (id, status, created_at) VALUES (1, 'completed', 0);
                 INSERT INTO responses (request_id, run_id, text, model, started_at, finished_at)
                     SELECT id, 1, 'an answer', model, 0, 1 FROM requests;",
            )
            .unwrap();
        let query = ResponseQuery { dataset_id: dataset.id, include_errors: true, limit: 50, ..Default::default() };
        let next = store.responses_page(&query, &PageStart::First).unwrap().next.unwrap();
        for start in [PageStart::First, PageStart::After(next)] {
            let (from_where, args) = response_keyset_filter(&query);
            let columns = RESPONSE_COLUMNS.trim_start_matches("SELECT ");
            let parts = Query { columns, from_where: &from_where, args, column_count: RESPONSE_COLUMN_COUNT };
            let (sql, args) = response_order(None).scoped(&filters_of(&query)).sql(parts, &start, 50).unwrap();
            let plan = plan(&store, &sql, &args);
            assert!(
                plan.contains("SEARCH r USING INDEX") && plan.contains("(dataset_id=? AND position>?)"),
                "{start:?}: {plan}"
            );
            assert!(!plan.contains("USE TEMP B-TREE FOR ORDER BY"), "{start:?}: no sort of the whole list: {plan}");
        }
    }
}
