//! A fake NocoDB speaking REST API v2 as its documentation describes it:
//!
//! - `GET /api/v2/tables/{tableId}/records?offset=&limit=&viewId=` answers
//!   `{list, pageInfo: {totalRows, page, pageSize, isFirstPage, isLastPage}}`,
//!   `limit` defaulting to 25 and capped at the server's maximum (1000 unless
//!   set), every column present (`null` when empty);
//! - `PATCH /api/v2/tables/{tableId}/records` updates by primary key, the whole
//!   array or nothing: an unknown column is refused (422), an unknown key is 404;
//! - `GET /api/v2/meta/tables/{tableId}` describes the columns (`title`, `uidt`, `pk`);
//! - `POST /api/v2/meta/tables/{tableId}/columns` adds one (`{title, column_name, uidt}`);
//! - `xc-token` (API token) or `xc-auth` (session) checked on every request: 401 otherwise.
//!
//! Tests can set a rate limit (429 with `Retry-After`), make the nth write
//! request fail, or refuse every batch holding certain keys, and read back
//! every request received ([`FakeNocodb::requests`]).

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::Served;
use crate::recorder::{RateLimit, Reply, Request, Script};

/// NocoDB's default `DB_QUERY_LIMIT_MAX`.
pub const DEFAULT_MAX_PAGE_SIZE: usize = 1000;
/// NocoDB's default `limit` when none is sent.
const DEFAULT_LIMIT: usize = 25;

/// A column as the meta API describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub title: String,
    /// NocoDB's UI data type (`ID`, `SingleLineText`, `Number`, `Decimal`, `Checkbox`, `LongText`…).
    pub uidt: String,
    pub pk: bool,
}

impl Column {
    pub fn new(title: &str, uidt: &str) -> Column {
        Column { title: title.to_owned(), uidt: uidt.to_owned(), pk: false }
    }
}

/// One table: its columns and rows, found by primary key.
#[derive(Debug, Clone)]
pub struct Table {
    pub id: String,
    columns: Vec<Column>,
    rows: Vec<Map<String, Value>>,
    by_key: HashMap<String, usize>,
}

impl Table {
    /// An empty table whose primary key is `Id` (type `ID`), then `columns`.
    pub fn new(id: &str, columns: Vec<Column>) -> Table {
        let mut all = vec![Column { title: "Id".into(), uidt: "ID".into(), pk: true }];
        all.extend(columns);
        Table { id: id.to_owned(), columns: all, rows: Vec::new(), by_key: HashMap::new() }
    }

    /// `rows` rows of mixed types, `Id` 1..=rows: `Title` text, `Count` an
    /// integer, `Price` a decimal, `Done` a checkbox, `Notes` long text empty
    /// (null) on every third row.
    pub fn mixed(id: &str, rows: usize) -> Table {
        let mut table = Table::new(
            id,
            vec![
                Column::new("Title", "SingleLineText"),
                Column::new("Count", "Number"),
                Column::new("Price", "Decimal"),
                Column::new("Done", "Checkbox"),
                Column::new("Notes", "LongText"),
            ],
        );
        for i in 1..=rows {
            let notes = if i % 3 == 0 { Value::Null } else { json!(format!("note {i}")) };
            table.push(json!({
                "Id": i, "Title": format!("Row {i}"), "Count": i * 3, "Price": i as f64 + 0.5,
                "Done": i % 2 == 0, "Notes": notes,
            }));
        }
        table
    }

    /// Adds a row (an object holding its primary key).
    pub fn push(&mut self, row: Value) {
        let Value::Object(row) = row else { return };
        if let Some(key) = row.get(self.pk()).and_then(key_text) {
            self.by_key.insert(key, self.rows.len());
            self.rows.push(row);
        }
    }

    fn pk(&self) -> &str {
        self.columns.iter().find(|c| c.pk).map_or("Id", |c| c.title.as_str())
    }

    /// A row with every column, in column order, `null` where empty.
    fn full_row(&self, row: &Map<String, Value>) -> Value {
        Value::Object(
            self.columns.iter().map(|c| (c.title.clone(), row.get(&c.title).cloned().unwrap_or(Value::Null))).collect(),
        )
    }
}

/// The text form of a key, however it was sent (`5` or `"5"`).
fn key_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Debug)]
struct State {
    token: String,
    session: Option<String>,
    tables: BTreeMap<String, Table>,
    max_page_size: usize,
    rate_limit: Option<RateLimit>,
    script: Script,
    log: Vec<Request>,
}

/// The fake server's state; clones share it, so a test keeps one to script
/// failures and read what was received while the server runs.
#[derive(Debug, Clone)]
pub struct FakeNocodb {
    state: Arc<Mutex<State>>,
}

impl FakeNocodb {
    /// A server accepting `token` in `xc-token`, with no tables yet.
    pub fn new(token: &str) -> FakeNocodb {
        FakeNocodb {
            state: Arc::new(Mutex::new(State {
                token: token.to_owned(),
                session: None,
                tables: BTreeMap::new(),
                max_page_size: DEFAULT_MAX_PAGE_SIZE,
                rate_limit: None,
                script: Script::default(),
                log: Vec::new(),
            })),
        }
    }

