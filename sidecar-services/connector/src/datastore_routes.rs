//! `/v1/datastores/{columns,page,write}`: the `datastores` crate over HTTP,
//! so the desktop (or a batch job) reaches NocoDB, Airtable and Databricks
//! through the connector when the stack runs. The wire format and the error
//! mapping live in `datastores::service`, next to the client that speaks them.
//!
//! The store's credential comes in `X-Datastore-Credential`, or else from the
//! key this server holds for that kind of store (`AUGMENT_DATASTORE_<KIND>_API_KEY`
//! or the file `datastore-<kind>` in `CONNECTOR_KEYS_DIR`). A server-held key
//! is only ever sent to a host listed in `CONNECTOR_DATASTORE_HOSTS`: the
//! caller chooses the source's URL, and must not be able to point the
//! server's key at a host of their own. Neither credential is logged or echoed.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::HeaderMap;
use datastores::service::{CREDENTIAL_HEADER, ColumnsRequest, ColumnsResponse, PageRequest, WriteRequest};
use datastores::{Connector, Credential, Page, Secret, Source, WriteReport};

use crate::{AppError, AppState};

pub(crate) async fn columns(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<ColumnsRequest>, JsonRejection>,
) -> Result<Json<ColumnsResponse>, AppError> {
    let Json(request) = state.body(body)?;
    let connector = connect(&state, &headers, &request.source).await?;
    let started = Instant::now();
    let outcome = connector.columns().await;
    let columns = state.finish(&request.source, "columns", started, outcome)?;
    Ok(Json(ColumnsResponse { columns }))
}

pub(crate) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<PageRequest>, JsonRejection>,
) -> Result<Json<Page>, AppError> {
    let Json(request) = state.body(body)?;
    let connector = connect(&state, &headers, &request.source).await?;
    let started = Instant::now();
    let outcome = connector.page(request.from.as_ref()).await;
    Ok(Json(state.finish(&request.source, "page", started, outcome)?))
}

pub(crate) async fn write(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<WriteRequest>, JsonRejection>,
) -> Result<Json<WriteReport>, AppError> {
    let Json(request) = state.body(body)?;
    let connector = connect(&state, &headers, &request.source).await?;
    let started = Instant::now();
    let outcome = connector.write_back(&request.rows, &request.create).await;
    Ok(Json(state.finish(&request.source, "write", started, outcome)?))
}

/// A direct client for `source`, signed with the caller's credential or the server's.
async fn connect(state: &AppState, headers: &HeaderMap, source: &Source) -> Result<Connector, AppError> {
    let credential = credential(state, headers, source).await?;
    let kind = source.kind().id();
    Connector::new(source, credential).map_err(|err| AppError::Datastore { kind, err })
}

async fn credential(state: &AppState, headers: &HeaderMap, source: &Source) -> Result<Credential, AppError> {
    let kind = source.kind();
    if let Some(value) = headers.get(CREDENTIAL_HEADER) {
        // The value is never quoted back, whatever is wrong with it.
        let text = value.to_str().map_err(|_| {
            AppError::Invalid(format!("the {CREDENTIAL_HEADER} header must be visible ASCII (its value is not shown)"))
        })?;
        let secret = Secret::new(text);
        if !secret.is_empty() {
            return Ok(Credential(secret));
        }
    }
    let keys = state.keys().clone();
    // Reading a key file is file I/O.
    let found = tokio::task::spawn_blocking(move || keys.datastore_key(kind)).await.map_err(|_| AppError::Internal)?;
    let secret = match found {
        Ok(Some(secret)) => secret,
        Ok(None) => return Err(AppError::NoDatastoreCredential { kind: kind.id() }),
        Err(err) => {
            // The I/O error only: never file contents.
            tracing::warn!(kind = kind.id(), error = %err, "the data-store key file could not be read");
            return Err(AppError::NoDatastoreCredential { kind: kind.id() });
        }
    };
    let endpoint = source.endpoint();
    if !state.datastore_host_allowed(endpoint) {
        return Err(AppError::DatastoreHostNotAllowed {
            kind: kind.id(),
            host: endpoint.host_str().unwrap_or("").to_owned(),
        });
    }
    Ok(Credential(secret))
}

impl AppState {
    fn body<T>(&self, body: Result<Json<T>, JsonRejection>) -> Result<Json<T>, AppError> {
        body.map_err(|rejection| AppError::Body {
            status: rejection.status(),
            detail: rejection.body_text(),
            limit_bytes: self.inner.max_body_bytes,
        })
    }

    /// Counts and logs one call (kind, route, outcome, timing; never rows or credentials).
    fn finish<T>(
        &self,
        source: &Source,
        route: &'static str,
        started: Instant,
        outcome: Result<T, datastores::Error>,
    ) -> Result<T, AppError> {
        let kind = source.kind().id();
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(value) => {
                self.inner.datastore_calls.with_label_values(&[kind, route, "ok"]).inc();
                tracing::info!(kind, route, elapsed_ms, "datastore call");
                Ok(value)
            }
            Err(err) => {
                let code = datastores::service::to_wire(&err).code;
                self.inner.datastore_calls.with_label_values(&[kind, route, code]).inc();
                // datastores::Error carries no credential (see its docs), so it may be logged.
                tracing::warn!(kind, route, code, error = %err, elapsed_ms, "datastore call failed");
                Err(AppError::Datastore { kind, err })
            }
        }
    }

    /// Whether a server-held key may be sent to `url`: its host, or host:port, is listed.
    fn datastore_host_allowed(&self, url: &url::Url) -> bool {
        let Some(host) = url.host_str() else { return false };
        let with_port = url.port_or_known_default().map(|port| format!("{host}:{port}"));
        self.inner.datastore_hosts.iter().any(|allowed| {
            allowed.eq_ignore_ascii_case(host) || with_port.as_deref().is_some_and(|h| allowed.eq_ignore_ascii_case(h))
        })
    }
}
