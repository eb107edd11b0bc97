//! Datasets and their records: streaming import, pages, filters, edits.

use std::io::Read;

use records::{ColumnType, Format, Limits, RowReader, Table};
use rusqlite::{Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{OrNotFound, is_unique_violation};
use crate::{Error, Page, Store, check_name, now_millis, page_bounds};

/// One column of a dataset.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
}

/// A dataset as the datasets list shows it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub id: i64,
    pub name: String,
    pub format: Format,
    pub columns: Vec<Column>,
    pub row_count: u64,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Cells are stored as the file's text and typed on read (CSV).
    #[serde(skip)]
    pub(crate) text_cells: bool,
}

impl Dataset {
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    fn has_column(&self, name: &str) -> bool {
        self.column_names().any(|c| c == name)
    }
}

/// How to import one file.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The new dataset's name (unique).
    pub name: String,
    pub format: Format,
    pub limits: Limits,
    /// Rows between two progress reports.
    pub progress_every: u64,
}

impl ImportOptions {
    pub fn new(name: impl Into<String>, format: Format) -> Self {
        ImportOptions { name: name.into(), format, limits: Limits::default(), progress_every: 5_000 }
    }
}

/// How far an import has got, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportProgress {
    pub rows: u64,
    /// Bytes read from the source (streaming formats only, else 0).
    pub bytes: u64,
}

/// One record, with typed values.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordRow {
    pub id: i64,
    /// 0-based row number in the imported file.
    pub position: u64,
    #[cfg_attr(feature = "ts", ts(type = "Record<string, JsonValue>"))]
    pub fields: Map<String, Value>,
}

/// How a [`FieldFilter`] compares.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    /// The field's text is exactly the value.
    Equals,
    /// The field's text contains the value, ignoring ASCII case.
    Contains,
}

/// Keeps records whose `column` matches `value`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldFilter {
    pub column: String,
    pub op: FilterOp,
    pub value: String,
}

/// A page of records, optionally filtered.
// An argument: serde reads a missing `Option` field as `None`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordQuery {
    pub offset: u64,
    pub limit: u32,
    pub filter: Option<FieldFilter>,
}

impl Store {
    /// Imports a document as a new dataset, in one transaction: on any error
    /// nothing is kept. CSV and JSON Lines are streamed row by row; the other
    /// formats are whole documents, parsed in memory up to `limits.max_bytes`.
    pub fn import(
        &mut self,
        reader: impl Read,
        options: &ImportOptions,
        mut on_progress: impl FnMut(ImportProgress),
    ) -> Result<Dataset, Error> {
        let format = options.format;
        if !format.streams() {
            let table = records::read(format, reader, &options.limits)?;
            return self.store_table(&options.name, format, &table, options.progress_every, on_progress);
        }
        let name = check_name("name", &options.name)?;
        let tx = self.conn.transaction()?;
        // CSV rows stream as the file's text; the column types are only known at the end.
        let dataset_id = insert_dataset(&tx, &name, format, format == Format::Csv)?;
        let every = options.progress_every.max(1);
        let mut rows = RowReader::new(format, reader, &options.limits)
            .ok_or_else(|| Error::State(format!("{format} does not stream")))??;
        let mut insert = RowInserter::new(&tx, dataset_id)?;
        while let Some(row) = rows.next_row()? {
            insert.row(rows.columns(), &row)?;
            if insert.count % every == 0 {
                on_progress(ImportProgress { rows: insert.count, bytes: rows.bytes_read() });
            }
        }
        let count = insert.count;
        drop(insert);
        finish_dataset(tx, dataset_id, format, &columns_of(rows.columns(), rows.types()), count, on_progress)?;
        self.dataset(dataset_id)
    }

    /// Stores a table parsed elsewhere (e.g. by the local stack's parsers
    /// service) as a new dataset named `name`, in one transaction: on any
    /// error nothing is kept. `format` is the format the table was parsed from.
    pub fn import_table(&mut self, name: &str, format: Format, table: &Table) -> Result<Dataset, Error> {
        self.store_table(name, format, table, u64::MAX, |_| {})
    }

    /// The one code path that writes a whole parsed table.
    fn store_table(
        &mut self,
        name: &str,
        format: Format,
        table: &Table,
        progress_every: u64,
        mut on_progress: impl FnMut(ImportProgress),
    ) -> Result<Dataset, Error> {
        let name = check_name("name", name)?;
        if table.types.len() != table.columns.len() {
            return Err(Error::invalid(
                "table",
                format!(
                    "it has {} columns but {} column types; parse the document again",
                    table.columns.len(),
                    table.types.len()
                ),
            ));
        }
        let tx = self.conn.transaction()?;
        // A parsed table's cells are already typed, whatever the format.
        let dataset_id = insert_dataset(&tx, &name, format, false)?;
        let every = progress_every.max(1);
        let mut insert = RowInserter::new(&tx, dataset_id)?;
        for row in &table.rows {
            insert.row(&table.columns, row)?;
            if insert.count % every == 0 {
                on_progress(ImportProgress { rows: insert.count, bytes: 0 });
            }
        }
        let count = insert.count;
        drop(insert);
        finish_dataset(tx, dataset_id, format, &columns_of(&table.columns, &table.types), count, on_progress)?;
        self.dataset(dataset_id)
    }

