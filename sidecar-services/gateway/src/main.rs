//! `gateway`: serves `gateway::app` until SIGTERM or ctrl-c.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

/// Routes /api/<service>/… to the sidecar services, with limits and health.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on. Loopback by default; containers pass 0.0.0.0:8080.
    #[arg(long, env = "GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// The services, as name=url pairs separated by commas.
    #[arg(long, env = "GATEWAY_UPSTREAMS", default_value = "parsers=http://127.0.0.1:8081")]
    upstreams: String,

    /// Largest request body passed on, in bytes.
    #[arg(long, env = "GATEWAY_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    max_body_bytes: u64,

    /// Seconds an upstream may take to start answering.
    #[arg(long, env = "GATEWAY_UPSTREAM_TIMEOUT_SECS", default_value_t = 30)]
    upstream_timeout_secs: u64,

    /// Sustained requests per second allowed per client address.
    #[arg(long, env = "GATEWAY_RATE_PER_SECOND", default_value_t = gateway::RateLimit::default().per_second)]
    rate_per_second: NonZeroU32,

    /// Also serve /health, /ready and /metrics here, and /metrics only here
    /// (for a port only monitoring reaches; it needs no token).
    #[arg(long, env = "SIDECAR_ADMIN_LISTEN")]
    admin_listen: Option<SocketAddr>,

    /// Requests a client may send at once above the sustained rate.
    #[arg(long, env = "GATEWAY_RATE_BURST", default_value_t = gateway::RateLimit::default().burst)]
    rate_burst: NonZeroU32,

    /// Auth mode: the auth service whose tokens callers present (team
    /// deployments). Required to listen beyond loopback.
    #[arg(long, env = "GATEWAY_AUTH_URL")]
    auth_url: Option<reqwest::Url>,

    /// Milliseconds a verified token is trusted without asking again: also
    /// how long a revoked token keeps working here (at most 60000).
    #[arg(long, env = "GATEWAY_AUTH_CACHE_MS", default_value_t = 5000)]
    auth_cache_ms: u64,

    /// Auth mode: tokens one client address may have refused within
    /// --auth-failure-window-secs before the gateway answers 429 without
    /// asking the auth service.
    #[arg(long, env = "GATEWAY_AUTH_FAILURES_PER_CLIENT", default_value_t = gateway::FailureLimit::default().failures)]
    auth_failures_per_client: NonZeroU32,

    /// The window the refused-token allowance refills over, in seconds.
    #[arg(long, env = "GATEWAY_AUTH_FAILURE_WINDOW_SECS", default_value_t = gateway::FailureLimit::default().window.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    auth_failure_window_secs: u64,

    /// Listening on 0.0.0.0 inside a container whose port is published on
    /// the host's loopback only (the desktop's stack): the stack token is enough.
    #[arg(long, env = "GATEWAY_PUBLISHED_ON_LOOPBACK", action = clap::ArgAction::SetTrue,
          value_parser = clap::builder::BoolishValueParser::new())]
    published_on_loopback: bool,

    /// Keep rate limits in this Redis (redis://host:port) so every replica
    /// shares them; in this process's memory otherwise.
    #[arg(long, env = "REDIS_URL")]
    redis_url: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    sidecar_http::init_tracing().context("setting up logging")?;
    let upstreams: gateway::Upstreams = args.upstreams.parse().context("reading GATEWAY_UPSTREAMS")?;
    // SIDECAR_TOKEN(_FILE) and SIDECAR_ALLOWED_HOSTS: refuses to start without a token.
    let access = sidecar_http::Access::from_env(args.listen).context("reading the access settings")?;
    tracing::info!(allowed_hosts = ?access.allowed_hosts(), "requests need an allowed Host");
    let config = gateway::Config {
        max_body_bytes: args.max_body_bytes,
        upstream_timeout: Duration::from_secs(args.upstream_timeout_secs),
        rate_limit: gateway::RateLimit { per_second: args.rate_per_second, burst: args.rate_burst },
        access,
        admin_listen: args.admin_listen,
        auth: args.auth_url.map(|url| gateway::AuthConfig {
            cache_ttl: Duration::from_millis(args.auth_cache_ms),
            ..gateway::AuthConfig::new(url)
        }),
        auth_failures: gateway::FailureLimit {
            failures: args.auth_failures_per_client,
            window: Duration::from_secs(args.auth_failure_window_secs),
        },
        redis_url: args.redis_url,
        ..gateway::Config::new(upstreams)
    };
    gateway::check_exposure(args.listen, &config, args.published_on_loopback)?;
    match &config.auth {
        Some(auth) => {
            tracing::info!(auth_url = %auth.url, cache_ms = auth.cache_ttl.as_millis(), "auth mode: callers need auth service tokens")
        }
        None => tracing::info!("stack-token mode: callers need the stack's access token"),
    }
    // Not the URL: it may hold Redis's password.
    let limits = if config.redis_url.is_some() { "shared by every replica through Redis" } else { "in memory" };
    tracing::info!(per_second = config.rate_limit.per_second, burst = config.rate_limit.burst, "rate limits {limits}");
    for (name, url) in config.upstreams.iter() {
        tracing::info!(service = name, %url, "routing /api/{name}/");
    }
    let state = gateway::AppState::new(config).context("setting up the gateway")?;
    let readiness = state.readiness();
    let admin = args.admin_listen.map(|addr| (addr, gateway::admin_app(state.clone())));
    sidecar_http::serve_with_admin(args.listen, gateway::app(state), admin, readiness)
        .await
        .with_context(|| format!("serving the gateway on {}", args.listen))
}
