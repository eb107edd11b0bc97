//! Answers to requests that carry a JSON Schema: JSON made to fit it, or
//! made not to (`[fake:misfit]`). Enough of JSON Schema for the shapes
//! structured output uses (objects of typed properties, enums, arrays,
//! numeric bounds); a keyword it does not know is ignored.

use serde_json::{Map, Value, json};

use crate::wire::Wire;

/// The schema a request asks its answer to fit, in either wire format.
pub(crate) fn requested_schema(wire: Wire, request: &Value) -> Option<Value> {
    match wire {
        Wire::OpenAi => {
            let format = &request["response_format"];
            (format["type"] == "json_schema").then(|| format["json_schema"]["schema"].clone())
        }
        Wire::Anthropic => {
            let forced =
                request["tool_choice"]["name"].as_str().filter(|_| request["tool_choice"]["type"] == "tool")?;
            let tools = request["tools"].as_array()?;
            tools.iter().find(|t| t["name"] == forced).map(|t| t["input_schema"].clone())
        }
    }
}

/// The tool an Anthropic request forces, whose `tool_use` block carries the answer.
pub(crate) fn forced_tool(request: &Value) -> Option<&str> {
    request["tool_choice"]["name"].as_str()
}

/// A value that fits `schema`, strings taken from `prompt`.
pub(crate) fn fitting(schema: &Value, prompt: &str) -> Value {
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    match type_of(schema) {
        "object" => {
            let properties = schema["properties"].as_object().cloned().unwrap_or_default();
            Value::Object(properties.iter().map(|(name, s)| (name.clone(), fitting(s, prompt))).collect())
        }
        "array" => {
            let count = schema["minItems"].as_u64().unwrap_or(1).max(1);
            Value::Array((0..count).map(|_| fitting(&schema["items"], prompt)).collect())
        }
        "integer" => json!(clamp(schema, words(prompt) as f64).round() as i64),
        "number" => json!(clamp(schema, words(prompt) as f64 + 0.5)),
        "boolean" => json!(true),
        "null" => Value::Null,
        _ => {
            let max = schema["maxLength"].as_u64().map_or(usize::MAX, |m| m as usize);
            json!(prompt.chars().take(max).collect::<String>())
        }
    }
}

/// An object with every property of `schema` given a value of the wrong type.
pub(crate) fn misfit(schema: &Value) -> Value {
    let properties = schema["properties"].as_object().cloned().unwrap_or_default();
    if properties.is_empty() {
        return json!(["not", "an", "object"]);
    }
    let wrong = |s: &Value| match type_of(s) {
        "string" => json!(42),
        "array" | "object" => json!("a string"),
        _ => json!("not a number"),
    };
    Value::Object(properties.iter().map(|(name, s)| (name.clone(), wrong(s))).collect::<Map<_, _>>())
}

/// The schema's type, the first non-null one of a list; `object` when it has properties.
fn type_of(schema: &Value) -> &str {
    match &schema["type"] {
        Value::String(t) => t,
        Value::Array(types) => types.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    }
}

fn clamp(schema: &Value, n: f64) -> f64 {
    let min = schema["minimum"].as_f64().unwrap_or(f64::MIN);
    let max = schema["maximum"].as_f64().unwrap_or(f64::MAX);
    n.max(min).min(max)
}

fn words(text: &str) -> usize {
    text.split_whitespace().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_fit_typed_bounded_and_enumerated_properties() {
        let schema = json!({"type": "object", "properties": {
            "label": {"type": "string", "maxLength": 5},
            "score": {"type": "integer", "minimum": 0, "maximum": 3},
            "mood": {"enum": ["happy", "sad"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "maybe": {"type": ["null", "boolean"]}
        }});
        let answer = fitting(&schema, "Rate this lovely review please");
        assert_eq!(
            answer,
            json!({"label": "Rate ", "score": 3, "mood": "happy", "tags": ["Rate this lovely review please"], "maybe": true})
        );
        let wrong = misfit(&schema);
        assert_eq!(wrong["label"], 42);
        assert_eq!(wrong["score"], "not a number");
    }
}