    /// Every dataset, newest first.
    pub fn datasets(&self) -> Result<Vec<Dataset>, Error> {
        let mut stmt = self.conn.prepare(&format!("{DATASET_SELECT} ORDER BY id DESC"))?;
        let rows = stmt.query_map([], dataset_from_row)?;
        rows.map(|r| r?).collect::<Result<Vec<_>, Error>>()
    }

    pub fn dataset(&self, id: i64) -> Result<Dataset, Error> {
        self.conn
            .query_row(&format!("{DATASET_SELECT} WHERE id = ?1"), [id], dataset_from_row)
            .or_not_found("dataset", id)?
    }

    /// Deletes a dataset with its records, requests and responses.
    pub fn delete_dataset(&mut self, id: i64) -> Result<(), Error> {
        let n = self.conn.execute("DELETE FROM datasets WHERE id = ?1", [id])?;
        if n == 0 {
            return Err(Error::NotFound { kind: "dataset", id });
        }
        Ok(())
    }

    /// A page of a dataset's records in file order.
    pub fn records(&self, dataset_id: i64, query: &RecordQuery) -> Result<Page<RecordRow>, Error> {
        // The page is checked before anything is looked up, so a bad page is
        // reported as such whatever the dataset.
        let (offset, limit) = page_bounds(query.offset, query.limit)?;
        let dataset = self.dataset(dataset_id)?;
        let (filter_sql, column, pattern) = match &query.filter {
            None => (String::new(), String::new(), String::new()),
            Some(filter) => {
                if !dataset.has_column(&filter.column) {
                    return Err(Error::invalid(
                        "column",
                        format!("the dataset has no column `{}` to filter on", filter.column),
                    ));
                }
                let test = match filter.op {
                    FilterOp::Equals => "CAST(value AS TEXT) = ?3",
                    FilterOp::Contains => "instr(lower(CAST(value AS TEXT)), lower(?3)) > 0",
                };
                // json_each matches the key exactly, so no column name needs escaping into a JSON path.
                let sql = format!(" AND EXISTS (SELECT 1 FROM json_each(records.data) WHERE key = ?2 AND {test})");
                (sql, filter.column.clone(), filter.value.clone())
            }
        };
        let where_sql = format!("dataset_id = ?1{filter_sql}");
        let bind_filter = query.filter.is_some();
        let total: i64 = if bind_filter {
            self.conn.query_row(
                &format!("SELECT count(*) FROM records WHERE {where_sql}"),
                params![dataset_id, column, pattern],
                |r| r.get(0),
            )?
        } else {
            i64::try_from(dataset.row_count).unwrap_or(i64::MAX)
        };
        let sql = format!(
            "SELECT id, position, data FROM records WHERE {where_sql} ORDER BY position LIMIT {limit} OFFSET {offset}"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let map = |r: &rusqlite::Row<'_>| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?));
        let raw: Vec<(i64, i64, String)> = if bind_filter {
            stmt.query_map(params![dataset_id, column, pattern], map)?.collect::<Result<_, _>>()?
        } else {
            stmt.query_map(params![dataset_id], map)?.collect::<Result<_, _>>()?
        };
        let items = raw
            .into_iter()
            .map(|(id, position, data)| typed_record(&dataset, id, position, &data))
            .collect::<Result<_, _>>()?;
        Ok(Page { total: u64::try_from(total).unwrap_or(0), items })
    }

    /// One record with typed values.
    pub fn record(&self, record_id: i64) -> Result<RecordRow, Error> {
        let (dataset_id, position, data): (i64, i64, String) = self
            .conn
            .query_row("SELECT dataset_id, position, data FROM records WHERE id = ?1", [record_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .or_not_found("record", record_id)?;
        let dataset = self.dataset(dataset_id)?;
        typed_record(&dataset, record_id, position, &data)
    }

    /// Sets one field of a record. The value is stored as given (its JSON
    /// type wins over the column's); requests already rendered keep their text.
    pub fn update_record_field(&mut self, record_id: i64, column: &str, value: Value) -> Result<RecordRow, Error> {
        let record = self.record(record_id)?;
        let dataset_id: i64 =
            self.conn.query_row("SELECT dataset_id FROM records WHERE id = ?1", [record_id], |r| r.get(0))?;
        let dataset = self.dataset(dataset_id)?;
        if !dataset.has_column(column) {
            return Err(Error::invalid(
                "column",
                format!("the dataset has no column `{column}`: edit one of its columns"),
            ));
        }
        let mut fields = record.fields;
        fields.insert(column.to_owned(), value);
        self.conn.execute(
            "UPDATE records SET data = ?1 WHERE id = ?2",
            params![Value::Object(fields).to_string(), record_id],
        )?;
        self.record(record_id)
    }

    /// Walks every record of a dataset in order without holding them all.
    pub(crate) fn for_each_record(
        tx: &Transaction<'_>,
        dataset: &Dataset,
        mut f: impl FnMut(i64, &Map<String, Value>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let mut stmt = tx.prepare("SELECT id, position, data FROM records WHERE dataset_id = ?1 ORDER BY position")?;
        let mut rows = stmt.query([dataset.id])?;
        while let Some(row) = rows.next()? {
            let record = typed_record(dataset, row.get(0)?, row.get(1)?, &row.get::<_, String>(2)?)?;
            f(record.id, &record.fields)?;
        }
        Ok(())
    }
}

const DATASET_SELECT: &str = "SELECT id, name, format, columns, row_count, created_at, text_cells FROM datasets";

fn dataset_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Dataset, Error>> {
    let format: String = r.get(2)?;
    let columns: String = r.get(3)?;
    let row_count: i64 = r.get(4)?;
    let dataset = (|| {
        Ok(Dataset {
            id: r.get(0)?,
            name: r.get(1)?,
            format: format
                .parse()
                .map_err(|e: records::UnknownFormat| Error::State(format!("stored dataset format: {e}")))?,
            columns: serde_json::from_str(&columns).map_err(json_bug)?,
            row_count: u64::try_from(row_count).unwrap_or(0),
            created_at: r.get(5)?,
            text_cells: r.get(6)?,
        })
    })();
    Ok(dataset)
}

fn insert_dataset(tx: &Transaction<'_>, name: &str, format: Format, text_cells: bool) -> Result<i64, Error> {
    let inserted = tx.execute(
        "INSERT INTO datasets (name, format, text_cells, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![name, format.id(), text_cells, now_millis()],
    );
    match inserted {
        Ok(_) => Ok(tx.last_insert_rowid()),
        Err(e) if is_unique_violation(&e) => Err(Error::NameTaken { kind: "dataset", name: name.to_owned() }),
        Err(e) => Err(e.into()),
    }
}

/// Records the dataset's columns and row count, commits its rows, and
/// reports the final count.
fn finish_dataset(
    tx: Transaction<'_>,
    dataset_id: i64,
    format: Format,
    columns: &[Column],
    rows: u64,
    mut on_progress: impl FnMut(ImportProgress),
) -> Result<(), Error> {
    tx.execute(
        "UPDATE datasets SET columns = ?1, row_count = ?2 WHERE id = ?3",
        params![serde_json::to_string(columns).map_err(json_bug)?, rows, dataset_id],
    )?;
    tx.commit()?;
    on_progress(ImportProgress { rows, bytes: 0 });
    tracing::info!(dataset_id, rows, %format, "imported dataset");
    Ok(())
}

fn columns_of(names: &[String], types: &[ColumnType]) -> Vec<Column> {
    names.iter().zip(types).map(|(name, ty)| Column { name: name.clone(), ty: *ty }).collect()
}

/// Inserts rows as JSON objects with one reused statement and buffer.
struct RowInserter<'t> {
    stmt: rusqlite::Statement<'t>,
    dataset_id: i64,
    count: u64,
    buffer: Vec<u8>,
}

impl<'t> RowInserter<'t> {
    fn new(tx: &'t Transaction<'_>, dataset_id: i64) -> Result<Self, Error> {
        Ok(RowInserter {
            stmt: tx.prepare("INSERT INTO records (dataset_id, position, data) VALUES (?1, ?2, ?3)")?,
            dataset_id,
            count: 0,
            buffer: Vec::new(),
        })
    }

    fn row(&mut self, columns: &[String], row: &[Value]) -> Result<(), Error> {
        self.buffer.clear();
        serde_json::to_writer(&mut self.buffer, &RowObject { columns, row }).map_err(json_bug)?;
        // serde_json writes UTF-8; the lossless conversion never copies.
        let text = std::str::from_utf8(&self.buffer).map_err(|e| Error::State(e.to_string()))?;
        self.stmt.execute(params![self.dataset_id, self.count, text])?;
        self.count += 1;
        Ok(())
    }
}

/// A row serialised as `{column: value}` without building a map first.
struct RowObject<'a> {
    columns: &'a [String],
    row: &'a [Value],
}

impl Serialize for RowObject<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // JSON Lines rows can be shorter than the final column list: missing cells are simply absent.
        s.collect_map(self.columns.iter().zip(self.row))
    }
}

pub(crate) fn typed_record(dataset: &Dataset, id: i64, position: i64, data: &str) -> Result<RecordRow, Error> {
    let mut fields: Map<String, Value> = serde_json::from_str(data).map_err(json_bug)?;
    for column in &dataset.columns {
        match fields.get_mut(&column.name) {
            Some(cell) if dataset.text_cells => {
                if let Value::String(text) = cell {
                    *cell = column.ty.convert_text(std::mem::take(text));
                }
            }
            Some(_) => {}
            None => {
                fields.insert(column.name.clone(), Value::Null);
            }
        }
    }
    Ok(RecordRow { id, position: u64::try_from(position).unwrap_or(0), fields })
}

/// JSON written by this crate failed to read back: the database was edited by hand or is damaged.
pub(crate) fn json_bug(e: serde_json::Error) -> Error {
    Error::State(format!("stored JSON is damaged ({e}); re-import the dataset"))
}
