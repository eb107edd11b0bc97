//! Importing records through the local stack when it is up, in process when
//! it is not.
//!
//! The Record Collector's import calls [`import_records`]: if the stack's
//! `gateway` and `parsers` answer their health checks, the document goes to
//! `POST /api/parsers/<format>` through the gateway; otherwise (no engine,
//! stack down or unhealthy) `crates/records` parses it in this process. Both
//! are the same parser, so the result has the same shape either way, and
//! [`ImportPreview::parser`] says which one ran. [`parse_with_service`] is the
//! same routing for callers that keep every row (saving a dataset).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use records::{ColumnType, Format, Limits, ParseError, Row, RowIndex, Table};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Health, Stack, StackToken, State};

/// Rows in a preview page unless the caller asks for another size.
pub const DEFAULT_PAGE_ROWS: usize = 50;
/// Most rows a preview page may hold: a page is for eyes, not for the whole file.
pub const MAX_PAGE_ROWS: usize = 1_000;
/// The service's request limit is the same; bigger documents are refused
/// before sending. A CSV or JSON Lines *file* is not held whole, so it is
/// bound by the store's own import limit instead ([`Limits::default`]).
const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;
/// A parse of a large document through the gateway may take a while on a loaded machine.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(120);

/// Which parser produced an import.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Parser {
    /// The `parsers` container of the local stack, through its gateway.
    Service,
    /// `crates/records` in this process.
    InProcess,
}

impl std::fmt::Display for Parser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Parser::Service => "the local stack's parsers service",
            Parser::InProcess => "the in-process parser",
        })
    }
}

/// Where the document comes from.
#[derive(Debug, Clone)]
pub enum Document {
    /// The raw text (pasted, or read by the caller).
    Text(String),
    /// A file on this machine, read here so large files never cross IPC.
    File(PathBuf),
}

/// Which rows of the parsed table to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: usize,
    pub limit: usize,
}

impl Default for Page {
    fn default() -> Self {
        Page { offset: 0, limit: DEFAULT_PAGE_ROWS }
    }
}

/// One page of an imported table plus its counts. See [`import_records`].
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ParsedPreview"))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportPreview {
    pub parser: Parser,
    /// Why the service was not used, when it was not (e.g. "the local stack is not running").
    pub parser_reason: Option<String>,
    pub format: Format,
    pub columns: Vec<String>,
    pub types: Vec<ColumnType>,
    /// Rows `offset .. offset + rows.len()` of the table.
    pub rows: Vec<Row>,
    pub offset: usize,
    pub total_rows: usize,
    pub total_columns: usize,
    pub document_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional, type = "Record<string, JsonValue>"))]
    pub front_matter: Option<Map<String, Value>>,
}

/// Why an import failed. Each message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The document is malformed; `line` and `column` (1-based) say where when known.
    #[error("the {format} document could not be imported ({parser}): {message}")]
    Parse { parser: Parser, format: Format, message: String, line: Option<u64>, column: Option<u64> },

    /// The file could not be read.
    #[error("could not read {path}: {source}; check the path and that the file is readable")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The document is larger than an import accepts.
    /// `bytes` is its length, or as much of it as was read before the limit
    /// stopped the read (a device or a pipe has no length to check first).
    #[error(
        "the document is too large: over the import limit of {limit} bytes (at least {bytes} bytes); split it into smaller files"
    )]
    TooLarge { bytes: u64, limit: u64 },

    /// The page asked for is not a sensible size.
    #[error("a preview page holds 1 to {MAX_PAGE_ROWS} rows, not {limit}")]
    InvalidPage { limit: usize },
}

impl ImportError {
    /// A stable machine-readable code for user interfaces.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Parse { .. } => "parse_error",
            ImportError::Read { .. } => "read_failed",
            ImportError::TooLarge { .. } => "too_large",
            ImportError::InvalidPage { .. } => "invalid_page",
        }
    }
}