    /// Also accepts `jwt` in `xc-auth` (a signed-in session).
    pub fn with_session(self, jwt: &str) -> FakeNocodb {
        self.lock().session = Some(jwt.to_owned());
        self
    }

    pub fn with_table(self, table: Table) -> FakeNocodb {
        self.lock().tables.insert(table.id.clone(), table);
        self
    }

    /// The largest `limit` honoured (a self-hosted server's `DB_QUERY_LIMIT_MAX`).
    pub fn with_max_page_size(self, rows: usize) -> FakeNocodb {
        self.lock().max_page_size = rows.max(1);
        self
    }

    /// At most `per_second` requests a second; past it, 429 with `Retry-After: retry_after`.
    pub fn with_rate_limit(self, per_second: NonZeroU32, retry_after: Duration) -> FakeNocodb {
        self.lock().rate_limit = Some(RateLimit::new(per_second, retry_after));
        self
    }

    /// The nth write request (1-based, counting those past auth and rate limit)
    /// fails with `status`, changing nothing.
    pub fn fail_write(&self, nth: usize, status: u16) {
        self.lock().script.fail_write(nth, status);
    }

    /// Every write request holding one of `keys` is refused whole (422).
    pub fn fail_keys<K: Into<String>>(&self, keys: impl IntoIterator<Item = K>) {
        self.lock().script.failing_keys.extend(keys.into_iter().map(Into::into));
    }

    /// No more scripted failures.
    pub fn clear_failures(&self) {
        self.lock().script = Script::default();
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.lock().log.clone()
    }

    /// The rows of `table_id` as stored (absent columns absent).
    pub fn rows(&self, table_id: &str) -> Vec<Map<String, Value>> {
        self.lock().tables.get(table_id).map(|t| t.rows.clone()).unwrap_or_default()
    }

    pub fn columns(&self, table_id: &str) -> Vec<Column> {
        self.lock().tables.get(table_id).map(|t| t.columns.clone()).unwrap_or_default()
    }

    /// Serves the fake on a loopback port.
    pub async fn serve(&self) -> std::io::Result<Served> {
        crate::serve(self.router()).await
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/v2/tables/{table_id}/records", get(list_records).patch(update_records))
            .route("/api/v2/meta/tables/{table_id}", get(table_meta))
            .route("/api/v2/meta/tables/{table_id}/columns", post(create_column))
            .with_state(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Rate limit, then credential, then `handle`; the request is logged with its answer.
    fn answer(&self, route: &'static str, headers: &HeaderMap, handle: impl FnOnce(&mut State) -> Reply) -> Reply {
        let mut state = self.lock();
        let reply = match state.gate(headers) {
            Some(refusal) => refusal,
            None => handle(&mut state),
        };
        state.log.push(Request { route, at: Instant::now(), status: reply.status.as_u16(), rows: reply.rows });
        reply
    }
}

impl State {
    fn gate(&self, headers: &HeaderMap) -> Option<Reply> {
        if let Some(wait) = self.rate_limit.as_ref().and_then(RateLimit::check) {
            let mut reply = Reply::error(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"error": "TOO_MANY_REQUESTS", "message": "Too many requests, please try again later"}),
            );
            reply.retry_after = Some(wait);
            return Some(reply);
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let token_ok = header("xc-token") == Some(self.token.as_str());
        let session_ok = self.session.as_deref().is_some_and(|s| header("xc-auth") == Some(s));
        if token_ok || session_ok {
            return None;
        }
        Some(Reply::error(
            StatusCode::UNAUTHORIZED,
            json!({"error": "AUTHENTICATION_REQUIRED", "message": "Authentication required - Invalid token"}),
        ))
    }

    fn table(&mut self, id: &str) -> Result<&mut Table, Reply> {
        self.tables.get_mut(id).ok_or_else(|| {
            Reply::error(
                StatusCode::NOT_FOUND,
                json!({"error": "TABLE_NOT_FOUND", "message": format!("Table '{id}' not found")}),
            )
        })
    }

    fn list(&mut self, id: &str, query: &HashMap<String, String>) -> Reply {
        let max = self.max_page_size;
        let table = match self.table(id) {
            Ok(t) => t,
            Err(reply) => return reply,
        };
        let number = |name: &str| query.get(name).map(|v| v.parse::<usize>());
        let (limit, offset) = match (number("limit"), number("offset")) {
            (Some(Err(_)), _) | (_, Some(Err(_))) => return bad_request("limit and offset must be whole numbers"),
            (limit, offset) => (
                limit.and_then(Result::ok).unwrap_or(DEFAULT_LIMIT).clamp(1, max),
                offset.and_then(Result::ok).unwrap_or(0),
            ),
        };
        let total = table.rows.len();
        let list: Vec<Value> = table.rows.iter().skip(offset).take(limit).map(|r| table.full_row(r)).collect();
        Reply::ok(json!({
            "list": list,
            "pageInfo": {
                "totalRows": total, "page": offset / limit + 1, "pageSize": limit,
                "isFirstPage": offset == 0, "isLastPage": offset + limit >= total,
            }
        }))
    }

    fn update(&mut self, id: &str, body: &[u8]) -> Reply {
        if let Err(reply) = self.table(id) {
            return reply;
        }
        let items = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) => items,
            Ok(item @ Value::Object(_)) => vec![item],
            _ => return bad_request("Invalid request body: expected an object or an array of objects"),
        };
        let rows = items.len();
        if let Some(status) = self.script.next_write() {
            return Reply::error(status, json!({"error": "SCRIPTED_FAILURE", "message": "Scripted failure"}))
                .rows(rows);
        }
        let failing_keys = std::mem::take(&mut self.script.failing_keys);
        let outcome = match self.table(id) {
            Ok(table) => apply_updates(table, &items, &failing_keys),
            Err(reply) => Err(reply),
        };
        self.script.failing_keys = failing_keys;
        match outcome {
            Ok(done) => Reply::ok(Value::Array(done)).rows(rows),
            Err(reply) => reply.rows(rows),
        }
    }

    fn meta(&mut self, id: &str) -> Reply {
        match self.table(id) {
            Ok(table) => Reply::ok(meta_of(table)),
            Err(reply) => reply,
        }
    }

    fn create_column(&mut self, id: &str, body: &[u8]) -> Reply {
        let table = match self.table(id) {
            Ok(t) => t,
            Err(reply) => return reply,
        };
        let Ok(body) = serde_json::from_slice::<Value>(body) else { return bad_request("Invalid request body") };
        let Some(title) = body.get("title").and_then(Value::as_str).filter(|t| !t.trim().is_empty()) else {
            return bad_request("Missing column title");
        };
        if body.get("column_name").and_then(Value::as_str).is_none_or(str::is_empty) {
            return bad_request("Missing column_name");
        }
        if table.columns.iter().any(|c| c.title == title) {
            return bad_request("Duplicate column alias");
        }
        let uidt = body.get("uidt").and_then(Value::as_str).unwrap_or("SingleLineText");
        table.columns.push(Column::new(title, uidt));
        Reply::ok(meta_of(table))
    }
}

