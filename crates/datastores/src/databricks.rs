//! Databricks, SQL Statement Execution API (`/api/2.0/sql/statements`), PAT auth.
//! Skeleton: the helper building this module replaces the bodies.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::{Credential, Error, Page, PageToken, SourceColumn, WriteReport, WriteRow};

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

#[derive(Debug)]
pub struct Client {
    table: Table,
    credential: Credential,
}

const SERVICE: &str = "databricks";

impl Client {
    pub fn new(table: Table, credential: Credential) -> Result<Client, Error> {
        Ok(Client { table, credential })
    }

    pub async fn columns(&self) -> Result<Vec<SourceColumn>, Error> {
        let _ = (&self.table, &self.credential);
        Err(Error::Config { service: SERVICE, message: "not built yet".into() })
    }

    pub async fn page(&self, _from: Option<&PageToken>) -> Result<Page, Error> {
        Err(Error::Config { service: SERVICE, message: "not built yet".into() })
    }

    pub async fn write_back(&self, _rows: &[WriteRow], _create: &[String]) -> Result<WriteReport, Error> {
        Err(Error::Config { service: SERVICE, message: "not built yet".into() })
    }
}
