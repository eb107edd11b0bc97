//! The local stack panel and the records import: each command a few lines
//! over `crates/stack`. `up` and `down` run in the background and report
//! through events; logs are followed per service and streamed as events.
//!
//! Events (payloads are camelCase JSON):
//! - [`events::PROGRESS`]: `{ operation: "up"|"down", phase: "started"|"done"|"failed", error?, building? }`;
//!   a `started` event with `building` (host API 1.8.0) carries one line of
//!   the build of the service binaries `up` runs first in a source checkout
//!   (cargo's "Compiling …");
//! - [`events::STATUS`]: a [`StackView`], while an operation runs and when it ends;
//! - [`events::LOG`]: `{ service, line }`, for every line of a followed service.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use futures_util::StreamExt as _;
use serde::Serialize;
use stack::import::{Document, ImportError, ImportPreview, Page, Parser, ServiceParse};
use stack::{Engine, Health, LineSplitter, Stack, StackDefinition, StackError, State};
use tauri::async_runtime::JoinHandle;
use tauri::{AppHandle, Emitter as _, Manager as _, Runtime};

use super::files::{FileChoice, FileChoices, Purpose, raw_path_refused};
use crate::error::{CommandError, CommandResult, ErrorCode};

/// Event names the stack commands emit.
pub mod events {
    /// An `up` or `down` started, finished or failed.
    pub const PROGRESS: &str = "stack-progress";
    /// The stack's status, refreshed while an operation runs.
    pub const STATUS: &str = "stack-status";
    /// One log line of a followed service.
    pub const LOG: &str = "stack-log";
}

/// How often the panel hears the status while `up` or `down` runs.
const STATUS_INTERVAL: Duration = Duration::from_millis(500);
/// Lines of history sent when following starts.
const LOG_TAIL: usize = 200;

/// Where the stack lives: the engine address, the definition, the binaries.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// `DOCKER_HOST` or `--docker-host`; `None` probes the usual sockets.
    pub docker_host: Option<String>,
    pub definition: StackDefinition,
    /// The service binaries' folder and how it was found (a launch flag, the
    /// installed package, or a source checkout, where `up` builds them).
    pub binaries: stack::BinLocation,
}

impl StackConfig {
    /// From the launch flags: a definition file, or the built-in one.
    pub fn new(
        docker_host: Option<String>,
        definition: Option<PathBuf>,
        bin_dir: Option<PathBuf>,
    ) -> Result<Self, StackError> {
        let definition = match definition {
            Some(path) => StackDefinition::from_file(&path)?,
            None => StackDefinition::built_in()?,
        };
        let binaries = stack::locate_binaries(&definition, bin_dir);
        let docker_host = docker_host.filter(|h| !h.trim().is_empty());
        Ok(Self { docker_host, definition, binaries })
    }
}

/// Managed Tauri state for the stack commands.
#[derive(Debug)]
pub struct StackState {
    config: StackConfig,
    /// The operation running now (`"up"` or `"down"`), one at a time.
    busy: Mutex<Option<&'static str>>,
    /// Followed services and their log tasks.
    followers: Mutex<HashMap<String, JoinHandle<()>>>,
    last_parser: Mutex<Option<Parser>>,
}

impl StackState {
    pub fn new(config: StackConfig) -> Self {
        Self { config, busy: Mutex::new(None), followers: Mutex::new(HashMap::new()), last_parser: Mutex::new(None) }
    }

    pub(crate) async fn stack(&self) -> Result<Stack, StackError> {
        let engine = match &self.config.docker_host {
            Some(host) => Engine::connect_to(host).await?,
            None => Engine::connect().await?,
        };
        Ok(Stack::new(engine, self.config.definition.clone()))
    }

    fn busy(&self) -> Option<&'static str> {
        *self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks `operation` as running; `false` when another one already is.
    fn begin(&self, operation: &'static str) -> bool {
        let mut busy = self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if busy.is_some() {
            return false;
        }
        *busy = Some(operation);
        true
    }

