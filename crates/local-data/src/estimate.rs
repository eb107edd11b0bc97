//! Token and cost estimates, before anything is sent.
//!
//! Tokens are estimated as characters ÷ 4 (rounded up), OpenAI's published
//! rule of thumb for English text. An exact BPE count (`tiktoken-rs`) was not
//! used: it embeds several megabytes of vocabulary and spends noticeable time
//! loading it, and it would only be exact for OpenAI models — Anthropic and
//! the Llama models on Groq use other tokenizers, so a figure precise for one
//! provider would look falsely precise for the rest. The estimate is shown as
//! an estimate; the real counts come back in each response's usage.
//!
//! Output tokens cannot be known in advance; the caller says how many it
//! expects per answer (the UI defaults to [`DEFAULT_OUTPUT_TOKENS`]).

use serde::{Deserialize, Serialize};

/// Output tokens assumed per answer when the caller has no better figure.
pub const DEFAULT_OUTPUT_TOKENS: u64 = 256;

/// The list price of one model, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelPrice {
    pub provider: &'static str,
    pub model: &'static str,
    pub input_per_million: f64,
    pub output_per_million: f64,
}

/// List prices as the providers published them in 2025 (standard tier, no
/// batch or cache discounts). Update this table when prices change; a model
/// not listed gets token counts but no cost.
pub const PRICES: &[ModelPrice] = &[
    price("openai", "gpt-4o-mini", 0.15, 0.60),
    price("openai", "gpt-4o", 2.50, 10.00),
    price("openai", "gpt-4.1-mini", 0.40, 1.60),
    price("openai", "gpt-4.1-nano", 0.10, 0.40),
    price("openai", "gpt-4.1", 2.00, 8.00),
    price("anthropic", "claude-3-5-haiku-latest", 0.80, 4.00),
    price("anthropic", "claude-3-7-sonnet-latest", 3.00, 15.00),
    price("anthropic", "claude-sonnet-4-0", 3.00, 15.00),
    price("groq", "llama-3.1-8b-instant", 0.05, 0.08),
    price("groq", "llama-3.3-70b-versatile", 0.59, 0.79),
];

const fn price(provider: &'static str, model: &'static str, input: f64, output: f64) -> ModelPrice {
    ModelPrice { provider, model, input_per_million: input, output_per_million: output }
}

/// The listed price of `model` at `provider`, if known.
pub fn price_of(provider: &str, model: &str) -> Option<&'static ModelPrice> {
    PRICES.iter().find(|p| p.provider == provider && p.model == model)
}

/// Estimated tokens of a text: characters ÷ 4, rounded up (see the module docs for why).
pub fn estimate_tokens(text: &str) -> u64 {
    chars_to_tokens(text.chars().count() as u64)
}

pub(crate) fn chars_to_tokens(chars: u64) -> u64 {
    chars.div_ceil(4)
}

/// What sending a set of requests to one model would use and cost.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEstimate {
    pub provider: String,
    pub model: String,
    pub requests: u64,
    pub input_tokens: u64,
    /// `requests × output tokens per answer` as assumed by the caller.
    pub output_tokens: u64,
    /// US dollars; `None` when the model is not in [`PRICES`].
    pub cost_usd: Option<f64>,
}

impl ModelEstimate {
    pub(crate) fn new(provider: String, model: String, requests: u64, chars: u64, output_per_request: u64) -> Self {
        let input_tokens = chars_to_tokens(chars);
        let output_tokens = requests * output_per_request;
        let cost_usd = price_of(&provider, &model).map(|p| {
            (input_tokens as f64 * p.input_per_million + output_tokens as f64 * p.output_per_million) / 1_000_000.0
        });
        ModelEstimate { provider, model, requests, input_tokens, output_tokens, cost_usd }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_chars_over_four_rounded_up() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens("éééé"), 1, "characters, not bytes");
    }

    #[test]
    fn cost_uses_the_price_table() {
        let e = ModelEstimate::new("openai".into(), "gpt-4o-mini".into(), 10, 4_000_000, 100);
        assert_eq!(e.input_tokens, 1_000_000);
        assert_eq!(e.output_tokens, 1_000);
        let cost = e.cost_usd.unwrap();
        assert!((cost - (0.15 + 0.0006)).abs() < 1e-9, "{cost}");
        assert_eq!(ModelEstimate::new("x".into(), "y".into(), 1, 4, 1).cost_usd, None);
    }
}
