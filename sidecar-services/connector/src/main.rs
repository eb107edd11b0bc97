//! `connector`: serves `connector::app` until SIGTERM or ctrl-c.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

/// Calls AI providers on behalf of clients, with keys held by the server.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on. Loopback by default; containers pass 0.0.0.0:8082.
    #[arg(long, env = "CONNECTOR_LISTEN", default_value = "127.0.0.1:8082")]
    listen: SocketAddr,

    /// Providers offered: built-in ids, or id=base-url, separated by commas.
    #[arg(long, env = "CONNECTOR_PROVIDERS", default_value = "openai,anthropic,groq")]
    providers: String,

    /// A folder with one file per provider holding its key (a mounted secret).
    /// AUGMENT_<ID>_API_KEY environment variables take precedence.
    #[arg(long, env = "CONNECTOR_KEYS_DIR")]
    keys_dir: Option<PathBuf>,

    /// Also serve /health, /ready and /metrics here, and /metrics only here
    /// (for a port only monitoring reaches; it needs no token).
    #[arg(long, env = "SIDECAR_ADMIN_LISTEN")]
    admin_listen: Option<SocketAddr>,

    /// Hosts a server-held data-store key (datastore-<kind> in the keys
    /// folder) may be sent to, as host or host:port, separated by commas.
    #[arg(long, env = "CONNECTOR_DATASTORE_HOSTS", value_delimiter = ',')]
    datastore_hosts: Vec<String>,

    /// Largest request body, in bytes.
    #[arg(long, env = "CONNECTOR_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    sidecar_http::init_tracing().context("setting up logging")?;
    let providers = connector::parse_providers(&args.providers).context("reading CONNECTOR_PROVIDERS")?;
    let keys = connector::ServerKeys::from_env(args.keys_dir.clone());
    for provider in &providers {
        // Where each key comes from, never the key itself.
        tracing::info!(provider = %provider.id, base_url = %provider.base_url, key = ?keys.origin(&provider.id), "provider configured");
    }
    // SIDECAR_TOKEN(_FILE) and SIDECAR_ALLOWED_HOSTS: refuses to start without a token.
    let access = sidecar_http::Access::from_env(args.listen).context("reading the access settings")?;
    tracing::info!(allowed_hosts = ?access.allowed_hosts(), "requests need the access token");
    let config = connector::Config {
        max_body_bytes: args.max_body_bytes,
        access,
        admin_listen: args.admin_listen,
        datastore_hosts: args.datastore_hosts.iter().map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()).collect(),
        ..connector::Config::new(providers)
    };
    let state = connector::AppState::new(config, keys).context("setting up the connector")?;
    let readiness = state.readiness();
    let admin = args.admin_listen.map(|addr| (addr, connector::admin_app(state.clone())));
    sidecar_http::serve_with_admin(args.listen, connector::app(state), admin, readiness)
        .await
        .with_context(|| format!("serving the connector on {}", args.listen))
}
