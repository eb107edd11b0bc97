use std::fmt;
use std::io;

use crate::Format;

/// Everything that can go wrong while turning a document into records.
///
/// Every variant says which format was being read; `Malformed` also says where,
/// because the Record Collector shows "line 14, column 7" next to the preview and
/// an analyst fixes the file by going there.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input is not well-formed, or not shaped like records, at this position.
    ///
    /// `line` and `column` are 1-based; `column` counts characters on CSV and
    /// Markdown lines and bytes on JSON lines (as serde_json reports them).
    #[error("line {line}, column {column}: {message}")]
    Malformed { format: Format, line: u64, column: u64, message: String },

    /// The input is larger than [`crate::Limits::max_bytes`].
    #[error(
        "the {format} input is larger than the import limit of {limit_bytes} bytes; split it into smaller files or raise the limit"
    )]
    TooLarge { format: Format, limit_bytes: u64 },

    /// Reading the input failed before it could be parsed.
    #[error("could not read the {format} input: {source}; check that the file is readable and try again")]
    Io {
        format: Format,
        #[source]
        source: io::Error,
    },
}

impl ParseError {
    /// The format that was being parsed.
    pub fn format(&self) -> Format {
        match self {
            ParseError::Malformed { format, .. }
            | ParseError::TooLarge { format, .. }
            | ParseError::Io { format, .. } => *format,
        }
    }

    /// `(line, column)`, both 1-based, when the error has a position in the input.
    pub fn location(&self) -> Option<(u64, u64)> {
        match self {
            ParseError::Malformed { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }

    pub(crate) fn malformed(format: Format, line: u64, column: u64, message: impl Into<String>) -> Self {
        ParseError::Malformed { format, line, column, message: message.into() }
    }
}

/// Faults detected by the byte sources under the CSV and JSON Lines readers.
///
/// They travel through `io::Error` because the csv crate and `BufRead` only
/// know io errors; [`fault_of`] recognises them again on the way out so they
/// become a proper [`ParseError`] instead of an opaque read failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SourceFault {
    TooLarge { limit_bytes: u64 },
    UnterminatedQuote { line: u64, column: u64 },
}

impl fmt::Display for SourceFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceFault::TooLarge { limit_bytes } => write!(f, "input exceeds {limit_bytes} bytes"),
            SourceFault::UnterminatedQuote { line, column } => {
                write!(f, "unterminated quoted field at line {line}, column {column}")
            }
        }
    }
}

impl std::error::Error for SourceFault {}

impl SourceFault {
    pub(crate) fn into_io(self) -> io::Error {
        io::Error::other(self)
    }

    pub(crate) fn into_parse_error(self, format: Format) -> ParseError {
        match self {
            SourceFault::TooLarge { limit_bytes } => ParseError::TooLarge { format, limit_bytes },
            SourceFault::UnterminatedQuote { line, column } => ParseError::malformed(
                format,
                line,
                column,
                "unterminated quoted field: the quote that opens here is never closed, so the rest of the file would be one field; \
                 close the quote, or write a quote inside a quoted field as two quotes (\"\")",
            ),
        }
    }
}

/// The [`SourceFault`] inside an io error, if that is what it carries.
pub(crate) fn fault_of(err: &io::Error) -> Option<SourceFault> {
    err.get_ref().and_then(|inner| inner.downcast_ref::<SourceFault>()).copied()
}

/// An io error from reading `format`, recognising our own faults.
pub(crate) fn from_io(format: Format, err: io::Error) -> ParseError {
    match fault_of(&err) {
        Some(fault) => fault.into_parse_error(format),
        None => ParseError::Io { format, source: err },
    }
}

/// Rewrites serde_json's and libyaml's " at line L column C" suffixes: the
/// error's own position (`line`, `column`) is carried in its fields and
/// printed once, so it is dropped; any other position (libyaml's "while
/// scanning a quoted scalar at line 1 column 6", which is where the problem
/// started) is kept as " (line L, column C)", shifted by `line_offset` when
/// the parsed text starts further down a document (front matter).
pub(crate) fn strip_location(message: &str, line: u64, column: u64, line_offset: u64) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(" at line ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " at line ".len()..];
        let line_digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let column_part = after[line_digits..].strip_prefix(" column ");
        match column_part {
            Some(col) if line_digits > 0 => {
                let col_digits = col.bytes().take_while(u8::is_ascii_digit).count();
                let l: u64 = after[..line_digits].parse().unwrap_or(0);
                let c: u64 = col[..col_digits].parse().unwrap_or(0);
                if (l, c) != (line, column) {
                    out.push_str(&format!(" (line {}, column {c})", l + line_offset));
                }
                rest = &col[col_digits..];
            }
            _ => {
                out.push_str(" at line ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::strip_location;

    #[test]
    fn drops_the_own_position_and_keeps_others() {
        assert_eq!(strip_location("expected value at line 3 column 7", 3, 7, 0), "expected value");
        assert_eq!(
            strip_location(
                "did not find expected key at line 2 column 1, while parsing a block mapping at line 1 column 1",
                2,
                1,
                0
            ),
            "did not find expected key, while parsing a block mapping (line 1, column 1)"
        );
        assert_eq!(strip_location("x at line 3 column 1, y at line 1 column 2", 3, 1, 4), "x, y (line 5, column 2)");
        assert_eq!(strip_location("stop at line breaks", 1, 1, 0), "stop at line breaks");
    }
}
