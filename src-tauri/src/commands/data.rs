//! The workflow's local data (`crates/local-data`): datasets and records,
//! prompt templates, generated requests and their review, responses and
//! insights, export and usage counts. Each command checks its input, then
//! runs one store call off the async runtime (SQLite blocks).
//!
//! The database is `<data dir>/local.db`; [`DataState`] is managed by
//! `lib::run` (and by tests), not by `with_shell`, so a test app without
//! it simply has no data commands.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use local_data::{
    AiCacheSize, ComparePage, CompareQuery, Dataset, ExportFormat, ImportOptions, Insight, ModelEstimate, ModelTarget,
    Page, PriceRow, Rates, RecordQuery, RecordRow, RequestQuery, RequestRow, RequestStatus, ResponseQuery, ResponseRow,
    Store, Template, TemplateCheck, TemplateVersion, Usage,
};
use records::Format;
use serde::Serialize;
use serde_json::Value;
use stack::import::{Document, Parsed, Parser, ServiceParse};
use tauri::State;

use super::files::{FileChoices, Purpose, raw_path_refused};
use super::stack::StackState;
use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::recent_files::RecentFiles;

/// The database's file name in the data dir.
const DB_FILE: &str = "local.db";

/// How long a deleted dataset can be restored: well past the Undo toast
/// (6 s), short enough that its disk space comes back soon.
pub const TRASH_TIME: std::time::Duration = std::time::Duration::from_secs(60);

/// A bulk status change that can be undone (the last one of this launch).
#[derive(Debug, Clone)]
pub struct BulkChange {
    id: u64,
    ids: Vec<i64>,
    from: RequestStatus,
    to: RequestStatus,
}

/// What the page is told of the last bulk change.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BulkStatusChange {
    /// Pass to `undo_bulk_status_change`.
    pub id: u64,
    pub count: u64,
    pub from: RequestStatus,
    pub to: RequestStatus,
}

impl BulkChange {
    fn view(&self) -> BulkStatusChange {
        BulkStatusChange { id: self.id, count: self.ids.len() as u64, from: self.from, to: self.to }
    }
}

/// The open local database.
#[derive(Debug, Clone)]
pub struct DataState {
    store: Arc<Mutex<Store>>,
    dir: PathBuf,
    /// Kept in memory only: an undo is offered right after the change, and a
    /// restart is a natural end to it.
    last_bulk: Arc<Mutex<Option<BulkChange>>>,
    bulk_ids: Arc<std::sync::atomic::AtomicU64>,
    /// The files imported lately (`recent-files.json` beside the database).
    pub recent: Arc<RecentFiles>,
}

impl DataState {
    /// Opens (creating if needed) `<dir>/local.db`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        std::fs::create_dir_all(dir).with_context(|| format!("creating the data folder {}", dir.display()))?;
        let path = dir.join(DB_FILE);
        let mut store = Store::open(&path).with_context(|| format!("opening the local database {}", path.display()))?;
        // What was deleted before the last quit is past its undo.
        store.purge_deleted(TRASH_TIME).with_context(|| format!("emptying the trash of {}", path.display()))?;
        Ok(Self {
            store: Arc::new(Mutex::new(store)),
            dir: dir.to_path_buf(),
            last_bulk: Arc::new(Mutex::new(None)),
            bulk_ids: Arc::new(std::sync::atomic::AtomicU64::new(1)),
            recent: Arc::new(RecentFiles::new(dir)),
        })
    }

    fn remember_bulk(&self, ids: Vec<i64>, from: RequestStatus, to: RequestStatus) {
        let id = self.bulk_ids.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        *self.last_bulk.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(BulkChange { id, ids, from, to });
    }

    fn last_bulk(&self) -> Option<BulkChange> {
        self.last_bulk.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The last bulk change if it is `id`, which is then no longer undoable.
    fn take_bulk(&self, id: u64) -> Option<BulkChange> {
        let mut last = self.last_bulk.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.as_ref().is_some_and(|bulk| bulk.id == id) { last.take() } else { None }
    }

    /// Empties the trash once what was just deleted is past its undo.
    fn purge_trash_later(&self) {
        let store = self.store.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(TRASH_TIME).await;
            let purged = tauri::async_runtime::spawn_blocking(move || {
                store.lock().unwrap_or_else(std::sync::PoisonError::into_inner).purge_deleted(TRASH_TIME)
            })
            .await;
            if let Ok(Err(err)) = purged {
                tracing::warn!(%err, "emptying the trash of deleted datasets failed; it is retried at the next start");
            }
        });
    }

    /// A second connection to the same database, for a run engine that
    /// writes from its own threads while the commands go on.
    pub(crate) fn open_connection(&self) -> CommandResult<Store> {
        Ok(Store::open(self.dir.join(DB_FILE))?)
    }

    /// Runs `f` with the store on the blocking pool, for a caller whose errors are not the store's own.
    pub(crate) async fn with_result<T: Send + 'static, E: Into<CommandError> + Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, E> + Send + 'static,
    ) -> CommandResult<T> {
        let store = self.store.clone();
        tauri::async_runtime::spawn_blocking(move || {
            let mut store = store.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut store)
        })
        .await
        .map_err(|err| CommandError::new(ErrorCode::Internal, format!("a database task failed: {err}")))?
        .map_err(Into::into)
    }

    /// Runs `f` with the store on the blocking pool.
    pub(crate) async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, local_data::Error> + Send + 'static,
    ) -> CommandResult<T> {
        self.with_result(f).await
    }
}

