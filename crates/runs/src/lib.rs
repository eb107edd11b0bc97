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
//! # Retries, limits, offline
//!
//! Retries on 429 and 5xx (honouring `Retry-After`), the per-provider
//! concurrency and request-rate limits are the provider client's; the engine
//! adds a per-run concurrency limit and reports the client's retry waits as
//! [`RunEvent::Retrying`]. A run whose provider cannot be reached is refused
//! before anything is sent ([`Error::Offline`]), and so is a run whose
//! provider has no usable key ([`Error::Key`]); if the network goes away
//! mid-run, the run stops as [`RunStatus::Paused`] with its unsent requests
//! queued, ready for [`Engine::resume`].
//!
//! # In a shell
//!
//! [`LiveRuns`] keeps the cancel tokens of the runs a process is sending
//! (reserve, cancel by id, removal when a run stops), and a [`RunEvent`]
//! serialises as the UI's `run-event` payload, so a shell only emits it.

mod live;

pub use live::LiveRuns;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use local_data::{AiCacheKey, AiCall, Answer, ClaimedRequest, Failure, RunProgress, RunStatus, Store};
use providers::{CallOptions, CancellationToken, ChatRequest, ProviderClient, ProviderConfig, WireFormat};
use serde::Serialize;
use tokio::sync::mpsc;
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

    /// Waits for sending to stop and returns the final counts.
    pub async fn wait(self) -> Result<RunProgress, Error> {
        self.task.await.map_err(|e| Error::Engine(e.to_string()))?
    }
}

/// How a run is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Send every request to its provider, even one the response cache
    /// could answer (fresh answers still go into the cache). Kept with the
    /// run, so a resume honours it.
    pub no_cache: bool,
}

/// The chat request the engine sends for a request's model and prompt (the
/// one place it is built, so the cache key and the call cannot differ).
fn chat_request(model: &str, prompt: &str) -> ChatRequest {
    ChatRequest::new(model, prompt)
}

/// The response cache's view of sending `request` (whose last message is
/// `prompt`) through a client configured as `config`: what its key is made
/// of ([`AiCall`] says what and why). Every field of the serialized request
/// but the model and the prompt goes into `parameters`, so a parameter
/// added to [`ChatRequest`] is in the key without an edit here. `None` if
/// the request cannot be serialized (then it is not cached).
fn cache_call(config: &ProviderConfig, request: &ChatRequest, prompt: &str) -> Option<AiCall> {
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
    })
}

/// Sends runs from one store through a set of provider clients.
#[derive(Debug, Clone)]
pub struct Engine {
    store: Arc<Mutex<Store>>,
    clients: Arc<HashMap<String, ProviderClient>>,
    concurrency: usize,
}

impl Engine {
    /// `store` should be a connection of its own (open the database file
    /// again): the engine writes from background threads. `concurrency` is
    /// the most requests this engine has in flight at once (at least 1).
    pub fn new(store: Store, clients: impl IntoIterator<Item = ProviderClient>, concurrency: usize) -> Self {
        let clients = clients.into_iter().map(|c| (c.config().id.clone(), c)).collect();
        Engine { store: Arc::new(Mutex::new(store)), clients: Arc::new(clients), concurrency: concurrency.max(1) }
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
        let progress = self.db(move |s| s.create_run_with(dataset_id, template_version_id, options.no_cache)).await?;
        let run_id = progress.run_id;
        let use_cache = !options.no_cache;
        if let Err(e) = self.preflight(run_id, use_cache).await {
            self.db(move |s| s.delete_run(run_id)).await?;
            return Err(e);
        }
        Ok(self.spawn(progress, use_cache))
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
        self.preflight(run_id, use_cache).await?;
        let progress = self.db(move |s| s.resume_run(run_id)).await?;
        Ok(self.spawn(progress, use_cache))
    }

    /// The cache key of sending `prompt` to `model` of `provider`; `None`
    /// without a client for the provider.
    fn cache_key(&self, provider: &str, model: &str, prompt: &str) -> Option<AiCacheKey> {
        let client = self.clients.get(provider)?;
        let request = chat_request(model, prompt);
        cache_call(client.config(), &request, prompt).map(|call| AiCacheKey::of(&call))
    }

