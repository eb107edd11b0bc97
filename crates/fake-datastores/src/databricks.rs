//! A fake Databricks SQL warehouse behind the SQL Statement Execution API 2.0,
//! written from its public documentation: `POST /api/2.0/sql/statements`,
//! `GET /api/2.0/sql/statements/{id}`, `GET …/{id}/result/chunks/{n}` and
//! `POST …/{id}/cancel`, with a PAT in `Authorization: Bearer`.
//!
//! What it does like the real one: missing token → 401, wrong token → 403;
//! statements go `PENDING` → `RUNNING` → `SUCCEEDED` (or `FAILED` with
//! `status.error`) over [`Config::polls_until_done`] polls; results are
//! INLINE JSON_ARRAY (every value a string or null) in chunks of
//! [`Config::rows_per_chunk`] rows with `next_chunk_index` and
//! `next_chunk_internal_link`; past [`Config::requests_per_second`] (or after
//! [`FakeDatabricks::throttle_next`]) it answers 429 with `Retry-After`; and
//! [`FakeDatabricks::fail_merge`] makes the K-th `MERGE` end `FAILED`.
//!
//! What it honestly is not: a SQL engine. A small parser understands exactly
//! the statement shapes `datastores::databricks` sends, and every other
//! statement ends `FAILED` with `UNSUPPORTED_BY_FAKE` so a test notices a new
//! shape instead of passing by accident:
//!
//! - `SELECT * FROM <table> [LIMIT <n>]`
//! - `ALTER TABLE <table> ADD COLUMNS (<col> <type>, …)`
//! - `MERGE INTO <table> AS t USING (SELECT * FROM VALUES (:p, …), … AS v(a, …)) AS s
//!   ON t.<col> = s.<a> WHEN MATCHED THEN UPDATE SET t.<col> = s.<a>, …`
//!
//! Names are compared case-insensitively, identifiers may be backquoted,
//! values are only named parameters (`:p0`). Values are stored as the text the
//! API would return (types are names only; nothing is cast). Requests are
//! recorded for assertions ([`FakeDatabricks::requests`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::{Served, serve};

/// How the fake warehouse behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The PAT it accepts.
    pub token: String,
    pub warehouse_id: String,
    /// Status requests before a statement is final (0: final in the submit answer).
    pub polls_until_done: u32,
    pub rows_per_chunk: usize,
    /// Requests per one-second window before answering 429 (`None`: no limit).
    pub requests_per_second: Option<u32>,
    /// The `Retry-After` of a 429, in seconds.
    pub retry_after_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: "dapi-fake-0123456789abcdef".to_owned(),
            warehouse_id: "abc123def456".to_owned(),
            polls_until_done: 0,
            rows_per_chunk: 1000,
            requests_per_second: None,
            retry_after_secs: 1,
        }
    }
}

