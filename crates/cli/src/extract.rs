//! `augment data collect --extract-schema`: fields pulled out of each
//! collected page by an AI provider into columns, the answer made to fit a
//! JSON Schema (the provider's structured output, as a template's schema is
//! sent) and checked against it before it is kept.
//!
//! Extraction runs after the crawl, page by page, into a second journal
//! beside the crawl's (`<name>.extract.jsonl`, one line per page, keyed by
//! URL), so an interrupted extraction resumes without asking again for the
//! pages it has. A page the model answers badly keeps its page columns and
//! says why in `extract_error`; it never stops the others.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use collector::PageRecord;
use futures_util::{StreamExt as _, stream};
use providers::{CallOptions, ChatRequest, Message, ProviderClient};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::workflow::usage;

/// Characters of a page's content sent to the model (about 6,000 tokens):
/// enough for an article, bounded for a page that is mostly text.
pub const MAX_CONTENT_CHARS: usize = 24_000;

/// Pages asked about at once.
const CONCURRENCY: usize = 4;

/// The column that says why a page's fields are missing.
pub const ERROR_COLUMN: &str = "extract_error";

/// What to extract and who extracts it.
pub struct Extraction {
    schema: Value,
    schema_text: String,
    fields: Vec<String>,
    client: ProviderClient,
    model: String,
}

impl std::fmt::Debug for Extraction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extraction").field("fields", &self.fields).field("model", &self.model).finish_non_exhaustive()
    }
}

/// One journal line: a page's extracted fields, or why there are none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Extracted {
    url: String,
    #[serde(default)]
    fields: Map<String, Value>,
    #[serde(default)]
    error: Option<String>,
}

/// How an extraction went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExtractSummary {
    pub extracted: u64,
    pub failed: u64,
    /// Pages with fields from an earlier, interrupted extraction.
    pub resumed: u64,
    /// Pages not collected (the crawl's error), so not asked about.
    pub skipped: u64,
    pub interrupted: bool,
}

impl Extraction {
    /// Reads the schema file (a JSON Schema of an object) and checks that its
    /// fields do not take the name of a page column.
    pub fn new(schema_path: &Path, client: ProviderClient, model: &str) -> Result<Extraction> {
        let text = std::fs::read_to_string(schema_path)
            .with_context(|| format!("could not read the schema {}: check the path", schema_path.display()))?;
        let schema = local_data::check_schema(&text)
            .map_err(|e| usage(format!("{} is not a schema extraction can use: {e}", schema_path.display())))?;
        let fields = local_data::schema_properties(&schema);
        if fields.is_empty() {
            return Err(usage(format!("{} names no properties to extract", schema_path.display())));
        }
        let taken = PageRecord::column_names();
        if let Some(clash) = fields.iter().find(|f| taken.contains(f) || f.as_str() == ERROR_COLUMN) {
            return Err(usage(format!(
                "the schema's property `{clash}` has the name of a page column ({}); rename it in {}",
                taken.join(", "),
                schema_path.display()
            )));
        }
        let model = model.trim();
        if model.is_empty() {
            return Err(usage("--extract-model needs a model name"));
        }
        Ok(Extraction { schema, schema_text: text, fields, client, model: model.to_owned() })
    }

    fn request(&self, page: &PageRecord) -> ChatRequest {
        let content: String = page.content.as_deref().unwrap_or_default().chars().take(MAX_CONTENT_CHARS).collect();
        let prompt = format!(
            "Extract the fields the JSON Schema describes from this web page. Use only what the page says; \
             where it does not say, use null if the schema allows it.\n\nURL: {}\nTitle: {}\nDescription: {}\n\n{}",
            page.final_url.as_deref().unwrap_or(&page.url),
            page.title.as_deref().unwrap_or(""),
            page.description.as_deref().unwrap_or(""),
            content
        );
        let mut request = ChatRequest::with_messages(&self.model, vec![Message::user(prompt)]);
        request.schema = Some(self.schema.clone());
        request
    }

