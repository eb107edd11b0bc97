//! The hosted registry from the command line: `augment publish --registry
//! https://…` (upload to a registry server, which validates and signs),
//! `augment registry serve DIR` (run the server over a folder) and
//! `augment registry token create` (mint a publish token).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::output::{emit, message};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The registry folder (created by `augment registry init`).
    pub dir: PathBuf,
    /// Address to listen on; loopback unless you mean to share it.
    #[arg(long, default_value = registry_server::DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The registry's snapshot signing key (PKCS#8 PEM).
    #[arg(long, env = "AUGMENT_REGISTRY_KEY_FILE")]
    pub key: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a publish token scoped to some remotes; it is printed once and stored only as a hash.
    Create {
        /// The registry folder the server serves.
        #[arg(long)]
        registry_dir: PathBuf,
        /// Remote names the token may publish and yank, comma-separated (`*` for all).
        #[arg(long, value_delimiter = ',', required = true)]
        remotes: Vec<String>,
        /// A note for whoever reads the token list later (e.g. "CI of team X").
        #[arg(long)]
        description: Option<String>,
    },
}

/// Whether `--registry` names a server rather than a folder.
pub fn is_url(registry: &str) -> bool {
    registry.starts_with("http://") || registry.starts_with("https://")
}

pub async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let key = registry::SigningKey::read_pem_file(&args.key)?;
    let storage = registry_server::Storage::local(&args.dir)
        .with_context(|| format!("opening the registry folder {}", args.dir.display()))?;
    let state = registry_server::AppState::new(registry_server::Config::default(), storage, key)
        .context("setting up the registry server")?;
    registry_server::run(args.listen, state)
        .await
        .with_context(|| format!("serving {} on {}", args.dir.display(), args.listen))?;
    Ok(ExitCode::SUCCESS)
}

pub async fn token(json: bool, command: TokenCommand) -> Result<ExitCode> {
    let TokenCommand::Create { registry_dir, remotes, description } = command;
    anyhow::ensure!(
        registry_dir.join("root.json").is_file(),
        "{} is not a registry (no root.json): create one with `augment registry init`",
        registry_dir.display()
    );
    let storage = registry_server::Storage::local(&registry_dir)?;
    let (token, record) = registry_server::tokens::create(&storage, &remotes, description).await?;
    // The one place a token is ever shown: to the person who minted it.
    let text = format!(
        "{}\n\nThis publish token is shown once and stored only as a hash (id {}). It may publish and yank: {}.\n\
         Keep it in your CI's secrets as AUGMENT_REGISTRY_TOKEN.",
        token.as_str(),
        record.id,
        record.remotes.join(", ")
    );
    emit(json, &message(text, json!({ "token": token.as_str(), "id": record.id, "remotes": record.remotes })))?;
    Ok(ExitCode::SUCCESS)
}

pub async fn publish(json: bool, remote_dir: &Path, url: &str, token: Option<String>) -> Result<ExitCode> {
    let token = token.filter(|t| !t.is_empty()).context(
        "a registry server needs a publish token: set AUGMENT_REGISTRY_TOKEN (or pass --token); the registry's owner mints one with `augment registry token create`",
    )?;
    let dir = remote_dir.to_owned();
    let body = tokio::task::spawn_blocking(move || registry_server::bundle::pack_dir(&dir))
        .await
        .context("packing the remote")?
        .with_context(|| format!("packing {}", remote_dir.display()))?;
    let endpoint = format!("{}/api/v1/publish", url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(300))
        .build()
        .context("building the HTTP client")?;
    let response = client
        .post(&endpoint)
        .bearer_auth(&token)
        .header(reqwest::header::CONTENT_TYPE, "application/gzip")
        .body(body)
        .send()
        .await
        .with_context(|| format!("uploading to {endpoint}"))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .with_context(|| format!("{endpoint} answered HTTP {status} with something that is not JSON"))?;
    if !status.is_success() {
        let code = body["code"].as_str().unwrap_or("error");
        let reason = body["message"].as_str().unwrap_or("no reason given");
        bail!("the registry refused the publish (HTTP {}, {code}): {reason}", status.as_u16());
    }
    let text = format!(
        "published {} {} ({} files, {} bytes) — snapshot version {}, signed by the registry",
        body["name"].as_str().unwrap_or("?"),
        body["version"].as_str().unwrap_or("?"),
        body["files"],
        body["bytes"],
        body["snapshotVersion"]
    );
    emit(json, &message(text, body))?;
    Ok(ExitCode::SUCCESS)
}
