//! A fake Airtable (one base) speaking the Web API as its documentation describes it:
//!
//! - `GET /v0/{baseId}/{tableIdOrName}?pageSize=&offset=&view=` answers
//!   `{records: [{id, createdTime, fields}], offset?}`, at most 100 records a
//!   page, the `offset` an opaque token, empty fields (null, "", false, [])
//!   left out of `fields` as Airtable does;
//! - `PATCH /v0/{baseId}/{tableIdOrName}` with `{records: [{id, fields}], typecast?}`:
//!   at most 10 records, all or nothing; an unknown field is 422
//!   `UNKNOWN_FIELD_NAME`, an unknown record 404;
//! - `GET /v0/meta/bases/{baseId}/tables` (tables with `fields` of `name`, `type`);
//! - `POST /v0/meta/bases/{baseId}/tables/{tableId}/fields` (`{name, type}`);
//! - `Authorization: Bearer <token>` checked: 401 without a valid one, 403 for
//!   another base (Airtable's `INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND`).
//!
//! Views are not modelled (`view` is accepted and ignored). Tests can set the
//! base's rate limit (429 `RATE_LIMIT_REACHED`, with or without
//! `Retry-After`), script write failures and read every request received.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use crate::Served;
use crate::recorder::{RateLimit, Reply, Request, Script};

/// Airtable's largest `pageSize`.
pub const MAX_PAGE_SIZE: usize = 100;
/// Airtable's most records per create/update request.
pub const MAX_WRITE_RECORDS: usize = 10;

const CREATED_TIME: &str = "2026-01-01T00:00:00.000Z";

/// A field as the schema describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub id: String,
    pub name: String,
    /// Airtable's type (`singleLineText`, `number`, `checkbox`, `multilineText`…).
    pub kind: String,
}

/// One record: its id and every field's value (empty ones are left out when listed).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub fields: Map<String, Value>,
}

/// One table of the base.
#[derive(Debug, Clone)]
pub struct Table {
    pub id: String,
    pub name: String,
    fields: Vec<Field>,
    records: Vec<Record>,
    by_id: HashMap<String, usize>,
}

impl Table {
    /// An empty table with these `(name, type)` fields, the first being primary.
    pub fn new(id: &str, name: &str, fields: &[(&str, &str)]) -> Table {
        Table {
            id: id.to_owned(),
            name: name.to_owned(),
            fields: fields
                .iter()
                .enumerate()
                .map(|(i, (name, kind))| Field {
                    id: format!("fld{i:014}"),
                    name: (*name).into(),
                    kind: (*kind).into(),
                })
                .collect(),
            records: Vec::new(),
            by_id: HashMap::new(),
        }
    }

    /// `rows` records of mixed types, ids `rec00000000000001`…: `Name` text,
    /// `Count` an integer, `Price` a decimal, `Done` a checkbox (unchecked on odd
    /// rows, so left out), `Notes` empty on every third row, `Reviewer` empty on all.
    pub fn mixed(id: &str, name: &str, rows: usize) -> Table {
        let mut table = Table::new(
            id,
            name,
            &[
                ("Name", "singleLineText"),
                ("Count", "number"),
                ("Price", "currency"),
                ("Done", "checkbox"),
                ("Notes", "multilineText"),
                ("Reviewer", "singleLineText"),
            ],
        );
        for i in 1..=rows {
            let notes = if i % 3 == 0 { Value::Null } else { json!(format!("note {i}")) };
            table.push(
                &record_id(i),
                json!({"Name": format!("Row {i}"), "Count": i * 3, "Price": i as f64 + 0.5, "Done": i % 2 == 0, "Notes": notes}),
            );
        }
        table
    }

    pub fn push(&mut self, id: &str, fields: Value) {
        let Value::Object(fields) = fields else { return };
        self.by_id.insert(id.to_owned(), self.records.len());
        self.records.push(Record { id: id.to_owned(), fields });
    }

