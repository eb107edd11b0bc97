//! Row-at-a-time reading of CSV and JSON Lines: memory stays bounded by the
//! longest row, whatever the file size.

use std::io::{self, BufRead, BufReader, Read};

use serde::de::DeserializeSeed;
use serde_json::Value;

use crate::error::{SourceFault, from_io, strip_location};
use crate::table::{Columns, ObjectSeed};
use crate::{ColumnType, Format, Limits, ParseError, Row, Table};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads rows one at a time from a CSV or JSON Lines source.
///
/// Cells are handed over as the source wrote them: CSV cells as text (empty
/// ones as `null`), JSON Lines values as JSON. [`RowReader::types`] says what
/// each column has held so far; [`ColumnType::convert_text`] turns a CSV cell
/// into the value its column's final type calls for, and [`RowReader::into_table`]
/// does that for you when the whole table fits in memory.
///
/// JSON Lines columns grow as new keys appear, so an early row can be shorter
/// than [`RowReader::columns`] at the end: treat missing cells as `null`.
///
/// ```
/// let csv = "name,age\nAda,36\nAlan,41\n";
/// let mut rows = records::RowReader::csv(csv.as_bytes(), &records::Limits::default())?;
/// assert_eq!(rows.columns(), ["name", "age"]);
/// let mut count = 0;
/// while let Some(row) = rows.next_row()? {
///     assert_eq!(row.len(), 2);
///     count += 1;
/// }
/// assert_eq!(count, 2);
/// assert_eq!(rows.types()[1], records::ColumnType::Integer);
/// # Ok::<(), records::ParseError>(())
/// ```
#[derive(Debug)]
pub struct RowReader<R: Read> {
    source: Source<R>,
    columns: Columns,
    rows_read: u64,
    done: bool,
    /// Where the last row returned began in the source, in bytes.
    row_start: u64,
}

#[derive(Debug)]
enum Source<R: Read> {
    /// `start`: the source offset of the csv reader's byte 0 (after a byte-order mark).
    Csv { reader: Box<csv::Reader<CsvBytes<BufReader<R>>>>, record: csv::StringRecord, slots: Vec<usize>, start: u64 },
    /// `consumed`: bytes of the source read into lines so far.
    JsonLines { reader: BufReader<Counted<R>>, line: Vec<u8>, line_number: u64, consumed: u64 },
}

impl<R: Read> RowReader<R> {
    /// Starts reading CSV: the first record is the header. Fields are
    /// separated by commas and quoted with `"` (RFC 4180); blank lines are
    /// skipped and a UTF-8 byte-order mark is ignored.
    pub fn csv(reader: R, limits: &Limits) -> Result<Self, ParseError> {
        let format = Format::Csv;
        let mut buffered = BufReader::new(reader);
        let bom = skip_bom(&mut buffered).map_err(|e| from_io(format, e))?;
        let bytes = CsvBytes { inner: buffered, read: bom, limit: limits.max_bytes, scan: QuoteScan::default() };
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
        let mut columns = Columns::new(format, limits.max_columns);
        let header = reader.headers().map_err(|e| csv_error(format, e))?.clone();
        let line = header.position().map_or(1, csv::Position::line);
        let slots = columns.header_slots(header.iter(), line)?;
        Ok(RowReader {
            source: Source::Csv { reader: Box::new(reader), record: csv::StringRecord::new(), slots, start: bom },
            columns,
            rows_read: 0,
            done: false,
            row_start: 0,
        })
    }

    /// Starts reading JSON Lines: one JSON object per line; blank lines are skipped.
    pub fn json_lines(reader: R, limits: &Limits) -> Result<Self, ParseError> {
        let format = Format::JsonLines;
        let mut buffered = BufReader::new(Counted { inner: reader, read: 0, limit: limits.max_bytes });
        let bom = skip_bom(&mut buffered).map_err(|e| from_io(format, e))?;
        Ok(RowReader {
            source: Source::JsonLines { reader: buffered, line: Vec::new(), line_number: 0, consumed: bom },
            columns: Columns::new(format, limits.max_columns),
            rows_read: 0,
            done: false,
            row_start: 0,
        })
    }

