//! `compare_answers` over two models' answers to 100,000 records (or the
//! count given): the first page (which counts every pair), the next one, a
//! page at the end (as fast as the second: pages read from their cursor),
//! and a filtered page. `cargo run --release -p local-data --example compare_scale`.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use local_data::{Answer, CompareQuery, CompareSide, ImportOptions, ModelTarget, PairFilter, RequestStatus, Store};
use records::Format;

fn main() {
    let rows: usize = std::env::args().nth(1).map_or(100_000, |n| {
        n.parse().unwrap_or_else(|_| panic!("`{n}` is not a number of records: run it as `compare_scale [ROWS]`"))
    });
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("data.sqlite")).unwrap();
    let mut csv = String::from("title\n");
    for i in 0..rows {
        csv.push_str(&format!("Book {i}\n"));
    }
    let dataset = store.import(csv.as_bytes(), &ImportOptions::new("books", Format::Csv), |_| {}).unwrap();
    let template = store.create_template("t", "Genre of {{ title }}?").unwrap();
    let targets = [ModelTarget::new("openai", "a"), ModelTarget::new("openai", "b")];
    store.generate_requests(dataset.id, template.current.id, &targets).unwrap();
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    let run = store.create_run(dataset.id, None).unwrap();
    let started = Instant::now();
    while let Some(c) = store.claim_next(run.run_id).unwrap() {
        let text = if c.model == "b" && c.prompt.ends_with("7?") {
            "other words".into()
        } else {
            format!("An answer to {}", c.prompt)
        };
        let answer =
            Answer { text, model: c.model.clone(), finish_reason: None, input_tokens: Some(1), output_tokens: Some(1) };
        store.record_answer(&c, &answer).unwrap();
    }
    eprintln!("answered {} in {:?}", rows * 2, started.elapsed());
    let side = |m: &str| CompareSide { run_id: run.run_id, target: Some(ModelTarget::new("openai", m)) };
    let query =
        CompareQuery { baseline: side("a"), candidate: side("b"), filter: PairFilter::All, after: None, limit: 50 };
    let time = |q: &CompareQuery| {
        let t = Instant::now();
        let page = store.compare_answers(q).unwrap();
        (t.elapsed(), page)
    };
    let (first, page) = time(&query);
    println!("first page with the counts: {first:?} (rate {:?})", page.summary.unwrap().agreement_rate);
    let (second, _) = time(&CompareQuery { after: page.next_after, ..query.clone() });
    println!("second page: {second:?}");
    let (deep, _) = time(&CompareQuery { after: Some(rows as u64 - 100), ..query.clone() });
    println!("page at the end: {deep:?} ({:.2}x the second page)", deep.as_secs_f64() / second.as_secs_f64());
    let (differ, _) = time(&CompareQuery { filter: PairFilter::Differ, after: Some(0), ..query.clone() });
    println!("a page of disagreements (1 record in 10): {differ:?}");
}
