//! The data stores through the connector sidecar, for when the stack runs:
//! the same `columns`, `page` and `write_back` as a direct client, over
//!
//! - `POST /v1/datastores/columns` `{ source }` → `{ columns }`
//! - `POST /v1/datastores/page` `{ source, from? }` → `{ rows, next }`
//! - `POST /v1/datastores/write` `{ source, rows, create }` → a [`WriteReport`]
//!
//! with the stack's access token in `Authorization: Bearer` and the store's
//! credential, when the caller has one, in [`CREDENTIAL_HEADER`] (without it
//! the service uses the key it holds for that kind of store, if any).
//!
//! Errors travel as the sidecars' JSON errors; [`to_wire`] and the client's
//! decoding are the two halves of one mapping, kept here so they cannot
//! drift: a caller gets the same [`Error`] variant either way. A store that
//! refuses its credential is `502 datastore_unauthorized`, not 401: a 401
//! from the service means the stack's own token was refused.

use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use url::Url;

use crate::pacing::network_error;
use crate::{Credential, Error, FailedRow, Page, PageToken, Secret, Source, SourceColumn, WriteReport, WriteRow};

/// The header carrying the store's credential to the service. Never logged or echoed there.
pub const CREDENTIAL_HEADER: &str = "x-datastore-credential";

/// Rows per write request: each request stays well under the service's body
/// limit (1 MiB by default) for answers of a few hundred bytes, and a
/// request's work (a few statements) well inside [`REQUEST_TIMEOUT`].
pub const WRITE_ROWS_PER_REQUEST: usize = 500;

/// One call, at most: the service itself polls statements and waits out 429s.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Errors about the service itself, rather than the store behind it.
const SERVICE: &str = "connector";

/// `POST /v1/datastores/columns`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnsRequest {
    pub source: Source,
}

/// The answer to `POST /v1/datastores/columns`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColumnsResponse {
    pub columns: Vec<SourceColumn>,
}

/// `POST /v1/datastores/page`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageRequest {
    pub source: Source,
    #[serde(default)]
    pub from: Option<PageToken>,
}

/// `POST /v1/datastores/write`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteRequest {
    pub source: Source,
    pub rows: Vec<WriteRow>,
    #[serde(default)]
    pub create: Vec<String>,
}

/// Where the stack's connector answers, and the token it wants.
#[derive(Debug)]
pub struct Stack {
    /// The connector's base URL (directly, or the gateway's `/api/connector/`).
    pub base_url: Url,
    pub access_token: Secret,
}

/// An error as the service sends it: status, code, message and details.
#[derive(Debug, Clone, PartialEq)]
pub struct WireError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Map<String, Value>,
}

