//! `augment data collect`: the web collector (crate `collector`) into a
//! dataset. Pages go to a journal in `<data dir>/collector/` as they are
//! fetched, so an interrupted crawl resumes where it stopped when the same
//! command is run again; when the crawl ends the journal becomes the
//! dataset (one streamed JSON Lines import) and is removed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use collector::{Allowance, CollectOptions, Collector, Journal, PageRecord, Source, Summary};
use local_data::{ImportOptions, Store};
use records::{Format, Limits};
use serde_json::json;

use crate::exit;
use crate::extract::{self, Extraction};
use crate::interrupt::CtrlC;
use crate::output::{emit, message};
use crate::run::ConfigDir;
use crate::workflow::{DataDir, usage};

#[derive(Debug, clap::Args)]
#[command(after_help = "Only http(s) pages; robots.txt is obeyed. Loopback, link-local and private \
addresses are refused unless allowed with --allow-address (an address, a network such as 10.1.0.0/16, \
or address:port). Ctrl-C stops the crawl keeping every finished page: run the same command again to \
resume. Exit code 8 when interrupted.")]
pub struct CollectArgs {
    /// A file with one http(s) URL per line (blank lines and lines starting with # are skipped).
    #[arg(long, value_name = "FILE", required_unless_present = "sitemap", conflicts_with = "sitemap")]
    pub urls: Option<PathBuf>,
    /// A sitemap or sitemap index URL whose pages to collect.
    #[arg(long, value_name = "URL")]
    pub sitemap: Option<String>,
    /// The new dataset's name (a name in use is refused).
    #[arg(long)]
    pub dataset: String,
    /// Follow links within each page's site this many steps (0: only the listed pages).
    #[arg(long, default_value_t = 0)]
    pub depth: u32,
    /// Requests per second to one site (a slower robots.txt Crawl-delay wins).
    #[arg(long, default_value_t = 1.0)]
    pub per_host_rps: f64,
    /// Pages fetched at once, all sites together.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Requests in flight to one site.
    #[arg(long, default_value_t = 2)]
    pub per_host_concurrency: usize,
    /// The most of one page that is read, in bytes; a larger page is recorded as too large.
    #[arg(long, default_value_t = 5 * 1024 * 1024)]
    pub max_bytes: u64,
    /// Seconds one request (answer and body) may take.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
    /// Stop after this many pages.
    #[arg(long)]
    pub max_pages: Option<u64>,
    /// Allow a non-public address: 127.0.0.1, 10.1.0.0/16 or 127.0.0.1:8080 (repeatable).
    #[arg(long = "allow-address", value_name = "ADDRESS")]
    pub allow: Vec<Allowance>,
    /// A JSON Schema of an object whose properties an AI provider extracts from each page,
    /// into columns of their own (with `extract_error` saying why a page has none).
    #[arg(long, value_name = "FILE", requires = "extract_model")]
    pub extract_schema: Option<PathBuf>,
    /// The provider that extracts: a built-in or added id, with its key as for `augment run start`.
    #[arg(long, value_name = "ID", default_value = "openai", requires = "extract_schema")]
    pub extract_provider: String,
    /// The model that extracts.
    #[arg(long, value_name = "MODEL", requires = "extract_schema")]
    pub extract_model: Option<String>,
    #[command(flatten)]
    pub config: ConfigDir,
}

