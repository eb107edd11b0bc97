//! Batch mode (issue 17, point 3): a run sent through the providers' batch
//! APIs at their batch prices instead of one call per request.
//!
//! The run claims its queued requests, answers what the response cache can,
//! splits the rest per provider at the provider's limits
//! ([`providers::BatchLimits`]), submits each chunk and records its batch id
//! with its requests at once ([`local_data::Store::record_batch_job`]). Then
//! every open job of the run is polled with a capped back-off
//! ([`providers::PollBackoff`]) and its results are stored as it ends, each
//! with `record_answer` / `record_failure` like a live answer, and scored
//! by the run's assertions (a judge is asked live, at live prices; a stop
//! while judging leaves the answer unscored, and a resume scores it). Quitting the
//! app, a pause or a SIGKILL while polling leaves the jobs recorded and
//! their requests in flight; [`crate::Engine::resume`] polls the same jobs
//! again and never submits them twice. A cancel also asks the providers to
//! cancel the open batches (they stop processing and billing what is left);
//! a resume collects what they had answered.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use local_data::{Answer, BatchJob, ClaimedRequest, Failure, RunProgress, RunStatus};
use providers::{BatchItem, BatchLimits, BatchState, CallOptions, PollBackoff};

use crate::{Error, PAUSED_BY_YOU, Run, RunEvent, chat_request};

/// The providers whose batch APIs are spoken: OpenAI's Batch API and
/// Anthropic's Message Batches. Other OpenAI-compatible servers (Ollama,
/// vLLM, LM Studio) have no batch API.
pub const BATCH_PROVIDERS: [&str; 2] = ["openai", "anthropic"];

/// How batch runs split and poll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchSettings {
    /// The waits between polls of a batch.
    pub poll: PollBackoff,
    /// Limits to split at instead of the provider's own (tests use small ones).
    pub limits: Option<BatchLimits>,
}

/// How long a cancel waits for each provider to take a batch's cancel.
const CANCEL_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The custom id a request goes by in a batch; its results map back through it.
fn custom_id(request_id: i64) -> String {
    format!("req-{request_id}")
}

/// Why a batch run stopped before its end, when not by the person.
enum Halt {
    /// The provider could not be reached or refused a call: the run pauses with this note.
    Provider(String),
    /// The run's cancel or pause fired.
    Stopped,
}

impl crate::Engine {
    /// Asks each provider to cancel the run's open batches, so they stop
    /// processing (and billing) what is left; `on_status` gets each
    /// provider's answer as a [`RunEvent::Batch`]. The jobs stay recorded:
    /// a resume collects what they had answered. Answers the note a
    /// cancelled run keeps, which says what happened. For a run this engine
    /// is not sending (a cancel from another process); a run it sends does
    /// this itself when cancelled.
    pub async fn cancel_batches(&self, run_id: i64, mut on_status: impl FnMut(RunEvent)) -> String {
        let jobs = match self.db(move |s| s.open_batch_jobs(run_id)).await {
            Ok(jobs) => jobs,
            Err(e) => {
                return format!(
                    "cancelled by the user; its batches could not be listed ({e}): they go on at the provider and a resume collects them"
                );
            }
        };
        let mut refused = Vec::new();
        for job in &jobs {
            let Some(client) = self.clients.get(&job.provider) else {
                refused.push(format!("{} ({} is not configured)", job.remote_id, job.provider));
                continue;
            };
            let options = CallOptions::new();
            match tokio::time::timeout(CANCEL_WAIT, client.cancel_batch(&job.remote_id, &options)).await {
                Ok(Ok(status)) => on_status(RunEvent::Batch {
                    run_id,
                    provider: job.provider.clone(),
                    batch_id: job.remote_id.clone(),
                    status: status.provider_status.clone(),
                    message: format!("{} batch {}: {}", job.provider, job.remote_id, status.provider_status),
                }),
                Ok(Err(e)) => refused.push(format!("{}: {e}", job.remote_id)),
                Err(_) => refused.push(format!("{}: no answer within {} s", job.remote_id, CANCEL_WAIT.as_secs())),
            }
        }
        match (jobs.len(), refused.is_empty()) {
            (0, _) => "cancelled by the user".to_owned(),
            (n, true) => format!(
                "cancelled by the user; its {n} batch{} cancelled at the provider, and a resume collects what {} had answered",
                if n == 1 { " was" } else { "es were" },
                if n == 1 { "it" } else { "they" }
            ),
            (_, false) => format!(
                "cancelled by the user; these batches could not be cancelled at the provider and go on there (a resume collects them): {}",
                refused.join("; ")
            ),
        }
    }
}