/// How the service answers `err`. The message is the error's own text (no
/// variant carries a credential); `detail` keeps the store's words for the
/// client to rebuild the same variant.
pub fn to_wire(err: &Error) -> WireError {
    let (status, code, details) = match err {
        Error::Unauthorized { status, message, .. } => {
            (502, "datastore_unauthorized", json!({ "store_status": status, "detail": message }))
        }
        Error::NotFound { what, message, .. } => {
            (404, "datastore_not_found", json!({ "what": what, "detail": message }))
        }
        Error::RateLimited { attempts, .. } => (429, "rate_limited", json!({ "attempts": attempts })),
        Error::Service { status, message, .. } => {
            (502, "datastore_error", json!({ "store_status": status, "detail": message }))
        }
        Error::Statement { message, .. } => (502, "statement_failed", json!({ "detail": message })),
        Error::Protocol { message, .. } => (502, "bad_response", json!({ "detail": message })),
        Error::Network { message, .. } => (504, "unreachable", json!({ "detail": message })),
        Error::Config { message, .. } => (400, "invalid_source", json!({ "detail": message })),
        // Merge of i19-stores (MissingColumns) with i19-dbx (this mapping): kept apart so the client rebuilds it.
        Error::MissingColumns { columns, .. } => (400, "missing_columns", json!({ "columns": columns })),
        Error::Consumer(message) => (500, "internal", json!({ "detail": message })),
    };
    let details = match details {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    WireError { status, code, message: err.to_string(), details }
}

/// The service's error answer as the [`Error`] a direct client would have returned.
fn from_wire(service: &'static str, status: StatusCode, body: &Value) -> Error {
    let code = body["code"].as_str().unwrap_or("");
    let detail = body["detail"].as_str().or_else(|| body["message"].as_str()).unwrap_or("").to_owned();
    let store_status = body["store_status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(0);
    match code {
        "datastore_unauthorized" => Error::Unauthorized { service, status: store_status, message: detail },
        "datastore_not_found" => {
            Error::NotFound { service, what: body["what"].as_str().unwrap_or("the table").to_owned(), message: detail }
        }
        "rate_limited" => Error::RateLimited {
            service,
            attempts: body["attempts"].as_u64().and_then(|a| u32::try_from(a).ok()).unwrap_or(0),
        },
        "datastore_error" => Error::Service { service, status: store_status, message: detail },
        "statement_failed" => Error::Statement { service, message: detail },
        "missing_columns" => Error::MissingColumns {
            service,
            columns: body["columns"]
                .as_array()
                .map(|c| c.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
        },
        "bad_response" => Error::Protocol { service, message: detail },
        "unreachable" => Error::Network { service, message: detail },
        "invalid_source" | "no_credential" | "datastore_host_not_allowed" | "bad_request" => {
            Error::Config { service, message: detail }
        }
        // The service itself refused (its token, the host) or failed.
        _ => Error::Service {
            service: SERVICE,
            status: status.as_u16(),
            message: if status == StatusCode::UNAUTHORIZED {
                format!("the stack's connector refused the access token ({detail}); restart the stack")
            } else if detail.is_empty() {
                "the connector gave no reason".to_owned()
            } else {
                detail
            },
        },
    }
}

/// A data store reached through the connector service.
#[derive(Debug)]
pub struct Client {
    stack: Stack,
    source: Source,
    service: &'static str,
    credential: Option<Credential>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(stack: Stack, source: Source, credential: Option<Credential>) -> Result<Client, Error> {
        if !crate::secure_enough(&stack.base_url) {
            return Err(Error::Config {
                service: SERVICE,
                message: "the stack's URL must be https://, or http:// to this computer (the access token would travel in clear)"
                    .to_owned(),
            });
        }
        let mut stack = stack;
        // Relative joins keep a path prefix (the gateway's /api/connector/).
        if !stack.base_url.path().ends_with('/') {
            let path = format!("{}/", stack.base_url.path());
            stack.base_url.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::Config { service: SERVICE, message: format!("cannot set up HTTP: {e}") })?;
        let service = source.kind().id();
        Ok(Client { stack, source, service, credential, http })
    }

    pub async fn columns(&self) -> Result<Vec<SourceColumn>, Error> {
        let answer: ColumnsResponse =
            self.call("v1/datastores/columns", &ColumnsRequest { source: self.source.clone() }).await?;
        Ok(answer.columns)
    }

    pub async fn page(&self, from: Option<&PageToken>) -> Result<Page, Error> {
        self.call("v1/datastores/page", &PageRequest { source: self.source.clone(), from: from.cloned() }).await
    }

    /// In requests of [`WRITE_ROWS_PER_REQUEST`] rows; their reports added
    /// up. Like a direct write-back, a refused credential or bad settings end
    /// it with an error, and any other failure lists that request's rows and
    /// the rest as failed (a re-run finishes them: write-back is idempotent).
    pub async fn write_back(&self, rows: &[WriteRow], create: &[String]) -> Result<WriteReport, Error> {
        let mut total = WriteReport::default();
        let mut parts = rows.chunks(WRITE_ROWS_PER_REQUEST.max(1));
        while let Some(part) = parts.next() {
            let request = WriteRequest { source: self.source.clone(), rows: part.to_vec(), create: create.to_vec() };
            match self.call::<WriteReport>("v1/datastores/write", &request).await {
                Ok(report) => {
                    total.updated += report.updated;
                    total.created_columns.extend(report.created_columns);
                    total.failed.extend(report.failed);
                }
                Err(err @ (Error::Unauthorized { .. } | Error::NotFound { .. } | Error::Config { .. })) => {
                    return Err(err);
                }
                Err(err) => {
                    let reason = err.to_string();
                    for row in part.iter().chain(parts.by_ref().flatten()) {
                        total.failed.push(FailedRow { key: row.key.clone(), reason: reason.clone() });
                    }
                }
            }
        }
        Ok(total)
    }

    async fn call<T: serde::de::DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, Error> {
        let url = self
            .stack
            .base_url
            .join(path)
            .map_err(|e| Error::Config { service: SERVICE, message: format!("cannot build the request URL: {e}") })?;
        let mut request = self.http.post(url).bearer_auth(self.stack.access_token.expose()).json(body);
        if let Some(credential) = &self.credential {
            let mut value =
                reqwest::header::HeaderValue::from_str(credential.0.expose()).map_err(|_| Error::Config {
                    service: self.service,
                    message: "the credential has characters a header cannot carry; paste it again".to_owned(),
                })?;
            value.set_sensitive(true);
            request = request.header(CREDENTIAL_HEADER, value);
        }
        let response = request.send().await.map_err(|e| network_error(SERVICE, &e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| network_error(SERVICE, &e))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| Error::Protocol { service: SERVICE, message: e.to_string() });
        }
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Err(from_wire(self.service, status, &body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant survives the trip: the service's answer decodes to the same error.
    #[test]
    fn errors_round_trip_through_the_wire() {
        let service = "databricks";
        for err in [
            Error::Unauthorized { service, status: 403, message: "Invalid access token.".into() },
            Error::NotFound { service, what: "warehouse or statement".into(), message: "gone".into() },
            Error::RateLimited { service, attempts: 6 },
            Error::Service { service, status: 500, message: "boom".into() },
            Error::Statement { service, message: "the statement ended FAILED: x".into() },
            Error::Protocol { service, message: "odd".into() },
            Error::Network { service, message: "connection failed".into() },
            Error::Config { service, message: "bad table".into() },
        ] {
            let wire = to_wire(&err);
            let mut body = wire.details.clone();
            body.insert("code".into(), json!(wire.code));
            body.insert("message".into(), json!(wire.message));
            let status = StatusCode::from_u16(wire.status).unwrap();
            let back = from_wire(service, status, &Value::Object(body));
            assert_eq!(back.to_string(), err.to_string(), "{err:?} → {} → {back:?}", wire.code);
        }
    }
}