pub async fn run(json: bool, dir: &DataDir, args: CollectArgs) -> Result<ExitCode> {
    let data_dir = dir.resolve()?;
    let mut store = dir.open()?;
    let name = args.dataset.trim().to_owned();
    if name.is_empty() {
        return Err(usage("the dataset needs a name: pass --dataset NAME"));
    }
    if store.datasets()?.iter().any(|d| d.name == name) {
        return Err(usage(format!(
            "a dataset called `{name}` already exists: pass --dataset with another name (see `augment data list`)"
        )));
    }
    let source = source(&args)?;
    let options = options(&args)?;
    // Checked before the crawl, so a bad schema or provider costs no fetch.
    let extraction = match (&args.extract_schema, &args.extract_model) {
        (Some(schema), Some(model)) => {
            let client = crate::provider_settings::saved_client(&args.config, &args.extract_provider)?;
            Some(Extraction::new(schema, client, model)?)
        }
        _ => None,
    };
    let journal_path = journal_path(&data_dir, &name);
    let (mut journal, done) = Journal::open(&journal_path)?;
    if !done.is_empty() && !json {
        eprintln!("resuming `{name}`: {} pages already collected ({})", done.len(), journal_path.display());
    }
    let collector = Collector::new(options)?;
    let seeds = collector.seeds(&source).await?;
    if !json {
        eprintln!(
            "collecting `{name}` from {} pages; stop with Ctrl-C and run the same command to resume",
            seeds.len()
        );
    }
    let ctrl_c = CtrlC::listen();
    let summary = collector
        .collect(seeds, &mut journal, &done, &ctrl_c.token, |page, summary| {
            if !json {
                eprintln!("{}", progress_line(page, summary));
            }
        })
        .await;
    drop(ctrl_c);
    let summary = summary?;
    drop(journal);
    if summary.interrupted {
        emit(
            json,
            &message(
                format!(
                    "interrupted: {} pages kept in {}; run the same command again to resume (the dataset is made when the crawl ends)",
                    summary.resumed + summary.fetched,
                    journal_path.display()
                ),
                json!({ "dataset": name, "interrupted": true, "summary": summary, "journal": journal_path }),
            ),
        )?;
        return Ok(ExitCode::from(exit::RUN_UNFINISHED));
    }
    let (dataset, extracted) = match &extraction {
        None => (import_journal(&mut store, &journal_path, &name, &summary)?, None),
        Some(extraction) => {
            let Some(extracted) = extract_pages(json, extraction, &journal_path).await? else {
                return Ok(ExitCode::from(exit::RUN_UNFINISHED));
            };
            let merged = journal_path.with_extension("merged.jsonl");
            extract::merge(extraction, &journal_path, &extract::journal_path(&journal_path), &merged)?;
            let dataset = import_journal(&mut store, &merged, &name, &summary);
            remove(&merged)?;
            let dataset = dataset?;
            remove(&extract::journal_path(&journal_path))?;
            (dataset, Some(extracted))
        }
    };
    remove(&journal_path)?;
    emit(
        json,
        &message(
            format!(
                "collected `{}`: {} pages ({} failed, see their error column), {} columns",
                dataset.name,
                dataset.row_count,
                summary.failed,
                dataset.columns.len()
            ),
            json!({ "dataset": dataset, "summary": summary, "extraction": extracted }),
        ),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Extraction over the collected pages; `None` when Ctrl-C stopped it (the
/// answers so far are kept for the next run).
async fn extract_pages(
    json: bool,
    extraction: &Extraction,
    journal_path: &Path,
) -> Result<Option<extract::ExtractSummary>> {
    let extract_journal = extract::journal_path(journal_path);
    let ctrl_c = CtrlC::listen();
    let summary = extract::run(extraction, journal_path, &extract_journal, &ctrl_c.token, |url, error, _| {
        if !json {
            match error {
                Some(error) => eprintln!("extract failed  {url}: {}", crate::data::shorten(error, 120)),
                None => eprintln!("extracted {url}"),
            }
        }
    })
    .await;
    drop(ctrl_c);
    let summary = summary?;
    if summary.interrupted {
        emit(
            json,
            &message(
                format!(
                    "interrupted while extracting: {} pages' fields kept in {}; run the same command again to resume",
                    summary.resumed + summary.extracted + summary.failed,
                    extract_journal.display()
                ),
                json!({ "interrupted": true, "extraction": summary, "journal": extract_journal }),
            ),
        )?;
        return Ok(None);
    }
    Ok(Some(summary))
}

fn remove(path: &Path) -> Result<()> {
    std::fs::remove_file(path).with_context(|| format!("removing the finished journal {}", path.display()))
}

fn source(args: &CollectArgs) -> Result<Source> {
    match (&args.urls, &args.sitemap) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("could not read {}: check the path", file.display()))?;
            let urls: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect();
            if urls.is_empty() {
                return Err(usage(format!("{} lists no URLs (one http(s) URL per line)", file.display())));
            }
            Ok(Source::Urls(urls))
        }
        (None, Some(sitemap)) => Ok(Source::Sitemap(sitemap.clone())),
        (None, None) => Err(usage("say where to start: --urls FILE or --sitemap URL")),
    }
}

