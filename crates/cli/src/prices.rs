//! `augment prices list|set|reset`: the price table in the app's database
//! (`local_data`'s `prices.rs`), the one the estimates (`run start
//! --dry-run`, the Request Reviewer) and the dashboards' costs use: the
//! built-in list prices with your own per provider model on top.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use local_data::{PriceRow, Rates};
use serde::Serialize;
use serde_json::json;

use crate::output::{Render, emit, message, table};
use crate::workflow::{DataDir, usage};

#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// Every priced model: US dollars per million tokens in, out, cached in, batch in, batch out.
    List,
    /// Set your prices for a model (any provider, a local one included), in US dollars per million
    /// tokens. Rates not given keep their current value; `unknown` clears one.
    Set {
        provider: String,
        model: String,
        #[arg(long, value_parser = rate, allow_negative_numbers = true)]
        input: Option<Rate>,
        #[arg(long, value_parser = rate, allow_negative_numbers = true)]
        output: Option<Rate>,
        /// Input tokens read from the provider's prompt cache.
        #[arg(long, value_parser = rate, allow_negative_numbers = true)]
        cached_input: Option<Rate>,
        /// Input through the provider's batch API.
        #[arg(long, value_parser = rate, allow_negative_numbers = true)]
        batch_input: Option<Rate>,
        /// Output through the provider's batch API.
        #[arg(long, value_parser = rate, allow_negative_numbers = true)]
        batch_output: Option<Rate>,
    },
    /// Drop your prices for a model: its list price applies again (or none, if it has none).
    Reset { provider: String, model: String },
}

/// A rate given on the command line: a number, or `unknown`.
#[derive(Debug, Clone, Copy)]
pub struct Rate(Option<f64>);

fn rate(value: &str) -> Result<Rate, String> {
    if value.eq_ignore_ascii_case("unknown") {
        return Ok(Rate(None));
    }
    let number: f64 = value.trim_start_matches('$').parse().map_err(|_| {
        format!("`{value}` is not a price: give US dollars per million tokens, e.g. 0.15, or `unknown`")
    })?;
    Ok(Rate(Some(number)))
}

pub fn run(json: bool, dir: &DataDir, command: PricesCommand) -> Result<ExitCode> {
    let store = dir.open()?;
    match command {
        PricesCommand::List => emit(json, &PriceList(store.prices()?))?,
        PricesCommand::Set { provider, model, input, output, cached_input, batch_input, batch_output } => {
            let current = store.price_table()?.rates(provider.trim(), model.trim()).copied().unwrap_or_default();
            let pick = |given: Option<Rate>, now: Option<f64>| given.map_or(now, |r| r.0);
            let rates = Rates {
                input: pick(input, current.input),
                output: pick(output, current.output),
                cached_input: pick(cached_input, current.cached_input),
                batch_input: pick(batch_input, current.batch_input),
                batch_output: pick(batch_output, current.batch_output),
            };
            let row = store.set_price(&provider, &model, rates).map_err(refused)?;
            emit(json, &PriceSet(row))?;
        }
        PricesCommand::Reset { provider, model } => {
            let row = store.reset_price(&provider, &model).map_err(refused)?;
            let text = match &row {
                Some(row) => {
                    format!("{}/{}: back to the list price ({})", row.provider, row.model, rates_text(&row.rates))
                }
                None => format!("{}/{}: no price any more (it has no list price)", provider.trim(), model.trim()),
            };
            emit(json, &message(text, json!({ "price": row })))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A price the store refused is a usage error (exit 2); anything else stays an error.
fn refused(err: local_data::Error) -> anyhow::Error {
    match err {
        local_data::Error::Invalid { .. } => usage(err.to_string()),
        other => other.into(),
    }
}

fn shown(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |r| format!("{r}"))
}

fn rates_text(r: &Rates) -> String {
    format!(
        "in {}, out {}, cached in {}, batch in {}, batch out {} $/M tokens",
        shown(r.input),
        shown(r.output),
        shown(r.cached_input),
        shown(r.batch_input),
        shown(r.batch_output)
    )
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct PriceList(Vec<PriceRow>);

impl Render for PriceList {
    fn human(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|p| {
                let r = &p.rates;
                let source = match (p.overridden, p.default.is_some()) {
                    (false, _) => "list price",
                    (true, true) => "yours (reset for the list price)",
                    (true, false) => "yours",
                };
                vec![
                    p.provider.clone(),
                    p.model.clone(),
                    shown(r.input),
                    shown(r.output),
                    shown(r.cached_input),
                    shown(r.batch_input),
                    shown(r.batch_output),
                    source.to_owned(),
                ]
            })
            .collect();
        let mut out = String::from("US dollars per million tokens; - is unknown\n");
        out.push_str(&table(
            &["PROVIDER", "MODEL", "INPUT", "OUTPUT", "CACHED INPUT", "BATCH INPUT", "BATCH OUTPUT", "SOURCE"],
            &rows,
        ));
        out
    }
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct PriceSet(PriceRow);

impl Render for PriceSet {
    fn human(&self) -> String {
        format!("{}/{}: {}", self.0.provider, self.0.model, rates_text(&self.0.rates))
    }
}
