//! `augment run compare BASELINE NEW`: two runs (or two models of one run)
//! record by record, with the agreement rate over every record of both, as
//! the Insight Assembler's "Compare runs" shows them (local-data
//! `Store::compare_answers`).

use anyhow::Result;
use clap::{Args, ValueEnum};
use local_data::{ComparePage, CompareQuery, CompareSide, ModelTarget, PairAnswer, PairFilter, Store};
use serde::Serialize;

use crate::output::{Render, emit, table};
use crate::workflow::usage;

/// Characters of an answer shown in a table cell (`--json` has them whole).
const CELL_CHARS: usize = 60;

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline run's id.
    baseline: i64,
    /// The new run's id (the baseline's own id to compare two of its models).
    new: i64,
    /// The baseline's model as PROVIDER/MODEL; needed when that run sent to several.
    #[arg(long, value_name = "PROVIDER/MODEL")]
    baseline_model: Option<String>,
    /// The new run's model as PROVIDER/MODEL; needed when that run sent to several.
    #[arg(long, value_name = "PROVIDER/MODEL")]
    new_model: Option<String>,
    /// Which records to list; the counts are always over all of them.
    #[arg(long, value_enum, default_value = "all")]
    show: Show,
    /// Records listed (1 to 1000).
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// List the records after this record position (the `next_after` a previous page printed).
    #[arg(long, value_name = "POSITION")]
    after: Option<u64>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Show {
    All,
    Differ,
    Agree,
    Missing,
}

impl From<Show> for PairFilter {
    fn from(show: Show) -> Self {
        match show {
            Show::All => PairFilter::All,
            Show::Differ => PairFilter::Differ,
            Show::Agree => PairFilter::Agree,
            Show::Missing => PairFilter::Missing,
        }
    }
}

pub(crate) fn target(flag: &str, value: Option<String>) -> Result<Option<ModelTarget>> {
    let Some(value) = value else { return Ok(None) };
    match value.split_once('/') {
        Some((provider, model)) if !provider.is_empty() && !model.is_empty() => {
            Ok(Some(ModelTarget::new(provider, model)))
        }
        _ => Err(usage(format!("{flag} takes PROVIDER/MODEL (e.g. openai/gpt-4o-mini), not `{value}`"))),
    }
}

pub fn compare(json: bool, store: &Store, args: CompareArgs) -> Result<()> {
    let query = CompareQuery {
        baseline: CompareSide { run_id: args.baseline, target: target("--baseline-model", args.baseline_model)? },
        candidate: CompareSide { run_id: args.new, target: target("--new-model", args.new_model)? },
        filter: args.show.into(),
        after: args.after,
        limit: args.limit,
    };
    emit(json, &Compared(store.compare_answers(&query)?))
}

#[derive(Serialize)]
#[serde(transparent)]
struct Compared(ComparePage);

fn cell(answer: Option<&PairAnswer>) -> String {
    let text = match answer {
        None => "(not sent)".to_owned(),
        Some(PairAnswer { text: Some(text), .. }) => text.split_whitespace().collect::<Vec<_>>().join(" "),
        Some(PairAnswer { error_code, .. }) => format!("(failed: {})", error_code.as_deref().unwrap_or("error")),
    };
    if text.chars().count() > CELL_CHARS {
        format!("{}…", text.chars().take(CELL_CHARS - 1).collect::<String>())
    } else {
        text
    }
}

impl Render for Compared {
    fn human(&self) -> String {
        let mut out = String::new();
        if let Some(s) = &self.0.summary {
            let rate = s.agreement_rate.map_or_else(
                || "no record has both answers".to_owned(),
                |rate| {
                    format!(
                        "agreement {:.1}% ({} of {} records with both answers)",
                        rate * 100.0,
                        s.agree,
                        s.agree + s.differ
                    )
                },
            );
            out.push_str(&format!(
                "{rate}; {} differ, {} missing an answer, {} records\n",
                s.differ, s.missing, s.records
            ));
        }
        let rows: Vec<Vec<String>> = self
            .0
            .pairs
            .iter()
            .map(|p| {
                let verdict = match p.verdict {
                    PairFilter::Agree => "agree",
                    PairFilter::Differ => "differ",
                    PairFilter::Missing | PairFilter::All => "missing",
                };
                vec![
                    (p.record_position + 1).to_string(),
                    verdict.to_owned(),
                    cell(p.baseline.as_ref()),
                    cell(p.candidate.as_ref()),
                ]
            })
            .collect();
        if !rows.is_empty() {
            out.push_str(&table(&["ROW", "VERDICT", "BASELINE", "NEW"], &rows));
        }
        if let Some(after) = self.0.next_after {
            out.push_str(&format!("\nmore: add --after {after}\n"));
        }
        out
    }
}