/// Imports a document and returns one page of it with the table's counts.
///
/// This is the contract the Record Collector's import builds on:
///
/// - `stack`: the local stack to try (`None` when no engine could be
///   reached). When its `gateway` and `parsers` are running and healthy the
///   document is parsed by the service (`parser: service`); otherwise, or if
///   the service cannot be reached mid-request, in process (`parser:
///   in-process`, with `parser_reason` saying why). A document the service
///   refuses as malformed is not retried in process: both parsers are
///   `crates/records` and would agree.
/// - `document`: the text, or a file path read here (up to 64 MiB), so a
///   100k-row file never crosses IPC: only `page` rows are returned, with
///   `total_rows` and `total_columns`. A CSV or JSON Lines file is read in
///   process whatever the stack, as saving it is: indexed once (a
///   [`RowIndex`], kept for the last few files), so each further page seeks
///   to its rows instead of parsing the file again, and bounded by the
///   store's import limit rather than 64 MiB.
/// - errors: a malformed document is [`ImportError::Parse`] with the line and
///   column to fix, whichever parser ran.
pub async fn import_records(
    stack: Option<&Stack>,
    format: Format,
    document: Document,
    page: Page,
) -> Result<ImportPreview, ImportError> {
    if page.limit == 0 || page.limit > MAX_PAGE_ROWS {
        return Err(ImportError::InvalidPage { limit: page.limit });
    }
    // A regular file only: a device or a pipe cannot be read twice (and
    // keeps the bounded whole-document read below).
    if let Document::File(path) = &document
        && format.streams()
        && tokio::fs::metadata(path).await.is_ok_and(|m| m.is_file())
    {
        return preview_file(path.clone(), format, page).await;
    }
    let parsed = match parse_with_service(stack, format, document).await? {
        ServiceParse::Parsed(parsed) => parsed,
        ServiceParse::NotUsed { reason, document } => {
            parsed_in_process(format, bytes::Bytes::from(read_document(document).await?), reason).await?
        }
    };
    tracing::info!(parser = ?parsed.parser, format = format.id(), rows = parsed.table.len(), "records imported");
    Ok(preview(parsed, format, page))
}

/// A whole document parsed, and by which parser.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub table: Table,
    pub parser: Parser,
    /// Why the service was not used, when it was not.
    pub parser_reason: Option<String>,
    pub document_bytes: u64,
}

/// What [`parse_with_service`] did.
#[derive(Debug)]
pub enum ServiceParse {
    /// The document was read and parsed: by the service, or in process when
    /// the service stopped answering mid-request (`parser` says which).
    Parsed(Parsed),
    /// The stack cannot parse now (`reason`); the document is handed back
    /// unread, so the caller can parse it in process its own way (e.g. stream
    /// a file too large to hold in memory).
    NotUsed { reason: String, document: Document },
}

/// [`parse_with_service`] for saving a dataset: CSV and JSON Lines are never
/// sent, because the store streams them row by row in process, so such a file
/// saves in bounded memory (and whatever a preview showed saves too); the
/// other formats are whole documents either way.
pub async fn parse_for_saving(
    stack: Option<&Stack>,
    format: Format,
    document: Document,
) -> Result<ServiceParse, ImportError> {
    if format.streams() {
        let reason = format!("{format} files are streamed into the dataset by the app's own parser");
        return Ok(ServiceParse::NotUsed { reason, document });
    }
    parse_with_service(stack, format, document).await
}

/// Parses a whole document through the stack's `parsers` service when the
/// stack is running and healthy: the routing [`import_records`] uses, for
/// callers that need every row (saving a dataset) rather than a page.
///
/// The document is read (up to the same 64 MiB as a preview) only once the
/// service is known to be up. A document the service refuses as malformed
/// is [`ImportError::Parse`] with its line and column, not retried in process.
pub async fn parse_with_service(
    stack: Option<&Stack>,
    format: Format,
    document: Document,
) -> Result<ServiceParse, ImportError> {
    let (gateway, token) = match service_url(stack).await {
        Ok(found) => found,
        Err(reason) => return Ok(ServiceParse::NotUsed { reason, document }),
    };
    // `Bytes`: the service request and its in-process fallback share one copy.
    let bytes = bytes::Bytes::from(read_document(document).await?);
    let document_bytes = bytes.len() as u64;
    let parsed = match post_to_service(&gateway, token.as_ref(), format, bytes.clone()).await {
        Ok(table) => Parsed { table: table?, parser: Parser::Service, parser_reason: None, document_bytes },
        Err(unreachable) => {
            tracing::warn!(reason = %unreachable, "the parsers service failed; parsing in process");
            parsed_in_process(format, bytes, unreachable).await?
        }
    };
    Ok(ServiceParse::Parsed(parsed))
}