    /// Refuses the run if a provider it needs is missing, unreachable or has
    /// no usable key. With the cache, a provider whose every unsent request
    /// the cache answers is not needed (and not asked).
    async fn preflight(&self, run_id: i64, use_cache: bool) -> Result<(), Error> {
        let providers: BTreeSet<String> = if use_cache {
            let engine = self.clone();
            self.db(move |s| {
                s.run_providers_missing_from_ai_cache(run_id, |provider, model, prompt| {
                    engine.cache_key(provider, model, prompt)
                })
            })
            .await?
        } else {
            self.db(move |s| s.run_providers(run_id)).await?
        };
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

    fn spawn(&self, progress: RunProgress, use_cache: bool) -> RunHandle {
        let (events, receiver) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let run = Arc::new(Run {
            engine: self.clone(),
            run_id: progress.run_id,
            events,
            cancel: cancel.clone(),
            stop: cancel.child_token(),
            offline: Mutex::new(None),
            use_cache,
            last_progress: Mutex::new(None),
        });
        let _ = run.events.send(RunEvent::Started { progress: progress.clone() });
        let task = tokio::spawn(run.drive());
        RunHandle { run_id: progress.run_id, events: receiver, cancel, task }
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

/// One run being sent.
struct Run {
    engine: Engine,
    run_id: i64,
    events: mpsc::UnboundedSender<RunEvent>,
    /// The person's cancel.
    cancel: CancellationToken,
    /// Stops every worker: cancelled with `cancel`, or when a provider goes unreachable.
    stop: CancellationToken,
    /// Why the run paused, if a provider became unreachable.
    offline: Mutex<Option<String>>,
    /// Whether claimed requests are looked up in the response cache first.
    use_cache: bool,
    /// When the last [`RunEvent::Progress`] was counted (see [`PROGRESS_EVERY`]); `None` before the first.
    last_progress: Mutex<Option<Instant>>,
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
}

impl Run {
    async fn drive(self: Arc<Self>) -> Result<RunProgress, Error> {
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
        let run_id = self.run_id;
        let offline = self.offline.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let (status, note) = if let Some(message) = offline {
            (RunStatus::Paused, Some(message))
        } else if self.cancel.is_cancelled() {
            (RunStatus::Cancelled, Some("cancelled by the user".to_owned()))
        } else if let Some(e) = &first_error {
            (RunStatus::Paused, Some(e.to_string()))
        } else {
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

    /// Claims and sends requests one at a time until none is left or the run stops.
    async fn work(self: Arc<Self>) -> Result<(), Error> {
        let run_id = self.run_id;
        while !self.stop.is_cancelled() {
            let Some(claimed) = self.engine.db(move |s| s.claim_next(run_id)).await? else {
                return Ok(());
            };
            if self.stop.is_cancelled() {
                // Claimed but never sent: back to the queue.
                self.engine.db(move |s| s.requeue(&claimed)).await?;
                return Ok(());
            }
            let key = self.engine.cache_key(&claimed.provider, &claimed.model, &claimed.prompt);
            if self.use_cache
                && let Some(key) = key.clone()
                && self.answer_from_cache(&claimed, key).await?
            {
                continue;
            }
            match self.send(&claimed).await {
                Ok(Ok(answer)) => self.store_answer(claimed, answer, key).await?,
                Ok(Err(failure)) => self.store_failure(claimed, failure).await?,
                Err(interrupted) => {
                    self.engine.db(move |s| s.requeue(&claimed)).await?;
                    if let Interrupted::Offline(message) = interrupted {
                        self.offline.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(message);
                        self.stop.cancel();
                    }
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// One request through its provider client: an answer, a final failure, or an interruption.
    async fn send(&self, claimed: &ClaimedRequest) -> Result<Result<Answer, Failure>, Interrupted> {
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
        let events = self.events.clone();
        let (run_id, request_id) = (self.run_id, claimed.request_id);
        let options = CallOptions::new().cancel_with(self.stop.clone()).on_progress(move |p| {
            let _ = events.send(RunEvent::Retrying { run_id, request_id, message: p.to_string() });
        });
        let request = chat_request(&claimed.model, &claimed.prompt);
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
            Err(e) => Ok(Err(Failure { code: e.code().to_owned(), message: e.to_string() })),
        }
    }

    /// Stores the cache's answer to `claimed` if it has one (no provider
    /// call); `false` on a miss, with nothing changed.
    async fn answer_from_cache(&self, claimed: &ClaimedRequest, key: AiCacheKey) -> Result<bool, Error> {
        let (run_id, request_id) = (claimed.run_id, claimed.request_id);
        let hit = claimed.clone();
        let count = self.progress_due();
        let answered = self
            .engine
            .db(move |s| match s.answer_from_ai_cache(&hit, &key)? {
                Some(_) => Ok(Some(if count { Some(s.run_progress(run_id)?) } else { None })),
                None => Ok(None),
            })
            .await?;
        let Some(progress) = answered else {
            return Ok(false);
        };
        tracing::debug!(run_id, request_id, "answered from the response cache");
        let _ = self.events.send(RunEvent::Answered { run_id, request_id });
        self.send_progress(progress);
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
        let count = self.progress_due();
        let progress = self
            .engine
            .db(move |s| {
                match &key {
                    Some(key) => s.record_answer_and_cache(&claimed, &answer, key)?,
                    None => s.record_answer(&claimed, &answer)?,
                };
                if count { s.run_progress(run_id).map(Some) } else { Ok(None) }
            })
            .await?;
        let _ = self.events.send(RunEvent::Answered { run_id, request_id });
        self.send_progress(progress);
        Ok(())
    }

    async fn store_failure(&self, claimed: ClaimedRequest, failure: Failure) -> Result<(), Error> {
        let (run_id, request_id) = (claimed.run_id, claimed.request_id);
        let event =
            RunEvent::Failed { run_id, request_id, code: failure.code.clone(), message: failure.message.clone() };
        let count = self.progress_due();
        let progress = self
            .engine
            .db(move |s| {
                s.record_failure(&claimed, &failure)?;
                if count { s.run_progress(run_id).map(Some) } else { Ok(None) }
            })
            .await?;
        let _ = self.events.send(event);
        self.send_progress(progress);
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

    fn send_progress(&self, progress: Option<RunProgress>) {
        if let Some(progress) = progress {
            let _ = self.events.send(RunEvent::Progress { progress });
        }
    }
}
