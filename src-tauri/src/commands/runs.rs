//! Runs: sending a dataset's approved requests to the AI providers through
//! `crates/runs`, with every step forwarded to the UI as a `run-event`.
//!
//! Each run gets an engine of its own over a second database connection and
//! a client per built-in provider (saved base URL, keychain key looked up at
//! each call). The cancel tokens of the runs this process is sending are
//! kept in [`RunsState`]; a run left `running` by a crash is not among them,
//! so it is listed by `unfinished_runs` and can be resumed.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, PoisonError};

use local_data::RunProgress;
use providers::CancellationToken;
use runs::{Engine, RunEvent, RunHandle};
use serde::Serialize;
use tauri::{AppHandle, Emitter as _, Runtime, State};

use crate::commands::data::{DataState, positive};
use crate::commands::events;
use crate::commands::keys::{KeysState, run_clients};
use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::shell::ShellState;

/// The most requests one run has in flight at once. Each provider client
/// also keeps its own concurrency and rate limits; four keeps a desktop's
/// connection and a provider's per-key limits comfortable.
pub const RUN_CONCURRENCY: usize = 4;

/// The runs this process is sending, by id.
#[derive(Debug, Clone, Default)]
pub struct RunsState {
    live: Arc<Mutex<HashMap<i64, CancellationToken>>>,
}

impl RunsState {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<i64, CancellationToken>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks an existing run as being sent before anything else happens, so
    /// two resumes of one run cannot both send it. The token stands in for
    /// the run's own until it is sending (see [`follow`]).
    fn reserve(&self, run_id: i64) -> CommandResult<CancellationToken> {
        match self.live().entry(run_id) {
            Entry::Occupied(_) => {
                Err(CommandError::invalid(format!("run {run_id} is already sending: wait for it or cancel it")))
            }
            Entry::Vacant(slot) => Ok(slot.insert(CancellationToken::new()).clone()),
        }
    }

    fn release(&self, run_id: i64) {
        self.live().remove(&run_id);
    }
}

/// The `run-event` payload: a tagged union, camelCase, one per step of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum RunEventView {
    Started { run_id: i64, progress: RunProgress },
    Sending { run_id: i64, request_id: i64, attempt: u32 },
    Retrying { run_id: i64, request_id: i64, message: String },
    Answered { run_id: i64, request_id: i64 },
    Failed { run_id: i64, request_id: i64, code: String, message: String },
    Progress { run_id: i64, progress: RunProgress },
    Finished { run_id: i64, progress: RunProgress },
}

impl RunEventView {
    /// The UI's view of an engine event; `None` for kinds this shell does not know yet.
    fn of(event: RunEvent) -> Option<Self> {
        Some(match event {
            RunEvent::Started { progress } => Self::Started { run_id: progress.run_id, progress },
            RunEvent::Sending { run_id, request_id, attempt } => Self::Sending { run_id, request_id, attempt },
            RunEvent::Retrying { run_id, request_id, message } => Self::Retrying { run_id, request_id, message },
            RunEvent::Answered { run_id, request_id } => Self::Answered { run_id, request_id },
            RunEvent::Failed { run_id, request_id, code, message } => {
                Self::Failed { run_id, request_id, code, message }
            }
            RunEvent::Progress { progress } => Self::Progress { run_id: progress.run_id, progress },
            RunEvent::Finished { progress } => Self::Finished { run_id: progress.run_id, progress },
            _ => return None,
        })
    }
}

