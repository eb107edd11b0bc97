//! Data-store connections and where a dataset came from (schema 13, issue 19
//! point 1; the connectors are `crates/datastores`).
//!
//! A connection row is a name, a kind and the table's place as the
//! connectors' `Source` JSON: never a secret (the credential is in the OS
//! keychain under the connection's name). A dataset imported from one keeps a
//! [`DatasetSource`], written in the import's own transaction, so write-back
//! knows which rows of which table its records are, by the key column the
//! import filled. [`Store::write_back_rows`] reads what a run says about each
//! of those rows: its answer, tags and note.

use std::io::Read;

use rusqlite::{OptionalExtension as _, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::datasets::json_bug;
use crate::{Dataset, Error, ImportOptions, ImportProgress, ModelTarget, Store, now_millis};

/// The services a connection may name (`datastores::Kind` ids).
pub const DATASTORE_KINDS: [&str; 3] = ["nocodb", "airtable", "databricks"];

/// A saved connection: where a table lives (no credential).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatastoreConnection {
    pub name: String,
    /// `nocodb`, `airtable` or `databricks`.
    pub kind: String,
    /// The connectors' `Source` as JSON.
    pub source: Value,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    pub updated_at: i64,
}

/// Where a dataset was imported from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetSource {
    pub dataset_id: i64,
    /// The connection's name at import time.
    pub connection: String,
    /// The connection's source as it was then.
    pub source: Value,
    /// The dataset column holding each row's key in the source.
    pub key_column: String,
    /// The column mapping the import applied.
    pub mapping: Value,
    pub imported_at: i64,
}

/// What an import from a data store records beside the dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDatasetSource<'a> {
    pub connection: &'a str,
    pub source: &'a Value,
    pub key_column: &'a str,
    pub mapping: &'a Value,
}

/// One source row's news from a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteBackRow {
    /// The row's key in the source (the record's key column, as text).
    pub key: String,
    pub answer: String,
    /// The answer's tags, sorted.
    pub tags: Vec<String>,
    /// The answer's note (Insight Assembler), if any.
    pub note: Option<String>,
}

/// Every row of a run to write back, and what was left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteBackRows {
    /// Whose answers these are.
    pub target: ModelTarget,
    pub rows: Vec<WriteBackRow>,
    /// Records answered in the run whose key column is empty (nothing to find them by).
    pub without_key: u64,
}

impl Store {
    /// Saves a connection, replacing the source of one with the same name.
    /// The caller has checked the name and that `source` parses as `kind`.
    pub fn save_datastore_connection(
        &mut self,
        name: &str,
        kind: &str,
        source: &Value,
    ) -> Result<DatastoreConnection, Error> {
        if !DATASTORE_KINDS.contains(&kind) {
            return Err(Error::invalid(
                "kind",
                format!("`{kind}` is not a data store: use nocodb, airtable or databricks"),
            ));
        }
        let source_json = serde_json::to_string(source).map_err(json_bug)?;
        let now = now_millis();
        self.conn.execute(
            "INSERT INTO datastore_connections (name, kind, source, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, source = excluded.source, updated_at = excluded.updated_at",
            params![name, kind, source_json, now],
        )?;
        tracing::info!(connection = name, kind, "saved a data-store connection");
        self.datastore_connection(name)?.ok_or_else(|| Error::State("the connection just saved is missing".into()))
    }

    /// Every connection, by name.
    pub fn datastore_connections(&self) -> Result<Vec<DatastoreConnection>, Error> {
        let mut stmt = self.conn.prepare(&format!("{CONNECTION_SELECT} ORDER BY name"))?;
        let rows = stmt.query_map([], connection_row)?;
        rows.map(|row| row?.into_connection()).collect()
    }

    /// The connection called `name`, if there is one.
    pub fn datastore_connection(&self, name: &str) -> Result<Option<DatastoreConnection>, Error> {
        self.conn
            .query_row(&format!("{CONNECTION_SELECT} WHERE name = ?1"), [name], connection_row)
            .optional()?
            .map(RawConnection::into_connection)
            .transpose()
    }

    /// Deletes a connection (datasets imported from it keep their origin); whether there was one.
    pub fn delete_datastore_connection(&mut self, name: &str) -> Result<bool, Error> {
        Ok(self.conn.execute("DELETE FROM datastore_connections WHERE name = ?1", [name])? > 0)
    }

    /// Imports JSON Lines rows fetched from a data store as a new dataset
    /// and records where they came from, in one transaction: on any error
    /// neither the dataset nor its origin is kept.
    pub fn import_from_datastore(
        &mut self,
        reader: impl Read,
        options: &ImportOptions,
        origin: &NewDatasetSource<'_>,
        on_progress: impl FnMut(ImportProgress),
    ) -> Result<Dataset, Error> {
        if !options.format.streams() {
            return Err(Error::State(format!(
                "{} does not stream; import data-store rows as JSON Lines",
                options.format
            )));
        }
        let source = serde_json::to_string(origin.source).map_err(json_bug)?;
        let mapping = serde_json::to_string(origin.mapping).map_err(json_bug)?;
        let dataset = self.import_streaming(
            reader,
            options,
            |tx, dataset_id| {
                tx.execute(
                    "INSERT INTO dataset_sources (dataset_id, connection, source, key_column, mapping, imported_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![dataset_id, origin.connection, source, origin.key_column, mapping, now_millis()],
                )?;
                Ok(())
            },
            on_progress,
        )?;
        if !dataset.columns.iter().any(|c| c.name == origin.key_column) {
            // The rows always carry the key; a dataset without it would be a bug upstream.
            tracing::warn!(
                dataset_id = dataset.id,
                key_column = origin.key_column,
                "imported rows lack the key column"
            );
        }
        Ok(dataset)
    }

