//! NocoDB, REST API v2.
//!
//! - rows: `GET /api/v2/tables/{tableId}/records?offset=&limit=&viewId=`, answered
//!   `{list, pageInfo: {totalRows, page, pageSize, isFirstPage, isLastPage}}`;
//!   the next page starts at `offset` + the rows received (the server may
//!   apply a smaller `pageSize` than the `limit` asked);
//! - columns: `GET /api/v2/meta/tables/{tableId}` (`columns[]` with `title`,
//!   `uidt`, `pk`); the primary key is each row's key;
//! - write-back: `PATCH /api/v2/tables/{tableId}/records` with an array of
//!   `{<pk>: key, <column>: value…}` (an update by primary key, so a re-run
//!   updates the same rows), columns created with
//!   `POST /api/v2/meta/tables/{tableId}/columns`;
//! - the credential in `xc-token` (API token) or `xc-auth` (session).

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;

use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;
use url::Url;

use crate::pacing::Pacer;
use crate::rest::{
    ROW_OF_BATCH, columns_to_create, endpoint, http_client, read_json, secret_header, shared_pacer, write_in_batches,
};
use crate::{Credential, Error, Page, PageToken, SourceColumn, SourceRow, WriteReport, WriteRow};

/// Which header the credential goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    /// An API token: `xc-token`.
    #[default]
    XcToken,
    /// A session (JWT) from signing in: `xc-auth`.
    XcAuth,
}

impl TokenKind {
    fn header(self) -> &'static str {
        match self {
            TokenKind::XcToken => "xc-token",
            TokenKind::XcAuth => "xc-auth",
        }
    }
}

/// One NocoDB table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// The server, e.g. `https://app.nocodb.com`.
    pub base_url: Url,
    pub table_id: String,
    #[serde(default)]
    pub view_id: Option<String>,
    #[serde(default)]
    pub token_kind: TokenKind,
    /// The primary key column; `None`: the table's primary key from the meta API (else `Id`).
    #[serde(default)]
    pub key_column: Option<String>,
}

/// NocoDB's documented API rate limit: 5 requests per second per user
/// (NocoDB cloud; self-hosted servers set theirs with `NC_RATE_LIMITER_*`).
/// Paced steadily, with no burst: whether the server counts per fixed or
/// sliding second, no second holds more than 5. One pace per server in the
/// process (the token is not a key anyone should hold), so all of one
/// person's clients of a server keep it together.
/// See <https://nocodb.com/docs/product-docs/developer-resources/rest-apis>.
pub const REQUESTS_PER_SECOND: NonZeroU32 = NonZeroU32::new(5).unwrap();

/// Rows asked per page: NocoDB's default `DB_QUERY_LIMIT_MAX`. A server that
/// caps lower answers with its own `pageSize`, and paging follows what came back.
pub const PAGE_SIZE: u64 = 1000;

/// Rows per bulk update. NocoDB v2 documents no cap on the array; 100 keeps one
/// request's body and the server's transaction small, and a refused batch
/// names at most 100 rows to re-run.
pub const WRITE_BATCH: usize = 100;

/// The type given to columns write-back creates: answers and notes are long text.
const CREATED_COLUMN_TYPE: &str = "LongText";

/// The key used when the meta API names no primary key (NocoDB's default).
const DEFAULT_KEY: &str = "Id";

const SERVICE: &str = "nocodb";

#[derive(Debug)]
pub struct Client {
    table: Table,
    http: reqwest::Client,
    auth: HeaderValue,
    /// Shared by every client of the same server in the process.
    pacer: Arc<Pacer>,
    /// Found once, from the meta API, on the first page.
    key: OnceCell<KeyColumn>,
}

/// The column rows are identified by, and whether NocoDB wants its values as numbers.
#[derive(Debug, Clone)]
struct KeyColumn {
    name: String,
    numeric: bool,
}

#[derive(Debug, Deserialize)]
struct TableMeta {
    #[serde(default)]
    columns: Vec<ColumnMeta>,
}

#[derive(Debug, Deserialize)]
struct ColumnMeta {
    title: String,
    #[serde(default)]
    uidt: String,
    /// `true`, or `1` from a SQLite-backed meta database.
    #[serde(default)]
    pk: Value,
    #[serde(default)]
    system: Value,
}

impl ColumnMeta {
    fn is_pk(&self) -> bool {
        truthy(&self.pk)
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    }
}

#[derive(Debug, Deserialize)]
struct RecordList {
    list: Vec<Map<String, Value>>,
    #[serde(rename = "pageInfo", default)]
    page_info: PageInfo,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    total_rows: Option<u64>,
    is_last_page: Option<bool>,
}

impl Client {
    pub fn new(table: Table, credential: Credential) -> Result<Client, Error> {
        let auth = secret_header(SERVICE, "", &credential)?;
        Ok(Client {
            http: http_client(SERVICE)?,
            auth,
            pacer: shared_pacer(SERVICE, table.base_url.as_str(), REQUESTS_PER_SECOND, None),
            key: OnceCell::new(),
            table,
        })
    }

