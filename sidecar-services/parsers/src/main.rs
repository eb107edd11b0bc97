//! `parsers`: serves `parsers_service::app` until SIGTERM or ctrl-c.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;

/// Turns CSV, JSON, JSON Lines, YAML and Markdown documents into records over HTTP.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on. Loopback by default; containers pass 0.0.0.0:8081.
    #[arg(long, env = "PARSERS_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,

    /// Largest document accepted, in bytes.
    #[arg(long, env = "PARSERS_MAX_BODY_BYTES", default_value_t = parsers_service::Config::default().max_body_bytes)]
    max_body_bytes: usize,

    /// Documents read and parsed at the same time; more wait with their bodies unread.
    #[arg(long, env = "PARSERS_MAX_CONCURRENT_PARSES", default_value_t = parsers_service::Config::default().max_concurrent_parses)]
    max_concurrent_parses: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    sidecar_http::init_tracing().context("setting up logging")?;
    let config = parsers_service::Config {
        max_body_bytes: args.max_body_bytes,
        max_concurrent_parses: args.max_concurrent_parses,
        ..parsers_service::Config::default()
    };
    let state = parsers_service::AppState::new(config).context("setting up the parsers service")?;
    let readiness = state.readiness();
    sidecar_http::serve(args.listen, parsers_service::app(state), readiness)
        .await
        .with_context(|| format!("serving the parsers service on {}", args.listen))
}