impl From<runs::Error> for CommandError {
    fn from(err: runs::Error) -> Self {
        match err {
            runs::Error::Data(inner) => inner.into(),
            runs::Error::Offline { .. } => Self::new(ErrorCode::Offline, err.to_string()),
            runs::Error::Key { code: "no_key", .. } => Self::new(ErrorCode::NoKey, err.to_string()),
            runs::Error::Key { .. } => Self::new(ErrorCode::Provider, err.to_string()),
            runs::Error::NoClient { .. } => Self::invalid(err.to_string()),
            other => Self::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

/// Creates a run of the dataset's approved, unanswered requests (optionally
/// of one template version) and starts sending; progress arrives as `run-event`s.
#[tauri::command]
pub async fn start_run<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, ShellState>,
    keys: State<'_, KeysState>,
    data: State<'_, DataState>,
    runs: State<'_, RunsState>,
    dataset_id: i64,
    template_version_id: Option<i64>,
) -> CommandResult<RunProgress> {
    let dataset_id = positive("datasetId", dataset_id)?;
    let template_version_id = template_version_id.map(|id| positive("templateVersionId", id)).transpose()?;
    let engine = engine(&shell, &keys, &data).await?;
    let handle = engine.start(dataset_id, template_version_id).await?;
    follow(app, &runs, &data, handle).await
}

/// Goes on with an unfinished run (after a crash, a cancel or going offline).
#[tauri::command]
pub async fn resume_run<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, ShellState>,
    keys: State<'_, KeysState>,
    data: State<'_, DataState>,
    runs: State<'_, RunsState>,
    run_id: i64,
) -> CommandResult<RunProgress> {
    let run_id = positive("runId", run_id)?;
    let reserved = runs.reserve(run_id)?;
    let resumed = match engine(&shell, &keys, &data).await {
        Ok(engine) => engine.resume(run_id).await.map_err(CommandError::from),
        Err(err) => Err(err),
    };
    let handle = resumed.inspect_err(|_| runs.release(run_id))?;
    if reserved.is_cancelled() {
        // Cancelled while it was starting.
        handle.cancel();
    }
    follow(app, &runs, &data, handle).await
}

/// Stops a run this app is sending; its unsent requests stay queued for a
/// resume. Replies whether there was such a run.
#[tauri::command]
pub async fn cancel_run(runs: State<'_, RunsState>, run_id: i64) -> CommandResult<bool> {
    let run_id = positive("runId", run_id)?;
    let token = runs.live().get(&run_id).cloned();
    Ok(token.inspect(CancellationToken::cancel).is_some())
}

/// Runs paused (a provider went offline), cancelled with requests left, or
/// cut off by a crash, and not being sent now: the ones to offer for resume.
#[tauri::command]
pub async fn unfinished_runs(
    data: State<'_, DataState>,
    runs: State<'_, RunsState>,
) -> CommandResult<Vec<RunProgress>> {
    let mut unfinished = data.with(|s| s.unfinished_runs()).await?;
    let live = runs.live();
    unfinished.retain(|run| !live.contains_key(&run.run_id));
    Ok(unfinished)
}

/// A run's counts now.
#[tauri::command]
pub async fn run_progress(data: State<'_, DataState>, run_id: i64) -> CommandResult<RunProgress> {
    let run_id = positive("runId", run_id)?;
    data.with(move |s| s.run_progress(run_id)).await
}

async fn engine(shell: &ShellState, keys: &KeysState, data: &DataState) -> CommandResult<Engine> {
    let clients = run_clients(shell, keys)?;
    let data = data.clone();
    let store = tauri::async_runtime::spawn_blocking(move || data.open_connection())
        .await
        .map_err(|err| CommandError::new(ErrorCode::Internal, format!("opening the database failed: {err}")))??;
    Ok(Engine::new(store, clients, RUN_CONCURRENCY))
}

/// Registers the run as live, forwards its events to the UI until it
/// stops, and replies its counts as they are now.
async fn follow<R: Runtime>(
    app: AppHandle<R>,
    runs: &RunsState,
    data: &DataState,
    mut handle: RunHandle,
) -> CommandResult<RunProgress> {
    let run_id = handle.run_id;
    runs.live().insert(run_id, handle.cancel_token());
    let live = runs.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = handle.events.recv().await {
            if let Some(view) = RunEventView::of(event)
                && let Err(err) = app.emit(events::RUN_EVENT, view)
            {
                tracing::warn!(run_id, %err, "could not deliver a run event to the UI");
            }
        }
        if let Err(err) = handle.wait().await {
            tracing::error!(run_id, code = err.code(), %err, "the run stopped with an error");
        }
        live.release(run_id);
    });
    data.with(move |s| s.run_progress(run_id)).await
}
