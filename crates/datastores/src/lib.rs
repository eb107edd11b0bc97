//! Data-store connectors: rows in from NocoDB, Airtable and Databricks, and a
//! run's answers, tags and notes written back to chosen columns of the same rows.
//!
//! One [`Connector`] per configured [`Source`] (where the rows live; never a
//! secret) and [`Credential`] (from the OS keychain, held as a [`Secret`]).
//! Each service's module speaks its public REST API:
//!
//! - [`nocodb`]: REST v2, `xc-token` (API token) or `xc-auth` (session), paging by `offset`/`limit`;
//! - [`airtable`]: REST, personal access tokens, paging by `offset`, 5 requests/s per base, 10 records per write;
//! - [`databricks`]: the SQL Statement Execution API (submit, poll, fetch chunked results), PAT auth;
//! - [`service`]: any of them through the connector sidecar's `/v1/datastores/*`
//!   routes when the stack runs ([`Connector::through_service`]).
//!
//! Every module paces its own requests to the service's documented limits and
//! honours 429 with `Retry-After` ([`pacing`]). Write-back updates the row
//! whose key the import recorded, so running it again updates, never duplicates.
//!
//! Importing into the analyst's store is the caller's job: [`Connector::pages`]
//! hands out rows page by page, and [`mapping`] turns them into the columns the
//! person chose, with the types [`mapping::infer_columns`] shows before import.

// What the REST connectors (NocoDB, Airtable) share; apart from the public
// modules below.
mod rest;

pub mod airtable;
pub mod databricks;
mod error;
pub mod mapping;
pub mod nocodb;
pub mod pacing;
pub mod service;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use error::Error;
pub use secrets::Secret;

/// The services this crate connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Nocodb,
    Airtable,
    Databricks,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Nocodb, Kind::Airtable, Kind::Databricks];

    /// The lowercase name used on the command line, in settings and in keychain accounts.
    pub fn id(self) -> &'static str {
        match self {
            Kind::Nocodb => "nocodb",
            Kind::Airtable => "airtable",
            Kind::Databricks => "databricks",
        }
    }
}

/// Where the rows of one table live (no secret: this is stored and shown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    Nocodb(nocodb::Table),
    Airtable(airtable::Table),
    Databricks(databricks::Table),
}

impl Source {
    pub fn kind(&self) -> Kind {
        match self {
            Source::Nocodb(_) => Kind::Nocodb,
            Source::Airtable(_) => Kind::Airtable,
            Source::Databricks(_) => Kind::Databricks,
        }
    }

    /// The server the rows are read from (what a credential is sent to).
    pub fn endpoint(&self) -> &url::Url {
        match self {
            Source::Nocodb(table) => &table.base_url,
            Source::Airtable(table) => &table.api_url,
            Source::Databricks(table) => &table.host,
        }
    }
}

/// Whether `url` may be used for a credential: `https://`, or `http://` to
/// this computer only (the token would otherwise travel in clear). The
/// loopback rule is `notify_hooks::is_loopback`'s, repeated here because
/// that crate brings the local store with it.
pub(crate) fn secure_enough(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// The secret a service is called with: a NocoDB token, an Airtable personal
/// access token or a Databricks PAT. It never appears in a log line, an error or a reply.
#[derive(Debug)]
pub struct Credential(pub Secret);

/// One row of the source: its key (what write-back finds it by) and its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRow {
    /// NocoDB's primary key, Airtable's record id, the Databricks table's key column.
    pub key: String,
    pub fields: Map<String, Value>,
}

/// A column as the service describes it, when its API does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceColumn {
    pub name: String,
    /// The service's own type name (`SingleLineText`, `singleLineText`, `STRING`, …).
    pub service_type: String,
}

/// Values to write to one source row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteRow {
    pub key: String,
    /// Column name → value; only these columns are changed.
    pub fields: Map<String, Value>,
}

/// What a write-back did. A batch that failed leaves its rows in `failed`,
/// so the person sees which ones and can run it again (it is idempotent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WriteReport {
    pub updated: u64,
    /// Columns created because they did not exist.
    pub created_columns: Vec<String>,
    pub failed: Vec<FailedRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedRow {
    pub key: String,
    pub reason: String,
}

/// Where the next page starts; opaque to callers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageToken(pub String);

/// One page of rows and where the next one starts (`None`: the last page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub rows: Vec<SourceRow>,
    pub next: Option<PageToken>,
}

/// A connection to one table: the same calls whatever the service.
#[derive(Debug)]
pub enum Connector {
    Nocodb(nocodb::Client),
    Airtable(airtable::Client),
    Databricks(databricks::Client),
    /// Any of the above through the connector service.
    Service(service::Client),
}

impl Connector {
    /// A client for `source`, signing with `credential`.
    pub fn new(source: &Source, credential: Credential) -> Result<Connector, Error> {
        Ok(match source {
            Source::Nocodb(table) => Connector::Nocodb(nocodb::Client::new(table.clone(), credential)?),
            Source::Airtable(table) => Connector::Airtable(airtable::Client::new(table.clone(), credential)?),
            Source::Databricks(table) => Connector::Databricks(databricks::Client::new(table.clone(), credential)?),
        })
    }

    /// The same calls through the connector service at `stack` (its base URL
    /// and access token), which signs with `credential` or, without one, with
    /// the key the service holds for this kind of store.
    pub fn through_service(
        stack: service::Stack,
        source: &Source,
        credential: Option<Credential>,
    ) -> Result<Connector, Error> {
        Ok(Connector::Service(service::Client::new(stack, source.clone(), credential)?))
    }

    /// The table's columns as the service describes them (empty when its API doesn't).
    pub async fn columns(&self) -> Result<Vec<SourceColumn>, Error> {
        match self {
            Connector::Nocodb(c) => c.columns().await,
            Connector::Airtable(c) => c.columns().await,
            Connector::Databricks(c) => c.columns().await,
            Connector::Service(c) => c.columns().await,
        }
    }

    /// One page of rows, from the start (`None`) or from `from`.
    pub async fn page(&self, from: Option<&PageToken>) -> Result<Page, Error> {
        match self {
            Connector::Nocodb(c) => c.page(from).await,
            Connector::Airtable(c) => c.page(from).await,
            Connector::Databricks(c) => c.page(from).await,
            Connector::Service(c) => c.page(from).await,
        }
    }

    /// Every row, page by page, handed to `on_page` as it arrives (so the
    /// caller can store them without holding the whole table).
    pub async fn pages<E>(&self, mut on_page: impl FnMut(Vec<SourceRow>) -> Result<(), E>) -> Result<u64, Error>
    where
        E: std::fmt::Display,
    {
        let mut from: Option<PageToken> = None;
        let mut total = 0u64;
        loop {
            let page = self.page(from.as_ref()).await?;
            total += page.rows.len() as u64;
            on_page(page.rows).map_err(|e| Error::Consumer(e.to_string()))?;
            match page.next {
                Some(next) => from = Some(next),
                None => return Ok(total),
            }
        }
    }

    /// Writes `rows` to their source rows, creating the columns `create`
    /// names where the service's API allows it, within its batch sizes and rate limits.
    pub async fn write_back(&self, rows: &[WriteRow], create: &[String]) -> Result<WriteReport, Error> {
        match self {
            Connector::Nocodb(c) => c.write_back(rows, create).await,
            Connector::Airtable(c) => c.write_back(rows, create).await,
            Connector::Databricks(c) => c.write_back(rows, create).await,
            Connector::Service(c) => c.write_back(rows, create).await,
        }
    }
}
