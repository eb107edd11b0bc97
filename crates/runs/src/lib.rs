//! The run engine: sends a run's approved requests through the provider
//! clients (crate `providers`), stores each answer in the local store (crate
//! `local-data`), reports progress as [`RunEvent`]s on a channel the shell
//! forwards to the UI, and can be cancelled and resumed — also after the app
//! was killed mid-run.
//!
//! ```no_run
//! # async fn demo(store: local_data::Store, client: providers::ProviderClient) -> Result<(), runs::Error> {
//! let engine = runs::Engine::new(store, [client], 4);
//! let mut run = engine.start(1, None).await?;
//! while let Some(event) = run.events.recv().await {
//!     println!("{event:?}"); // the shell emits these to the webview
//! }
//! let progress = run.wait().await?;
//! # Ok(()) }
//! ```
//!
//! # Delivery guarantees
//!
//! Before a request is sent it is committed as *in flight*; its answer is
//! stored in the same transaction that marks it *answered* (see
//! [`local_data::Store::claim_next`] and [`local_data::Store::record_answer`]).
//! A request whose answer was stored is never sent again, by this run or any
//! later one: **exactly-once** for answered requests. A request in flight when
//! the process died has no stored answer, so [`Engine::resume`] sends it again;
//! the provider may already have answered (and billed) it before the crash,
//! so requests in flight at a crash are **at-least-once**. Nothing is lost:
//! every request of a run ends answered or failed, or stays queued for resume.
//!
//! A live run's workers do not commit one by one: a writer thread of the
//! run stores all the claims and answers waiting at once, in one
//! transaction, each write still whole or not at all (group commit,
//! [`local_data::Store::write_run_batch`]). A claim takes as many requests
//! as the run sends at once; those no worker has taken when the run stops
//! go back to the queue, and after a crash they are among the in-flight
//! requests a resume sends again (never sent before, so sent once).
//!
//! # The response cache
//!
//! Before a claimed request is sent, its key ([`local_data::AiCall`]: provider,
//! wire format, base URL, model, every parameter of the serialized
//! [`ChatRequest`], the prompt; built in one place, `cache_call`) is looked up
//! in the store's response cache. A hit is stored as the request's answer,
//! marked `cached`, in the same transaction that marks it answered
//! ([`local_data::Store::answer_from_ai_cache`]), so the delivery guarantees
//! above hold unchanged, and makes no provider call; the reachability check
//! before a run skips a provider whose requests the cache answers whole, so
//! a repeated run makes no call at all. A miss is sent as usual and its
//! answer stored in the cache in the transaction that records it. Failures,
//! cancelled and interrupted requests are never cached (they have no
//! [`Answer`]). [`RunOptions::no_cache`] makes a run (and its resumes)
//! send every request without reading the cache; its fresh answers still
//! replace the cached ones, so "don't use cached answers" also refreshes them.
//!
//! # Structured output and checks
//!
//! A request whose template version has a JSON Schema is sent with it
//! ([`ChatRequest::schema`]: OpenAI's strict `json_schema`, Anthropic's
//! forced tool) and the schema is in its cache key; the store validates
//! every answer to it as it is stored. A run's assertions
//! ([`RunOptions::assertions`], kept with the run) score each answer right
//! after it is stored, live or from the cache: the local ones at once, a
//! judge by a call to its provider (tokens stored with the result, counted
//! in the run's cost and against its budget cap); all of an answer's
//! results are stored together, and answers a crash or a stop left
//! unchecked are checked when the run resumes.
//!
//! # Retries, limits, offline
//!
//! Retries on 429 and 5xx (honouring `Retry-After`), holding new sends while
//! the provider's rate-limit headers say its window is spent, the
//! per-provider concurrency and request-rate limits are the provider
//! client's; the engine reports the client's retry waits as
//! [`RunEvent::Retrying`] and its other waits as [`RunEvent::Waiting`]. The
//! engine adds a per-run concurrency limit that adapts (AIMD): a 429 halves
//! it (once per window of requests sent at the old limit, never below 1),
//! and every [`RECOVER_AFTER`] answers in a row add one back, up to the
//! configured limit ([`RunEvent::ConcurrencyChanged`]). A run whose provider
//! cannot be reached is refused before anything is sent ([`Error::Offline`]),
//! and so is a run whose provider has no usable key ([`Error::Key`]); if the
//! network goes away mid-run, the run stops as [`RunStatus::Paused`] with its
//! unsent requests queued, ready for [`Engine::resume`].
//!
//! # Stopping cleanly: quota, budget, pause
//!
//! Three things stop a run *cleanly*: the provider says the account's quota
//! is used up ([`providers::Error::QuotaExhausted`]; that request goes back
//! to the queue, it is not a failure), the run's budget cap
//! ([`RunOptions::max_cost_usd`], the tokens its answers used at the
//! store's price table) is reached, or the person pauses it ([`RunHandle::pause`],
//! [`LiveRuns::pause`]). No new request is claimed, the ones in flight finish
//! and are stored, the unsent ones stay queued, and the run ends
//! [`RunStatus::Paused`] (resumable) with the reason as its note, announced
//! first as [`RunEvent::Stopping`]. Unlike a cancel, nothing in flight is
//! abandoned, so nothing is sent twice by a resume.
//!
//! # Batch mode
//!
//! [`RunOptions::batch`] sends a run through the providers' batch APIs
//! (OpenAI's Batch API, Anthropic's Message Batches; [`BATCH_PROVIDERS`])
//! at their batch prices: see `batch.rs`. Its batches are recorded as soon
//! as the provider accepts them, so a resume after a quit, cancel or kill
//! polls them instead of submitting again; their results are stored with the
//! same delivery guarantees as live answers, and cache hits are not sent.
//!
//! # In a shell
//!
//! [`LiveRuns`] keeps the cancel tokens of the runs a process is sending
//! (reserve, cancel by id, removal when a run stops), and a [`RunEvent`]
//! serialises as the UI's `run-event` payload, so a shell only emits it.

mod batch;
mod live;
mod writer;

pub use batch::{BATCH_PROVIDERS, BatchSettings};
pub use live::LiveRuns;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use local_data::{
    AiCacheKey, AiCall, Answer, CheckResult, Checker, ClaimedRequest, Failure, JudgeUsage, PriceTable, RunProgress,
    RunStatus, RunWrite, RunWritten, Store,
};
use providers::{
    CallOptions, CancellationToken, ChatRequest, Progress, ProviderClient, ProviderConfig, RetryReason, WireFormat,
};
use serde::Serialize;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

