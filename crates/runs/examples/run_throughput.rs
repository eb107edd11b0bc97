//! Issue 17's run benchmarks, against the fake provider over loopback:
//!
//! - the run engine sending N approved requests at concurrency C (every
//!   answer stored in SQLite, the cache included) against a raw reqwest loop
//!   sending the same prompts to the same server (no database at all);
//!   goal: engine ≥ 0.9× the raw rate;
//! - a second identical run, answered from the response cache: provider
//!   calls (goal 0) and its time (goal ≤ 2 s; shown beside the live run's,
//!   as the machine is shared).
//!
//! ```text
//! cargo run --release -p runs --example run_throughput -- [REQUESTS] [CONCURRENCY]
//! ```
//!
//! Defaults: 10,000 requests at concurrency 32 (the issue's numbers).

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_provider::{FakeConfig, FakeProvider};
use futures_util::{StreamExt, stream};
use local_data::{ImportOptions, ModelTarget, RequestStatus, RunStatus, RunWrite, RunWritten, Store};
use providers::{Keyless, ProviderClient, ProviderConfig};
use records::Format;
use runs::{Engine, RunOptions};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const PROVIDER: &str = "fake";
const MODEL: &str = "gpt-4o-mini";
/// Rounds of each live measurement, alternated so drift hits both alike.
const ROUNDS: usize = 3;

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10_000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(32);

    let fake = FakeProvider::start(FakeConfig::default()).await?;
    let prompts: Vec<String> = (0..requests).map(|i| format!("Describe item {i} in one line.")).collect();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("data.sqlite");
    // One dataset per engine round (a run answers each request once), one
    // for the cached run, one for the storage alone.
    let datasets = (0..=ROUNDS + 1)
        .map(|i| approved_requests(&path, &format!("round {i}"), &prompts))
        .collect::<Result<Vec<_>>>()?;

    let mut config = ProviderConfig::openai_compatible(PROVIDER, &fake.base_url());
    config.max_concurrent = concurrency;
    let engine = Engine::new(Store::open(&path)?, [ProviderClient::new(config, Arc::new(Keyless))?], concurrency);
    let raw = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", fake.base_url());

    // Warm the raw client's connections; the engine's first round warms its own.
    run_raw(&raw, &url, &prompts[..prompts.len().min(100)], concurrency).await?;
    let (mut raw_time, mut engine_time) = (Duration::ZERO, Duration::ZERO);
    let (mut raw_cpu, mut engine_cpu) = (Duration::ZERO, Duration::ZERO);
    for (round, dataset) in datasets[..ROUNDS].iter().enumerate() {
        let cpu = process_cpu()?;
        let r = run_raw(&raw, &url, &prompts, concurrency).await?;
        let between = process_cpu()?;
        // Live: the earlier rounds' answers are in the cache, so this one skips it (and refreshes it).
        let e = run_engine(&engine, *dataset, RunOptions { no_cache: true, ..RunOptions::default() }, requests).await?;
        raw_cpu += between - cpu;
        engine_cpu += process_cpu()? - between;
        println!(
            "round {}: raw {:>7.0} req/s   engine {:>7.0} req/s",
            round + 1,
            per_second(requests, r),
            per_second(requests, e)
        );
        raw_time += r;
        engine_time += e;
    }
    let raw_rate = per_second(requests * ROUNDS, raw_time);
    let engine_rate = per_second(requests * ROUNDS, engine_time);

    let calls_before = fake.request_count();
    let cached_time = run_engine(&engine, datasets[ROUNDS], RunOptions::default(), requests).await?;
    let cached_calls = fake.request_count() - calls_before;

    let storage_cpu = store_alone(&path, datasets[ROUNDS + 1], concurrency)?;

    println!("{requests} requests x {ROUNDS} rounds at concurrency {concurrency}");
    println!("raw reqwest loop:      {raw_rate:.0} req/s");
    println!("run engine (+SQLite):  {engine_rate:.0} req/s");
    println!("ratio:                 {:.3} (goal >= 0.9)", engine_rate / raw_rate);
    // The server runs in this process: both loops' CPU includes its share.
    let per_request = |cpu: Duration| cpu.as_secs_f64() * 1e6 / (requests * ROUNDS) as f64;
    println!(
        "CPU per request:       raw {:.1} us, engine {:.1} us (server included; {} cores)",
        per_request(raw_cpu),
        per_request(engine_cpu),
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!(
        "storage alone:         {:.1} us CPU per request (claim, answer, cache entry; groups of {concurrency}, no HTTP)",
        storage_cpu.as_secs_f64() * 1e6 / requests as f64
    );
    println!(
        "second identical run:  {cached_calls} provider calls (goal 0), {:.2} s (goal <= 2 s; a live run took {:.2} s)",
        cached_time.as_secs_f64(),
        engine_time.as_secs_f64() / ROUNDS as f64
    );
    Ok(())
}

