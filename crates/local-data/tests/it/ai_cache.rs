//! The response cache: its key, what it stores, size and prune.

use std::collections::BTreeSet;
use std::time::Duration;

use local_data::{AiCacheKey, AiCall, Answer, Failure, ModelTarget, RequestStatus, ResponseQuery, Store};
use records::Format;
use serde_json::json;

use crate::{import, store};

fn call() -> AiCall {
    let mut call = AiCall {
        provider: "openai".into(),
        wire_format: "openai".into(),
        base_url: "https://api.openai.com".into(),
        model: "gpt-4o-mini".into(),
        prompt: "Summarise: the cat sat on the mat.".into(),
        ..AiCall::default()
    };
    call.parameters.insert("temperature".into(), json!(0.2));
    call.parameters.insert("max_tokens".into(), json!(256));
    call
}

fn answer(text: &str) -> Answer {
    Answer {
        text: text.into(),
        model: "gpt-4o-mini-2024-07-18".into(),
        finish_reason: Some("stop".into()),
        input_tokens: Some(12),
        output_tokens: Some(7),
    }
}

/// Issue 17 point 6: each repeat of a question has a key of its own (else
/// every repeat would be answered with the first one's answer), and the
/// first keeps the key it had before repeats existed, so existing caches
/// still answer.
#[test]
fn each_sample_after_the_first_has_a_key_of_its_own() {
    let first = AiCacheKey::of(&AiCall { sample: 0, ..call() });
    assert_eq!(first.as_str(), "104dbe1537df2739a2cd04ac6bc75cdcd4431ea542d73479fc64e489ea72f99c", "unchanged");
    let keys: BTreeSet<String> =
        (0..10).map(|sample| AiCacheKey::of(&AiCall { sample, ..call() }).as_str().to_owned()).collect();
    assert_eq!(keys.len(), 10, "ten samples, ten keys");
    assert_eq!(AiCacheKey::of(&AiCall { sample: 3, ..call() }), AiCacheKey::of(&AiCall { sample: 3, ..call() }));
}

#[test]
fn the_key_is_stable_and_changes_with_everything_that_changes_the_answer() {
    let base = AiCacheKey::of(&call());
    assert_eq!(base, AiCacheKey::of(&call()), "the same call has the same key");
    assert_eq!(base.as_str().len(), 64, "a SHA-256 in hex: {base}");
    // Pinned: the same call has this key in every build and release (a change of the
    // encoding must bump AiCacheKey::FORMAT and this value with it).
    assert_eq!(base.as_str(), "104dbe1537df2739a2cd04ac6bc75cdcd4431ea542d73479fc64e489ea72f99c");

    // The order parameters are given in does not matter.
    let mut reordered = AiCall { parameters: Default::default(), ..call() };
    reordered.parameters.insert("max_tokens".into(), json!(256));
    reordered.parameters.insert("temperature".into(), json!(0.2));
    assert_eq!(AiCacheKey::of(&reordered), base);
    // A trailing slash on the base URL is the same endpoint.
    assert_eq!(AiCacheKey::of(&AiCall { base_url: "https://api.openai.com/".into(), ..call() }), base);

    let mut variants: Vec<(&str, AiCall)> = vec![
        ("provider", AiCall { provider: "groq".into(), ..call() }),
        ("wire format", AiCall { wire_format: "anthropic".into(), ..call() }),
        ("base URL", AiCall { base_url: "http://localhost:11434".into(), ..call() }),
        ("model", AiCall { model: "gpt-4o".into(), ..call() }),
        ("one prompt character", AiCall { prompt: "Summarise: the cat sat on the mat!".into(), ..call() }),
        ("a prompt's trailing space", AiCall { prompt: "Summarise: the cat sat on the mat. ".into(), ..call() }),
    ];
    let mut temperature = call();
    temperature.parameters.insert("temperature".into(), json!(0.3));
    variants.push(("temperature", temperature));
    let mut max_tokens = call();
    max_tokens.parameters.insert("max_tokens".into(), json!(257));
    variants.push(("max tokens", max_tokens));
    let mut system = call();
    system.parameters.insert("messages".into(), json!([{ "role": "system", "content": "Be terse." }]));
    variants.push(("a system prompt", system));
    let mut dropped = call();
    dropped.parameters.remove("temperature");
    variants.push(("a parameter left out", dropped));
    // Field boundaries cannot shift: provider "ab" + model "c" is not provider "a" + model "bc".
    variants.push(("fields shifted", AiCall { provider: "openaigpt-4o".into(), model: "-mini".into(), ..call() }));

    let mut seen = BTreeSet::from([base.to_string()]);
    for (what, variant) in variants {
        let key = AiCacheKey::of(&variant);
        assert_ne!(key, base, "changing the {what} must miss");
        assert!(seen.insert(key.to_string()), "changing the {what} gave a key another change gave");
    }
}

#[test]
fn an_answer_is_found_by_its_key_only() {
    let (_dir, mut store) = store();
    let key = AiCacheKey::of(&call());
    assert_eq!(store.ai_cache_get(&key).unwrap(), None, "nothing stored yet");
    store.ai_cache_put(&key, &answer("A cat on a mat.")).unwrap();

    let entry = store.ai_cache_get(&key).unwrap().expect("stored");
    assert_eq!(entry.answer, answer("A cat on a mat."), "text, model, finish reason and usage come back");
    assert!(entry.stored_at > 0);
    let other = AiCacheKey::of(&AiCall { prompt: "Summarise: the cat sat on the mat".into(), ..call() });
    assert_eq!(store.ai_cache_get(&other).unwrap(), None, "one character less misses");

    // A fresh answer to the same question replaces the old one.
    store.ai_cache_put(&key, &answer("Cat, mat.")).unwrap();
    assert_eq!(store.ai_cache_get(&key).unwrap().unwrap().answer.text, "Cat, mat.");
    assert_eq!(store.ai_cache_size().unwrap().entries, 1);
}