/// Why a run could not start or go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The local store refused or failed.
    #[error(transparent)]
    Data(#[from] local_data::Error),

    /// A provider of the run cannot be reached; nothing was sent.
    #[error(
        "the run was not started because {provider} cannot be reached ({message}); connect to the network and try again"
    )]
    Offline {
        /// The provider id.
        provider: String,
        /// The provider client's explanation.
        message: String,
    },

    /// A provider of the run refuses its key (none set, malformed, revoked)
    /// or the keychain cannot give it; nothing was sent.
    #[error("the run was not started: {message}")]
    Key {
        /// The provider id.
        provider: String,
        /// The provider client's error code, e.g. `no_key` or `invalid_key`.
        code: &'static str,
        /// The provider client's explanation, which says what to do.
        message: String,
    },

    /// The run uses a provider the app has no client for.
    #[error("the run uses provider `{provider}`, which is not configured: add it in the provider settings")]
    NoClient {
        /// The provider id.
        provider: String,
    },

    /// The engine's own task failed (a bug).
    #[error("the run engine stopped unexpectedly: {0}")]
    Engine(String),

    /// The run is already being sent by this process ([`LiveRuns::reserve`]).
    #[error("run {run_id} is already sending: wait for it or cancel it")]
    AlreadySending {
        /// The run asked for.
        run_id: i64,
    },

    /// A batch run asks for a provider without a batch API; nothing was sent.
    #[error(
        "the run was not started: {provider} has no batch API here (batch mode speaks OpenAI's and Anthropic's); send it without --batch"
    )]
    BatchUnsupported {
        /// The provider id.
        provider: String,
    },

    /// A batch run with a budget cap: a submitted batch cannot be stopped at a cap.
    #[error(
        "the run was not started: a budget cap cannot stop a batch the provider already has; remove the cap or send it without --batch"
    )]
    BatchWithBudget,

    /// The run has a budget cap but sends to a model without a list price,
    /// so what it spends could not be counted; nothing was sent.
    #[error(
        "the run was not started: a budget cap needs prices, and {provider}/{model} has none in the price table; remove the cap or choose a priced model"
    )]
    Unpriced {
        /// The provider id.
        provider: String,
        /// The model without a price.
        model: String,
    },
}

impl Error {
    /// A stable machine-readable code for user interfaces.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Data(e) => e.code(),
            Error::Offline { .. } => "offline",
            Error::Key { code, .. } => code,
            Error::NoClient { .. } => "no_client",
            Error::Engine(_) => "engine",
            Error::AlreadySending { .. } => "already_sending",
            Error::Unpriced { .. } => "unpriced",
            Error::BatchUnsupported { .. } => "batch_unsupported",
            Error::BatchWithBudget => "batch_with_budget",
        }
    }
}

/// What happens during a run, in order per request.
///
/// Serialises as the shell's `run-event` payload: a union tagged by `kind`
/// (camelCase), every event carrying its `runId`, fields camelCase except
/// `progress`, which is [`RunProgress`] as it is (see `RunEvent` in
/// `remotes/shared/host-client/src/workflow.ts`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunEvent {
    /// The run is about to send; `progress` counts what is left.
    Started { progress: RunProgress },
    /// A request is being sent (`attempt` counts sends by this run, across resumes).
    Sending { run_id: i64, request_id: i64, attempt: u32 },
    /// The provider client is waiting to retry (429, 5xx) or for its rate limit.
    Retrying { run_id: i64, request_id: i64, message: String },
    /// An answer was stored.
    Answered { run_id: i64, request_id: i64 },
    /// The request failed for good; the error is stored as its response.
    Failed { run_id: i64, request_id: i64, code: String, message: String },
    /// Counts after each stored answer or failure.
    Progress { progress: RunProgress },
    /// Sending has stopped: completed, cancelled or paused (see `progress.status`).
    Finished { progress: RunProgress },
    /// A request waits before it is sent: the provider's window is spent
    /// until its reset, or this app's own request rate holds it.
    Waiting { run_id: i64, request_id: i64, message: String, delay_ms: u64 },
    /// The run's in-flight limit changed (lowered on a 429, raised back after answers).
    ConcurrencyChanged { run_id: i64, limit: u32, max: u32, message: String },
    /// The run stops cleanly: nothing new is sent, requests in flight finish.
    /// `code` is `quota_exhausted`, `budget_reached` or `paused`; `reason`
    /// is also the finished run's note.
    Stopping { run_id: i64, code: String, reason: String },
    /// A provider batch of a batch run was submitted or polled; `status` is
    /// `submitted` or the provider's own word (`in_progress`, `completed`, `ended` …).
    Batch { run_id: i64, provider: String, batch_id: String, status: String, message: String },
}