/// `bytes` parsed in this process because the service was not used (`reason`).
async fn parsed_in_process(format: Format, bytes: bytes::Bytes, reason: String) -> Result<Parsed, ImportError> {
    let document_bytes = bytes.len() as u64;
    let table = parse_in_process(format, bytes).await?;
    Ok(Parsed { table, parser: Parser::InProcess, parser_reason: Some(reason), document_bytes })
}

async fn read_document(document: Document) -> Result<Vec<u8>, ImportError> {
    let bytes = match document {
        Document::Text(text) => text.into_bytes(),
        Document::File(path) => {
            let size = tokio::fs::metadata(&path)
                .await
                .map_err(|source| ImportError::Read { path: path.clone(), source })?
                .len();
            if size > MAX_DOCUMENT_BYTES {
                return Err(ImportError::TooLarge { bytes: size, limit: MAX_DOCUMENT_BYTES });
            }
            read_at_most(&path, MAX_DOCUMENT_BYTES).await?
        }
    };
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(ImportError::TooLarge { bytes: bytes.len() as u64, limit: MAX_DOCUMENT_BYTES });
    }
    Ok(bytes)
}

/// Reads `path` but never more than `limit + 1` bytes, whatever its metadata
/// says: a device or a FIFO (`/dev/zero`, a pipe fed forever) reports a
/// length of 0, so only the bytes actually read can bound memory. One byte
/// over the limit is enough to refuse it.
async fn read_at_most(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, ImportError> {
    use tokio::io::AsyncReadExt as _;
    let read_error = |source| ImportError::Read { path: path.to_owned(), source };
    let file = tokio::fs::File::open(path).await.map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).await.map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(ImportError::TooLarge { bytes: bytes.len() as u64, limit });
    }
    Ok(bytes)
}

/// The gateway's URL and the stack's access token (issue 20, point 9) when
/// the stack can parse, or why it cannot.
async fn service_url(stack: Option<&Stack>) -> Result<(String, Option<StackToken>), String> {
    gateway_to(stack, "parsers").await
}

/// The gateway's URL and the stack's access token when the gateway and the
/// connector are running and healthy (the data stores' route, issue 19
/// point 1), or why not.
pub async fn connector_service(stack: Option<&Stack>) -> Result<(String, Option<StackToken>), String> {
    gateway_to(stack, "connector").await
}

/// The gateway's URL and the access token when the gateway and `service` are up.
async fn gateway_to(stack: Option<&Stack>, service: &str) -> Result<(String, Option<StackToken>), String> {
    let Some(stack) = stack else {
        return Err("no container engine is running".to_owned());
    };
    let status = stack.status().await.map_err(|e| e.to_string())?;
    let ready = |name: &str| {
        status
            .services
            .iter()
            .find(|s| s.service == name)
            .filter(|s| s.state == State::Running && s.health == Health::Healthy)
    };
    let url = match (ready("gateway"), ready(service)) {
        (Some(gateway), Some(_)) => gateway.url.clone().ok_or_else(|| "the gateway publishes no port".to_owned())?,
        _ => return Err(format!("the local stack `{}` is not running and healthy", status.stack)),
    };
    let token = stack.access_token().await.map_err(|e| e.to_string())?;
    Ok((url, token))
}

