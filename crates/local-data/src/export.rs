//! Export of responses with their records and insights to CSV, JSON and
//! Markdown, written row by row to any `Write`, or to a file that appears
//! whole or not at all ([`Store::export_responses_to_file`]).
//!
//! Every cell is data from outside (records, prompts, model answers), so the
//! flat formats are escaped for what opens them:
//!
//! - **CSV** follows OWASP's advice on CSV injection: a cell (headers
//!   included) starting with `=`, `+`, `-`, `@`, tab or carriage return gets a
//!   leading `'`, so a spreadsheet shows it as text instead of running it as
//!   a formula. That applies to numbers too: `-3.5` is written `'-3.5`, and
//!   a spreadsheet reads it as text. Whoever needs the numbers takes the JSON
//!   export, which is never altered.
//! - **Markdown** escapes `&`, `<` and `>` as HTML entities (renderers pass
//!   raw HTML through), `\` and `|` with a backslash, and turns every line
//!   ending (LF, CR LF, or a lone CR, which CommonMark also ends a line on)
//!   into `<br>`, so a cell stays in its row and column.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Dataset, Error, ResponseQuery, ResponseRow, Store};

/// An export file format.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One row per response: the fixed columns, then the record's columns.
    /// Cells that would start a spreadsheet formula get a leading `'`.
    Csv,
    /// An array of objects, the record nested under `record`.
    Json,
    /// A pipe table, like the CSV.
    Markdown,
}

impl ExportFormat {
    /// The file name extension (without the dot) of this format.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
            ExportFormat::Markdown => "md",
        }
    }
}

/// Columns every export has, before the record's own.
const FIXED: [&str; 10] = [
    "response_id",
    "record",
    "provider",
    "model",
    "prompt",
    "response",
    "error",
    "input_tokens",
    "output_tokens",
    "tags",
];
/// Then these. `cached` is `true` for an answer the AI response cache gave (no
/// provider call), `false` otherwise; it comes last so that the columns before
/// it keep the places they had before it was added.
const TRAILING: [&str; 3] = ["group", "note", "cached"];

impl Store {
    /// Writes every response `query` matches (paging ignored) to `out`.
    /// Returns how many responses were written.
    pub fn export_responses(&self, query: &ResponseQuery, format: ExportFormat, out: impl Write) -> Result<u64, Error> {
        let dataset = self.dataset(query.dataset_id)?;
        let columns = Header::new(&dataset, self.export_extras(query)?);
        let mut written = 0;
        match format {
            ExportFormat::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(columns.names.iter().map(|name| csv_cell(name))).map_err(csv_error)?;
                self.for_each_response(&dataset, query, None, |row| {
                    let cells = columns.cells(&dataset, &row);
                    csv.write_record(cells.iter().map(|cell| csv_cell(cell))).map_err(csv_error)?;
                    written += 1;
                    Ok(())
                })?;
                csv.flush()?;
            }
            ExportFormat::Json => {
                let mut out = out;
                out.write_all(b"[")?;
                self.for_each_response(&dataset, query, None, |row| {
                    if written > 0 {
                        out.write_all(b",")?;
                    }
                    out.write_all(b"\n  ")?;
                    serde_json::to_writer(&mut out, &json_object(row, columns.extras.samples))
                        .map_err(|e| Error::Io(e.into()))?;
                    written += 1;
                    Ok(())
                })?;
                out.write_all(b"\n]\n")?;
                out.flush()?;
            }
            ExportFormat::Markdown => {
                let mut out = out;
                markdown_row(&mut out, columns.names.iter().map(String::as_str))?;
                markdown_row(&mut out, columns.names.iter().map(|_| "---"))?;
                self.for_each_response(&dataset, query, None, |row| {
                    let cells = columns.cells(&dataset, &row);
                    markdown_row(&mut out, cells.iter().map(String::as_str))?;
                    written += 1;
                    Ok(())
                })?;
                out.flush()?;
            }
        }
        tracing::info!(dataset_id = dataset.id, written, ?format, "exported responses");
        Ok(written)
    }
}

