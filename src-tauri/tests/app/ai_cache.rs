//! The AI response cache's commands (issue 17, point 2): its size, and the
//! prune that is the only way an answer leaves it.

use local_data::{AiCacheKey, AiCall, Answer, Store};
use serde_json::json;

use crate::common::DataHarness;

#[test]
fn the_ai_cache_size_is_reported_and_prune_clears_old_or_all_answers() {
    let h = DataHarness::new();
    assert_eq!(h.ok("ai_cache_size", json!({})), json!({ "entries": 0, "bytes": 0, "oldestStoredAt": null }));

    // Answers stored as a run stores them, through a second connection to the app's database.
    let mut store = Store::open(h.dirs.path().join("data").join("local.db")).unwrap();
    for i in 0..3 {
        let call = AiCall {
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            prompt: format!("prompt {i}"),
            ..AiCall::default()
        };
        let answer = Answer {
            text: format!("answer {i}"),
            model: "gpt-4o-mini".into(),
            finish_reason: None,
            input_tokens: Some(3),
            output_tokens: Some(2),
        };
        store.ai_cache_put(&AiCacheKey::of(&call), &answer).unwrap();
    }
    let size = h.ok("ai_cache_size", json!({}));
    assert_eq!(size["entries"], 3);
    // Key (64) + "answer i" (8) + model (11) per entry.
    assert_eq!(size["bytes"], 3 * (64 + 8 + 11));
    assert!(size["oldestStoredAt"].as_i64().unwrap() > 0);

    assert_eq!(h.ok("prune_ai_cache", json!({ "olderThanDays": 30 })), 0, "nothing is a month old");
    let (code, message) = h.refused("prune_ai_cache", json!({ "olderThanDays": 100_000 }));
    assert_eq!(code, "invalidInput", "{message}");
    assert!(message.contains("leave it out to clear the whole cache"), "{message}");
    assert_eq!(h.ok("ai_cache_size", json!({}))["entries"], 3, "a refused prune removed nothing");

    assert_eq!(h.ok("prune_ai_cache", json!({})), 3, "without an age: all");
    assert_eq!(h.ok("ai_cache_size", json!({}))["entries"], 0);
}