    /// Paces at `per_second` instead of NocoDB cloud's 5 (a self-hosted
    /// server's own limit; benchmarks against the fake).
    pub fn with_rate_limit(mut self, per_second: NonZeroU32) -> Client {
        self.pacer = shared_pacer(SERVICE, self.table.base_url.as_str(), per_second, None);
        self
    }

    /// The table's columns as the meta API describes them (system columns left out).
    pub async fn columns(&self) -> Result<Vec<SourceColumn>, Error> {
        let meta = self.meta().await?;
        Ok(meta
            .columns
            .into_iter()
            .filter(|c| !truthy(&c.system))
            .map(|c| SourceColumn { name: c.title, service_type: c.uidt })
            .collect())
    }

    /// A page from `offset`. The next page's token also names the key column,
    /// so a client made for one call (as the connector service does) continues
    /// without asking the meta API again.
    pub async fn page(&self, from: Option<&PageToken>) -> Result<Page, Error> {
        let (offset, key) = match from.map(parse_token).transpose()? {
            Some((offset, Some(key))) => (offset, key),
            Some((offset, None)) => (offset, self.key().await?.name.clone()),
            None => (0, self.key().await?.name.clone()),
        };
        let mut url = self.records_url()?;
        url.query_pairs_mut().append_pair("offset", &offset.to_string()).append_pair("limit", &PAGE_SIZE.to_string());
        if let Some(view) = &self.table.view_id {
            url.query_pairs_mut().append_pair("viewId", view);
        }
        let response =
            self.pacer.send(|| self.http.get(url.clone()).header(self.auth_name(), self.auth.clone())).await?;
        let records: RecordList = read_json(SERVICE, response, &self.what()).await?;
        let received = records.list.len() as u64;
        let rows = records.list.into_iter().map(|fields| source_row(fields, &key)).collect::<Result<_, _>>()?;
        let next = next_offset(offset, received, &records.page_info).map(|o| PageToken(format!("{o}:{key}")));
        Ok(Page { rows, next })
    }

    /// Updates each row by its primary key, [`WRITE_BATCH`] rows a request.
    /// Columns the rows name that the table lacks are created (long text) when
    /// `create` lists them, else nothing is written and the error names them.
    pub async fn write_back(&self, rows: &[WriteRow], create: &[String]) -> Result<WriteReport, Error> {
        let meta = self.meta().await?;
        let key = key_column(&self.table, &meta.columns);
        let existing: HashSet<&str> = meta.columns.iter().map(|c| c.title.as_str()).collect();
        let to_create = columns_to_create(SERVICE, rows, create, &existing)?;
        let mut report = WriteReport::default();
        for title in to_create {
            self.create_column(&title).await?;
            report.created_columns.push(title);
        }
        write_in_batches(SERVICE, rows, WRITE_BATCH, &mut report, |batch| self.update(batch, &key)).await?;
        Ok(report)
    }

    async fn update(&self, batch: &[WriteRow], key: &KeyColumn) -> Result<(), Error> {
        let body: Vec<Value> = batch.iter().map(|row| update_body(row, key)).collect();
        let url = self.records_url()?;
        let response = self
            .pacer
            .send(|| self.http.patch(url.clone()).header(self.auth_name(), self.auth.clone()).json(&body))
            .await?;
        let _: Value = read_json(SERVICE, response, ROW_OF_BATCH).await?;
        Ok(())
    }

    async fn create_column(&self, title: &str) -> Result<(), Error> {
        let url =
            endpoint(SERVICE, &self.table.base_url, &["api", "v2", "meta", "tables", &self.table.table_id, "columns"])?;
        let body = json!({ "title": title, "column_name": column_name(title), "uidt": CREATED_COLUMN_TYPE });
        let response = self
            .pacer
            .send(|| self.http.post(url.clone()).header(self.auth_name(), self.auth.clone()).json(&body))
            .await?;
        let _: Value = read_json(SERVICE, response, &self.what()).await?;
        tracing::info!(service = SERVICE, column = title, "created a column for write-back");
        Ok(())
    }

    async fn meta(&self) -> Result<TableMeta, Error> {
        let url = endpoint(SERVICE, &self.table.base_url, &["api", "v2", "meta", "tables", &self.table.table_id])?;
        let response =
            self.pacer.send(|| self.http.get(url.clone()).header(self.auth_name(), self.auth.clone())).await?;
        read_json(SERVICE, response, &self.what()).await
    }

    async fn key(&self) -> Result<&KeyColumn, Error> {
        self.key.get_or_try_init(|| async { Ok(key_column(&self.table, &self.meta().await?.columns)) }).await
    }

    fn records_url(&self) -> Result<Url, Error> {
        endpoint(SERVICE, &self.table.base_url, &["api", "v2", "tables", &self.table.table_id, "records"])
    }

