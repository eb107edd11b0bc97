//! Databricks, through the SQL Statement Execution API 2.0 on a SQL warehouse,
//! with a personal access token (`Authorization: Bearer`).
//!
//! Every call is a statement: `POST /api/2.0/sql/statements` with
//! `disposition: INLINE`, `format: JSON_ARRAY`, a `wait_timeout` of 10 s and
//! `on_wait_timeout: CONTINUE`, then `GET /api/2.0/sql/statements/{id}` with a
//! growing back-off until the state is final (`SUCCEEDED`, `FAILED`,
//! `CANCELED`, `CLOSED`) or [`Polling::deadline`] passes (then the statement
//! is cancelled). A result comes in chunks: the first with the statement, the
//! others from `GET …/{id}/result/chunks/{n}`; one chunk is one [`Page`], and
//! the page token carries the statement id, the chunk index and the columns,
//! so paging needs no state in the client (the connector service serves each
//! page with a fresh client).
//!
//! SQL safety: the table name is checked (one to three dot-separated parts,
//! each `[A-Za-z0-9_]+` or backquoted) and every identifier is sent
//! backquoted; values only ever travel as named parameters (`:p0`). The
//! statements sent are exactly: `SELECT * FROM t`, `SELECT * FROM t LIMIT 0`
//! (the columns, from the result manifest), `ALTER TABLE t ADD COLUMNS (…)`
//! and the `MERGE` of [`merge_statement`]; the fake warehouse in
//! `fake-datastores` understands these and nothing else.
//!
//! JSON_ARRAY results hold every value as a string (or null); they are turned
//! back into JSON by the column's `type_name` ([`typed_value`]).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value, json};
use url::Url;

use crate::pacing::{Pacer, network_error};
use crate::{Credential, Error, FailedRow, Page, PageToken, SourceColumn, SourceRow, WriteReport, WriteRow};

/// One Databricks table, read and written through a SQL warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// The workspace, e.g. `https://adb-123.4.azuredatabricks.net`.
    pub host: Url,
    pub warehouse_id: String,
    /// `catalog.schema.table`.
    pub table: String,
    /// The column that identifies a row (what write-back matches on).
    pub key_column: String,
}

const SERVICE: &str = "databricks";

/// Named parameters per statement. The Databricks JDBC driver caps a
/// parameterised statement at 256 markers (databricks/databricks-jdbc#1047);
/// staying within it keeps our statements inside what Databricks' own clients
/// send, whatever the warehouse version.
pub const MAX_PARAMETERS: usize = 256;

/// Rows per `MERGE`, at most: a failed statement fails all of its rows, so a
/// batch stays small enough that a retry redoes little.
pub const MAX_ROWS_PER_STATEMENT: usize = 100;

/// Bytes of parameter values per `MERGE`, at most: answers can be long, and a
/// request body of a few MiB is what the REST API is comfortable with (INLINE
/// results, for comparison, stop at 25 MiB).
pub const MAX_BATCH_VALUE_BYTES: usize = 2 * 1024 * 1024;

/// Our own steady pace per workspace (shared by its clients in this process):
/// Databricks limits requests per workspace and answers 429 past them,
/// which [`Pacer`] waits out.
const REQUESTS_PER_SECOND: u32 = 10;

/// How long a statement waits server-side before answering (5 to 50 s, or
/// 0 s): most statements finish inside it, saving the polls.
const WAIT_TIMEOUT: &str = "10s";

/// One HTTP request, at most: the server may hold the POST for `WAIT_TIMEOUT`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How a running statement is polled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Polling {
    /// The first wait between polls; it doubles up to `max_wait`.
    pub first_wait: Duration,
    pub max_wait: Duration,
    /// A statement still running after this long is cancelled and reported.
    pub deadline: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            first_wait: Duration::from_millis(200),
            max_wait: Duration::from_secs(5),
            deadline: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug)]
pub struct Client {
    table: Table,
    /// The table name as sent: every part backquoted.
    target: String,
    key: String,
    credential: Credential,
    http: reqwest::Client,
    /// Shared by every client of the same workspace in this process.
    pacer: Arc<Pacer>,
    polling: Polling,
}