    /// Where dataset `dataset_id` was imported from; `None` for a file or a paste.
    pub fn dataset_source(&self, dataset_id: i64) -> Result<Option<DatasetSource>, Error> {
        let raw = self
            .conn
            .query_row(
                "SELECT dataset_id, connection, source, key_column, mapping, imported_at
                 FROM dataset_sources WHERE dataset_id = ?1",
                [dataset_id],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                },
            )
            .optional()?;
        raw.map(|(dataset_id, connection, source, key_column, mapping, imported_at)| {
            Ok(DatasetSource {
                dataset_id,
                connection,
                source: serde_json::from_str(&source).map_err(json_bug)?,
                key_column,
                mapping: serde_json::from_str(&mapping).map_err(json_bug)?,
                imported_at,
            })
        })
        .transpose()
    }

    /// What run `run_id` says about each record it answered, for writing
    /// back to the source rows, in record order: the record's `key_column`
    /// value, the answer, its tags and note.
    ///
    /// One answer per record: a run that answered with several models must
    /// be told which (`target`; without it the run's only model). Among one
    /// model's answers to a record (several template versions or repeat
    /// samples) the latest stored wins. Failed requests have no answer and
    /// write nothing; records whose key is empty are counted, not written.
    pub fn write_back_rows(
        &self,
        run_id: i64,
        key_column: &str,
        target: Option<&ModelTarget>,
    ) -> Result<WriteBackRows, Error> {
        self.run_progress(run_id)?;
        let target = self.answering_target(run_id, target)?;
        let mut stmt = self.conn.prepare(WRITE_BACK_SELECT)?;
        let raw = stmt.query_map(params![run_id, target.provider, target.model], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?))
        })?;
        let mut rows = Vec::new();
        let mut without_key = 0;
        for row in raw {
            let (data, answer, tags, note) = row?;
            let data: serde_json::Map<String, Value> = serde_json::from_str(&data).map_err(json_bug)?;
            let Some(key) = key_text(data.get(key_column)) else {
                without_key += 1;
                continue;
            };
            let tags: Vec<String> = serde_json::from_str(&tags).map_err(json_bug)?;
            rows.push(WriteBackRow { key, answer, tags, note: note.filter(|n| !n.trim().is_empty()) });
        }
        Ok(WriteBackRows { target, rows, without_key })
    }

    /// The model whose answers a write-back takes: `wanted` if the run has
    /// answers from it, else the run's only answering model.
    fn answering_target(&self, run_id: i64, wanted: Option<&ModelTarget>) -> Result<ModelTarget, Error> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT q.provider, q.model FROM responses s JOIN requests q ON q.id = s.request_id
             WHERE s.run_id = ?1 AND s.error_code IS NULL ORDER BY q.provider, q.model",
        )?;
        let answered: Vec<ModelTarget> = stmt
            .query_map([run_id], |r| Ok(ModelTarget::new(r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<_, _>>()?;
        let names = || answered.iter().map(|t| format!("{}/{}", t.provider, t.model)).collect::<Vec<_>>().join(", ");
        match (wanted, answered.as_slice()) {
            (_, []) => Err(Error::invalid("run", format!("run {run_id} has no answers to write back yet"))),
            (Some(wanted), _) if answered.contains(wanted) => Ok(wanted.clone()),
            (Some(wanted), _) => Err(Error::invalid(
                "model",
                format!(
                    "run {run_id} has no answers from {}/{}; its answers are from {}",
                    wanted.provider,
                    wanted.model,
                    names()
                ),
            )),
            (None, [only]) => Ok(only.clone()),
            (None, _) => Err(Error::invalid(
                "model",
                format!("run {run_id} has answers from several models ({}): choose one to write back", names()),
            )),
        }
    }
}

/// Per record of the run, its latest stored answer from one model, with the
/// answer's tags (a JSON array, sorted) and note.
const WRITE_BACK_SELECT: &str = "
SELECT data, text, tags, note FROM (
    SELECT r.data, r.position, s.text,
           (SELECT json_group_array(tag) FROM (SELECT tag FROM response_tags t WHERE t.response_id = s.id ORDER BY tag)) AS tags,
           n.note,
           row_number() OVER (PARTITION BY q.record_id ORDER BY s.id DESC) AS newest
    FROM responses s
    JOIN requests q ON q.id = s.request_id
    JOIN records r ON r.id = q.record_id
    LEFT JOIN insights n ON n.response_id = s.id
    WHERE s.run_id = ?1 AND s.error_code IS NULL AND q.provider = ?2 AND q.model = ?3
)
WHERE newest = 1
ORDER BY position";

/// A key cell as text: a string as it is, a number as written; empty, null or missing is no key.
fn key_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

const CONNECTION_SELECT: &str = "SELECT name, kind, source, created_at, updated_at FROM datastore_connections";

struct RawConnection {
    name: String,
    kind: String,
    source: String,
    created_at: i64,
    updated_at: i64,
}

fn connection_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawConnection> {
    Ok(RawConnection {
        name: r.get(0)?,
        kind: r.get(1)?,
        source: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

impl RawConnection {
    fn into_connection(self) -> Result<DatastoreConnection, Error> {
        Ok(DatastoreConnection {
            name: self.name,
            kind: self.kind,
            source: serde_json::from_str(&self.source).map_err(json_bug)?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}
