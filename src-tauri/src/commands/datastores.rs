//! Data stores in the app (issue 19 point 1): saved connections to NocoDB,
//! Airtable and Databricks tables, a preview with inferred column types, an
//! import into a dataset that remembers its source, and a run's answers, tags
//! and notes written back to the same rows. The pipeline is
//! `crates/datastore-sync`, the same the CLI uses.
//!
//! A credential is write-only: `save_datastore_connection` puts it in the OS
//! keychain (account `datastore-<name>`) and no reply, error or log line
//! carries it; lists say only whether there is one.
//!
//! Access (`command_list.rs`): saving and deleting a connection are
//! `ShellOnly` (a connection holds a secret and chooses where the
//! workflow's data goes, like a provider or a webhook endpoint; the
//! first-party Record Collector calls them from the shell's realm); listing
//! is `data:read` (names and places, no secret); a preview brings outside
//! rows in without storing them, `files:import` like `import_records`; an
//! import writes a dataset, `data:write` like `save_dataset`; a write-back
//! sends answers out of the app, `files:export` like `export_responses`.
//!
//! With the local stack up and healthy, previews, imports and write-backs go
//! through its connector service (gateway `/api/connector/v1/datastores/…`),
//! as `save_dataset` goes through its parsers; a table on this computer's
//! loopback, which a container cannot reach, is always called in process.

use datastore_sync::{Connections, WriteColumns};
use datastores::mapping::{ColumnMapping, Mapping};
use datastores::{Connector, Source};
use local_data::{Dataset, Store};
use records::ColumnType;
use secrets::{KeyStore, Secret};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tauri::{AppHandle, Runtime, State};

use crate::commands::data::{DataState, positive};
use crate::commands::stack::StackState;
use crate::error::{CommandError, CommandResult, ErrorCode};

/// The saved connections over the OS keychain.
#[derive(Debug, Clone)]
pub struct DatastoresState {
    connections: Connections,
}

impl DatastoresState {
    pub fn new(keys: KeyStore) -> Self {
        Self { connections: Connections::new(keys) }
    }
}

/// A connection as the page sees it: never its credential.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatastoreConnection {
    pub name: String,
    #[cfg_attr(test, ts(type = "\"nocodb\" | \"airtable\" | \"databricks\""))]
    pub kind: String,
    /// Where the table lives (`datastores::Source` as JSON: `kind` and the service's fields).
    #[cfg_attr(test, ts(type = "JsonValue"))]
    pub source: Value,
    pub has_credential: bool,
}

impl From<datastore_sync::SavedConnection> for DatastoreConnection {
    fn from(saved: datastore_sync::SavedConnection) -> Self {
        DatastoreConnection {
            name: saved.name,
            kind: saved.kind.id().to_owned(),
            source: serde_json::to_value(&saved.source).unwrap_or(Value::Null),
            has_credential: saved.has_credential,
        }
    }
}

/// One column of a preview.
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "ColumnPreview"))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatastoreColumn {
    pub name: String,
    pub inferred: ColumnType,
    /// The service's own type, when its API describes the table.
    pub service_type: Option<String>,
    #[cfg_attr(test, ts(type = "Array<JsonValue>"))]
    pub samples: Vec<Value>,
}

/// The first rows of a table, before import.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatastorePreview {
    pub columns: Vec<DatastoreColumn>,
    /// As the import would store them with every column kept.
    #[cfg_attr(test, ts(type = "Array<Record<string, JsonValue>>"))]
    pub rows: Vec<Map<String, Value>>,
    /// The dataset column that will hold each row's key (propose it as the mapping's `keyColumn`).
    pub key_column: String,
}

/// A source column kept, and its name in the dataset.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DatastoreColumnMapping {
    pub source: String,
    pub target: String,
}

/// The columns an import keeps.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatastoreMapping {
    pub key_column: String,
    pub columns: Vec<DatastoreColumnMapping>,
}

impl From<DatastoreMapping> for Mapping {
    fn from(m: DatastoreMapping) -> Self {
        Mapping {
            key_column: m.key_column,
            columns: m.columns.into_iter().map(|c| ColumnMapping { source: c.source, target: c.target }).collect(),
        }
    }
}

/// The table columns a write-back fills; at least one.
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields = nullable))]
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct WriteBackColumns {
    pub answer: Option<String>,
    pub tags: Option<String>,
    pub notes: Option<String>,
}