    fn listed(&self, record: &Record) -> Value {
        let fields: Map<String, Value> =
            record.fields.iter().filter(|(_, v)| !is_empty(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
        json!({"id": record.id, "createdTime": CREATED_TIME, "fields": fields})
    }

    fn schema(&self) -> Value {
        let fields: Vec<Value> =
            self.fields.iter().map(|f| json!({"id": f.id, "name": f.name, "type": f.kind})).collect();
        json!({"id": self.id, "name": self.name, "primaryFieldId": self.fields.first().map(|f| f.id.clone()), "fields": fields, "views": []})
    }
}

/// The id of the `n`th seeded record.
pub fn record_id(n: usize) -> String {
    format!("rec{n:014}")
}

/// What Airtable leaves out of a record's `fields`.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[derive(Debug)]
struct State {
    token: String,
    base_id: String,
    tables: Vec<Table>,
    rate_limit: Option<RateLimit>,
    script: Script,
    log: Vec<Request>,
}

/// The fake server's state; clones share it.
#[derive(Debug, Clone)]
pub struct FakeAirtable {
    state: Arc<Mutex<State>>,
}

impl FakeAirtable {
    /// Base `base_id`, reachable with `token`, with no tables yet.
    pub fn new(base_id: &str, token: &str) -> FakeAirtable {
        FakeAirtable {
            state: Arc::new(Mutex::new(State {
                token: token.to_owned(),
                base_id: base_id.to_owned(),
                tables: Vec::new(),
                rate_limit: None,
                script: Script::default(),
                log: Vec::new(),
            })),
        }
    }

    pub fn with_table(self, table: Table) -> FakeAirtable {
        self.lock().tables.push(table);
        self
    }

    /// The base's limit: `per_second` requests a second; past it 429, with
    /// `Retry-After` when `retry_after` is set (Airtable documents a 30 s wait).
    pub fn with_rate_limit(self, per_second: NonZeroU32, retry_after: Option<Duration>) -> FakeAirtable {
        let mut limit = RateLimit::new(per_second, retry_after.unwrap_or_default());
        limit.send_retry_after = retry_after.is_some();
        self.lock().rate_limit = Some(limit);
        self
    }

    /// The nth update request (1-based, past auth and rate limit) fails with `status`, changing nothing.
    pub fn fail_write(&self, nth: usize, status: u16) {
        self.lock().script.fail_write(nth, status);
    }

    /// Every update request holding one of these record ids is refused whole (422).
    pub fn fail_keys<K: Into<String>>(&self, keys: impl IntoIterator<Item = K>) {
        self.lock().script.failing_keys.extend(keys.into_iter().map(Into::into));
    }

    pub fn clear_failures(&self) {
        self.lock().script = Script::default();
    }

    pub fn requests(&self) -> Vec<Request> {
        self.lock().log.clone()
    }

    /// The records of the table with this id or name, as stored.
    pub fn records(&self, table: &str) -> Vec<Record> {
        self.lock()
            .tables
            .iter()
            .find(|t| t.id == table || t.name == table)
            .map(|t| t.records.clone())
            .unwrap_or_default()
    }

    pub fn fields(&self, table: &str) -> Vec<Field> {
        self.lock()
            .tables
            .iter()
            .find(|t| t.id == table || t.name == table)
            .map(|t| t.fields.clone())
            .unwrap_or_default()
    }

    pub async fn serve(&self) -> std::io::Result<Served> {
        crate::serve(self.router()).await
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v0/meta/bases/{base_id}/tables", get(base_schema))
            .route("/v0/meta/bases/{base_id}/tables/{table_id}/fields", post(create_field))
            .route("/v0/{base_id}/{table}", get(list_records).patch(update_records))
            .with_state(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn answer(
        &self,
        route: &'static str,
        headers: &HeaderMap,
        base_id: &str,
        handle: impl FnOnce(&mut State) -> Reply,
    ) -> Reply {
        let mut state = self.lock();
        let reply = match state.gate(headers, base_id) {
            Some(refusal) => refusal,
            None => handle(&mut state),
        };
        state.log.push(Request { route, at: Instant::now(), status: reply.status.as_u16(), rows: reply.rows });
        reply
    }
}

fn error(status: StatusCode, kind: &str, message: &str) -> Reply {
    Reply::error(status, json!({"error": {"type": kind, "message": message}}))
}

impl State {
    fn gate(&self, headers: &HeaderMap, base_id: &str) -> Option<Reply> {
        if let Some(limit) = &self.rate_limit
            && let Some(wait) = limit.check()
        {
            let mut reply = Reply::error(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"errors": [{"error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later"}]}),
            );
            reply.retry_after = limit.send_retry_after.then_some(wait);
            return Some(reply);
        }
        let bearer =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if bearer != Some(self.token.as_str()) {
            return Some(error(StatusCode::UNAUTHORIZED, "AUTHENTICATION_REQUIRED", "Authentication required"));
        }
        if base_id != self.base_id {
            return Some(error(
                StatusCode::FORBIDDEN,
                "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
                "Invalid permissions, or the requested model was not found. Check that both your user and your token have the required permissions, and that the model names and/or ids are correct.",
            ));
        }
        None
    }

    fn table(&mut self, table: &str) -> Result<&mut Table, Reply> {
        let base = self.base_id.clone();
        self.tables.iter_mut().find(|t| t.id == table || t.name == table).ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                "TABLE_NOT_FOUND",
                &format!("Could not find table {table} in application {base}"),
            )
        })
    }

    fn list(&mut self, table: &str, query: &HashMap<String, String>) -> Reply {
        let table = match self.table(table) {
            Ok(t) => t,
            Err(reply) => return reply,
        };
        let page_size = match query.get("pageSize").map(|v| v.parse::<usize>()) {
            None => MAX_PAGE_SIZE,
            Some(Ok(n)) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            Some(_) => {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "INVALID_REQUEST_UNKNOWN",
                    "Invalid request: parameter validation failed. Check your request data.",
                );
            }
        };
        let start = match query.get("offset") {
            None => 0,
            Some(token) => match position_of(table, token) {
                Some(start) => start,
                None => {
                    return error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "LIST_RECORDS_ITERATOR_NOT_AVAILABLE",
                        "The offset is not valid",
                    );
                }
            },
        };
        let records: Vec<Value> = table.records.iter().skip(start).take(page_size).map(|r| table.listed(r)).collect();
        let end = start + records.len();
        let mut body = json!({"records": records});
        if let Some(next) = table.records.get(end) {
            body["offset"] = json!(format!("itr{end:08x}/{}", next.id));
        }
        Reply::ok(body)
    }

    fn update(&mut self, table: &str, body: &[u8]) -> Reply {
        if let Err(reply) = self.table(table) {
            return reply;
        }
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_REQUEST_UNKNOWN",
                "Invalid request: the body is not JSON",
            );
        };
        let Some(items) = body.get("records").and_then(Value::as_array).cloned() else {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_REQUEST_MISSING_FIELDS",
                "Could not find field \"records\" in the request body",
            );
        };
        let rows = items.len();
        if rows == 0 || rows > MAX_WRITE_RECORDS {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_RECORDS",
                "You must provide an array of up to 10 record objects, each with an \"id\" field and a \"fields\" object",
            )
            .rows(rows);
        }
        if let Some(status) = self.script.next_write() {
            return error(status, "SERVER_ERROR", "Scripted failure").rows(rows);
        }
        let failing = std::mem::take(&mut self.script.failing_keys);
        let outcome = match self.table(table) {
            Ok(t) => apply_updates(t, &items, &failing),
            Err(reply) => Err(reply),
        };
        self.script.failing_keys = failing;
        match outcome {
            Ok(records) => Reply::ok(json!({"records": records})).rows(rows),
            Err(reply) => reply.rows(rows),
        }
    }

    fn schema(&self) -> Reply {
        Reply::ok(json!({"tables": self.tables.iter().map(Table::schema).collect::<Vec<_>>()}))
    }

    fn create_field(&mut self, table_id: &str, body: &[u8]) -> Reply {
        let Some(table) = self.tables.iter_mut().find(|t| t.id == table_id) else {
            return error(StatusCode::NOT_FOUND, "TABLE_NOT_FOUND", &format!("Could not find table {table_id}"));
        };
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let name = body.get("name").and_then(Value::as_str).map(str::trim).unwrap_or_default();
        let Some(kind) = body.get("type").and_then(Value::as_str) else {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_REQUEST_MISSING_FIELDS",
                "Could not find field \"type\" in the request body",
            );
        };
        if name.is_empty() || table.fields.iter().any(|f| f.name.eq_ignore_ascii_case(name)) {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "DUPLICATE_OR_EMPTY_FIELD_NAME",
                "Field names must be unique and non-empty",
            );
        }
        let field =
            Field { id: format!("fld{:014}", table.fields.len()), name: name.to_owned(), kind: kind.to_owned() };
        table.fields.push(field.clone());
        Reply::ok(json!({"id": field.id, "name": field.name, "type": field.kind}))
    }
}