/// The wire form of [`RunEvent`]: the events that carry only `progress`
/// get its run id as `runId` too, so every event names its run. Public only
/// so the host contract can generate its TypeScript (`RunEvent` there).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "RunEvent"))]
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum WireEvent<'a> {
    Started { run_id: i64, progress: &'a RunProgress },
    Sending { run_id: i64, request_id: i64, attempt: u32 },
    Retrying { run_id: i64, request_id: i64, message: &'a str },
    Answered { run_id: i64, request_id: i64 },
    Failed { run_id: i64, request_id: i64, code: &'a str, message: &'a str },
    Progress { run_id: i64, progress: &'a RunProgress },
    Finished { run_id: i64, progress: &'a RunProgress },
    Waiting { run_id: i64, request_id: i64, message: &'a str, delay_ms: u64 },
    ConcurrencyChanged { run_id: i64, limit: u32, max: u32, message: &'a str },
    Stopping { run_id: i64, code: &'a str, reason: &'a str },
    Batch { run_id: i64, provider: &'a str, batch_id: &'a str, status: &'a str, message: &'a str },
}

impl Serialize for RunEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let wire = match self {
            RunEvent::Started { progress } => WireEvent::Started { run_id: progress.run_id, progress },
            RunEvent::Sending { run_id, request_id, attempt } => {
                WireEvent::Sending { run_id: *run_id, request_id: *request_id, attempt: *attempt }
            }
            RunEvent::Retrying { run_id, request_id, message } => {
                WireEvent::Retrying { run_id: *run_id, request_id: *request_id, message }
            }
            RunEvent::Answered { run_id, request_id } => {
                WireEvent::Answered { run_id: *run_id, request_id: *request_id }
            }
            RunEvent::Failed { run_id, request_id, code, message } => {
                WireEvent::Failed { run_id: *run_id, request_id: *request_id, code, message }
            }
            RunEvent::Progress { progress } => WireEvent::Progress { run_id: progress.run_id, progress },
            RunEvent::Finished { progress } => WireEvent::Finished { run_id: progress.run_id, progress },
            RunEvent::Waiting { run_id, request_id, message, delay_ms } => {
                WireEvent::Waiting { run_id: *run_id, request_id: *request_id, message, delay_ms: *delay_ms }
            }
            RunEvent::ConcurrencyChanged { run_id, limit, max, message } => {
                WireEvent::ConcurrencyChanged { run_id: *run_id, limit: *limit, max: *max, message }
            }
            RunEvent::Stopping { run_id, code, reason } => WireEvent::Stopping { run_id: *run_id, code, reason },
            RunEvent::Batch { run_id, provider, batch_id, status, message } => {
                WireEvent::Batch { run_id: *run_id, provider, batch_id, status, message }
            }
        };
        wire.serialize(serializer)
    }
}

/// A run being sent.
#[derive(Debug)]
pub struct RunHandle {
    pub run_id: i64,
    /// Every [`RunEvent`] of the run; ends after [`RunEvent::Finished`].
    pub events: mpsc::UnboundedReceiver<RunEvent>,
    cancel: CancellationToken,
    pause: CancellationToken,
    task: JoinHandle<Result<RunProgress, Error>>,
}

impl RunHandle {
    /// Stops the run: requests in flight are abandoned (connections closed)
    /// and go back to the queue, nothing more is sent; resume it later.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// A token that cancels the run, for a shell command that only has the run id.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Pauses the run cleanly: nothing new is sent, requests in flight
    /// finish and are stored, and the run ends [`RunStatus::Paused`] ("paused
    /// by you"); [`Engine::resume`] goes on with it.
    pub fn pause(&self) {
        self.pause.cancel();
    }

    /// A token that pauses the run (see [`RunHandle::pause`]).
    pub fn pause_token(&self) -> CancellationToken {
        self.pause.clone()
    }

    /// Waits for sending to stop and returns the final counts.
    pub async fn wait(self) -> Result<RunProgress, Error> {
        self.task.await.map_err(|e| Error::Engine(e.to_string()))?
    }
}

/// How a run is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Send every request to its provider, even one the response cache
    /// could answer (fresh answers still go into the cache). Kept with the
    /// run, so a resume honours it.
    pub no_cache: bool,
    /// Stop cleanly once the run's answers cost this much (US dollars, the
    /// tokens they used at the store's price table, list prices with the
    /// person's overrides, [`local_data::Store::price_table`]; answers
    /// from the response cache cost nothing). A run to a model without a
    /// price is refused ([`Error::Unpriced`]). Kept with the run, so a
    /// resume stops at it too. Requests already in flight when it is
    /// reached still finish, so a run can end slightly above it.
    pub max_cost_usd: Option<f64>,
    /// Send through the providers' batch APIs at their batch prices (see
    /// the crate docs, "Batch mode"). Kept with the run, so a resume polls
    /// its batches. Not with a budget cap ([`Error::BatchWithBudget`]).
    pub batch: bool,
    /// Checks each stored answer is scored with (see "Structured output
    /// and checks" in the crate docs). Kept with the run.
    pub assertions: Vec<local_data::Assertion>,
    /// Ask each approved prompt this many times (1 to
    /// [`local_data::MAX_REPEATS`]), each repeat a request with an answer
    /// of its own and a cache key of its own, to see whether the model
    /// answers the same way (`local_data::Store::run_stability`). Kept with the run.
    pub repeats: u32,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { no_cache: false, max_cost_usd: None, batch: false, assertions: Vec::new(), repeats: 1 }
    }
}

/// Answers in a row after which a lowered in-flight limit gets one back.
pub const RECOVER_AFTER: u32 = 5;

/// The stop reason of a run paused by the person.
pub const PAUSED_BY_YOU: &str = "paused by you";

/// The chat request the engine sends for a request's model, prompt and
/// template schema (the one place it is built, so the cache key and the
/// call cannot differ: a schema is a parameter of the serialized request,
/// so it is in the key).
fn chat_request(model: &str, prompt: &str, schema: Option<&str>) -> ChatRequest {
    // The store saved it checked and compact; one that no longer parses is sent without.
    let schema = schema.and_then(|s| serde_json::from_str(s).ok());
    ChatRequest::new(model, prompt).with_schema(schema)
}

/// The response cache's view of sending `request` (whose last message is
/// `prompt`) through a client configured as `config`: what its key is made
/// of ([`AiCall`] says what and why). Every field of the serialized request
/// but the model and the prompt goes into `parameters`, so a parameter
/// added to [`ChatRequest`] is in the key without an edit here. `None` if
/// the request cannot be serialized (then it is not cached).
fn cache_call(config: &ProviderConfig, request: &ChatRequest, prompt: &str, sample: u32) -> Option<AiCall> {
    let serde_json::Value::Object(fields) = serde_json::to_value(request).ok()? else {
        return None;
    };
    let mut parameters: BTreeMap<String, serde_json::Value> = fields.into_iter().collect();
    parameters.remove("model");
    // The prompt is a field of its own; earlier messages (a system prompt) stay parameters.
    if let Some(serde_json::Value::Array(messages)) = parameters.get_mut("messages") {
        let last = messages.last().and_then(|m| m.get("content")).and_then(|c| c.as_str());
        if last == Some(prompt) {
            messages.pop();
        }
    }
    if config.wire == WireFormat::Anthropic {
        // Sent as max_tokens when the request has none.
        parameters.insert("default_max_tokens".to_owned(), config.default_max_tokens.into());
    }
    let wire_format = serde_json::to_value(config.wire).ok()?.as_str()?.to_owned();
    Some(AiCall {
        provider: config.id.clone(),
        wire_format,
        base_url: config.base_url.clone(),
        model: request.model.clone(),
        parameters,
        prompt: prompt.to_owned(),
        sample,
    })
}

/// Sends runs from one store through a set of provider clients.
#[derive(Debug, Clone)]
pub struct Engine {
    store: Arc<Mutex<Store>>,
    clients: Arc<HashMap<String, ProviderClient>>,
    concurrency: usize,
    batch: BatchSettings,
}

impl Engine {
    /// `store` should be a connection of its own (open the database file
    /// again): the engine writes from background threads. `concurrency` is
    /// the most requests this engine has in flight at once (at least 1).
    pub fn new(store: Store, clients: impl IntoIterator<Item = ProviderClient>, concurrency: usize) -> Self {
        let clients = clients.into_iter().map(|c| (c.config().id.clone(), c)).collect();
        Engine {
            store: Arc::new(Mutex::new(store)),
            clients: Arc::new(clients),
            concurrency: concurrency.max(1),
            batch: BatchSettings::default(),
        }
    }

    /// How batch runs poll and split (the providers' own limits and a
    /// 5 s to 60 s back-off by default).
    pub fn with_batch_settings(mut self, batch: BatchSettings) -> Self {
        self.batch = batch;
        self
    }

    /// Creates a run of the approved, unanswered requests of a dataset (and
    /// optionally one template version) and starts sending. Refused, leaving
    /// no run behind, when a provider it needs is unreachable or not configured.
    pub async fn start(&self, dataset_id: i64, template_version_id: Option<i64>) -> Result<RunHandle, Error> {
        self.start_with(dataset_id, template_version_id, RunOptions::default()).await
    }

    /// [`Engine::start`] with options (e.g. not reading the response cache).
    pub async fn start_with(
        &self,
        dataset_id: i64,
        template_version_id: Option<i64>,
        options: RunOptions,
    ) -> Result<RunHandle, Error> {
        if options.batch && options.max_cost_usd.is_some() {
            return Err(Error::BatchWithBudget);
        }
        let batch = options.batch;
        let progress = self
            .db(move |s| {
                let run = local_data::NewRun {
                    no_cache: options.no_cache,
                    max_cost_usd: options.max_cost_usd,
                    batch: options.batch,
                    assertions: &options.assertions,
                    repeats: options.repeats,
                };
                s.create_run_as(dataset_id, template_version_id, &run)
            })
            .await?;
        let run_id = progress.run_id;
        let use_cache = !options.no_cache;
        if let Err(e) = self.preflight(run_id, use_cache, batch).await {
            self.db(move |s| s.delete_run(run_id)).await?;
            return Err(e);
        }
        let budget = self.budget(run_id).await?;
        let checker = self.checker(run_id).await?;
        Ok(self.spawn(progress, use_cache, budget, batch, checker))
    }

    /// Goes on with an unfinished run (after a crash, a cancel or going
    /// offline). Requests that were in flight are sent again: see the crate
    /// docs on delivery guarantees.
    pub async fn resume(&self, run_id: i64) -> Result<RunHandle, Error> {
        let status = self.db(move |s| s.run_progress(run_id)).await?.status;
        if status == RunStatus::Completed {
            return Err(local_data::Error::State(format!("run {run_id} has already completed: start a new run")).into());
        }
        let use_cache = !self.db(move |s| s.run_no_cache(run_id)).await?;
        let batch = self.db(move |s| s.run_is_batch(run_id)).await?;
        self.preflight(run_id, use_cache, batch).await?;
        let budget = self.budget(run_id).await?;
        let checker = self.checker(run_id).await?;
        let progress = self.db(move |s| s.resume_run(run_id)).await?;
        Ok(self.spawn(progress, use_cache, budget, batch, checker))
    }

    /// The run's assertions, ready to score.
    async fn checker(&self, run_id: i64) -> Result<Checker, Error> {
        self.db(move |s| Checker::new(&s.run_assertions(run_id)?)).await
    }

    /// The run's cap and what it has spent, if it has a cap.
    async fn budget(&self, run_id: i64) -> Result<Option<Budget>, Error> {
        self.db(move |s| {
            let Some(cap) = s.run_max_cost_usd(run_id)? else { return Ok(None) };
            let prices = s.price_table()?;
            Ok(Some(Budget { cap, spent: s.run_cost_usd(run_id, &prices)?, prices }))
        })
        .await
    }

    /// The cache key of sending `prompt` to `model` of `provider` as the
    /// `sample`th repeat of that question (0: the first; each repeat has a
    /// key of its own, see `AiCall::sample`); `None` without a client for the provider.
    fn cache_key(
        &self,
        provider: &str,
        model: &str,
        prompt: &str,
        schema: Option<&str>,
        sample: u32,
    ) -> Option<AiCacheKey> {
        let client = self.clients.get(provider)?;
        let request = chat_request(model, prompt, schema);
        cache_call(client.config(), &request, prompt, sample).map(|call| AiCacheKey::of(&call))
    }

    /// [`Engine::cache_key`] of a claimed request.
    fn cache_key_of(&self, claimed: &ClaimedRequest) -> Option<AiCacheKey> {
        self.cache_key(&claimed.provider, &claimed.model, &claimed.prompt, claimed.schema.as_deref(), claimed.sample)
    }

    /// Refuses the run if a provider it needs is missing, unreachable or has
    /// no usable key. With the cache, a provider whose every unsent request
    /// the cache answers is not needed (and not asked).
    async fn preflight(&self, run_id: i64, use_cache: bool, batch: bool) -> Result<(), Error> {
        if batch {
            let providers = self.db(move |s| s.run_providers(run_id)).await?;
            if let Some(provider) = providers.into_iter().find(|p| !BATCH_PROVIDERS.contains(&p.as_str())) {
                return Err(Error::BatchUnsupported { provider });
            }
        }
        let providers: BTreeSet<String> = if use_cache {
            let engine = self.clone();
            self.db(move |s| {
                s.run_providers_missing_from_ai_cache(run_id, |provider, model, prompt, schema, sample| {
                    engine.cache_key(provider, model, prompt, schema, sample)
                })
            })
            .await?
        } else {
            self.db(move |s| s.run_providers(run_id)).await?
        };
        if self.db(move |s| s.run_max_cost_usd(run_id)).await?.is_some() {
            let unpriced = self.db(move |s| s.run_unpriced_targets(run_id, &s.price_table()?)).await?;
            if let Some((provider, model)) = unpriced.into_iter().next() {
                tracing::warn!(run_id, %provider, %model, "budget cap with an unpriced model, run refused");
                return Err(Error::Unpriced { provider, model });
            }
        }
        // A judge's provider must be there to ask; it is checked like the run's own when it sends.
        for assertion in self.db(move |s| s.run_assertions(run_id)).await? {
            if let Some((provider, _)) = assertion.judge_target()
                && !self.clients.contains_key(provider)
            {
                return Err(Error::NoClient { provider: provider.to_owned() });
            }
        }
        for provider in providers {
            let client = self.clients.get(&provider).ok_or_else(|| Error::NoClient { provider: provider.clone() })?;
            match client.list_models(&CallOptions::new()).await {
                Err(e @ (providers::Error::Unreachable { .. } | providers::Error::Timeout { .. })) => {
                    tracing::warn!(run_id, %provider, code = e.code(), "provider unreachable, run refused");
                    return Err(Error::Offline { provider, message: e.to_string() });
                }
                // Every request would fail the same way: say so once, before anything is queued.
                Err(
                    e @ (providers::Error::NoKey { .. }
                    | providers::Error::InvalidKey { .. }
                    | providers::Error::MalformedKey { .. }
                    | providers::Error::Keychain(_)),
                ) => {
                    tracing::warn!(run_id, %provider, code = e.code(), "provider key unusable, run refused");
                    return Err(Error::Key { provider, code: e.code(), message: e.to_string() });
                }
                // Reachable: whatever else is wrong (a key, a model) shows per request.
                Err(e) => {
                    tracing::debug!(run_id, %provider, code = e.code(), "provider preflight answered with an error")
                }
                Ok(_) => {}
            }
        }
        Ok(())
    }

    fn spawn(
        &self,
        progress: RunProgress,
        use_cache: bool,
        budget: Option<Budget>,
        batch: bool,
        checker: Checker,
    ) -> RunHandle {
        let (events, receiver) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let pause = CancellationToken::new();
        let run = Arc::new(Run {
            engine: self.clone(),
            run_id: progress.run_id,
            events,
            cancel: cancel.clone(),
            stop: cancel.child_token(),
            pause: pause.clone(),
            drain: pause.child_token(),
            stop_reason: Mutex::new(None),
            offline: Mutex::new(None),
            use_cache,
            last_progress: Mutex::new(None),
            window: Window::new(self.concurrency),
            budget: Mutex::new(budget),
            checker,
            writer: writer::Writer::start(self.store.clone()),
            claimed_ahead: tokio::sync::Mutex::default(),
        });
        let _ = run.events.send(RunEvent::Started { progress: progress.clone() });
        let task = if batch { tokio::spawn(run.drive_batch()) } else { tokio::spawn(run.drive()) };
        RunHandle { run_id: progress.run_id, events: receiver, cancel, pause, task }
    }

    /// Runs a store operation on a blocking thread.
    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, local_data::Error> + Send + 'static,
    ) -> Result<T, Error> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            // A panic elsewhere cannot leave the connection inconsistent: every write is a transaction.
            let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut store)
        })
        .await
        .map_err(|e| Error::Engine(e.to_string()))?
        .map_err(Error::from)
    }
}