impl Run {
    /// Submits what is queued, then collects every open batch of the run.
    pub(crate) async fn drive_batch(self: Arc<Self>) -> Result<RunProgress, Error> {
        // A pause stops polling as a cancel does; the status tells them apart.
        let pause_watch = tokio::spawn({
            let run = self.clone();
            async move {
                run.pause.cancelled().await;
                run.stop.cancel();
            }
        });
        let outcome = match self.check_unchecked().await {
            Ok(()) => match self.submit_queued().await {
                Ok(None) => self.clone().collect_open_jobs().await,
                other => other,
            },
            Err(e) => Err(e),
        };
        pause_watch.abort();
        let run_id = self.run_id;
        let (status, note) = match &outcome {
            Err(e) => (RunStatus::Paused, Some(e.to_string())),
            Ok(_) if self.cancel.is_cancelled() => (RunStatus::Cancelled, Some(self.cancel_open_jobs().await)),
            Ok(_) if self.pause.is_cancelled() => (RunStatus::Paused, Some(PAUSED_BY_YOU.to_owned())),
            Ok(Some(Halt::Provider(message))) => (RunStatus::Paused, Some(message.clone())),
            Ok(_) => {
                let progress = self.engine.db(move |s| s.run_progress(run_id)).await?;
                if progress.is_done() {
                    (RunStatus::Completed, None)
                } else {
                    (RunStatus::Paused, Some("the run's batches stopped before every result was stored".to_owned()))
                }
            }
        };
        let progress = self.engine.db(move |s| s.finish_run(run_id, status, note.as_deref())).await?;
        tracing::info!(run_id, %status, answered = progress.answered, failed = progress.failed, "batch run stopped");
        let _ = self.events.send(RunEvent::Finished { progress: progress.clone() });
        outcome.map(|_| progress)
    }

    /// The person cancelled the run: its open batches are cancelled at
    /// their providers ([`crate::Engine::cancel_batches`]).
    async fn cancel_open_jobs(&self) -> String {
        let events = self.events.clone();
        self.engine.cancel_batches(self.run_id, move |event| drop(events.send(event))).await
    }