/// A row a write-back could not write, and why.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct FailedWrite {
    pub key: String,
    pub reason: String,
}

/// What a write-back did.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteReport {
    pub updated: u64,
    pub created_columns: Vec<String>,
    /// Writing again retries these (it updates, never duplicates).
    pub failed: Vec<FailedWrite>,
    /// Answered records without a key: nothing to find their row by.
    pub without_key: u64,
}

impl From<datastore_sync::Error> for CommandError {
    fn from(err: datastore_sync::Error) -> Self {
        use datastore_sync::Error as E;
        match err {
            E::Invalid(message) => CommandError::invalid(message),
            E::NoConnection { .. } => CommandError::new(ErrorCode::NotFound, err.to_string()),
            E::NoCredential { .. } => CommandError::new(ErrorCode::NoKey, err.to_string()),
            E::Store(inner) => inner.into(),
            E::Keychain(inner) => inner.into(),
            E::Service(inner) => inner.into(),
            other => CommandError::new(ErrorCode::Data, other.to_string()),
        }
    }
}

impl From<datastores::Error> for CommandError {
    fn from(err: datastores::Error) -> Self {
        use datastores::Error as E;
        // The existing codes (a new one would change `ErrorCode`'s declaration, a major bump).
        let code = match &err {
            E::Unauthorized { .. } => ErrorCode::Refused,
            E::NotFound { .. } => ErrorCode::NotFound,
            E::Network { .. } | E::RateLimited { .. } => ErrorCode::Unreachable,
            E::Config { .. } | E::MissingColumns { .. } => ErrorCode::InvalidInput,
            _ => ErrorCode::Data,
        };
        let message = match &err {
            E::Unauthorized { service, .. } => {
                format!("{service} refused the saved token: save the connection again with a valid token")
            }
            E::MissingColumns { .. } => format!("{err}; or turn on “create columns”"),
            _ => err.to_string(),
        };
        CommandError::new(code, message)
    }
}

/// Runs `f` with the store and the connections on the blocking pool (SQLite and the keychain block).
async fn blocking<T: Send + 'static>(
    data: &DataState,
    stores: &DatastoresState,
    f: impl FnOnce(&mut Store, &Connections) -> Result<T, datastore_sync::Error> + Send + 'static,
) -> CommandResult<T> {
    let connections = stores.connections.clone();
    data.with_result(move |store| f(store, &connections)).await
}

/// A client for connection `name` (its credential read from the keychain):
/// through the local stack's connector service when the stack is up and
/// healthy (and the table is not on this computer's loopback), else in process.
async fn connector(
    data: &DataState,
    stores: &DatastoresState,
    stack: &StackState,
    name: String,
) -> CommandResult<(datastore_sync::SavedConnection, Connector)> {
    let service = connector_service(stack).await;
    let (saved, connector, route) =
        blocking(data, stores, move |store, connections| connections.connector_via(store, &name, service)).await?;
    tracing::info!(connection = %saved.name, ?route, "data-store call");
    Ok((saved, connector))
}

/// The connector service through the stack's gateway, when both are running and healthy.
async fn connector_service(stack: &StackState) -> Option<datastores::service::Stack> {
    // No engine is not an error: the store is called in process instead.
    let engine = stack.stack().await.ok()?;
    match stack::import::connector_service(Some(&engine)).await {
        Ok((gateway, Some(token))) => {
            let base_url = url::Url::parse(&format!("{}/api/connector/", gateway.trim_end_matches('/'))).ok()?;
            Some(datastores::service::Stack { base_url, access_token: Secret::new(token.expose()) })
        }
        Ok((_, None)) => None,
        Err(reason) => {
            tracing::debug!(%reason, "data stores called in process");
            None
        }
    }
}

/// Every saved connection, by name.
#[tauri::command]
pub async fn list_datastore_connections(
    data: State<'_, DataState>,
    stores: State<'_, DatastoresState>,
) -> CommandResult<Vec<DatastoreConnection>> {
    let list = blocking(&data, &stores, |store, connections| connections.list(store)).await?;
    Ok(list.into_iter().map(DatastoreConnection::from).collect())
}

