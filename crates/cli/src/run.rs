//! `augment run start|status|cancel|resume|list|compare|export`: requests generated,
//! reviewed and sent with the app's own crates and rules.
//!
//! The rules mirror the app's (`src-tauri/src/commands/runs.rs`, `keys.rs`):
//!
//! - **Review.** Only *approved* requests are sent. `run start` generates the
//!   template's requests for the model (pending, as the app's Generate does;
//!   existing ones keep their review and edits) and approves the pending ones
//!   only with `--approve-all`, the app's "approve all pending". Without it,
//!   requests approved in the app's Request Reviewer are sent and the others
//!   wait (--approve-all approves every model's pending requests of the
//!   version, as the reviewer's bulk action does). Like the app's Run button, a run takes every approved request of
//!   the dataset and template version that has no answer, whatever its model.
//! - **Providers.** The built-in providers and the ones added in the app or
//!   with `augment providers add`, each with its base URL from
//!   the app's settings.json and its key from the OS keychain or
//!   `AUGMENT_<PROVIDER>_API_KEY`; a key is never an argument and never
//!   printed. A client whose base URL is not on the origin its key was stored
//!   for is refused before anything is sent, as in the app.
//! - **Cancel from anywhere.** The process sending a run polls its status;
//!   `run cancel` (another process) marks it cancelled and the sender stops,
//!   leaving unsent requests queued for `run resume`. Ctrl-C does the same.
//!   A lock file per run keeps two `augment` processes from sending one run.
//! - **Quota and budget.** Retries, waits for a provider's rate limit and
//!   changes of the run's concurrency are printed as they happen (stderr).
//!   A used-up provider quota or the run's `--max-cost-usd` reached stops
//!   the run cleanly (requests in flight finish, the rest stay queued): it
//!   ends paused, says why, and exits [`exit::RUN_UNFINISHED`] (8);
//!   `run resume` goes on (`--max-cost-usd` there raises the cap).
//! - **Batch mode.** `run start --batch` submits the requests through the
//!   provider's batch API (OpenAI, Anthropic) at its batch price and polls
//!   until every result is stored, printing each batch's status. The batch
//!   ids are in the database as soon as the provider has them: Ctrl-C, a
//!   quit or a kill only stops the polling, and `run resume` collects the
//!   same batches (never submits them again); `run cancel` also cancels
//!   them at the provider.
//! - **Schema and checks.** A template version with a JSON Schema has each
//!   answer validated; `run status` lists the records whose answers do not
//!   fit (with the path of each problem) and `run export` adds a column per
//!   top-level property. `--assert` (repeatable) scores each answer: see
//!   [`local_data::ASSERTION_SYNTAX`] and docs/cli.md; `run status` shows
//!   the pass rate, `run export` the results per answer.
//! - **Repeats.** `run start --repeat N` (1 to 10) generates and sends each
//!   prompt N times, each repeat a request of its own with its own answer
//!   and AI cache entry (the dry run counts every repeat); `run stability`
//!   reads the run record by record (`crate::stability`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use local_data::{
    ExportFormat, MAX_PAGE, ModelEstimate, ModelTarget, RequestStatus, ResponseQuery, RunChecks, RunStatus, RunSummary,
    SchemaFailure, Store,
};
use providers::PollBackoff;
use runs::{BatchSettings, Engine, RunEvent, RunHandle, RunOptions};
use serde::Serialize;
use serde_json::json;

use crate::exit;
use crate::output::{Render, emit, message, table};
use crate::progress::work_bar;
use crate::provider_settings::{SavedSettings, run_clients};
use crate::workflow::{DataDir, find_dataset, find_template, open_store, usage, when};

/// Requests in flight at once per run: the app's `RUN_CONCURRENCY`.
const RUN_CONCURRENCY: usize = 4;

/// How often a sending process looks for a cancel from another process.
const CANCEL_POLL: Duration = Duration::from_millis(200);

/// Output tokens assumed per answer for the estimate (local-data's default).
const OUTPUT_TOKENS: u64 = local_data::DEFAULT_OUTPUT_TOKENS;

