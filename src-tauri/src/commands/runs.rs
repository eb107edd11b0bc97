//! Runs: sending a dataset's approved requests to the AI providers through
//! `crates/runs`, with every step forwarded to the UI as a `run-event`.
//!
//! Each run gets an engine of its own over a second database connection and
//! a client per provider, built-in or added (saved base URL, keychain key looked up at
//! each call). The runs this process is sending are [`RunsState`], the
//! registry `runs::LiveRuns`; a run left `running` by a crash is not among
//! them, so it is listed by `unfinished_runs` and can be resumed. The event
//! payload is `runs::RunEvent`'s own serialisation.

use local_data::{RunProgress, RunSummary};
use runs::{Engine, LiveRuns, RunHandle, RunOptions};
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
pub type RunsState = LiveRuns;

impl From<runs::Error> for CommandError {
    fn from(err: runs::Error) -> Self {
        match err {
            runs::Error::Data(inner) => inner.into(),
            runs::Error::Offline { .. } => Self::new(ErrorCode::Offline, err.to_string()),
            runs::Error::Key { code: "no_key", .. } => Self::new(ErrorCode::NoKey, err.to_string()),
            runs::Error::Key { .. } => Self::new(ErrorCode::Provider, err.to_string()),
            runs::Error::NoClient { .. }
            | runs::Error::AlreadySending { .. }
            | runs::Error::Unpriced { .. }
            | runs::Error::BatchUnsupported { .. }
            | runs::Error::BatchWithBudget => Self::invalid(err.to_string()),
            other => Self::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

/// Creates a run of the dataset's approved, unanswered requests (optionally
/// of one template version) and starts sending; progress arrives as `run-event`s.
/// Requests the AI response cache can answer are answered from it (no
/// provider call) unless `noCache` (host API 1.4.0) is true. `maxCostUsd`
/// (host API 1.5.0) caps what the run's answers may cost at list prices:
/// reached, the run pauses cleanly ("budget reached ($x of $y)"); a run to
/// a model without a price is then refused. `batch` (host API 1.6.0) sends
/// through the provider's batch API (OpenAI, Anthropic) at its batch price;
/// the batches are recorded, so `resume_run` after a quit collects them
/// (not with a budget cap or assertions). `assertions` (host API 1.6.0)
/// score each answer, in the CLI's `--assert` syntax (`contains:TEXT`,
/// `regex:PATTERN`, `json`, `range:POINTER:MIN:MAX`,
/// `judge:PROVIDER/MODEL:PROMPT`); a bad one refuses the run
/// (`invalid_assertion`) before anything is created. `repeats` (host API
/// 1.7.0, 1 to 10, default 1) asks each approved prompt that many times,
/// each repeat a request with its own answer and cache entry, for
/// `run_stability`.
#[allow(clippy::too_many_arguments)] // the command's state and IPC arguments
#[tauri::command]
pub async fn start_run<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, ShellState>,
    keys: State<'_, KeysState>,
    data: State<'_, DataState>,
    runs: State<'_, RunsState>,
    dataset_id: i64,
    template_version_id: Option<i64>,
    no_cache: Option<bool>,
    max_cost_usd: Option<f64>,
    batch: Option<bool>,
    assertions: Option<Vec<String>>,
    repeats: Option<u32>,
) -> CommandResult<RunProgress> {
    let dataset_id = positive("datasetId", dataset_id)?;
    let assertions = assertions
        .unwrap_or_default()
        .iter()
        .map(|a| a.parse::<local_data::Assertion>())
        .collect::<Result<Vec<_>, _>>()?;
    let template_version_id = template_version_id.map(|id| positive("templateVersionId", id)).transpose()?;
    let max_cost_usd = max_cost_usd.map(budget).transpose()?;
    let repeats = repeats.map(repeat_count).transpose()?.unwrap_or(1);
    let engine = engine(&shell, &keys, &data).await?;
    let options = RunOptions {
        no_cache: no_cache.unwrap_or(false),
        max_cost_usd,
        batch: batch.unwrap_or(false),
        assertions,
        repeats,
    };
    let handle = engine.start_with(dataset_id, template_version_id, options).await?;
    follow(app, &runs, &data, handle).await
}

/// Goes on with an unfinished run (after a crash, a cancel, going offline,
/// a used-up quota or budget, or a pause). `maxCostUsd` (host API 1.5.0)
/// gives the run a new budget cap first, e.g. to go on after "budget reached".
#[allow(clippy::too_many_arguments)] // the command's state and IPC arguments
#[tauri::command]
pub async fn resume_run<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, ShellState>,
    keys: State<'_, KeysState>,
    data: State<'_, DataState>,
    runs: State<'_, RunsState>,
    run_id: i64,
    max_cost_usd: Option<f64>,
) -> CommandResult<RunProgress> {
    let run_id = positive("runId", run_id)?;
    let max_cost_usd = max_cost_usd.map(budget).transpose()?;
    runs.reserve(run_id)?;
    let resumed = match engine(&shell, &keys, &data).await {
        Ok(engine) => match max_cost_usd {
            // Set only once this process holds the run, so no sender reads the old cap after it.
            Some(cap) => match data.with(move |s| s.set_run_max_cost_usd(run_id, Some(cap))).await {
                Ok(()) => engine.resume(run_id).await.map_err(CommandError::from),
                Err(err) => Err(err),
            },
            None => engine.resume(run_id).await.map_err(CommandError::from),
        },
        Err(err) => Err(err),
    };
    let handle = resumed.inspect_err(|_| runs.release(run_id))?;
    follow(app, &runs, &data, handle).await
}

/// Goes back to collecting the batch runs the app was polling when it quit
/// (issue 17, point 3: a restart picks them up). Their batches went on at
/// the provider, so polling them again costs nothing; a live run is not
/// resumed by itself, as sending it spends money. A run that cannot resume
/// now (no key, offline) stays listed by `unfinished_runs` for the person.
pub fn resume_interrupted_batch_runs<R: Runtime>(app: AppHandle<R>) {
    use tauri::Manager as _;
    tauri::async_runtime::spawn(async move {
        let (shell, keys, data, runs) =
            (app.state::<ShellState>(), app.state::<KeysState>(), app.state::<DataState>(), app.state::<RunsState>());
        let interrupted = match data.with(|s| s.interrupted_batch_runs()).await {
            Ok(ids) => ids,
            Err(err) => {
                tracing::warn!(%err, "could not look for batch runs to collect");
                return;
            }
        };
        for run_id in interrupted {
            if runs.reserve(run_id).is_err() {
                continue; // already being collected
            }
            let resumed = match engine(&shell, &keys, &data).await {
                Ok(engine) => engine.resume(run_id).await.map_err(CommandError::from),
                Err(err) => Err(err),
            };
            match resumed {
                Ok(handle) => {
                    tracing::info!(run_id, "collecting a batch run the app was polling when it quit");
                    if let Err(err) = follow(app.clone(), &runs, &data, handle).await {
                        tracing::warn!(run_id, %err, "a collected batch run's counts could not be read");
                    }
                }
                Err(err) => {
                    runs.release(run_id);
                    tracing::warn!(run_id, %err, "a batch run could not be collected at start: it stays offered for resume");
                }
            }
        }
    });
}

/// Stops a run this app is sending; its unsent requests stay queued for a
/// resume. Replies whether there was such a run.
#[tauri::command]
pub async fn cancel_run(runs: State<'_, RunsState>, run_id: i64) -> CommandResult<bool> {
    let run_id = positive("runId", run_id)?;
    Ok(runs.cancel(run_id))
}

/// Pauses a run this app is sending, cleanly: nothing new is sent, the
/// requests in flight finish and are stored, and the run ends `paused`
/// ("paused by you"), ready for `resume_run`. Replies whether there was
/// such a run (host API 1.5.0).
#[tauri::command]
pub async fn pause_run(runs: State<'_, RunsState>, run_id: i64) -> CommandResult<bool> {
    let run_id = positive("runId", run_id)?;
    Ok(runs.pause(run_id))
}

/// Runs paused (a provider went offline, a quota or budget ran out, or the person paused them), cancelled with requests left, or
/// cut off by a crash, and not being sent now: the ones to offer for resume.
#[tauri::command]
pub async fn unfinished_runs(
    data: State<'_, DataState>,
    runs: State<'_, RunsState>,
) -> CommandResult<Vec<RunProgress>> {
    let mut unfinished = data.with(|s| s.unfinished_runs()).await?;
    unfinished.retain(|run| !runs.is_live(run.run_id));
    Ok(unfinished)
}

/// The runs of a dataset (every run when `datasetId` is absent), newest
/// first, with their models and template versions: what a comparison picks
/// its baseline and candidate from. Host API 1.6.0.
#[tauri::command]
pub async fn list_runs(data: State<'_, DataState>, dataset_id: Option<i64>) -> CommandResult<Vec<RunSummary>> {
    let dataset_id = dataset_id.map(|id| positive("datasetId", id)).transpose()?;
    let mut runs = data.with(|s| s.runs()).await?;
    runs.retain(|run| dataset_id.is_none_or(|id| run.dataset_id == Some(id)));
    Ok(runs)
}

/// A run's counts now.
#[tauri::command]
pub async fn run_progress(data: State<'_, DataState>, run_id: i64) -> CommandResult<RunProgress> {
    let run_id = positive("runId", run_id)?;
    data.with(move |s| s.run_progress(run_id)).await
}

/// A run's pass rate, its counts per assertion and its answers' schema
/// validity (host API 1.6.0).
#[tauri::command]
pub async fn run_checks(data: State<'_, DataState>, run_id: i64) -> CommandResult<local_data::RunChecks> {
    let run_id = positive("runId", run_id)?;
    data.with(move |s| s.run_checks(run_id)).await
}

/// Whether a run with repeats got the same answer each time, record by
/// record, over the whole run: on a first page the counts (records, those
/// with every repeat answered, stable, unstable, the stability rate), and a
/// keyset page of unstable records with each repeat's answer (host API 1.7.0).
#[tauri::command]
pub async fn run_stability(
    data: State<'_, DataState>,
    query: local_data::StabilityQuery,
) -> CommandResult<local_data::StabilityPage> {
    positive("runId", query.run_id)?;
    data.with(move |s| s.run_stability(&query)).await
}

/// A repeat count from IPC, refused before any provider is asked.
fn repeat_count(repeats: u32) -> CommandResult<u32> {
    if (1..=local_data::MAX_REPEATS).contains(&repeats) {
        Ok(repeats)
    } else {
        Err(CommandError::invalid(format!(
            "repeats must be 1 to {} (how many times each prompt is asked), not {repeats}",
            local_data::MAX_REPEATS
        )))
    }
}

/// A budget cap from IPC: dollars above 0.
fn budget(cap: f64) -> CommandResult<f64> {
    if cap.is_finite() && cap > 0.0 {
        Ok(cap)
    } else {
        Err(CommandError::invalid(format!("maxCostUsd must be more than 0 dollars, not {cap}")))
    }
}

async fn engine(shell: &ShellState, keys: &KeysState, data: &DataState) -> CommandResult<Engine> {
    let clients = run_clients(shell, keys).await?;
    let data = data.clone();
    let store = tauri::async_runtime::spawn_blocking(move || data.open_connection())
        .await
        .map_err(|err| CommandError::new(ErrorCode::Internal, format!("opening the database failed: {err}")))??;
    Ok(Engine::new(store, clients, RUN_CONCURRENCY))
}

/// Registers the run as live and emits its events to the UI until it
/// stops; replies its counts as they are now.
async fn follow<R: Runtime>(
    app: AppHandle<R>,
    runs: &RunsState,
    data: &DataState,
    handle: RunHandle,
) -> CommandResult<RunProgress> {
    let run_id = handle.run_id;
    let mut watch = crate::commands::hooks::RunWatch::default();
    runs.follow(handle, move |event| {
        if let Some(ended) = watch.observe(&event) {
            crate::commands::hooks::fire(&app, ended);
        }
        if let Err(err) = app.emit(events::RUN_EVENT, event) {
            tracing::warn!(run_id, %err, "could not deliver a run event to the UI");
        }
    });
    data.with(move |s| s.run_progress(run_id)).await
}