impl Store {
    /// Writes every response `query` matches to a new file at `path`, which
    /// must be absolute, in an existing folder, and not exist yet: an existing
    /// file is never replaced. Returns how many responses were written.
    ///
    /// The export goes to a temporary file in the same folder, synced, then
    /// renamed into place (without replacing anything that appeared
    /// meanwhile), so a failed export never leaves a half-written file.
    pub fn export_responses_to_file(
        &self,
        query: &ResponseQuery,
        format: ExportFormat,
        path: &Path,
    ) -> Result<u64, Error> {
        // The path is checked before the store looks anything up, so a bad
        // choice is reported as such even for a dataset that is gone.
        let folder = checked_destination(path)?;
        let mut file = tempfile::NamedTempFile::new_in(folder)?;
        let rows = self.export_responses(query, format, std::io::BufWriter::new(file.as_file_mut()))?;
        file.as_file().sync_all()?;
        match file.persist_noclobber(path) {
            Ok(_) => Ok(rows),
            Err(err) if err.error.kind() == std::io::ErrorKind::AlreadyExists || path.exists() => {
                Err(already_exists(path))
            }
            Err(err) => Err(Error::Io(err.error)),
        }
    }

    /// Writes every response `query` matches to a new file in `folder`
    /// (created if needed), named after the dataset and the time. Returns
    /// the file's path and how many responses it holds.
    pub fn export_responses_to_folder(
        &self,
        query: &ResponseQuery,
        format: ExportFormat,
        folder: &Path,
    ) -> Result<(PathBuf, u64), Error> {
        let dataset = self.dataset(query.dataset_id)?;
        std::fs::create_dir_all(folder)?;
        let folder = std::path::absolute(folder)?;
        let path = folder.join(export_file_name(&dataset.name, format, crate::now_millis() / 1000));
        let rows = self.export_responses_to_file(query, format, &path)?;
        Ok((path, rows))
    }
}

/// `<dataset>-<seconds>.<extension>`, the dataset's name reduced to
/// characters that are safe in a file name on every platform.
fn export_file_name(dataset: &str, format: ExportFormat, seconds: i64) -> String {
    let stem: String =
        dataset.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    format!("{stem}-{seconds}.{}", format.extension())
}

/// The folder of `path` when `path` may receive a new export.
fn checked_destination(path: &Path) -> Result<&Path, Error> {
    if !path.is_absolute() {
        return Err(Error::invalid(
            "path",
            format!("{} is not an absolute path: give the full path of the file to write", path.display()),
        ));
    }
    let folder = match path.parent() {
        Some(folder) if folder.is_dir() => folder,
        _ => {
            return Err(Error::invalid(
                "path",
                format!("the folder of {} does not exist: create it or choose another", path.display()),
            ));
        }
    };
    if path.exists() {
        return Err(already_exists(path));
    }
    Ok(folder)
}

fn already_exists(path: &Path) -> Error {
    Error::invalid("path", format!("{} already exists: choose another file name", path.display()))
}

/// What an export adds after the record's columns when its templates have
/// schemas or its runs assertions (issue 17, point 5).
#[derive(Debug, Default)]
struct Extras {
    /// Any matched template version has a schema: `valid`, `schema_errors`.
    schema: bool,
    /// The top-level properties of those schemas, one column each.
    fields: Vec<String>,
    /// Any matched run has assertions: `checks_passed`, `checks`.
    checks: bool,
    /// Any matched request is a later repeat of its prompt (a run with
    /// repeats): `sample`, last, so an export without repeats is as it was.
    samples: bool,
}

impl Store {
    /// The extra columns of an export of `query`'s responses.
    fn export_extras(&self, query: &ResponseQuery) -> Result<Extras, Error> {
        let mut extras = Extras::default();
        let mut stmt = self.conn.prepare(
            "SELECT v.schema FROM template_versions v
             WHERE v.schema IS NOT NULL AND v.id IN (SELECT q.template_version_id FROM requests q
                   WHERE q.dataset_id = ?1 AND (?2 IS NULL OR q.template_version_id = ?2))
             ORDER BY v.id",
        )?;
        let schemas =
            stmt.query_map(rusqlite::params![query.dataset_id, query.template_version_id], |r| r.get::<_, String>(0))?;
        for schema in schemas {
            extras.schema = true;
            let schema: Value = serde_json::from_str(&schema?).map_err(crate::datasets::json_bug)?;
            for name in crate::schema_properties(&schema) {
                if !extras.fields.contains(&name) {
                    extras.fields.push(name);
                }
            }
        }
        extras.checks = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM runs u WHERE u.assertions IS NOT NULL AND u.id IN
                 (SELECT s.run_id FROM responses s JOIN requests q ON q.id = s.request_id
                  WHERE q.dataset_id = ?1 AND (?2 IS NULL OR q.template_version_id = ?2)))",
            rusqlite::params![query.dataset_id, query.template_version_id],
            |r| r.get(0),
        )?;
        extras.samples = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM requests q
                 WHERE q.dataset_id = ?1 AND (?2 IS NULL OR q.template_version_id = ?2) AND q.sample > 0)",
            rusqlite::params![query.dataset_id, query.template_version_id],
            |r| r.get(0),
        )?;
        Ok(extras)
    }
}

