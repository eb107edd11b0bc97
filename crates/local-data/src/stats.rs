//! Aggregates for charts: what runs sent per day and what it cost, how each
//! provider answered, and per model and tag what a dataset's answers hold.
//!
//! Everything is summed in SQLite and shaped here, so a chart receives a few
//! dozen numbers however many responses there are. Days are the analyst's
//! local days: the caller passes its UTC offset (the webview knows it, the
//! database stores UTC milliseconds). Cost uses the list prices of
//! the price table ([`Store::price_table`]: the list prices of [`crate::PRICES`] with the
//! person's overrides); tokens of a model not priced there are counted apart
//! (`unpriced_tokens`) instead of being priced at zero silently. Answers
//! taken from the response cache count as answers but spent nothing: their
//! tokens are left out of the token and cost sums, and out of the
//! providers' figures (the provider was not asked).

use std::collections::BTreeMap;

use rusqlite::params;
use serde::Serialize;

use crate::{Error, Store};

const DAY_MS: i64 = 86_400_000;

/// The longest window a chart asks for (a year and a day, for leap years).
pub const MAX_STATS_DAYS: u32 = 366;

/// How many tags [`Store::response_stats`] returns at most (the most used first).
pub const MAX_TAGS: usize = 50;

/// Which days to aggregate, in whose time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayWindow {
    /// The last `days` local days, today included (1 to [`MAX_STATS_DAYS`]).
    pub days: u32,
    /// Minutes east of UTC of the analyst's clock (UTC+2 is 120); -840 to 840.
    pub utc_offset_minutes: i32,
    /// Now, in Unix milliseconds: the window ends with the day holding it.
    pub now_ms: i64,
}

impl DayWindow {
    /// Checks a window asked for by a caller.
    pub fn new(days: u32, utc_offset_minutes: i32, now_ms: i64) -> Result<Self, Error> {
        if days == 0 || days > MAX_STATS_DAYS {
            return Err(Error::invalid("days", format!("a chart covers 1 to {MAX_STATS_DAYS} days, not {days}")));
        }
        if !(-840..=840).contains(&utc_offset_minutes) {
            return Err(Error::invalid(
                "utcOffsetMinutes",
                format!("{utc_offset_minutes} minutes is not a UTC offset: offsets run from -840 to 840"),
            ));
        }
        Ok(Self { days, utc_offset_minutes, now_ms })
    }

    fn offset_ms(self) -> i64 {
        i64::from(self.utc_offset_minutes) * 60_000
    }

    /// The local day number (days since 1970-01-01 in local time) holding `ms`.
    fn day_of(self, ms: i64) -> i64 {
        (ms + self.offset_ms()).div_euclid(DAY_MS)
    }

    fn first_day(self) -> i64 {
        self.day_of(self.now_ms) - i64::from(self.days) + 1
    }

    /// Unix milliseconds of the local midnight starting day number `day`.
    fn start_of(self, day: i64) -> i64 {
        day * DAY_MS - self.offset_ms()
    }
}

/// One local day of runs.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayActivity {
    /// Unix milliseconds of the day's local midnight.
    pub day_start: i64,
    /// Requests answered that day.
    pub answered: u64,
    /// Requests that failed for good that day.
    pub failed: u64,
    /// Tokens spent (answers from the response cache spent none).
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// US dollars at the price table's prices, for the models it prices.
    pub cost_usd: f64,
    /// Tokens of models with no listed price (not in `cost_usd`).
    pub unpriced_tokens: u64,
}

/// How one provider answered in the window.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderActivity {
    pub provider: String,
    pub answered: u64,
    pub failed: u64,
    /// Claim to stored answer or failure (retries included), in milliseconds.
    pub median_latency_ms: Option<u64>,
    pub p95_latency_ms: Option<u64>,
}

