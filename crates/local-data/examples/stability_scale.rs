//! `run_stability` over a run that asked each of 100,000 records' prompts
//! three times (or the count given), one record in ten answered differently
//! each time: generating the samples, the first page (which counts every
//! record), the next one, and a page near the end (as fast as the second:
//! pages read from their cursor).
//! `cargo run --release -p local-data --example stability_scale [ROWS]`.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use local_data::{Answer, ImportOptions, ModelTarget, NewRun, RequestStatus, StabilityQuery, Store};
use records::Format;

const REPEATS: u32 = 3;

fn main() {
    let rows: usize = std::env::args().nth(1).map_or(100_000, |n| {
        n.parse().unwrap_or_else(|_| panic!("`{n}` is not a number of records: run it as `stability_scale [ROWS]`"))
    });
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("data.sqlite")).unwrap();
    let mut csv = String::from("title\n");
    for i in 0..rows {
        csv.push_str(&format!("Book {i}\n"));
    }
    let dataset = store.import(csv.as_bytes(), &ImportOptions::new("books", Format::Csv), |_| {}).unwrap();
    let template = store.create_template("t", "Genre of {{ title }}?").unwrap();
    let targets = [ModelTarget::new("openai", "a")];
    let started = Instant::now();
    let created = store.generate_repeated_requests(dataset.id, template.current.id, &targets, REPEATS).unwrap();
    let generated = started.elapsed();
    println!(
        "generated {created} requests ({rows} records x {REPEATS}): {generated:?} ({:.0}/s)",
        created as f64 / generated.as_secs_f64()
    );
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let run = store.create_run_as(dataset.id, None, &NewRun { repeats: REPEATS, ..NewRun::default() }).unwrap();
    while let Some(c) = store.claim_next(run.run_id).unwrap() {
        let text = if c.prompt.ends_with("7?") { format!("Take {}.", c.sample) } else { "A novel.".to_owned() };
        let answer =
            Answer { text, model: c.model.clone(), finish_reason: None, input_tokens: Some(1), output_tokens: Some(1) };
        store.record_answer(&c, &answer).unwrap();
    }
    let query = StabilityQuery { run_id: run.run_id, target: None, after: None, limit: 50 };
    let time = |q: &StabilityQuery| {
        let t = Instant::now();
        let page = store.run_stability(q).unwrap();
        (t.elapsed(), page)
    };
    let (first, page) = time(&query);
    let summary = page.summary.unwrap();
    println!(
        "first page with the counts: {first:?} ({} records, {} stable, {} unstable, rate {:?})",
        summary.records, summary.stable, summary.unstable, summary.stability_rate
    );
    let (second, _) = time(&StabilityQuery { after: page.next_after, ..query.clone() });
    println!("second page: {second:?}");
    let (deep, _) = time(&StabilityQuery { after: Some(rows as u64 - 600), ..query.clone() });
    println!("page near the end: {deep:?} ({:.2}x the second page)", deep.as_secs_f64() / second.as_secs_f64());
}