    /// Starts reading `format`; only CSV and JSON Lines stream.
    pub fn new(format: Format, reader: R, limits: &Limits) -> Option<Result<Self, ParseError>> {
        match format {
            Format::Csv => Some(Self::csv(reader, limits)),
            Format::JsonLines => Some(Self::json_lines(reader, limits)),
            _ => None,
        }
    }

    pub fn format(&self) -> Format {
        self.columns.format
    }

    /// Column names so far, in source order.
    pub fn columns(&self) -> &[String] {
        &self.columns.names
    }

    /// Column types over the rows read so far.
    pub fn types(&self) -> &[ColumnType] {
        &self.columns.types
    }

    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// Where the row [`RowReader::next_row`] returned last began in the
    /// source, in bytes from its start (a byte-order mark included): a
    /// reader placed there by [`crate::RowIndex`] reads that row next.
    pub fn row_start(&self) -> u64 {
        self.row_start
    }

    /// Continues reading rows from `reader`, placed at the start of a row
    /// (a [`RowReader::row_start`]), with the columns a reader of the whole
    /// source ended with. No header is read; the byte limit is not applied
    /// (the whole source was read within it once).
    pub(crate) fn resume(reader: R, columns: &Columns, slots: &[usize]) -> Self {
        let format = columns.format;
        let source = match format {
            Format::JsonLines => Source::JsonLines {
                reader: BufReader::new(Counted { inner: reader, read: 0, limit: u64::MAX }),
                line: Vec::new(),
                line_number: 0,
                consumed: 0,
            },
            _ => {
                let bytes =
                    CsvBytes { inner: BufReader::new(reader), read: 0, limit: u64::MAX, scan: QuoteScan::default() };
                let reader = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes);
                Source::Csv {
                    reader: Box::new(reader),
                    record: csv::StringRecord::new(),
                    slots: slots.to_vec(),
                    start: 0,
                }
            }
        };
        RowReader { source, columns: columns.clone(), rows_read: 0, done: false, row_start: 0 }
    }

    /// The column slots of a CSV header (empty for JSON Lines).
    pub(crate) fn slots(&self) -> &[usize] {
        match &self.source {
            Source::Csv { slots, .. } => slots,
            Source::JsonLines { .. } => &[],
        }
    }

    pub(crate) fn into_columns(self) -> Columns {
        self.columns
    }

    /// Bytes consumed from the source so far, for a progress bar.
    pub fn bytes_read(&self) -> u64 {
        match &self.source {
            Source::Csv { reader, .. } => reader.get_ref().read,
            Source::JsonLines { reader, .. } => reader.get_ref().read,
        }
    }

    /// The next row, `Ok(None)` at the end. After an error the reader is
    /// finished: positions after a malformed row cannot be trusted.
    pub fn next_row(&mut self) -> Result<Option<Row>, ParseError> {
        if self.done {
            return Ok(None);
        }
        let result = match &mut self.source {
            Source::Csv { reader, record, slots, start } => {
                let row = next_csv(reader, record, slots, &mut self.columns);
                self.row_start = *start + record.position().map_or(0, csv::Position::byte);
                row
            }
            Source::JsonLines { reader, line, line_number, consumed } => {
                next_json_line(reader, line, line_number, consumed, &mut self.row_start, &mut self.columns)
            }
        };
        match &result {
            Ok(Some(_)) => self.rows_read += 1,
            Ok(None) | Err(_) => self.done = true,
        }
        result
    }

    /// Reads every remaining row into a [`Table`] with typed cells.
    pub fn into_table(mut self) -> Result<Table, ParseError> {
        let mut rows = Vec::new();
        while let Some(row) = self.next_row()? {
            rows.push(row);
        }
        let text_cells = self.columns.format == Format::Csv;
        Ok(Table::assemble(self.columns, rows, text_cells))
    }
}

