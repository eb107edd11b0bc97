//! The AI providers' list prices per model, in US dollars per million
//! tokens: the defaults of the desktop's price table (`local-data`, where a
//! person overrides them per model) and what the connector service prices
//! the provider calls it makes with (`connector_provider_cost_usd_total`).
//! A crate of its own so the connector needs neither SQLite nor the store.

use serde::Serialize;

/// The list price of one model, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelPrice {
    pub provider: &'static str,
    pub model: &'static str,
    pub input_per_million: f64,
    pub output_per_million: f64,
    /// Input tokens read from the provider's prompt cache; `None`: not published.
    pub cached_input_per_million: Option<f64>,
    /// Input and output through the provider's batch API; `None`: no batch API known.
    pub batch_input_per_million: Option<f64>,
    pub batch_output_per_million: Option<f64>,
}

/// List prices as the providers published them in 2025 (standard tier). The
/// defaults of the price table: the person's own prices
/// (local-data's `Store::set_price`) override them per model.
/// Cached input is OpenAI's cached-input rate and Anthropic's cache-read
/// rate; batch is OpenAI's Batch API and Anthropic's Message Batches (half
/// price). Groq's are left unknown: not known for certain. A model not listed
/// gets token counts but no cost.
pub const PRICES: &[ModelPrice] = &[
    price("openai", "gpt-4o-mini", 0.15, 0.60, Some(0.075), Some((0.075, 0.30))),
    price("openai", "gpt-4o", 2.50, 10.00, Some(1.25), Some((1.25, 5.00))),
    price("openai", "gpt-4.1-mini", 0.40, 1.60, Some(0.10), Some((0.20, 0.80))),
    price("openai", "gpt-4.1-nano", 0.10, 0.40, Some(0.025), Some((0.05, 0.20))),
    price("openai", "gpt-4.1", 2.00, 8.00, Some(0.50), Some((1.00, 4.00))),
    price("anthropic", "claude-3-5-haiku-latest", 0.80, 4.00, Some(0.08), Some((0.40, 2.00))),
    price("anthropic", "claude-3-7-sonnet-latest", 3.00, 15.00, Some(0.30), Some((1.50, 7.50))),
    price("anthropic", "claude-sonnet-4-0", 3.00, 15.00, Some(0.30), Some((1.50, 7.50))),
    price("groq", "llama-3.1-8b-instant", 0.05, 0.08, None, None),
    price("groq", "llama-3.3-70b-versatile", 0.59, 0.79, None, None),
];

const fn price(
    provider: &'static str,
    model: &'static str,
    input: f64,
    output: f64,
    cached_input: Option<f64>,
    batch: Option<(f64, f64)>,
) -> ModelPrice {
    let (batch_input, batch_output) = match batch {
        Some((input, output)) => (Some(input), Some(output)),
        None => (None, None),
    };
    ModelPrice {
        provider,
        model,
        input_per_million: input,
        output_per_million: output,
        cached_input_per_million: cached_input,
        batch_input_per_million: batch_input,
        batch_output_per_million: batch_output,
    }
}

/// The listed (default) price of `model` at `provider`, if known. What a
/// cost is computed with in the desktop is local-data's `PriceTable`, the
/// defaults with the person's overrides.
pub fn price_of(provider: &str, model: &str) -> Option<&'static ModelPrice> {
    PRICES.iter().find(|p| p.provider == provider && p.model == model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_model_has_its_price_and_an_unlisted_one_none() {
        let mini = price_of("openai", "gpt-4o-mini").expect("listed");
        assert_eq!((mini.input_per_million, mini.output_per_million), (0.15, 0.60));
        assert_eq!(price_of("openai", "no-such-model"), None);
        assert_eq!(price_of("anthropic", "gpt-4o-mini"), None, "per provider");
    }
}
