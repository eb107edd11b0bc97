//! The hosted registry from the command line: `augment publish --registry
//! https://…` (upload to a registry server, which validates and signs),
//! `augment yank … --registry https://…` (its yank API), `augment registry
//! serve DIR` (run the server over a folder) and `augment registry token
//! create|list|revoke`, on the folder itself or on a server with an admin
//! token.
//!
//! Serving and managing tokens in a folder run the server's own code
//! (crate `registry-server`), behind the cargo feature `server` (on by
//! default). Without it `augment` is a client only: publishing, yanking and
//! token management over HTTP still work, using the wire formats in
//! `registry::hosted`, and the commands that need the server say how to get it.

#[cfg(feature = "server")]
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::output::{emit, message};

use registry::hosted::TokenSummary;

/// What a build without the `server` feature answers where the server's code is needed.
#[cfg(not(feature = "server"))]
const NO_SERVER: &str = "this `augment` was built without the registry server (the cargo feature `server`, on by \
    default): rebuild it with `cargo build -p cli --features server`, or run the server on its own with \
    `cargo run -p registry-server -- --dir DIR --signing-key-file KEY` or the `docker/registry-server` image";

#[cfg(feature = "server")]
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
    /// How long each snapshot the server signs stays valid.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30days")]
    pub snapshot_expires_in: Duration,
    /// Re-sign the snapshot when it expires within this long [default: a third of --snapshot-expires-in].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub renew_within: Option<Duration>,
    /// How often to check whether the snapshot needs re-signing ("0s": never).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m")]
    pub renew_check_every: Duration,
}

/// Without the `server` feature, `registry serve` takes any arguments, so
/// its answer is how to get the server rather than a usage error.
#[cfg(not(feature = "server"))]
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Ignored: this build cannot serve (run it to see how to get one that can).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a token scoped to some remotes (or an admin token); it is printed once and stored only as a hash.
    Create {
        #[command(flatten)]
        target: TokenTarget,
        /// Remote names the token may publish and yank, comma-separated (`*` for all).
        #[arg(long, value_delimiter = ',', required_unless_present = "admin")]
        remotes: Vec<String>,
        /// May list, mint and revoke publish tokens on the server (only with --registry-dir: the folder is the authority).
        #[arg(long)]
        admin: bool,
        /// A note for whoever reads the token list later (e.g. "CI of team X").
        #[arg(long)]
        description: Option<String>,
    },
    /// List tokens: id, scope, creation time and note (never the tokens themselves).
    List {
        #[command(flatten)]
        target: TokenTarget,
    },
    /// Revoke a token by id: every server sharing the registry refuses it from its next request on.
    Revoke {
        /// The token's id, as `token list` shows it.
        id: String,
        #[command(flatten)]
        target: TokenTarget,
    },
}

/// Where the tokens are: the registry folder, or a server's API.
#[derive(Debug, Args)]
pub struct TokenTarget {
    /// The registry folder the server serves (its storage).
    #[arg(long, conflicts_with = "registry")]
    pub registry_dir: Option<PathBuf>,
    /// A registry server's http(s):// URL (needs an admin --token), or a registry folder.
    #[arg(long)]
    pub registry: Option<String>,
    /// An admin token for the server (prefer the environment variable: arguments show in process lists).
    #[arg(long, env = "AUGMENT_REGISTRY_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

enum Tokens {
    #[cfg(feature = "server")]
    Folder(registry_server::Storage),
    Server {
        url: String,
        token: String,
    },
}

impl TokenTarget {
    fn open(self) -> Result<Tokens> {
        let dir = match (self.registry_dir, self.registry) {
            (_, Some(url)) if is_url(&url) => {
                check_token_transport(&url)?;
                let token = self.token.filter(|t| !t.is_empty()).context(
                    "managing tokens on a registry server needs an admin token: set AUGMENT_REGISTRY_ADMIN_TOKEN \
                     (or pass --token); mint one where the registry is stored with \
                     `augment registry token create --registry-dir DIR --admin`",
                )?;
                return Ok(Tokens::Server { url: url.trim_end_matches('/').to_owned(), token });
            }
            (Some(dir), _) => dir,
            (None, Some(dir)) => PathBuf::from(dir),
            (None, None) => bail!(
                "say where the tokens are: --registry-dir DIR (the registry folder) or --registry URL with an admin --token"
            ),
        };
        anyhow::ensure!(
            dir.join("root.json").is_file(),
            "{} is not a registry (no root.json): create one with `augment registry init`",
            dir.display()
        );
        Self::open_folder(&dir)
    }

