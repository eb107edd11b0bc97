//! Many of a run's writes in one transaction ("group commit").
//!
//! A run sending at concurrency 32 claims and answers thousands of requests
//! a second. Committing each on its own made SQLite's commits the run's
//! bottleneck (issue 17: 0.13× a raw HTTP loop). The run engine queues its
//! writes instead and stores all that are waiting with
//! [`Store::write_run_batch`]. Each write still happens whole or not at all,
//! so the guarantees of [`crate::runs`] hold per
//! request: an answer is stored in the same commit that marks its item
//! answered, and a claim is committed before its request is sent.

use rusqlite::{Connection, TransactionBehavior};

use crate::ai_cache::{answer_from_cache_in, record_answer_in};
use crate::runs::{claim_in, record_failure_in, set_item_state};
use crate::{AiCacheKey, Answer, ClaimedRequest, Error, Failure, Store};

/// One write of a run, as the single-write methods of [`Store`] do it.
#[derive(Debug, Clone)]
pub enum RunWrite {
    /// Up to `max` of the run's queued requests, as [`Store::claim_next`] claims one.
    Claim { run_id: i64, max: u32 },
    /// [`Store::answer_from_ai_cache`].
    AnswerFromCache { claimed: ClaimedRequest, key: AiCacheKey },
    /// [`Store::record_answer`], or with a key [`Store::record_answer_and_cache`].
    Answer { claimed: ClaimedRequest, answer: Answer, key: Option<AiCacheKey> },
    /// [`Store::record_failure`].
    Failure { claimed: ClaimedRequest, failure: Failure },
    /// [`Store::requeue`].
    Requeue { claimed: ClaimedRequest },
}

/// What a [`RunWrite`] did, as its single-write method returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunWritten {
    /// The claimed requests in queue order; none when the run's queue is empty.
    Claimed(Vec<ClaimedRequest>),
    /// `None`: the cache had no answer (nothing changed); otherwise whether a response was stored.
    FromCache(Option<bool>),
    /// Whether the answer was stored (`false`: the request already had one).
    Answered(bool),
    /// A failure stored or a request requeued.
    Done,
}

impl Store {
    /// Applies `writes` in order in one transaction. Should one fail, the
    /// transaction is rolled back and each write is applied in one of its
    /// own, so a failed write leaves nothing behind and does not stop the
    /// others. (Savepoints per write would do the same at every commit, but
    /// each copies the pages it changes to a statement journal first, which
    /// cost a third of the writes' time.) The outer error is a
    /// transaction's that could not start or commit.
    pub fn write_run_batch(&mut self, writes: Vec<RunWrite>) -> Result<Vec<Result<RunWritten, Error>>, Error> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let together: Result<Vec<RunWritten>, Error> = writes.iter().map(|w| apply(&tx, w)).collect();
        match together {
            Ok(written) => {
                tx.commit()?;
                Ok(written.into_iter().map(Ok).collect())
            }
            Err(e) => {
                drop(tx); // rolled back: none of the writes happened
                tracing::debug!(code = e.code(), %e, "a write of a group failed: storing them one at a time");
                let mut results = Vec::with_capacity(writes.len());
                for write in writes {
                    let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let result = apply(&tx, &write);
                    if result.is_ok() {
                        tx.commit()?;
                    }
                    results.push(result);
                }
                Ok(results)
            }
        }
    }
}

