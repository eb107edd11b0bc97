//! Airtable, Web API (`/v0/…`), personal access tokens (`Authorization: Bearer`).
//!
//! - rows: `GET /v0/{baseId}/{tableIdOrName}?pageSize=100&offset=&view=`,
//!   answered `{records: [{id, createdTime, fields}], offset?}`; the row key is
//!   the record id. Airtable leaves empty fields out of `fields`;
//! - columns: `GET /v0/meta/bases/{baseId}/tables` (each table's `fields`
//!   with `name` and `type`), so a column empty on every row is still listed;
//! - write-back: `PATCH /v0/{baseId}/{tableIdOrName}` with
//!   `{records: [{id, fields}], typecast: true}`, at most 10 records a request
//!   (an update by record id: a re-run updates the same records); fields created
//!   with `POST /v0/meta/bases/{baseId}/tables/{tableId}/fields`;
//! - 5 requests per second per base, and after a 429 "wait 30 seconds".

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use url::Url;

use crate::pacing::Pacer;
use crate::rest::{
    ROW_OF_BATCH, columns_to_create, endpoint, http_client, read_json, secret_header, shared_pacer, write_in_batches,
};
use crate::{Credential, Error, Page, PageToken, SourceColumn, SourceRow, WriteReport, WriteRow};

/// One Airtable table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// `https://api.airtable.com` unless testing.
    pub api_url: Url,
    /// `app…`
    pub base_id: String,
    /// The table's id (`tbl…`) or name.
    pub table: String,
    #[serde(default)]
    pub view: Option<String>,
}

/// Airtable's documented limit: 5 requests per second per base
/// (<https://airtable.com/developers/web/api/rate-limits>). Paced steadily,
/// with no burst, so no second ever holds more than 5.
pub const REQUESTS_PER_SECOND: NonZeroU32 = NonZeroU32::new(5).unwrap();

/// After a 429 Airtable says to wait 30 seconds; used when it sends no `Retry-After`.
pub const RATE_LIMITED_WAIT: Duration = Duration::from_secs(30);

/// Records per page: Airtable's maximum `pageSize`.
pub const PAGE_SIZE: u32 = 100;

/// Records per update request: Airtable's maximum.
pub const WRITE_BATCH: usize = 10;

/// The type of fields write-back creates: answers and notes are long text.
const CREATED_FIELD_TYPE: &str = "multilineText";

const SERVICE: &str = "airtable";

#[derive(Debug)]
pub struct Client {
    table: Table,
    http: reqwest::Client,
    auth: HeaderValue,
    /// Shared by every client of the same base in the process (the limit is per base).
    pacer: Arc<Pacer>,
}

#[derive(Debug, Deserialize)]
struct BaseSchema {
    tables: Vec<TableSchema>,
}

#[derive(Debug, Deserialize)]
struct TableSchema {
    id: String,
    name: String,
    #[serde(default)]
    fields: Vec<FieldSchema>,
}

#[derive(Debug, Deserialize)]
struct FieldSchema {
    name: String,
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct RecordList {
    records: Vec<Record>,
    #[serde(default)]
    offset: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    fields: Map<String, Value>,
}

impl Client {
    pub fn new(table: Table, credential: Credential) -> Result<Client, Error> {
        let auth = secret_header(SERVICE, "Bearer ", &credential)?;
        let pacer = pacer(&table, REQUESTS_PER_SECOND);
        Ok(Client { table, http: http_client(SERVICE)?, auth, pacer })
    }

    /// Paces at `per_second` instead of Airtable's 5 per base (benchmarks
    /// against the fake; never above what the service allows).
    pub fn with_rate_limit(mut self, per_second: NonZeroU32) -> Client {
        self.pacer = pacer(&self.table, per_second);
        self
    }

    /// The table's fields from the base's schema (needs the token's
    /// `schema.bases:read` scope), in Airtable's order.
    pub async fn columns(&self) -> Result<Vec<SourceColumn>, Error> {
        let schema = self.schema().await?;
        Ok(schema.fields.into_iter().map(|f| SourceColumn { name: f.name, service_type: f.kind }).collect())
    }