    #[cfg(feature = "server")]
    fn open_folder(dir: &Path) -> Result<Tokens> {
        let storage = registry_server::Storage::local(dir)
            .with_context(|| format!("opening the registry folder {}", dir.display()))?;
        Ok(Tokens::Folder(storage))
    }

    #[cfg(not(feature = "server"))]
    fn open_folder(dir: &Path) -> Result<Tokens> {
        bail!(
            "managing the tokens in the registry folder {} needs the server's code: {NO_SERVER}; \
             or manage them on a running server with --registry URL and an admin token",
            dir.display()
        )
    }
}

/// Refuses to send a token over plain http to anything but this machine
/// (issue 20 point 8): on the way anyone on the network could read it and
/// publish in its name.
fn check_token_transport(url: &str) -> Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{url} is not a URL"))?;
    let host = parsed.host_str().unwrap_or_default();
    let loopback = match host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    };
    anyhow::ensure!(
        parsed.scheme() != "http" || loopback,
        "refusing to send a registry token over plain http to {}: anyone on the way could read it; \
         use the server's https:// URL (plain http is only for this machine: localhost, 127.0.0.1, [::1])",
        parsed.host_str().unwrap_or("?")
    );
    Ok(())
}

/// Whether `--registry` names a server rather than a folder.
pub fn is_url(registry: &str) -> bool {
    registry.starts_with("http://") || registry.starts_with("https://")
}

#[cfg(not(feature = "server"))]
pub async fn serve(_args: ServeArgs) -> Result<ExitCode> {
    bail!("`augment registry serve` is not in this build: {NO_SERVER}")
}

#[cfg(feature = "server")]
pub async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let key = registry::SigningKey::read_pem_file(&args.key)?;
    let storage = registry_server::Storage::local(&args.dir)
        .with_context(|| format!("opening the registry folder {}", args.dir.display()))?;
    if let Some(window) = args.renew_within
        && window >= args.snapshot_expires_in
    {
        bail!(
            "--renew-within ({}) must be shorter than --snapshot-expires-in ({}), or every check would re-sign",
            humantime::format_duration(window),
            humantime::format_duration(args.snapshot_expires_in)
        );
    }
    let config = registry_server::Config {
        snapshot_expires_in: args.snapshot_expires_in,
        snapshot_renew_within: args.renew_within,
        snapshot_check_interval: args.renew_check_every,
        ..registry_server::Config::default()
    };
    let state = registry_server::AppState::new(config, storage, key).context("setting up the registry server")?;
    registry_server::run(args.listen, state)
        .await
        .with_context(|| format!("serving {} on {}", args.dir.display(), args.listen))?;
    Ok(ExitCode::SUCCESS)
}

pub async fn token(json: bool, command: TokenCommand) -> Result<ExitCode> {
    match command {
        TokenCommand::Create { target, remotes, admin, description } => {
            token_create(json, target.open()?, remotes, admin, description).await
        }
        TokenCommand::List { target } => token_list(json, target.open()?).await,
        TokenCommand::Revoke { id, target } => token_revoke(json, target.open()?, &id).await,
    }
}