/// What storing a run costs without sending it: the engine's writes for
/// every request of `dataset` (claims, answers with their cache entries) in
/// groups of `group`, as its writer commits them. The CPU time it took.
fn store_alone(path: &Path, dataset: i64, group: usize) -> Result<Duration> {
    let mut store = Store::open(path)?;
    let run_id = store.create_run(dataset, None)?.run_id;
    let answer = |claimed: &local_data::ClaimedRequest| local_data::Answer {
        text: format!("An answer to: {}", claimed.prompt),
        model: MODEL.to_owned(),
        finish_reason: Some("stop".to_owned()),
        input_tokens: Some(12),
        output_tokens: Some(9),
    };
    let key = |claimed: &local_data::ClaimedRequest| {
        local_data::AiCacheKey::of(&local_data::AiCall {
            provider: PROVIDER.to_owned(),
            wire_format: "openai".to_owned(),
            base_url: "http://127.0.0.1".to_owned(),
            model: MODEL.to_owned(),
            parameters: Default::default(),
            prompt: claimed.prompt.clone(),
            sample: claimed.sample,
        })
    };
    let started = process_cpu()?;
    loop {
        let claimed = match store.write_run_batch(vec![RunWrite::Claim { run_id, max: group as u32 }])?.pop() {
            Some(Ok(RunWritten::Claimed(claimed))) if !claimed.is_empty() => claimed,
            _ => break,
        };
        let writes = claimed
            .iter()
            .map(|c| RunWrite::Answer { claimed: c.clone(), answer: answer(c), key: Some(key(c)) })
            .collect();
        for written in store.write_run_batch(writes)? {
            written?;
        }
    }
    Ok(process_cpu()? - started)
}

/// CPU time used by every thread of this process so far (user + system),
/// from /proc/self/stat, in clock ticks of 10 ms.
fn process_cpu() -> Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> =
        stat.rsplit_once(')').ok_or("no command name in /proc/self/stat")?.1.split_whitespace().collect();
    let ticks = |i: usize| -> Result<u64> { Ok(fields.get(i).ok_or("short /proc/self/stat")?.parse()?) };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    Ok(Duration::from_millis((ticks(11)? + ticks(12)?) * 10))
}

fn per_second(requests: usize, elapsed: Duration) -> f64 {
    requests as f64 / elapsed.as_secs_f64()
}

/// A dataset whose records render to `prompts`, one approved request each, in the store at `path`.
fn approved_requests(path: &Path, name: &str, prompts: &[String]) -> Result<i64> {
    let mut store = Store::open(path)?;
    let jsonl: String = prompts.iter().map(|p| serde_json::json!({ "prompt": p }).to_string() + "\n").collect();
    let dataset = store.import(jsonl.as_bytes(), &ImportOptions::new(name, Format::JsonLines), |_| {})?;
    let template = store.create_template(&format!("{name} as is"), "{{ prompt }}")?;
    store.generate_requests(dataset.id, template.current.id, &[ModelTarget::new(PROVIDER, MODEL)])?;
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved)?;
    Ok(dataset.id)
}

/// Sends a run of `dataset` and waits for it; fails unless every request was answered.
async fn run_engine(engine: &Engine, dataset: i64, options: RunOptions, requests: usize) -> Result<Duration> {
    let started = Instant::now();
    let mut handle = engine.start_with(dataset, None, options).await?;
    while handle.events.recv().await.is_some() {}
    let progress = handle.wait().await?;
    let elapsed = started.elapsed();
    if progress.status != RunStatus::Completed || progress.answered as usize != requests {
        return Err(
            format!("the run ended {:?} with {} of {requests} answered", progress.status, progress.answered).into()
        );
    }
    Ok(elapsed)
}

async fn run_raw(client: &reqwest::Client, url: &str, prompts: &[String], concurrency: usize) -> Result<Duration> {
    let started = Instant::now();
    let results: Vec<Result<()>> = stream::iter(prompts)
        .map(|prompt| async move {
            let body = serde_json::json!({ "model": MODEL, "messages": [{ "role": "user", "content": prompt }] });
            let response = client.post(url).json(&body).send().await?;
            if !response.status().is_success() {
                return Err(format!("raw request failed: HTTP {}", response.status()).into());
            }
            let answer: serde_json::Value = response.json().await?;
            if answer["choices"][0]["message"]["content"].as_str().is_none() {
                return Err("raw request got no text".into());
            }
            Ok(())
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(elapsed)
}
