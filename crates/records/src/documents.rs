//! Whole-document formats: JSON arrays, YAML sequences and Markdown tables.
//! These hold the document in memory (bounded by [`crate::Limits::max_bytes`]).

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use serde::Deserialize;
use serde::de::DeserializeSeed;
use serde_json::{Map, Value};

use crate::error::strip_location;
use crate::table::{Columns, OrderedObject, RecordsSeed};
use crate::{ColumnType, Format, Limits, ParseError, Row, Table};

pub(crate) fn parse_json(input: &[u8], limits: &Limits) -> Result<Table, ParseError> {
    let format = Format::Json;
    let mut columns = Columns::new(format, limits.max_columns);
    let mut rows = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(input);
    let parsed = RecordsSeed { columns: &mut columns, rows: &mut rows }.deserialize(&mut de).and_then(|()| de.end());
    if let Err(err) = parsed {
        let (line, column) = (err.line().max(1) as u64, err.column().max(1) as u64);
        let message = strip_location(&err.to_string(), err.line() as u64, err.column() as u64, 0);
        let hint = match err.classify() {
            serde_json::error::Category::Eof => "; the document ends early: check for a missing ] or }",
            serde_json::error::Category::Data => "; a JSON import is an array of objects: [{\"name\": \"Ada\"}, …]",
            _ => "",
        };
        return Err(ParseError::malformed(format, line, column, format!("{message}{hint}")));
    }
    Ok(Table::assemble(columns, rows, false))
}

pub(crate) fn parse_yaml(text: &str, limits: &Limits) -> Result<Table, ParseError> {
    let format = Format::Yaml;
    let mut columns = Columns::new(format, limits.max_columns);
    let mut rows = Vec::new();
    let de = serde_norway::Deserializer::from_str(text);
    RecordsSeed { columns: &mut columns, rows: &mut rows }
        .deserialize(de)
        .map_err(|err| yaml_error(format, &err, 0, "a YAML import is a list of mappings (- name: Ada)"))?;
    Ok(Table::assemble(columns, rows, false))
}

/// `line_offset` shifts positions when the YAML is embedded (front matter).
fn yaml_error(format: Format, err: &serde_norway::Error, line_offset: u64, hint: &str) -> ParseError {
    let (line, column) = err.location().map_or((1, 1), |l| (l.line().max(1) as u64, l.column().max(1) as u64));
    let message = strip_location(&err.to_string(), line, column, line_offset);
    ParseError::malformed(format, line + line_offset, column, format!("{message}; {hint}"))
}

/// Markdown: rows come from every pipe table (columns merged by name, in
/// order of first appearance); YAML front matter is returned beside them, and
/// becomes the single record of a document that has no table.
pub(crate) fn parse_markdown(text: &str, limits: &Limits) -> Result<Table, ParseError> {
    let format = Format::Markdown;
    let (front_matter, body, body_line) = split_front_matter(text)?;
    let mut columns = Columns::new(format, limits.max_columns);
    let mut rows: Vec<Row> = Vec::new();
    let mut saw_table = false;

    // Per table: which column each cell position feeds.
    let mut slots: Vec<usize> = Vec::new();
    let mut cells: Vec<String> = Vec::new();
    let mut cell: Option<String> = None;
    let mut row_start = 0usize;

    for (event, range) in Parser::new_ext(body, Options::ENABLE_TABLES).into_offset_iter() {
        match event {
            Event::Start(Tag::Table(_)) => {
                saw_table = true;
                slots.clear();
            }
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                cells.clear();
                row_start = range.start;
            }
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => cells.extend(cell.take().map(|c| c.trim().to_owned())),
            Event::End(TagEnd::TableHead) => {
                let line = body_line + line_column(body, row_start).0 - 1;
                slots = columns.header_slots(cells.iter().map(String::as_str), line)?;
            }
            Event::End(TagEnd::TableRow) => {
                let mut row = vec![Value::Null; columns.names.len()];
                for (text, &slot) in cells.drain(..).zip(&slots) {
                    let ty = ColumnType::of_text(&text);
                    columns.observe(slot, ty);
                    if ty != ColumnType::Empty {
                        row[slot] = Value::String(text);
                    }
                }
                rows.push(row);
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = cell.as_mut() {
                    c.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(c) = cell.as_mut() {
                    c.push(' ');
                }
            }
            Event::InlineHtml(html) => {
                // `<br>` is how people put line breaks in table cells.
                if let Some(c) = cell.as_mut()
                    && html.trim_start_matches('<').trim_start_matches('/').to_ascii_lowercase().starts_with("br")
                {
                    c.push(' ');
                }
            }
            _ => {}
        }
    }

    let front_map = front_matter.as_ref().map(|pairs| pairs.iter().cloned().collect::<Map<_, _>>());
    if !saw_table {
        match front_matter {
            Some(pairs) => {
                let mut row = Row::new();
                for (key, value) in pairs {
                    let slot = columns.slot(&key).ok_or_else(|| columns.too_many(2, 1))?;
                    row.resize(row.len().max(slot + 1), Value::Null);
                    columns.observe(slot, ColumnType::of_value(&value));
                    row[slot] = value;
                }
                rows.push(row);
                let mut table = Table::assemble(columns, rows, false);
                table.front_matter = front_map;
                return Ok(table);
            }
            None if body.trim().is_empty() => return Ok(Table::default()),
            None => {
                return Err(ParseError::malformed(
                    format,
                    body_line,
                    1,
                    "found no pipe table in this Markdown document; records come from a table such as \
                     `| name | age |` / `|---|---|` / `| Ada | 36 |`, or from YAML front matter between --- lines",
                ));
            }
        }
    }
    let mut table = Table::assemble(columns, rows, true);
    table.front_matter = front_map;
    Ok(table)
}

type FrontMatter = Option<Vec<(String, Value)>>;

/// Splits `---` front matter from the body. Only a block that opens on the
/// first line and is closed by `---` or `...` counts, as in Jekyll and Hugo;
/// pulldown-cmark's metadata option would also take a `---` rule pair in the
/// middle of a document. Returns the body and its first line number.
fn split_front_matter(text: &str) -> Result<(FrontMatter, &str, u64), ParseError> {
    let mut lines = text.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("---") {
        return Ok((None, text, 1));
    }
    let yaml_start = text.find('\n').map_or(text.len(), |i| i + 1);
    let mut offset = yaml_start;
    for (line_number, line) in (2u64..).zip(lines) {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed == "..." {
            let yaml = &text[yaml_start..offset];
            let body = &text[offset + line.len()..];
            let pairs = parse_front_matter(yaml)?;
            return Ok((Some(pairs), body, line_number + 1));
        }
        offset += line.len();
    }
    // Never closed: CommonMark reads it as a rule and text, and so do we.
    Ok((None, text, 1))
}

fn parse_front_matter(yaml: &str) -> Result<Vec<(String, Value)>, ParseError> {
    if yaml.trim().is_empty() {
        return Ok(Vec::new());
    }
    OrderedObject::deserialize(serde_norway::Deserializer::from_str(yaml)).map(|object| object.0).map_err(|err| {
        yaml_error(Format::Markdown, &err, 1, "front matter must be YAML field: value lines between two --- lines")
    })
}

/// 1-based line and character column of `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (u64, u64) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count() as u64;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let column = 1 + before[line_start..].iter().filter(|&&b| (b & 0xC0) != 0x80).count() as u64;
    (line, column)
}