    async fn extract(&self, page: &PageRecord, cancel: &CancellationToken) -> Outcome {
        let options = CallOptions::new().cancel_with(cancel.clone());
        let answer = match self.client.chat(&self.request(page), &options).await {
            Ok(answer) => answer,
            Err(providers::Error::Cancelled { .. }) => return Outcome::Stopped,
            Err(err) if stops_every_page(&err) => {
                cancel.cancel();
                return Outcome::Fatal(err);
            }
            Err(err) => return Outcome::Answered(failed(page, format!("the provider failed: {err}"))),
        };
        let check = local_data::validate_answer(&self.schema_text, &answer.text);
        Outcome::Answered(match (check.valid, check.fields) {
            (true, Some(fields)) => Extracted { url: page.url.clone(), fields, error: None },
            _ => {
                let issues: Vec<String> = check
                    .issues
                    .iter()
                    .map(|i| if i.path.is_empty() { i.message.clone() } else { format!("{}: {}", i.path, i.message) })
                    .collect();
                failed(page, format!("the answer does not fit the schema: {}", issues.join("; ")))
            }
        })
    }
}

/// One page's extraction.
enum Outcome {
    Answered(Extracted),
    /// Cancelled before an answer.
    Stopped,
    /// An error every other page would meet too (no key, a refused key, a
    /// used-up quota, an unknown model): the extraction stops on it.
    Fatal(providers::Error),
}

fn stops_every_page(error: &providers::Error) -> bool {
    use providers::Error::*;
    matches!(
        error,
        InvalidKey { .. }
            | MalformedKey { .. }
            | NoKey { .. }
            | QuotaExhausted { .. }
            | ModelNotFound { .. }
            | EndpointNotFound { .. }
            | Keychain(_)
            | InvalidConfig { .. }
    )
}

fn failed(page: &PageRecord, error: String) -> Extracted {
    Extracted { url: page.url.clone(), fields: Map::new(), error: Some(error) }
}

/// `<crawl journal>.extract.jsonl`
pub fn journal_path(crawl_journal: &Path) -> PathBuf {
    crawl_journal.with_extension("extract.jsonl")
}

/// Asks about every collected page of `pages` not yet in the extraction
/// journal, appending each answer as it comes.
pub async fn run(
    extraction: &Extraction,
    pages: &Path,
    journal: &Path,
    cancel: &CancellationToken,
    mut on_page: impl FnMut(&str, Option<&str>, &ExtractSummary),
) -> Result<ExtractSummary> {
    let done = read_journal(journal)?;
    let mut summary = ExtractSummary { resumed: done.len() as u64, ..ExtractSummary::default() };
    let mut todo = Vec::new();
    for page in read_pages(pages)? {
        if page.failed() {
            summary.skipped += 1;
        } else if !done.contains_key(&page.url) {
            todo.push(page);
        }
    }
    drop_torn_tail(journal)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(journal)
        .with_context(|| format!("opening the extraction journal {}", journal.display()))?;
    let mut out = BufWriter::new(file);
    let mut answers =
        stream::iter(todo.iter().map(|page| extraction.extract(page, cancel))).buffer_unordered(CONCURRENCY);
    let mut fatal = None;
    while let Some(outcome) = answers.next().await {
        let answer = match outcome {
            Outcome::Answered(answer) => answer,
            Outcome::Stopped => continue,
            Outcome::Fatal(err) => {
                fatal.get_or_insert(err);
                continue;
            }
        };
        serde_json::to_writer(&mut out, &answer)?;
        out.write_all(b"\n")?;
        // Each answer is kept as soon as it is known: a stop loses none.
        out.flush().with_context(|| format!("writing {}", journal.display()))?;
        match answer.error {
            Some(_) => summary.failed += 1,
            None => summary.extracted += 1,
        }
        on_page(&answer.url, answer.error.as_deref(), &summary);
    }
    out.get_ref().sync_all().with_context(|| format!("writing {}", journal.display()))?;
    if let Some(err) = fatal {
        return Err(anyhow::Error::new(err).context(format!(
            "extraction stopped: every page would fail the same way ({} answers kept in {}; fix it and run the same command again)",
            summary.extracted + summary.failed,
            journal.display()
        )));
    }
    summary.interrupted = cancel.is_cancelled();
    Ok(summary)
}