impl Client {
    /// Checks the table and key names (before any request) and builds a client.
    pub fn new(table: Table, credential: Credential) -> Result<Client, Error> {
        let target = table_identifier(&table.table)?;
        let key = column_identifier(&table.key_column)?;
        if table.warehouse_id.is_empty() || !table.warehouse_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(config(
                "the warehouse id must be letters and digits (from the warehouse's connection details)",
            ));
        }
        if !crate::secure_enough(&table.host) || table.host.host_str().is_none() {
            return Err(config(
                "the workspace URL must be https://<workspace host> (plain http:// only to this computer: the token would travel in clear)",
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::Config { service: SERVICE, message: format!("cannot set up HTTP: {e}") })?;
        let pace = NonZeroU32::new(REQUESTS_PER_SECOND).unwrap_or(NonZeroU32::MIN);
        let pacer = Pacer::shared(SERVICE, &table.host.origin().ascii_serialization(), pace);
        Ok(Client { table, target, key, credential, http, pacer, polling: Polling::default() })
    }

    /// Polls with `polling` instead of the default.
    pub fn with_polling(mut self, polling: Polling) -> Client {
        self.polling = polling;
        self
    }

    /// The columns, from the manifest of `SELECT * FROM t LIMIT 0` (its
    /// `type_text`, e.g. `DECIMAL(10,2)`, else `type_name`).
    pub async fn columns(&self) -> Result<Vec<SourceColumn>, Error> {
        let done = self.run(&format!("SELECT * FROM {} LIMIT 0", self.target), Vec::new()).await?;
        Ok(done.columns.iter().map(|c| SourceColumn { name: c.name.clone(), service_type: c.shown_type() }).collect())
    }

    /// The first chunk of `SELECT * FROM t` (`from: None`) or the chunk `from` names.
    pub async fn page(&self, from: Option<&PageToken>) -> Result<Page, Error> {
        let (statement_id, columns, chunk) = match from {
            None => {
                let done = self.run(&format!("SELECT * FROM {}", self.target), Vec::new()).await?;
                (done.statement_id, done.columns, done.first_chunk)
            }
            Some(token) => {
                let token = ChunkToken::parse(token)?;
                let path = format!("api/2.0/sql/statements/{}/result/chunks/{}", token.statement, token.chunk);
                let response = self.send_get(&path).await?;
                let chunk: Chunk = read_json(response).await?;
                (token.statement, token.columns, Some(chunk))
            }
        };
        let key_index =
            columns.iter().position(|c| c.name.eq_ignore_ascii_case(&self.table.key_column)).ok_or_else(|| {
                config(&format!(
                    "the table has no column `{}` to use as the key; its columns are: {}",
                    self.table.key_column,
                    columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?;
        let Some(chunk) = chunk else {
            return Ok(Page { rows: Vec::new(), next: None });
        };
        let mut rows = Vec::with_capacity(chunk.data_array.len());
        for values in chunk.data_array {
            rows.push(source_row(&columns, key_index, &self.table.key_column, values)?);
        }
        let next = chunk
            .next_chunk_index
            .or_else(|| chunk.next_chunk_internal_link.as_deref().and_then(index_from_link))
            .map(|chunk| ChunkToken { statement: statement_id, chunk, columns }.encode());
        Ok(Page { rows, next })
    }

    /// Creates the missing `create` columns (`STRING`), then updates the rows
    /// by key with one `MERGE` per batch. A `MERGE` never inserts, so running
    /// the same write again leaves the table as it was after the first.
    pub async fn write_back(&self, rows: &[WriteRow], create: &[String]) -> Result<WriteReport, Error> {
        let existing = self.columns().await?;
        let has = |name: &str, list: &[String]| list.iter().any(|c| c.eq_ignore_ascii_case(name));
        let existing: Vec<String> = existing.into_iter().map(|c| c.name).collect();
        let mut to_create: Vec<String> = Vec::new();
        for name in create {
            if !has(name, &existing) && !has(name, &to_create) {
                to_create.push(name.clone());
            }
        }
        // Every written column must exist (or be created) before anything is sent.
        for row in rows {
            for name in row.fields.keys() {
                if !has(name, &existing) && !has(name, &to_create) {
                    return Err(config(&format!(
                        "the table has no column `{name}`; add it to the columns to create, or write to an existing one"
                    )));
                }
            }
        }
        let mut report = WriteReport::default();
        if !to_create.is_empty() {
            let columns: Result<Vec<String>, Error> =
                to_create.iter().map(|c| column_identifier(c).map(|c| format!("{c} STRING"))).collect();
            let statement = format!("ALTER TABLE {} ADD COLUMNS ({})", self.target, columns?.join(", "));
            self.run(&statement, Vec::new()).await?;
            tracing::info!(service = SERVICE, columns = to_create.len(), "created columns");
            report.created_columns = to_create;
        }
        let batches = batches(rows, &self.table.key_column)?;
        let mut remaining = batches.iter();
        while let Some(batch) = remaining.next() {
            let (statement, parameters) = merge_statement(&self.target, &self.key, batch)?;
            match self.run(&statement, parameters).await {
                Ok(done) => report.updated += done.updated_count().unwrap_or(batch.rows.len() as u64),
                // The warehouse refused this statement (a value it cannot
                // take, say): its rows fail, the other batches still run.
                Err(Error::Statement { message, .. } | Error::Service { status: 400..=499, message, .. }) => {
                    tracing::warn!(service = SERVICE, rows = batch.rows.len(), "a write-back statement failed");
                    report.failed.extend(failed(batch, &message));
                }
                Err(err @ (Error::Unauthorized { .. } | Error::NotFound { .. } | Error::Config { .. })) => {
                    return Err(err);
                }
                // The service is unreachable or keeps refusing: stop, and
                // list this batch and the rest as not written.
                Err(err) => {
                    let reason = err.to_string();
                    report.failed.extend(failed(batch, &reason));
                    for batch in remaining.by_ref() {
                        report.failed.extend(failed(batch, &reason));
                    }
                }
            }
        }
        Ok(report)
    }

    /// Submits `statement`, polls it to a final state and returns its
    /// manifest and first chunk; anything but `SUCCEEDED` is an error.
    async fn run(&self, statement: &str, parameters: Vec<Value>) -> Result<Finished, Error> {
        let body = json!({
            "warehouse_id": self.table.warehouse_id,
            "statement": statement,
            "parameters": parameters,
            "wait_timeout": WAIT_TIMEOUT,
            "on_wait_timeout": "CONTINUE",
            "disposition": "INLINE",
            "format": "JSON_ARRAY",
        });
        let url = self.url("api/2.0/sql/statements")?;
        let response = self.pacer.send(|| self.authorized(self.http.post(url.clone())).json(&body)).await?;
        let mut answer: StatementResponse = read_json(response).await?;
        let started = Instant::now();
        let mut wait = self.polling.first_wait;
        while !answer.status.is_final() {
            if started.elapsed() >= self.polling.deadline {
                self.cancel(&answer.statement_id).await;
                return Err(Error::Statement {
                    service: SERVICE,
                    message: format!(
                        "the statement was still {} after {} s and was cancelled; check that the warehouse is running",
                        answer.status.state,
                        self.polling.deadline.as_secs()
                    ),
                });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(self.polling.max_wait);
            let id = statement_id(&answer.statement_id)?;
            let response = self.send_get(&format!("api/2.0/sql/statements/{id}")).await?;
            answer = read_json(response).await?;
        }
        tracing::debug!(service = SERVICE, statement_id = %answer.statement_id, state = %answer.status.state, "statement finished");
        if answer.status.state != "SUCCEEDED" {
            let detail = answer.status.error.map(|e| e.text()).unwrap_or_else(|| "no reason given".to_owned());
            return Err(Error::Statement {
                service: SERVICE,
                message: format!("the statement ended {}: {detail}", answer.status.state),
            });
        }
        let columns = answer.manifest.map(|m| m.schema.columns).unwrap_or_default();
        Ok(Finished {
            statement_id: statement_id(&answer.statement_id)?.to_owned(),
            columns,
            first_chunk: answer.result,
        })
    }

    /// Best effort: a cancel that fails changes nothing for the caller.
    async fn cancel(&self, id: &str) {
        let Ok(id) = statement_id(id) else { return };
        if let Ok(url) = self.url(&format!("api/2.0/sql/statements/{id}/cancel")) {
            let _ = self.pacer.send(|| self.authorized(self.http.post(url.clone()))).await;
        }
    }

    async fn send_get(&self, path: &str) -> Result<Response, Error> {
        let url = self.url(path)?;
        self.pacer.send(|| self.authorized(self.http.get(url.clone()))).await
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.bearer_auth(self.credential.0.expose())
    }

    fn url(&self, path: &str) -> Result<Url, Error> {
        // The workspace URL may carry a path prefix (a proxy); keep it.
        let mut base = self.table.host.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        base.join(path).map_err(|e| config(&format!("cannot build the request URL: {e}")))
    }
}

fn config(message: &str) -> Error {
    Error::Config { service: SERVICE, message: message.to_owned() }
}

/// A statement that reached `SUCCEEDED`.
#[derive(Debug)]
struct Finished {
    statement_id: String,
    columns: Vec<ColumnInfo>,
    first_chunk: Option<Chunk>,
}

impl Finished {
    /// `num_updated_rows` from a `MERGE`'s one-row result.
    fn updated_count(&self) -> Option<u64> {
        let index = self.columns.iter().position(|c| c.name == "num_updated_rows")?;
        let value = self.first_chunk.as_ref()?.data_array.first()?.get(index)?;
        match value {
            Value::String(text) => text.parse().ok(),
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct StatementResponse {
    statement_id: String,
    status: Status,
    #[serde(default)]
    manifest: Option<Manifest>,
    #[serde(default)]
    result: Option<Chunk>,
}

#[derive(Debug, Deserialize)]
struct Status {
    state: String,
    #[serde(default)]
    error: Option<ServiceError>,
}

impl Status {
    fn is_final(&self) -> bool {
        matches!(self.state.as_str(), "SUCCEEDED" | "FAILED" | "CANCELED" | "CLOSED")
    }
}

/// `status.error`, and the body of an HTTP error answer.
#[derive(Debug, Default, Deserialize)]
struct ServiceError {
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl ServiceError {
    fn text(&self) -> String {
        match (&self.error_code, &self.message) {
            (Some(code), Some(message)) => format!("{message} ({code})"),
            (None, Some(message)) => message.clone(),
            (Some(code), None) => code.clone(),
            (None, None) => "no reason given".to_owned(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default)]
    schema: Schema,
}

#[derive(Debug, Default, Deserialize)]
struct Schema {
    #[serde(default)]
    columns: Vec<ColumnInfo>,
}

/// A result column; also what a page token carries (`n`, `t`: short, since it travels with every page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ColumnInfo {
    #[serde(alias = "n")]
    name: String,
    #[serde(default, alias = "t")]
    type_name: Option<String>,
    #[serde(default, skip_serializing)]
    type_text: Option<String>,
}

impl ColumnInfo {
    fn shown_type(&self) -> String {
        self.type_text.clone().or_else(|| self.type_name.clone()).unwrap_or_else(|| "STRING".to_owned())
    }
}

/// One chunk of a result (`result` in a statement, or a fetched chunk).
#[derive(Debug, Deserialize)]
struct Chunk {
    #[serde(default)]
    data_array: Vec<Vec<Value>>,
    #[serde(default)]
    next_chunk_index: Option<u64>,
    #[serde(default)]
    next_chunk_internal_link: Option<String>,
}

/// What a [`PageToken`] holds: where the next chunk is, and the columns to read it with.
#[derive(Debug, Serialize, Deserialize)]
struct ChunkToken {
    #[serde(rename = "s")]
    statement: String,
    #[serde(rename = "c")]
    chunk: u64,
    #[serde(rename = "k")]
    columns: Vec<ColumnInfo>,
}

impl ChunkToken {
    fn encode(&self) -> PageToken {
        PageToken(serde_json::to_string(self).unwrap_or_default())
    }

    fn parse(token: &PageToken) -> Result<ChunkToken, Error> {
        let parsed: ChunkToken = serde_json::from_str(&token.0)
            .map_err(|_| config("the page token is not one this client handed out; start the import again"))?;
        statement_id(&parsed.statement)?;
        Ok(parsed)
    }
}

/// A statement id as it may appear in a URL path (Databricks ids are UUID-like).
fn statement_id(id: &str) -> Result<&str, Error> {
    let valid = !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if valid {
        Ok(id)
    } else {
        Err(Error::Protocol { service: SERVICE, message: "a statement id with unexpected characters".to_owned() })
    }
}

/// The chunk index at the end of a `next_chunk_internal_link`.
fn index_from_link(link: &str) -> Option<u64> {
    link.rsplit('/').next()?.parse().ok()
}

async fn read_json<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, Error> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| network_error(SERVICE, &e))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| Error::Protocol { service: SERVICE, message: e.to_string() });
    }
    let error: ServiceError = serde_json::from_slice(&bytes).unwrap_or_default();
    let message = error.text();
    Err(match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Error::Unauthorized { service: SERVICE, status: status.as_u16(), message }
        }
        StatusCode::NOT_FOUND => {
            Error::NotFound { service: SERVICE, what: "warehouse or statement".to_owned(), message }
        }
        _ => Error::Service { service: SERVICE, status: status.as_u16(), message },
    })
}

/// One result row: its key (the key column's text) and every column typed.
fn source_row(
    columns: &[ColumnInfo],
    key_index: usize,
    key_name: &str,
    values: Vec<Value>,
) -> Result<SourceRow, Error> {
    let key = match values.get(key_index) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(config(&format!(
                "a row has no value in the key column `{key_name}`; write-back finds rows by it, so choose a key column with a value in every row"
            )));
        }
    };
    let mut fields = Map::with_capacity(columns.len());
    for (column, value) in columns.iter().zip(values) {
        fields.insert(column.name.clone(), typed_value(column.type_name.as_deref().unwrap_or("STRING"), value));
    }
    Ok(SourceRow { key, fields })
}

/// A JSON_ARRAY value (text or null) as JSON of the column's type: integers,
/// numbers and booleans as such, everything else as text. A value that does
/// not read as its type stays text rather than being lost; a DECIMAL with
/// more digits than a double holds exactly stays text too.
pub fn typed_value(type_name: &str, value: Value) -> Value {
    let Value::String(text) = value else { return value };
    let upper = type_name.to_ascii_uppercase();
    let base = upper.split('(').next().unwrap_or("").trim();
    let converted = match base {
        "BYTE" | "TINYINT" | "SHORT" | "SMALLINT" | "INT" | "INTEGER" | "LONG" | "BIGINT" => {
            text.parse::<i64>().ok().map(Value::from)
        }
        "FLOAT" | "REAL" | "DOUBLE" => text.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number),
        "DECIMAL" | "DEC" | "NUMERIC" => exact_decimal(&text),
        "BOOLEAN" => match text.as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => None,
    };
    converted.unwrap_or(Value::String(text))
}

/// A decimal as a JSON number when a double holds it exactly enough to print it back the same.
fn exact_decimal(text: &str) -> Option<Value> {
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    if digits > 15 {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    Number::from_f64(value).map(Value::Number)
}

/// `catalog.schema.table` with every part backquoted, or a clear refusal.
/// A part is `[A-Za-z0-9_]+`, or backquoted with inner backquotes doubled
/// (`` `my table` ``); nothing else (spaces, quotes, semicolons) is accepted,
/// so a name can never carry SQL.
pub fn table_identifier(name: &str) -> Result<String, Error> {
    let invalid = || {
        config(&format!(
            "`{}` is not a table name this connector accepts: write catalog.schema.table with letters, digits and _ (or a part in `backquotes`)",
            shown(name)
        ))
    };
    let mut parts: Vec<String> = Vec::new();
    let mut rest = name.trim();
    loop {
        let (part, after) = if let Some(quoted) = rest.strip_prefix('`') {
            let (part, after) = backquoted(quoted).ok_or_else(invalid)?;
            if part.is_empty() || part.chars().any(char::is_control) {
                return Err(invalid());
            }
            (part, after)
        } else {
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            if end == 0 {
                return Err(invalid());
            }
            (rest[..end].to_owned(), &rest[end..])
        };
        parts.push(quote(&part));
        if after.is_empty() {
            break;
        }
        rest = after.strip_prefix('.').ok_or_else(invalid)?;
    }
    if parts.len() > 3 {
        return Err(invalid());
    }
    Ok(parts.join("."))
}

/// The text of a backquoted part (after the opening backquote) and what follows its closing one.
fn backquoted(text: &str) -> Option<(String, &str)> {
    let mut part = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == '`' {
            if chars.peek().map(|&(_, next)| next) == Some('`') {
                chars.next();
                part.push('`');
            } else {
                return Some((part, &text[at + 1..]));
            }
        } else {
            part.push(c);
        }
    }
    None
}

/// A column name, backquoted. Any name the person typed is allowed except an
/// empty one or one with control characters; backquotes inside are doubled,
/// which is how Databricks SQL escapes them.
pub fn column_identifier(name: &str) -> Result<String, Error> {
    if name.trim().is_empty() || name.chars().any(char::is_control) || name.len() > 255 {
        return Err(config(&format!(
            "`{}` is not a usable column name: give 1 to 255 characters without line breaks",
            shown(name)
        )));
    }
    Ok(quote(name))
}

fn quote(part: &str) -> String {
    format!("`{}`", part.replace('`', "``"))
}

/// A name short enough to echo in an error (a long one is described instead).
fn shown(name: &str) -> String {
    if name.chars().count() <= 80 { name.to_owned() } else { format!("({} characters)", name.chars().count()) }
}

/// Rows that change the same columns, sent as one `MERGE`.
#[derive(Debug)]
struct Batch<'a> {
    columns: Vec<&'a str>,
    rows: Vec<&'a WriteRow>,
}

