//! What an import shows before it runs: the first rows, each column with its
//! inferred type and samples, and the column that will hold each row's key.

use datastores::mapping::{ColumnPreview, Mapping, infer_columns};
use datastores::{Connector, SourceRow};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Error;

/// Rows a preview shows (and the most it may be asked for).
pub const PREVIEW_ROWS: usize = 20;

/// The name the key column gets when no source column already holds the key.
const KEY_COLUMN: &str = "_key";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    pub columns: Vec<ColumnPreview>,
    /// The first rows as the import would store them with every column kept.
    pub rows: Vec<Map<String, Value>>,
    /// The dataset column that will hold each row's key (what write-back finds the row by).
    pub key_column: String,
}

/// The first `rows` rows (1 to [`PREVIEW_ROWS`]) of the connector's table.
pub async fn preview(connector: &Connector, rows: usize) -> Result<Preview, Error> {
    let wanted = rows.clamp(1, PREVIEW_ROWS);
    let described = connector.columns().await?;
    let mut page = connector.page(None).await?;
    page.rows.truncate(wanted);
    let columns = infer_columns(&page.rows, &described);
    let key_column = key_column_for(&columns, &page.rows);
    let mapping = Mapping::keep_all(&columns, key_column.clone());
    let rows = page.rows.iter().map(|row| mapping.apply(row)).collect();
    Ok(Preview { columns, rows, key_column })
}

/// The source column that holds each row's key (NocoDB's `Id`, the
/// Databricks key column): one whose value is the key in every row seen.
/// Else `_key` (Airtable's record ids are not a field), with `_` added
/// until it names no source column.
pub fn key_column_for(columns: &[ColumnPreview], rows: &[SourceRow]) -> String {
    let holds_key = |name: &str| {
        !rows.is_empty()
            && rows.iter().all(|row| match row.fields.get(name) {
                Some(Value::String(s)) => *s == row.key,
                Some(Value::Number(n)) => n.to_string() == row.key,
                _ => false,
            })
    };
    if let Some(column) = columns.iter().find(|c| holds_key(&c.name)) {
        return column.name.clone();
    }
    let mut name = KEY_COLUMN.to_owned();
    while columns.iter().any(|c| c.name == name) {
        name.insert(0, '_');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(key: &str, fields: Value) -> SourceRow {
        SourceRow { key: key.into(), fields: fields.as_object().cloned().unwrap_or_default() }
    }

    #[test]
    fn the_key_column_is_the_field_holding_the_key_else_a_free_name() {
        let rows = [row("1", json!({"Id": 1, "title": "Dune"})), row("2", json!({"Id": 2, "title": "Emma"}))];
        let columns = infer_columns(&rows, &[]);
        assert_eq!(key_column_for(&columns, &rows), "Id");

        let rows = [row("rec1", json!({"_key": "x", "title": "Dune"}))];
        let columns = infer_columns(&rows, &[]);
        assert_eq!(key_column_for(&columns, &rows), "__key", "a source column called _key is not overwritten");
    }
}
