//! `fake-provider --listen 127.0.0.1:PORT`: the test provider as a process, for
//! end-to-end tests of the app. Script it with `POST /_fake/behaviours` and read
//! what it received with `GET /_fake/requests`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use fake_provider::{FakeConfig, FakeProvider};

#[derive(Debug, Parser)]
#[command(about = "Serve the OpenAI and Anthropic wire formats on loopback for tests")]
struct Args {
    /// Address to listen on; port 0 picks a free one (printed on start).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Answer 401 unless requests carry this key.
    #[arg(long, env = "FAKE_PROVIDER_EXPECTED_KEY")]
    expect_key: Option<String>,
    /// Text of normal answers.
    #[arg(long)]
    reply: Option<String>,
    /// Milliseconds between streamed chunks.
    #[arg(long, default_value_t = 0)]
    chunk_delay_ms: u64,
    /// Answer this many chat requests, then the provider's quota error to every other.
    #[arg(long)]
    quota: Option<u64>,
    /// A request window REQUESTS/MILLIS (e.g. 3/1000): rate-limit headers on every answer, 429 beyond it.
    #[arg(long, value_parser = parse_window)]
    rate_limit: Option<fake_provider::RateLimitWindow>,
    /// Status requests a batch answers as still running before it ends.
    #[arg(long, default_value_t = 0)]
    batch_polls: u64,
}

fn parse_window(text: &str) -> Result<fake_provider::RateLimitWindow, String> {
    let (requests, millis) = text.split_once('/').ok_or("expected REQUESTS/MILLIS, e.g. 3/1000")?;
    let requests = requests.parse().map_err(|_| format!("`{requests}` is not a number of requests"))?;
    let millis: u64 = millis.parse().map_err(|_| format!("`{millis}` is not a number of milliseconds"))?;
    Ok(fake_provider::RateLimitWindow { requests, window: Duration::from_millis(millis) })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    anyhow::ensure!(
        args.listen.ip().is_loopback(),
        "refusing to listen on {}: the fake provider is for loopback tests only, use 127.0.0.1",
        args.listen
    );
    let defaults = FakeConfig::default();
    let fake = FakeProvider::start(FakeConfig {
        listen: args.listen,
        expected_key: args.expect_key,
        reply: args.reply.unwrap_or(defaults.reply),
        chunk_delay: Duration::from_millis(args.chunk_delay_ms),
        models: defaults.models,
        quota: args.quota,
        rate_limit: args.rate_limit,
        batch_polls: args.batch_polls,
    })
    .await
    .with_context(|| format!("could not listen on {}", args.listen))?;
    // Tests read this line to learn the port.
    println!("listening on {}", fake.base_url());
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    Ok(())
}