/// Groups rows by the set of columns they change (so a row never blanks a
/// column it does not mention), then cuts each group within the batch limits.
fn batches<'a>(rows: &'a [WriteRow], key_column: &str) -> Result<Vec<Batch<'a>>, Error> {
    let mut groups: Vec<Batch<'a>> = Vec::new();
    for row in rows {
        let columns: Vec<&str> =
            row.fields.keys().map(String::as_str).filter(|c| !c.eq_ignore_ascii_case(key_column)).collect();
        if columns.is_empty() {
            continue;
        }
        if columns.len() + 1 > MAX_PARAMETERS {
            return Err(config(&format!(
                "a row writes {} columns; at most {} fit in one statement",
                columns.len(),
                MAX_PARAMETERS - 1
            )));
        }
        match groups.iter_mut().find(|g| g.columns == columns) {
            Some(group) => group.rows.push(row),
            None => groups.push(Batch { columns, rows: vec![row] }),
        }
    }
    let mut out = Vec::new();
    for group in groups {
        let per_row = group.columns.len() + 1;
        let max_rows = (MAX_PARAMETERS / per_row).clamp(1, MAX_ROWS_PER_STATEMENT);
        let mut current = Batch { columns: group.columns.clone(), rows: Vec::new() };
        let mut bytes = 0usize;
        for row in group.rows {
            let size =
                row.key.len() + row.fields.values().map(|v| parameter_value(v).map_or(0, |s| s.len())).sum::<usize>();
            if !current.rows.is_empty() && (current.rows.len() >= max_rows || bytes + size > MAX_BATCH_VALUE_BYTES) {
                out.push(std::mem::replace(&mut current, Batch { columns: group.columns.clone(), rows: Vec::new() }));
                bytes = 0;
            }
            bytes += size;
            current.rows.push(row);
        }
        if !current.rows.is_empty() {
            out.push(current);
        }
    }
    Ok(out)
}