/// A run's budget cap and what its answers have cost so far (US dollars),
/// at the prices read when it started or resumed.
#[derive(Debug, Clone)]
struct Budget {
    cap: f64,
    spent: f64,
    prices: PriceTable,
}

/// Dollars as a person reads them: cents, or three significant digits for
/// sums below a cent ($0.00000945).
fn usd(amount: f64) -> String {
    if amount > 0.0 && amount < 0.01 {
        let decimals = (-amount.log10()).ceil() as usize + 2;
        let text = format!("{amount:.decimals$}");
        format!("${}", text.trim_end_matches('0'))
    } else {
        format!("${amount:.2}")
    }
}

/// The run's adaptive in-flight limit (AIMD, see the crate docs).
struct Window {
    state: Mutex<WindowState>,
    /// Woken when a slot frees or the limit rises.
    changed: Notify,
    max: usize,
}

struct WindowState {
    limit: usize,
    in_flight: usize,
    /// Answers in a row since the limit last changed.
    successes: u32,
    /// Bumped on every decrease: a 429 of a request sent before it does not
    /// lower the limit again (the storm that caused one decrease causes one).
    epoch: u64,
}

impl Window {
    fn new(max: usize) -> Self {
        Window {
            state: Mutex::new(WindowState { limit: max, in_flight: 0, successes: 0, epoch: 0 }),
            changed: Notify::new(),
            max,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, WindowState> {
        // Every change is a few integer updates: a panic cannot leave it half done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a slot under the current limit; its epoch, or `None` when
    /// `stop` or `drain` fired first.
    async fn acquire(&self, stop: &CancellationToken, drain: &CancellationToken) -> Option<u64> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.state();
                if state.in_flight < state.limit {
                    state.in_flight += 1;
                    return Some(state.epoch);
                }
            }
            tokio::select! {
                () = notified => {}
                () = stop.cancelled() => return None,
                () = drain.cancelled() => return None,
            }
        }
    }