/// What runs did over a window of days, for the Admin Dashboard.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunActivity {
    /// Every day of the window, oldest first; days with nothing sent are zeros.
    pub days: Vec<DayActivity>,
    /// Providers that answered or failed in the window, by name.
    pub providers: Vec<ProviderActivity>,
}

/// The answers of one model.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelStats {
    pub provider: String,
    pub model: String,
    pub answers: u64,
    pub failures: u64,
    /// Mean characters of an answer; `None` with no answer.
    pub mean_answer_chars: Option<f64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// US dollars at list price; `None` when the model has no listed price.
    pub cost_usd: Option<f64>,
}

/// How many responses carry a tag.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagCount {
    pub tag: String,
    pub count: u64,
}

/// The responses of a dataset per model and per tag, for the Insight Assembler.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseStats {
    /// By provider, then model.
    pub models: Vec<ModelStats>,
    /// The [`MAX_TAGS`] most used tags, most used first (ties by name).
    pub tags: Vec<TagCount>,
    /// Distinct tags in all, including those left out of `tags`.
    pub distinct_tags: u64,
}

impl Store {
    /// Responses, tokens and cost per local day of `window`, and each
    /// provider's answers, failures and latency over it.
    pub fn run_activity(&self, window: DayWindow) -> Result<RunActivity, Error> {
        let first = window.first_day();
        let since = window.start_of(first);
        let mut days: Vec<DayActivity> = (0..i64::from(window.days))
            .map(|i| DayActivity { day_start: window.start_of(first + i), ..DayActivity::default() })
            .collect();

        let mut stmt = self.conn.prepare(
            "SELECT (s.finished_at + ?2) / 86400000 AS day, q.provider, q.model,
                    count(*) FILTER (WHERE s.error_code IS NULL),
                    count(*) FILTER (WHERE s.error_code IS NOT NULL),
                    coalesce(sum(s.input_tokens) FILTER (WHERE NOT s.cached), 0), coalesce(sum(s.output_tokens) FILTER (WHERE NOT s.cached), 0)
             FROM responses s JOIN requests q ON q.id = s.request_id
             WHERE s.finished_at >= ?1
             GROUP BY day, q.provider, q.model",
        )?;
        let prices = self.price_table()?;
        let mut rows = stmt.query(params![since, window.offset_ms()])?;
        while let Some(row) = rows.next()? {
            let day: i64 = row.get(0)?;
            let Some(slot) = usize::try_from(day - first).ok().and_then(|i| days.get_mut(i)) else {
                continue; // finished "in the future" (a clock set back): not in the window
            };
            let (provider, model): (String, String) = (row.get(1)?, row.get(2)?);
            let (input, output) = (count(row.get(5)?), count(row.get(6)?));
            slot.answered += count(row.get(3)?);
            slot.failed += count(row.get(4)?);
            slot.input_tokens += input;
            slot.output_tokens += output;
            match prices.cost(&provider, &model, input, output) {
                Some(cost) => slot.cost_usd += cost,
                None => slot.unpriced_tokens += input + output,
            }
        }
        Ok(RunActivity { days, providers: self.provider_activity(since)? })
    }

    fn provider_activity(&self, since: i64) -> Result<Vec<ProviderActivity>, Error> {
        // Latencies are read in order per provider so the percentiles need no
        // second sort; a window holds at most a year of responses, one integer each.
        let mut stmt = self.conn.prepare(
            "SELECT q.provider, s.error_code IS NULL, max(s.finished_at - s.started_at, 0) AS latency
             FROM responses s JOIN requests q ON q.id = s.request_id
             WHERE s.finished_at >= ?1 AND NOT s.cached
             ORDER BY q.provider, latency",
        )?;
        let mut rows = stmt.query([since])?;
        let mut by_provider: BTreeMap<String, (ProviderActivity, Vec<u64>)> = BTreeMap::new();
        while let Some(row) = rows.next()? {
            let provider: String = row.get(0)?;
            let answered: bool = row.get(1)?;
            let latency = count(row.get(2)?);
            let (activity, latencies) = by_provider
                .entry(provider.clone())
                .or_insert_with(|| (ProviderActivity { provider, ..ProviderActivity::default() }, Vec::new()));
            if answered {
                activity.answered += 1;
            } else {
                activity.failed += 1;
            }
            latencies.push(latency);
        }
        Ok(by_provider
            .into_values()
            .map(|(mut activity, latencies)| {
                activity.median_latency_ms = percentile(&latencies, 50);
                activity.p95_latency_ms = percentile(&latencies, 95);
                activity
            })
            .collect())
    }

