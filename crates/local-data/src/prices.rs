//! The price table (issue 17, point 7): the built-in list prices
//! ([`crate::PRICES`]) with the person's own prices per provider model on
//! top, kept in the `prices` table (schema 6). An override replaces its
//! model's whole row, so "unknown" can be said too; resetting deletes it and
//! the default comes back. Estimates and the charts' costs read
//! [`Store::price_table`], never the constant table alone.

use rusqlite::{OptionalExtension as _, params};

use crate::estimate::{PRICES, PriceRow, PriceTable, Rates, price_of};
use crate::{Error, Store, now_millis};

/// Longest provider id or model name accepted for a price.
const MAX_NAME_LEN: usize = 200;

impl Store {
    /// The prices costs are computed with now.
    pub fn price_table(&self) -> Result<PriceTable, Error> {
        let mut table = PriceTable::defaults();
        for (provider, model, rates) in self.price_overrides()? {
            table = table.with(provider, model, rates);
        }
        Ok(table)
    }

    /// Every priced model: the defaults, each with the override that replaces
    /// it, then the models only the person priced; by provider and model.
    pub fn prices(&self) -> Result<Vec<PriceRow>, Error> {
        let mut rows: Vec<PriceRow> = PRICES
            .iter()
            .map(|p| {
                let rates = Rates::of(p);
                PriceRow {
                    provider: p.provider.to_owned(),
                    model: p.model.to_owned(),
                    rates,
                    default: Some(rates),
                    overridden: false,
                }
            })
            .collect();
        for (provider, model, rates) in self.price_overrides()? {
            match rows.iter_mut().find(|r| r.provider == provider && r.model == model) {
                Some(row) => {
                    row.rates = rates;
                    row.overridden = true;
                }
                None => rows.push(PriceRow { provider, model, rates, default: None, overridden: true }),
            }
        }
        rows.sort_by(|a, b| (&a.provider, &a.model).cmp(&(&b.provider, &b.model)));
        Ok(rows)
    }

    /// Sets the person's prices for `model` of `provider` (replacing the
    /// default and any earlier override; `None` rates are unknown). Replies
    /// the row as it is now.
    pub fn set_price(&self, provider: &str, model: &str, rates: Rates) -> Result<PriceRow, Error> {
        let (provider, model) = (name("provider", provider)?, name("model", model)?);
        rates.check()?;
        self.conn.execute(
            "INSERT INTO prices (provider, model, input, output, cached_input, batch_input, batch_output, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (provider, model) DO UPDATE SET
                 input = excluded.input, output = excluded.output, cached_input = excluded.cached_input,
                 batch_input = excluded.batch_input, batch_output = excluded.batch_output,
                 updated_at = excluded.updated_at",
            params![
                provider,
                model,
                rates.input,
                rates.output,
                rates.cached_input,
                rates.batch_input,
                rates.batch_output,
                now_millis()
            ],
        )?;
        tracing::info!(provider, model, "price set");
        self.price_row(provider, model)
    }