    /// How many requests may be in flight now.
    fn limit(&self) -> usize {
        self.state().limit
    }

    fn release(&self) {
        self.state().in_flight -= 1;
        self.changed.notify_waiters();
    }

    /// A 429 for a request sent in `epoch`: the new limit if it was lowered.
    fn rate_limited(&self, epoch: u64) -> Option<usize> {
        let mut state = self.state();
        if epoch != state.epoch || state.limit <= 1 {
            return None;
        }
        state.limit = (state.limit / 2).max(1);
        state.epoch += 1;
        state.successes = 0;
        Some(state.limit)
    }

    /// An answer: the new limit if it was raised.
    fn answered(&self) -> Option<usize> {
        let raised = {
            let mut state = self.state();
            if state.limit >= self.max {
                return None;
            }
            state.successes += 1;
            if state.successes < RECOVER_AFTER {
                return None;
            }
            state.successes = 0;
            state.limit += 1;
            state.limit
        };
        self.changed.notify_waiters();
        Some(raised)
    }
}

/// One run being sent.
struct Run {
    engine: Engine,
    run_id: i64,
    events: mpsc::UnboundedSender<RunEvent>,
    /// The person's cancel.
    cancel: CancellationToken,
    /// Stops every worker: cancelled with `cancel`, or when a provider goes unreachable.
    stop: CancellationToken,
    /// The person's pause.
    pause: CancellationToken,
    /// No new request is claimed: cancelled with `pause`, or when the quota
    /// or the budget is used up; requests in flight finish.
    drain: CancellationToken,
    /// Why the run stops cleanly (`code`, `reason`), the first reason winning.
    stop_reason: Mutex<Option<(String, String)>>,
    /// Why the run paused, if a provider became unreachable.
    offline: Mutex<Option<String>>,
    /// Whether claimed requests are looked up in the response cache first.
    use_cache: bool,
    /// When the last [`RunEvent::Progress`] was counted (see [`PROGRESS_EVERY`]); `None` before the first.
    last_progress: Mutex<Option<Instant>>,
    window: Window,
    budget: Mutex<Option<Budget>>,
    /// The run's assertions; empty for most runs.
    checker: Checker,
    /// Claims and answers, stored by group commit.
    writer: writer::Writer,
    /// Requests claimed (committed in flight) but not yet taken by a worker.
    claimed_ahead: tokio::sync::Mutex<VecDeque<ClaimedRequest>>,
}