/// The `MERGE` for one batch and its parameters:
///
/// ```sql
/// MERGE INTO `c`.`s`.`t` AS t
/// USING (SELECT * FROM VALUES (:p0, :p1), (:p2, :p3) AS v(k, c0)) AS s
/// ON t.`id` = s.k
/// WHEN MATCHED THEN UPDATE SET t.`answer` = s.c0
/// ```
///
/// The inline table's columns get generated names (`k`, `c0`, …), so only
/// the target's names come from the person, backquoted. No `WHEN NOT
/// MATCHED`: a key that is not in the table is never inserted.
fn merge_statement(target: &str, key: &str, batch: &Batch<'_>) -> Result<(String, Vec<Value>), Error> {
    let mut parameters = Vec::with_capacity(batch.rows.len() * (batch.columns.len() + 1));
    let mut tuples = Vec::with_capacity(batch.rows.len());
    let types = column_types(batch);
    for row in batch.rows.iter() {
        let mut markers = Vec::with_capacity(batch.columns.len() + 1);
        let mut push = |value: Option<String>, kind: &str| {
            let name = format!("p{}", parameters.len());
            markers.push(format!(":{name}"));
            let mut parameter = json!({ "name": name, "type": kind });
            if let Some(value) = value {
                parameter["value"] = Value::String(value);
            }
            parameters.push(parameter);
        };
        push(Some(row.key.clone()), "STRING");
        for (column, kind) in batch.columns.iter().zip(&types) {
            push(parameter_value(row.fields.get(*column).unwrap_or(&Value::Null)), kind);
        }
        tuples.push(format!("({})", markers.join(", ")));
    }
    let aliases: Vec<String> = (0..batch.columns.len()).map(|i| format!("c{i}")).collect();
    let mut sets = Vec::with_capacity(batch.columns.len());
    for (column, alias) in batch.columns.iter().zip(&aliases) {
        sets.push(format!("t.{} = s.{alias}", column_identifier(column)?));
    }
    let statement = format!(
        "MERGE INTO {target} AS t USING (SELECT * FROM VALUES {} AS v(k, {})) AS s ON t.{key} = s.k WHEN MATCHED THEN UPDATE SET {}",
        tuples.join(", "),
        aliases.join(", "),
        sets.join(", ")
    );
    Ok((statement, parameters))
}