impl From<local_data::Error> for CommandError {
    fn from(err: local_data::Error) -> Self {
        let code = match &err {
            local_data::Error::Parse(_) => ErrorCode::ParseError,
            local_data::Error::Invalid { .. } | local_data::Error::NameTaken { .. } => ErrorCode::InvalidInput,
            local_data::Error::NotFound { .. } => ErrorCode::NotFound,
            local_data::Error::MissingFields { .. } => ErrorCode::MissingFields,
            local_data::Error::TemplateSyntax { .. }
            | local_data::Error::Render { .. }
            | local_data::Error::OverBudget { .. } => ErrorCode::InvalidTemplate,
            _ => ErrorCode::Data,
        };
        Self::new(code, err.to_string())
    }
}

pub(crate) fn positive(field: &str, id: i64) -> CommandResult<i64> {
    if id > 0 { Ok(id) } else { Err(CommandError::invalid(format!("{field} must be a positive id, not {id}"))) }
}

fn parse_format(format: &str) -> CommandResult<Format> {
    format.parse().map_err(|e: records::UnknownFormat| CommandError::invalid(e.to_string()))
}

// ----- Record Collector -----

/// A saved dataset and which parser read it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedDataset {
    pub dataset: Dataset,
    pub parser: Parser,
    pub parser_reason: Option<String>,
}

/// Imports a document as a new dataset: exactly one of `text` (pasted) or
/// `file` (the token of a file chosen with `choose_file`, read here, so large
/// files never cross IPC; a raw `path` is refused). With the local stack
/// up and healthy, a JSON, JSON Lines, YAML or Markdown document is parsed by
/// its `parsers` service (`parser: "service"`, up to the preview's 64 MiB);
/// otherwise, and always for CSV, it is streamed in process
/// (`parser: "in-process"`, `parserReason` saying why).
#[tauri::command]
#[allow(clippy::too_many_arguments)] // the command's IPC arguments
pub async fn save_dataset<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    data: State<'_, DataState>,
    stack: State<'_, StackState>,
    choices: State<'_, FileChoices>,
    name: String,
    format: String,
    text: Option<String>,
    file: Option<String>,
    path: Option<String>,
) -> CommandResult<SavedDataset> {
    let format = parse_format(&format)?;
    let document = super::stack::document(&choices, text, file, path)?;
    let imported_file = match &document {
        Document::File(path) => Some(path.clone()),
        Document::Text(_) => None,
    };
    let saved = match stack.parse_for_saving(format, document).await? {
        ServiceParse::Parsed(Parsed { table, parser, parser_reason, .. }) => {
            let dataset = data.with(move |s| s.import_table(&name, format, &table)).await?;
            SavedDataset { dataset, parser, parser_reason }
        }
        ServiceParse::NotUsed { reason, document } => {
            let dataset = stream_in_process(&data, ImportOptions::new(name, format), document).await?;
            SavedDataset { dataset, parser: Parser::InProcess, parser_reason: Some(reason) }
        }
    };
    stack.record_parser(saved.parser);
    let parser = serde_json::to_value(saved.parser).unwrap_or_default();
    super::hooks::fire(&app, super::hooks::import_done(&saved.dataset, parser.as_str().unwrap_or("")));
    if let Some(path) = imported_file {
        // The dataset is saved; a list that cannot be written only loses the shortcut.
        if let Err(err) = data.recent.add(&path, saved.dataset.created_at) {
            tracing::warn!(err = %err.message, "could not add the file to the recent files");
        }
    }
    Ok(saved)
}