    fn end(&self) {
        *self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    fn last_parser(&self) -> Option<Parser> {
        *self.last_parser.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers which parser the last import or save used, for the panel.
    pub(crate) fn record_parser(&self, parser: Parser) {
        *self.last_parser.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(parser);
    }

    /// Parses a document to save as a dataset through the stack when it can
    /// (see [`stack::import::parse_for_saving`]).
    pub(crate) async fn parse_for_saving(
        &self,
        format: records::Format,
        document: Document,
    ) -> Result<ServiceParse, ImportError> {
        // No engine is not an error here: the document is saved in process instead.
        let stack = self.stack().await.ok();
        stack::import::parse_for_saving(stack.as_ref(), format, document).await
    }
}

/// One service as the panel shows it.
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "StackServiceView"))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    pub service: String,
    /// `running`, `exited`, `missing` …, as the engine reports it.
    pub state: State,
    pub health: Health,
    /// The host port on 127.0.0.1 (published, or the definition's when there is no container).
    pub port: Option<u16>,
    pub detail: Option<String>,
    /// The version of the app that created its container (host API 1.8.0).
    #[cfg_attr(test, ts(optional = nullable))]
    pub version: Option<String>,
}

/// The whole stack as the panel shows it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackView {
    pub stack: String,
    /// `docker` or `podman`, and its address.
    pub engine: stack::EngineInfo,
    pub services: Vec<ServiceView>,
    pub healthy: bool,
    /// `up` or `down` while one runs.
    #[cfg_attr(test, ts(type = "\"up\" | \"down\" | null"))]
    pub busy: Option<&'static str>,
    /// Which parser the last import used.
    pub last_import: Option<Parser>,
    /// Set when the stack's containers were made by another version of the
    /// app: "the stack runs 0.1.0, this app is 0.2.0: press Start to update"
    /// (host API 1.8.0).
    #[cfg_attr(test, ts(optional = nullable))]
    pub version_mismatch: Option<String>,
}

#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "StackProgress"))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Progress {
    #[cfg_attr(test, ts(type = "\"up\" | \"down\""))]
    operation: &'static str,
    #[cfg_attr(test, ts(type = "\"started\" | \"done\" | \"failed\""))]
    phase: &'static str,
    error: Option<CommandError>,
    /// While `up` builds the service binaries (a source checkout): one line
    /// of the build, on a `started` event (host API 1.8.0).
    #[cfg_attr(test, ts(optional = nullable))]
    building: Option<String>,
}

impl Progress {
    fn new(operation: &'static str, phase: &'static str) -> Self {
        Self { operation, phase, error: None, building: None }
    }
}

#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "StackLogLine"))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogLine {
    service: String,
    line: String,
}

impl From<StackError> for CommandError {
    fn from(err: StackError) -> Self {
        let code = match &err {
            StackError::EngineNotRunning { .. } => ErrorCode::EngineNotRunning,
            StackError::PortInUse { .. } => ErrorCode::PortInUse,
            StackError::UnknownService { .. } => ErrorCode::InvalidInput,
            _ => ErrorCode::Stack,
        };
        Self::new(code, err.to_string())
    }
}

impl From<ImportError> for CommandError {
    fn from(err: ImportError) -> Self {
        let code = match &err {
            ImportError::Parse { .. } => ErrorCode::ParseError,
            ImportError::InvalidPage { .. } | ImportError::TooLarge { .. } | ImportError::Read { .. } => {
                ErrorCode::InvalidInput
            }
            _ => ErrorCode::Internal,
        };
        Self::new(code, err.to_string())
    }
}

async fn view(state: &StackState) -> CommandResult<StackView> {
    let status = state.stack().await?.status().await?;
    let definition = &state.config.definition;
    let services = status
        .services
        .into_iter()
        .map(|s| ServiceView {
            port: s.port(definition),
            service: s.service,
            state: s.state,
            health: s.health,
            detail: s.detail,
            version: s.version,
        })
        .collect();
    Ok(StackView {
        stack: status.stack,
        engine: status.engine,
        services,
        healthy: status.healthy,
        busy: state.busy(),
        last_import: state.last_parser(),
        version_mismatch: status.version_mismatch.map(|m| m.describe("this app", "press Start to update")),
    })
}

/// The stack as the engine has it now, with a health check of each service.
#[tauri::command]
pub async fn stack_status(state: tauri::State<'_, StackState>) -> CommandResult<StackView> {
    view(&state).await
}

/// Starts `up` in the background and returns at once: `true` if it started,
/// `false` if an operation is already running. Progress arrives as events.
#[tauri::command]
pub async fn stack_up<R: Runtime>(app: AppHandle<R>, state: tauri::State<'_, StackState>) -> CommandResult<bool> {
    Ok(run_in_background(app, &state, "up"))
}