async fn token_create(
    json: bool,
    tokens: Tokens,
    remotes: Vec<String>,
    admin: bool,
    description: Option<String>,
) -> Result<ExitCode> {
    match tokens {
        #[cfg(feature = "server")]
        Tokens::Folder(storage) => {
            let (token, record) =
                registry_server::tokens::create_scoped(&storage, &remotes, admin, description).await?;
            show_created(json, token.as_str(), &record.summary())
        }
        Tokens::Server { .. } if admin => bail!(
            "admin tokens are minted only where the registry is stored, so the API cannot widen its own rights: \
             use `augment registry token create --registry-dir DIR --admin`"
        ),
        Tokens::Server { url, token: admin_token } => {
            let endpoint = format!("{url}/api/v1/tokens");
            let request = api_client()?
                .post(&endpoint)
                .bearer_auth(&admin_token)
                .json(&json!({ "remotes": remotes, "description": description }));
            let mut body = call(request, &endpoint, "minting the token").await?;
            let token = body.as_object_mut().and_then(|fields| fields.remove("token"));
            let Some(serde_json::Value::String(token)) = token else {
                bail!("{endpoint} answered without a token");
            };
            let summary: TokenSummary =
                serde_json::from_value(body).with_context(|| format!("{endpoint} answered an unexpected shape"))?;
            show_created(json, &token, &summary)
        }
    }
}

/// The one place a token is ever shown: to the person who minted it.
fn show_created(json: bool, token: &str, summary: &TokenSummary) -> Result<ExitCode> {
    let scope = scope_text(summary);
    let text = if summary.admin {
        format!(
            "{}\n\nThis admin token is shown once and stored only as a hash (id {}). It may {scope}.\n\
             Keep it in a password manager; pass it as AUGMENT_REGISTRY_ADMIN_TOKEN.",
            token, summary.id
        )
    } else {
        format!(
            "{}\n\nThis publish token is shown once and stored only as a hash (id {}). It may {scope}.\n\
             Keep it in your CI's secrets as AUGMENT_REGISTRY_TOKEN.",
            token, summary.id
        )
    };
    let details = json!({
        "token": token,
        "id": summary.id,
        "remotes": summary.remotes,
        "admin": summary.admin,
    });
    emit(json, &message(text, details))?;
    Ok(ExitCode::SUCCESS)
}

async fn token_list(json: bool, tokens: Tokens) -> Result<ExitCode> {
    let list: Vec<TokenSummary> = match tokens {
        #[cfg(feature = "server")]
        Tokens::Folder(storage) => {
            registry_server::tokens::list(&storage).await?.iter().map(registry_server::TokenRecord::summary).collect()
        }
        Tokens::Server { url, token } => {
            let endpoint = format!("{url}/api/v1/tokens");
            let body = call(api_client()?.get(&endpoint).bearer_auth(&token), &endpoint, "listing tokens").await?;
            serde_json::from_value(body["tokens"].clone())
                .with_context(|| format!("{endpoint} answered an unexpected shape"))?
        }
    };
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|t| vec![t.id.clone(), scope_text(t), t.created.to_string(), t.description.clone().unwrap_or_default()])
        .collect();
    let text = if list.is_empty() {
        "no tokens: mint one with `augment registry token create`".to_owned()
    } else {
        crate::output::table(&["ID", "SCOPE", "CREATED", "DESCRIPTION"], &rows)
    };
    emit(json, &message(text, json!({ "tokens": list })))?;
    Ok(ExitCode::SUCCESS)
}

async fn token_revoke(json: bool, tokens: Tokens, id: &str) -> Result<ExitCode> {
    let summary: TokenSummary = match tokens {
        #[cfg(feature = "server")]
        Tokens::Folder(storage) => registry_server::tokens::revoke(&storage, id).await?.summary(),
        Tokens::Server { url, token } => {
            let endpoint = format!("{url}/api/v1/tokens/{id}");
            let body =
                call(api_client()?.delete(&endpoint).bearer_auth(&token), &endpoint, "revoking the token").await?;
            serde_json::from_value(body["revoked"].clone())
                .with_context(|| format!("{endpoint} answered an unexpected shape"))?
        }
    };
    let text = format!(
        "revoked token {} (it could {}): every server sharing this registry refuses it from its next request on",
        summary.id,
        scope_text(&summary)
    );
    emit(json, &message(text, json!({ "revoked": summary })))?;
    Ok(ExitCode::SUCCESS)
}