/// Saves a document with the store's own parser, streaming a file from disk.
async fn stream_in_process(data: &DataState, options: ImportOptions, document: Document) -> CommandResult<Dataset> {
    match document {
        Document::Text(text) => data.with(move |s| s.import(text.as_bytes(), &options, |_| {})).await,
        Document::File(path) => {
            let file = std::fs::File::open(&path).map_err(|err| {
                CommandError::invalid(format!(
                    "could not read {}: {err}; check the path and that the file is readable",
                    path.display()
                ))
            })?;
            data.with(move |s| s.import(std::io::BufReader::new(file), &options, |_| {})).await
        }
    }
}

#[tauri::command]
pub async fn list_datasets(data: State<'_, DataState>) -> CommandResult<Vec<Dataset>> {
    data.with(|s| s.datasets()).await
}

/// Moves the dataset to the trash; `restore_dataset` undoes this for
/// [`TRASH_TIME`], then the dataset is deleted for good.
#[tauri::command]
pub async fn delete_dataset(data: State<'_, DataState>, dataset_id: i64) -> CommandResult<()> {
    let id = positive("datasetId", dataset_id)?;
    data.with(move |s| s.delete_dataset(id)).await?;
    data.purge_trash_later();
    Ok(())
}

#[tauri::command]
pub async fn restore_dataset(data: State<'_, DataState>, dataset_id: i64) -> CommandResult<Dataset> {
    let id = positive("datasetId", dataset_id)?;
    data.with(move |s| s.restore_dataset(id)).await
}

/// A page of a dataset's records. `cursor` (host API 1.7.0) is a page's
/// `next_cursor` or `previous_cursor`, handed back as it came, for the page
/// after or before it; without one, the first page. A cursor of another
/// filter or sort is refused (`invalidInput`: start again from the first
/// page). `query.offset` is deprecated: remotes of host API 1.6 and earlier
/// page with it, so it is still read (an `OFFSET` scan) when no cursor is sent.
#[tauri::command]
pub async fn dataset_records(
    data: State<'_, DataState>,
    dataset_id: i64,
    query: RecordQuery,
    cursor: Option<String>,
) -> CommandResult<Page<RecordRow>> {
    let id = positive("datasetId", dataset_id)?;
    data.with(move |s| s.list_records(id, &query, cursor.as_deref())).await
}

#[tauri::command]
pub async fn update_record_field(
    data: State<'_, DataState>,
    record_id: i64,
    column: String,
    value: Value,
) -> CommandResult<RecordRow> {
    let id = positive("recordId", record_id)?;
    data.with(move |s| s.update_record_field(id, &column, value)).await
}

// ----- Prompt Template Manager -----

#[tauri::command]
pub async fn list_templates(data: State<'_, DataState>) -> CommandResult<Vec<Template>> {
    data.with(|s| s.templates()).await
}

/// `schema` (host API 1.6.0): a JSON Schema answers must fit, checked
/// first (`invalid_schema`, with the path of the problem).
#[tauri::command]
pub async fn create_template(
    data: State<'_, DataState>,
    name: String,
    body: String,
    schema: Option<String>,
) -> CommandResult<Template> {
    data.with(move |s| s.create_template_with_schema(&name, &body, schema.as_deref())).await
}

/// `schema` (host API 1.6.0) as for `create_template`; none: free text.
#[tauri::command]
pub async fn add_template_version(
    data: State<'_, DataState>,
    template_id: i64,
    body: String,
    schema: Option<String>,
) -> CommandResult<TemplateVersion> {
    let id = positive("templateId", template_id)?;
    data.with(move |s| s.add_template_version_with_schema(id, &body, schema.as_deref())).await
}

#[tauri::command]
pub async fn set_current_template_version(
    data: State<'_, DataState>,
    template_id: i64,
    version_id: i64,
) -> CommandResult<Template> {
    let (template, version) = (positive("templateId", template_id)?, positive("versionId", version_id)?);
    data.with(move |s| s.set_current_version(template, version)).await
}

#[tauri::command]
pub async fn template_versions(data: State<'_, DataState>, template_id: i64) -> CommandResult<Vec<TemplateVersion>> {
    let id = positive("templateId", template_id)?;
    data.with(move |s| s.template_versions(id)).await
}

/// The fields `body` (saved or not) uses that the dataset lacks.
#[tauri::command]
pub async fn check_template(data: State<'_, DataState>, body: String, dataset_id: i64) -> CommandResult<TemplateCheck> {
    let id = positive("datasetId", dataset_id)?;
    data.with(move |s| s.check_body(&body, id)).await
}

/// `body` (saved or not) rendered against one record.
#[tauri::command]
pub async fn preview_template(data: State<'_, DataState>, body: String, record_id: i64) -> CommandResult<String> {
    let id = positive("recordId", record_id)?;
    data.with(move |s| s.preview_body(&body, id)).await
}