    /// Per model and per tag: what the responses of `dataset_id` (and
    /// `template_version_id`, if given) hold.
    pub fn response_stats(&self, dataset_id: i64, template_version_id: Option<i64>) -> Result<ResponseStats, Error> {
        self.dataset(dataset_id)?;
        let mut stmt = self.conn.prepare(
            "SELECT q.provider, q.model,
                    count(*) FILTER (WHERE s.error_code IS NULL),
                    count(*) FILTER (WHERE s.error_code IS NOT NULL),
                    avg(length(s.text)),
                    coalesce(sum(s.input_tokens) FILTER (WHERE NOT s.cached), 0), coalesce(sum(s.output_tokens) FILTER (WHERE NOT s.cached), 0)
             FROM responses s JOIN requests q ON q.id = s.request_id
             WHERE q.dataset_id = ?1 AND (?2 IS NULL OR q.template_version_id = ?2)
             GROUP BY q.provider, q.model
             ORDER BY q.provider, q.model",
        )?;
        let prices = self.price_table()?;
        let models = stmt
            .query_map(params![dataset_id, template_version_id], |row| {
                let (provider, model): (String, String) = (row.get(0)?, row.get(1)?);
                let (input_tokens, output_tokens) = (count(row.get(5)?), count(row.get(6)?));
                Ok(ModelStats {
                    cost_usd: prices.cost(&provider, &model, input_tokens, output_tokens),
                    provider,
                    model,
                    answers: count(row.get(2)?),
                    failures: count(row.get(3)?),
                    mean_answer_chars: row.get(4)?,
                    input_tokens,
                    output_tokens,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;

        let mut stmt = self.conn.prepare(
            "SELECT t.tag, count(*) AS n
             FROM response_tags t JOIN responses s ON s.id = t.response_id JOIN requests q ON q.id = s.request_id
             WHERE q.dataset_id = ?1 AND (?2 IS NULL OR q.template_version_id = ?2)
             GROUP BY t.tag
             ORDER BY n DESC, t.tag",
        )?;
        let all_tags = stmt
            .query_map(params![dataset_id, template_version_id], |row| {
                Ok(TagCount { tag: row.get(0)?, count: count(row.get(1)?) })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let distinct_tags = all_tags.len() as u64;
        let tags = all_tags.into_iter().take(MAX_TAGS).collect();
        Ok(ResponseStats { models, tags, distinct_tags })
    }
}

/// SQLite counts and sums are never negative here; a negative one (a
/// hand-edited database) reads as zero rather than failing the chart.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The nearest-rank percentile `p` of `sorted` (ascending); `None` if empty.
fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
    let n = sorted.len() as u64;
    if n == 0 {
        return None;
    }
    let rank = (p * n).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Answer, Failure, ImportOptions, Insight, ModelTarget, RequestStatus};

    /// 2025-03-10T00:00:00Z.
    const MONDAY: i64 = 1_741_564_800_000;
    const HOUR: i64 = 3_600_000;

    /// A store on a real SQLite file with `n` approved requests for each target.
    fn store_with_requests(n: usize, targets: &[ModelTarget]) -> (tempfile::TempDir, Store, i64) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("local.db")).unwrap();
        let csv: String = std::iter::once("q".to_owned())
            .chain((0..n).map(|i| format!("question {i}")))
            .collect::<Vec<_>>()
            .join("\n");
        let dataset = store.import(csv.as_bytes(), &ImportOptions::new("qs", records::Format::Csv), |_| {}).unwrap();
        let template = store.create_template("ask", "{{ q }}").unwrap();
        store.generate_requests(dataset.id, template.current.id, targets).unwrap();
        store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
        (dir, store, dataset.id)
    }

    /// Sends every approved request of a new run: an answer of `text` with
    /// 10 input and 5 output tokens, or a failure where `fail` says so.
    fn run(store: &mut Store, dataset_id: i64, text: &str, fail: impl Fn(&str) -> bool) -> i64 {
        let run = store.create_run(dataset_id, None).unwrap();
        while let Some(claimed) = store.claim_next(run.run_id).unwrap() {
            if fail(&claimed.provider) {
                let failure = Failure { code: "server_error".into(), message: "503".into() };
                store.record_failure(&claimed, &failure).unwrap();
            } else {
                let answer = Answer {
                    text: text.into(),
                    model: claimed.model.clone(),
                    finish_reason: None,
                    input_tokens: Some(10),
                    output_tokens: Some(5),
                };
                store.record_answer(&claimed, &answer).unwrap();
            }
        }
        run.run_id
    }

    /// Moves the responses of a run (of one provider, if given) to
    /// `finished_at`, the `i`th of them having taken `latency(i)` ms.
    fn place(store: &Store, run_id: i64, provider: Option<&str>, finished_at: i64, latency: impl Fn(i64) -> i64) {
        let ids: Vec<i64> = store
            .conn
            .prepare(
                "SELECT s.id FROM responses s JOIN requests q ON q.id = s.request_id
                 WHERE s.run_id = ?1 AND (?2 IS NULL OR q.provider = ?2) ORDER BY s.id",
            )
            .unwrap()
            .query_map(params![run_id, provider], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (i, id) in ids.into_iter().enumerate() {
            let started = finished_at - latency(i as i64);
            store
                .conn
                .execute(
                    "UPDATE responses SET started_at = ?2, finished_at = ?3 WHERE id = ?1",
                    params![id, started, finished_at],
                )
                .unwrap();
        }
    }

    #[test]
    fn windows_outside_the_limits_are_refused() {
        assert!(DayWindow::new(0, 0, MONDAY).is_err());
        assert!(DayWindow::new(MAX_STATS_DAYS + 1, 0, MONDAY).is_err());
        assert!(DayWindow::new(7, 841, MONDAY).is_err());
        assert!(DayWindow::new(7, -841, MONDAY).is_err());
        assert!(DayWindow::new(MAX_STATS_DAYS, -840, MONDAY).is_ok());
    }

    #[test]
    fn an_empty_database_gives_a_window_of_zero_days() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("local.db")).unwrap();
        let activity = store.run_activity(DayWindow::new(3, 0, MONDAY + HOUR).unwrap()).unwrap();
        let starts: Vec<i64> = activity.days.iter().map(|d| d.day_start).collect();
        assert_eq!(starts, [MONDAY - 2 * DAY_MS, MONDAY - DAY_MS, MONDAY], "three days ending today, oldest first");
        assert!(activity.days.iter().all(|d| d.answered == 0 && d.failed == 0 && d.cost_usd == 0.0));
        assert!(activity.providers.is_empty());
    }

    #[test]
    fn days_count_answers_tokens_and_cost_in_local_time() {
        let targets = [ModelTarget::new("openai", "gpt-4o-mini"), ModelTarget::new("local", "llama")];
        let (_dir, mut store, dataset) = store_with_requests(2, &targets);
        let first = run(&mut store, dataset, "ok", |_| false);
        // 23:30 UTC on Sunday is already Monday in UTC+2.
        place(&store, first, None, MONDAY - 30 * 60_000, |_| 100);

        let utc = store.run_activity(DayWindow::new(2, 0, MONDAY + HOUR).unwrap()).unwrap();
        let plus_two = store.run_activity(DayWindow::new(2, 120, MONDAY + HOUR).unwrap()).unwrap();

        assert_eq!(utc.days.iter().map(|d| d.answered).collect::<Vec<_>>(), [4, 0], "Sunday in UTC");
        assert_eq!(plus_two.days.iter().map(|d| d.answered).collect::<Vec<_>>(), [0, 4], "Monday in UTC+2");
        assert_eq!(plus_two.days[1].day_start, MONDAY - 2 * HOUR, "local midnight, as a UTC instant");
        let sunday = &utc.days[0];
        assert_eq!((sunday.input_tokens, sunday.output_tokens), (40, 20));
        // Two answers of gpt-4o-mini: 20 input at $0.15/M and 10 output at $0.60/M.
        let expected = (20.0 * 0.15 + 10.0 * 0.60) / 1_000_000.0;
        assert!((sunday.cost_usd - expected).abs() < 1e-12, "{}", sunday.cost_usd);
        assert_eq!(sunday.unpriced_tokens, 30, "the local model has no price: its 2 × 15 tokens are counted apart");
    }

    #[test]
    fn responses_before_the_window_are_left_out() {
        let (_dir, mut store, dataset) = store_with_requests(1, &[ModelTarget::new("openai", "gpt-4o")]);
        let old = run(&mut store, dataset, "old", |_| false);
        place(&store, old, None, MONDAY - 3 * DAY_MS, |_| 10);
        let activity = store.run_activity(DayWindow::new(3, 0, MONDAY).unwrap()).unwrap();
        assert!(activity.days.iter().all(|d| d.answered == 0), "{activity:?}");
        assert!(activity.providers.is_empty());
    }

    #[test]
    fn providers_report_failures_and_latency_percentiles() {
        let targets = [ModelTarget::new("openai", "gpt-4o-mini"), ModelTarget::new("groq", "llama-3.1-8b-instant")];
        let (_dir, mut store, dataset) = store_with_requests(20, &targets);
        let run_id = run(&mut store, dataset, "ok", |provider| provider == "groq");
        place(&store, run_id, Some("openai"), MONDAY, |i| (i + 1) * 100); // 100 … 2000 ms
        place(&store, run_id, Some("groq"), MONDAY, |i| (i + 1) * 10); // 10 … 200 ms

        let activity = store.run_activity(DayWindow::new(1, 0, MONDAY).unwrap()).unwrap();

        let [groq, openai] = activity.providers.as_slice() else { panic!("{activity:?}") };
        assert_eq!((groq.provider.as_str(), groq.answered, groq.failed), ("groq", 0, 20));
        assert_eq!((openai.provider.as_str(), openai.answered, openai.failed), ("openai", 20, 0));
        assert_eq!((openai.median_latency_ms, openai.p95_latency_ms), (Some(1000), Some(1900)));
        assert_eq!((groq.median_latency_ms, groq.p95_latency_ms), (Some(100), Some(190)), "failures count too");
        assert_eq!(activity.days[0].failed, 20);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let sorted: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&sorted, 50), Some(10));
        assert_eq!(percentile(&sorted, 95), Some(19));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn response_stats_sum_per_model_and_count_tags() {
        let targets = [ModelTarget::new("openai", "gpt-4o-mini"), ModelTarget::new("anthropic", "claude-x")];
        let (_dir, mut store, dataset) = store_with_requests(3, &targets);
        run(&mut store, dataset, "twelve chars", |provider| provider == "anthropic");
        let ids: Vec<i64> = store
            .conn
            .prepare("SELECT id FROM responses ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (i, id) in ids.iter().enumerate() {
            let tags = if i == 0 { vec!["good".to_owned(), "short".to_owned()] } else { vec!["good".to_owned()] };
            store.set_insight(*id, &Insight { tags, group: None, note: None }).unwrap();
        }

        let stats = store.response_stats(dataset, None).unwrap();

        let [anthropic, openai] = stats.models.as_slice() else { panic!("{stats:?}") };
        assert_eq!((anthropic.answers, anthropic.failures, anthropic.mean_answer_chars), (0, 3, None));
        assert_eq!(anthropic.cost_usd, None, "claude-x has no listed price");
        assert_eq!((openai.answers, openai.failures, openai.mean_answer_chars), (3, 0, Some(12.0)));
        assert_eq!((openai.input_tokens, openai.output_tokens), (30, 15));
        let expected = (30.0 * 0.15 + 15.0 * 0.60) / 1_000_000.0;
        assert!((openai.cost_usd.unwrap() - expected).abs() < 1e-12);
        assert_eq!(stats.tags, [TagCount { tag: "good".into(), count: 6 }, TagCount { tag: "short".into(), count: 1 }]);
        assert_eq!(stats.distinct_tags, 2);
        assert!(matches!(store.response_stats(dataset + 1, None), Err(Error::NotFound { .. })));
        let none = store.response_stats(dataset, Some(999)).unwrap();
        assert!(none.models.is_empty() && none.tags.is_empty(), "no responses from that template version");
    }

