//! `augment data import|collect|list|show|export`: datasets in the app's database,
//! imported with the same streaming parser the app uses in process.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Subcommand, ValueEnum};
use futures_util::StreamExt as _;
use local_data::{Dataset, ImportOptions, MAX_PAGE, PageStart, RecordQuery, RecordRow, Store};
use records::Format;
use serde::Serialize;
use serde_json::{Value, json};

use crate::output::{Render, emit, message, table};
use crate::progress::work_bar;
use crate::workflow::{DataDir, find_dataset, usage, when};

/// The most a download may bring: the import's own limit (records' default).
const MAX_DOWNLOAD_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Import a CSV, JSON, JSON Lines, YAML or Markdown file (or an http(s):// URL) as a new
    /// dataset, or a data store's table: `augment data import nocodb|airtable|databricks --connection N`.
    Import {
        /// A file, an http(s):// URL to download first, or (with --connection) nocodb, airtable or databricks.
        source: String,
        /// The dataset's name [default: the file name without its extension, or the connection's name]; a name in use is refused.
        #[arg(long)]
        name: Option<String>,
        /// The format [default: from the extension]: csv, json, jsonl, yaml, markdown.
        #[arg(long, conflicts_with = "connection")]
        format: Option<String>,
        /// Import the table of this saved connection (see `augment data connections`).
        #[arg(long)]
        connection: Option<String>,
        /// Show the table's columns with their inferred types and sample values; import nothing.
        #[arg(long, requires = "connection")]
        preview: bool,
        /// Rows the preview reads (1 to 20).
        #[arg(long, requires = "connection")]
        rows: Option<usize>,
        /// Import column SOURCE under the name NAME (repeat for several).
        #[arg(long = "map", value_name = "SOURCE=NAME", requires = "connection")]
        map: Vec<String>,
        /// Import only these columns (repeat for several) [default: all].
        #[arg(long = "only", value_name = "COLUMN", requires = "connection")]
        only: Vec<String>,
        /// The dataset column holding each row's key, what `run export --to` finds rows by [default: the
        /// column that already holds it (e.g. NocoDB's Id), else _key].
        #[arg(long, requires = "connection")]
        key_column: Option<String>,
    },
    /// Save a data-store connection: where the table is (flags) and its token (standard input or a
    /// hidden prompt; kept in the OS keychain, or AUGMENT_DATASTORE_<NAME>_API_KEY).
    Connect {
        kind: crate::stores::StoreKind,
        /// The connection's name: lowercase letters, digits and dashes.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        source: crate::stores::SourceFlags,
    },
    /// The saved data-store connections (never their tokens).
    Connections,
    /// Delete a data-store connection and its token; datasets imported from it stay.
    Disconnect { name: String },
    /// Collect web pages (a URL list or a sitemap) into a new dataset: content, title, links, metadata.
    Collect(crate::collect::CollectArgs),
    /// List the datasets.
    List,
    /// Show a dataset's columns and its first records.
    Show {
        /// The dataset's name (or id).
        name: String,
        /// How many records to show (at most 1000).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Records to skip first.
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Write a dataset's records to a new file (an existing file is never replaced).
    Export {
        /// The dataset's name (or id).
        name: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = RecordsFormat::Csv)]
        format: RecordsFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RecordsFormat {
    Csv,
    Json,
}

pub async fn run(json: bool, dir: &DataDir, command: DataCommand) -> Result<ExitCode> {
    let mut store = dir.open()?;
    match command {
        DataCommand::Import { source, name, format, connection, preview, rows, map, only, key_column } => {
            match connection {
                Some(connection) => {
                    if !local_data::DATASTORE_KINDS.contains(&source.as_str()) {
                        return Err(usage(format!(
                            "with --connection, say which service: `augment data import nocodb|airtable|databricks --connection {connection}`"
                        )));
                    }
                    let rows = rows.unwrap_or(datastore_sync::PREVIEW_ROWS);
                    let choice = crate::stores::ImportChoice { preview, rows, map, only, key_column, name };
                    crate::stores::import(json, &mut store, &source, &connection, choice).await?;
                }
                None if local_data::DATASTORE_KINDS.contains(&source.as_str()) && !Path::new(&source).exists() => {
                    return Err(usage(format!(
                        "importing from {source} needs a saved connection: `augment data import {source} --connection NAME` (see `augment data connections`)"
                    )));
                }
                None => import(json, &mut store, &source, name, format).await?,
            }
        }
        DataCommand::Connect { kind, name, source } => {
            return crate::stores::connect(json, &mut store, kind, &name, &source);
        }
        DataCommand::Connections => return crate::stores::list(json, &store),
        DataCommand::Disconnect { name } => return crate::stores::disconnect(json, &mut store, &name),
        DataCommand::Collect(args) => {
            drop(store);
            return crate::collect::run(json, dir, args).await;
        }
        DataCommand::List => emit(json, &DatasetList(store.datasets()?))?,
        DataCommand::Show { name, limit, offset } => {
            let dataset = find_dataset(&store, &name)?;
            let query = RecordQuery { offset, limit, filter: None, sort: None };
            let page = store.records(dataset.id, &query)?;
            emit(json, &Shown { dataset, total: page.total, records: page.items })?;
        }
        DataCommand::Export { name, out, format } => {
            let dataset = find_dataset(&store, &name)?;
            let rows = export(&store, &dataset, &out, format)?;
            emit(
                json,
                &message(
                    format!("wrote {rows} records of `{}` to {}", dataset.name, out.display()),
                    json!({ "dataset": dataset.name, "path": out, "rows": rows }),
                ),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(
    json: bool,
    store: &mut Store,
    source: &str,
    name: Option<String>,
    format: Option<String>,
) -> Result<()> {
    let is_url = source.starts_with("http://") || source.starts_with("https://");
    // Where the name and format come from: the file's, or the URL path's last segment.
    let file_name = if is_url {
        let url = reqwest::Url::parse(source).map_err(|err| usage(format!("{source} is not a URL: {err}")))?;
        url.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default().to_owned()
    } else {
        Path::new(source).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    };
    let format = match format {
        Some(format) => format.parse::<Format>().map_err(|err| usage(format!("--format: {err}")))?,
        None => Path::new(&file_name)
            .extension()
            .and_then(|e| Format::from_extension(&e.to_string_lossy().to_ascii_lowercase()))
            .ok_or_else(|| {
                usage(format!(
                    "cannot tell the format of `{source}` from its name: pass --format csv|json|jsonl|yaml|markdown"
                ))
            })?,
    };
    let name = match name {
        Some(name) => name,
        None => Path::new(&file_name).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    if name.trim().is_empty() {
        return Err(usage("the dataset needs a name: pass --name NAME"));
    }
    if store.datasets()?.iter().any(|d| d.name == name.trim()) {
        return Err(usage(format!(
            "a dataset called `{name}` already exists: pass --name with another name (see `augment data list`)"
        )));
    }
    let (file, _download) = if is_url {
        let download = download(json, source).await?;
        (download.reopen().context("reading the downloaded file")?, Some(download))
    } else {
        let file = std::fs::File::open(source)
            .with_context(|| format!("could not open {source}: check the path and that the file is readable"))?;
        (file, None)
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = work_bar(json, size, "importing {bar:30} {bytes}/{total_bytes} {msg}");
    let mut options = ImportOptions::new(name, format);
    options.progress_every = 1000;
    let dataset = store.import(std::io::BufReader::new(file), &options, |progress| {
        if progress.bytes > 0 {
            bar.set_position(progress.bytes);
        }
        bar.set_message(format!("{} rows", progress.rows));
    });
    bar.finish_and_clear();
    let dataset = dataset?;
    tracing::info!(dataset = %dataset.name, rows = dataset.row_count, "imported a dataset");
    emit(
        json,
        &message(
            format!(
                "imported `{}`: {} records, {} columns ({})",
                dataset.name,
                dataset.row_count,
                dataset.columns.len(),
                dataset.column_names().collect::<Vec<_>>().join(", ")
            ),
            serde_json::to_value(&dataset)?,
        ),
    )
}

/// Downloads `url` into a temporary file, at most [`MAX_DOWNLOAD_BYTES`].
async fn download(json: bool, url: &str) -> Result<tempfile::NamedTempFile> {
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(60))
        .build()
        .context("setting up the HTTP client")?;
    let response = client.get(url).send().await.with_context(|| format!("downloading {url}"))?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "downloading {url} failed: the server answered {status}");
    let length = response.content_length();
    if length.is_some_and(|n| n > MAX_DOWNLOAD_BYTES) {
        anyhow::bail!("{url} is larger than the import limit of {} MiB", MAX_DOWNLOAD_BYTES / (1024 * 1024));
    }
    let bar = work_bar(json, length.unwrap_or(0), "downloading {bar:30} {bytes}/{total_bytes} {bytes_per_sec}");
    let mut file = tempfile::NamedTempFile::new().context("creating a temporary file for the download")?;
    let mut written = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.with_context(|| format!("downloading {url}"))?;
        written += chunk.len() as u64;
        anyhow::ensure!(
            written <= MAX_DOWNLOAD_BYTES,
            "{url} is larger than the import limit of {} MiB",
            MAX_DOWNLOAD_BYTES / (1024 * 1024)
        );
        file.write_all(&chunk).context("writing the download to a temporary file")?;
        bar.set_position(written);
    }
    bar.finish_and_clear();
    file.flush().context("writing the download to a temporary file")?;
    Ok(file)
}

/// Writes every record to a new file: a temporary file in the same folder,
/// then renamed without replacing anything, as the app's exports are.
fn export(store: &Store, dataset: &Dataset, out: &Path, format: RecordsFormat) -> Result<u64> {
    if out.exists() {
        return Err(usage(format!("{} already exists: choose another --out or remove it first", out.display())));
    }
    let absolute = std::path::absolute(out).with_context(|| format!("resolving {}", out.display()))?;
    let folder = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut file = tempfile::NamedTempFile::new_in(&folder).with_context(|| {
        format!("creating a file in {}: check that the folder exists and is writable", folder.display())
    })?;
    let columns: Vec<&str> = dataset.column_names().collect();
    let rows = {
        let mut writer = std::io::BufWriter::new(file.as_file_mut());
        let rows = match format {
            RecordsFormat::Csv => {
                let mut csv = csv::Writer::from_writer(&mut writer);
                csv.write_record(columns.iter().map(|c| csv_cell(c)))?;
                let rows = each_record(store, dataset, |record| {
                    csv.write_record(columns.iter().map(|c| csv_cell(&cell_text(record.fields.get(*c)))))?;
                    Ok(())
                })?;
                csv.flush()?;
                rows
            }
            RecordsFormat::Json => {
                writer.write_all(b"[")?;
                let mut first = true;
                let rows = each_record(store, dataset, |record| {
                    writer.write_all(if first { b"\n  " } else { b",\n  " })?;
                    first = false;
                    serde_json::to_writer(&mut writer, &record.fields)?;
                    Ok(())
                })?;
                writer.write_all(b"\n]\n")?;
                rows
            }
        };
        writer.flush()?;
        rows
    };
    file.as_file().sync_all()?;
    file.persist_noclobber(&absolute)
        .map_err(|err| anyhow::Error::new(err.error).context(format!("writing {}", absolute.display())))?;
    Ok(rows)
}

/// Calls `f` with every record in file order, a page at a time; returns
/// how many. Pages follow each other by keyset cursor, so the last page of a
/// million records costs what the first does (an `OFFSET` walk is quadratic).
fn each_record(store: &Store, dataset: &Dataset, mut f: impl FnMut(RecordRow) -> Result<()>) -> Result<u64> {
    let query = RecordQuery { offset: 0, limit: MAX_PAGE, filter: None, sort: None };
    let mut start = PageStart::First;
    let mut count = 0;
    loop {
        let page = store.records_page(dataset.id, &query, &start)?;
        count += page.items.len() as u64;
        for record in page.items {
            f(record)?;
        }
        match page.next {
            Some(next) => start = PageStart::After(next),
            None => return Ok(count),
        }
    }
}

fn cell_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The app's CSV rule (ARCHITECTURE.md, "Exports are escaped for what opens
/// them"): a cell a spreadsheet would run as a formula gets a leading `'`.
fn csv_cell(cell: &str) -> Vec<u8> {
    const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];
    if cell.starts_with(FORMULA_STARTS) { format!("'{cell}").into_bytes() } else { cell.as_bytes().to_vec() }
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct DatasetList(Vec<Dataset>);

impl Render for DatasetList {
    fn human(&self) -> String {
        if self.0.is_empty() {
            return "no datasets yet: import one with `augment data import FILE`".to_owned();
        }
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|d| {
                vec![
                    d.name.clone(),
                    d.row_count.to_string(),
                    d.columns.len().to_string(),
                    d.format.id().to_owned(),
                    when(d.created_at),
                ]
            })
            .collect();
        table(&["NAME", "RECORDS", "COLUMNS", "FORMAT", "IMPORTED"], &rows)
    }
}

#[derive(Debug, Serialize)]
struct Shown {
    dataset: Dataset,
    total: u64,
    records: Vec<RecordRow>,
}

impl Render for Shown {
    fn human(&self) -> String {
        let columns: Vec<&str> = self.dataset.column_names().collect();
        let mut header = vec!["#"];
        header.extend(columns.iter().copied());
        let rows: Vec<Vec<String>> = self
            .records
            .iter()
            .map(|r| {
                let mut row = vec![(r.position + 1).to_string()];
                row.extend(columns.iter().map(|c| shorten(&cell_text(r.fields.get(*c)), 40)));
                row
            })
            .collect();
        let mut out = format!("{}: {} records\n", self.dataset.name, self.total);
        out.push_str(&table(&header, &rows));
        out
    }
}

/// One line of at most `max` characters.
pub fn shorten(text: &str, max: usize) -> String {
    let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if line.chars().count() <= max {
        line
    } else {
        let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}
