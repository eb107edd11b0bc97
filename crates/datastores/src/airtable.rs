//! Airtable, REST API (`/v0/{baseId}/{tableIdOrName}`), personal access tokens.
//! Skeleton: the helper building this module replaces the bodies.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::{Credential, Error, Page, PageToken, SourceColumn, WriteReport, WriteRow};

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

#[derive(Debug)]
pub struct Client {
    table: Table,
    credential: Credential,
}

const SERVICE: &str = "airtable";

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
