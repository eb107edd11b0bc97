//! The two wire formats: request bodies, answers, stream events, error bodies
//! and model lists. Parsing is tolerant of extra fields so that
//! OpenAI-compatible servers with extensions (Groq's `x_groq`, Ollama …) work.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::WireFormat;
use crate::types::{ChatRequest, ChatResponse, ModelInfo, Role, StreamEvent, Usage};

pub(crate) fn chat_path(wire: WireFormat) -> &'static str {
    match wire {
        WireFormat::OpenAi => "v1/chat/completions",
        WireFormat::Anthropic => "v1/messages",
    }
}

/// Anthropic pages its model list 20 at a time by default; 1000 is its maximum
/// and far more models than it offers, so one page is the whole list.
pub(crate) fn models_path(wire: WireFormat) -> &'static str {
    match wire {
        WireFormat::OpenAi => "v1/models",
        WireFormat::Anthropic => "v1/models?limit=1000",
    }
}

/// The name under which a schema is sent: OpenAI's `json_schema.name`,
/// Anthropic's forced tool.
pub(crate) const SCHEMA_NAME: &str = "answer";

pub(crate) fn request_body(wire: WireFormat, req: &ChatRequest, stream: bool, default_max_tokens: u32) -> Value {
    match wire {
        WireFormat::OpenAi => {
            let mut body = json!({
                "model": req.model,
                "messages": req.messages,
                "stream": stream,
            });
            if let Some(n) = req.max_tokens {
                body["max_tokens"] = json!(n);
            }
            if let Some(t) = req.temperature {
                body["temperature"] = json!(t);
            }
            if let Some(schema) = &req.schema {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": { "name": SCHEMA_NAME, "schema": schema, "strict": true },
                });
            }
            body
        }
        WireFormat::Anthropic => {
            // Anthropic takes instructions in a top-level `system` field, not as a message.
            let system: Vec<&str> =
                req.messages.iter().filter(|m| m.role == Role::System).map(|m| m.content.as_str()).collect();
            let messages: Vec<&crate::Message> = req.messages.iter().filter(|m| m.role != Role::System).collect();
            let mut body = json!({
                "model": req.model,
                "messages": messages,
                "max_tokens": req.max_tokens.unwrap_or(default_max_tokens),
                "stream": stream,
            });
            if !system.is_empty() {
                body["system"] = json!(system.join("\n\n"));
            }
            if let Some(t) = req.temperature {
                body["temperature"] = json!(t);
            }
            if let Some(schema) = &req.schema {
                // Anthropic's structured output: one tool, which the model must call;
                // its input (the tool_use block) is the answer.
                body["tools"] = json!([{
                    "name": SCHEMA_NAME,
                    "description": "Give the answer in this structure.",
                    "input_schema": schema,
                }]);
                body["tool_choice"] = json!({ "type": "tool", "name": SCHEMA_NAME });
            }
            body
        }
    }
}

#[derive(Deserialize)]
struct OpenAiAnswer {
    model: Option<String>,
    choices: Vec<OpenAiChoice>,
    usage: Option<OpenAiUsage>,
}

