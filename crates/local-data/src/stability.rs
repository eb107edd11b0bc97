//! Stability of a run with repeats (issue 17, point 6): a run that asked
//! each prompt several times (`runs.repeats`, samples `0..repeats`, each a
//! request with its own answer) is read record by record: a record is
//! *stable* when every sample was answered and all the answers agree
//! ([`answers_agree`], the comparison's rule). The counts walk every record
//! of the run in SQL order and are decided here, so the rate and the page
//! of unstable records speak for the whole run, never for one page.

use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::datasets::typed_record;
use crate::{Error, MAX_PAGE, ModelTarget, Store, answers_agree};

/// Which run (and model) to read, and which page of unstable records to list.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StabilityQuery {
    pub run_id: i64,
    /// Required when the run sent its requests to more than one model.
    pub target: Option<ModelTarget>,
    /// The page starts after the record at this position (the previous
    /// page's `next_after`); from the first record when `None`.
    pub after: Option<u64>,
    pub limit: u32,
}

/// One sample's answer to a record.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleAnswer {
    /// 0 for the first time the prompt was asked.
    pub sample: u32,
    pub request_id: i64,
    /// `None` while the sample has no response (not sent yet).
    pub response_id: Option<i64>,
    /// The answer; `None` when the request failed or was not answered.
    pub text: Option<String>,
    pub error_code: Option<String>,
}

/// A record whose samples were all answered, not all alike.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnstableRecord {
    pub record_id: i64,
    pub record_position: u64,
    #[cfg_attr(feature = "ts", ts(type = "Record<string, JsonValue>"))]
    pub record: Map<String, Value>,
    /// Every sample's answer, in sample order.
    pub samples: Vec<SampleAnswer>,
}

/// Counts over every record of the run (for one model).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StabilitySummary {
    /// How many times the run asked each prompt.
    pub repeats: u32,
    /// Records the run asked about.
    pub records: u64,
    /// Records with every sample answered (the ones stability is measured on).
    pub complete: u64,
    /// Complete records whose answers all agree.
    pub stable: u64,
    /// Complete records with at least two answers that differ.
    pub unstable: u64,
    /// `stable / complete`; `None` when no record is complete.
    pub stability_rate: Option<f64>,
}

/// A page of unstable records, the counts over the whole run, and where the next page starts.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StabilityPage {
    /// The model the samples were asked of.
    pub target: ModelTarget,
    /// Counted on a first page only (`after` is `None`): the counts are the
    /// same for every page, and counting walks every record of the run.
    pub summary: Option<StabilitySummary>,
    pub unstable: Vec<UnstableRecord>,
    /// Pass as [`StabilityQuery::after`] for the next page; `None` on the last.
    pub next_after: Option<u64>,
}

/// Every sample of the run's records after position `?6`, in record then
/// sample order: the records of dataset `?1` that the run holds a request
/// of (`?7`) for template version `?2` and model `?3`/`?4`, and their
/// samples `0..?5`, each with its answer, else its latest failure (whichever
/// run stored it: a request has one answer). Records are read from the
/// cursor through `(dataset_id, position)`, samples through the requests'
/// unique index, so a page costs its own records.
const SAMPLES: &str = "SELECT r.id, r.position, q.sample, q.id, s.id, s.text, s.error_code
    FROM records r
    JOIN requests q ON q.record_id = r.id AND q.template_version_id = ?2 AND q.provider = ?3 AND q.model = ?4
                   AND q.sample < ?5
    LEFT JOIN responses s ON s.id = (SELECT a.id FROM responses a WHERE a.request_id = q.id
                                     ORDER BY a.error_code IS NOT NULL, a.id DESC LIMIT 1)
    WHERE r.dataset_id = ?1 AND r.position > ?6
      AND EXISTS (SELECT 1 FROM requests o JOIN run_items i ON i.run_id = ?7 AND i.request_id = o.id
                  WHERE o.record_id = r.id AND o.template_version_id = ?2 AND o.provider = ?3 AND o.model = ?4)
    ORDER BY r.position, q.sample";

/// Where a record's samples stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// A sample is missing, failed or not answered yet.
    Incomplete,
    Stable,
    Unstable,
}

/// `samples` of one record against the run's `repeats`.
fn verdict(samples: &[SampleAnswer], repeats: u32) -> Verdict {
    let texts: Vec<&str> = samples.iter().filter_map(|s| s.text.as_deref()).collect();
    if texts.len() != repeats as usize {
        return Verdict::Incomplete;
    }
    // Agreement is equality of the answers' words, so agreeing with the first is agreeing with all.
    match texts.split_first() {
        Some((first, rest)) if rest.iter().all(|t| answers_agree(first, t)) => Verdict::Stable,
        _ => Verdict::Unstable,
    }
}

/// One record's samples as they are read.
struct RecordSamples {
    record_id: i64,
    position: u64,
    samples: Vec<SampleAnswer>,
}

impl StabilitySummary {
    fn count(&mut self, verdict: Verdict) {
        self.records += 1;
        match verdict {
            Verdict::Incomplete => {}
            Verdict::Stable => {
                self.complete += 1;
                self.stable += 1;
            }
            Verdict::Unstable => {
                self.complete += 1;
                self.unstable += 1;
            }
        }
    }

    fn finish(mut self) -> Self {
        // Counts stay far below 2^52, where u64 -> f64 is exact.
        #[allow(clippy::cast_precision_loss)]
        let rate = (self.complete > 0).then(|| self.stable as f64 / self.complete as f64);
        self.stability_rate = rate;
        self
    }
}