fn options(args: &CollectArgs) -> Result<CollectOptions> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(usage("--timeout must be a number of seconds above 0"));
    }
    if !(args.per_host_rps.is_finite() && args.per_host_rps > 0.0) {
        return Err(usage("--per-host-rps must be a number above 0"));
    }
    if args.concurrency == 0 || args.per_host_concurrency == 0 {
        return Err(usage("--concurrency and --per-host-concurrency must be at least 1"));
    }
    Ok(CollectOptions {
        max_depth: args.depth,
        per_host_rps: args.per_host_rps,
        concurrency: args.concurrency,
        per_host_concurrency: args.per_host_concurrency,
        max_bytes: args.max_bytes,
        timeout: Duration::from_secs_f64(args.timeout),
        max_pages: args.max_pages,
        allow: args.allow.clone(),
        ..CollectOptions::default()
    })
}

/// `<data dir>/collector/<name>.jsonl`, the name with every character
/// outside `[A-Za-z0-9_-]` written as `%XX`, so two names never share a file.
fn journal_path(data_dir: &Path, name: &str) -> PathBuf {
    let mut file = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            file.push(char::from(byte));
        } else {
            file.push_str(&format!("%{byte:02X}"));
        }
    }
    data_dir.join("collector").join(format!("{file}.jsonl"))
}

fn import_journal(store: &mut Store, path: &Path, name: &str, summary: &Summary) -> Result<local_data::Dataset> {
    let file = std::fs::File::open(path).with_context(|| format!("reading the journal {}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size == 0 {
        anyhow::bail!(
            "no page was collected ({} listed pages were already done or none were given); nothing to save",
            summary.resumed
        );
    }
    let mut options = ImportOptions::new(name, Format::JsonLines);
    // The journal is our own file: its size is the limit.
    options.limits = Limits { max_bytes: size, ..Limits::default() };
    store
        .import(std::io::BufReader::new(file), &options, |_| {})
        .with_context(|| format!("saving the pages as dataset `{name}` (the journal {} is kept)", path.display()))
}

fn progress_line(page: &PageRecord, summary: &Summary) -> String {
    let n = summary.resumed + summary.fetched;
    match (&page.error, page.status) {
        (Some(error), _) => format!("[{n}] failed  {error}"),
        (None, Some(status)) => {
            format!(
                "[{n}] {status} {} {}",
                page.url,
                page.title.as_deref().map(|t| crate::data::shorten(t, 60)).unwrap_or_default()
            )
        }
        (None, None) => format!("[{n}] {}", page.url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dataset_name_has_its_own_journal_inside_the_data_dir() {
        let dir = Path::new("/data");
        assert_eq!(journal_path(dir, "news-2024_q1"), Path::new("/data/collector/news-2024_q1.jsonl"));
        // No name can leave the folder or share another name's file.
        assert_eq!(journal_path(dir, "../etc/passwd"), Path::new("/data/collector/%2E%2E%2Fetc%2Fpasswd.jsonl"));
        assert_ne!(journal_path(dir, "a b"), journal_path(dir, "a_b"));
        assert_ne!(journal_path(dir, "a%20b"), journal_path(dir, "a b"));
    }
}
