//! Datasets and their records: streaming import, pages, filters, edits.

use std::io::Read;

use records::{ColumnType, Format, Limits, RowReader, Table};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Transaction, params, params_from_iter};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{OrNotFound, is_unique_violation};
use crate::keyset::{Key, KeysetPage, Order, PageStart, Query};
use crate::{Error, Page, Store, check_name, now_millis, order_by, page_bounds};

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
    /// Deprecated (host API 1.7.0): send 0 and page with the list
    /// command's `cursor`. Read only without a cursor, by an `OFFSET` scan
    /// that reads and drops this many rows first (remotes of host API 1.6).
    pub offset: u64,
    pub limit: u32,
    pub filter: Option<FieldFilter>,
    /// File order when `None`.
    pub sort: Option<RecordSort>,
}

/// Orders records by one of the dataset's columns, over the whole query:
/// numbers by value, text ignoring ASCII case, empty cells last either way,
/// and equal values in file order (so pages neither repeat nor skip a record).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSort {
    pub column: String,
    pub descending: bool,
}

impl Store {
    /// Imports a document as a new dataset, in one transaction: on any error
    /// nothing is kept. CSV and JSON Lines are streamed row by row; the other
    /// formats are whole documents, parsed in memory up to `limits.max_bytes`.
    pub fn import(
        &mut self,
        reader: impl Read,
        options: &ImportOptions,
        on_progress: impl FnMut(ImportProgress),
    ) -> Result<Dataset, Error> {
        let format = options.format;
        if !format.streams() {
            let table = records::read(format, reader, &options.limits)?;
            return self.store_table(&options.name, format, &table, options.progress_every, on_progress);
        }
        self.import_streaming(reader, options, |_, _| Ok(()), on_progress)
    }

