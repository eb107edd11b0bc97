//! The response cache (issue 17, point 2): a request identical in provider,
//! endpoint, model, parameters and rendered prompt is answered from here
//! instead of the provider.
//!
//! Invariants:
//!
//! - **Only successful, complete answers are stored.** The only way in is
//!   with an [`Answer`] (a provider error is a [`crate::Failure`], which has
//!   no path here), written by the run engine after the provider client
//!   returned the whole answer; a cancelled or interrupted call has no
//!   `Answer`. The table's columns cannot hold an error.
//! - **Nothing is evicted silently.** Entries leave only through
//!   [`Store::prune_ai_cache`], which the person runs (a button, a CLI
//!   command); [`Store::ai_cache_size`] says what is kept.
//! - **A hit is recorded like a live answer**, in the same transaction that
//!   marks the run's item answered ([`Store::answer_from_ai_cache`]), with
//!   `cached` set: it made no provider call and costs nothing, so the
//!   spend figures (`stats`, [`Store::usage`]) leave its tokens out.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::runs::{insert_answer, set_item_state};
use crate::{Answer, ClaimedRequest, Error, Store, now_millis};

/// Everything about a provider call that can change its answer: what the
/// cache key is made of.
///
/// - `provider`: the provider id the request names.
/// - `wire_format` and `base_url`: the id alone is not enough, because
///   settings can point one id at another server (a local Ollama, then a
///   hosted OpenAI-compatible endpoint serving a model of the same name) or
///   another API; the same prompt there is a different question.
/// - `model`: as the request names it.
/// - `parameters`: every other setting sent with the call, by name:
///   temperature, max tokens, earlier messages such as a system prompt, and
///   client defaults that reach the wire (Anthropic's default max tokens).
///   The run engine fills it from the whole serialized request, so a
///   parameter added to the request later is in the key without an edit
///   here. Names are sorted and values written canonically, so the order
///   they were given in does not matter.
/// - `prompt`: the rendered (or edited) prompt, exactly as sent: one
///   character more is another question.
///
/// - `sample`: which repeat of the question this is (issue 17 point 6). A
///   run that asks a prompt several times to see whether the model answers
///   the same way needs each repeat answered on its own: sample 0's answer
///   for every repeat would make them all agree. A repeat of an identical
///   run still finds its own sample's answer. Sample 0 adds nothing to the
///   key, so keys stored before repeats existed still answer.
///
/// Not in the key: the API key (the same question asked with another key
/// has the same answer) and retry, timeout or rate-limit settings (they
/// change when an answer arrives, not what it says).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AiCall {
    pub provider: String,
    pub wire_format: String,
    pub base_url: String,
    pub model: String,
    pub parameters: BTreeMap<String, Value>,
    pub prompt: String,
    pub sample: u32,
}

/// The cache key of an [`AiCall`]: the SHA-256 of its fields, written as
/// a JSON array (strings escaped, so no two calls write the same text)
/// after a format tag that a change of this encoding must bump.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AiCacheKey(String);

impl AiCacheKey {
    /// Bumped whenever what goes into the key changes, so old entries miss
    /// instead of answering a different question.
    const FORMAT: &'static str = "augment-ai-cache/1";

    /// The key of `call`.
    pub fn of(call: &AiCall) -> AiCacheKey {
        let mut text = String::new();
        let parameters = Value::Object(call.parameters.clone().into_iter().collect());
        let mut fields = vec![
            Value::from(Self::FORMAT),
            Value::from(call.provider.as_str()),
            Value::from(call.wire_format.as_str()),
            Value::from(call.base_url.trim_end_matches('/')),
            Value::from(call.model.as_str()),
            parameters,
            Value::from(call.prompt.as_str()),
        ];
        // Appended only after the first sample, so sample 0 keeps the key it always had.
        if call.sample > 0 {
            fields.push(Value::from(call.sample));
        }
        write_canonical(&Value::Array(fields), &mut text);
        let digest = Sha256::digest(text.as_bytes());
        let mut hex = String::with_capacity(2 * digest.len());
        for byte in digest {
            use std::fmt::Write as _;
            let _ = write!(hex, "{byte:02x}"); // writing to a String cannot fail
        }
        AiCacheKey(hex)
    }