/// Where an offset token says the next page starts, if it is one this table issued.
fn position_of(table: &Table, token: &str) -> Option<usize> {
    let (position, id) = token.strip_prefix("itr")?.split_once('/')?;
    let position = usize::from_str_radix(position, 16).ok()?;
    (table.records.get(position)?.id == id).then_some(position)
}

/// Checks every record of the request, then applies them all.
fn apply_updates(table: &mut Table, items: &[Value], failing: &HashSet<String>) -> Result<Vec<Value>, Reply> {
    let mut targets = Vec::with_capacity(items.len());
    for item in items {
        let (Some(id), Some(fields)) =
            (item.get("id").and_then(Value::as_str), item.get("fields").and_then(Value::as_object))
        else {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_RECORDS",
                "Each record needs an \"id\" and a \"fields\" object",
            ));
        };
        if let Some(unknown) = fields.keys().find(|name| !table.fields.iter().any(|f| &f.name == *name)) {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "UNKNOWN_FIELD_NAME",
                &format!("Unknown field name: \"{unknown}\""),
            ));
        }
        let Some(&index) = table.by_id.get(id) else {
            return Err(error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                &format!("Record {id} does not exist in this table"),
            ));
        };
        if failing.contains(id) {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_VALUE_FOR_COLUMN",
                &format!("Record {id} was refused (scripted)"),
            ));
        }
        targets.push((index, fields));
    }
    let mut done = Vec::with_capacity(targets.len());
    for (index, fields) in targets {
        let record = &mut table.records[index];
        record.fields.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        done.push(table.listed(&table.records[index]));
    }
    Ok(done)
}

async fn base_schema(Extract(fake): Extract<FakeAirtable>, Path(base_id): Path<String>, headers: HeaderMap) -> Reply {
    fake.answer("schema", &headers, &base_id, |state| state.schema())
}

async fn create_field(
    Extract(fake): Extract<FakeAirtable>,
    Path((base_id, table_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    fake.answer("create_field", &headers, &base_id, |state| state.create_field(&table_id, &body))
}

async fn list_records(
    Extract(fake): Extract<FakeAirtable>,
    Path((base_id, table)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Reply {
    fake.answer("list", &headers, &base_id, |state| state.list(&table, &query))
}

async fn update_records(
    Extract(fake): Extract<FakeAirtable>,
    Path((base_id, table)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    fake.answer("update", &headers, &base_id, |state| state.update(&table, &body))
}