    /// Claims the queued requests, answers the cache's, and submits the rest
    /// in batches; each batch is recorded as soon as the provider took it.
    async fn submit_queued(&self) -> Result<Option<Halt>, Error> {
        let run_id = self.run_id;
        let claimed = self.engine.db(move |s| s.claim_all_queued(run_id)).await?;
        let mut per_provider: BTreeMap<String, Vec<ClaimedRequest>> = BTreeMap::new();
        for request in claimed {
            let key = self.engine.cache_key_of(&request);
            if self.use_cache
                && let Some(key) = key
                && self.answer_from_cache(&request, key).await?
            {
                continue;
            }
            per_provider.entry(request.provider.clone()).or_default().push(request);
        }
        let mut unsent: Vec<ClaimedRequest> = Vec::new();
        let mut halt = None;
        for (provider, requests) in per_provider {
            if halt.is_some() || self.stop.is_cancelled() {
                unsent.extend(requests);
                continue;
            }
            let Some(client) = self.engine.clients.get(&provider) else {
                let failure = Failure { code: "no_client".into(), message: Error::NoClient { provider }.to_string() };
                for request in requests {
                    self.store_failure(request, failure.clone()).await?;
                }
                continue;
            };
            let items: Vec<BatchItem> = requests
                .iter()
                .map(|r| BatchItem {
                    custom_id: custom_id(r.request_id),
                    request: chat_request(&r.model, &r.prompt, r.schema.as_deref()),
                })
                .collect();
            let limits = self.engine.batch.limits.unwrap_or_else(|| BatchLimits::of(client.config().wire));
            let chunks = match client.plan_batches(&items, limits) {
                Ok(chunks) => chunks,
                Err(e) => {
                    let failure = Failure { code: e.code().to_owned(), message: e.to_string() };
                    for request in requests {
                        self.store_failure(request, failure.clone()).await?;
                    }
                    continue;
                }
            };
            let mut by_id: HashMap<String, ClaimedRequest> =
                requests.into_iter().map(|r| (custom_id(r.request_id), r)).collect();
            let options = CallOptions::new().cancel_with(self.stop.clone());
            for chunk in chunks {
                let held: Vec<ClaimedRequest> = chunk.custom_ids.iter().filter_map(|id| by_id.remove(id)).collect();
                if halt.is_some() || self.stop.is_cancelled() {
                    unsent.extend(held);
                    continue;
                }
                match client.submit_batch(&chunk, &options).await {
                    Ok(remote_id) => {
                        let ids: Vec<i64> = held.iter().map(|r| r.request_id).collect();
                        let (provider, remote) = (provider.clone(), remote_id.clone());
                        self.engine.db(move |s| s.record_batch_job(run_id, &provider, &remote, &ids)).await?;
                        let _ = self.events.send(RunEvent::Batch {
                            run_id,
                            provider: client.config().id.clone(),
                            batch_id: remote_id.clone(),
                            status: "submitted".to_owned(),
                            message: format!(
                                "{} batch {remote_id} submitted: {} requests",
                                client.config().id,
                                held.len()
                            ),
                        });
                    }
                    Err(providers::Error::Cancelled { .. }) => unsent.extend(held),
                    Err(e) => {
                        tracing::warn!(
                            run_id,
                            provider = client.config().id,
                            code = e.code(),
                            "batch not submitted: {e}"
                        );
                        halt = Some(Halt::Provider(e.to_string()));
                        unsent.extend(held);
                    }
                }
            }
            unsent.extend(by_id.into_values());
        }
        if !unsent.is_empty() {
            self.engine
                .db(move |s| {
                    for request in &unsent {
                        s.requeue(request)?;
                    }
                    Ok(())
                })
                .await?;
        }
        if self.stop.is_cancelled() && halt.is_none() {
            halt = Some(Halt::Stopped);
        }
        Ok(halt)
    }

    /// Polls every open batch of the run at once and stores each one's
    /// results as it ends.
    async fn collect_open_jobs(self: Arc<Self>) -> Result<Option<Halt>, Error> {
        let run_id = self.run_id;
        let jobs = self.engine.db(move |s| s.open_batch_jobs(run_id)).await?;
        let mut tasks = tokio::task::JoinSet::new();
        for job in jobs {
            tasks.spawn(self.clone().collect(job));
        }
        let mut halt = None;
        while let Some(done) = tasks.join_next().await {
            match done.map_err(|e| Error::Engine(e.to_string()))? {
                Ok(None) => {}
                Ok(Some(stopped)) => {
                    // One batch that cannot be reached stops the others too: the run pauses.
                    self.stop.cancel();
                    if halt.is_none() || matches!(halt, Some(Halt::Stopped)) {
                        halt = Some(stopped);
                    }
                }
                Err(e) => {
                    self.stop.cancel();
                    return Err(e);
                }
            }
        }
        Ok(halt)
    }