/// `Ok(Ok(table))` parsed, `Ok(Err(_))` refused by the parser, `Err(reason)` the service could not answer.
async fn post_to_service(
    gateway: &str,
    token: Option<&StackToken>,
    format: Format,
    bytes: bytes::Bytes,
) -> Result<Result<Table, ImportError>, String> {
    let size = bytes.len() as u64;
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(SERVICE_TIMEOUT)
        .build()
        .map_err(|e| format!("no HTTP client: {e}"))?;
    let url = format!("{gateway}/api/parsers/{}", format.id());
    let mut request = client.post(&url).body(bytes);
    if let Some(token) = token {
        request = request.bearer_auth(token.expose());
    }
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    if status.is_success() {
        return response.json::<Table>().await.map(Ok).map_err(|e| format!("{url} answered an unreadable table: {e}"));
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let message = body["message"].as_str().unwrap_or("no reason given").to_owned();
    match body["code"].as_str() {
        Some("parse_error") => Ok(Err(ImportError::Parse {
            parser: Parser::Service,
            format,
            message,
            line: body["line"].as_u64(),
            column: body["column"].as_u64(),
        })),
        Some("body_too_large") => Ok(Err(ImportError::TooLarge {
            bytes: size,
            limit: body["limit_bytes"].as_u64().unwrap_or(MAX_DOCUMENT_BYTES),
        })),
        _ => Err(format!("{url} answered {status}: {message}")),
    }
}

async fn parse_in_process(format: Format, bytes: bytes::Bytes) -> Result<Table, ImportError> {
    let limits = Limits { max_bytes: MAX_DOCUMENT_BYTES, ..Limits::default() };
    // Parsing is CPU-bound: keep it off the async workers.
    let parsed = tokio::task::spawn_blocking(move || records::parse(format, &bytes, &limits)).await;
    match parsed {
        Ok(result) => result.map_err(in_process_error),
        Err(join) => Err(ImportError::Parse {
            parser: Parser::InProcess,
            format,
            message: format!("the parser stopped unexpectedly ({join}); try again"),
            line: None,
            column: None,
        }),
    }
}

fn in_process_error(err: ParseError) -> ImportError {
    let location = err.location();
    ImportError::Parse {
        parser: Parser::InProcess,
        format: err.format(),
        message: err.to_string(),
        line: location.map(|(line, _)| line),
        column: location.map(|(_, column)| column),
    }
}

/// Indexes of the files previewed last, newest last: paging through one
/// file reads its index, not the file, after the first page.
static INDEXES: Mutex<Vec<(FileKey, Arc<RowIndex>)>> = Mutex::new(Vec::new());
/// A handful: one file is usually paged at a time, an index is small (8
/// bytes per 256 rows plus the column names).
const INDEXES_KEPT: usize = 4;

/// A file as it was when indexed: a change to it makes a new key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileKey {
    path: PathBuf,
    format: Format,
    len: u64,
    modified: Option<SystemTime>,
}

/// One page of a CSV or JSON Lines file, from its (cached) row index.
async fn preview_file(path: PathBuf, format: Format, page: Page) -> Result<ImportPreview, ImportError> {
    let read = tokio::task::spawn_blocking(move || -> Result<ImportPreview, ImportError> {
        let index = file_index(&path, format)?;
        let file = std::fs::File::open(&path).map_err(|source| ImportError::Read { path: path.clone(), source })?;
        let rows = index.page(file, page.offset as u64, page.limit).map_err(in_process_error)?;
        let total_rows = usize::try_from(index.rows()).unwrap_or(usize::MAX);
        Ok(ImportPreview {
            parser: Parser::InProcess,
            parser_reason: Some(format!(
                "{format} files are read by the app's own parser, as they are saved: indexed once, then paged"
            )),
            format,
            columns: index.columns().to_vec(),
            types: index.types().to_vec(),
            rows,
            offset: page.offset.min(total_rows),
            total_rows,
            total_columns: index.columns().len(),
            document_bytes: index.bytes(),
            front_matter: None,
        })
    });
    read.await.map_err(|join| ImportError::Parse {
        parser: Parser::InProcess,
        format,
        message: format!("the parser stopped unexpectedly ({join}); try again"),
        line: None,
        column: None,
    })?
}

/// The row index of `path`, from the cache while the file is unchanged.
fn file_index(path: &Path, format: Format) -> Result<Arc<RowIndex>, ImportError> {
    let read_error = |source| ImportError::Read { path: path.to_owned(), source };
    let metadata = std::fs::metadata(path).map_err(read_error)?;
    let key = FileKey { path: path.to_owned(), format, len: metadata.len(), modified: metadata.modified().ok() };
    // A poisoned lock only means another preview panicked: its entries are whole.
    let cached =
        INDEXES.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|(k, _)| *k == key).map(|(_, i)| i.clone());
    if let Some(index) = cached {
        return Ok(index);
    }
    let file = std::fs::File::open(path).map_err(read_error)?;
    let index = match RowIndex::build(format, std::io::BufReader::new(file), &Limits::default()) {
        Some(Ok(index)) => Arc::new(index),
        Some(Err(ParseError::TooLarge { limit_bytes, .. })) => {
            return Err(ImportError::TooLarge { bytes: metadata.len(), limit: limit_bytes });
        }
        Some(Err(err)) => return Err(in_process_error(err)),
        None => {
            return Err(ImportError::Parse {
                parser: Parser::InProcess,
                format,
                message: format!("{format} is a whole document: it has no row index"),
                line: None,
                column: None,
            });
        }
    };
    tracing::info!(path = %path.display(), rows = index.rows(), format = format.id(), "indexed a file to preview");
    let mut indexes = INDEXES.lock().unwrap_or_else(|p| p.into_inner());
    indexes.retain(|(k, _)| k.path != key.path);
    if indexes.len() >= INDEXES_KEPT {
        indexes.remove(0);
    }
    indexes.push((key, index.clone()));
    Ok(index)
}

