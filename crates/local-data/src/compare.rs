//! Comparing two sets of answers record by record: a baseline run against a
//! new one, or two models of the same run. Pairs are built in SQL over the
//! whole runs; whether a pair agrees is decided here (see [`answers_agree`]),
//! and the agreement filter and the summary walk every pair, so both speak
//! for the whole runs, never for one page. A page reads records from its
//! cursor on, each side's answer sought by record, so it costs its own
//! records; only a first page's summary walks them all.

use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::datasets::json_bug;
use crate::{Error, MAX_PAGE, ModelTarget, Store};

/// One side of a comparison: a run's answers, from one of its models when
/// the run sent to several.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompareSide {
    pub run_id: i64,
    /// Required when the run sent its requests to more than one model.
    pub target: Option<ModelTarget>,
}

/// Which pairs a page lists; the summary always counts them all.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairFilter {
    #[default]
    All,
    /// Both sides answered, with the same words.
    Agree,
    /// Both sides answered, with different words.
    Differ,
    /// One side has no answer for the record (not sent, or failed).
    Missing,
}

/// What to compare, and which page of pairs to list.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompareQuery {
    pub baseline: CompareSide,
    pub candidate: CompareSide,
    #[serde(default)]
    pub filter: PairFilter,
    /// The page starts after the record at this position (the previous
    /// page's `next_after`); from the first record when `None`.
    pub after: Option<u64>,
    pub limit: u32,
}

/// One side's answer to a record.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairAnswer {
    pub response_id: i64,
    pub provider: String,
    pub model: String,
    /// The answer; `None` when the request failed.
    pub text: Option<String>,
    pub error_code: Option<String>,
}

/// A record with both sides' answers.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparedPair {
    pub record_id: i64,
    pub record_position: u64,
    #[cfg_attr(feature = "ts", ts(type = "Record<string, JsonValue>"))]
    pub record: Map<String, Value>,
    pub baseline: Option<PairAnswer>,
    pub candidate: Option<PairAnswer>,
    /// Which of [`PairFilter`]'s groups the pair is in (never `All`).
    pub verdict: PairFilter,
}

/// Counts over every pair of the two sides.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CompareSummary {
    /// Records either side answered or failed.
    pub records: u64,
    pub agree: u64,
    pub differ: u64,
    pub missing: u64,
    /// `agree / (agree + differ)`; `None` when no record has both answers.
    pub agreement_rate: Option<f64>,
}

/// A page of pairs, the counts over all of them, and where the next page starts.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparePage {
    pub pairs: Vec<ComparedPair>,
    /// Counted on a first page only (`after` is `None`): the counts are the
    /// same for every page, and counting walks every record of both runs.
    pub summary: Option<CompareSummary>,
    /// Pass as [`CompareQuery::after`] for the next page; `None` on the last.
    pub next_after: Option<u64>,
}

/// Whether two answers say the same words: compared word by word, ignoring
/// case and how the words are spaced or broken over lines, because models
/// vary those between otherwise identical answers. Anything else (a
/// changed word, punctuation, number) is a difference the diff shows.
pub fn answers_agree(a: &str, b: &str) -> bool {
    let words = |text: &'_ str| text.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>();
    words(a) == words(b)
}

/// One side's answer to record `r`: its answer (the first sample's, in a
/// run with repeats), or its latest failure when it has none. `{run}`, `{provider}`, `{model}` are parameter numbers; NULL
/// provider or model matches any. `+s.run_id` keeps SQLite from reading the
/// run's every answer per record through `responses_by_run`: a record has a
/// few requests, found by `record_id`, and their answers by `request_id`.
const SIDE_PICK: &str = "SELECT s.id FROM requests q JOIN responses s ON s.request_id = q.id
    WHERE q.record_id = r.id AND +s.run_id = ?{run}
      AND (?{provider} IS NULL OR q.provider = ?{provider}) AND (?{model} IS NULL OR q.model = ?{model})
    ORDER BY s.error_code IS NOT NULL, q.sample, s.id DESC LIMIT 1";