#[derive(Debug, Args)]
pub struct ConfigDir {
    /// The app's settings folder (settings.json: providers' base URLs) [default: the app's own, or AUGMENT_CONFIG_DIR].
    #[arg(long, env = "AUGMENT_CONFIG_DIR", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// Generate a template's requests for a dataset and a model, then send the approved ones.
    ///
    /// Requests are generated as pending (existing ones keep their review). Only approved
    /// requests are sent, as in the app: approve them in the Request Reviewer, or pass
    /// --approve-all to approve the version's pending ones here. The run takes every approved,
    /// unanswered request of the dataset and template version, like the app's Run button.
    /// Waits until the run stops; Ctrl-C or `augment run cancel RUN` cancel it.
    ///
    /// The provider's base URL is the one saved in the app's settings.json; its key comes from the
    /// OS keychain (`augment keys set PROVIDER`) or AUGMENT_<PROVIDER>_API_KEY, never from an
    /// argument. A key stored for another origin than the saved base URL's refuses the run, as in the app.
    Start {
        /// The dataset's name (or id).
        #[arg(long)]
        dataset: String,
        /// The template's name (or id); its current version is used.
        #[arg(long)]
        template: String,
        /// openai, anthropic, groq, or a provider added with `augment providers add`.
        #[arg(long)]
        provider: String,
        /// e.g. gpt-4o-mini, claude-3-5-haiku-latest, llama-3.1-8b-instant.
        #[arg(long)]
        model: String,
        /// Approve the template version's pending requests before sending (the Request
        /// Reviewer's "approve all pending", every model of the version); rejected ones stay rejected.
        #[arg(long)]
        approve_all: bool,
        /// Generate the requests and estimate tokens and cost; approve and send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Send every request to the provider, even one the AI response cache could answer (the app's
        /// "Don't use cached answers"). The fresh answers still replace the cached ones. Kept with the
        /// run: `augment run resume` sends its rest the same way.
        #[arg(long)]
        no_cache: bool,
        /// Stop cleanly once the run's answers cost this many US dollars at list prices (requests in
        /// flight still finish): the run pauses, says so and exits 8. Kept with the run, so a resume stops
        /// at it too. A model without a list price cannot be capped and is refused.
        #[arg(long, value_name = "USD")]
        max_cost_usd: Option<f64>,
        /// Send through the provider's batch API (OpenAI's Batch API, Anthropic's Message Batches) at its
        /// batch price (see the BATCH COST of --dry-run): results arrive within the provider's 24 h window.
        /// Waits and polls; Ctrl-C stops the polling only, and `augment run resume RUN` collects the same
        /// batches later (`augment run cancel RUN` cancels them at the provider). Not with --max-cost-usd; --assert scores each answer as its batch ends.
        #[arg(long, conflicts_with = "max_cost_usd")]
        batch: bool,
        #[command(flatten)]
        poll: BatchPoll,
        /// Score each answer (repeatable; kept with the run): contains:TEXT, regex:PATTERN, json,
        /// range:POINTER:MIN:MAX (range:/score:0:10; range::0:1 for a bare number; MIN or MAX may be
        /// empty), judge:PROVIDER/MODEL:PROMPT (passes on a reply starting with PASS) or
        /// judge>=N:PROVIDER/MODEL:PROMPT (passes on a score of at least N). A judge's calls count in
        /// the run's cost.
        #[arg(long = "assert", value_name = "ASSERTION")]
        assertions: Vec<String>,
        /// Ask each prompt N times (1 to 10), each answer stored and cached on its own, to see whether
        /// the model answers the same way (`augment run stability RUN`). Costs N times as much; the dry
        /// run counts every repeat. Kept with the run.
        #[arg(long = "repeat", value_name = "N", default_value_t = 1,
              value_parser = clap::value_parser!(u32).range(1..=i64::from(local_data::MAX_REPEATS)))]
        repeat: u32,
        #[command(flatten)]
        config: ConfigDir,
    },
    /// A run's counts and status, with how many answers came from the AI response cache
    /// (`cached` in --json; see `augment cache-ai`).
    Status { run: i64 },
    /// Cancel a run: the process sending it stops within a second; its unsent requests wait for `run resume`.
    /// A batch run's open batches are cancelled at the provider too (a resume collects what they answered).
    Cancel {
        run: i64,
        #[command(flatten)]
        config: ConfigDir,
    },
    /// Go on with a cancelled, paused or interrupted run (requests that were in flight are sent again).
    Resume {
        run: i64,
        /// A new budget cap in US dollars for the run (e.g. to go on after "budget reached").
        #[arg(long, value_name = "USD")]
        max_cost_usd: Option<f64>,
        #[command(flatten)]
        poll: BatchPoll,
        #[command(flatten)]
        config: ConfigDir,
    },
    /// List every run, newest first.
    List,
    /// Whether a run with repeats (`run start --repeat N`) got the same answer each time, record by
    /// record: the stability rate over the whole run, and the unstable records with every answer.
    ///
    /// A record is stable when every repeat was answered with the same words (ignoring case and
    /// spacing, as `run compare` decides agreement).
    Stability(crate::stability::StabilityArgs),
    /// Compare two runs (a baseline and a new one, or two models of one run) record by record:
    /// the agreement rate over every record, and the records that agree, differ or miss an answer.
    ///
    /// Answers agree when they have the same words, ignoring case and spacing.
    Compare(crate::compare::CompareArgs),
    /// Write a run's answers to a new file (an existing file is never replaced).
    ///
    /// The rows are the dataset's responses for the template version and models the run sent
    /// (as the app's Insight Assembler exports them): a request is answered once, so an answer
    /// an earlier run stored for one of its requests is included.
    /// Write a run's responses to a file (--format, --out), or its answers, tags and notes back to
    /// the data-store rows its dataset came from (--to, --connection, --answer-column …; a re-run
    /// updates the same rows, never duplicates; exit 11 when some rows were not written).
    Export {
        run: i64,
        #[arg(long, value_enum, required_unless_present = "to", conflicts_with = "to")]
        format: Option<ExportChoice>,
        #[arg(long, required_unless_present = "to", conflicts_with = "to")]
        out: Option<PathBuf>,
        /// Include failed requests' errors as rows.
        #[arg(long, conflicts_with = "to")]
        errors: bool,
        /// Write back to a data store: nocodb, airtable or databricks.
        #[arg(long, value_enum, requires = "connection")]
        to: Option<crate::stores::StoreKind>,
        #[command(flatten)]
        store: crate::stores::ExportTo,
    },
}

