//! Structured output (issue 17, point 5): a template version may carry a
//! JSON Schema; the providers are asked for JSON that fits it, and every
//! answer to it is validated here when it is stored.
//!
//! - A schema is checked when it is saved ([`check_schema`]): it must be
//!   JSON, valid against its JSON Schema meta-schema (the `jsonschema`
//!   crate; an error names the path of the problem in the schema), and
//!   describe an object (`"type": "object"`): the providers' structured
//!   modes (OpenAI's `json_schema`, Anthropic's tool `input_schema`) take
//!   only objects, and the object's top-level properties become columns.
//! - No `$ref` is fetched from anywhere (the crate is built without its
//!   HTTP and file resolvers), so validating never reaches the network.
//! - An answer is validated against the schema ([`validate_answer`]): valid
//!   or not, the first [`MAX_SCHEMA_ERRORS`] problems with their paths, and
//!   its top-level fields when it is a JSON object, even an invalid one (a
//!   field that is there is still worth a column).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;
use crate::templates::body_within_limit;

/// The most problems kept per invalid answer.
pub const MAX_SCHEMA_ERRORS: usize = 5;

/// One way an answer does not fit its schema.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaIssue {
    /// JSON Pointer to the part of the answer at fault (`""`: the whole answer).
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

/// What validating one answer against its schema found.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaCheck {
    pub valid: bool,
    /// Empty when valid; at most [`MAX_SCHEMA_ERRORS`].
    pub issues: Vec<SchemaIssue>,
    /// The answer's top-level fields, when it is a JSON object.
    pub fields: Option<Map<String, Value>>,
}

/// Parses and checks a schema a person gives a template version. The
/// error says where the problem is: the line and column of a JSON syntax
/// error, the JSON Pointer of a part that is not valid JSON Schema.
pub fn check_schema(text: &str) -> Result<Value, Error> {
    body_within_limit("schema", text)?;
    let schema: Value = serde_json::from_str(text).map_err(|e| Error::Schema {
        path: String::new(),
        message: format!("it is not JSON (line {}, column {}): {e}", e.line(), e.column()),
    })?;
    if let Err(e) = jsonschema::validator_for(&schema) {
        return Err(Error::Schema { path: e.instance_path().to_string(), message: e.to_string() });
    }
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(Error::Schema {
            path: "/type".to_owned(),
            message: "the schema must describe an object (\"type\": \"object\" with \"properties\"): \
                      providers' structured output only returns objects"
                .to_owned(),
        });
    }
    Ok(schema)
}

/// The top-level property names of a schema, sorted by name (a stable
/// column order whatever order the schema lists them in).
pub fn schema_properties(schema: &Value) -> Vec<String> {
    let mut names: Vec<String> =
        schema.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default();
    names.sort();
    names
}

/// What OpenAI's strict structured output refuses in a schema that JSON
/// Schema allows: every object must list all its properties in `required`
/// and set `"additionalProperties": false`. Advice, not errors: other
/// providers take the schema as it is.
pub fn strict_mode_notes(schema: &Value) -> Vec<String> {
    let mut notes = Vec::new();
    strict_notes_at(schema, "", &mut notes);
    notes
}

fn strict_notes_at(schema: &Value, path: &str, notes: &mut Vec<String>) {
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let at = if path.is_empty() { "the schema".to_owned() } else { format!("`{path}`") };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map_or_else(Vec::new, |r| r.iter().filter_map(Value::as_str).collect());
        let optional: Vec<&str> = properties.keys().map(String::as_str).filter(|k| !required.contains(k)).collect();
        if !optional.is_empty() {
            notes.push(format!(
                "{at}: OpenAI's strict mode needs every property in \"required\" (missing: {}); make one optional with a \"null\" type instead",
                optional.join(", ")
            ));
        }
        if schema.get("additionalProperties") != Some(&Value::Bool(false)) {
            notes.push(format!("{at}: OpenAI's strict mode needs \"additionalProperties\": false"));
        }
        for (name, property) in properties {
            strict_notes_at(property, &format!("{path}/properties/{name}"), notes);
        }
    }
    if let Some(items) = schema.get("items") {
        strict_notes_at(items, &format!("{path}/items"), notes);
    }
}

/// Validates an answer against `schema` (text already checked by
/// [`check_schema`] when it was saved). An answer wrapped in a Markdown code
/// fence (```json … ```), as models without a structured mode often write
/// it, is read inside the fence.
pub fn validate_answer(schema: &str, answer: &str) -> SchemaCheck {
    let invalid = |path: &str, message: String| SchemaCheck {
        valid: false,
        issues: vec![SchemaIssue { path: path.to_owned(), message }],
        fields: None,
    };
    let value: Value = match serde_json::from_str(unfenced(answer)) {
        Ok(value) => value,
        Err(e) => {
            return invalid("", format!("the answer is not JSON (line {}, column {}): {e}", e.line(), e.column()));
        }
    };
    let fields = value.as_object().cloned();
    let schema: Value = match serde_json::from_str(schema) {
        Ok(schema) => schema,
        Err(e) => return invalid("", format!("the template's schema is not JSON: {e}")),
    };
    let validator = match jsonschema::validator_for(&schema) {
        Ok(validator) => validator,
        Err(e) => return invalid("", format!("the template's schema is not valid: {e}")),
    };
    let issues: Vec<SchemaIssue> = validator
        .iter_errors(&value)
        .take(MAX_SCHEMA_ERRORS)
        .map(|e| SchemaIssue { path: e.instance_path().to_string(), message: e.to_string() })
        .collect();
    SchemaCheck { valid: issues.is_empty(), issues, fields }
}

