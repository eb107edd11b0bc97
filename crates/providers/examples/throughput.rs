//! Throughput of `providers` against a raw reqwest loop, both hitting the fake
//! provider over loopback in the same run (the machine is shared, so only the
//! ratio means anything).
//!
//! ```text
//! cargo run --release -p providers --example throughput -- [REQUESTS] [CONCURRENCY]
//! ```
//!
//! Defaults: 1000 requests at concurrency 16. Goal: ratio ≥ 0.9.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_provider::{FakeConfig, FakeProvider};
use futures_util::{StreamExt, stream};
use providers::{CallOptions, ChatRequest, ProviderClient, ProviderConfig, StaticKey};
use secrets::Secret;

const KEY: &str = "sk-bench-0123456789";

type Result<T> = std::result::Result<T, Box<dyn Error>>;

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(16);

    let fake = FakeProvider::start(FakeConfig { expected_key: Some(KEY.to_owned()), ..FakeConfig::default() }).await?;
    let url = format!("{}/v1/chat/completions", fake.base_url());

    let raw = reqwest::Client::new();
    let mut config = ProviderConfig::openai().with_base_url(fake.base_url());
    config.max_concurrent = concurrency;
    let client = ProviderClient::new(config, Arc::new(StaticKey::new(Secret::new(KEY))))?;

    // Warm both up (connections, allocator), then alternate so drift from other
    // load on the machine hits both alike.
    run_raw(&raw, &url, 50, concurrency).await?;
    run_providers(&client, 50, concurrency).await?;
    let (mut raw_time, mut providers_time) = (Duration::ZERO, Duration::ZERO);
    for round in 1..=3 {
        let r = run_raw(&raw, &url, requests, concurrency).await?;
        let p = run_providers(&client, requests, concurrency).await?;
        println!(
            "round {round}: raw {:>8.0} req/s   providers {:>8.0} req/s",
            per_second(requests, r),
            per_second(requests, p)
        );
        raw_time += r;
        providers_time += p;
    }
    let raw_rate = per_second(requests * 3, raw_time);
    let providers_rate = per_second(requests * 3, providers_time);
    println!("{requests} requests x 3 rounds at concurrency {concurrency}");
    println!("raw reqwest: {raw_rate:.0} req/s");
    println!("providers:   {providers_rate:.0} req/s");
    println!("ratio:       {:.3} (goal >= 0.9)", providers_rate / raw_rate);
    Ok(())
}

fn per_second(requests: usize, elapsed: Duration) -> f64 {
    requests as f64 / elapsed.as_secs_f64()
}

async fn run_raw(client: &reqwest::Client, url: &str, requests: usize, concurrency: usize) -> Result<Duration> {
    let body = serde_json::json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hello"}],
        "stream": false,
    });
    let started = Instant::now();
    let results: Vec<Result<()>> = stream::iter(0..requests)
        .map(|_| async {
            let response = client.post(url).bearer_auth(KEY).json(&body).send().await?;
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

async fn run_providers(client: &ProviderClient, requests: usize, concurrency: usize) -> Result<Duration> {
    let request = ChatRequest::new("gpt-4o-mini", "hello");
    let options = CallOptions::new();
    let started = Instant::now();
    let results: Vec<_> = stream::iter(0..requests)
        .map(|_| client.chat(&request, &options))
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    for result in results {
        result?;
    }
    Ok(elapsed)
}