fn side_pick(run: u8, provider: u8, model: u8) -> String {
    SIDE_PICK
        .replace("{run}", &run.to_string())
        .replace("{provider}", &provider.to_string())
        .replace("{model}", &model.to_string())
}

/// Every pair after position `?7` of dataset `?8`, in record order, read
/// record by record so a page costs its own records, not the runs';
/// `with_record` reads the record's JSON (the summary's walk does not).
fn pairs_sql(with_record: bool) -> String {
    let record = if with_record { "r.data" } else { "NULL" };
    format!(
        "SELECT r.id, r.position, {record},
                b.id, bq.provider, bq.model, b.text, b.error_code,
                c.id, cq.provider, cq.model, c.text, c.error_code
         FROM records r
         LEFT JOIN responses b ON b.id = ({b})
         LEFT JOIN requests bq ON bq.id = b.request_id
         LEFT JOIN responses c ON c.id = ({c})
         LEFT JOIN requests cq ON cq.id = c.request_id
         WHERE r.dataset_id = ?8 AND r.position > ?7 AND (b.id IS NOT NULL OR c.id IS NOT NULL)
         ORDER BY r.position",
        b = side_pick(1, 2, 3),
        c = side_pick(4, 5, 6),
    )
}

fn answer_at(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Option<PairAnswer>> {
    let Some(response_id) = row.get::<_, Option<i64>>(first)? else { return Ok(None) };
    Ok(Some(PairAnswer {
        response_id,
        provider: row.get(first + 1)?,
        model: row.get(first + 2)?,
        text: row.get(first + 3)?,
        error_code: row.get(first + 4)?,
    }))
}

fn verdict(baseline: Option<&PairAnswer>, candidate: Option<&PairAnswer>) -> PairFilter {
    match (baseline.and_then(|a| a.text.as_deref()), candidate.and_then(|a| a.text.as_deref())) {
        (Some(a), Some(b)) if answers_agree(a, b) => PairFilter::Agree,
        (Some(_), Some(_)) => PairFilter::Differ,
        _ => PairFilter::Missing,
    }
}

impl CompareSummary {
    fn count(&mut self, verdict: PairFilter) {
        self.records += 1;
        match verdict {
            PairFilter::Agree => self.agree += 1,
            PairFilter::Differ => self.differ += 1,
            PairFilter::Missing | PairFilter::All => self.missing += 1,
        }
    }

    fn finish(mut self) -> Self {
        let both = self.agree + self.differ;
        // Counts stay far below 2^52, where u64 -> f64 is exact.
        #[allow(clippy::cast_precision_loss)]
        let rate = (both > 0).then(|| self.agree as f64 / both as f64);
        self.agreement_rate = rate;
        self
    }
}

impl Store {
    /// Pairs the two sides' answers by record, over the whole runs: a page
    /// of the pairs `query.filter` keeps, and on a first page the counts of
    /// every pair.
    ///
    /// Refused when a side's run sent to several models and names none, when
    /// the runs answered different datasets, or when both sides are the same.
    pub fn compare_answers(&self, query: &CompareQuery) -> Result<ComparePage, Error> {
        if query.limit == 0 || query.limit > MAX_PAGE {
            return Err(Error::invalid(
                "limit",
                format!("a page holds 1 to {MAX_PAGE} pairs, not {}: ask for several pages", query.limit),
            ));
        }
        let dataset_id = self.check_sides(&query.baseline, &query.candidate)?;
        let side = |s: &CompareSide| {
            (s.run_id, s.target.as_ref().map(|t| t.provider.clone()), s.target.as_ref().map(|t| t.model.clone()))
        };
        let ((br, bp, bm), (cr, cp, cm)) = (side(&query.baseline), side(&query.candidate));

        let summary = if query.after.is_none() {
            let mut summary = CompareSummary::default();
            let mut walk = self.conn.prepare(&pairs_sql(false))?;
            let mut rows = walk.query(params![br, bp, bm, cr, cp, cm, -1_i64, dataset_id])?;
            while let Some(row) = rows.next()? {
                summary.count(verdict(answer_at(row, 3)?.as_ref(), answer_at(row, 8)?.as_ref()));
            }
            Some(summary.finish())
        } else {
            None
        };

        let after = query
            .after
            .map_or(Ok(-1), i64::try_from)
            .map_err(|_| Error::invalid("after", "the position is too large"))?;
        let mut pairs = Vec::new();
        let mut next_after = None;
        let mut page = self.conn.prepare(&pairs_sql(true))?;
        let mut rows = page.query(params![br, bp, bm, cr, cp, cm, after, dataset_id])?;
        while let Some(row) = rows.next()? {
            let (baseline, candidate) = (answer_at(row, 3)?, answer_at(row, 8)?);
            let verdict = verdict(baseline.as_ref(), candidate.as_ref());
            if query.filter != PairFilter::All && verdict != query.filter {
                continue;
            }
            if pairs.len() == query.limit as usize {
                next_after = pairs.last().map(|p: &ComparedPair| p.record_position);
                break;
            }
            let data: String = row.get(2)?;
            pairs.push(ComparedPair {
                record_id: row.get(0)?,
                record_position: row.get(1)?,
                record: serde_json::from_str(&data).map_err(json_bug)?,
                baseline,
                candidate,
                verdict,
            });
        }
        Ok(ComparePage { pairs, summary, next_after })
    }

    /// The dataset both sides answered, once the sides are found usable.
    fn check_sides(&self, baseline: &CompareSide, candidate: &CompareSide) -> Result<Option<i64>, Error> {
        if baseline == candidate {
            return Err(Error::invalid(
                "candidate",
                "both sides are the same answers: pick another run or model to compare with",
            ));
        }
        let (b, c) = (self.run_summary(baseline.run_id)?, self.run_summary(candidate.run_id)?);
        if b.dataset_id != c.dataset_id {
            return Err(Error::invalid(
                "candidate",
                format!(
                    "run {} and run {} answered different datasets, so their records do not pair up: compare runs over the same dataset",
                    baseline.run_id, candidate.run_id
                ),
            ));
        }
        for (field, side, targets) in [("baseline", baseline, &b.targets), ("candidate", candidate, &c.targets)] {
            match &side.target {
                None if targets.len() > 1 => {
                    let names: Vec<String> = targets.iter().map(|t| format!("{}/{}", t.provider, t.model)).collect();
                    return Err(Error::invalid(
                        field,
                        format!(
                            "run {} sent to {} models ({}): choose one of them",
                            side.run_id,
                            names.len(),
                            names.join(", ")
                        ),
                    ));
                }
                Some(target) if !targets.contains(target) => {
                    return Err(Error::invalid(
                        field,
                        format!("run {} sent nothing to {}/{}", side.run_id, target.provider, target.model),
                    ));
                }
                _ => {}
            }
        }
        Ok(b.dataset_id)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::{Store, query_plan};

    /// Each record's answers are found through its requests, not by reading
    /// every answer of the run once per record (which took minutes at 100,000).
    #[test]
    fn each_records_answers_are_sought_by_record_not_scanned_per_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("data.sqlite")).unwrap();
        let pairs = query_plan(&store, &super::pairs_sql(true));
        assert!(!pairs.contains("responses_by_run"), "{pairs}");
        assert!(pairs.contains("responses_by_request (request_id=?)"), "{pairs}");
        assert!(!pairs.contains("SCAN"), "{pairs}");
        let records = pairs.lines().next().unwrap();
        assert!(
            records.contains("(dataset_id=? AND position>?)"),
            "records are read in order from the cursor: {pairs}"
        );
    }
}
