//! Write-back: a run's answers, tags and notes to chosen columns of the rows
//! its dataset was imported from, found by the key column the import filled.
//! The connectors update rows by key, so writing again updates the same rows
//! and never adds one.

use datastores::{Connector, FailedRow, Source, WriteRow};
use local_data::{ModelTarget, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, SavedConnection};

/// The source columns to write; at least one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteColumns {
    /// The answer's text.
    pub answer: Option<String>,
    /// The answer's tags, `, `-separated (empty: none).
    pub tags: Option<String>,
    /// The answer's note from the Insight Assembler (empty: none).
    pub notes: Option<String>,
}

impl WriteColumns {
    /// The columns chosen, checked: named, and each name once.
    pub fn names(&self) -> Result<Vec<String>, Error> {
        let chosen: Vec<&String> = [&self.answer, &self.tags, &self.notes].into_iter().flatten().collect();
        if chosen.is_empty() {
            return Err(Error::invalid("choose at least one column to write: the answer, tags or notes column"));
        }
        let mut names: Vec<String> = Vec::new();
        for name in chosen {
            let name = name.trim();
            if name.is_empty() {
                return Err(Error::invalid("a column to write has an empty name: give its name in the table"));
            }
            if names.iter().any(|n| n == name) {
                return Err(Error::invalid(format!("`{name}` is chosen for two things: write each to its own column")));
            }
            names.push(name.to_owned());
        }
        Ok(names)
    }
}

/// What a write-back will send.
#[derive(Debug, Clone, PartialEq)]
pub struct WritePlan {
    pub rows: Vec<WriteRow>,
    /// Answered records whose key column is empty: not written.
    pub without_key: u64,
    /// Whose answers are written.
    pub target: ModelTarget,
    /// The source columns written (created with `create_columns`).
    pub columns: Vec<String>,
    /// The dataset column the keys were read from.
    pub key_column: String,
}

/// Reads what run `run_id` writes to `connection`'s table. Refused when the
/// run's dataset was not imported from that table, unless `key_column`
/// names the dataset column holding the table's row keys.
pub fn plan_write_back(
    store: &Store,
    run_id: i64,
    connection: &SavedConnection,
    columns: &WriteColumns,
    key_column: Option<&str>,
    model: Option<&ModelTarget>,
) -> Result<WritePlan, Error> {
    let names = columns.names()?;
    let summary = store.run_summary(run_id)?;
    let dataset_id = summary
        .dataset_id
        .ok_or_else(|| Error::invalid(format!("run {run_id}'s dataset was deleted: there is nothing to write back")))?;
    let dataset = store.dataset(dataset_id)?;
    let origin = store.dataset_source(dataset_id)?;
    // The table decides, not the name: a connection pointed elsewhere since is another table.
    let from_this_table = origin.as_ref().is_some_and(|o| {
        serde_json::from_value::<Source>(o.source.clone()).is_ok_and(|s| same_table(&s, &connection.source))
    });
    let key_column = match (key_column, &origin) {
        (Some(column), _) => {
            if !dataset.column_names().any(|c| c == column) {
                return Err(Error::invalid(format!(
                    "dataset `{}` has no column `{column}`: pass --key-column with one of its columns ({})",
                    dataset.name,
                    dataset.column_names().collect::<Vec<_>>().join(", ")
                )));
            }
            column.to_owned()
        }
        (None, Some(origin)) if from_this_table => origin.key_column.clone(),
        (None, _) => {
            let came_from = match &origin {
                Some(o) => format!("it was imported from connection `{}`", o.connection),
                None => "it was not imported from a data store".to_owned(),
            };
            return Err(Error::invalid(format!(
                "run {run_id}'s dataset `{}` did not come from connection `{}`'s table ({came_from}): write to the connection it came from, or pass --key-column naming the dataset column that holds `{}`'s row keys",
                dataset.name, connection.name, connection.name
            )));
        }
    };
    let read = store.write_back_rows(run_id, &key_column, model)?;
    let rows = read
        .rows
        .into_iter()
        .map(|row| {
            let mut fields = Map::new();
            if let Some(column) = &columns.answer {
                fields.insert(column.trim().to_owned(), Value::String(row.answer));
            }
            if let Some(column) = &columns.tags {
                // Null rather than "": a row whose tags were removed is cleared on the next write.
                let tags = if row.tags.is_empty() { Value::Null } else { Value::String(row.tags.join(", ")) };
                fields.insert(column.trim().to_owned(), tags);
            }
            if let Some(column) = &columns.notes {
                fields.insert(column.trim().to_owned(), row.note.map_or(Value::Null, Value::String));
            }
            WriteRow { key: row.key, fields }
        })
        .collect();
    Ok(WritePlan { rows, without_key: read.without_key, target: read.target, columns: names, key_column })
}

/// What a write-back did, as the CLI's `--json` and the app's `write_back_run` report it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteBackReport {
    /// Rows written.
    pub updated: u64,
    /// Columns created because they did not exist.
    pub created_columns: Vec<String>,
    /// Rows not written, with why; writing again retries them (it updates, never duplicates).
    pub failed: Vec<FailedRow>,
    /// Answered records whose key column is empty: nothing to find their row by.
    pub without_key: u64,
}

/// Sends a plan; with `create_columns` the chosen columns the table lacks are created first.
pub async fn write_back(
    connector: &Connector,
    plan: &WritePlan,
    create_columns: bool,
) -> Result<WriteBackReport, Error> {
    let create: &[String] = if create_columns { &plan.columns } else { &[] };
    let written = connector.write_back(&plan.rows, create).await?;
    let report = WriteBackReport {
        updated: written.updated,
        created_columns: written.created_columns,
        failed: written.failed,
        without_key: plan.without_key,
    };
    tracing::info!(
        updated = report.updated,
        failed = report.failed.len(),
        created = report.created_columns.len(),
        "wrote a run back to its data store"
    );
    Ok(report)
}

/// Whether two sources name the same table (other settings, such as a view, may differ).
pub fn same_table(a: &Source, b: &Source) -> bool {
    match (a, b) {
        (Source::Nocodb(x), Source::Nocodb(y)) => x.base_url == y.base_url && x.table_id == y.table_id,
        (Source::Airtable(x), Source::Airtable(y)) => {
            x.api_url == y.api_url && x.base_id == y.base_id && x.table == y.table
        }
        (Source::Databricks(x), Source::Databricks(y)) => x.host == y.host && x.table == y.table,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_must_be_chosen_named_and_distinct() {
        assert!(WriteColumns::default().names().is_err());
        let same = WriteColumns { answer: Some("Out".into()), tags: Some(" Out ".into()), notes: None };
        assert!(same.names().unwrap_err().to_string().contains("two things"));
        let ok = WriteColumns { answer: Some("Answer".into()), tags: None, notes: Some("Notes".into()) };
        assert_eq!(ok.names().unwrap(), ["Answer", "Notes"]);
    }
}