    /// A CSV or JSON Lines import in one transaction, with `before_commit`
    /// writing what else belongs to the new dataset (e.g. where it came
    /// from) in the same transaction, so either both are kept or neither.
    pub(crate) fn import_streaming(
        &mut self,
        reader: impl Read,
        options: &ImportOptions,
        before_commit: impl FnOnce(&Transaction<'_>, i64) -> Result<(), Error>,
        mut on_progress: impl FnMut(ImportProgress),
    ) -> Result<Dataset, Error> {
        let format = options.format;
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
        before_commit(&tx, dataset_id)?;
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
        let mut stmt = self.conn.prepare(&format!("{DATASET_SELECT} WHERE deleted_at IS NULL ORDER BY id DESC"))?;
        let rows = stmt.query_map([], dataset_from_row)?;
        rows.map(|r| r?).collect::<Result<Vec<_>, Error>>()
    }

    pub fn dataset(&self, id: i64) -> Result<Dataset, Error> {
        self.conn
            .query_row(&format!("{DATASET_SELECT} WHERE id = ?1 AND deleted_at IS NULL"), [id], dataset_from_row)
            .or_not_found("dataset", id)?
    }

    /// Moves a dataset to the trash: from now on it is not found, but it
    /// keeps its records, requests and responses until [`Store::purge_deleted`]
    /// removes them, so [`Store::restore_dataset`] can undo the delete.
    pub fn delete_dataset(&mut self, id: i64) -> Result<(), Error> {
        let n = self.conn.execute(
            "UPDATE datasets SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![id, now_millis()],
        )?;
        if n == 0 {
            return Err(Error::NotFound { kind: "dataset", id });
        }
        tracing::info!(dataset_id = id, "dataset moved to the trash");
        Ok(())
    }

    /// Takes a deleted dataset back out of the trash, whole.
    pub fn restore_dataset(&mut self, id: i64) -> Result<Dataset, Error> {
        let n = self
            .conn
            .execute("UPDATE datasets SET deleted_at = NULL WHERE id = ?1 AND deleted_at IS NOT NULL", [id])?;
        if n == 0 {
            return Err(Error::NotFound { kind: "dataset in the trash", id });
        }
        tracing::info!(dataset_id = id, "dataset restored from the trash");
        self.dataset(id)
    }

    /// Deletes for good, with their records, requests and responses, the
    /// datasets in the trash for at least `age`. Returns how many went.
    pub fn purge_deleted(&mut self, age: std::time::Duration) -> Result<u64, Error> {
        let cutoff = now_millis().saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX));
        let n =
            self.conn.execute("DELETE FROM datasets WHERE deleted_at IS NOT NULL AND deleted_at <= ?1", [cutoff])?;
        if n > 0 {
            tracing::info!(datasets = n, "purged deleted datasets");
        }
        Ok(n as u64)
    }

    /// A page of a dataset's records, in file order unless `query.sort` says otherwise.
    pub fn records(&self, dataset_id: i64, query: &RecordQuery) -> Result<Page<RecordRow>, Error> {
        // The page is checked before anything is looked up, so a bad page is
        // reported as such whatever the dataset.
        let (offset, limit) = page_bounds(query.offset, query.limit)?;
        let dataset = self.dataset(dataset_id)?;
        let total = self.records_total(&dataset, query)?;
        let RecordSql { where_sql, mut args, sort } = record_sql(&dataset, query)?;
        let order_sql = match sort {
            None => "position".to_owned(),
            Some((sort, ty)) => {
                let path = bind(&mut args, &sort_path(&sort.column));
                let value = format!("{} COLLATE NOCASE", sort_value(ty, dataset.text_cells, &path));
                // `position` last: equal values keep file order, so paging is stable.
                order_by(&[&value], sort.descending, "position")
            }
        };
        let sql = if query.filter.is_none() && query.sort.is_none() {
            // The whole dataset in file order: an import numbers its records
            // 0, 1, 2 … and none is ever removed alone, so row `offset` is the
            // one at that position, found by the index (the Prompt Templates'
            // "record #N" and older remotes' pages), not by counting to it.
            format!(
                "SELECT id, position, data FROM records WHERE {where_sql} AND position >= {offset} ORDER BY position LIMIT {limit}"
            )
        } else {
            format!(
                "SELECT id, position, data FROM records WHERE {where_sql} ORDER BY {order_sql} LIMIT {limit} OFFSET {offset}"
            )
        };
        let mut stmt = self.conn.prepare(&sql)?;
        let raw = stmt
            .query_map(params_from_iter(&args), |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let items = raw
            .into_iter()
            .map(|(id, position, data)| typed_record(&dataset, id, position, &data))
            .collect::<Result<_, _>>()?;
        Ok(Page { total, items, next_cursor: None, previous_cursor: None })
    }

    /// How many records `query`'s filter matches: the dataset's row count
    /// without one, else counted (once per state of the database).
    pub(crate) fn records_total(&self, dataset: &Dataset, query: &RecordQuery) -> Result<u64, Error> {
        if query.filter.is_none() {
            return Ok(dataset.row_count);
        }
        let RecordSql { where_sql, args, .. } = record_sql(dataset, query)?;
        let list = format!("records@{}", crate::keyset::scope_digest(&(dataset.id, &query.filter)));
        self.count_once(list, || {
            let sql = format!("SELECT count(*) FROM records WHERE {where_sql}");
            let n: i64 = self.conn.query_row(&sql, params_from_iter(&args), |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// A page of records found by keyset (see [`PageStart`]): the filter and
    /// order of [`Store::records`] (`query.offset` is not read). In file
    /// order a deep page is an index seek on `(dataset_id, position)`; sorted
    /// by a column, the rows past the cursor are still sorted (a JSON cell
    /// has no index) but never counted off one by one. No total: the
    /// dataset's `row_count`, or [`Store::records`] once with a filter.
    pub fn records_page(
        &self,
        dataset_id: i64,
        query: &RecordQuery,
        start: &PageStart,
    ) -> Result<KeysetPage<RecordRow>, Error> {
        let dataset = self.dataset(dataset_id)?;
        let RecordSql { where_sql, mut args, sort } = record_sql(&dataset, query)?;
        let order = match sort {
            None => Order { name: "records".to_owned(), keys: vec![Key::asc("position")] },
            Some((sort, ty)) => {
                let path = bind(&mut args, &sort_path(&sort.column));
                let value = format!("{} COLLATE NOCASE", sort_value(ty, dataset.text_cells, &path));
                let direction = if sort.descending { "desc" } else { "asc" };
                Order {
                    // The column's name is part of the order: a cursor of another column is refused.
                    name: format!("records:{}:{direction}", Value::String(sort.column.clone())),
                    keys: vec![Key::nullable(value, sort.descending), Key::asc("position")],
                }
            }
        };
        let order = order.scoped(&(dataset_id, &query.filter));
        let from_where = format!("FROM records WHERE {where_sql}");
        let parts = Query { columns: "id, position, data", from_where: &from_where, args, column_count: 3 };
        order.page(&self.conn, parts, start, query.limit, |r| {
            typed_record(&dataset, r.get(0)?, r.get(1)?, &r.get::<_, String>(2)?)
        })
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

/// The `WHERE` of a records query, its parameters, and its sort column.
struct RecordSql<'q> {
    where_sql: String,
    args: Vec<SqlValue>,
    sort: Option<(&'q RecordSort, ColumnType)>,
}

/// Checks `query`'s filter and sort columns against the dataset and builds
/// the SQL that filters in SQLite, over the whole dataset.
fn record_sql<'q>(dataset: &Dataset, query: &'q RecordQuery) -> Result<RecordSql<'q>, Error> {
    // Column names come from the user: they are only ever bound as
    // parameters, never spliced into the SQL. Placeholders are numbered
    // as their values are pushed, so the filter and the sort each bind
    // only what they use.
    let mut args = vec![SqlValue::Integer(dataset.id)];
    let mut where_sql = String::from("dataset_id = ?1");
    if let Some(filter) = &query.filter {
        if !dataset.has_column(&filter.column) {
            return Err(Error::invalid(
                "column",
                format!("the dataset has no column `{}` to filter on", filter.column),
            ));
        }
        let column = bind(&mut args, &filter.column);
        let value = bind(&mut args, &filter.value);
        let test = match filter.op {
            FilterOp::Equals => format!("CAST(value AS TEXT) = {value}"),
            FilterOp::Contains => format!("instr(lower(CAST(value AS TEXT)), lower({value})) > 0"),
        };
        where_sql
            .push_str(&format!(" AND EXISTS (SELECT 1 FROM json_each(records.data) WHERE key = {column} AND {test})"));
    }
    let sort = match &query.sort {
        None => None,
        Some(sort) => {
            let column = dataset
                .columns
                .iter()
                .find(|c| c.name == sort.column)
                .ok_or_else(|| unknown_sort_column(dataset, &sort.column))?;
            Some((sort, column.ty))
        }
    };
    Ok(RecordSql { where_sql, args, sort })
}

/// A JSON path whose key is a JSON string: SQLite (3.45 and later, bundled)
/// reads its escapes, so `a.b`, `$` or a quote in a name is just part of
/// the key. Faster than json_each.
fn sort_path(column: &str) -> String {
    format!("$.{}", Value::String(column.to_owned()))
}

/// Adds a parameter and returns its placeholder.
fn bind(args: &mut Vec<SqlValue>, text: &str) -> String {
    args.push(SqlValue::Text(text.to_owned()));
    format!("?{}", args.len())
}

/// The SQL value a record sorts by: its cell at the bound JSON `path`.
/// SQLite orders numbers (by value) before text, and both before nothing
/// once `NULLS LAST` is asked for. A CSV's cells are stored as the file's
/// text and typed on read (`ColumnType::convert_text`), so they are typed
/// here the same way, or "10" would sort before "9"; any other dataset's
/// cells already have their JSON type.
fn sort_value(ty: ColumnType, text_cells: bool, path: &str) -> String {
    let value = format!("json_extract(records.data, {path})");
    if !text_cells {
        return value;
    }
    // What `str::trim` removes from a CSV cell, near enough.
    let cell = format!("trim({value}, char(32, 9, 10, 13))");
    let typed = match ty {
        // The column's type was inferred from every cell, so its text cells
        // are numbers; the character test only keeps a later edit to text
        // (which `update_record_field` allows) from being read as 0.
        ColumnType::Integer | ColumnType::Number => {
            format!("WHEN {cell} GLOB '*[0-9]*' AND {cell} NOT GLOB '*[^0-9.eE+-]*' THEN CAST({cell} AS NUMERIC)")
        }
        ColumnType::Boolean => format!("WHEN lower({cell}) IN ('true', 'false') THEN lower({cell}) = 'true'"),
        _ => String::new(),
    };
    // An edit may have stored any JSON type, which is shown as it is.
    format!(
        "(CASE WHEN json_type(records.data, {path}) <> 'text' THEN {value} WHEN {cell} = '' THEN NULL {typed} ELSE {value} END)"
    )
}

fn unknown_sort_column(dataset: &Dataset, column: &str) -> Error {
    // A wide dataset would make the message a wall of names.
    const LISTED: usize = 20;
    let mut names: Vec<String> = dataset.column_names().take(LISTED).map(|name| format!("`{name}`")).collect();
    if dataset.columns.len() > LISTED {
        names.push(format!("and {} more", dataset.columns.len() - LISTED));
    }
    let message = if names.is_empty() {
        format!("the dataset has no column `{column}` to sort by; it has no columns at all")
    } else {
        format!("the dataset has no column `{column}` to sort by: sort by one of {}", names.join(", "))
    };
    Error::invalid("sort", message)
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
    // A dataset in the trash gives its name up to a new one (the delete
    // can then no longer be undone): names stay unique without making the
    // user wait for the purge to import the same file again.
    tx.execute("DELETE FROM datasets WHERE name = ?1 AND deleted_at IS NOT NULL", [name])?;
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