/// The column names of a flat (CSV, Markdown) export.
struct Header {
    names: Vec<String>,
    extras: Extras,
}

impl Header {
    /// A record column whose name clashes with a fixed column gets a
    /// `record.` prefix; a schema field whose name clashes with any column
    /// before it gets an `answer.` prefix. Schema and check columns come
    /// last, so every other column keeps its place.
    fn new(dataset: &Dataset, extras: Extras) -> Self {
        let mut names: Vec<String> = FIXED.iter().map(|s| (*s).to_owned()).collect();
        names.extend(TRAILING.iter().map(|s| (*s).to_owned()));
        for column in dataset.column_names() {
            if FIXED.contains(&column) || TRAILING.contains(&column) {
                names.push(format!("record.{column}"));
            } else {
                names.push(column.to_owned());
            }
        }
        if extras.schema {
            names.extend(["valid".to_owned(), "schema_errors".to_owned()]);
        }
        if extras.checks {
            names.extend(["checks_passed".to_owned(), "checks".to_owned()]);
        }
        for field in &extras.fields {
            let name = if names.contains(field) { format!("answer.{field}") } else { field.clone() };
            names.push(name);
        }
        if extras.samples {
            let name = if names.iter().any(|n| n == "sample") { "request.sample" } else { "sample" };
            names.push(name.to_owned());
        }
        Header { names, extras }
    }

    fn cells(&self, dataset: &Dataset, row: &ResponseRow) -> Vec<String> {
        let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
        let mut cells = vec![
            row.response_id.to_string(),
            (row.record_position + 1).to_string(),
            row.provider.clone(),
            row.model.clone(),
            row.prompt.clone(),
            row.text.clone().unwrap_or_default(),
            row.error_message.clone().unwrap_or_default(),
            number(row.input_tokens),
            number(row.output_tokens),
            row.tags.join(", "),
            row.group.clone().unwrap_or_default(),
            row.note.clone().unwrap_or_default(),
            row.cached.map(|cached| cached.to_string()).unwrap_or_default(),
        ];
        cells.extend(dataset.column_names().map(|c| cell_text(row.record.get(c))));
        if self.extras.schema {
            cells.push(row.schema_valid.map(|v| v.to_string()).unwrap_or_default());
            cells.push(row.schema_errors.iter().flatten().map(issue_text).collect::<Vec<_>>().join("; "));
        }
        if self.extras.checks {
            let checks = row.checks.as_deref().unwrap_or_default();
            cells.push(checks_passed(checks).map(|v| v.to_string()).unwrap_or_default());
            cells.push(checks.iter().map(check_text).collect::<Vec<_>>().join("; "));
        }
        for field in &self.extras.fields {
            cells.push(cell_text(row.fields.as_ref().and_then(|f| f.get(field))));
        }
        if self.extras.samples {
            cells.push(row.sample.map(|n| n.to_string()).unwrap_or_default());
        }
        cells
    }
}

/// `/score: 11 is greater than the maximum of 10` (the path left out for the whole answer).
fn issue_text(issue: &crate::SchemaIssue) -> String {
    if issue.path.is_empty() { issue.message.clone() } else { format!("{}: {}", issue.path, issue.message) }
}

/// `FAIL regex:^\d+$ (no match for /^\d+$/)`.
fn check_text(check: &crate::CheckResult) -> String {
    let verdict = match check.passed {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "UNSCORED",
    };
    format!("{verdict} {} ({})", check.assertion, check.reason)
}

/// Whether an answer passed every assertion; `None` when it was not checked.
fn checks_passed(checks: &[crate::CheckResult]) -> Option<bool> {
    (!checks.is_empty()).then(|| checks.iter().all(|c| c.passed == Some(true)))
}