    /// Removes the person's prices for `model` of `provider`: the default
    /// applies again (or, for a model without one, it is unpriced). Replies
    /// the row as it is now, `None` when the model has no price left.
    pub fn reset_price(&self, provider: &str, model: &str) -> Result<Option<PriceRow>, Error> {
        let (provider, model) = (name("provider", provider)?, name("model", model)?);
        let removed =
            self.conn.execute("DELETE FROM prices WHERE provider = ?1 AND model = ?2", params![provider, model])?;
        if removed == 0 && price_of(provider, model).is_none() {
            return Err(Error::invalid(
                "model",
                format!("{provider}/{model} has no price to reset: it has neither a default nor one of yours"),
            ));
        }
        tracing::info!(provider, model, "price reset to the default");
        match self.price_row(provider, model) {
            Ok(row) => Ok(Some(row)),
            Err(Error::Invalid { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn price_row(&self, provider: &str, model: &str) -> Result<PriceRow, Error> {
        let default = price_of(provider, model).map(Rates::of);
        let own = self
            .conn
            .query_row(
                "SELECT input, output, cached_input, batch_input, batch_output FROM prices
                 WHERE provider = ?1 AND model = ?2",
                params![provider, model],
                rates_of,
            )
            .optional()?;
        let rates =
            own.or(default).ok_or_else(|| Error::invalid("model", format!("{provider}/{model} has no price")))?;
        Ok(PriceRow {
            provider: provider.to_owned(),
            model: model.to_owned(),
            rates,
            default,
            overridden: own.is_some(),
        })
    }

    fn price_overrides(&self) -> Result<Vec<(String, String, Rates)>, Error> {
        let mut stmt = self.conn.prepare(
            "SELECT provider, model, input, output, cached_input, batch_input, batch_output FROM prices
             ORDER BY provider, model",
        )?;
        let rows = stmt.query_map([], |r| {
            let rates = Rates {
                input: r.get(2)?,
                output: r.get(3)?,
                cached_input: r.get(4)?,
                batch_input: r.get(5)?,
                batch_output: r.get(6)?,
            };
            Ok((r.get(0)?, r.get(1)?, rates))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

fn rates_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Rates> {
    Ok(Rates {
        input: r.get(0)?,
        output: r.get(1)?,
        cached_input: r.get(2)?,
        batch_input: r.get(3)?,
        batch_output: r.get(4)?,
    })
}

/// A provider id or model name, trimmed, not empty and not too long.
fn name<'a>(field: &'static str, value: &'a str) -> Result<&'a str, Error> {
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_NAME_LEN {
        return Err(Error::invalid(field, format!("the {field} of a price is 1 to {MAX_NAME_LEN} characters")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        Store::open_in_memory().unwrap()
    }

    #[test]
    fn defaults_are_listed_until_overridden_and_come_back_on_reset() {
        let store = store();
        let rows = store.prices().unwrap();
        assert_eq!(rows.len(), PRICES.len());
        assert!(rows.iter().all(|r| !r.overridden && r.default == Some(r.rates)));
        let mini = rows.iter().find(|r| r.model == "gpt-4o-mini").unwrap();
        assert_eq!(mini.rates.batch_input, Some(0.075));

        let own = Rates { input: Some(0.2), output: Some(0.8), ..Rates::default() };
        let row = store.set_price("openai", " gpt-4o-mini ", own).unwrap();
        assert!(row.overridden);
        assert_eq!(row.rates, own, "a whole row: the batch rates are unknown now");
        assert_eq!(row.default.unwrap().input, Some(0.15), "the default is still shown beside it");
        assert_eq!(store.price_table().unwrap().cost("openai", "gpt-4o-mini", 1_000_000, 0), Some(0.2));

        let back = store.reset_price("openai", "gpt-4o-mini").unwrap().unwrap();
        assert!(!back.overridden);
        assert_eq!(back.rates.input, Some(0.15));
        assert_eq!(store.price_table().unwrap(), PriceTable::defaults());
    }

    #[test]
    fn a_model_without_a_default_can_be_priced_and_reset_away() {
        let store = store();
        let free = Rates { input: Some(0.0), output: Some(0.0), ..Rates::default() };
        store.set_price("ollama", "llama3.2", free).unwrap();
        let rows = store.prices().unwrap();
        let local = rows.iter().find(|r| r.provider == "ollama").unwrap();
        assert_eq!((local.default, local.overridden), (None, true));
        assert_eq!(store.reset_price("ollama", "llama3.2").unwrap(), None, "no price left");
        assert!(store.prices().unwrap().iter().all(|r| r.provider != "ollama"));
        let err = store.reset_price("ollama", "llama3.2").unwrap_err();
        assert_eq!(err.code(), "invalid_input");
    }

    #[test]
    fn bad_prices_are_refused_and_change_nothing() {
        let store = store();
        let bad = Rates { input: Some(-1.0), output: Some(1.0), ..Rates::default() };
        assert_eq!(store.set_price("openai", "gpt-4o", bad).unwrap_err().code(), "invalid_input");
        let ok = Rates { input: Some(1.0), ..Rates::default() };
        assert!(store.set_price(" ", "gpt-4o", ok).is_err());
        assert!(store.set_price("openai", &"m".repeat(201), ok).is_err());
        assert!(store.prices().unwrap().iter().all(|r| !r.overridden));
    }
}