/// Checks the whole batch, then applies it: NocoDB's bulk update is one transaction.
fn apply_updates(
    table: &mut Table,
    items: &[Value],
    failing_keys: &std::collections::HashSet<String>,
) -> Result<Vec<Value>, Reply> {
    let pk = table.pk().to_owned();
    let mut targets = Vec::with_capacity(items.len());
    for item in items {
        let Some(fields) = item.as_object() else { return Err(bad_request("Each record must be an object")) };
        let Some(key) = fields.get(&pk).and_then(key_text) else {
            return Err(bad_request(&format!("Primary key '{pk}' is required for update")));
        };
        if let Some(unknown) = fields.keys().find(|name| !table.columns.iter().any(|c| &c.title == *name)) {
            return Err(Reply::error(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": "FIELD_NOT_FOUND", "message": format!("Field '{unknown}' not found")}),
            ));
        }
        let Some(&index) = table.by_key.get(&key) else {
            return Err(Reply::error(
                StatusCode::NOT_FOUND,
                json!({"error": "RECORD_NOT_FOUND", "message": format!("Record '{key}' not found")}),
            ));
        };
        if failing_keys.contains(&key) {
            return Err(Reply::error(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": "INVALID_VALUE", "message": format!("Record '{key}' was refused (scripted)")}),
            ));
        }
        targets.push((index, fields));
    }
    let mut done = Vec::with_capacity(targets.len());
    for (index, fields) in targets {
        let row = &mut table.rows[index];
        for (name, value) in fields {
            if name != &pk {
                row.insert(name.clone(), value.clone());
            }
        }
        done.push(json!({ pk.clone(): row.get(&pk).cloned().unwrap_or(Value::Null) }));
    }
    Ok(done)
}

fn meta_of(table: &Table) -> Value {
    let columns: Vec<Value> = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"id": format!("c{i}"), "title": c.title, "column_name": c.title, "uidt": c.uidt, "pk": c.pk, "system": false})
        })
        .collect();
    json!({"id": table.id, "title": table.id, "table_name": table.id, "columns": columns})
}

fn bad_request(message: &str) -> Reply {
    Reply::error(StatusCode::BAD_REQUEST, json!({"error": "BAD_REQUEST", "message": message}))
}

async fn list_records(
    Extract(fake): Extract<FakeNocodb>,
    Path(table_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Reply {
    fake.answer("list", &headers, |state| state.list(&table_id, &query))
}

async fn update_records(
    Extract(fake): Extract<FakeNocodb>,
    Path(table_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    fake.answer("update", &headers, |state| state.update(&table_id, &body))
}

async fn table_meta(Extract(fake): Extract<FakeNocodb>, Path(table_id): Path<String>, headers: HeaderMap) -> Reply {
    fake.answer("meta", &headers, |state| state.meta(&table_id))
}

async fn create_column(
    Extract(fake): Extract<FakeNocodb>,
    Path(table_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    fake.answer("create_column", &headers, |state| state.create_column(&table_id, &body))
}
