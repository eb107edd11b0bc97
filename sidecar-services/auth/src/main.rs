//! `auth-service`: serves `auth_service::app` until SIGTERM or ctrl-c.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

/// Users, roles, password login and API tokens for the team's services.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on. Loopback by default; containers pass 0.0.0.0:8084.
    #[arg(long, env = "AUTH_LISTEN", default_value = "127.0.0.1:8084")]
    listen: SocketAddr,

    /// A SQLite file (created if missing), or a postgres:// URL.
    #[arg(long, env = "DATABASE_URL", default_value = "auth.db", hide_env_values = true)]
    database: String,

    /// Lifetime of a login's session token, e.g. "12h".
    #[arg(long, env = "AUTH_SESSION_TTL", value_parser = humantime::parse_duration, default_value = "12h")]
    session_ttl: Duration,

    /// Login attempts allowed per account name within --login-window.
    #[arg(long, env = "AUTH_LOGIN_ATTEMPTS_PER_ACCOUNT", default_value_t = NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN))]
    login_attempts_per_account: NonZeroU32,

    /// Login attempts allowed per client address within --login-window.
    #[arg(long, env = "AUTH_LOGIN_ATTEMPTS_PER_CLIENT", default_value_t = NonZeroU32::new(20).unwrap_or(NonZeroU32::MIN))]
    login_attempts_per_client: NonZeroU32,

    /// The window the login allowances refill over, e.g. "5m".
    #[arg(long, env = "AUTH_LOGIN_WINDOW", value_parser = humantime::parse_duration, default_value = "5m")]
    login_window: Duration,

    /// Also serve /health, /ready and /metrics here, and /metrics only here.
    #[arg(long, env = "SIDECAR_ADMIN_LISTEN")]
    admin_listen: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    sidecar_http::init_tracing().context("setting up logging")?;
    let db = auth_service::Database::open(&args.database)
        .await
        .context("opening the database (--database or DATABASE_URL)")?;
    tracing::info!(backend = db.backend(), "database ready");
    // The Host/Origin check of the other sidecars, without their stack token:
    // this service's own tokens decide who may do what.
    let mut hosts: Vec<String> = std::env::var(sidecar_http::ALLOWED_HOSTS_ENV)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|host| !host.is_empty())
        .map(str::to_owned)
        .collect();
    if !args.listen.ip().is_unspecified() {
        hosts.push(match args.listen.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        });
    }
    let config = auth_service::Config {
        session_ttl: args.session_ttl,
        login_per_account: auth_service::Throttle {
            attempts: args.login_attempts_per_account,
            window: args.login_window,
        },
        login_per_client: auth_service::Throttle {
            attempts: args.login_attempts_per_client,
            window: args.login_window,
        },
        access: sidecar_http::Access::new(None, hosts),
        admin_listen: args.admin_listen,
        ..auth_service::Config::default()
    };
    let state = auth_service::AppState::new(db, config).context("setting up the auth service")?;
    let readiness = state.readiness();
    let admin = args.admin_listen.map(|addr| (addr, auth_service::admin_app(state.clone())));
    sidecar_http::serve_with_admin(args.listen, auth_service::app(state), admin, readiness)
        .await
        .with_context(|| format!("serving the auth service on {}", args.listen))
}