#[derive(Deserialize)]
struct OpenAiChoice {
    message: Option<OpenAiMessage>,
    delta: Option<OpenAiMessage>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiMessage {
    content: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
struct OpenAiUsage {
    prompt_tokens: Option<u32>,
    completion_tokens: Option<u32>,
}

impl From<OpenAiUsage> for Usage {
    fn from(u: OpenAiUsage) -> Self {
        Usage { input_tokens: u.prompt_tokens, output_tokens: u.completion_tokens }
    }
}

#[derive(Deserialize)]
struct AnthropicAnswer {
    model: Option<String>,
    content: Vec<AnthropicBlock>,
    stop_reason: Option<String>,
    usage: Option<AnthropicUsage>,
}

#[derive(Deserialize)]
struct AnthropicBlock {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
    /// A `tool_use` block's arguments: the answer of a request with a schema.
    input: Option<Value>,
}

#[derive(Deserialize, Clone, Copy, Default)]
struct AnthropicUsage {
    input_tokens: Option<u32>,
    output_tokens: Option<u32>,
}

fn short(e: &serde_json::Error) -> String {
    format!("invalid JSON: {e}")
}

pub(crate) fn parse_answer(wire: WireFormat, body: &[u8], requested_model: &str) -> Result<ChatResponse, String> {
    match wire {
        WireFormat::OpenAi => {
            let a: OpenAiAnswer = serde_json::from_slice(body).map_err(|e| short(&e))?;
            let choice = a.choices.into_iter().next().ok_or("the answer has no choices")?;
            Ok(ChatResponse {
                text: choice.message.and_then(|m| m.content).unwrap_or_default(),
                model: a.model.unwrap_or_else(|| requested_model.to_owned()),
                finish_reason: choice.finish_reason,
                usage: a.usage.map(Usage::from),
            })
        }
        WireFormat::Anthropic => {
            let a: AnthropicAnswer = serde_json::from_slice(body).map_err(|e| short(&e))?;
            // A forced tool's input is the structured answer; otherwise the text blocks are.
            let tool_input = a.content.iter().find(|b| b.kind == "tool_use").and_then(|b| b.input.as_ref());
            let text = match tool_input {
                Some(input) => input.to_string(),
                None => a.content.into_iter().filter(|b| b.kind == "text").filter_map(|b| b.text).collect::<String>(),
            };
            Ok(ChatResponse {
                text,
                model: a.model.unwrap_or_else(|| requested_model.to_owned()),
                finish_reason: a.stop_reason,
                usage: a.usage.map(|u| Usage { input_tokens: u.input_tokens, output_tokens: u.output_tokens }),
            })
        }
    }
}

/// An error the provider reported: `{"error": {"message", "type", "code"}}` (OpenAI)
/// or `{"type": "error", "error": {"type", "message"}}` (Anthropic).
#[derive(Debug, Default, Clone)]
pub(crate) struct ProviderError {
    pub(crate) message: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) code: Option<String>,
}

impl ProviderError {
    /// Whether it is about the model (so a 404 means "no such model", not "wrong URL").
    pub(crate) fn is_about_model(&self) -> bool {
        self.code.as_deref() == Some("model_not_found")
            || self.message.as_deref().is_some_and(|m| m.to_ascii_lowercase().contains("model"))
    }
}

pub(crate) fn parse_error(body: &[u8]) -> Option<ProviderError> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error")?;
    // Some OpenAI-compatible servers send `{"error": "text"}`.
    if let Some(text) = error.as_str() {
        return Some(ProviderError { message: Some(text.to_owned()), ..ProviderError::default() });
    }
    let text = |k: &str| error.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(ProviderError { message: text("message"), kind: text("type"), code: text("code") })
}

/// What a stream event meant.
pub(crate) enum StreamStep {
    /// Something for the caller.
    Emit(StreamEvent),
    /// Bookkeeping only (pings, block starts, usage).
    Nothing,
    /// The provider reported an error inside the stream.
    ProviderError(ProviderError),
}