/// The text inside a leading and trailing Markdown code fence, if the
/// answer is one; the answer itself otherwise.
pub(crate) fn unfenced(answer: &str) -> &str {
    let trimmed = answer.trim();
    let Some(rest) = trimmed.strip_prefix("```") else { return answer };
    let Some(inner) = rest.strip_suffix("```") else { return answer };
    // The info string (`json`) runs to the end of the first line.
    inner.split_once('\n').map_or(inner, |(_, body)| body)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SCHEMA: &str = r#"{"type":"object","properties":{"name":{"type":"string"},"score":{"type":"integer","minimum":0,"maximum":10}},"required":["name","score"]}"#;

    #[test]
    fn a_valid_schema_is_accepted_and_its_properties_listed() {
        let schema = check_schema(SCHEMA).unwrap();
        let mut properties = schema_properties(&schema);
        properties.sort();
        assert_eq!(properties, ["name", "score"]);
    }

    #[test]
    fn an_invalid_schema_is_refused_with_the_path_of_the_problem() {
        let e = check_schema(r#"{"type":"object","properties":{"score":{"type":"integr"}}}"#).unwrap_err();
        match &e {
            Error::Schema { path, .. } => assert_eq!(path, "/properties/score/type"),
            other => panic!("not a schema error: {other:?}"),
        }
        assert!(e.to_string().contains("/properties/score/type"), "{e}");

        let e = check_schema(r#"{"type":"object","properties":{"n":{"minimum":"ten"}}}"#).unwrap_err();
        assert!(matches!(&e, Error::Schema { path, .. } if path == "/properties/n/minimum"), "{e:?}");

        let e = check_schema("{\"type\":\n\"object\",}").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");

        let e = check_schema(r#"{"type":"array","items":{"type":"string"}}"#).unwrap_err();
        assert!(matches!(&e, Error::Schema { path, .. } if path == "/type"), "{e:?}");
        assert_eq!(e.code(), "invalid_schema");
    }

    #[test]
    fn answers_are_validated_with_paths_and_fields() {
        let ok = validate_answer(SCHEMA, r#"{"name":"Ada","score":7}"#);
        assert!(ok.valid);
        assert!(ok.issues.is_empty());
        assert_eq!(ok.fields.unwrap()["score"], json!(7));

        let out_of_range = validate_answer(SCHEMA, r#"{"name":"Ada","score":11}"#);
        assert!(!out_of_range.valid);
        assert_eq!(out_of_range.issues[0].path, "/score");
        assert!(out_of_range.issues[0].message.contains("11"), "{:?}", out_of_range.issues);
        assert_eq!(out_of_range.fields.unwrap()["name"], json!("Ada"), "fields of an invalid object are kept");

        let missing = validate_answer(SCHEMA, r#"{"name":"Ada"}"#);
        assert!(!missing.valid);
        assert!(missing.issues[0].message.contains("score"), "{:?}", missing.issues);

        let not_json = validate_answer(SCHEMA, "Sure! Here it is: {name: Ada}");
        assert!(!not_json.valid);
        assert_eq!(not_json.issues[0].path, "");
        assert!(not_json.issues[0].message.starts_with("the answer is not JSON"), "{:?}", not_json.issues);
        assert_eq!(not_json.fields, None);

        let fenced = validate_answer(SCHEMA, "```json\n{\"name\":\"Ada\",\"score\":3}\n```");
        assert!(fenced.valid, "{:?}", fenced.issues);
    }

    #[test]
    fn strict_mode_notes_name_what_openai_would_refuse() {
        let loose = check_schema(SCHEMA).unwrap();
        let notes = strict_mode_notes(&loose);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("additionalProperties"), "{notes:?}");
        let nested: Value = serde_json::json!({"type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"type": "object", "properties": {"b": {"type": "string"}}}}});
        let notes = strict_mode_notes(&nested);
        assert!(notes.iter().any(|n| n.starts_with("`/properties/a`") && n.contains("missing: b")), "{notes:?}");
    }

    #[test]
    fn at_most_a_few_problems_are_kept() {
        let schema = r#"{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"string"},"d":{"type":"string"},"e":{"type":"string"},"f":{"type":"string"}}}"#;
        let check = validate_answer(schema, r#"{"a":1,"b":1,"c":1,"d":1,"e":1,"f":1}"#);
        assert_eq!(check.issues.len(), MAX_SCHEMA_ERRORS);
    }
}