    /// The digest in lowercase hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AiCacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// JSON with object keys sorted at every level, whatever map type
/// `serde_json` was built with.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (name, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(name.as_str()).to_string());
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A stored answer and when it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiCacheEntry {
    pub answer: Answer,
    /// Unix milliseconds.
    pub stored_at: i64,
}

/// What the response cache holds.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiCacheSize {
    /// Stored answers.
    pub entries: u64,
    /// Bytes of what they hold (keys, answer text, model names), without
    /// SQLite's own page overhead.
    pub bytes: u64,
    /// When the oldest entry was stored (Unix milliseconds), if any.
    pub oldest_stored_at: Option<i64>,
}

impl Store {
    /// The stored answer for `key`, if any.
    pub fn ai_cache_get(&self, key: &AiCacheKey) -> Result<Option<AiCacheEntry>, Error> {
        cache_entry(&self.conn, key)
    }

    /// Stores `answer` as the answer to `key`, replacing an older one. Only
    /// a successful answer has this type: errors cannot be cached.
    pub fn ai_cache_put(&mut self, key: &AiCacheKey, answer: &Answer) -> Result<(), Error> {
        put(&self.conn, key, answer)
    }

    /// How many answers the cache holds and their size.
    pub fn ai_cache_size(&self) -> Result<AiCacheSize, Error> {
        let (entries, bytes, oldest): (i64, i64, Option<i64>) = self.conn.query_row(
            "SELECT count(*),
                    coalesce(sum(length(CAST(key AS BLOB)) + length(CAST(text AS BLOB)) + length(CAST(model AS BLOB))
                                 + coalesce(length(CAST(finish_reason AS BLOB)), 0)), 0),
                    min(stored_at)
             FROM ai_cache",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(AiCacheSize {
            entries: u64::try_from(entries).unwrap_or(0),
            bytes: u64::try_from(bytes).unwrap_or(0),
            oldest_stored_at: oldest,
        })
    }

    /// Removes every cached answer, or with `older_than` those stored
    /// longer ago than that. Returns how many were removed. The only way
    /// anything leaves the cache.
    pub fn prune_ai_cache(&mut self, older_than: Option<Duration>) -> Result<u64, Error> {
        let removed = match older_than {
            None => self.conn.execute("DELETE FROM ai_cache", [])?,
            Some(age) => {
                let age = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
                self.conn.execute("DELETE FROM ai_cache WHERE stored_at < ?1", [now_millis().saturating_sub(age)])?
            }
        };
        tracing::info!(removed, ?older_than, "pruned the AI response cache");
        Ok(removed as u64)
    }

    /// Answers a claimed request from the cache: when `key` has an entry,
    /// stores it as the request's response marked `cached` and marks the
    /// item answered, in one transaction (as [`Store::record_answer`]
    /// does). `None` when the cache has no answer (nothing changed);
    /// otherwise whether a response was stored (`false`: the request
    /// already had an answer).
    pub fn answer_from_ai_cache(&mut self, claimed: &ClaimedRequest, key: &AiCacheKey) -> Result<Option<bool>, Error> {
        if self.ai_cache_get(key)?.is_none() {
            // Most lookups of a live run miss: they take no write lock.
            return Ok(None);
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = answer_from_cache_in(&tx, claimed, key)?;
        tx.commit()?;
        Ok(stored)
    }

    /// [`Store::record_answer`], and the answer stored in the cache under
    /// `key` in the same transaction.
    pub fn record_answer_and_cache(
        &mut self,
        claimed: &ClaimedRequest,
        answer: &Answer,
        key: &AiCacheKey,
    ) -> Result<bool, Error> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let stored = record_answer_in(&tx, claimed, answer, Some(key))?;
        tx.commit()?;
        Ok(stored)
    }

    /// The providers of a run's unsent requests that the cache cannot
    /// answer, with `key_of` giving each request's key (from its provider,
    /// model, prompt, template schema and sample) (`None`: it cannot
    /// be answered from the cache). The engine checks only these before a
    /// run, so a run the cache answers whole makes no provider call.
    pub fn run_providers_missing_from_ai_cache(
        &self,
        run_id: i64,
        mut key_of: impl FnMut(&str, &str, &str, Option<&str>, u32) -> Option<AiCacheKey>,
    ) -> Result<std::collections::BTreeSet<String>, Error> {
        self.run_progress(run_id)?;
        let mut stmt = self.conn.prepare(
            "SELECT q.provider, q.model, coalesce(q.edited, q.rendered), v.schema, q.sample
             FROM run_items i JOIN requests q ON q.id = i.request_id
             JOIN template_versions v ON v.id = q.template_version_id
             WHERE i.run_id = ?1 AND i.state IN ('queued', 'in_flight')",
        )?;
        let mut exists = self.conn.prepare("SELECT 1 FROM ai_cache WHERE key = ?1")?;
        let mut missing = std::collections::BTreeSet::new();
        let mut rows = stmt.query([run_id])?;
        while let Some(row) = rows.next()? {
            let provider: String = row.get(0)?;
            if missing.contains(&provider) {
                continue;
            }
            let hit = match key_of(
                &provider,
                row.get_ref(1)?.as_str().unwrap_or_default(),
                row.get_ref(2)?.as_str().unwrap_or_default(),
                row.get_ref(3)?.as_str_or_null().unwrap_or_default(),
                row.get(4)?,
            ) {
                Some(key) => exists.exists([key.as_str()])?,
                None => false,
            };
            if !hit {
                missing.insert(provider);
            }
        }
        Ok(missing)
    }
}