/// What a worker does after one request.
enum Step {
    Next,
    Done,
}

/// The shortest time between two [`RunEvent::Progress`] of a run. Counting a
/// run's items after every answer cost more than sending at thousands of
/// answers a second; a person reads a counter a few times a second, and
/// [`RunEvent::Finished`] always carries the final counts.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// What a worker saw when a request did not get an answer or a final error.
enum Interrupted {
    Stopped,
    Offline(String),
    QuotaExhausted(String),
}

impl Run {
    async fn drive(self: Arc<Self>) -> Result<RunProgress, Error> {
        self.check_unchecked().await?;
        if let Some(budget) = self.budget_reached() {
            self.stop_cleanly("budget_reached", budget);
        }
        // The pause is announced when it happens, not when the last request in flight ends.
        let pause_watch = tokio::spawn({
            let run = self.clone();
            async move {
                run.pause.cancelled().await;
                run.stop_cleanly("paused", PAUSED_BY_YOU.to_owned());
            }
        });
        let workers: Vec<_> = (0..self.engine.concurrency).map(|_| tokio::spawn(self.clone().work())).collect();
        let mut first_error = None;
        for worker in workers {
            let result = worker.await.map_err(|e| Error::Engine(e.to_string())).and_then(|r| r);
            if let Err(e) = result {
                // One worker failing (the database) stops the others too.
                self.stop.cancel();
                first_error.get_or_insert(e);
            }
        }
        pause_watch.abort();
        if let Err(e) = self.requeue_claimed_ahead().await {
            first_error.get_or_insert(e);
        }
        if self.pause.is_cancelled() {
            // The workers may have seen the pause before the watch announced it.
            self.stop_cleanly("paused", PAUSED_BY_YOU.to_owned());
        }
        let run_id = self.run_id;
        let offline = self.offline.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let stop_reason = self.stop_reason.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let (status, note) = if let Some(message) = offline {
            (RunStatus::Paused, Some(message))
        } else if self.cancel.is_cancelled() {
            (RunStatus::Cancelled, Some("cancelled by the user".to_owned()))
        } else if let Some(e) = &first_error {
            (RunStatus::Paused, Some(e.to_string()))
        } else if let Some((_, reason)) = stop_reason
            && !self.engine.db(move |s| s.run_progress(run_id)).await?.is_done()
        {
            (RunStatus::Paused, Some(reason))
        } else {
            // Stopping after the last request was sent leaves nothing to resume.
            (RunStatus::Completed, None)
        };
        let progress = self.engine.db(move |s| s.finish_run(run_id, status, note.as_deref())).await?;
        tracing::info!(run_id, %status, answered = progress.answered, failed = progress.failed, "run stopped");
        let _ = self.events.send(RunEvent::Finished { progress: progress.clone() });
        match first_error {
            Some(e) => Err(e),
            None => Ok(progress),
        }
    }

    /// Stops claiming requests; those in flight finish. The first reason is
    /// the one announced and kept.
    fn stop_cleanly(&self, code: &str, reason: String) {
        {
            let mut stop_reason = self.stop_reason.lock().unwrap_or_else(PoisonError::into_inner);
            if stop_reason.is_some() {
                return;
            }
            *stop_reason = Some((code.to_owned(), reason.clone()));
        }
        tracing::info!(run_id = self.run_id, code, %reason, "run stopping cleanly");
        let _ = self.events.send(RunEvent::Stopping { run_id: self.run_id, code: code.to_owned(), reason });
        self.drain.cancel();
    }

    /// "budget reached ($x of $y)" once the answers cost the cap.
    fn budget_reached(&self) -> Option<String> {
        let guard = self.budget.lock().unwrap_or_else(PoisonError::into_inner);
        let budget = guard.as_ref()?;
        (budget.spent >= budget.cap).then(|| format!("budget reached ({} of {})", usd(budget.spent), usd(budget.cap)))
    }

    /// Claims and sends requests one at a time until none is left or the run stops.
    async fn work(self: Arc<Self>) -> Result<(), Error> {
        let run_id = self.run_id;
        while !self.stop.is_cancelled() && !self.drain.is_cancelled() {
            let Some(epoch) = self.window.acquire(&self.stop, &self.drain).await else {
                return Ok(());
            };
            let outcome = self.clone().claim_and_send(epoch).await;
            self.window.release();
            match outcome? {
                Step::Next => {}
                Step::Done => return Ok(()),
            }
        }
        tracing::debug!(run_id, "worker stopped");
        Ok(())
    }

    /// One request: claimed, answered from the cache or sent, and stored.
    async fn claim_and_send(self: Arc<Self>, epoch: u64) -> Result<Step, Error> {
        let Some(claimed) = self.claim().await? else {
            return Ok(Step::Done);
        };
        if self.stop.is_cancelled() || self.drain.is_cancelled() {
            // Claimed but never sent: back to the queue.
            self.writer.write(RunWrite::Requeue { claimed }).await?;
            return Ok(Step::Done);
        }
        let key = self.engine.cache_key_of(&claimed);
        let request_id = claimed.request_id;
        if self.use_cache
            && let Some(key) = key.clone()
            && self.answer_from_cache(&claimed, key).await?
        {
            return Ok(Step::Next);
        }
        match self.send(&claimed, epoch).await {
            Ok(Ok(answer)) => {
                let tokens = (answer.input_tokens.unwrap_or(0).into(), answer.output_tokens.unwrap_or(0).into());
                let (provider, model) = (claimed.provider.clone(), claimed.model.clone());
                let text = (!self.checker.is_empty()).then(|| answer.text.clone());
                self.store_answer(claimed, answer, key).await?;
                self.count_answer(&provider, &model, tokens);
                if let Some(text) = text {
                    self.check(request_id, &text).await?;
                }
                Ok(Step::Next)
            }
            Ok(Err(failure)) => {
                self.store_failure(claimed, failure).await?;
                Ok(Step::Next)
            }
            Err(interrupted) => {
                self.writer.write(RunWrite::Requeue { claimed }).await?;
                match interrupted {
                    Interrupted::Offline(message) => {
                        self.offline.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(message);
                        self.stop.cancel();
                    }
                    Interrupted::QuotaExhausted(message) => self.stop_cleanly("quota_exhausted", message),
                    Interrupted::Stopped => {}
                }
                Ok(Step::Done)
            }
        }
    }