impl<R: Read> Iterator for RowReader<R> {
    type Item = Result<Row, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_row().transpose()
    }
}

fn next_csv<R: Read>(
    reader: &mut csv::Reader<CsvBytes<R>>,
    record: &mut csv::StringRecord,
    slots: &[usize],
    columns: &mut Columns,
) -> Result<Option<Row>, ParseError> {
    let format = columns.format;
    if !reader.read_record(record).map_err(|e| csv_error(format, e))? {
        return Ok(None);
    }
    // The csv crate already rejects rows whose length differs from the header.
    let mut row = vec![Value::Null; columns.names.len()];
    for (field, &slot) in record.iter().zip(slots) {
        let ty = ColumnType::of_text(field);
        columns.observe(slot, ty);
        if ty != ColumnType::Empty {
            row[slot] = Value::String(field.to_owned());
        }
    }
    Ok(Some(row))
}

fn next_json_line<R: Read>(
    reader: &mut BufReader<Counted<R>>,
    line: &mut Vec<u8>,
    line_number: &mut u64,
    consumed: &mut u64,
    row_start: &mut u64,
    columns: &mut Columns,
) -> Result<Option<Row>, ParseError> {
    let format = columns.format;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', line).map_err(|e| from_io(format, e))?;
        if n == 0 {
            return Ok(None);
        }
        *row_start = *consumed;
        *consumed += n as u64;
        *line_number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // Without its line ending, a cut-off object is reported at the end of
        // its own line rather than at column 0 of the next.
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        let mut de = serde_json::Deserializer::from_slice(content);
        let parsed = ObjectSeed { columns: &mut *columns }.deserialize(&mut de).and_then(|row| de.end().map(|()| row));
        return match parsed {
            Ok(row) => Ok(Some(row)),
            Err(err) => {
                Err(ParseError::malformed(format, *line_number, err.column().max(1) as u64, json_lines_message(&err)))
            }
        };
    }
}

fn json_lines_message(err: &serde_json::Error) -> String {
    let detail = strip_location(&err.to_string(), err.line() as u64, err.column() as u64, 0);
    match err.classify() {
        serde_json::error::Category::Eof => {
            format!(
                "{detail}: this line ends before its JSON object does; each record must be a complete object on one line"
            )
        }
        serde_json::error::Category::Data => {
            format!("{detail}; each line must hold one JSON object such as {{\"name\": \"Ada\"}}")
        }
        _ => format!("{detail}; each line must hold one complete JSON object"),
    }
}

fn csv_error(format: Format, err: csv::Error) -> ParseError {
    let line_of = |pos: Option<&csv::Position>| pos.map_or(1, csv::Position::line);
    match err.into_kind() {
        csv::ErrorKind::Io(io) => from_io(format, io),
        csv::ErrorKind::UnequalLengths { pos, expected_len, len } => ParseError::malformed(
            format,
            line_of(pos.as_ref()),
            1,
            format!(
                "this row has {len} fields but the header has {expected_len}; every row needs one field per column \
                 (a field that contains a comma must be quoted: \"Smith, Ada\")"
            ),
        ),
        csv::ErrorKind::Utf8 { pos, err } => ParseError::malformed(
            format,
            line_of(pos.as_ref()),
            1,
            format!(
                "field {} of this row is not valid UTF-8; save the file as UTF-8 and import it again",
                err.field() + 1
            ),
        ),
        other => ParseError::malformed(format, 1, 1, format!("{other:?}")),
    }
}

/// Skips a UTF-8 byte-order mark (spreadsheets write one) and returns its length.
fn skip_bom<R: Read>(reader: &mut BufReader<R>) -> io::Result<u64> {
    if reader.fill_buf()?.starts_with(UTF8_BOM) {
        reader.consume(UTF8_BOM.len());
        return Ok(UTF8_BOM.len() as u64);
    }
    Ok(0)
}