#[derive(Debug, Args)]
pub struct BatchPoll {
    /// Batch runs: the longest wait between two polls of a batch (the first comes after 5 s or this,
    /// whichever is shorter, then the wait doubles), e.g. 30s, 2m.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "60s", value_name = "DURATION")]
    pub batch_poll_max: Duration,
}

impl BatchPoll {
    fn settings(&self) -> BatchSettings {
        let max = self.batch_poll_max.max(Duration::from_millis(1));
        let first = PollBackoff::default().first.min(max);
        BatchSettings { poll: PollBackoff { first, max }, limits: None }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportChoice {
    Csv,
    Json,
    #[value(alias = "markdown")]
    Md,
}

impl From<ExportChoice> for ExportFormat {
    fn from(choice: ExportChoice) -> Self {
        match choice {
            ExportChoice::Csv => ExportFormat::Csv,
            ExportChoice::Json => ExportFormat::Json,
            ExportChoice::Md => ExportFormat::Markdown,
        }
    }
}

pub async fn run(json: bool, data: &DataDir, command: RunCommand) -> Result<ExitCode> {
    let dir = data.resolve()?;
    let mut store = open_store(&dir)?;
    match command {
        RunCommand::Start {
            dataset,
            template,
            provider,
            model,
            approve_all,
            dry_run,
            no_cache,
            max_cost_usd,
            batch,
            poll,
            assertions,
            repeat,
            config,
        } => {
            let assertions = assertions
                .iter()
                .map(|a| a.parse::<local_data::Assertion>().map_err(|e| usage(e.to_string())))
                .collect::<Result<Vec<_>>>()?;
            // Before anything is generated: requests for a provider no run can reach would only wait.
            SavedSettings::load(&config.resolve()?)?.config(&provider)?;
            let dataset = find_dataset(&store, &dataset)?;
            let template = find_template(&store, &template)?;
            let version = template.current.id;
            let target = ModelTarget::new(provider, model);
            let generated =
                store.generate_repeated_requests(dataset.id, version, std::slice::from_ref(&target), repeat)?;
            let pending: u64 = store
                .estimate(dataset.id, Some(version), Some(RequestStatus::Pending), OUTPUT_TOKENS)?
                .iter()
                .map(|e| e.requests)
                .sum();
            if dry_run {
                let estimate = estimate(&store, dataset.id, version, approve_all, repeat)?;
                let plan = DryRun {
                    dataset: dataset.name,
                    template: template.name,
                    template_version: template.current.version,
                    repeats: repeat,
                    generated,
                    pending_review: if approve_all { 0 } else { pending },
                    would_send: estimate.iter().map(|e| e.requests).sum(),
                    cost_usd: priced_total(&estimate),
                    batch_cost_usd: batch_total(&estimate),
                    estimate,
                    sent: 0,
                };
                emit(json, &plan)?;
                return Ok(ExitCode::SUCCESS);
            }
            if approve_all && pending > 0 {
                // The app's "approve all pending" of the reviewer (every model of this version).
                let approved = store.set_all_request_status(
                    dataset.id,
                    Some(version),
                    RequestStatus::Pending,
                    RequestStatus::Approved,
                )?;
                tracing::info!(approved, "approved the pending requests (--approve-all)");
            }
            let engine = Engine::new(open_store(&dir)?, run_clients(&config)?, RUN_CONCURRENCY)
                .with_batch_settings(poll.settings());
            let options = RunOptions { no_cache, max_cost_usd, batch, assertions, repeats: repeat };
            let handle = match engine.start_with(dataset.id, Some(version), options).await {
                Err(runs::Error::Data(local_data::Error::NothingToRun)) => {
                    return Err(if approve_all || pending == 0 {
                        usage(
                            "there are no approved requests without an answer to send: every approved request of \
                             this dataset and template version has its answer already (see `augment run list`)",
                        )
                    } else {
                        usage(format!(
                            "{pending} requests wait for review and none is approved: approve them in the app's \
                             Request Reviewer, or pass --approve-all to approve them here"
                        ))
                    });
                }
                other => other?,
            };
            let lock = SendLock::take(&dir, handle.run_id)?;
            follow(json, &dir, handle, lock).await
        }
        RunCommand::Status { run } => {
            let summary = summary(&store, run)?;
            emit(json, &RunView::new(&store, summary))?;
            Ok(ExitCode::SUCCESS)
        }
        RunCommand::Cancel { run, config } => {
            summary(&store, run)?;
            let mut progress = store.mark_cancelled(run, "cancelled from the command line")?;
            // A batch run no process is polling: its batches are cancelled
            // here (a process polling one cancels them when it sees this).
            if store.run_is_batch(run)?
                && let Ok(_lock) = SendLock::take(&dir, run)
            {
                let engine = Engine::new(open_store(&dir)?, run_clients(&config)?, RUN_CONCURRENCY);
                let note = engine.cancel_batches(run, |_| {}).await;
                progress = store.finish_run(run, RunStatus::Cancelled, Some(&note))?;
            }
            let said = match &progress.note {
                Some(note) if note.contains("batch") => {
                    format!("; {}", note.trim_start_matches("cancelled by the user; "))
                }
                _ => String::new(),
            };
            emit(
                json,
                &message(
                    format!(
                        "run {run} cancelled ({} of {} done){said}; a process sending it stops within a second; \
                         go on with `augment run resume {run}`",
                        progress.answered + progress.failed,
                        progress.total
                    ),
                    serde_json::to_value(&progress)?,
                ),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        RunCommand::Resume { run, max_cost_usd, poll, config } => {
            let status = summary(&store, run)?.progress.status;
            if status == RunStatus::Completed {
                return Err(usage(format!(
                    "run {run} has already completed: start a new run with `augment run start`"
                )));
            }
            let lock = SendLock::take(&dir, run)?;
            if max_cost_usd.is_some() {
                store.set_run_max_cost_usd(run, max_cost_usd)?;
            }
            let engine = Engine::new(open_store(&dir)?, run_clients(&config)?, RUN_CONCURRENCY)
                .with_batch_settings(poll.settings());
            let handle = engine.resume(run).await?;
            follow(json, &dir, handle, lock).await
        }
        RunCommand::List => {
            let runs = store.runs()?;
            let views: Vec<RunView> = runs.into_iter().map(|s| RunView::new(&store, s)).collect();
            emit(json, &RunList(views))?;
            Ok(ExitCode::SUCCESS)
        }
        RunCommand::Stability(args) => {
            crate::stability::stability(json, &store, args)?;
            Ok(ExitCode::SUCCESS)
        }
        RunCommand::Compare(args) => {
            crate::compare::compare(json, &store, args)?;
            Ok(ExitCode::SUCCESS)
        }
        RunCommand::Export { run, to: Some(kind), store: to, .. } => {
            return crate::stores::export(json, &store, run, kind, &to).await;
        }
        RunCommand::Export { run, format, out, errors, .. } => {
            let (Some(format), Some(out)) = (format, out) else {
                return Err(usage(
                    "give --format and --out to export to a file, or --to and --connection to write back",
                ));
            };
            let summary = summary(&store, run)?;
            let dataset_id = summary
                .dataset_id
                .ok_or_else(|| usage(format!("run {run} has no requests left: its dataset was deleted")))?;
            if out.exists() {
                return Err(usage(format!(
                    "{} already exists: choose another --out or remove it first",
                    out.display()
                )));
            }
            let path = std::path::absolute(&out).with_context(|| format!("resolving {}", out.display()))?;
            let query = ResponseQuery {
                dataset_id,
                template_version_id: one(&summary.template_version_ids).copied(),
                target: one(&summary.targets).cloned(),
                include_errors: errors,
                limit: MAX_PAGE,
                ..ResponseQuery::default()
            };
            let rows = store.export_responses_to_file(&query, format.into(), &path)?;
            emit(
                json,
                &message(
                    format!("wrote {rows} responses of run {run} to {}", path.display()),
                    json!({ "run": run, "path": path, "rows": rows }),
                ),
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The cost of the priced models, `None` when no model is priced.
fn priced_total(estimate: &[ModelEstimate]) -> Option<f64> {
    let priced: Vec<f64> = estimate.iter().filter_map(|e| e.cost_usd).collect();
    (!priced.is_empty()).then(|| priced.iter().sum())
}

/// The batch cost of the models with a batch price, `None` when none has one.
fn batch_total(estimate: &[ModelEstimate]) -> Option<f64> {
    let priced: Vec<f64> = estimate.iter().filter_map(|e| e.batch_cost_usd).collect();
    (!priced.is_empty()).then(|| priced.iter().sum())
}

fn one<T>(items: &[T]) -> Option<&T> {
    if items.len() == 1 { items.first() } else { None }
}

/// The run, or a usage error that says how to find one.
fn summary(store: &Store, run: i64) -> Result<RunSummary> {
    match store.run_summary(run) {
        Err(local_data::Error::NotFound { .. }) => {
            let known: Vec<String> = store.runs()?.iter().take(10).map(|r| r.progress.run_id.to_string()).collect();
            Err(usage(if known.is_empty() {
                format!("there is no run {run}: no run was started yet (`augment run start`)")
            } else {
                format!("there is no run {run}; the latest runs are {} (see `augment run list`)", known.join(", "))
            }))
        }
        other => Ok(other?),
    }
}

/// Tokens and cost of what a run asking each prompt `repeats` times would
/// send, per model: the approved requests (and, `with_pending`, the pending
/// ones --approve-all would approve) of samples below `repeats` that have no
/// answer, from the store's own estimate (characters ÷ 4 in,
/// [`OUTPUT_TOKENS`] out per answer), so N repeats cost N times one.
fn estimate(
    store: &Store,
    dataset_id: i64,
    version: i64,
    with_pending: bool,
    repeats: u32,
) -> Result<Vec<ModelEstimate>> {
    let mut per_model = store.estimate_unanswered(dataset_id, Some(version), with_pending, repeats, OUTPUT_TOKENS)?;
    per_model.retain(|e| e.requests > 0);
    Ok(per_model)
}

/// An exclusive lock on `<data dir>/cli-runs/<run>.lock` while this process
/// sends the run, so a second `augment run resume` cannot send it too.
/// (The app keeps its own registry of the runs it sends.)
#[derive(Debug)]
struct SendLock {
    _file: std::fs::File,
}

impl SendLock {
    fn take(dir: &Path, run: i64) -> Result<Self> {
        let folder = dir.join("cli-runs");
        std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
        let path = folder.join(format!("{run}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(usage(format!(
                "run {run} is being sent by another augment process: wait for it, or stop it with `augment run cancel {run}`"
            ))),
            Err(std::fs::TryLockError::Error(err)) => {
                Err(anyhow::Error::new(err).context(format!("locking {}", path.display())))
            }
        }
    }
}

/// Shows the run's progress until it stops, cancelling it on Ctrl-C or when
/// another process marked it cancelled; prints the outcome and maps it to
/// the exit code.
async fn follow(json: bool, dir: &Path, mut handle: RunHandle, _lock: SendLock) -> Result<ExitCode> {
    let run_id = handle.run_id;
    let watcher = open_store(dir)?;
    let cancel = handle.cancel_token();
    // Ctrl-C on a batch run stops waiting, not the batches: they go on at
    // the provider and `run resume` collects them. `run cancel` cancels them.
    let batch = watcher.run_is_batch(run_id)?;
    let interrupt = if batch { handle.pause_token() } else { cancel.clone() };
    let bar = work_bar(json, 0, "run {prefix} [{bar:30}] {pos}/{len} {msg}");
    bar.set_prefix(run_id.to_string());
    if !json {
        if batch {
            eprintln!(
                "run {run_id}: batches at the provider; Ctrl-C stops waiting (`augment run resume {run_id}` collects them), `augment run cancel {run_id}` cancels them"
            );
        } else {
            eprintln!("run {run_id}: sending; stop it with Ctrl-C or `augment run cancel {run_id}`");
        }
    }
    let mut poll = tokio::time::interval(CANCEL_POLL);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut interrupted = false;
    loop {
        tokio::select! {
            event = handle.events.recv() => match event {
                None => break,
                Some(RunEvent::Started { progress } | RunEvent::Progress { progress } | RunEvent::Finished { progress }) => {
                    bar.set_length(progress.total);
                    bar.set_position(progress.answered + progress.failed);
                    bar.set_message(if progress.failed > 0 { format!("{} failed", progress.failed) } else { String::new() });
                }
                Some(RunEvent::Retrying { request_id, message, .. } | RunEvent::Waiting { request_id, message, .. }) => {
                    tracing::info!(run_id, request_id, %message, "waiting");
                    say(&bar, json, format!("run {run_id}: request {request_id}: {message}"));
                }
                Some(RunEvent::ConcurrencyChanged { message, .. } | RunEvent::Batch { message, .. }) => {
                    say(&bar, json, format!("run {run_id}: {message}"));
                }
                Some(RunEvent::Stopping { reason, .. }) => {
                    say(&bar, json, format!("run {run_id}: stopping, {reason}; requests in flight finish first"));
                }
                Some(RunEvent::Failed { request_id, code, message, .. }) => {
                    bar.suspend(|| tracing::warn!(run_id, request_id, code, %message, "request failed"));
                }
                Some(_) => {}
            },
            _ = poll.tick(), if !cancel.is_cancelled() => {
                if watcher.run_progress(run_id).is_ok_and(|p| p.status == RunStatus::Cancelled) {
                    tracing::info!(run_id, "cancelled from another process");
                    cancel.cancel();
                }
            }
            result = &mut ctrl_c, if !interrupted => {
                interrupted = true;
                if result.is_ok() {
                    interrupt.cancel();
                }
            }
        }
    }
    bar.finish_and_clear();
    let progress = handle.wait().await?;
    let summary = watcher.run_summary(progress.run_id)?;
    let code = match (summary.progress.status, summary.progress.failed) {
        (RunStatus::Completed, 0) => ExitCode::SUCCESS,
        (RunStatus::Completed, _) => ExitCode::from(exit::RUN_FAILURES),
        _ => ExitCode::from(exit::RUN_UNFINISHED),
    };
    emit(json, &RunView::new(&watcher, summary))?;
    Ok(code)
}

/// A line about the run's waits and stops on stderr, above the progress bar
/// (not with --json: stdout is the result, stderr stays for errors).
fn say(bar: &indicatif::ProgressBar, json: bool, line: String) {
    if !json {
        bar.suspend(|| eprintln!("{line}"));
    }
}

/// What `run start --dry-run` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DryRun {
    dataset: String,
    template: String,
    template_version: u32,
    /// How many times each prompt is asked (`--repeat`); the estimate counts every repeat.
    repeats: u32,
    /// Requests created now (existing ones are kept as they are).
    generated: u64,
    /// Requests of the template version that wait for review and would not be sent.
    pending_review: u64,
    would_send: u64,
    estimate: Vec<ModelEstimate>,
    /// The sum over priced models; `null` when none is in the price table.
    cost_usd: Option<f64>,
    /// The same through the providers' batch APIs (`--batch`); `null` when no model has a batch price.
    batch_cost_usd: Option<f64>,
    /// Always 0: a dry run sends nothing.
    sent: u64,
}

impl Render for DryRun {
    fn human(&self) -> String {
        let repeats =
            if self.repeats > 1 { format!(", each prompt asked {} times", self.repeats) } else { String::new() };
        let mut out = format!(
            "dry run: `{}` × template `{}` (version {}){repeats}: {} requests generated, {} would be sent, {} wait for review; nothing was sent\n",
            self.dataset, self.template, self.template_version, self.generated, self.would_send, self.pending_review
        );
        let rows: Vec<Vec<String>> = self
            .estimate
            .iter()
            .map(|e| {
                vec![
                    format!("{}/{}", e.provider, e.model),
                    e.requests.to_string(),
                    e.input_tokens.to_string(),
                    e.output_tokens.to_string(),
                    e.cost_usd.map_or_else(|| "unpriced".to_owned(), |c| format!("${c:.4}")),
                    e.batch_cost_usd.map_or_else(|| "-".to_owned(), |c| format!("${c:.4}")),
                ]
            })
            .collect();
        if !rows.is_empty() {
            out.push_str(&table(
                &["MODEL", "REQUESTS", "INPUT TOKENS", "OUTPUT TOKENS (EST.)", "COST", "BATCH COST"],
                &rows,
            ));
        }
        if self.pending_review > 0 {
            out.push_str("approve them in the app's Request Reviewer, or pass --approve-all\n");
        }
        out
    }
}

/// A run as `run status|list|start|resume` print it. Its `cached` (from
/// [`RunSummary`]'s progress) counts the answers the AI response cache gave.
#[derive(Debug, Serialize)]
struct RunView {
    #[serde(flatten)]
    summary: RunSummary,
    dataset: Option<String>,
    /// Started with `--no-cache` (the app's "Don't use cached answers"): the
    /// run and its resumes do not read the AI response cache.
    no_cache: bool,
    /// Sent through the providers' batch APIs: its batches, and how many
    /// still owe results (`run resume` collects them). `null` for a live run.
    batch: Option<local_data::BatchJobCounts>,
    /// The pass rate of the run's assertions and its answers' schema validity.
    checks: Option<RunChecks>,
    /// The answers that do not fit their schema, per record (at most [`SHOWN_FAILURES`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    schema_failures: Vec<SchemaFailure>,
}

/// The most records whose answers do not fit their schema that `run status` lists.
const SHOWN_FAILURES: u32 = 100;

impl RunView {
    fn new(store: &Store, summary: RunSummary) -> Self {
        let dataset = summary.dataset_id.and_then(|id| store.dataset(id).ok()).map(|d| d.name);
        let run_id = summary.progress.run_id;
        let no_cache = store.run_no_cache(run_id).unwrap_or(false);
        let batch = store.run_is_batch(run_id).unwrap_or(false).then(|| store.batch_job_counts(run_id).ok()).flatten();
        let checks =
            store.run_checks(run_id).ok().filter(|c| !c.assertions.is_empty() || c.schema_valid + c.schema_invalid > 0);
        let schema_failures = match &checks {
            Some(c) if c.schema_invalid > 0 => store.run_schema_failures(run_id, SHOWN_FAILURES).unwrap_or_default(),
            _ => Vec::new(),
        };
        Self { summary, dataset, no_cache, batch, checks, schema_failures }
    }

    /// Answers taken from the AI response cache (the store always counts them).
    fn cached(&self) -> u64 {
        self.summary.progress.cached.unwrap_or(0)
    }

    fn models(&self) -> String {
        self.summary.targets.iter().map(|t| format!("{}/{}", t.provider, t.model)).collect::<Vec<_>>().join(", ")
    }
}

impl Render for RunView {
    fn human(&self) -> String {
        let p = &self.summary.progress;
        let mut out = format!(
            "run {}: {} — {} answered ({} from the AI cache), {} failed, {} queued, {} in flight, of {}\ndataset {}, {}, started {}",
            p.run_id,
            p.status,
            p.answered,
            self.cached(),
            p.failed,
            p.queued,
            p.in_flight,
            p.total,
            self.dataset.as_deref().map_or_else(|| "(deleted)".to_owned(), |d| format!("`{d}`")),
            self.models(),
            when(self.summary.created_at)
        );
        if self.no_cache {
            out.push_str("\nthe AI cache is not read for this run (--no-cache); its fresh answers go into the cache");
        }
        if let Some(repeats) = p.repeats.filter(|&n| n > 1) {
            out.push_str(&format!(
                "\neach prompt asked {repeats} times: see `augment run stability {}` for the answers that differ",
                p.run_id
            ));
        }
        if let Some(batch) = &self.batch {
            out.push_str(&format!("\nbatch mode: {} provider batches, {} still owe results", batch.jobs, batch.open));
        }
        if let Some(checks) = &self.checks {
            out.push_str(&checks_text(checks, &self.schema_failures));
        }
        if let Some(note) = &p.note {
            out.push_str(&format!("\nnote: {note}"));
        }
        if !p.is_done() && p.status != RunStatus::Running {
            out.push_str(&format!("\ngo on with `augment run resume {}`", p.run_id));
        }
        out
    }
}

/// The schema and assertion lines of `run status`.
fn checks_text(checks: &RunChecks, failures: &[SchemaFailure]) -> String {
    let mut out = String::new();
    if checks.schema_valid + checks.schema_invalid > 0 {
        out.push_str(&format!("\nschema: {} answers valid, {} invalid", checks.schema_valid, checks.schema_invalid));
        for failure in failures {
            let problems: Vec<String> = failure
                .errors
                .iter()
                .map(|e| if e.path.is_empty() { e.message.clone() } else { format!("{}: {}", e.path, e.message) })
                .collect();
            out.push_str(&format!("\n  record {}: {}", failure.record, problems.join("; ")));
        }
        if checks.schema_invalid > failures.len() as u64 {
            out.push_str(&format!(
                "\n  … and {} more (see `augment run export`)",
                checks.schema_invalid - failures.len() as u64
            ));
        }
    }
    if !checks.assertions.is_empty() {
        let rate = checks.pass_rate.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0));
        out.push_str(&format!(
            "\nchecks: {rate} of answers pass every assertion ({} of {})",
            checks.passed, checks.checked
        ));
        for tally in &checks.assertions {
            out.push_str(&format!("\n  {}: {} passed, {} failed", tally.assertion, tally.passed, tally.failed));
            if tally.unscored > 0 {
                out.push_str(&format!(", {} not scored", tally.unscored));
            }
        }
    }
    out
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct RunList(Vec<RunView>);

impl Render for RunList {
    fn human(&self) -> String {
        if self.0.is_empty() {
            return "no runs yet: start one with `augment run start`".to_owned();
        }
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|v| {
                let p = &v.summary.progress;
                vec![
                    p.run_id.to_string(),
                    p.status.to_string(),
                    format!("{}/{}", p.answered, p.total),
                    v.cached().to_string(),
                    p.failed.to_string(),
                    v.dataset.clone().unwrap_or_else(|| "-".to_owned()),
                    v.models(),
                    when(v.summary.created_at),
                ]
            })
            .collect();
        table(&["RUN", "STATUS", "ANSWERED", "CACHED", "FAILED", "DATASET", "MODELS", "STARTED"], &rows)
    }
}
