//! Pages of a large CSV or JSON Lines file without parsing it again per
//! page (issue 17, point 8): one pass learns the columns, their types, the
//! row count and where every [`RowIndex::STRIDE`]-th row begins; a page is
//! then read by seeking to the checkpoint before it and parsing at most
//! `STRIDE - 1 + limit` rows. The index holds 8 bytes per `STRIDE` rows
//! (32 KiB for a million rows), never the rows.

use std::io::{Read, Seek, SeekFrom};

use serde_json::Value;

use crate::error::from_io;
use crate::table::Columns;
use crate::{ColumnType, Format, Limits, ParseError, Row, RowReader};

/// A CSV or JSON Lines source read once, to page through.
///
/// ```
/// let csv = "name,age\nAda,36\nAlan,41\nGrace,45\n";
/// let index = records::RowIndex::build(records::Format::Csv, csv.as_bytes(), &records::Limits::default())
///     .expect("streams")?;
/// assert_eq!(index.rows(), 3);
/// let page = index.page(std::io::Cursor::new(csv), 1, 10)?;
/// assert_eq!(page[0][0], "Alan");
/// assert_eq!(page[1][1], 45, "cells are typed by the whole column");
/// # Ok::<(), records::ParseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RowIndex {
    columns: Columns,
    slots: Vec<usize>,
    rows: u64,
    bytes: u64,
    /// The source offset of rows 0, STRIDE, 2 × STRIDE, …
    checkpoints: Vec<u64>,
}

impl RowIndex {
    /// Rows between two checkpoints: a page parses at most this many rows it does not return.
    pub const STRIDE: u64 = 256;

    /// Reads all of `reader` once (within `limits`), keeping no rows.
    /// `None` for a format that does not stream (JSON, YAML, Markdown).
    pub fn build<R: Read>(format: Format, reader: R, limits: &Limits) -> Option<Result<RowIndex, ParseError>> {
        let mut rows = match RowReader::new(format, reader, limits)? {
            Ok(rows) => rows,
            Err(err) => return Some(Err(err)),
        };
        let mut checkpoints = Vec::new();
        loop {
            match rows.next_row() {
                Ok(Some(_)) => {
                    if (rows.rows_read() - 1) % Self::STRIDE == 0 {
                        checkpoints.push(rows.row_start());
                    }
                }
                Ok(None) => break,
                Err(err) => return Some(Err(err)),
            }
        }
        let (count, bytes, slots) = (rows.rows_read(), rows.bytes_read(), rows.slots().to_vec());
        Some(Ok(RowIndex { columns: rows.into_columns(), slots, rows: count, bytes, checkpoints }))
    }

    pub fn format(&self) -> Format {
        self.columns.format
    }

    /// Column names in source order.
    pub fn columns(&self) -> &[String] {
        &self.columns.names
    }

    /// Column types over every row.
    pub fn types(&self) -> &[ColumnType] {
        &self.columns.types
    }

    /// How many rows the source holds.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// How many bytes the source holds.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Rows `offset .. offset + limit` (fewer at the end) of the source this
    /// index was built from, typed as [`crate::read`] would type them. The
    /// source must be unchanged since: callers key an index on the file's
    /// length and modification time.
    pub fn page<R: Read + Seek>(&self, mut source: R, offset: u64, limit: usize) -> Result<Vec<Row>, ParseError> {
        let format = self.format();
        if offset >= self.rows || limit == 0 {
            return Ok(Vec::new());
        }
        let checkpoint = offset / Self::STRIDE;
        let start = self.checkpoints[usize::try_from(checkpoint).unwrap_or(usize::MAX).min(self.checkpoints.len() - 1)];
        source.seek(SeekFrom::Start(start)).map_err(|e| from_io(format, e))?;
        let mut reader = RowReader::resume(source, &self.columns, &self.slots);
        for _ in checkpoint * Self::STRIDE..offset {
            if reader.next_row()?.is_none() {
                return Err(changed(format));
            }
        }
        let wanted = usize::try_from(self.rows - offset).unwrap_or(usize::MAX).min(limit);
        let width = self.columns.names.len();
        let mut page = Vec::with_capacity(wanted);
        while page.len() < wanted {
            let Some(mut row) = reader.next_row()? else {
                return Err(changed(format));
            };
            row.resize(width, Value::Null);
            if format == Format::Csv {
                for (cell, ty) in row.iter_mut().zip(&self.columns.types) {
                    if let Value::String(text) = cell {
                        *cell = ty.convert_text(std::mem::take(text));
                    }
                }
            }
            page.push(row);
        }
        Ok(page)
    }
}

/// The source has fewer rows than when it was indexed.
fn changed(format: Format) -> ParseError {
    ParseError::malformed(format, 1, 1, "the file changed while it was being previewed; open it again")
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    /// Every page of the index equals the same rows of a whole-document parse.
    fn pages_match_a_full_parse(format: Format, text: &str) {
        let limits = Limits::default();
        let table = crate::parse(format, text.as_bytes(), &limits).unwrap();
        let index = RowIndex::build(format, text.as_bytes(), &limits).unwrap().unwrap();
        assert_eq!(index.rows(), table.rows.len() as u64);
        assert_eq!(index.columns(), table.columns);
        assert_eq!(index.types(), table.types);
        assert_eq!(index.bytes(), text.len() as u64);
        for offset in [0, 1, 255, 256, 257, 600, 1023, 1024, 1100] {
            for limit in [1, 7, 300] {
                let page = index.page(Cursor::new(text), offset, limit).unwrap();
                let from = (offset as usize).min(table.rows.len());
                let expected = &table.rows[from..(from + limit).min(table.rows.len())];
                assert_eq!(page, expected, "{format} rows {offset}+{limit}");
            }
        }
    }

    #[test]
    fn csv_pages_match_a_full_parse_with_quotes_line_breaks_blank_lines_and_a_bom() {
        let mut csv = String::from("\u{feff}id,note,score,id\n");
        for i in 0..1030 {
            match i % 4 {
                0 => csv.push_str(&format!("{i},\"two\nlines, \"\"quoted\"\"\",{},x\n", i % 7)),
                1 => csv.push_str(&format!("{i},plain,,y\r\n")),
                2 => csv.push_str(&format!("\n{i},\"\",{}.5,z\n", i % 3)),
                _ => csv.push_str(&format!("{i},é ü,{},w\n", i % 5)),
            }
        }
        pages_match_a_full_parse(Format::Csv, &csv);
    }

    #[test]
    fn json_lines_pages_match_a_full_parse_with_columns_that_appear_late() {
        let mut jsonl = String::from("\u{feff}");
        for i in 0..1030 {
            if i % 5 == 0 {
                jsonl.push('\n');
            }
            if i == 900 {
                jsonl.push_str(&format!("{{\"id\": {i}, \"late\": \"new column\"}}\n"));
            } else {
                jsonl.push_str(&format!("{{\"id\": {i}, \"name\": \"n{i}\"}}\r\n"));
            }
        }
        pages_match_a_full_parse(Format::JsonLines, &jsonl);
    }

    #[test]
    fn only_streaming_formats_are_indexed() {
        assert!(RowIndex::build(Format::Json, "[]".as_bytes(), &Limits::default()).is_none());
        let err = RowIndex::build(Format::Csv, "a,b\n1\n".as_bytes(), &Limits::default()).unwrap().unwrap_err();
        assert!(err.to_string().contains("fields"), "{err}");
    }
}