/// What a token may do, in words.
fn scope_text(token: &TokenSummary) -> String {
    let remotes = if token.remotes.is_empty() {
        None
    } else if token.remotes.iter().any(|r| r == "*") {
        Some("publish and yank every remote".to_owned())
    } else {
        Some(format!("publish and yank {}", token.remotes.join(", ")))
    };
    match (token.admin, remotes) {
        (true, Some(remotes)) => format!("manage tokens, {remotes}"),
        (true, None) => "manage tokens".to_owned(),
        (false, Some(remotes)) => remotes,
        (false, None) => "do nothing".to_owned(),
    }
}

/// Yanks (or un-yanks) through a registry server's API with a publish token.
pub async fn yank(
    json: bool,
    url: &str,
    name: &str,
    version: &manifest::Version,
    yanked: bool,
    token: Option<String>,
) -> Result<ExitCode> {
    check_token_transport(url)?;
    let token = token.filter(|t| !t.is_empty()).context(
        "a registry server needs a token scoped to this remote: set AUGMENT_REGISTRY_TOKEN (or pass --token); \
         the registry's owner mints one with `augment registry token create`",
    )?;
    let action = if yanked { "yank" } else { "unyank" };
    let endpoint = format!("{}/api/v1/remotes/{name}/versions/{version}/{action}", url.trim_end_matches('/'));
    let what = format!("{action} of {name} {version}");
    let body = call(api_client()?.post(&endpoint).bearer_auth(&token), &endpoint, &what).await?;
    let text = crate::lifecycle::yank_text(
        name,
        &version.to_string(),
        yanked,
        body["changed"].as_bool().unwrap_or(true),
        body["snapshotVersion"].as_u64().unwrap_or_default(),
    );
    emit(json, &message(format!("{text}; signed by the registry"), body))?;
    Ok(ExitCode::SUCCESS)
}

fn api_client() -> Result<reqwest::Client> {
    http_client(Duration::from_secs(60))
}

fn http_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .build()
        .context("building the HTTP client")
}

/// Sends an API request and returns its JSON body, or the server's refusal
/// (`{ code, message }`) as an error that says what was refused.
async fn call(request: reqwest::RequestBuilder, endpoint: &str, what: &str) -> Result<serde_json::Value> {
    let response = request.send().await.with_context(|| format!("{what}: could not reach {endpoint}"))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .with_context(|| format!("{endpoint} answered HTTP {status} with something that is not JSON"))?;
    if !status.is_success() {
        let code = body["code"].as_str().unwrap_or("error");
        let reason = body["message"].as_str().unwrap_or("no reason given");
        bail!("the registry refused the {what} (HTTP {}, {code}): {reason}", status.as_u16());
    }
    Ok(body)
}

pub async fn publish(json: bool, remote_dir: &Path, url: &str, token: Option<String>) -> Result<ExitCode> {
    check_token_transport(url)?;
    let token = token.filter(|t| !t.is_empty()).context(
        "a registry server needs a publish token: set AUGMENT_REGISTRY_TOKEN (or pass --token); the registry's owner mints one with `augment registry token create`",
    )?;
    // The server checks the token's scope against `?name=` before it reads
    // the upload, and then holds remote.json to that name.
    let manifest_path = remote_dir.join("remote.json");
    let name = std::fs::read(&manifest_path)
        .map_err(anyhow::Error::from)
        .and_then(|bytes| Ok(manifest::RemoteManifest::from_json(&bytes)?.name))
        .with_context(|| format!("reading the remote's name from {}", manifest_path.display()))?;
    let dir = remote_dir.to_owned();
    let body = tokio::task::spawn_blocking(move || registry::hosted::pack_dir(&dir))
        .await
        .context("packing the remote")?
        .with_context(|| format!("packing {}", remote_dir.display()))?;
    let endpoint = format!("{}/api/v1/publish", url.trim_end_matches('/'));
    // An upload may take longer than an API call.
    let upload = http_client(Duration::from_secs(300))?
        .post(&endpoint)
        .query(&[("name", &name)])
        .bearer_auth(&token)
        .header(reqwest::header::CONTENT_TYPE, "application/gzip")
        .body(body);
    let body = call(upload, &endpoint, "publish").await?;
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