fn apply(conn: &Connection, write: &RunWrite) -> Result<RunWritten, Error> {
    Ok(match write {
        RunWrite::Claim { run_id, max } => RunWritten::Claimed(claim_in(conn, *run_id, *max)?),
        RunWrite::AnswerFromCache { claimed, key } => RunWritten::FromCache(answer_from_cache_in(conn, claimed, key)?),
        RunWrite::Answer { claimed, answer, key } => {
            RunWritten::Answered(record_answer_in(conn, claimed, answer, key.as_ref())?)
        }
        RunWrite::Failure { claimed, failure } => {
            record_failure_in(conn, claimed, failure)?;
            RunWritten::Done
        }
        RunWrite::Requeue { claimed } => {
            set_item_state(conn, claimed, "queued")?;
            RunWritten::Done
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ImportOptions, ModelTarget, RequestStatus, RunStatus};

    /// A store with one run of `n` approved requests.
    fn run_of(n: usize) -> (tempfile::TempDir, Store, i64) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("data.sqlite")).unwrap();
        let jsonl: String = (0..n).map(|i| format!("{{\"q\": \"question {i}\"}}\n")).collect();
        let options = ImportOptions::new("questions", records::Format::JsonLines);
        let dataset = store.import(jsonl.as_bytes(), &options, |_| {}).unwrap();
        let template = store.create_template("ask", "{{ q }}").unwrap();
        store.generate_requests(dataset.id, template.current.id, &[ModelTarget::new("fake", "m")]).unwrap();
        store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
        let run = store.create_run(dataset.id, None).unwrap();
        (dir, store, run.run_id)
    }

    fn answer(text: &str) -> Answer {
        Answer { text: text.into(), model: "m".into(), finish_reason: None, input_tokens: None, output_tokens: None }
    }

    fn claimed(results: Vec<Result<RunWritten, Error>>) -> Vec<ClaimedRequest> {
        results
            .into_iter()
            .flat_map(|r| match r.unwrap() {
                RunWritten::Claimed(claims) => claims,
                other => panic!("expected a claim, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn claims_in_one_batch_take_different_requests() {
        let (_dir, mut store, run_id) = run_of(5);
        let writes = vec![
            RunWrite::Claim { run_id, max: 1 },
            RunWrite::Claim { run_id, max: 3 },
            RunWrite::Claim { run_id, max: 2 },
        ];
        let results = store.write_run_batch(writes).unwrap();
        let sizes: Vec<usize> = results
            .iter()
            .map(|r| match r {
                Ok(RunWritten::Claimed(claims)) => claims.len(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(sizes, [1, 3, 1], "five requests: the last claim gets what is left");
        let ids: Vec<i64> = claimed(results).iter().map(|c| c.request_id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in queue order, each once: {ids:?}");
        assert_eq!(store.run_progress(run_id).unwrap().in_flight, 5);
        let empty = store.write_run_batch(vec![RunWrite::Claim { run_id, max: 4 }]).unwrap();
        assert_eq!(empty[0].as_ref().unwrap(), &RunWritten::Claimed(vec![]));
    }

    #[test]
    fn a_failing_write_leaves_nothing_and_the_others_are_stored() {
        let (_dir, mut store, run_id) = run_of(2);
        let claims = claimed(store.write_run_batch(vec![RunWrite::Claim { run_id, max: 2 }]).unwrap());
        // A request outside the run: its response inserts, then marking its item fails.
        let dataset: i64 = store.conn.query_row("SELECT dataset_id FROM requests LIMIT 1", [], |r| r.get(0)).unwrap();
        let version: i64 = store.conn.query_row("SELECT max(id) FROM template_versions", [], |r| r.get(0)).unwrap();
        store.generate_requests(dataset, version, &[ModelTarget::new("fake", "other")]).unwrap();
        let outside: i64 =
            store.conn.query_row("SELECT id FROM requests WHERE model = 'other' LIMIT 1", [], |r| r.get(0)).unwrap();
        let stranger = ClaimedRequest { request_id: outside, ..claims[0].clone() };
        let results = store
            .write_run_batch(vec![
                RunWrite::Answer { claimed: stranger, answer: answer("lost"), key: None },
                RunWrite::Answer { claimed: claims[1].clone(), answer: answer("kept"), key: None },
            ])
            .unwrap();
        assert!(matches!(results[0], Err(Error::State(_))), "{:?}", results[0]);
        assert_eq!(results[1].as_ref().unwrap(), &RunWritten::Answered(true));
        assert_eq!(store.answer_text(run_id, claims[1].request_id).unwrap().as_deref(), Some("kept"));
        let orphans: i64 = store
            .conn
            .query_row("SELECT count(*) FROM responses WHERE request_id = ?1", [outside], |r| r.get(0))
            .unwrap();
        assert_eq!(orphans, 0, "the failed write's response was rolled back with it");
    }

    #[test]
    fn answers_failures_requeues_and_cache_hits_finish_a_run() {
        let (_dir, mut store, run_id) = run_of(4);
        let claims = claimed(store.write_run_batch(vec![RunWrite::Claim { run_id, max: 4 }]).unwrap());
        let key = AiCacheKey::of(&crate::AiCall {
            provider: "fake".into(),
            wire_format: "openai".into(),
            base_url: "http://127.0.0.1:1".into(),
            model: "m".into(),
            parameters: Default::default(),
            prompt: "question 0".into(),
            sample: 0,
        });
        let failure = Failure { code: "server_error".into(), message: "HTTP 500".into() };
        let results = store
            .write_run_batch(vec![
                RunWrite::AnswerFromCache { claimed: claims[0].clone(), key: key.clone() },
                RunWrite::Answer { claimed: claims[0].clone(), answer: answer("live"), key: Some(key.clone()) },
                RunWrite::AnswerFromCache { claimed: claims[1].clone(), key },
                RunWrite::Failure { claimed: claims[2].clone(), failure },
                RunWrite::Requeue { claimed: claims[3].clone() },
            ])
            .unwrap();
        let results: Vec<RunWritten> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            results,
            [
                RunWritten::FromCache(None),
                RunWritten::Answered(true),
                RunWritten::FromCache(Some(true)),
                RunWritten::Done,
                RunWritten::Done
            ],
            "the answer cached earlier in the batch answers a later write"
        );
        let progress = store.run_progress(run_id).unwrap();
        assert_eq!((progress.answered, progress.failed, progress.queued), (2, 1, 1));
        assert_eq!(progress.cached, Some(1));
        assert_eq!(progress.status, RunStatus::Running);
    }
}
