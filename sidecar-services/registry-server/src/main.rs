//! `registry-server`: serves `registry_server::app` over a local folder or
//! an S3-compatible bucket until SIGTERM or ctrl-c.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use zeroize::Zeroizing;

/// Every request allocates and frees a few small buffers (headers, path,
/// response parts); with mimalloc the serving core does about 9% more
/// index requests per second than with glibc's allocator (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Serves a registry tree and accepts authenticated publishes.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on. Loopback by default; containers pass 0.0.0.0:8787.
    #[arg(long, env = "REGISTRY_LISTEN", default_value = registry_server::DEFAULT_LISTEN)]
    listen: SocketAddr,

    /// The registry folder (created by `augment registry init`). Ignored when a bucket is set.
    #[arg(long, env = "REGISTRY_DIR")]
    dir: Option<PathBuf>,

    /// An S3-compatible bucket holding the registry (build with feature `aws`);
    /// endpoint, region and credentials come from the AWS_* variables.
    #[arg(long, env = "REGISTRY_S3_BUCKET")]
    s3_bucket: Option<String>,

    /// A key prefix inside the bucket.
    #[arg(long, env = "REGISTRY_S3_PREFIX")]
    s3_prefix: Option<String>,

    /// The snapshot signing key (PKCS#8 PEM file). Or put the PEM itself in
    /// REGISTRY_SIGNING_KEY.
    #[arg(long, env = "REGISTRY_SIGNING_KEY_FILE")]
    signing_key_file: Option<PathBuf>,

    /// The host profile (JSON: hostApi and shared versions) published remotes must run on [default: this build's].
    #[arg(long, env = "REGISTRY_HOST_PROFILE")]
    host_profile: Option<PathBuf>,

    /// Largest upload, in bytes.
    #[arg(long, env = "REGISTRY_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    max_body_bytes: usize,

    /// How long each new snapshot stays valid, in seconds.
    #[arg(long, env = "REGISTRY_SNAPSHOT_EXPIRES_SECS", default_value_t = registry::DEFAULT_SNAPSHOT_EXPIRY.as_secs())]
    snapshot_expires_secs: u64,

    /// Re-sign the snapshot when it expires within this many seconds [default: a third of its validity].
    #[arg(long, env = "REGISTRY_SNAPSHOT_RENEW_WITHIN_SECS")]
    snapshot_renew_within_secs: Option<u64>,

    /// How often to check whether the snapshot needs re-signing, in milliseconds (0: never).
    #[arg(long, env = "REGISTRY_SNAPSHOT_CHECK_MS", default_value_t = 600_000)]
    snapshot_check_ms: u64,

    /// Seconds a client has to send a request's head; also how long a kept-alive connection may sit idle.
    #[arg(long, env = "REGISTRY_HEADER_READ_TIMEOUT_SECS", default_value_t = registry_server::ConnectionLimits::default().header_read_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout_secs: u64,

    /// Connections served at once; more wait until one closes.
    #[arg(long, env = "REGISTRY_MAX_CONNECTIONS", default_value_t = std::num::NonZeroUsize::new(registry_server::ConnectionLimits::default().max_connections).unwrap_or(std::num::NonZeroUsize::MIN))]
    max_connections: std::num::NonZeroUsize,

    /// Sustained API requests per second allowed per token.
    #[arg(long, env = "REGISTRY_RATE_PER_SECOND", default_value_t = registry_server::RateLimit::default().per_second)]
    rate_per_second: NonZeroU32,

    /// Memory for serving blobs without a storage read, in bytes.
    #[arg(long, env = "REGISTRY_BLOB_CACHE_BYTES", default_value_t = registry_server::Config::default().blob_cache_bytes)]
    blob_cache_bytes: u64,

    /// How long root.json, snapshot.json and indexes may be served from memory, in milliseconds (0: always read).
    #[arg(long, env = "REGISTRY_DOCUMENT_CACHE_MS", default_value_t = 500)]
    document_cache_ms: u64,

    /// Also serve /health, /ready and /metrics here, and /metrics only here
    /// (a port only monitoring reaches).
    #[arg(long, env = "REGISTRY_ADMIN_LISTEN")]
    admin_listen: Option<SocketAddr>,

    /// Uploads held in memory at once (each up to the body limit plus 256 MiB unpacked); more wait.
    #[arg(long, env = "REGISTRY_MAX_CONCURRENT_PUBLISHES", default_value_t = registry_server::Config::default().max_concurrent_publishes)]
    max_concurrent_publishes: usize,

    /// Auth mode: also accept tokens of this auth service (its
    /// POST /api/v1/verify decides; `publish`, `yank` and `registry:tokens`
    /// scopes); the registry's own tokens keep working.
    #[arg(long, env = "REGISTRY_AUTH_URL")]
    auth_url: Option<reqwest::Url>,

    /// Milliseconds a verified auth service token is trusted without asking
    /// again: also how long a revoked one keeps working here (at most 60000).
    #[arg(long, env = "REGISTRY_AUTH_CACHE_MS", default_value_t = 5000)]
    auth_cache_ms: u64,

    /// API requests a token may send at once above the sustained rate.
    #[arg(long, env = "REGISTRY_RATE_BURST", default_value_t = registry_server::RateLimit::default().burst)]
    rate_burst: NonZeroU32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    sidecar_http::init_tracing().context("setting up logging")?;
    let key = signing_key(&args)?;
    let storage = storage(&args)?;
    // Before serving: a wrong bucket or credentials, or a store that ignores
    // conditional writes, is a configuration error to report now.
    storage.verify().await.context("checking the storage")?;
    let mut config = registry_server::Config {
        max_body_bytes: args.max_body_bytes,
        snapshot_expires_in: Duration::from_secs(args.snapshot_expires_secs),
        rate_limit: registry_server::RateLimit { per_second: args.rate_per_second, burst: args.rate_burst },
        blob_cache_bytes: args.blob_cache_bytes,
        document_cache_ttl: Duration::from_millis(args.document_cache_ms),
        connection_limits: registry_server::ConnectionLimits {
            header_read_timeout: Duration::from_secs(args.header_read_timeout_secs),
            max_connections: args.max_connections.get(),
        },
        snapshot_renew_within: args.snapshot_renew_within_secs.map(Duration::from_secs),
        snapshot_check_interval: Duration::from_millis(args.snapshot_check_ms),
        admin_listen: args.admin_listen,
        max_concurrent_publishes: args.max_concurrent_publishes,
        auth: args.auth_url.clone().map(|url| sidecar_http::auth_client::AuthConfig {
            cache_ttl: Duration::from_millis(args.auth_cache_ms),
            ..sidecar_http::auth_client::AuthConfig::new(url)
        }),
        ..registry_server::Config::default()
    };
    if let Some(window) = config.snapshot_renew_within
        && window >= config.snapshot_expires_in
    {
        bail!(
            "REGISTRY_SNAPSHOT_RENEW_WITHIN_SECS ({}) must be shorter than REGISTRY_SNAPSHOT_EXPIRES_SECS ({}), or every check would re-sign",
            window.as_secs(),
            config.snapshot_expires_in.as_secs()
        );
    }
    if let Some(path) = &args.host_profile {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading the host profile {}", path.display()))?;
        config.host_profile = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a host profile (hostApi + shared)", path.display()))?;
    }
    if let Some(auth) = &config.auth {
        tracing::info!(auth_url = %auth.url, cache_ms = auth.cache_ttl.as_millis(), "auth mode: auth service tokens accepted");
    }
    let state = registry_server::AppState::new(config, storage, key)
        .context("setting up the server (REGISTRY_AUTH_CACHE_MS is at most 60000)")?;
    registry_server::run(args.listen, state).await.with_context(|| format!("serving the registry on {}", args.listen))
}