    fn auth_name(&self) -> &'static str {
        self.table.token_kind.header()
    }

    fn what(&self) -> String {
        format!("table `{}`", self.table.table_id)
    }
}

/// The configured key column, else the primary key the meta API names, else `Id`.
fn key_column(table: &Table, columns: &[ColumnMeta]) -> KeyColumn {
    let name = table
        .key_column
        .clone()
        .or_else(|| columns.iter().find(|c| c.is_pk()).map(|c| c.title.clone()))
        .unwrap_or_else(|| DEFAULT_KEY.to_owned());
    let numeric = columns
        .iter()
        .find(|c| c.title == name)
        .map_or(name == DEFAULT_KEY, |c| matches!(c.uidt.as_str(), "ID" | "Number" | "AutoNumber" | "Decimal"));
    KeyColumn { name, numeric }
}

fn source_row(fields: Map<String, Value>, key: &str) -> Result<SourceRow, Error> {
    let key = match fields.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(Error::Protocol {
                service: SERVICE,
                message: format!(
                    "a record has no value in its key column `{key}`; set the key column to one every row fills"
                ),
            });
        }
    };
    Ok(SourceRow { key, fields })
}

/// A page token: `<offset>:<key column>` (or a bare offset).
fn parse_token(token: &PageToken) -> Result<(u64, Option<String>), Error> {
    let (offset, key) = match token.0.split_once(':') {
        Some((offset, key)) => (offset, Some(key.to_owned())),
        None => (token.0.as_str(), None),
    };
    let offset = offset.parse::<u64>().map_err(|_| Error::Config {
        service: SERVICE,
        message: format!("`{}` is not a NocoDB page token; start the import again", token.0),
    })?;
    Ok((offset, key.filter(|k| !k.is_empty())))
}

/// The offset of the next page, `None` after the last. NocoDB says which page
/// is last; an older server's `totalRows`, or a short page, tells as well.
fn next_offset(offset: u64, received: u64, info: &PageInfo) -> Option<u64> {
    if received == 0 {
        return None;
    }
    let next = offset + received;
    let last = match (info.is_last_page, info.total_rows) {
        (Some(last), _) => last,
        (None, Some(total)) => next >= total,
        (None, None) => received < PAGE_SIZE,
    };
    (!last).then_some(next)
}

/// `{<key>: key, <column>: value…}`; the key goes as a number when NocoDB's
/// column is numeric, and is never overwritten by a field of the same name.
fn update_body(row: &WriteRow, key: &KeyColumn) -> Value {
    let mut object = row.fields.clone();
    let key_value = match row.key.parse::<i64>() {
        Ok(n) if key.numeric => Value::from(n),
        _ => Value::String(row.key.clone()),
    };
    object.insert(key.name.clone(), key_value);
    Value::Object(object)
}

/// A database column name for a created column's title: NocoDB shows the
/// title; the name must be a plain identifier in the table underneath.
fn column_name(title: &str) -> String {
    let name: String =
        title.trim().chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) { format!("c_{name}") } else { name }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_stops_at_the_last_page_whichever_way_the_server_says_so() {
        let said = |last| PageInfo { total_rows: None, is_last_page: Some(last) };
        assert_eq!(next_offset(0, 1000, &said(false)), Some(1000));
        assert_eq!(next_offset(1000, 1000, &said(true)), None);
        assert_eq!(next_offset(0, 0, &said(false)), None, "an empty page ends paging");
        let total = PageInfo { total_rows: Some(1500), is_last_page: None };
        assert_eq!(next_offset(0, 1000, &total), Some(1000));
        assert_eq!(next_offset(1000, 500, &total), None);
        assert_eq!(next_offset(0, 25, &PageInfo::default()), None);
    }

    #[test]
    fn page_tokens_carry_the_key_column() {
        let token = |s: &str| PageToken(s.to_owned());
        assert_eq!(parse_token(&token("2000:Id")).unwrap(), (2000, Some("Id".to_owned())));
        assert_eq!(parse_token(&token("5:Code:v2")).unwrap(), (5, Some("Code:v2".to_owned())));
        assert_eq!(parse_token(&token("1000")).unwrap(), (1000, None));
        assert!(matches!(parse_token(&token("x:Id")), Err(Error::Config { .. })));
    }

    #[test]
    fn the_key_goes_as_a_number_only_into_a_numeric_key_column() {
        let row = WriteRow { key: "007".into(), fields: Map::from_iter([("Id".to_owned(), json!("x"))]) };
        let numeric = KeyColumn { name: "Id".into(), numeric: true };
        assert_eq!(update_body(&row, &numeric), json!({"Id": 7}));
        let text = KeyColumn { name: "Code".into(), numeric: false };
        assert_eq!(update_body(&row, &text), json!({"Id": "x", "Code": "007"}));
    }

    #[test]
    fn created_column_names_are_identifiers() {
        assert_eq!(column_name("AI answer (v2)"), "ai_answer__v2_");
        assert_eq!(column_name("2nd"), "c_2nd");
    }
}
