//! Collector throughput at its configured politeness against the rate limit
//! it promises (issue 19: ≥ 0.9×): the loopback site of the tests, pages
//! linked from one list, crawled at `--per-host-rps`; the ideal is one
//! request per 1/rate after the first, every request counted (robots.txt,
//! the list, the pages). Then the same with several sites at once, whose
//! paces add up.
//!
//! `cargo run --release -p collector --example crawl_throughput -- [PAGES] [RATE]`

#[path = "../tests/site/mod.rs"]
mod site;

use std::time::{Duration, Instant};

use collector::{CollectOptions, Collector, Journal, Source};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let pages: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100);
    let rate: f64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20.0);
    for sites in [1, 4] {
        let (requests, elapsed) = crawl(sites, pages, rate).await?;
        // Each site: its first request at once, then one per 1/rate.
        let ideal = Duration::from_secs_f64(f64::from(requests / sites - 1) / rate);
        let ratio = ideal.as_secs_f64() / elapsed.as_secs_f64();
        println!(
            "{sites} site(s) at {rate} req/s each, concurrency {}: {requests} requests in {:.2} s ({:.1} req/s; ideal {:.2} s) = {ratio:.2}× the rate limit (goal ≥ 0.9×)",
            concurrency(sites),
            elapsed.as_secs_f64(),
            f64::from(requests) / elapsed.as_secs_f64(),
            ideal.as_secs_f64(),
        );
    }
    Ok(())
}

fn concurrency(sites: u32) -> usize {
    4 * sites as usize
}

/// Crawls `sites` loopback sites of `pages` pages each; returns the requests
/// the sites received and the crawl's wall time.
async fn crawl(sites: u32, pages: u32, rate: f64) -> Result<(u32, Duration), Box<dyn std::error::Error>> {
    let mut running = Vec::new();
    for _ in 0..sites {
        running.push(site::Site::start().await);
    }
    let options = CollectOptions {
        max_depth: 1,
        per_host_rps: rate,
        concurrency: concurrency(sites),
        per_host_concurrency: 4,
        allow: vec!["127.0.0.1".parse()?],
        ..CollectOptions::default()
    };
    let folder = tempfile::tempdir()?;
    let (mut journal, done) = Journal::open(&folder.path().join("bench.jsonl"))?;
    let collector = Collector::new(options)?;
    let seeds =
        collector.seeds(&Source::Urls(running.iter().map(|s| s.url(&format!("/list/{pages}"))).collect())).await?;
    let start = Instant::now();
    let summary = collector.collect(seeds, &mut journal, &done, &CancellationToken::new(), |_, _| {}).await?;
    let elapsed = start.elapsed();
    assert_eq!(summary.failed, 0, "every page collected");
    assert_eq!(summary.fetched, u64::from(sites * (pages + 1)));
    let requests = running.iter().map(|s| s.log().len() as u32).sum();
    Ok((requests, elapsed))
}