/// Saves connection `name` (replacing its source if it exists); `credential`,
/// when given, goes to the OS keychain and is never returned.
#[tauri::command]
pub async fn save_datastore_connection(
    data: State<'_, DataState>,
    stores: State<'_, DatastoresState>,
    name: String,
    source: Value,
    credential: Option<String>,
) -> CommandResult<DatastoreConnection> {
    let credential = credential.map(Secret::new);
    let source: Source = serde_json::from_value(source).map_err(|e| {
        CommandError::invalid(format!(
            "the source is not a nocodb, airtable or databricks table ({e}): check its kind and fields"
        ))
    })?;
    let saved =
        blocking(&data, &stores, move |store, connections| connections.save(store, &name, &source, credential)).await?;
    Ok(saved.into())
}

/// Deletes connection `name` and its credential; datasets imported from it stay.
#[tauri::command]
pub async fn delete_datastore_connection(
    data: State<'_, DataState>,
    stores: State<'_, DatastoresState>,
    name: String,
) -> CommandResult<()> {
    blocking(&data, &stores, move |store, connections| connections.delete(store, &name)).await?;
    Ok(())
}

/// The first `rows` rows (1–20, default 20) of the connection's table, each
/// column with its inferred type and samples, and the proposed key column.
#[tauri::command]
pub async fn preview_datastore(
    data: State<'_, DataState>,
    stores: State<'_, DatastoresState>,
    stack: State<'_, StackState>,
    connection: String,
    rows: Option<u32>,
) -> CommandResult<DatastorePreview> {
    let (_, connector) = connector(&data, &stores, &stack, connection).await?;
    let wanted = rows.map_or(datastore_sync::PREVIEW_ROWS, |n| n as usize);
    let preview = datastore_sync::preview(&connector, wanted).await?;
    Ok(DatastorePreview {
        columns: preview
            .columns
            .into_iter()
            .map(|c| DatastoreColumn {
                name: c.name,
                inferred: c.inferred,
                service_type: c.service_type,
                samples: c.samples,
            })
            .collect(),
        rows: preview.rows,
        key_column: preview.key_column,
    })
}

/// Imports the connection's table as dataset `name` with `mapping`: every
/// page fetched first, then stored in one transaction with where it came
/// from; any failure stores nothing. Fires `import.done`.
#[tauri::command]
pub async fn import_datastore<R: Runtime>(
    app: AppHandle<R>,
    data: State<'_, DataState>,
    stores: State<'_, DatastoresState>,
    stack: State<'_, StackState>,
    connection: String,
    name: String,
    mapping: DatastoreMapping,
) -> CommandResult<Dataset> {
    let mapping: Mapping = mapping.into();
    let taken = name.clone();
    blocking(&data, &stores, move |store, _| datastore_sync::check_dataset_name(store, &taken)).await?;
    let (saved, connector) = connector(&data, &stores, &stack, connection.clone()).await?;
    let spool = datastore_sync::fetch(&connector, &mapping, |_| {}).await?;
    let source = saved.source.clone();
    let dataset = blocking(&data, &stores, move |store, _| {
        datastore_sync::store_spool(store, spool, &name, &connection, &source, &mapping)
    })
    .await?;
    super::hooks::fire(&app, super::hooks::import_done(&dataset, saved.kind.id()));
    Ok(dataset)
}

/// Writes run `run`'s answers (and tags, notes) to `columns` of the rows its
/// dataset came from in the connection's table; `createColumns` creates the
/// ones the table lacks. A run with several models is refused (the CLI's
/// `--model` chooses); the latest answer per record is written.
#[tauri::command]
pub async fn write_back_run(
    data: State<'_, DataState>,
    stores: State<'_, DatastoresState>,
    stack: State<'_, StackState>,
    run: i64,
    connection: String,
    columns: WriteBackColumns,
    create_columns: bool,
) -> CommandResult<WriteReport> {
    let run = positive("run", run)?;
    let columns = WriteColumns { answer: columns.answer, tags: columns.tags, notes: columns.notes };
    let (saved, connector) = connector(&data, &stores, &stack, connection).await?;
    let plan = blocking(&data, &stores, move |store, _| {
        datastore_sync::plan_write_back(store, run, &saved, &columns, None, None)
    })
    .await?;
    let report = datastore_sync::write_back(&connector, &plan, create_columns).await?;
    Ok(WriteReport {
        updated: report.updated,
        created_columns: report.created_columns,
        failed: report.failed.into_iter().map(|f| FailedWrite { key: f.key, reason: f.reason }).collect(),
        without_key: report.without_key,
    })
}