    /// One batch: polled until it ends, then its results stored.
    async fn collect(self: Arc<Self>, job: BatchJob) -> Result<Option<Halt>, Error> {
        let run_id = self.run_id;
        let Some(client) = self.engine.clients.get(&job.provider) else {
            return Ok(Some(Halt::Provider(Error::NoClient { provider: job.provider.clone() }.to_string())));
        };
        let options = CallOptions::new().cancel_with(self.stop.clone());
        let events = self.events.clone();
        let on_poll = |status: &providers::BatchStatus| {
            let counted = match (status.processed, status.total) {
                (Some(done), Some(total)) => format!(", {done} of {total} processed"),
                _ => String::new(),
            };
            let _ = events.send(RunEvent::Batch {
                run_id,
                provider: job.provider.clone(),
                batch_id: job.remote_id.clone(),
                status: status.provider_status.clone(),
                message: format!("{} batch {}: {}{counted}", job.provider, job.remote_id, status.provider_status),
            });
        };
        let status = match client.wait_for_batch(&job.remote_id, self.engine.batch.poll, &options, on_poll).await {
            Ok(status) => status,
            Err(providers::Error::Cancelled { .. }) => return Ok(Some(Halt::Stopped)),
            Err(e) => {
                tracing::warn!(run_id, batch = job.remote_id, code = e.code(), "batch poll failed: {e}");
                return Ok(Some(Halt::Provider(e.to_string())));
            }
        };
        let mut results: HashMap<String, Result<Answer, Failure>> = HashMap::new();
        match &status.state {
            BatchState::Ended => match client.batch_results(&status, &options).await {
                Ok(lines) => {
                    for line in lines {
                        let outcome = match line.outcome {
                            Ok(response) => Ok(Answer {
                                text: response.text,
                                model: response.model,
                                finish_reason: response.finish_reason,
                                input_tokens: response.usage.and_then(|u| u.input_tokens),
                                output_tokens: response.usage.and_then(|u| u.output_tokens),
                            }),
                            Err(e) => Err(Failure { code: e.code, message: e.message }),
                        };
                        results.insert(line.custom_id, outcome);
                    }
                }
                Err(providers::Error::Cancelled { .. }) => return Ok(Some(Halt::Stopped)),
                Err(e) => return Ok(Some(Halt::Provider(e.to_string()))),
            },
            BatchState::Failed(reason) => {
                tracing::warn!(run_id, batch = job.remote_id, %reason, "the provider failed the batch");
            }
            _ => {}
        }
        let pending = {
            let job = job.clone();
            self.engine.db(move |s| s.batch_job_pending(&job)).await?
        };
        for claimed in pending {
            match results.remove(&custom_id(claimed.request_id)) {
                Some(Ok(answer)) => {
                    let key = self.engine.cache_key_of(&claimed);
                    let (request_id, text) = (claimed.request_id, answer.text.clone());
                    self.store_answer(claimed, answer, key).await?;
                    if !self.checker.is_empty() {
                        self.check(request_id, &text).await?;
                    }
                }
                Some(Err(failure)) => self.store_failure(claimed, failure).await?,
                None => {
                    let failure = match &status.state {
                        BatchState::Failed(reason) => Failure {
                            code: "batch_failed".into(),
                            message: format!("{} refused batch {}: {reason}", job.provider, job.remote_id),
                        },
                        _ => Failure {
                            code: "batch_no_result".into(),
                            message: format!(
                                "{} batch {} ended ({}) without a result for this request; a new run sends it again",
                                job.provider, job.remote_id, status.provider_status
                            ),
                        },
                    };
                    self.store_failure(claimed, failure).await?;
                }
            }
        }
        let (job_id, final_status) = (job.id, status.provider_status.clone());
        self.engine.db(move |s| s.end_batch_job(job_id, &final_status)).await?;
        tracing::info!(run_id, batch = job.remote_id, status = status.provider_status, "batch results stored");
        Ok(None)
    }
}
