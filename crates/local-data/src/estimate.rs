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

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Output tokens assumed per answer when the caller has no better figure.
pub const DEFAULT_OUTPUT_TOKENS: u64 = 256;

// The list prices live in the `prices` crate, which the connector service
// shares without depending on this store.
pub use prices::{ModelPrice, PRICES, price_of};

/// One model's prices in US dollars per million tokens; `None` is unknown.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rates {
    pub input: Option<f64>,
    pub output: Option<f64>,
    /// Input tokens read from the provider's prompt cache.
    pub cached_input: Option<f64>,
    pub batch_input: Option<f64>,
    pub batch_output: Option<f64>,
}

impl Rates {
    pub(crate) fn of(price: &ModelPrice) -> Self {
        Rates {
            input: Some(price.input_per_million),
            output: Some(price.output_per_million),
            cached_input: price.cached_input_per_million,
            batch_input: price.batch_input_per_million,
            batch_output: price.batch_output_per_million,
        }
    }

    /// What `input_tokens` in and `output_tokens` out cost when sent one by
    /// one; `None` unless both rates are known (a half-priced figure would mislead).
    pub fn cost(&self, input_tokens: u64, output_tokens: u64) -> Option<f64> {
        cost(self.input?, self.output?, input_tokens, output_tokens)
    }

    /// The same through the provider's batch API; `None` unless both batch rates are known.
    pub fn batch_cost(&self, input_tokens: u64, output_tokens: u64) -> Option<f64> {
        cost(self.batch_input?, self.batch_output?, input_tokens, output_tokens)
    }

