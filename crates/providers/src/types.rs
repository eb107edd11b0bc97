use serde::{Deserialize, Serialize};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions; Anthropic receives these as its `system` field.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
}

impl Message {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message { role: Role::User, content: content.into() }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message { role: Role::System, content: content.into() }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message { role: Role::Assistant, content: content.into() }
    }
}

/// A chat request, the same for every wire format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatRequest {
    /// The model id, e.g. `gpt-4o-mini`, `claude-3-5-haiku-latest`.
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Upper bound on the answer's length in tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// A JSON Schema (of an object) the answer must fit: sent as OpenAI's
    /// `response_format: json_schema` (strict; OpenAI-compatible servers
    /// such as Ollama, vLLM and LM Studio take the same), or as an
    /// Anthropic tool the model is made to call, whose input is the answer.
    /// Either way [`ChatResponse::text`] is the answer's JSON text. Left out
    /// of the serialized request when `None`, so requests without one keep
    /// the response-cache keys they had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<serde_json::Value>,
}

impl ChatRequest {
    /// One user prompt to `model`.
    pub fn new(model: impl Into<String>, prompt: impl Into<String>) -> Self {
        Self::with_messages(model, vec![Message::user(prompt)])
    }

    /// A request with a whole conversation.
    pub fn with_messages(model: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest { model: model.into(), messages, max_tokens: None, temperature: None, schema: None }
    }

    /// The same request asking for an answer that fits `schema` (see [`ChatRequest::schema`]).
    #[must_use]
    pub fn with_schema(mut self, schema: Option<serde_json::Value>) -> Self {
        self.schema = schema;
        self
    }
}

/// Token counts, when the provider reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens in the prompt.
    pub input_tokens: Option<u32>,
    /// Tokens in the answer.
    pub output_tokens: Option<u32>,
}

/// A complete (non-streamed) answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatResponse {
    /// The answer text.
    pub text: String,
    /// The model that answered, as the provider names it.
    pub model: String,
    /// Why it stopped (`stop`, `end_turn`, `length` …).
    pub finish_reason: Option<String>,
    /// Token counts.
    pub usage: Option<Usage>,
}

/// One item of a streamed answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
#[non_exhaustive]
pub enum StreamEvent {
    /// More answer text.
    Delta {
        /// The new text.
        text: String,
    },
    /// The answer is complete; nothing follows.
    Done {
        /// Why it stopped.
        finish_reason: Option<String>,
        /// Token counts, if reported.
        usage: Option<Usage>,
    },
}

/// A model the provider offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelInfo {
    /// The id to put in a request.
    pub id: String,
    /// A friendlier name, if the provider has one (Anthropic).
    pub display_name: Option<String>,
    /// The owner, if the provider says (OpenAI-compatible).
    pub owned_by: Option<String>,
}