/// The crawl journal's pages with the extracted columns added, as JSON Lines
/// into `out` (what the dataset is imported from). Every row has every
/// column (null where unknown), so the dataset's columns are the same whatever the first page.
pub fn merge(extraction: &Extraction, pages: &Path, journal: &Path, out: &Path) -> Result<()> {
    let extracted = read_journal(journal)?;
    let file = std::fs::File::create(out).with_context(|| format!("writing {}", out.display()))?;
    let mut writer = BufWriter::new(file);
    for page in read_pages(pages)? {
        let mut row = match serde_json::to_value(&page)? {
            Value::Object(row) => row,
            _ => anyhow::bail!("a page record is not an object"),
        };
        let found = extracted.get(&page.url);
        for field in &extraction.fields {
            let value = found.and_then(|e| e.fields.get(field)).cloned().unwrap_or(Value::Null);
            row.insert(field.clone(), value);
        }
        let error = match (found, page.failed()) {
            (Some(e), _) => e.error.clone().map(Value::String).unwrap_or(Value::Null),
            (None, true) => Value::String("the page was not collected".to_owned()),
            (None, false) => Value::String("not extracted: the extraction was stopped".to_owned()),
        };
        row.insert(ERROR_COLUMN.to_owned(), error);
        serde_json::to_writer(&mut writer, &row)?;
        writer.write_all(b"\n")?;
    }
    writer.flush()?;
    writer.get_ref().sync_all()?;
    Ok(())
}

/// Cuts a last line without its newline (a stop while writing), so the next
/// answer starts a line of its own.
fn drop_torn_tail(path: &Path) -> Result<()> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(anyhow::Error::new(err).context(format!("reading {}", path.display()))),
    };
    if bytes.last().is_some_and(|b| *b != b'\n') {
        let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.set_len(keep as u64).with_context(|| format!("repairing {}", path.display()))?;
    }
    Ok(())
}

fn read_pages(path: &Path) -> Result<Vec<PageRecord>> {
    let (_, pages) = collector::Journal::open(path)?;
    Ok(pages)
}

/// The extraction journal by URL; a missing file is an empty one, and a torn
/// last line (a stop while writing) is dropped and asked again.
fn read_journal(path: &Path) -> Result<HashMap<String, Extracted>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(err) => return Err(anyhow::Error::new(err).context(format!("reading {}", path.display()))),
    };
    let mut done = HashMap::new();
    for line in BufReader::new(file).lines() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        match serde_json::from_str::<Extracted>(&line) {
            Ok(entry) => {
                done.insert(entry.url.clone(), entry);
            }
            Err(err) => tracing::warn!(%err, "skipping an unreadable extraction journal line"),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_answer_is_dropped_and_asked_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let journal = dir.path().join("web.extract.jsonl");
        let kept = r#"{"url":"https://a.example/1","fields":{"price":1}}"#;
        std::fs::write(&journal, format!("{kept}\n{{\"url\":\"https://a.exa")).expect("write");
        drop_torn_tail(&journal).expect("repair");
        assert_eq!(std::fs::read_to_string(&journal).expect("read"), format!("{kept}\n"));
        let done = read_journal(&journal).expect("read journal");
        assert_eq!(done.len(), 1);
        assert_eq!(done["https://a.example/1"].fields["price"], 1);
    }

    #[test]
    fn the_extraction_journal_sits_beside_the_crawls() {
        assert_eq!(journal_path(Path::new("/d/collector/web.jsonl")), Path::new("/d/collector/web.extract.jsonl"));
    }
}