    /// Every rate a finite, non-negative number a person could mean.
    pub(crate) fn check(&self) -> Result<(), crate::Error> {
        for (name, rate) in [
            ("input", self.input),
            ("output", self.output),
            ("cachedInput", self.cached_input),
            ("batchInput", self.batch_input),
            ("batchOutput", self.batch_output),
        ] {
            if let Some(rate) = rate
                && !(rate.is_finite() && (0.0..=MAX_RATE).contains(&rate))
            {
                return Err(crate::Error::invalid(
                    "price",
                    format!(
                        "the {name} price must be between 0 and {MAX_RATE} US dollars per million tokens, not {rate}"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The highest rate accepted, US dollars per million tokens: far above any
/// published price, low enough that a typo (a price per token pasted as per
/// million, times a million) is caught.
pub const MAX_RATE: f64 = 10_000.0;

fn cost(input_rate: f64, output_rate: f64, input_tokens: u64, output_tokens: u64) -> Option<f64> {
    Some((input_tokens as f64 * input_rate + output_tokens as f64 * output_rate) / 1_000_000.0)
}

/// One row of the price table as the person sees it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceRow {
    pub provider: String,
    pub model: String,
    /// In effect: the override when there is one, else the default.
    pub rates: Rates,
    /// The built-in list price; `None` for a model only the person priced.
    pub default: Option<Rates>,
    /// The person's own prices replace the default (reset puts it back).
    pub overridden: bool,
}

/// The prices costs are computed with: [`PRICES`] with the person's
/// overrides on top (a whole row each).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    rates: HashMap<(String, String), Rates>,
}

impl PriceTable {
    /// The built-in list prices only.
    pub fn defaults() -> Self {
        let rates = PRICES.iter().map(|p| ((p.provider.to_owned(), p.model.to_owned()), Rates::of(p))).collect();
        PriceTable { rates }
    }

    pub(crate) fn with(mut self, provider: String, model: String, rates: Rates) -> Self {
        self.rates.insert((provider, model), rates);
        self
    }

    /// The rates of `model` at `provider`, if it is priced at all.
    pub fn rates(&self, provider: &str, model: &str) -> Option<&Rates> {
        self.rates.get(&(provider.to_owned(), model.to_owned()))
    }

    /// What the tokens cost sent one by one; `None` when not priced.
    pub fn cost(&self, provider: &str, model: &str, input_tokens: u64, output_tokens: u64) -> Option<f64> {
        self.rates(provider, model)?.cost(input_tokens, output_tokens)
    }

    /// What they cost through the batch API; `None` when no batch price is known.
    pub fn batch_cost(&self, provider: &str, model: &str, input_tokens: u64, output_tokens: u64) -> Option<f64> {
        self.rates(provider, model)?.batch_cost(input_tokens, output_tokens)
    }
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
    /// US dollars; `None` when the model has no price in the [`PriceTable`].
    pub cost_usd: Option<f64>,
    /// US dollars through the provider's batch API; `None` (left out) when
    /// no batch price is known. Host API 1.5.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub batch_cost_usd: Option<f64>,
}

impl ModelEstimate {
    /// `requests` requests to `model` of `provider` with `input_tokens` in
    /// all and `output_tokens` expected, priced with `prices`.
    pub fn priced(
        provider: String,
        model: String,
        requests: u64,
        input_tokens: u64,
        output_tokens: u64,
        prices: &PriceTable,
    ) -> Self {
        let cost_usd = prices.cost(&provider, &model, input_tokens, output_tokens);
        let batch_cost_usd = prices.batch_cost(&provider, &model, input_tokens, output_tokens);
        ModelEstimate { provider, model, requests, input_tokens, output_tokens, cost_usd, batch_cost_usd }
    }

    pub(crate) fn new(
        provider: String,
        model: String,
        requests: u64,
        chars: u64,
        output_per_request: u64,
        prices: &PriceTable,
    ) -> Self {
        Self::priced(provider, model, requests, chars_to_tokens(chars), requests * output_per_request, prices)
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
        let prices = PriceTable::defaults();
        let e = ModelEstimate::new("openai".into(), "gpt-4o-mini".into(), 10, 4_000_000, 100, &prices);
        assert_eq!(e.input_tokens, 1_000_000);
        assert_eq!(e.output_tokens, 1_000);
        let cost = e.cost_usd.unwrap();
        assert!((cost - (0.15 + 0.0006)).abs() < 1e-9, "{cost}");
        let batch = e.batch_cost_usd.unwrap();
        assert!((batch - (0.075 + 0.0003)).abs() < 1e-9, "half price through the Batch API: {batch}");
        assert_eq!(ModelEstimate::new("x".into(), "y".into(), 1, 4, 1, &prices).cost_usd, None);
        let groq = ModelEstimate::new("groq".into(), "llama-3.1-8b-instant".into(), 1, 4, 1, &prices);
        assert!(groq.cost_usd.is_some() && groq.batch_cost_usd.is_none(), "no batch rate known: no batch cost");
    }

    #[test]
    fn an_override_replaces_the_whole_row_and_half_known_rates_price_nothing() {
        let only_input = Rates { input: Some(1.0), ..Rates::default() };
        let prices = PriceTable::defaults().with("openai".into(), "gpt-4o-mini".into(), only_input);
        assert_eq!(prices.cost("openai", "gpt-4o-mini", 10, 10), None, "no output rate: not priced");
        assert_eq!(
            prices.batch_cost("openai", "gpt-4o-mini", 10, 10),
            None,
            "the default's batch rate is replaced too"
        );
        let local = Rates { input: Some(0.0), output: Some(0.0), ..Rates::default() };
        let prices = prices.with("ollama".into(), "llama3.2".into(), local);
        assert_eq!(prices.cost("ollama", "llama3.2", 1_000, 1_000), Some(0.0), "free is a price");
    }

    #[test]
    fn rates_are_checked() {
        for bad in [-0.01, f64::NAN, f64::INFINITY, MAX_RATE + 1.0] {
            let rates = Rates { batch_output: Some(bad), ..Rates::default() };
            let err = rates.check().unwrap_err().to_string();
            assert!(err.contains("batchOutput"), "{err}");
        }
        assert!(Rates { input: Some(0.0), output: Some(MAX_RATE), ..Rates::default() }.check().is_ok());
    }

    #[test]
    fn every_default_is_a_valid_row() {
        for p in PRICES {
            assert!(Rates::of(p).check().is_ok(), "{p:?}");
            let batch = (p.batch_input_per_million, p.batch_output_per_million);
            assert_eq!(batch.0.is_some(), batch.1.is_some(), "batch rates come in pairs: {p:?}");
            if let (Some(input), Some(output)) = batch {
                assert!(input < p.input_per_million && output < p.output_per_million, "a discount: {p:?}");
            }
        }
    }
}
