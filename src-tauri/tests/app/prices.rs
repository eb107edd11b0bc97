//! The price table's commands (issue 17, point 7): list, set and reset, and
//! the estimate of the Request Reviewer priced with what was set.

use serde_json::{Value, json};

use crate::common::{DataHarness, books_csv};

fn row<'a>(rows: &'a Value, provider: &str, model: &str) -> Option<&'a Value> {
    rows.as_array().unwrap().iter().find(|r| r["provider"] == provider && r["model"] == model)
}

#[test]
fn prices_are_listed_set_and_reset_and_the_estimate_uses_them() {
    let h = DataHarness::new();
    let rows = h.ok("list_prices", json!({}));
    let mini = row(&rows, "openai", "gpt-4o-mini").unwrap();
    assert_eq!(mini["overridden"], false);
    assert_eq!(mini["rates"]["batchInput"], 0.075, "{mini}");

    let saved = h.ok("save_dataset", json!({ "name": "books", "format": "csv", "text": books_csv(4) }));
    let dataset = saved["dataset"]["id"].as_i64().unwrap();
    let version = h.ok("create_template", json!({ "name": "t", "body": "About {{ title }}" }))["current"]["id"].clone();
    let targets =
        json!([{ "provider": "openai", "model": "gpt-4o-mini" }, { "provider": "ollama", "model": "llama3.2" }]);
    h.ok("generate_requests", json!({ "datasetId": dataset, "templateVersionId": version, "targets": targets }));
    let estimate = || h.ok("estimate_requests", json!({ "datasetId": dataset, "outputTokens": 100 }));
    let before = estimate();
    let list_cost = row(&before, "openai", "gpt-4o-mini").unwrap()["cost_usd"].as_f64().unwrap();
    assert_eq!(row(&before, "ollama", "llama3.2").unwrap()["cost_usd"], Value::Null);

    let rates = json!({ "input": 0.3, "output": 1.2, "cachedInput": null, "batchInput": null, "batchOutput": null });
    let set = h.ok("set_price", json!({ "provider": "openai", "model": "gpt-4o-mini", "rates": rates }));
    assert_eq!((set["overridden"].as_bool(), set["default"]["input"].as_f64()), (Some(true), Some(0.15)));
    let free = json!({ "input": 0, "output": 0, "cachedInput": null, "batchInput": null, "batchOutput": null });
    h.ok("set_price", json!({ "provider": "ollama", "model": "llama3.2", "rates": free }));
    let after = estimate();
    let mini = row(&after, "openai", "gpt-4o-mini").unwrap();
    assert!((mini["cost_usd"].as_f64().unwrap() - 2.0 * list_cost).abs() < 1e-12, "{mini}");
    assert!(mini.get("batch_cost_usd").is_none(), "no batch rate in the override: {mini}");
    assert_eq!(row(&after, "ollama", "llama3.2").unwrap()["cost_usd"], 0.0);

    let bad = json!({ "input": -1, "output": 1, "cachedInput": null, "batchInput": null, "batchOutput": null });
    let (code, message) = h.refused("set_price", json!({ "provider": "openai", "model": "gpt-4o", "rates": bad }));
    assert_eq!(code, "invalidInput", "{message}");
    assert!(message.contains("between 0 and"), "{message}");

    let reset = h.ok("reset_price", json!({ "provider": "openai", "model": "gpt-4o-mini" }));
    assert_eq!((reset["overridden"].as_bool(), reset["rates"]["input"].as_f64()), (Some(false), Some(0.15)));
    assert_eq!(h.ok("reset_price", json!({ "provider": "ollama", "model": "llama3.2" })), Value::Null, "no list price");
    let last = estimate();
    assert!((row(&last, "openai", "gpt-4o-mini").unwrap()["cost_usd"].as_f64().unwrap() - list_cost).abs() < 1e-12);
    assert!(row(&h.ok("list_prices", json!({})), "ollama", "llama3.2").is_none());
}