fn preview(parsed: Parsed, format: Format, page: Page) -> ImportPreview {
    let Parsed { table, parser, parser_reason, document_bytes } = parsed;
    let total_rows = table.rows.len();
    let offset = page.offset.min(total_rows);
    let rows = table.rows.into_iter().skip(offset).take(page.limit).collect();
    ImportPreview {
        parser,
        parser_reason,
        format,
        total_columns: table.columns.len(),
        columns: table.columns,
        types: table.types,
        rows,
        offset,
        total_rows,
        document_bytes,
        front_matter: table.front_matter,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(future)
    }

    #[test]
    fn without_a_stack_the_import_is_in_process_and_paged() {
        let csv: String =
            std::iter::once("id,name\n".to_owned()).chain((0..120).map(|i| format!("{i},n{i}\n"))).collect();
        let page = Page { offset: 100, limit: 50 };
        let preview = run(import_records(None, Format::Csv, Document::Text(csv), page)).expect("imported");
        assert_eq!(preview.parser, Parser::InProcess);
        assert!(preview.parser_reason.as_deref().is_some_and(|r| r.contains("engine")), "{preview:?}");
        assert_eq!(preview.total_rows, 120);
        assert_eq!(preview.rows.len(), 20, "only the rows after the offset");
        assert_eq!(preview.rows[0][0], 100);
        assert_eq!(preview.columns, ["id", "name"]);
    }

    #[test]
    fn a_malformed_document_names_line_and_column_in_process() {
        let err = run(import_records(
            None,
            Format::Json,
            Document::Text("[{\"a\": 1},\n {\"a\": }]".into()),
            Page::default(),
        ))
        .expect_err("malformed");
        match err {
            ImportError::Parse { parser, line, column, .. } => {
                assert_eq!(parser, Parser::InProcess);
                assert_eq!(line, Some(2));
                assert!(column.is_some_and(|c| c > 0));
            }
            other => panic!("expected a parse error, got {other}"),
        }
    }

    #[test]
    fn without_a_stack_the_service_is_not_used_and_the_document_comes_back_unread() {
        let missing = PathBuf::from("/nonexistent/records.json");
        let outcome = run(parse_with_service(None, Format::Json, Document::File(missing.clone()))).expect("not read");
        match outcome {
            ServiceParse::NotUsed { reason, document: Document::File(path) } => {
                assert!(reason.contains("engine"), "{reason}");
                assert_eq!(path, missing);
            }
            other => panic!("expected the document back, got {other:?}"),
        }
    }

    #[test]
    fn saving_a_csv_never_goes_to_the_service() {
        let outcome = run(parse_for_saving(None, Format::Csv, Document::Text("a\n1\n".into()))).expect("not read");
        match outcome {
            ServiceParse::NotUsed { reason, document: Document::Text(text) } => {
                assert!(reason.contains("CSV"), "{reason}");
                assert_eq!(text, "a\n1\n");
            }
            other => panic!("expected the document back, got {other:?}"),
        }
    }

    /// Runs `future` on its own thread and gives up after `deadline`, so a
    /// read that never ends fails the test instead of hanging it.
    fn within<T: Send + 'static>(
        deadline: std::time::Duration,
        future: impl std::future::Future<Output = T> + Send + 'static,
    ) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(run(future));
        });
        rx.recv_timeout(deadline).expect("the import did not finish before the deadline: its read is unbounded")
    }

    /// Issue 20 point 5: `/dev/zero` has a metadata length of 0, so a length
    /// check alone lets it through; the read itself must stop at the limit.
    #[test]
    fn point_5_dev_zero_import_is_bounded() {
        let err = within(
            std::time::Duration::from_secs(60),
            import_records(None, Format::Json, Document::File(PathBuf::from("/dev/zero")), Page::default()),
        )
        .expect_err("an endless device is refused");
        assert_eq!(err.code(), "too_large", "{err}");
        assert!(err.to_string().contains("too large"), "{err}");
    }

    /// Issue 20 point 5: a FIFO fed forever (length 0 too) stops at the limit.
    #[cfg(unix)]
    #[test]
    fn point_5_endless_fifo_import_is_bounded() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let fifo = dir.path().join("records.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
        assert!(made.success(), "mkfifo failed");
        let writer_path = fifo.clone();
        // Writes until the reader goes away (the write then fails: SIGPIPE is ignored in Rust programs).
        std::thread::spawn(move || {
            let mut writer = std::fs::OpenOptions::new().write(true).open(writer_path).expect("open the FIFO");
            let chunk = vec![b' '; 64 * 1024];
            while writer.write_all(&chunk).is_ok() {}
        });
        let err = within(
            std::time::Duration::from_secs(60),
            import_records(None, Format::Json, Document::File(fifo), Page::default()),
        )
        .expect_err("an endless FIFO is refused");
        assert_eq!(err.code(), "too_large", "{err}");
    }

    /// Issue 17 point 8: a CSV file over the old 64 MiB ceiling previews,
    /// and a later page is read from the file's index, not by parsing the
    /// file again: the rows before the page are overwritten with bytes no
    /// parser accepts (same length, same modification time), and the page
    /// still comes back right.
    #[test]
    fn a_csv_file_over_64_mib_previews_and_a_later_page_does_not_parse_it_again() {
        use std::io::{Seek as _, Write as _};
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("big.csv");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        writeln!(out, "id,comment").expect("write");
        let padding = "x".repeat(200);
        let rows: u64 = 340_000;
        for i in 0..rows {
            writeln!(out, "{i},\"row {i}, {padding}\"").expect("write");
        }
        out.flush().expect("flush");
        drop(out);
        let size = std::fs::metadata(&path).expect("metadata").len();
        assert!(size > MAX_DOCUMENT_BYTES, "the file is over 64 MiB: {size}");

        let document = || Document::File(path.clone());
        let first =
            run(import_records(None, Format::Csv, document(), Page { offset: 0, limit: 2 })).expect("previewed");
        assert_eq!(first.total_rows, rows as usize);
        assert_eq!(first.document_bytes, size);
        assert_eq!(first.types, [ColumnType::Integer, ColumnType::String]);
        assert_eq!(first.rows[1][0], 1);

        // Damage the first megabyte: from the first row, one row of a
        // million empty fields. A parse from the start now fails ("this row
        // has … fields but the header has 2").
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).expect("mtime");
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).expect("open");
        file.seek(std::io::SeekFrom::Start("id,comment\n".len() as u64)).expect("seek");
        let mut damage = vec![b','; 1 << 20];
        damage.push(b'\n');
        file.write_all(&damage).expect("damage");
        file.set_modified(modified).expect("keep the mtime");
        drop(file);

        let last = run(import_records(None, Format::Csv, document(), Page { offset: rows as usize - 3, limit: 50 }))
            .expect("a later page from the index");
        assert_eq!(last.rows.len(), 3);
        assert_eq!(last.rows[2][0], rows - 1);
        assert_eq!(last.rows[2][1], format!("row {}, {padding}", rows - 1));
        assert_eq!(last.offset, rows as usize - 3);
        assert_eq!(last.total_rows, rows as usize, "the counts of the first read");
        // The same file touched (a new modification time) is read again, and its damage found.
        std::fs::File::options().write(true).open(&path).expect("open").set_modified(SystemTime::now()).expect("touch");
        let err = run(import_records(None, Format::Csv, document(), Page::default())).expect_err("read again");
        assert_eq!(err.code(), "parse_error", "{err}");
    }

    #[test]
    fn bad_pages_and_missing_files_are_refused_with_a_reason() {
        let err = run(import_records(None, Format::Csv, Document::Text("a\n1\n".into()), Page { offset: 0, limit: 0 }))
            .expect_err("empty page");
        assert_eq!(err.code(), "invalid_page");
        let missing = PathBuf::from("/nonexistent/records.csv");
        let err =
            run(import_records(None, Format::Csv, Document::File(missing), Page::default())).expect_err("missing");
        assert_eq!(err.code(), "read_failed");
        assert!(err.to_string().contains("/nonexistent/records.csv"), "{err}");
    }
}