    /// Scores the run's answers that were stored but not scored: by a crash
    /// or a stop between storing and checking, or a batch's results.
    async fn check_unchecked(&self) -> Result<(), Error> {
        if self.checker.is_empty() {
            return Ok(());
        }
        let run_id = self.run_id;
        for (request_id, text) in self.engine.db(move |s| s.unchecked_answers(run_id)).await? {
            if self.stop.is_cancelled() {
                break; // a resume scores the rest
            }
            self.check(request_id, &text).await?;
        }
        Ok(())
    }

    /// Scores a stored answer with the run's assertions, asking judges
    /// through their providers' clients, and stores every result at once.
    /// A stop during a judge's call stores nothing: the answer stays
    /// unchecked and a resume checks it.
    async fn check(&self, request_id: i64, text: &str) -> Result<(), Error> {
        let local = self.checker.score_local(text);
        let mut results = Vec::with_capacity(local.len());
        for (position, (assertion, outcome)) in self.checker.assertions().zip(local).enumerate() {
            let (outcome, judge) = match outcome {
                Some(outcome) => (outcome, None),
                None => match self.judge(assertion, text).await {
                    Some(judged) => judged,
                    None => return Ok(()),
                },
            };
            results.push(CheckResult {
                position: position as u32,
                assertion: assertion.to_string(),
                passed: outcome.passed,
                reason: outcome.reason,
                judge,
            });
        }
        let run_id = self.run_id;
        self.engine.db(move |s| s.record_checks(run_id, request_id, &results)).await
    }