/// Starts `down` in the background, like [`stack_up`]; also stops following logs.
#[tauri::command]
pub async fn stack_down<R: Runtime>(app: AppHandle<R>, state: tauri::State<'_, StackState>) -> CommandResult<bool> {
    Ok(run_in_background(app, &state, "down"))
}

fn run_in_background<R: Runtime>(app: AppHandle<R>, state: &StackState, operation: &'static str) -> bool {
    if !state.begin(operation) {
        return false;
    }
    emit(&app, events::PROGRESS, Progress::new(operation, "started"));
    tauri::async_runtime::spawn(async move {
        let state = app.state::<StackState>();
        let work = async {
            let stack = state.stack().await?;
            if operation == "up" {
                let binaries = prepare_binaries(&app, &state.config).await?;
                stack.up(&binaries.dir).await.map(drop)
            } else {
                stop_all_followers(&state);
                stack.down().await.map(drop)
            }
        };
        let result = with_status_updates(&app, &state, work).await;
        state.end();
        if let Ok(view) = view(&state).await {
            emit(&app, events::STATUS, view);
        }
        let progress = match result {
            Ok(()) => Progress::new(operation, "done"),
            Err(err) => {
                tracing::warn!(operation, %err, "stack operation failed");
                Progress { error: Some(err.into()), ..Progress::new(operation, "failed") }
            }
        };
        emit(&app, events::PROGRESS, progress);
    });
    true
}

/// The service binaries `up` needs: in a source checkout built first (the
/// same build as `augment stack up`), each line of progress a `started`
/// event with `building` set; elsewhere the installed or given folder, or a clear error.
async fn prepare_binaries<R: Runtime>(
    app: &AppHandle<R>,
    config: &StackConfig,
) -> Result<stack::PreparedBinaries, StackError> {
    let (app, definition, location) = (app.clone(), config.definition.clone(), config.binaries.clone());
    let building = tauri::async_runtime::spawn_blocking(move || {
        stack::prepare_binaries(&definition, &location, stack::BuildPolicy::InCheckout, &mut |line| {
            let progress = Progress { building: Some(line.to_owned()), ..Progress::new("up", "started") };
            emit(&app, events::PROGRESS, progress);
        })
    });
    building.await.map_err(|err| StackError::Io {
        action: "building the service binaries".to_owned(),
        source: std::io::Error::other(err.to_string()),
    })?
}

/// Runs `work`, emitting the status every [`STATUS_INTERVAL`] until it ends.
async fn with_status_updates<R: Runtime, T>(
    app: &AppHandle<R>,
    state: &StackState,
    work: impl std::future::Future<Output = Result<T, StackError>>,
) -> Result<T, StackError> {
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            result = &mut work => return result,
            () = tokio::time::sleep(STATUS_INTERVAL) => {
                if let Ok(view) = view(state).await {
                    emit(app, events::STATUS, view);
                }
            }
        }
    }
}

/// Follows `service`'s logs: the last lines, then new ones as they come, each
/// as a `stack-log` event, until [`stack_logs_stop`] or `down`. Following a
/// service again restarts it.
#[tauri::command]
pub async fn stack_logs_follow<R: Runtime>(
    app: AppHandle<R>,
    state: tauri::State<'_, StackState>,
    service: String,
) -> CommandResult<()> {
    if state.config.definition.service(&service).is_none() {
        return Err(StackError::UnknownService {
            stack: state.config.definition.name.clone(),
            service,
            known: state.config.definition.service_names(),
        }
        .into());
    }
    let stack = state.stack().await?;
    let (ready, opened) = tokio::sync::oneshot::channel();
    let name = service.clone();
    let task = tauri::async_runtime::spawn(async move {
        let stream = match stack.logs(&name, true, Some(LOG_TAIL)).await {
            Ok(stream) => {
                let _ = ready.send(Ok(()));
                stream
            }
            Err(err) => {
                let _ = ready.send(Err(err));
                return;
            }
        };
        let mut lines = LineSplitter::default();
        let mut stream = std::pin::pin!(stream);
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { break };
            for line in lines.push(&chunk) {
                emit(&app, events::LOG, LogLine { service: name.clone(), line });
            }
        }
    });
    match opened.await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return Err(err.into()),
        Err(_) => return Err(CommandError::new(ErrorCode::Internal, "the log reader stopped before it started")),
    }
    let previous = state.followers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(service, task);
    if let Some(previous) = previous {
        previous.abort();
    }
    Ok(())
}