/// A reader that refuses to go past the byte limit.
#[derive(Debug)]
pub(crate) struct Counted<R> {
    pub(crate) inner: R,
    pub(crate) read: u64,
    pub(crate) limit: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(SourceFault::TooLarge { limit_bytes: self.limit }.into_io());
        }
        Ok(n)
    }
}

/// The bytes under the csv crate: limited, and watched for a quote that is
/// never closed. The csv crate ends such a field silently at end of input,
/// swallowing the rest of the file into one cell; an analyst needs to hear
/// where the quote was opened instead.
#[derive(Debug)]
struct CsvBytes<R> {
    inner: R,
    read: u64,
    limit: u64,
    scan: QuoteScan,
}

impl<R: Read> Read for CsvBytes<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            if let Some((line, column)) = self.scan.open_quote() {
                return Err(SourceFault::UnterminatedQuote { line, column }.into_io());
            }
            return Ok(0);
        }
        self.read += n as u64;
        if self.read > self.limit {
            return Err(SourceFault::TooLarge { limit_bytes: self.limit }.into_io());
        }
        self.scan.feed(&buf[..n]);
        Ok(n)
    }
}

/// Tracks RFC 4180 quoting the way csv-core does with its default settings
/// (`"` quotes, `""` escapes, `,` separates, CR/LF end records; a quote
/// after the start of a field is an ordinary character).
#[derive(Debug, Clone)]
struct QuoteScan {
    state: QuoteState,
    line: u64,
    column: u64,
    opened_at: (u64, u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl Default for QuoteScan {
    fn default() -> Self {
        QuoteScan { state: QuoteState::FieldStart, line: 1, column: 0, opened_at: (1, 1) }
    }
}

impl QuoteScan {
    fn feed(&mut self, bytes: &[u8]) {
        use QuoteState::*;
        for &b in bytes {
            if b == b'\n' {
                self.line += 1;
                self.column = 0;
            } else if b != b'\r' && (b & 0xC0) != 0x80 {
                // Count characters, not UTF-8 continuation bytes.
                self.column += 1;
            }
            self.state = match (self.state, b) {
                (FieldStart, b'"') => {
                    self.opened_at = (self.line, self.column);
                    Quoted
                }
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (QuoteInQuoted, b'"') => Quoted,
                (FieldStart | Unquoted | QuoteInQuoted, b',' | b'\n' | b'\r') => FieldStart,
                (FieldStart | Unquoted | QuoteInQuoted, _) => Unquoted,
            };
        }
    }

    fn open_quote(&self) -> Option<(u64, u64)> {
        (self.state == QuoteState::Quoted).then_some(self.opened_at)
    }
}

#[cfg(test)]
mod tests {
    use super::QuoteScan;

    fn open_quote(text: &str) -> Option<(u64, u64)> {
        let mut scan = QuoteScan::default();
        // Feed in small pieces: chunk borders must not matter.
        for chunk in text.as_bytes().chunks(3) {
            scan.feed(chunk);
        }
        scan.open_quote()
    }

    #[test]
    fn finds_the_quote_that_never_closes() {
        assert_eq!(open_quote("a,b\n1,\"two\"\n"), None);
        assert_eq!(open_quote("a,b\n1,\"say \"\"hi\"\"\"\n"), None);
        assert_eq!(open_quote("a,b\n1,\"multi\nline\"\n"), None);
        assert_eq!(open_quote("a,b\n1,x\"y\n"), None, "a quote inside an unquoted field is literal");
        assert_eq!(open_quote("a,b\n1,\"two\n3,4\n"), Some((2, 3)));
        assert_eq!(open_quote("a,b\r\né,\"x\n"), Some((2, 3)), "columns count characters");
    }
}
