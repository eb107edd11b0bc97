//! `augment run stability RUN`: whether a run with repeats (`run start
//! --repeat N`) got the same answer each time it asked, record by record,
//! with the stability rate over the whole run and the unstable records'
//! answers, as the Insight Assembler's "Stability" panel shows them
//! (local-data `Store::run_stability`).

use anyhow::Result;
use clap::Args;
use local_data::{SampleAnswer, StabilityPage, StabilityQuery, Store};
use serde::Serialize;

use crate::compare::target;
use crate::output::{Render, emit, table};

/// Characters of an answer shown in a table cell (`--json` has them whole).
const CELL_CHARS: usize = 60;

#[derive(Debug, Args)]
pub struct StabilityArgs {
    /// The run's id (a run started with --repeat 2 or more).
    run: i64,
    /// The model as PROVIDER/MODEL; needed when the run sent to several.
    #[arg(long, value_name = "PROVIDER/MODEL")]
    model: Option<String>,
    /// Unstable records listed (1 to 1000).
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// List the unstable records after this record position (the `next_after` a previous page printed).
    #[arg(long, value_name = "POSITION")]
    after: Option<u64>,
}

pub fn stability(json: bool, store: &Store, args: StabilityArgs) -> Result<()> {
    let query = StabilityQuery {
        run_id: args.run,
        target: target("--model", args.model)?,
        after: args.after,
        limit: args.limit,
    };
    emit(json, &Stability(store.run_stability(&query)?))
}

#[derive(Serialize)]
#[serde(transparent)]
struct Stability(StabilityPage);

fn cell(sample: &SampleAnswer) -> String {
    let text = match (&sample.text, &sample.error_code) {
        (Some(text), _) => text.split_whitespace().collect::<Vec<_>>().join(" "),
        (None, Some(code)) => format!("(failed: {code})"),
        (None, None) => "(not answered)".to_owned(),
    };
    if text.chars().count() > CELL_CHARS {
        format!("{}…", text.chars().take(CELL_CHARS - 1).collect::<String>())
    } else {
        text
    }
}

impl Render for Stability {
    fn human(&self) -> String {
        let page = &self.0;
        let mut out = String::new();
        if let Some(s) = &page.summary {
            let rate = s.stability_rate.map_or_else(
                || "no record has every sample answered yet".to_owned(),
                |rate| {
                    format!(
                        "stability {:.1}% ({} of {} records answered alike all {} times)",
                        rate * 100.0,
                        s.stable,
                        s.complete,
                        s.repeats
                    )
                },
            );
            out.push_str(&format!(
                "{}/{}: {rate}; {} unstable, {} with a sample unanswered, {} records\n",
                page.target.provider,
                page.target.model,
                s.unstable,
                s.records - s.complete,
                s.records
            ));
        }
        let rows: Vec<Vec<String>> = page
            .unstable
            .iter()
            .flat_map(|r| {
                r.samples.iter().map(move |s| vec![(r.record_position + 1).to_string(), s.sample.to_string(), cell(s)])
            })
            .collect();
        if !rows.is_empty() {
            out.push_str(&table(&["ROW", "SAMPLE", "ANSWER"], &rows));
        }
        if let Some(after) = page.next_after {
            out.push_str(&format!("\nmore: add --after {after}\n"));
        }
        out
    }
}