/// A run's answers through the store as the engine records them: successes
/// with `record_answer_and_cache`, one failure with `record_failure`.
#[test]
fn errors_are_not_cached_and_hits_are_stored_as_cached_answers_that_spend_nothing() {
    let (_dir, mut store) = store();
    let csv = "name\nAda\nGrace\nEdsger\n";
    let key_of = |prompt: &str| AiCacheKey::of(&AiCall { prompt: prompt.into(), ..call() });
    let run_dataset = |store: &mut Store, name: &str| {
        let dataset = import(store, name, Format::Csv, csv);
        let template = store.create_template(&format!("t-{name}"), "About {{ name }}").unwrap();
        store.generate_requests(dataset.id, template.current.id, &[ModelTarget::new("openai", "gpt-4o-mini")]).unwrap();
        store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
        dataset.id
    };

    let first = run_dataset(&mut store, "first");
    let run = store.create_run(first, None).unwrap();
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        let key = key_of(&claimed.prompt);
        assert_eq!(store.answer_from_ai_cache(&claimed, &key).unwrap(), None, "an empty cache answers nothing");
        if claimed.prompt.contains("Grace") {
            let failure = Failure { code: "server_error".into(), message: "HTTP 503".into() };
            store.record_failure(&claimed, &failure).unwrap();
        } else {
            assert!(store.record_answer_and_cache(&claimed, &answer(&claimed.prompt), &key).unwrap());
        }
    }
    assert_eq!(store.ai_cache_size().unwrap().entries, 2, "the two answers, not the failure");
    assert_eq!(store.ai_cache_get(&key_of("About Grace")).unwrap(), None, "the failed request is not cached");
    let spent = store.usage().unwrap();
    assert_eq!((spent.input_tokens, spent.output_tokens), (24, 14));

    // The same requests again, in another dataset: two hits, one miss.
    let second = run_dataset(&mut store, "second");
    let run = store.create_run(second, None).unwrap();
    let mut misses = Vec::new();
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        match store.answer_from_ai_cache(&claimed, &key_of(&claimed.prompt)).unwrap() {
            Some(stored) => assert!(stored),
            None => {
                misses.push(claimed.prompt.clone());
                store.requeue(&claimed).unwrap();
                break;
            }
        }
    }
    // Drain what is left after the miss (the miss is requeued and claimed again).
    while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
        match store.answer_from_ai_cache(&claimed, &key_of(&claimed.prompt)).unwrap() {
            Some(_) => {}
            None => {
                let failure = Failure { code: "server_error".into(), message: "HTTP 503".into() };
                store.record_failure(&claimed, &failure).unwrap();
            }
        }
    }
    assert_eq!(misses, ["About Grace"]);
    let progress = store.run_progress(run.run_id).unwrap();
    assert_eq!((progress.answered, progress.failed, progress.cached), (2, 1, Some(2)));

    let rows = store
        .responses(&ResponseQuery { dataset_id: second, limit: 10, include_errors: true, ..Default::default() })
        .unwrap();
    let flags: Vec<_> = rows.items.iter().map(|r| (r.prompt.as_str(), r.cached, r.text.is_some())).collect();
    assert_eq!(
        flags,
        [("About Ada", Some(true), true), ("About Grace", Some(false), false), ("About Edsger", Some(true), true)]
    );
    assert_eq!(rows.items[0].input_tokens, Some(12), "a hit keeps the usage the answer had");
    let spent_after = store.usage().unwrap();
    assert_eq!(
        (spent_after.input_tokens, spent_after.output_tokens),
        (24, 14),
        "answers from the cache spent no tokens"
    );
    assert_eq!(spent_after.responses, 6);
}

#[test]
fn size_counts_what_is_stored_and_prune_removes_all_or_only_old_entries() {
    let (dir, mut store) = store();
    assert_eq!(store.ai_cache_size().unwrap(), Default::default());
    for i in 0..5 {
        let key = AiCacheKey::of(&AiCall { prompt: format!("prompt {i}"), ..call() });
        store.ai_cache_put(&key, &answer(&"x".repeat(100))).unwrap();
    }
    let size = store.ai_cache_size().unwrap();
    assert_eq!(size.entries, 5);
    // Each entry: a 64-byte key, 100 bytes of text, the model name, "stop".
    let per_entry = 64 + 100 + "gpt-4o-mini-2024-07-18".len() as u64 + 4;
    assert_eq!(size.bytes, 5 * per_entry);
    assert!(size.oldest_stored_at.is_some());

    // Back-date two entries by ten days, as if stored then.
    let raw = rusqlite::Connection::open(dir.path().join("data.sqlite")).unwrap();
    let ten_days_ms = 10 * 86_400_000_i64;
    let changed = raw
        .execute(
            "UPDATE ai_cache SET stored_at = stored_at - ?1 WHERE key IN (SELECT key FROM ai_cache ORDER BY key LIMIT 2)",
            [ten_days_ms],
        )
        .unwrap();
    assert_eq!(changed, 2);
    drop(raw);

    let week = Duration::from_secs(7 * 86_400);
    assert_eq!(store.prune_ai_cache(Some(week)).unwrap(), 2, "only the entries older than a week");
    assert_eq!(store.ai_cache_size().unwrap().entries, 3);
    assert_eq!(store.prune_ai_cache(Some(week)).unwrap(), 0, "nothing else is that old");
    assert_eq!(store.prune_ai_cache(None).unwrap(), 3, "all");
    assert_eq!(store.ai_cache_size().unwrap(), Default::default());
}