    /// Asks a judge about `text`: its verdict and what the call used, or
    /// `None` when the run stopped meanwhile. A judge that cannot be asked
    /// leaves the check unscored, with the reason.
    async fn judge(
        &self,
        assertion: &local_data::Assertion,
        text: &str,
    ) -> Option<(local_data::CheckOutcome, Option<JudgeUsage>)> {
        let (provider, model) = assertion.judge_target()?;
        let prompt = assertion.judge_prompt(text)?;
        let unscored = |reason: String| Some((local_data::CheckOutcome { passed: None, reason }, None));
        let Some(client) = self.engine.clients.get(provider) else {
            return unscored(Error::NoClient { provider: provider.to_owned() }.to_string());
        };
        // A judge's question is a request like any other: a second identical
        // run asks no provider, its judges included. It is asked once (sample
        // 0): two repeats with the same answer put the judge the same question.
        let key = self.engine.cache_key(provider, model, &prompt, None, 0);
        if self.use_cache
            && let Some(key) = key.clone()
        {
            match self.engine.db(move |s| s.ai_cache_get(&key)).await {
                // Answered from the cache: no call, so no usage to count.
                Ok(Some(cached)) => return Some((assertion.judge_verdict(&cached.answer.text), None)),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(run_id = self.run_id, code = e.code(), "the judge's cache could not be read: {e}")
                }
            }
        }
        let options = CallOptions::new().cancel_with(self.stop.clone());
        match client.chat(&ChatRequest::new(model, prompt), &options).await {
            Ok(reply) => {
                let usage = JudgeUsage {
                    provider: provider.to_owned(),
                    model: model.to_owned(),
                    input_tokens: reply.usage.and_then(|u| u.input_tokens),
                    output_tokens: reply.usage.and_then(|u| u.output_tokens),
                };
                self.count_judge(&usage);
                let verdict = assertion.judge_verdict(&reply.text);
                if let Some(key) = key {
                    let answer = Answer {
                        text: reply.text,
                        model: reply.model,
                        finish_reason: reply.finish_reason,
                        input_tokens: usage.input_tokens,
                        output_tokens: usage.output_tokens,
                    };
                    if let Err(e) = self.engine.db(move |s| s.ai_cache_put(&key, &answer)).await {
                        tracing::warn!(run_id = self.run_id, code = e.code(), "the judge's answer was not cached: {e}");
                    }
                }
                Some((verdict, Some(usage)))
            }
            Err(providers::Error::Cancelled { .. }) => None,
            Err(e) => unscored(format!("the judge could not be asked: {e}")),
        }
    }

    /// A judge's call against the budget, like any call.
    fn count_judge(&self, usage: &JudgeUsage) {
        if let Some(budget) = self.budget.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            let (input, output) = (usage.input_tokens.unwrap_or(0).into(), usage.output_tokens.unwrap_or(0).into());
            budget.spent += budget.prices.cost(&usage.provider, &usage.model, input, output).unwrap_or(0.0);
        }
        if let Some(reason) = self.budget_reached() {
            self.stop_cleanly("budget_reached", reason);
        }
    }

    /// After a live answer: its cost against the budget, and the window's recovery.
    fn count_answer(&self, provider: &str, model: &str, (input, output): (u64, u64)) {
        if let Some(budget) = self.budget.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            budget.spent += budget.prices.cost(provider, model, input, output).unwrap_or(0.0);
        }
        if let Some(reason) = self.budget_reached() {
            self.stop_cleanly("budget_reached", reason);
        }
        if let Some(limit) = self.window.answered() {
            let _ = self.events.send(RunEvent::ConcurrencyChanged {
                run_id: self.run_id,
                limit: limit as u32,
                max: self.window.max as u32,
                message: format!("Concurrency raised to {limit} of {}", self.window.max),
            });
        }
    }

    /// What the provider client reports while a request waits, as run events;
    /// a 429 also lowers the run's in-flight limit.
    fn report(&self, request_id: i64, epoch: u64, progress: &Progress) {
        let run_id = self.run_id;
        let message = progress.to_string();
        let event = match progress {
            Progress::WaitingForReset { delay, .. } | Progress::Throttled { delay, .. } => {
                RunEvent::Waiting { run_id, request_id, message, delay_ms: delay.as_millis() as u64 }
            }
            Progress::Retrying { reason, provider, .. } => {
                let lowered = (*reason == RetryReason::RateLimited).then(|| self.window.rate_limited(epoch)).flatten();
                let _ = self.events.send(RunEvent::Retrying { run_id, request_id, message });
                let Some(limit) = lowered else { return };
                tracing::info!(run_id, limit, %provider, "rate limited: run concurrency lowered");
                RunEvent::ConcurrencyChanged {
                    run_id,
                    limit: limit as u32,
                    max: self.window.max as u32,
                    message: format!("Concurrency lowered to {limit} ({provider} is rate limiting)"),
                }
            }
            _ => RunEvent::Retrying { run_id, request_id, message },
        };
        let _ = self.events.send(event);
    }

    /// One request through its provider client: an answer, a final failure, or an interruption.
    async fn send(
        self: &Arc<Self>,
        claimed: &ClaimedRequest,
        epoch: u64,
    ) -> Result<Result<Answer, Failure>, Interrupted> {
        let Some(client) = self.engine.clients.get(&claimed.provider) else {
            return Ok(Err(Failure {
                code: "no_client".into(),
                message: Error::NoClient { provider: claimed.provider.clone() }.to_string(),
            }));
        };
        let _ = self.events.send(RunEvent::Sending {
            run_id: self.run_id,
            request_id: claimed.request_id,
            attempt: claimed.attempt,
        });
        let run = Arc::downgrade(self);
        let request_id = claimed.request_id;
        let options = CallOptions::new().cancel_with(self.stop.clone()).on_progress(move |p| {
            if let Some(run) = run.upgrade() {
                run.report(request_id, epoch, p);
            }
        });
        let request = chat_request(&claimed.model, &claimed.prompt, claimed.schema.as_deref());
        match client.chat(&request, &options).await {
            Ok(response) => Ok(Ok(Answer {
                text: response.text,
                model: response.model,
                finish_reason: response.finish_reason,
                input_tokens: response.usage.and_then(|u| u.input_tokens),
                output_tokens: response.usage.and_then(|u| u.output_tokens),
            })),
            Err(providers::Error::Cancelled { .. }) => Err(Interrupted::Stopped),
            Err(e @ providers::Error::Unreachable { .. }) => Err(Interrupted::Offline(e.to_string())),
            Err(e @ providers::Error::QuotaExhausted { .. }) => Err(Interrupted::QuotaExhausted(e.to_string())),
            Err(e) => Ok(Err(Failure { code: e.code().to_owned(), message: e.to_string() })),
        }
    }
    /// Stores the cache's answer to `claimed` if it has one (no provider
    /// call) and scores it; `false` on a miss, with nothing changed.
    async fn answer_from_cache(&self, claimed: &ClaimedRequest, key: AiCacheKey) -> Result<bool, Error> {
        let (run_id, request_id) = (claimed.run_id, claimed.request_id);
        let written = self.writer.write(RunWrite::AnswerFromCache { claimed: claimed.clone(), key }).await?;
        if written == RunWritten::FromCache(None) {
            return Ok(false);
        }
        tracing::debug!(run_id, request_id, "answered from the response cache");
        let _ = self.events.send(RunEvent::Answered { run_id, request_id });
        self.maybe_send_progress().await?;
        if !self.checker.is_empty()
            && let Some(text) = self.engine.db(move |s| s.answer_text(run_id, request_id)).await?
        {
            self.check(request_id, &text).await?;
        }
        Ok(true)
    }

    /// Stores a live answer, and in the cache under `key` (same transaction).
    async fn store_answer(
        &self,
        claimed: ClaimedRequest,
        answer: Answer,
        key: Option<AiCacheKey>,
    ) -> Result<(), Error> {
        let (run_id, request_id) = (claimed.run_id, claimed.request_id);
        self.writer.write(RunWrite::Answer { claimed, answer, key }).await?;
        let _ = self.events.send(RunEvent::Answered { run_id, request_id });
        self.maybe_send_progress().await
    }

    async fn store_failure(&self, claimed: ClaimedRequest, failure: Failure) -> Result<(), Error> {
        let (run_id, request_id) = (claimed.run_id, claimed.request_id);
        let event =
            RunEvent::Failed { run_id, request_id, code: failure.code.clone(), message: failure.message.clone() };
        self.writer.write(RunWrite::Failure { claimed, failure }).await?;
        let _ = self.events.send(event);
        self.maybe_send_progress().await
    }

    /// The run's next queued request, committed as in flight. When none is
    /// claimed ahead, claims as many as the run sends at once in one go:
    /// the workers waiting meanwhile take the rest.
    async fn claim(&self) -> Result<Option<ClaimedRequest>, Error> {
        let mut ahead = self.claimed_ahead.lock().await;
        if ahead.is_empty() {
            let max = self.window.limit() as u32;
            match self.writer.write(RunWrite::Claim { run_id: self.run_id, max }).await? {
                RunWritten::Claimed(claimed) => ahead.extend(claimed),
                other => return Err(Error::Engine(format!("a claim was answered with {other:?}"))),
            }
        }
        Ok(ahead.pop_front())
    }

    /// Puts the requests claimed ahead that no worker took back in the queue.
    async fn requeue_claimed_ahead(&self) -> Result<(), Error> {
        let leftovers: Vec<ClaimedRequest> = self.claimed_ahead.lock().await.drain(..).collect();
        for claimed in leftovers {
            self.writer.write(RunWrite::Requeue { claimed }).await?;
        }
        Ok(())
    }

    /// Counts the run's items for a [`RunEvent::Progress`] when one is due.
    async fn maybe_send_progress(&self) -> Result<(), Error> {
        if self.progress_due() {
            let run_id = self.run_id;
            let progress = self.engine.db(move |s| s.run_progress(run_id)).await?;
            let _ = self.events.send(RunEvent::Progress { progress });
        }
        Ok(())
    }

    /// Whether the next stored answer or failure should count the run's
    /// items for a [`RunEvent::Progress`]; at most once per [`PROGRESS_EVERY`].
    fn progress_due(&self) -> bool {
        let mut last = self.last_progress.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < PROGRESS_EVERY) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_read_well() {
        assert_eq!(usd(1.5), "$1.50");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(0.01), "$0.01");
        assert_eq!(usd(0.00000945), "$0.00000945");
        assert_eq!(usd(0.000009), "$0.000009");
        assert_eq!(usd(0.0042), "$0.0042");
    }

    #[test]
    fn the_window_halves_once_per_storm_and_recovers_after_answers() {
        let window = Window::new(4);
        assert_eq!(window.rate_limited(0), Some(2));
        assert_eq!(window.rate_limited(0), None, "a 429 of a request sent before the decrease counts once");
        assert_eq!(window.rate_limited(1), Some(1));
        assert_eq!(window.rate_limited(2), None, "never below 1");
        for _ in 1..RECOVER_AFTER {
            assert_eq!(window.answered(), None);
        }
        assert_eq!(window.answered(), Some(2));
        for _ in 0..(2 * RECOVER_AFTER) {
            window.answered();
        }
        assert_eq!(window.state().limit, 4);
        assert_eq!(window.answered(), None, "never above the configured limit");
    }
}
