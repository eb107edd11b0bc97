//! An import from a data store: every page fetched, mapped and spooled as
//! JSON Lines to a temporary file ([`fetch`]), then stored in one transaction
//! with the dataset's origin ([`store_spool`]). Nothing is stored until every
//! page has arrived, so a failure mid-way (network, 401, rate limit) leaves no
//! half dataset, the network phase holds no database lock, and memory stays
//! at one page whatever the table's size.

use std::collections::{BTreeSet, HashSet};
use std::io::{BufReader, BufWriter, Seek as _, Write};

use datastores::mapping::Mapping;
use datastores::{Connector, Source, SourceRow};
use local_data::{Dataset, ImportOptions, NewDatasetSource, Store};
use records::Format;

use crate::Error;

/// The rows of one import, waiting in a temporary file (deleted when dropped).
#[derive(Debug)]
pub struct Spool {
    file: std::fs::File,
    pub rows: u64,
    /// Every source column some row had.
    seen: BTreeSet<String>,
}

/// Checks a mapping's names: a key column, at least one column, every target
/// named once and not the key column's name (unless it is the key's own
/// column), and, given the source's columns, every source among them.
pub fn check_mapping(mapping: &Mapping, known: Option<&BTreeSet<String>>) -> Result<(), Error> {
    if mapping.key_column.trim().is_empty() {
        return Err(Error::invalid(
            "the key column has no name: name the dataset column that will hold each row's key",
        ));
    }
    if mapping.columns.is_empty() {
        return Err(Error::invalid("no column is kept: choose at least one column to import"));
    }
    let mut targets = HashSet::new();
    for column in &mapping.columns {
        if column.target.trim().is_empty() {
            return Err(Error::invalid(format!(
                "column `{}` is mapped to an empty name: give it a name",
                column.source
            )));
        }
        if column.target != column.target.trim() {
            return Err(Error::invalid(format!(
                "the name `{}` (for column `{}`) starts or ends with spaces: remove them",
                column.target, column.source
            )));
        }
        if !targets.insert(column.target.as_str()) {
            return Err(Error::invalid(format!(
                "two columns are mapped to `{}`: give each column its own name",
                column.target
            )));
        }
        if column.target == mapping.key_column && column.source != mapping.key_column {
            return Err(Error::invalid(format!(
                "column `{}` is mapped to `{}`, the name of the key column: rename one of them",
                column.source, mapping.key_column
            )));
        }
    }
    if let Some(known) = known {
        let unknown: Vec<&str> =
            mapping.columns.iter().map(|c| c.source.as_str()).filter(|s| !known.contains(*s)).collect();
        if !unknown.is_empty() {
            let names: Vec<String> = known.iter().take(20).map(|n| format!("`{n}`")).collect();
            return Err(Error::invalid(format!(
                "the table has no column {}; its columns are {}",
                unknown.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                names.join(", ")
            )));
        }
    }
    Ok(())
}

/// Fetches every row, page by page, into a spool; `on_rows` hears the count so far.
pub async fn fetch(connector: &Connector, mapping: &Mapping, mut on_rows: impl FnMut(u64)) -> Result<Spool, Error> {
    check_mapping(mapping, None)?;
    let described: BTreeSet<String> = connector.columns().await?.into_iter().map(|c| c.name).collect();
    let mut out = BufWriter::new(tempfile::tempfile()?);
    let mut seen = described;
    let mut rows = 0u64;
    connector
        .pages(|page| -> std::io::Result<()> {
            for row in &page {
                for name in row.fields.keys() {
                    if !seen.contains(name) {
                        seen.insert(name.clone());
                    }
                }
                write_record(&mut out, mapping, row)?;
            }
            rows += page.len() as u64;
            on_rows(rows);
            Ok(())
        })
        .await?;
    // Known only now: a column may be missing from the rows that leave it empty (Airtable).
    check_mapping(mapping, Some(&seen))?;
    let mut file = out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
    file.rewind()?;
    Ok(Spool { file, rows, seen })
}