    #[test]
    fn the_estimate_and_the_charts_price_with_the_person_s_overrides() {
        let targets = [ModelTarget::new("openai", "gpt-4o-mini"), ModelTarget::new("ollama", "llama3.2")];
        let (_dir, mut store, dataset) = store_with_requests(3, &targets);
        let estimate = |store: &Store| store.estimate(dataset, None, Some(RequestStatus::Approved), 100).unwrap();
        let before = estimate(&store);
        let [ollama, openai] = before.as_slice() else { panic!("{before:?}") };
        assert_eq!(ollama.cost_usd, None, "a local model has no list price");
        let list = openai.cost_usd.unwrap();

        let doubled = crate::Rates {
            input: Some(0.30),
            output: Some(1.20),
            batch_input: Some(0.15),
            batch_output: Some(0.60),
            ..crate::Rates::default()
        };
        store.set_price("openai", "gpt-4o-mini", doubled).unwrap();
        let free = crate::Rates { input: Some(0.0), output: Some(0.0), ..crate::Rates::default() };
        store.set_price("ollama", "llama3.2", free).unwrap();
        let after = estimate(&store);
        let [ollama, openai] = after.as_slice() else { panic!("{after:?}") };
        assert_eq!((ollama.cost_usd, ollama.batch_cost_usd), (Some(0.0), None));
        assert!((openai.cost_usd.unwrap() - 2.0 * list).abs() < 1e-12, "{list} → {openai:?}");
        assert!((openai.batch_cost_usd.unwrap() - list).abs() < 1e-12, "half of the doubled price: {openai:?}");

        run(&mut store, dataset, "answer", |_| false);
        let per_answer = (10.0 * 0.30 + 5.0 * 1.20) / 1_000_000.0;
        let stats = store.response_stats(dataset, None).unwrap();
        let [ollama, openai] = stats.models.as_slice() else { panic!("{stats:?}") };
        assert_eq!(ollama.cost_usd, Some(0.0));
        assert!((openai.cost_usd.unwrap() - 3.0 * per_answer).abs() < 1e-12, "{openai:?}");
        let activity = store.run_activity(DayWindow::new(1, 0, crate::now_millis()).unwrap()).unwrap();
        let today = activity.days.last().unwrap();
        assert!((today.cost_usd - 3.0 * per_answer).abs() < 1e-12, "{today:?}");
        assert_eq!(today.unpriced_tokens, 0, "the local model is priced (free) now");

        store.reset_price("openai", "gpt-4o-mini").unwrap();
        let stats = store.response_stats(dataset, None).unwrap();
        let list_per_answer = (10.0 * 0.15 + 5.0 * 0.60) / 1_000_000.0;
        assert!((stats.models[1].cost_usd.unwrap() - 3.0 * list_per_answer).abs() < 1e-12, "{stats:?}");
    }
}