/// The key from REGISTRY_SIGNING_KEY (PEM text) or a file. Only its key id
/// is ever logged.
fn signing_key(args: &Args) -> anyhow::Result<registry::SigningKey> {
    if let Ok(pem) = std::env::var("REGISTRY_SIGNING_KEY") {
        // Env files and some secret stores carry the PEM on one line with
        // literal `\n`s; turn them back into line breaks.
        let pem = Zeroizing::new(pem.replace("\\n", "\n"));
        return registry::SigningKey::from_pem(&pem)
            .context("REGISTRY_SIGNING_KEY is not an ed25519 PKCS#8 PEM private key");
    }
    match &args.signing_key_file {
        Some(path) => Ok(registry::SigningKey::read_pem_file(path)?),
        None => bail!(
            "no signing key: set REGISTRY_SIGNING_KEY_FILE (or --signing-key-file) to the registry's snapshot key, or REGISTRY_SIGNING_KEY to its PEM"
        ),
    }
}

fn storage(args: &Args) -> anyhow::Result<registry_server::Storage> {
    if let Some(bucket) = &args.s3_bucket {
        #[cfg(feature = "aws")]
        return registry_server::Storage::s3(bucket, args.s3_prefix.as_deref()).context("configuring S3 storage");
        #[cfg(not(feature = "aws"))]
        bail!("REGISTRY_S3_BUCKET={bucket} is set but this build has no S3 support; build with `--features aws`");
    }
    let Some(dir) = &args.dir else {
        bail!("no storage: set REGISTRY_DIR (or --dir) to a registry folder, or REGISTRY_S3_BUCKET");
    };
    Ok(registry_server::Storage::local(dir)?)
}