/// Stores a spool as dataset `name`, with where it came from, in one transaction.
pub fn store_spool(
    store: &mut Store,
    spool: Spool,
    name: &str,
    connection: &str,
    source: &Source,
    mapping: &Mapping,
) -> Result<Dataset, Error> {
    if spool.rows == 0 {
        return Err(Error::invalid("the table has no rows: there is nothing to import"));
    }
    tracing::debug!(rows = spool.rows, columns = spool.seen.len(), "storing the fetched rows");
    let source =
        serde_json::to_value(source).map_err(|e| Error::invalid(format!("the source does not serialise: {e}")))?;
    let mapping_json =
        serde_json::to_value(mapping).map_err(|e| Error::invalid(format!("the mapping does not serialise: {e}")))?;
    let origin =
        NewDatasetSource { connection, source: &source, key_column: &mapping.key_column, mapping: &mapping_json };
    let options = ImportOptions::new(name, Format::JsonLines);
    Ok(store.import_from_datastore(BufReader::new(spool.file), &options, &origin, |_| {})?)
}

/// Refuses a dataset name in use before anything is fetched.
pub fn check_dataset_name(store: &Store, name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        return Err(Error::invalid("the dataset needs a name"));
    }
    if store.datasets()?.iter().any(|d| d.name == name.trim()) {
        return Err(Error::invalid(format!("a dataset called `{}` already exists: choose another name", name.trim())));
    }
    Ok(())
}

/// [`fetch`] then [`store_spool`], for a caller that owns the store (the CLI).
pub async fn import(
    connector: &Connector,
    mapping: &Mapping,
    store: &mut Store,
    name: &str,
    connection: &str,
    source: &Source,
    on_rows: impl FnMut(u64),
) -> Result<Dataset, Error> {
    check_dataset_name(store, name)?;
    let spool = fetch(connector, mapping, on_rows).await?;
    store_spool(store, spool, name, connection, source, mapping)
}

/// One JSON Lines record: the key column first, then the kept columns in the
/// mapping's order (written by hand because serde_json's map sorts its keys,
/// and the dataset's columns take the order of the first line).
fn write_record(out: &mut impl Write, mapping: &Mapping, row: &SourceRow) -> std::io::Result<()> {
    out.write_all(b"{")?;
    serde_json::to_writer(&mut *out, &mapping.key_column)?;
    out.write_all(b":")?;
    serde_json::to_writer(&mut *out, &row.key)?;
    for column in &mapping.columns {
        if column.target == mapping.key_column {
            continue;
        }
        out.write_all(b",")?;
        serde_json::to_writer(&mut *out, &column.target)?;
        out.write_all(b":")?;
        serde_json::to_writer(&mut *out, row.fields.get(&column.source).unwrap_or(&serde_json::Value::Null))?;
    }
    out.write_all(b"}\n")
}

#[cfg(test)]
mod tests {
    use datastores::mapping::ColumnMapping;
    use serde_json::json;

    use super::*;

    fn mapping(key: &str, columns: &[(&str, &str)]) -> Mapping {
        Mapping {
            key_column: key.into(),
            columns: columns.iter().map(|(s, t)| ColumnMapping { source: (*s).into(), target: (*t).into() }).collect(),
        }
    }

    #[test]
    fn bad_mappings_are_refused_with_what_to_do() {
        let known: BTreeSet<String> = ["Id", "title", "year"].into_iter().map(String::from).collect();
        let cases = [
            (mapping("", &[("title", "title")]), "key column has no name"),
            (mapping("Id", &[]), "at least one column"),
            (mapping("Id", &[("title", "")]), "empty name"),
            (mapping("Id", &[("title", "name"), ("year", "name")]), "two columns are mapped to `name`"),
            (mapping("Id", &[("title", "Id")]), "the name of the key column"),
            (mapping("Id", &[("titel", "title")]), "no column `titel`"),
        ];
        for (mapping, expected) in cases {
            let err = check_mapping(&mapping, Some(&known)).unwrap_err().to_string();
            assert!(err.contains(expected), "{err} (expected {expected})");
        }
        assert!(check_mapping(&mapping("Id", &[("Id", "Id"), ("title", "Book")]), Some(&known)).is_ok());
    }

    #[test]
    fn a_record_keeps_the_mappings_order_with_the_key_first() {
        let row = SourceRow {
            key: "7".into(),
            fields: json!({"b": 1, "a": "x", "Id": 7}).as_object().cloned().unwrap_or_default(),
        };
        let mut out = Vec::new();
        write_record(&mut out, &mapping("Id", &[("b", "second"), ("Id", "Id"), ("a", "first"), ("z", "none")]), &row)
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "{\"Id\":\"7\",\"second\":1,\"first\":\"x\",\"none\":null}\n");
    }
}