/// Turns SSE events into [`StreamEvent`]s, remembering what the final `Done` needs.
#[derive(Default)]
pub(crate) struct StreamParser {
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl StreamParser {
    pub(crate) fn step(&mut self, wire: WireFormat, event: &str, data: &str) -> Result<StreamStep, String> {
        match wire {
            WireFormat::OpenAi => self.openai(data),
            WireFormat::Anthropic => self.anthropic(event, data),
        }
    }

    fn done(&mut self) -> StreamStep {
        StreamStep::Emit(StreamEvent::Done { finish_reason: self.finish_reason.take(), usage: self.usage.take() })
    }

    fn openai(&mut self, data: &str) -> Result<StreamStep, String> {
        let data = data.trim();
        if data == "[DONE]" {
            return Ok(self.done());
        }
        if data.is_empty() {
            return Ok(StreamStep::Nothing);
        }
        let value: Value = serde_json::from_str(data).map_err(|e| short(&e))?;
        if value.get("error").is_some() {
            return Ok(StreamStep::ProviderError(parse_error(data.as_bytes()).unwrap_or_default()));
        }
        #[derive(Deserialize)]
        struct Chunk {
            #[serde(default)]
            choices: Vec<OpenAiChoice>,
            usage: Option<OpenAiUsage>,
        }
        let chunk: Chunk = serde_json::from_value(value).map_err(|e| short(&e))?;
        if let Some(u) = chunk.usage {
            self.usage = Some(u.into());
        }
        let Some(choice) = chunk.choices.into_iter().next() else {
            return Ok(StreamStep::Nothing);
        };
        if choice.finish_reason.is_some() {
            self.finish_reason = choice.finish_reason;
        }
        match choice.delta.and_then(|d| d.content) {
            Some(text) if !text.is_empty() => Ok(StreamStep::Emit(StreamEvent::Delta { text })),
            _ => Ok(StreamStep::Nothing),
        }
    }

    fn anthropic(&mut self, event: &str, data: &str) -> Result<StreamStep, String> {
        let value: Value = serde_json::from_str(data).map_err(|e| short(&e))?;
        // The `type` inside the data is authoritative; the SSE event name repeats it.
        let kind = value.get("type").and_then(Value::as_str).unwrap_or(event);
        match kind {
            "content_block_delta" => {
                let delta = &value["delta"];
                // A forced tool's input arrives as `input_json_delta` pieces: the structured answer's text.
                let text = match delta["type"].as_str() {
                    Some("text_delta") => delta["text"].as_str(),
                    Some("input_json_delta") => delta["partial_json"].as_str(),
                    _ => None,
                };
                match text {
                    Some(text) if !text.is_empty() => {
                        Ok(StreamStep::Emit(StreamEvent::Delta { text: text.to_owned() }))
                    }
                    _ => Ok(StreamStep::Nothing),
                }
            }
            "message_start" => {
                let u: AnthropicUsage = serde_json::from_value(value["message"]["usage"].clone()).unwrap_or_default();
                self.usage = Some(Usage { input_tokens: u.input_tokens, output_tokens: u.output_tokens });
                Ok(StreamStep::Nothing)
            }
            "message_delta" => {
                if let Some(reason) = value["delta"]["stop_reason"].as_str() {
                    self.finish_reason = Some(reason.to_owned());
                }
                if let Some(out) = value["usage"]["output_tokens"].as_u64() {
                    let usage = self.usage.get_or_insert_with(Usage::default);
                    usage.output_tokens = u32::try_from(out).ok();
                }
                Ok(StreamStep::Nothing)
            }
            "message_stop" => Ok(self.done()),
            "error" => Ok(StreamStep::ProviderError(parse_error(data.as_bytes()).unwrap_or_default())),
            // ping, content_block_start, content_block_stop, and future event types.
            _ => Ok(StreamStep::Nothing),
        }
    }
}

pub(crate) fn parse_models(wire: WireFormat, body: &[u8]) -> Result<Vec<ModelInfo>, String> {
    #[derive(Deserialize)]
    struct List {
        data: Vec<Entry>,
    }
    #[derive(Deserialize)]
    struct Entry {
        id: String,
        display_name: Option<String>,
        owned_by: Option<String>,
    }
    let list: List = serde_json::from_slice(body).map_err(|e| short(&e))?;
    Ok(list
        .data
        .into_iter()
        .map(|e| ModelInfo {
            id: e.id,
            display_name: if wire == WireFormat::Anthropic { e.display_name } else { None },
            owned_by: e.owned_by,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    #[test]
    fn anthropic_body_moves_system_messages_and_sets_max_tokens() {
        let req = ChatRequest::with_messages("claude", vec![Message::system("be brief"), Message::user("hi")]);
        let body = request_body(WireFormat::Anthropic, &req, true, 1024);
        assert_eq!(body["system"], "be brief");
        assert_eq!(body["max_tokens"], 1024);
        assert_eq!(body["stream"], true);
        assert_eq!(body["messages"], json!([{"role": "user", "content": "hi"}]));
    }

    #[test]
    fn openai_body_keeps_system_messages_and_omits_unset_fields() {
        let req = ChatRequest::with_messages("gpt", vec![Message::system("s"), Message::user("u")]);
        let body = request_body(WireFormat::OpenAi, &req, false, 1024);
        assert_eq!(body["messages"][0]["role"], "system");
        assert!(body.get("max_tokens").is_none());
        assert!(body.get("temperature").is_none());
    }

    #[test]
    fn a_schema_goes_as_openai_json_schema_and_as_a_forced_anthropic_tool() {
        let schema = json!({"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]});
        let req = ChatRequest::new("m", "rate it").with_schema(Some(schema.clone()));
        let openai = request_body(WireFormat::OpenAi, &req, false, 1024);
        assert_eq!(
            openai["response_format"],
            json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": true}})
        );
        let anthropic = request_body(WireFormat::Anthropic, &req, false, 1024);
        assert_eq!(anthropic["tools"][0]["input_schema"], schema);
        assert_eq!(anthropic["tool_choice"], json!({"type": "tool", "name": "answer"}));
        let plain = ChatRequest::new("m", "rate it");
        assert!(request_body(WireFormat::OpenAi, &plain, false, 1024).get("response_format").is_none());
        assert!(request_body(WireFormat::Anthropic, &plain, false, 1024).get("tools").is_none());
    }

    #[test]
    fn an_anthropic_tool_use_block_is_the_answer_text() {
        let body = br#"{"model":"claude","content":[{"type":"tool_use","id":"t1","name":"answer","input":{"score":7}}],"stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":4}}"#;
        let answer = parse_answer(WireFormat::Anthropic, body, "claude").unwrap();
        assert_eq!(answer.text, r#"{"score":7}"#);
        assert_eq!(answer.finish_reason.as_deref(), Some("tool_use"));
    }

    #[test]
    fn openai_stream_events() {
        let mut p = StreamParser::default();
        let step = |p: &mut StreamParser, d: &str| p.step(WireFormat::OpenAi, "", d).unwrap();
        assert!(matches!(
            step(&mut p, r#"{"choices":[{"delta":{"role":"assistant","content":""}}]}"#),
            StreamStep::Nothing
        ));
        assert!(matches!(
            step(&mut p, r#"{"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}"#),
            StreamStep::Emit(StreamEvent::Delta { text }) if text == "Hi"
        ));
        step(&mut p, r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#);
        step(&mut p, r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#);
        match step(&mut p, "[DONE]") {
            StreamStep::Emit(StreamEvent::Done { finish_reason, usage }) => {
                assert_eq!(finish_reason.as_deref(), Some("stop"));
                assert_eq!(usage.unwrap().output_tokens, Some(1));
            }
            _ => panic!("[DONE] must finish the stream"),
        }
        assert!(matches!(
            step(&mut p, r#"{"error":{"message":"overloaded","type":"server_error"}}"#),
            StreamStep::ProviderError(e) if e.message.as_deref() == Some("overloaded")
        ));
        assert!(p.step(WireFormat::OpenAi, "", "{not json").is_err());
    }

    #[test]
    fn anthropic_stream_events() {
        let mut p = StreamParser::default();
        let mut step = |e: &str, d: &str| p.step(WireFormat::Anthropic, e, d).unwrap();
        step("message_start", r#"{"type":"message_start","message":{"usage":{"input_tokens":7,"output_tokens":1}}}"#);
        assert!(matches!(step("ping", r#"{"type":"ping"}"#), StreamStep::Nothing));
        assert!(matches!(
            step("content_block_delta", r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}"#),
            StreamStep::Emit(StreamEvent::Delta { text }) if text == "Hel"
        ));
        assert!(matches!(
            step(
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{"}}"#
            ),
            StreamStep::Emit(StreamEvent::Delta { text }) if text == "{"
        ));
        step(
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}"#,
        );
        match step("message_stop", r#"{"type":"message_stop"}"#) {
            StreamStep::Emit(StreamEvent::Done { finish_reason, usage }) => {
                assert_eq!(finish_reason.as_deref(), Some("end_turn"));
                assert_eq!(usage, Some(Usage { input_tokens: Some(7), output_tokens: Some(9) }));
            }
            _ => panic!("message_stop must finish the stream"),
        }
        assert!(matches!(
            step("error", r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
            StreamStep::ProviderError(e) if e.kind.as_deref() == Some("overloaded_error")
        ));
    }

    #[test]
    fn error_bodies() {
        let e = parse_error(br#"{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#).unwrap();
        assert!(e.is_about_model());
        let e =
            parse_error(br#"{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}"#).unwrap();
        assert!(e.is_about_model());
        let e = parse_error(br#"{"error":"model \"llama9\" not found, try pulling it first"}"#).unwrap();
        assert!(e.is_about_model());
        assert!(parse_error(b"<html>404 Not Found</html>").is_none());
        assert!(!parse_error(br#"{"error":{"message":"no route"}}"#).unwrap().is_about_model());
    }

    #[test]
    fn model_lists() {
        let openai = parse_models(
            WireFormat::OpenAi,
            br#"{"object":"list","data":[{"id":"gpt-4o","object":"model","owned_by":"openai"}]}"#,
        )
        .unwrap();
        assert_eq!(openai[0].id, "gpt-4o");
        assert_eq!(openai[0].owned_by.as_deref(), Some("openai"));
        let anthropic = parse_models(
            WireFormat::Anthropic,
            br#"{"data":[{"type":"model","id":"claude-x","display_name":"Claude X"}],"has_more":false}"#,
        )
        .unwrap();
        assert_eq!(anthropic[0].display_name.as_deref(), Some("Claude X"));
        assert!(parse_models(WireFormat::OpenAi, b"[]").is_err());
    }
}