    pub async fn page(&self, from: Option<&PageToken>) -> Result<Page, Error> {
        let mut url = self.records_url()?;
        url.query_pairs_mut().append_pair("pageSize", &PAGE_SIZE.to_string());
        if let Some(offset) = from {
            url.query_pairs_mut().append_pair("offset", &offset.0);
        }
        if let Some(view) = &self.table.view {
            url.query_pairs_mut().append_pair("view", view);
        }
        let response = self.pacer.send(|| self.http.get(url.clone()).header(AUTHORIZATION, self.auth.clone())).await?;
        let list: RecordList = read_json(SERVICE, response, &self.what()).await?;
        Ok(Page {
            rows: list.records.into_iter().map(|r| SourceRow { key: r.id, fields: r.fields }).collect(),
            next: list.offset.filter(|o| !o.is_empty()).map(PageToken),
        })
    }

    /// Updates each record by id, [`WRITE_BATCH`] a request. Fields the rows
    /// name that the table lacks are created (long text) when `create` lists
    /// them, else nothing is written and the error names them.
    pub async fn write_back(&self, rows: &[WriteRow], create: &[String]) -> Result<WriteReport, Error> {
        let schema = self.schema().await?;
        let existing: HashSet<&str> = schema.fields.iter().map(|f| f.name.as_str()).collect();
        let to_create = columns_to_create(SERVICE, rows, create, &existing)?;
        let mut report = WriteReport::default();
        for name in to_create {
            self.create_field(&schema.id, &name).await?;
            report.created_columns.push(name);
        }
        write_in_batches(SERVICE, rows, WRITE_BATCH, &mut report, |batch| self.update(batch)).await?;
        Ok(report)
    }

    async fn update(&self, batch: &[WriteRow]) -> Result<(), Error> {
        let records: Vec<Value> = batch.iter().map(|row| json!({ "id": row.key, "fields": row.fields })).collect();
        // typecast: a text answer written to a number or select field is converted, not refused.
        let body = json!({ "records": records, "typecast": true });
        let url = self.records_url()?;
        let response = self
            .pacer
            .send(|| self.http.patch(url.clone()).header(AUTHORIZATION, self.auth.clone()).json(&body))
            .await?;
        let _: Value = read_json(SERVICE, response, ROW_OF_BATCH).await?;
        Ok(())
    }

    async fn create_field(&self, table_id: &str, name: &str) -> Result<(), Error> {
        let url = endpoint(
            SERVICE,
            &self.table.api_url,
            &["v0", "meta", "bases", &self.table.base_id, "tables", table_id, "fields"],
        )?;
        let body = json!({ "name": name, "type": CREATED_FIELD_TYPE });
        let response = self
            .pacer
            .send(|| self.http.post(url.clone()).header(AUTHORIZATION, self.auth.clone()).json(&body))
            .await?;
        let _: Value = read_json(SERVICE, response, &self.what()).await?;
        tracing::info!(service = SERVICE, field = name, "created a field for write-back");
        Ok(())
    }

    /// This table's schema, found among the base's tables by id or name.
    async fn schema(&self) -> Result<TableSchema, Error> {
        let url = endpoint(SERVICE, &self.table.api_url, &["v0", "meta", "bases", &self.table.base_id, "tables"])?;
        let response = self.pacer.send(|| self.http.get(url.clone()).header(AUTHORIZATION, self.auth.clone())).await?;
        let base: BaseSchema = read_json(SERVICE, response, &format!("base `{}`", self.table.base_id)).await?;
        base.tables.into_iter().find(|t| t.id == self.table.table || t.name == self.table.table).ok_or_else(|| {
            Error::NotFound {
                service: SERVICE,
                what: self.what(),
                message: format!("base `{}` has no table with that id or name", self.table.base_id),
            }
        })
    }

    fn records_url(&self) -> Result<Url, Error> {
        endpoint(SERVICE, &self.table.api_url, &["v0", &self.table.base_id, &self.table.table])
    }

    fn what(&self) -> String {
        format!("table `{}`", self.table.table)
    }
}

/// The base's pace: `api_url` and base id name the base.
fn pacer(table: &Table, per_second: NonZeroU32) -> Arc<Pacer> {
    let scope = format!("{} {}", table.api_url, table.base_id);
    shared_pacer(SERVICE, &scope, per_second, Some(RATE_LIMITED_WAIT))
}
