//! What an import shows before it runs (each column with its inferred type and
//! a few sample values) and what it stores (the columns the person kept, under
//! the names they chose, plus the row's key so write-back can find it again).

use records::ColumnType;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{SourceColumn, SourceRow};

/// Sample values shown per column.
pub const SAMPLES: usize = 3;

/// One column of the preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnPreview {
    pub name: String,
    /// Inferred from every value in the rows previewed.
    pub inferred: ColumnType,
    /// The service's own type, when its API describes the table.
    pub service_type: Option<String>,
    pub samples: Vec<Value>,
}

/// The columns of `rows`: the ones the service describes first, in its order,
/// then any others in the order they first appear.
pub fn infer_columns(rows: &[SourceRow], described: &[SourceColumn]) -> Vec<ColumnPreview> {
    let mut columns: Vec<ColumnPreview> = described
        .iter()
        .map(|c| ColumnPreview {
            name: c.name.clone(),
            inferred: ColumnType::Empty,
            service_type: Some(c.service_type.clone()),
            samples: Vec::new(),
        })
        .collect();
    for row in rows {
        for (name, value) in &row.fields {
            let index = match columns.iter().position(|c| &c.name == name) {
                Some(index) => index,
                None => {
                    columns.push(ColumnPreview {
                        name: name.clone(),
                        inferred: ColumnType::Empty,
                        service_type: None,
                        samples: Vec::new(),
                    });
                    columns.len() - 1
                }
            };
            let column = &mut columns[index];
            column.inferred = column.inferred.join(ColumnType::of_value(value));
            if !value.is_null() && column.samples.len() < SAMPLES {
                column.samples.push(value.clone());
            }
        }
    }
    columns
}

/// A source column kept, and the name it gets in the dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnMapping {
    pub source: String,
    pub target: String,
}

/// The columns an import keeps. Columns not listed are left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    /// The dataset column holding each row's key (what write-back finds the row by).
    pub key_column: String,
    pub columns: Vec<ColumnMapping>,
}

impl Mapping {
    /// Every column under its own name, the key in `key_column`.
    pub fn keep_all(columns: &[ColumnPreview], key_column: impl Into<String>) -> Mapping {
        Mapping {
            key_column: key_column.into(),
            columns: columns.iter().map(|c| ColumnMapping { source: c.name.clone(), target: c.name.clone() }).collect(),
        }
    }

    /// The record stored for `row`: its key, then the kept columns (a missing value is null).
    pub fn apply(&self, row: &SourceRow) -> Map<String, Value> {
        let mut record = Map::with_capacity(self.columns.len() + 1);
        record.insert(self.key_column.clone(), Value::String(row.key.clone()));
        for column in &self.columns {
            if column.target == self.key_column {
                continue;
            }
            record.insert(column.target.clone(), row.fields.get(&column.source).cloned().unwrap_or(Value::Null));
        }
        record
    }

    /// The record [`Mapping::apply`] builds, serialised straight from `row`
    /// without copying its values (an import writes 100,000s of these).
    pub fn record<'a>(&'a self, row: &'a SourceRow) -> MappedRecord<'a> {
        MappedRecord { mapping: self, row }
    }
}

/// A row as its mapped record, for serialising; see [`Mapping::record`].
#[derive(Debug, Clone, Copy)]
pub struct MappedRecord<'a> {
    mapping: &'a Mapping,
    row: &'a SourceRow,
}

impl Serialize for MappedRecord<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let kept = self.mapping.columns.iter().filter(|c| c.target != self.mapping.key_column);
        let mut map = serializer.serialize_map(Some(kept.clone().count() + 1))?;
        map.serialize_entry(&self.mapping.key_column, &self.row.key)?;
        for column in kept {
            map.serialize_entry(&column.target, self.row.fields.get(&column.source).unwrap_or(&Value::Null))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_serialised_record_is_the_applied_record() {
        let row = SourceRow {
            key: "rec1".into(),
            fields: Map::from_iter([
                ("a".to_owned(), json!(1)),
                ("b".to_owned(), json!("x")),
                ("key".to_owned(), json!(9)),
            ]),
        };
        let mapping = Mapping {
            key_column: "key".into(),
            columns: vec![
                ColumnMapping { source: "b".into(), target: "B".into() },
                ColumnMapping { source: "missing".into(), target: "M".into() },
                ColumnMapping { source: "key".into(), target: "key".into() },
            ],
        };
        let applied = Value::Object(mapping.apply(&row));
        assert_eq!(applied, json!({"key": "rec1", "B": "x", "M": null}));
        assert_eq!(serde_json::to_value(mapping.record(&row)).unwrap(), applied);
    }
}