fn cell_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `samples`: the export has later repeats of prompts, so each object says which repeat it answers.
fn json_object(row: ResponseRow, samples: bool) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("response_id".into(), row.response_id.into());
    object.insert("record_position".into(), (row.record_position + 1).into());
    object.insert("record".into(), Value::Object(row.record));
    object.insert("provider".into(), row.provider.into());
    object.insert("model".into(), row.model.into());
    object.insert("prompt".into(), row.prompt.into());
    object.insert("response".into(), row.text.into());
    object.insert("error".into(), row.error_message.into());
    object.insert("input_tokens".into(), row.input_tokens.into());
    object.insert("output_tokens".into(), row.output_tokens.into());
    object.insert("tags".into(), row.tags.into());
    object.insert("group".into(), row.group.into());
    object.insert("note".into(), row.note.into());
    object.insert("cached".into(), row.cached.into());
    if let Some(valid) = row.schema_valid {
        object.insert("valid".into(), valid.into());
        let issues =
            row.schema_errors.iter().flatten().map(|i| serde_json::json!({"path": i.path, "message": i.message}));
        object.insert("schema_errors".into(), Value::Array(issues.collect()));
        object.insert("fields".into(), row.fields.map_or(Value::Null, Value::Object));
    }
    if let Some(checks) = &row.checks {
        object.insert("checks_passed".into(), checks_passed(checks).into());
        let checks = checks
            .iter()
            .map(|c| serde_json::json!({"assertion": c.assertion, "passed": c.passed, "reason": c.reason}));
        object.insert("checks".into(), Value::Array(checks.collect()));
    }
    if samples {
        object.insert("sample".into(), row.sample.into());
    }
    object
}

/// Characters that make a spreadsheet read a cell as a formula (OWASP's CSV
/// injection list).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A CSV cell a spreadsheet will not evaluate: one starting with a formula
/// character gets a leading `'` (see the module docs).
fn csv_cell(cell: &str) -> std::borrow::Cow<'_, [u8]> {
    if cell.starts_with(FORMULA_STARTS) { format!("'{cell}").into_bytes().into() } else { cell.as_bytes().into() }
}

/// One pipe-table row. HTML is escaped, so a renderer shows it as text;
/// backslashes and pipes are escaped, and line breaks become `<br>`, so a
/// multi-line answer stays in its cell.
fn markdown_row<'a>(out: &mut impl Write, cells: impl Iterator<Item = &'a str>) -> Result<(), Error> {
    out.write_all(b"|")?;
    for cell in cells {
        let mut escaped = String::with_capacity(cell.len());
        let mut chars = cell.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '&' => escaped.push_str("&amp;"),
                '<' => escaped.push_str("&lt;"),
                '>' => escaped.push_str("&gt;"),
                '\\' => escaped.push_str("\\\\"),
                '|' => escaped.push_str("\\|"),
                '\r' if chars.peek() == Some(&'\n') => {}
                '\r' | '\n' => escaped.push_str("<br>"),
                c => escaped.push(c),
            }
        }
        write!(out, " {escaped} |")?;
    }
    out.write_all(b"\n")?;
    Ok(())
}

fn csv_error(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::Io(io),
        other => Error::State(format!("CSV export failed: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_portable_characters() {
        assert_eq!(export_file_name("Q3 books/ü", ExportFormat::Markdown, 7), "Q3_books__-7.md");
        assert_eq!(export_file_name("a-b_c", ExportFormat::Csv, 1), "a-b_c-1.csv");
        assert_eq!(export_file_name("x", ExportFormat::Json, 2), "x-2.json");
    }

    #[test]
    fn destinations_must_be_absolute_new_files_in_existing_folders() {
        let dir = tempfile::tempdir().unwrap();
        let message = |path: &Path| checked_destination(path).unwrap_err().to_string();
        assert!(message(Path::new("relative.csv")).contains("not an absolute path"));
        assert!(message(&dir.path().join("missing/out.csv")).contains("does not exist"));
        let existing = dir.path().join("there.csv");
        std::fs::write(&existing, "kept").unwrap();
        assert!(message(&existing).contains("already exists"));
        assert_eq!(checked_destination(&dir.path().join("new.csv")).unwrap(), dir.path());
    }
}