/// A table: columns (name, type) and rows of values as text (`None`: NULL).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FakeTable {
    pub columns: Vec<(String, String)>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl FakeTable {
    /// The values of column `name` (case-insensitive), row by row.
    pub fn column(&self, name: &str) -> Option<Vec<Option<String>>> {
        let index = self.columns.iter().position(|(c, _)| c.eq_ignore_ascii_case(name))?;
        Some(self.rows.iter().map(|row| row.get(index).cloned().flatten()).collect())
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: &'static str,
    pub path: String,
    /// The status the fake answered.
    pub status: u16,
    pub body: Option<Value>,
}

/// The fake warehouse; clones share one state.
#[derive(Debug, Clone)]
pub struct FakeDatabricks {
    config: Arc<Config>,
    state: Arc<Mutex<WarehouseState>>,
}

#[derive(Debug)]
struct WarehouseState {
    tables: BTreeMap<String, FakeTable>,
    statements: HashMap<String, Statement>,
    next_id: u64,
    requests: Vec<Recorded>,
    merges_seen: u32,
    failing_merges: BTreeSet<u32>,
    throttle_next: u32,
    window: (Instant, u32),
}

impl WarehouseState {
    fn new() -> Self {
        WarehouseState {
            tables: BTreeMap::new(),
            statements: HashMap::new(),
            next_id: 0,
            requests: Vec::new(),
            merges_seen: 0,
            failing_merges: BTreeSet::new(),
            throttle_next: 0,
            window: (Instant::now(), 0),
        }
    }
}

#[derive(Debug)]
struct Statement {
    polls_left: u32,
    outcome: Result<ResultSet, (&'static str, String)>,
    canceled: bool,
}

#[derive(Debug, Default)]
struct ResultSet {
    columns: Vec<(String, String)>,
    rows: Vec<Vec<Option<String>>>,
}

impl FakeDatabricks {
    pub fn new(config: Config) -> Self {
        FakeDatabricks { config: Arc::new(config), state: Arc::new(Mutex::new(WarehouseState::new())) }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Adds (or replaces) `name` (`catalog.schema.table`).
    pub fn add_table(&self, name: &str, columns: &[(&str, &str)], rows: Vec<Vec<Option<String>>>) {
        let table =
            FakeTable { columns: columns.iter().map(|(n, t)| ((*n).to_owned(), (*t).to_owned())).collect(), rows };
        self.lock().tables.insert(name.to_ascii_lowercase(), table);
    }

    /// The table as it is now.
    pub fn table(&self, name: &str) -> Option<FakeTable> {
        self.lock().tables.get(&name.to_ascii_lowercase()).cloned()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// The `k`-th `MERGE` received (counting from 1 since the start) ends `FAILED` and changes nothing.
    pub fn fail_merge(&self, k: u32) {
        self.lock().failing_merges.insert(k);
    }

    /// The next `n` requests are answered 429 with `Retry-After`.
    pub fn throttle_next(&self, n: u32) {
        self.lock().throttle_next = n;
    }

    /// Serves the fake on a loopback port.
    pub async fn start(&self) -> std::io::Result<Served> {
        serve(self.router()).await
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/2.0/sql/statements", post(submit))
            .route("/api/2.0/sql/statements/{id}", get(status))
            .route("/api/2.0/sql/statements/{id}/result/chunks/{chunk}", get(chunk))
            .route("/api/2.0/sql/statements/{id}/cancel", post(cancel))
            .with_state(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, WarehouseState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the request and answers the auth and rate-limit refusals the real API gives.
    fn admit(
        &self,
        method: &'static str,
        path: String,
        headers: &HeaderMap,
        body: Option<Value>,
    ) -> Result<(), Box<Response>> {
        let mut state = self.lock();
        let refusal = self.refusal(&mut state, headers);
        let status = refusal.as_ref().map_or(200, |r| r.status().as_u16());
        state.requests.push(Recorded { method, path, status, body });
        refusal.map_or(Ok(()), |r| Err(Box::new(r)))
    }

    fn refusal(&self, state: &mut WarehouseState, headers: &HeaderMap) -> Option<Response> {
        let bearer =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        match bearer {
            None => {
                return Some(api_error(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHENTICATED",
                    "Credential was not sent or was of an unsupported type for this API.",
                ));
            }
            Some(token) if token != self.config.token => {
                return Some(api_error(StatusCode::FORBIDDEN, "PERMISSION_DENIED", "Invalid access token."));
            }
            Some(_) => {}
        }
        let throttled = if state.throttle_next > 0 {
            state.throttle_next -= 1;
            true
        } else if let Some(limit) = self.config.requests_per_second {
            let now = Instant::now();
            if now.duration_since(state.window.0) >= Duration::from_secs(1) {
                state.window = (now, 0);
            }
            state.window.1 += 1;
            state.window.1 > limit
        } else {
            false
        };
        throttled.then(|| {
            let mut response = api_error(
                StatusCode::TOO_MANY_REQUESTS,
                "REQUEST_LIMIT_EXCEEDED",
                "Too many requests. Please wait a moment and try again.",
            );
            if let Ok(value) = self.config.retry_after_secs.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        })
    }
}

fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({ "error_code": code, "message": message }))).into_response()
}

async fn submit(State(fake): State<FakeDatabricks>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    if let Err(refused) = fake.admit("POST", "/api/2.0/sql/statements".to_owned(), &headers, parsed.clone()) {
        return *refused;
    }
    let Some(request) = parsed else {
        return api_error(StatusCode::BAD_REQUEST, "MALFORMED_REQUEST", "The request body is not JSON.");
    };
    if request["warehouse_id"].as_str() != Some(fake.config.warehouse_id.as_str()) {
        return api_error(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", "No warehouse with this id exists.");
    }
    let Some(statement) = request["statement"].as_str() else {
        return api_error(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", "`statement` is required.");
    };
    if let Some(problem) = unsupported_options(&request) {
        return api_error(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", &problem);
    }
    let parameters = match parameters(&request["parameters"]) {
        Ok(parameters) => parameters,
        Err(problem) => return api_error(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", &problem),
    };
    let mut state = fake.lock();
    let outcome = execute(&mut state, statement, &parameters);
    state.next_id += 1;
    let id = format!("01ef-fake-{:08}", state.next_id);
    state
        .statements
        .insert(id.clone(), Statement { polls_left: fake.config.polls_until_done, outcome, canceled: false });
    let answer = statement_json(&fake.config, &id, &state.statements[&id]);
    axum::Json(answer).into_response()
}

async fn status(State(fake): State<FakeDatabricks>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(refused) = fake.admit("GET", format!("/api/2.0/sql/statements/{id}"), &headers, None) {
        return *refused;
    }
    let mut state = fake.lock();
    let Some(statement) = state.statements.get_mut(&id) else {
        return api_error(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", "No statement with this id exists.");
    };
    statement.polls_left = statement.polls_left.saturating_sub(1);
    let answer = statement_json(&fake.config, &id, statement);
    axum::Json(answer).into_response()
}

async fn chunk(
    State(fake): State<FakeDatabricks>,
    headers: HeaderMap,
    Path((id, index)): Path<(String, usize)>,
) -> Response {
    if let Err(refused) =
        fake.admit("GET", format!("/api/2.0/sql/statements/{id}/result/chunks/{index}"), &headers, None)
    {
        return *refused;
    }
    let state = fake.lock();
    let Some(statement) = state.statements.get(&id) else {
        return api_error(StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", "No statement with this id exists.");
    };
    match (&statement.outcome, statement.polls_left, statement.canceled) {
        (Ok(result), 0, false) if index < chunk_count(&fake.config, result).max(1) => {
            axum::Json(chunk_json(&fake.config, &id, result, index)).into_response()
        }
        (Ok(_), 0, false) => api_error(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", "No such chunk."),
        _ => api_error(StatusCode::BAD_REQUEST, "INVALID_STATE", "The statement has no result to fetch."),
    }
}

async fn cancel(State(fake): State<FakeDatabricks>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(refused) = fake.admit("POST", format!("/api/2.0/sql/statements/{id}/cancel"), &headers, None) {
        return *refused;
    }
    if let Some(statement) = fake.lock().statements.get_mut(&id) {
        statement.canceled = true;
    }
    axum::Json(json!({})).into_response()
}

/// Only what the client uses is supported; say so rather than answer wrongly.
fn unsupported_options(request: &Value) -> Option<String> {
    if !matches!(request["disposition"].as_str(), None | Some("INLINE")) {
        return Some("the fake serves only disposition INLINE".to_owned());
    }
    if !matches!(request["format"].as_str(), None | Some("JSON_ARRAY")) {
        return Some("INLINE results support only format JSON_ARRAY".to_owned());
    }
    if let Some(wait) = request["wait_timeout"].as_str() {
        let seconds = wait.strip_suffix('s').and_then(|s| s.parse::<u32>().ok());
        if !matches!(seconds, Some(0) | Some(5..=50)) {
            return Some("wait_timeout must be 0s or between 5s and 50s".to_owned());
        }
    }
    None
}

/// `parameters: [{ name, value?, type? }]`; no value is NULL.
fn parameters(list: &Value) -> Result<HashMap<String, Option<String>>, String> {
    let mut out = HashMap::new();
    let Some(items) = list.as_array() else {
        return if list.is_null() { Ok(out) } else { Err("`parameters` must be a list".to_owned()) };
    };
    for item in items {
        let name = item["name"].as_str().ok_or("every parameter needs a `name`")?;
        let value = match &item["value"] {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            _ => return Err(format!("parameter `{name}`: `value` must be a string")),
        };
        out.insert(name.to_owned(), value);
    }
    Ok(out)
}

fn chunk_count(config: &Config, result: &ResultSet) -> usize {
    result.rows.len().div_ceil(config.rows_per_chunk.max(1))
}

fn statement_json(config: &Config, id: &str, statement: &Statement) -> Value {
    if statement.canceled {
        return json!({ "statement_id": id, "status": { "state": "CANCELED" } });
    }
    if statement.polls_left > 0 {
        let state = if statement.polls_left == config.polls_until_done { "PENDING" } else { "RUNNING" };
        return json!({ "statement_id": id, "status": { "state": state } });
    }
    match &statement.outcome {
        Err((code, message)) => json!({
            "statement_id": id,
            "status": { "state": "FAILED", "error": { "error_code": code, "message": message } },
        }),
        Ok(result) => {
            let chunks = chunk_count(config, result);
            let per = config.rows_per_chunk.max(1);
            let columns: Vec<Value> = result
                .columns
                .iter()
                .enumerate()
                .map(|(position, (name, ty))| {
                    json!({ "name": name, "type_name": type_name(ty), "type_text": ty, "position": position })
                })
                .collect();
            let chunk_list: Vec<Value> = (0..chunks)
                .map(|i| {
                    let rows = per.min(result.rows.len() - i * per);
                    json!({ "chunk_index": i, "row_offset": i * per, "row_count": rows })
                })
                .collect();
            json!({
                "statement_id": id,
                "status": { "state": "SUCCEEDED" },
                "manifest": {
                    "format": "JSON_ARRAY",
                    "schema": { "column_count": columns.len(), "columns": columns },
                    "total_chunk_count": chunks,
                    "chunks": chunk_list,
                    "total_row_count": result.rows.len(),
                    "truncated": false,
                },
                "result": chunk_json(config, id, result, 0),
            })
        }
    }
}

fn chunk_json(config: &Config, id: &str, result: &ResultSet, index: usize) -> Value {
    let per = config.rows_per_chunk.max(1);
    let start = (index * per).min(result.rows.len());
    let end = (start + per).min(result.rows.len());
    let mut chunk = json!({ "chunk_index": index, "row_offset": start, "row_count": end - start });
    if end > start {
        chunk["data_array"] = json!(result.rows[start..end]);
    }
    if end < result.rows.len() {
        chunk["next_chunk_index"] = json!(index + 1);
        chunk["next_chunk_internal_link"] = json!(format!("/api/2.0/sql/statements/{id}/result/chunks/{}", index + 1));
    }
    chunk
}

/// The `type_name` enum value for a type as written (`BIGINT` → `LONG`, `DECIMAL(10,2)` → `DECIMAL`).
fn type_name(ty: &str) -> String {
    let base = ty.split('(').next().unwrap_or("").trim().to_ascii_uppercase();
    match base.as_str() {
        "BIGINT" => "LONG".to_owned(),
        "SMALLINT" => "SHORT".to_owned(),
        "TINYINT" => "BYTE".to_owned(),
        "INTEGER" => "INT".to_owned(),
        _ => base,
    }
}

type Outcome = Result<ResultSet, (&'static str, String)>;

fn unsupported(what: &str) -> (&'static str, String) {
    (
        "UNSUPPORTED_BY_FAKE",
        format!(
            "the fake warehouse does not run this statement ({what}); it runs only the shapes its module documents"
        ),
    )
}

/// Runs one statement against the tables.
fn execute(state: &mut WarehouseState, statement: &str, parameters: &HashMap<String, Option<String>>) -> Outcome {
    let tokens = lex(statement).map_err(|e| unsupported(&e))?;
    let mut p = Parser { tokens, at: 0 };
    let first = p.word().map_err(|e| unsupported(&e))?.to_ascii_uppercase();
    match first.as_str() {
        "SELECT" => select(state, &mut p),
        "ALTER" => alter(state, &mut p),
        "MERGE" => {
            state.merges_seen += 1;
            if state.failing_merges.contains(&state.merges_seen) {
                return Err((
                    "INTERNAL_ERROR",
                    format!("[DELTA_CONCURRENT_APPEND] scripted failure of MERGE number {}", state.merges_seen),
                ));
            }
            merge(state, &mut p, parameters)
        }
        other => Err(unsupported(&format!("a statement starting with {other}"))),
    }
}

fn table_mut<'a>(state: &'a mut WarehouseState, name: &[String]) -> Result<&'a mut FakeTable, (&'static str, String)> {
    let key = name.join(".").to_ascii_lowercase();
    state.tables.get_mut(&key).ok_or_else(|| {
        (
            "TABLE_OR_VIEW_NOT_FOUND",
            format!("[TABLE_OR_VIEW_NOT_FOUND] The table or view `{}` cannot be found.", name.join("`.`")),
        )
    })
}

fn column_index(table: &FakeTable, name: &str) -> Result<usize, (&'static str, String)> {
    table.columns.iter().position(|(c, _)| c.eq_ignore_ascii_case(name)).ok_or_else(|| {
        ("UNRESOLVED_COLUMN", format!("[UNRESOLVED_COLUMN] A column with name `{name}` cannot be resolved."))
    })
}

/// `SELECT * FROM t [LIMIT n]`
fn select(state: &mut WarehouseState, p: &mut Parser) -> Outcome {
    let syntax = |e: String| unsupported(&e);
    p.symbol('*').map_err(syntax)?;
    p.keyword("FROM").map_err(syntax)?;
    let name = p.table_name().map_err(syntax)?;
    let limit = if p.peek_keyword("LIMIT") {
        p.keyword("LIMIT").map_err(syntax)?;
        Some(p.number().map_err(syntax)?)
    } else {
        None
    };
    p.end().map_err(syntax)?;
    let table = table_mut(state, &name)?;
    let rows = table.rows.iter().take(limit.unwrap_or(usize::MAX)).cloned().collect();
    Ok(ResultSet { columns: table.columns.clone(), rows })
}

/// `ALTER TABLE t ADD COLUMNS (c TYPE, …)`
fn alter(state: &mut WarehouseState, p: &mut Parser) -> Outcome {
    let syntax = |e: String| unsupported(&e);
    p.keyword("TABLE").map_err(syntax)?;
    let name = p.table_name().map_err(syntax)?;
    p.keyword("ADD").map_err(syntax)?;
    p.keyword("COLUMNS").map_err(syntax)?;
    p.symbol('(').map_err(syntax)?;
    let mut added = Vec::new();
    loop {
        let column = p.identifier().map_err(syntax)?;
        let ty = p.word().map_err(syntax)?;
        added.push((column, ty.to_ascii_uppercase()));
        if !p.next_symbol_is(',') {
            break;
        }
        p.symbol(',').map_err(syntax)?;
    }
    p.symbol(')').map_err(syntax)?;
    p.end().map_err(syntax)?;
    let table = table_mut(state, &name)?;
    for (column, _) in &added {
        if column_index(table, column).is_ok() {
            return Err((
                "FIELDS_ALREADY_EXISTS",
                format!("[FIELDS_ALREADY_EXISTS] Cannot add column `{column}`: it already exists."),
            ));
        }
    }
    for (column, ty) in added {
        table.columns.push((column, ty));
        for row in &mut table.rows {
            row.push(None);
        }
    }
    Ok(ResultSet::default())
}

/// The client's `MERGE … WHEN MATCHED THEN UPDATE SET …` (see the module docs).
fn merge(state: &mut WarehouseState, p: &mut Parser, parameters: &HashMap<String, Option<String>>) -> Outcome {
    let syntax = |e: String| unsupported(&e);
    p.keyword("INTO").map_err(syntax)?;
    let name = p.table_name().map_err(syntax)?;
    p.keyword("AS").map_err(syntax)?;
    let target_alias = p.identifier().map_err(syntax)?;
    p.keyword("USING").map_err(syntax)?;
    p.symbol('(').map_err(syntax)?;
    p.keyword("SELECT").map_err(syntax)?;
    p.symbol('*').map_err(syntax)?;
    p.keyword("FROM").map_err(syntax)?;
    p.keyword("VALUES").map_err(syntax)?;
    let mut tuples: Vec<Vec<Option<String>>> = Vec::new();
    loop {
        p.symbol('(').map_err(syntax)?;
        let mut values = Vec::new();
        loop {
            let marker = p.parameter().map_err(syntax)?;
            let value = parameters.get(&marker).ok_or_else(|| {
                ("UNBOUND_SQL_PARAMETER", format!("[UNBOUND_SQL_PARAMETER] Found the unbound parameter: {marker}."))
            })?;
            values.push(value.clone());
            if !p.next_symbol_is(',') {
                break;
            }
            p.symbol(',').map_err(syntax)?;
        }
        p.symbol(')').map_err(syntax)?;
        tuples.push(values);
        if !p.next_symbol_is(',') {
            break;
        }
        p.symbol(',').map_err(syntax)?;
    }
    p.keyword("AS").map_err(syntax)?;
    p.identifier().map_err(syntax)?;
    p.symbol('(').map_err(syntax)?;
    let mut aliases = Vec::new();
    loop {
        aliases.push(p.identifier().map_err(syntax)?);
        if !p.next_symbol_is(',') {
            break;
        }
        p.symbol(',').map_err(syntax)?;
    }
    p.symbol(')').map_err(syntax)?;
    p.symbol(')').map_err(syntax)?;
    p.keyword("AS").map_err(syntax)?;
    let source_alias = p.identifier().map_err(syntax)?;
    p.keyword("ON").map_err(syntax)?;
    let (target_key, source_key) = p.assignment(&target_alias, &source_alias).map_err(syntax)?;
    for word in ["WHEN", "MATCHED", "THEN", "UPDATE", "SET"] {
        p.keyword(word).map_err(syntax)?;
    }
    let mut sets = Vec::new();
    loop {
        sets.push(p.assignment(&target_alias, &source_alias).map_err(syntax)?);
        if !p.next_symbol_is(',') {
            break;
        }
        p.symbol(',').map_err(syntax)?;
    }
    p.end().map_err(syntax)?;

    if tuples.iter().any(|t| t.len() != aliases.len()) {
        return Err((
            "INVALID_INLINE_TABLE",
            "[INVALID_INLINE_TABLE] rows of the inline table differ in length".to_owned(),
        ));
    }
    let source_column = |name: &str| {
        aliases.iter().position(|a| a.eq_ignore_ascii_case(name)).ok_or_else(|| {
            ("UNRESOLVED_COLUMN", format!("[UNRESOLVED_COLUMN] A column with name `{name}` cannot be resolved."))
        })
    };
    let source_key = source_column(&source_key)?;
    let updates: Vec<(String, usize)> =
        sets.iter().map(|(t, s)| source_column(s).map(|s| (t.clone(), s))).collect::<Result<_, _>>()?;
    let table = table_mut(state, &name)?;
    let key_index = column_index(table, &target_key)?;
    let updates: Vec<(usize, usize)> =
        updates.iter().map(|(t, s)| column_index(table, t).map(|t| (t, *s))).collect::<Result<_, _>>()?;
    // Databricks refuses a MERGE where two source rows match one target row.
    let mut seen = BTreeSet::new();
    for tuple in &tuples {
        if !seen.insert(tuple[source_key].clone()) {
            return Err((
                "DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE",
                "[DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE] Cannot perform Merge as multiple source rows matched and attempted to modify the same target row".to_owned(),
            ));
        }
    }
    let mut updated = 0u64;
    for row in &mut table.rows {
        let Some(tuple) = tuples.iter().find(|t| t[source_key].is_some() && t[source_key] == row[key_index]) else {
            continue;
        };
        for (target, source) in &updates {
            row[*target] = tuple[*source].clone();
        }
        updated += 1;
    }
    let count = |n: u64| Some(n.to_string());
    Ok(ResultSet {
        columns: ["num_affected_rows", "num_updated_rows", "num_deleted_rows", "num_inserted_rows"]
            .iter()
            .map(|c| ((*c).to_owned(), "BIGINT".to_owned()))
            .collect(),
        rows: vec![vec![count(updated), count(updated), count(0), count(0)]],
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A bare word: keyword or identifier.
    Word(String),
    /// A backquoted identifier, unescaped.
    Quoted(String),
    /// `:name`
    Parameter(String),
    Symbol(char),
}

/// Hand-written: the fake needs to recognise four statement shapes, not SQL.
fn lex(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '`' {
            chars.next();
            let mut name = String::new();
            loop {
                match chars.next() {
                    Some('`') if chars.peek() == Some(&'`') => {
                        chars.next();
                        name.push('`');
                    }
                    Some('`') => break,
                    Some(other) => name.push(other),
                    None => return Err("an unclosed backquote".to_owned()),
                }
            }
            tokens.push(Token::Quoted(name));
        } else if c == ':' {
            chars.next();
            let mut name = String::new();
            while let Some(&n) = chars.peek().filter(|n| n.is_ascii_alphanumeric() || **n == '_') {
                name.push(n);
                chars.next();
            }
            if name.is_empty() {
                return Err("a `:` without a parameter name".to_owned());
            }
            tokens.push(Token::Parameter(name));
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let mut word = String::new();
            while let Some(&n) = chars.peek().filter(|n| n.is_ascii_alphanumeric() || **n == '_') {
                word.push(n);
                chars.next();
            }
            tokens.push(Token::Word(word));
        } else if "(),.=*".contains(c) {
            chars.next();
            tokens.push(Token::Symbol(c));
        } else {
            return Err(format!("the character {c:?}"));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn word(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Word(word)) => Ok(word),
            other => Err(format!("expected a word, found {other:?}")),
        }
    }

    fn keyword(&mut self, keyword: &str) -> Result<(), String> {
        match self.next() {
            Some(Token::Word(word)) if word.eq_ignore_ascii_case(keyword) => Ok(()),
            other => Err(format!("expected {keyword}, found {other:?}")),
        }
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn symbol(&mut self, symbol: char) -> Result<(), String> {
        match self.next() {
            Some(Token::Symbol(s)) if s == symbol => Ok(()),
            other => Err(format!("expected `{symbol}`, found {other:?}")),
        }
    }

    fn next_symbol_is(&self, symbol: char) -> bool {
        self.tokens.get(self.at) == Some(&Token::Symbol(symbol))
    }

    fn identifier(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Word(name) | Token::Quoted(name)) => Ok(name),
            other => Err(format!("expected a name, found {other:?}")),
        }
    }

    fn parameter(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Parameter(name)) => Ok(name),
            other => Err(format!("expected a :parameter (values are never inlined), found {other:?}")),
        }
    }

    fn number(&mut self) -> Result<usize, String> {
        let word = self.word()?;
        word.parse().map_err(|_| format!("expected a number, found {word}"))
    }

    fn table_name(&mut self) -> Result<Vec<String>, String> {
        let mut parts = vec![self.identifier()?];
        while self.next_symbol_is('.') {
            self.symbol('.')?;
            parts.push(self.identifier()?);
        }
        if parts.len() > 3 {
            return Err("a table name of more than three parts".to_owned());
        }
        Ok(parts)
    }

    /// `<target>.<col> = <source>.<col>`: the two column names.
    fn assignment(&mut self, target: &str, source: &str) -> Result<(String, String), String> {
        let left = self.qualified(target)?;
        self.symbol('=')?;
        let right = self.qualified(source)?;
        Ok((left, right))
    }

    fn qualified(&mut self, alias: &str) -> Result<String, String> {
        let qualifier = self.identifier()?;
        if !qualifier.eq_ignore_ascii_case(alias) {
            return Err(format!("expected {alias}.<column>, found {qualifier}"));
        }
        self.symbol('.')?;
        self.identifier()
    }

    fn end(&mut self) -> Result<(), String> {
        match self.next() {
            None => Ok(()),
            Some(extra) => Err(format!("unexpected {extra:?} after the statement")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with_people() -> WarehouseState {
        let fake = FakeDatabricks::new(Config::default());
        fake.add_table(
            "main.crm.people",
            &[("id", "BIGINT"), ("name", "STRING")],
            vec![vec![Some("1".into()), Some("Ada".into())], vec![Some("2".into()), Some("Lin".into())]],
        );
        std::mem::replace(&mut *fake.lock(), WarehouseState::new())
    }

    #[test]
    fn runs_the_documented_shapes_and_refuses_others() {
        let mut state = state_with_people();
        let none = HashMap::new();
        let all = execute(&mut state, "SELECT * FROM `main`.`crm`.`people`", &none).unwrap();
        assert_eq!(all.rows.len(), 2);
        let empty = execute(&mut state, "select * from main.crm.people limit 0", &none).unwrap();
        assert_eq!((empty.rows.len(), empty.columns.len()), (0, 2));
        execute(&mut state, "ALTER TABLE main.crm.people ADD COLUMNS (`the answer` STRING)", &none).unwrap();
        let parameters: HashMap<String, Option<String>> =
            [("p0".to_owned(), Some("2".to_owned())), ("p1".to_owned(), Some("yes".to_owned()))].into();
        let merged = execute(
            &mut state,
            "MERGE INTO main.crm.people AS t USING (SELECT * FROM VALUES (:p0, :p1) AS v(k, c0)) AS s ON t.`id` = s.k WHEN MATCHED THEN UPDATE SET t.`the answer` = s.c0",
            &parameters,
        )
        .unwrap();
        assert_eq!(merged.rows[0][1].as_deref(), Some("1"));
        assert_eq!(state.tables["main.crm.people"].column("the answer").unwrap(), [None, Some("yes".into())]);
        for refused in [
            "DELETE FROM main.crm.people",
            "SELECT * FROM main.crm.people; DROP TABLE x",
            "SELECT * FROM main.crm.people WHERE name = 'x'",
            "SELECT name FROM main.crm.people",
        ] {
            let (code, _) = execute(&mut state, refused, &none).unwrap_err();
            assert_eq!(code, "UNSUPPORTED_BY_FAKE", "{refused}");
        }
    }
}