// ----- Request Reviewer -----

#[tauri::command]
pub async fn generate_requests(
    data: State<'_, DataState>,
    dataset_id: i64,
    template_version_id: i64,
    targets: Vec<ModelTarget>,
) -> CommandResult<u64> {
    let (dataset, version) = (positive("datasetId", dataset_id)?, positive("templateVersionId", template_version_id)?);
    data.with(move |s| s.generate_requests(dataset, version, &targets)).await
}

/// A page of requests; `cursor` and the deprecated `query.offset` as in [`dataset_records`].
#[tauri::command]
pub async fn list_requests(
    data: State<'_, DataState>,
    query: RequestQuery,
    cursor: Option<String>,
) -> CommandResult<Page<RequestRow>> {
    positive("dataset_id", query.dataset_id)?;
    data.with(move |s| s.list_requests(&query, cursor.as_deref())).await
}

#[tauri::command]
pub async fn set_request_status(
    data: State<'_, DataState>,
    request_ids: Vec<i64>,
    status: RequestStatus,
) -> CommandResult<u64> {
    for id in &request_ids {
        positive("requestIds", *id)?;
    }
    data.with(move |s| s.set_request_status(&request_ids, status)).await
}

#[tauri::command]
pub async fn set_all_request_status(
    data: State<'_, DataState>,
    dataset_id: i64,
    template_version_id: Option<i64>,
    from: RequestStatus,
    to: RequestStatus,
) -> CommandResult<u64> {
    let dataset = positive("datasetId", dataset_id)?;
    let version = template_version_id.map(|id| positive("templateVersionId", id)).transpose()?;
    let ids = data.with(move |s| s.set_all_request_status_ids(dataset, version, from, to)).await?;
    let count = ids.len() as u64;
    data.remember_bulk(ids, from, to);
    Ok(count)
}

/// The last "all pending → …" change of this launch, which can be undone;
/// `null` when there is none (or it was undone).
#[tauri::command]
pub async fn last_bulk_status_change(data: State<'_, DataState>) -> CommandResult<Option<BulkStatusChange>> {
    Ok(data.last_bulk().map(|bulk| bulk.view()))
}

/// Undoes the bulk change `id` (from `last_bulk_status_change`): each of its
/// requests still at the new status goes back; a request reviewed or edited
/// since is left as it is. Returns how many went back. Only the last bulk
/// change can be undone, once.
#[tauri::command]
pub async fn undo_bulk_status_change(data: State<'_, DataState>, id: u64) -> CommandResult<u64> {
    let Some(bulk) = data.take_bulk(id) else {
        return Err(CommandError::invalid(
            "that change can no longer be undone: it was undone already, or another bulk change came after it",
        ));
    };
    data.with(move |s| s.revert_request_status(&bulk.ids, bulk.from, bulk.to)).await
}

#[tauri::command]
pub async fn edit_request(
    data: State<'_, DataState>,
    request_id: i64,
    text: Option<String>,
) -> CommandResult<RequestRow> {
    let id = positive("requestId", request_id)?;
    data.with(move |s| s.edit_request(id, text.as_deref())).await
}

/// Tokens and cost per provider model for every request that is not rejected.
/// With `repeats` (host API 1.7.0, 1 to 10): of a run asking each prompt
/// that many times (each record × model's prompt counted `repeats` times).
#[tauri::command]
pub async fn estimate_requests(
    data: State<'_, DataState>,
    dataset_id: i64,
    template_version_id: Option<i64>,
    output_tokens: u64,
    repeats: Option<u32>,
) -> CommandResult<Vec<ModelEstimate>> {
    let dataset = positive("datasetId", dataset_id)?;
    let version = template_version_id.map(|id| positive("templateVersionId", id)).transpose()?;
    data.with(move |s| match repeats {
        None => s.estimate(dataset, version, None, output_tokens),
        Some(repeats) => s.estimate_repeated(dataset, version, None, output_tokens, repeats),
    })
    .await
}

// ----- Insight Assembler -----

/// A page of responses; `cursor` and the deprecated `query.offset` as in [`dataset_records`].
#[tauri::command]
pub async fn list_responses(
    data: State<'_, DataState>,
    query: ResponseQuery,
    cursor: Option<String>,
) -> CommandResult<Page<ResponseRow>> {
    positive("dataset_id", query.dataset_id)?;
    data.with(move |s| s.list_responses(&query, cursor.as_deref())).await
}