/// The cache's entry for `key`, read through the caller's connection or transaction.
pub(crate) fn cache_entry(conn: &Connection, key: &AiCacheKey) -> Result<Option<AiCacheEntry>, Error> {
    Ok(conn
        .prepare_cached(
            "SELECT text, model, finish_reason, input_tokens, output_tokens, stored_at FROM ai_cache WHERE key = ?1",
        )?
        .query_row([key.as_str()], |r| {
            Ok(AiCacheEntry {
                answer: Answer {
                    text: r.get(0)?,
                    model: r.get(1)?,
                    finish_reason: r.get(2)?,
                    input_tokens: r.get(3)?,
                    output_tokens: r.get(4)?,
                },
                stored_at: r.get(5)?,
            })
        })
        .optional()?)
}

/// [`Store::answer_from_ai_cache`] within the caller's transaction.
pub(crate) fn answer_from_cache_in(
    conn: &Connection,
    claimed: &ClaimedRequest,
    key: &AiCacheKey,
) -> Result<Option<bool>, Error> {
    let Some(entry) = cache_entry(conn, key)? else {
        return Ok(None);
    };
    let stored = insert_answer(conn, claimed, &entry.answer, true)?;
    set_item_state(conn, claimed, "answered")?;
    Ok(Some(stored))
}

/// Stores a live answer and marks its item answered; with a key, the
/// answer goes in the cache too. Within the caller's transaction.
pub(crate) fn record_answer_in(
    conn: &Connection,
    claimed: &ClaimedRequest,
    answer: &Answer,
    key: Option<&AiCacheKey>,
) -> Result<bool, Error> {
    let stored = insert_answer(conn, claimed, answer, false)?;
    set_item_state(conn, claimed, "answered")?;
    if let Some(key) = key {
        put(conn, key, answer)?;
    }
    Ok(stored)
}

fn put(conn: &Connection, key: &AiCacheKey, answer: &Answer) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT INTO ai_cache (key, text, model, finish_reason, input_tokens, output_tokens, stored_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (key) DO UPDATE SET text = excluded.text, model = excluded.model,
             finish_reason = excluded.finish_reason, input_tokens = excluded.input_tokens,
             output_tokens = excluded.output_tokens, stored_at = excluded.stored_at",
    )?
    .execute(params![
        key.as_str(),
        answer.text,
        answer.model,
        answer.finish_reason,
        answer.input_tokens,
        answer.output_tokens,
        now_millis()
    ])?;
    Ok(())
}
