//! Turns the documents an analyst collects (CSV, JSON, JSON Lines, YAML and
//! Markdown tables) into records: a [`Table`] of columns in source order, an
//! inferred [`ColumnType`] per column, and rows aligned to the columns.
//!
//! Both the Record Collector's in-process import and the `parsers` sidecar
//! service use this crate, so a file imports the same way whichever path the
//! app takes. Errors name the line and column to fix ([`ParseError`]).
//!
//! CSV and JSON Lines stream row by row through [`RowReader`], so a 100k-row
//! file imports in bounded memory; the other formats are whole documents and
//! are held in memory up to [`Limits::max_bytes`].
//!
//! ```
//! use records::{ColumnType, Format, Limits};
//!
//! let table = records::parse(Format::Yaml, b"- name: Ada\n  age: 36\n", &Limits::default())?;
//! assert_eq!(table.columns, ["name", "age"]);
//! assert_eq!(table.types, [ColumnType::String, ColumnType::Integer]);
//! assert_eq!(table.rows[0][1], 36);
//! # Ok::<(), records::ParseError>(())
//! ```

mod documents;
mod error;
mod index;
mod stream;
mod table;
mod types;

use std::fmt;
use std::io::Read;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use error::ParseError;
pub use index::RowIndex;
pub use stream::RowReader;
pub use table::{Record, Row, Table};
pub use types::ColumnType;

/// A document format this crate reads.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Format {
    /// Comma-separated values with a header row (RFC 4180 quoting).
    Csv,
    /// An array of objects.
    Json,
    /// One object per line (`.jsonl`, `.ndjson`).
    #[serde(rename = "jsonl")]
    JsonLines,
    /// A sequence of mappings.
    Yaml,
    /// Pipe tables, plus YAML front matter.
    Markdown,
}

impl Format {
    pub const ALL: [Format; 5] = [Format::Csv, Format::Json, Format::JsonLines, Format::Yaml, Format::Markdown];

    /// The short id used in URLs and settings: `csv`, `json`, `jsonl`, `yaml`, `markdown`.
    pub fn id(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::JsonLines => "jsonl",
            Format::Yaml => "yaml",
            Format::Markdown => "markdown",
        }
    }

    /// The format a file extension (without the dot) usually means.
    pub fn from_extension(extension: &str) -> Option<Format> {
        match extension.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            "yaml" | "yml" => Some(Format::Yaml),
            "md" | "markdown" => Some(Format::Markdown),
            _ => None,
        }
    }

    /// Whether [`RowReader`] can read this format a row at a time.
    pub fn streams(self) -> bool {
        matches!(self, Format::Csv | Format::JsonLines)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "CSV",
            Format::Json => "JSON",
            Format::JsonLines => "JSON Lines",
            Format::Yaml => "YAML",
            Format::Markdown => "Markdown",
        })
    }
}

/// The id is not one of [`Format::id`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown format `{}`; expected one of csv, json, jsonl, yaml, markdown", self.0)
    }
}

impl std::error::Error for UnknownFormat {}

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Accepts the ids and the common file extensions.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::from_extension(s).ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// Bounds on what one import may consume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest input accepted, in bytes (default 256 MiB). Streaming formats
    /// check it as they read; the others before parsing.
    pub max_bytes: u64,
    /// Most distinct columns (default 4096): a mis-detected file (wrong
    /// format, a binary) otherwise turns every value into a column.
    pub max_columns: usize,
}

impl Limits {
    pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024 * 1024;
    pub const DEFAULT_MAX_COLUMNS: usize = 4096;
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: Self::DEFAULT_MAX_BYTES, max_columns: Self::DEFAULT_MAX_COLUMNS }
    }
}

/// Parses a whole document held in memory.
pub fn parse(format: Format, input: &[u8], limits: &Limits) -> Result<Table, ParseError> {
    if input.len() as u64 > limits.max_bytes {
        return Err(ParseError::TooLarge { format, limit_bytes: limits.max_bytes });
    }
    match format {
        Format::Csv => RowReader::csv(input, limits)?.into_table(),
        Format::JsonLines => RowReader::json_lines(input, limits)?.into_table(),
        Format::Json => documents::parse_json(strip_bom(input), limits),
        Format::Yaml => documents::parse_yaml(utf8(format, strip_bom(input))?, limits),
        Format::Markdown => documents::parse_markdown(utf8(format, strip_bom(input))?, limits),
    }
}

/// Reads and parses a document from `reader`, never reading more than
/// [`Limits::max_bytes`]. CSV and JSON Lines are parsed as they are read; use
/// [`RowReader`] directly to avoid holding the rows too.
pub fn read<R: Read>(format: Format, reader: R, limits: &Limits) -> Result<Table, ParseError> {
    match format {
        Format::Csv => RowReader::csv(reader, limits)?.into_table(),
        Format::JsonLines => RowReader::json_lines(reader, limits)?.into_table(),
        Format::Json | Format::Yaml | Format::Markdown => {
            let mut input = Vec::new();
            stream::Counted { inner: reader, read: 0, limit: limits.max_bytes }
                .read_to_end(&mut input)
                .map_err(|e| error::from_io(format, e))?;
            parse(format, &input, limits)
        }
    }
}

fn strip_bom(input: &[u8]) -> &[u8] {
    input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input)
}

fn utf8(format: Format, input: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(input).map_err(|err| {
        let valid = &input[..err.valid_up_to()];
        // The valid prefix is UTF-8 by definition.
        let prefix = std::str::from_utf8(valid).unwrap_or_default();
        let (line, column) = documents::line_column(prefix, prefix.len());
        ParseError::malformed(
            format,
            line,
            column,
            "this is not valid UTF-8 text; save the file as UTF-8 and import it again",
        )
    })
}