#[tauri::command]
pub async fn compare_answers(data: State<'_, DataState>, query: CompareQuery) -> CommandResult<ComparePage> {
    positive("baseline.run_id", query.baseline.run_id)?;
    positive("candidate.run_id", query.candidate.run_id)?;
    data.with(move |s| s.compare_answers(&query)).await
}

#[tauri::command]
pub async fn set_insight(data: State<'_, DataState>, response_id: i64, insight: Insight) -> CommandResult<Insight> {
    let id = positive("responseId", response_id)?;
    data.with(move |s| s.set_insight(id, &insight)).await
}

#[tauri::command]
pub async fn tag_responses(data: State<'_, DataState>, response_ids: Vec<i64>, tag: String) -> CommandResult<u64> {
    for id in &response_ids {
        positive("responseIds", *id)?;
    }
    data.with(move |s| s.tag_responses(&response_ids, &tag)).await
}

/// Where an export went and how many responses it holds.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct ExportResult {
    pub path: String,
    pub rows: u64,
}

/// Writes every response `query` matches to `file` (the token of a path
/// chosen with `choose_save_path`), or to `<data dir>/exports/` when none is
/// given. A raw `path` from the page is refused (issue 20 point 5). The
/// checks and the all-or-nothing write are `local_data`'s.
#[tauri::command]
pub async fn export_responses(
    data: State<'_, DataState>,
    choices: State<'_, FileChoices>,
    query: ResponseQuery,
    format: ExportFormat,
    file: Option<String>,
    path: Option<String>,
) -> CommandResult<ExportResult> {
    positive("dataset_id", query.dataset_id)?;
    if path.is_some() {
        return Err(raw_path_refused());
    }
    let (target, rows) = match file {
        Some(token) => {
            let target = choices.take(&token, Purpose::Save)?;
            data.with(move |s| s.export_responses_to_file(&query, format, &target).map(|rows| (target, rows))).await?
        }
        None => {
            let folder = data.dir.join("exports");
            data.with(move |s| s.export_responses_to_folder(&query, format, &folder)).await?
        }
    };
    tracing::info!(rows, path = %target.display(), "exported responses");
    let shown = target.display().to_string();
    choices.exported(target);
    Ok(ExportResult { path: shown, rows })
}

// ----- The AI response cache -----

/// The most days `prune_ai_cache` takes (a century).
const MAX_PRUNE_DAYS: u32 = 36_500;

/// How many answers the AI response cache holds and their size.
#[tauri::command]
pub async fn ai_cache_size(data: State<'_, DataState>) -> CommandResult<AiCacheSize> {
    data.with(|s| s.ai_cache_size()).await
}

/// Removes cached AI answers: every one, or with `olderThanDays` those
/// stored more than that many days ago. Replies how many were removed.
/// Nothing else ever removes one.
#[tauri::command]
pub async fn prune_ai_cache(data: State<'_, DataState>, older_than_days: Option<u32>) -> CommandResult<u64> {
    if older_than_days.is_some_and(|days| days > MAX_PRUNE_DAYS) {
        return Err(CommandError::invalid(format!(
            "olderThanDays: at most {MAX_PRUNE_DAYS} days; leave it out to clear the whole cache"
        )));
    }
    let older_than = older_than_days.map(|days| std::time::Duration::from_secs(u64::from(days) * 86_400));
    data.with(move |s| s.prune_ai_cache(older_than)).await
}

// ----- Admin Dashboard -----

#[tauri::command]
pub async fn usage_metrics(data: State<'_, DataState>) -> CommandResult<Usage> {
    data.with(|s| s.usage()).await
}

// ----- Prices (issue 17, point 7; host API 1.5.0) -----

/// The price table: every priced model with the prices in effect, its list
/// price and whether the person's own replace it.
#[tauri::command]
pub async fn list_prices(data: State<'_, DataState>) -> CommandResult<Vec<PriceRow>> {
    data.with(|s| s.prices()).await
}

/// Sets the person's prices for a model (US dollars per million tokens; a
/// rate left out is unknown), used by estimates and charts from now on.
#[tauri::command]
pub async fn set_price(
    data: State<'_, DataState>,
    provider: String,
    model: String,
    rates: Rates,
) -> CommandResult<PriceRow> {
    data.with(move |s| s.set_price(&provider, &model, rates)).await
}

/// Drops the person's prices for a model: its list price applies again.
/// Replies the row now, `null` for a model without a list price.
#[tauri::command]
pub async fn reset_price(
    data: State<'_, DataState>,
    provider: String,
    model: String,
) -> CommandResult<Option<PriceRow>> {
    data.with(move |s| s.reset_price(&provider, &model)).await
}