impl Store {
    /// Whether a run with repeats got the same answer each time it asked,
    /// per record, over the whole run: on a first page the counts of every
    /// record, and a page of the unstable ones with every sample's answer.
    ///
    /// Refused for a run without repeats, for a run that sent to several
    /// models without `target`, and for a run over several template versions.
    pub fn run_stability(&self, query: &StabilityQuery) -> Result<StabilityPage, Error> {
        if query.limit == 0 || query.limit > MAX_PAGE {
            return Err(Error::invalid(
                "limit",
                format!("a page holds 1 to {MAX_PAGE} records, not {}: ask for several pages", query.limit),
            ));
        }
        let run_id = query.run_id;
        let run = self.run_summary(run_id)?;
        let repeats = self.run_repeats(run_id)?;
        if repeats < 2 {
            return Err(Error::invalid(
                "runId",
                format!(
                    "run {run_id} asked each prompt once, so there is nothing to compare: start a run with repeats \
                     (2 to {}) to see whether a model answers the same way",
                    crate::MAX_REPEATS
                ),
            ));
        }
        let Some(dataset_id) = run.dataset_id else {
            return Err(Error::invalid("runId", format!("run {run_id} has no requests left: its dataset was deleted")));
        };
        let target = match (&query.target, run.targets.as_slice()) {
            (Some(target), targets) if targets.contains(target) => target.clone(),
            (Some(target), _) => {
                return Err(Error::invalid(
                    "target",
                    format!("run {run_id} sent nothing to {}/{}", target.provider, target.model),
                ));
            }
            (None, [only]) => only.clone(),
            (None, targets) => {
                let names: Vec<String> = targets.iter().map(|t| format!("{}/{}", t.provider, t.model)).collect();
                return Err(Error::invalid(
                    "target",
                    format!("run {run_id} sent to {} models ({}): choose one of them", names.len(), names.join(", ")),
                ));
            }
        };
        let [version] = run.template_version_ids.as_slice() else {
            return Err(Error::invalid(
                "runId",
                format!(
                    "run {run_id} sent {} template versions: stability compares the repeats of one prompt, so \
                     start a run of one template version",
                    run.template_version_ids.len()
                ),
            ));
        };
        let after = query
            .after
            .map_or(Ok(-1), i64::try_from)
            .map_err(|_| Error::invalid("after", "the position is too large"))?;

        // A first page counts every record while it lists; a later one stops once its page is full.
        let mut summary = query.after.is_none().then(|| StabilitySummary { repeats, ..StabilitySummary::default() });
        let mut listed: Vec<RecordSamples> = Vec::new();
        let mut next_after = None;
        let mut stmt = self.conn.prepare_cached(SAMPLES)?;
        let mut rows =
            stmt.query(params![dataset_id, version, target.provider, target.model, repeats, after, run_id])?;
        let mut current: Option<RecordSamples> = None;
        let mut decide = |record: RecordSamples| -> bool {
            let verdict = verdict(&record.samples, repeats);
            if let Some(summary) = summary.as_mut() {
                summary.count(verdict);
            }
            if verdict == Verdict::Unstable {
                if listed.len() == query.limit as usize {
                    next_after = listed.last().map(|r| r.position);
                    // The page is full and another one follows; only a first page's counts go on.
                    return summary.is_some();
                }
                listed.push(record);
            }
            true
        };
        let mut go_on = true;
        while go_on && let Some(row) = rows.next()? {
            let record_id: i64 = row.get(0)?;
            let sample = SampleAnswer {
                sample: row.get(2)?,
                request_id: row.get(3)?,
                response_id: row.get(4)?,
                text: row.get(5)?,
                error_code: row.get(6)?,
            };
            match current.as_mut() {
                Some(record) if record.record_id == record_id => record.samples.push(sample),
                _ => {
                    let next = RecordSamples { record_id, position: row.get(1)?, samples: vec![sample] };
                    if let Some(done) = current.replace(next) {
                        go_on = decide(done);
                    }
                }
            }
        }
        if go_on && let Some(done) = current.take() {
            decide(done);
        }
        drop(rows);
        let dataset = self.dataset(dataset_id)?;
        let mut data = self.conn.prepare_cached("SELECT data FROM records WHERE id = ?1")?;
        let unstable = listed
            .into_iter()
            .map(|r| {
                let text: String = data.query_row([r.record_id], |row| row.get(0))?;
                let position = i64::try_from(r.position).unwrap_or(i64::MAX);
                let record = typed_record(&dataset, r.record_id, position, &text)?.fields;
                Ok(UnstableRecord { record_id: r.record_id, record_position: r.position, record, samples: r.samples })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(StabilityPage { target, summary: summary.map(StabilitySummary::finish), unstable, next_after })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::{Store, query_plan};

    /// A record's samples are found through the requests' unique index and
    /// the records are read in order from the cursor: no scan of the run.
    #[test]
    fn samples_are_sought_by_record_in_position_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("data.sqlite")).unwrap();
        let plan = query_plan(&store, super::SAMPLES);
        assert!(!plan.contains("SCAN"), "{plan}");
        assert!(plan.lines().next().unwrap().contains("(dataset_id=? AND position>?)"), "{plan}");
        assert!(plan.contains("sqlite_autoindex_requests_1"), "{plan}");
    }
}