/// A value as a parameter's text (`None`: SQL NULL). Lists and objects (tags, say) go as their JSON text.
fn parameter_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// One parameter type per column of a batch, so an inline table's column
/// never mixes types (which Databricks may refuse to unify): the values'
/// type when they agree (NULLs take it too), else STRING.
fn column_types(batch: &Batch<'_>) -> Vec<&'static str> {
    batch
        .columns
        .iter()
        .map(|column| {
            let mut kinds = batch
                .rows
                .iter()
                .filter_map(|row| row.fields.get(*column))
                .filter(|v| !v.is_null())
                .map(parameter_type);
            match kinds.next() {
                Some(first) if kinds.all(|kind| kind == first) => first,
                _ => "STRING",
            }
        })
        .collect()
}

fn parameter_type(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "BOOLEAN",
        Value::Number(n) if n.is_i64() || n.is_u64() => "BIGINT",
        Value::Number(_) => "DOUBLE",
        _ => "STRING",
    }
}

fn failed(batch: &Batch<'_>, reason: &str) -> Vec<FailedRow> {
    batch.rows.iter().map(|row| FailedRow { key: row.key.clone(), reason: reason.to_owned() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_backquoted_and_sql_is_refused() {
        assert_eq!(table_identifier("main.sales.people").unwrap(), "`main`.`sales`.`people`");
        assert_eq!(table_identifier("`my cat`.s.`we``ird`").unwrap(), "`my cat`.`s`.`we``ird`");
        for bad in [
            "main.sales.people; DROP TABLE x",
            "people WHERE 1=1",
            "a.b.c.d",
            "a..b",
            "",
            "`unclosed",
            "`a`b",
            "t--",
            "t'",
        ] {
            assert!(table_identifier(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn plain_http_is_refused_except_to_this_computer() {
        let table = |host: &str| Table {
            host: host.parse().unwrap(),
            warehouse_id: "abc123".into(),
            table: "a.b.c".into(),
            key_column: "id".into(),
        };
        let credential = || Credential(crate::Secret::new("dapi-test"));
        let err = Client::new(table("http://adb-1.example.net"), credential()).unwrap_err();
        assert!(err.to_string().contains("https://"), "{err}");
        assert!(Client::new(table("http://127.0.0.1:9"), credential()).is_ok());
        assert!(Client::new(table("https://adb-1.example.net"), credential()).is_ok());
    }

    #[test]
    fn json_array_text_is_typed_by_column_type() {
        assert_eq!(typed_value("INT", json!("42")), json!(42));
        assert_eq!(typed_value("LONG", json!("-9000000000")), json!(-9000000000i64));
        assert_eq!(typed_value("DOUBLE", json!("1.5")), json!(1.5));
        assert_eq!(typed_value("DECIMAL", json!("12.25")), json!(12.25));
        assert_eq!(typed_value("DECIMAL", json!("12345678901234567.89")), json!("12345678901234567.89"));
        assert_eq!(typed_value("BOOLEAN", json!("true")), json!(true));
        assert_eq!(typed_value("STRING", json!("42")), json!("42"));
        assert_eq!(typed_value("INT", json!("not a number")), json!("not a number"));
        assert_eq!(typed_value("INT", Value::Null), Value::Null);
        assert_eq!(typed_value("DATE", json!("2024-01-02")), json!("2024-01-02"));
    }

    fn row(key: &str, fields: Value) -> WriteRow {
        WriteRow { key: key.to_owned(), fields: fields.as_object().cloned().unwrap_or_default() }
    }

    #[test]
    fn batches_respect_the_parameter_cap_and_group_by_columns() {
        let rows: Vec<WriteRow> = (0..300).map(|i| row(&i.to_string(), json!({ "a": "x", "b": "y" }))).collect();
        let cut = batches(&rows, "id").unwrap();
        // 3 parameters per row: 85 rows fit under 256.
        assert!(cut.iter().all(|b| b.rows.len() * 3 <= MAX_PARAMETERS), "{:?}", cut.iter().map(|b| b.rows.len()));
        assert_eq!(cut.iter().map(|b| b.rows.len()).sum::<usize>(), 300);
        let mixed = [row("1", json!({ "a": 1 })), row("2", json!({ "b": 2 })), row("3", json!({ "a": 3 }))];
        let cut = batches(&mixed, "id").unwrap();
        assert_eq!(cut.len(), 2, "a row never sets a column it does not mention");
        assert_eq!(cut[0].rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["1", "3"]);
    }

    #[test]
    fn merge_sends_values_only_as_parameters() {
        let rows = [row("k'1", json!({ "answer": "'); DROP TABLE t; --", "score": 3 }))];
        let cut = batches(&rows, "id").unwrap();
        let (statement, parameters) = merge_statement("`c`.`s`.`t`", "`id`", &cut[0]).unwrap();
        assert!(!statement.contains("DROP") && !statement.contains("k'1"), "{statement}");
        assert_eq!(
            statement,
            "MERGE INTO `c`.`s`.`t` AS t USING (SELECT * FROM VALUES (:p0, :p1, :p2) AS v(k, c0, c1)) AS s ON t.`id` = s.k WHEN MATCHED THEN UPDATE SET t.`answer` = s.c0, t.`score` = s.c1"
        );
        assert_eq!(parameters[0], json!({ "name": "p0", "type": "STRING", "value": "k'1" }));
        assert_eq!(parameters[2], json!({ "name": "p2", "type": "BIGINT", "value": "3" }));

        let mixed = [row("1", json!({ "n": 1 })), row("2", json!({ "n": null })), row("3", json!({ "n": "x" }))];
        let cut = batches(&mixed, "id").unwrap();
        let (_, parameters) = merge_statement("`t`", "`id`", &cut[0]).unwrap();
        let types: Vec<&str> = parameters.iter().skip(1).step_by(2).map(|p| p["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["STRING"; 3], "mixed values share STRING");
        let numbers = [row("1", json!({ "n": 1 })), row("2", json!({ "n": null }))];
        let (_, parameters) = merge_statement("`t`", "`id`", &batches(&numbers, "id").unwrap()[0]).unwrap();
        assert_eq!(parameters[3], json!({ "name": "p3", "type": "BIGINT" }), "a NULL takes its column's type");
    }
}