/// Stops following `service`'s logs; `false` if it was not followed.
#[tauri::command]
pub async fn stack_logs_stop(state: tauri::State<'_, StackState>, service: String) -> CommandResult<bool> {
    let task = state.followers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&service);
    Ok(task.map(|t| t.abort()).is_some())
}

fn stop_all_followers(state: &StackState) {
    let mut followers = state.followers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for (_, task) in followers.drain() {
        task.abort();
    }
}

/// Imports records for the Record Collector.
///
/// Contract (what a remote may rely on):
/// - arguments: `format` (`csv`, `json`, `jsonl`, `yaml`, `markdown` or a
///   file extension such as `yml`, `md`), and exactly one of `text` (the raw
///   document) or `file` (the token of a file chosen with `choose_file`,
///   read by Rust up to 64 MiB, so large files never cross IPC; a raw `path`
///   is refused, issue 20 point 5); optional `offset` (default 0) and
///   `limit` (rows in the page, 1 to 1000, default 50);
/// - reply: `{ parser: "service" | "in-process", parserReason, format,
///   columns, types, rows, offset, totalRows, totalColumns, documentBytes,
///   frontMatter?, file? }`, where `file` is a fresh token for the same file
///   (the one given is used up), so Save can follow a preview; the same
///   shape whichever parser ran. `parser` is
///   `service` when the local stack's gateway and parsers were healthy and
///   answered, else `in-process` with `parserReason` saying why;
/// - errors: `{ code: "parseError", message }` for a malformed document, the
///   message naming line and column ("line 2, column 8: …"); `invalidInput`
///   for a bad format or page, both or neither of `text` and `path`, a file
///   that cannot be read (the message names it) or one over the limit.
#[tauri::command]
#[allow(clippy::too_many_arguments)] // the command's IPC arguments
pub async fn import_records(
    state: tauri::State<'_, StackState>,
    choices: tauri::State<'_, FileChoices>,
    format: String,
    text: Option<String>,
    file: Option<String>,
    path: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
) -> CommandResult<ImportReply> {
    let format: records::Format =
        format.parse().map_err(|e: records::UnknownFormat| CommandError::invalid(e.to_string()))?;
    let document = document(&choices, text, file, path)?;
    let chosen = match &document {
        Document::File(path) => Some(path.clone()),
        Document::Text(_) => None,
    };
    let page = Page { offset: offset.unwrap_or(0), limit: limit.unwrap_or(stack::import::DEFAULT_PAGE_ROWS) };
    // No engine is not an error here: the import runs in process instead.
    let stack = state.stack().await.ok();
    let preview = stack::import::import_records(stack.as_ref(), format, document, page).await?;
    state.record_parser(preview.parser);
    let file = chosen.map(|path| choices.register(path, Purpose::Open));
    Ok(ImportReply { preview, file })
}

/// `import_records`' reply: the preview, and for a chosen file a fresh token
/// for it (the one given was used up), so that saving can follow.
// Named for what the page asks for; the parsed page alone is `ParsedPreview`.
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "ImportPreview"))]
#[derive(Debug, Clone, Serialize)]
pub struct ImportReply {
    #[serde(flatten)]
    pub preview: ImportPreview,
    pub file: Option<FileChoice>,
}

/// The document a command was given: exactly one of the pasted `text` or a
/// `file` token from `choose_file` (read by Rust, so large files never cross
/// IPC). A raw `path` from the page is refused (issue 20 point 5).
pub(crate) fn document(
    choices: &FileChoices,
    text: Option<String>,
    file: Option<String>,
    path: Option<String>,
) -> CommandResult<Document> {
    if path.is_some() {
        return Err(raw_path_refused());
    }
    match (text, file) {
        (Some(text), None) => Ok(Document::Text(text)),
        (None, Some(token)) => Ok(Document::File(choices.take(&token, Purpose::Open)?)),
        _ => Err(CommandError::invalid("give the document as exactly one of `text` or a chosen `file`")),
    }
}

fn emit<R: Runtime, T: Serialize + Clone>(app: &AppHandle<R>, event: &str, payload: T) {
    if let Err(err) = app.emit(event, payload) {
        tracing::error!(%err, event, "could not deliver a stack event to the UI");
    }
}
