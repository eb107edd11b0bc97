//! `augment keys set|status|delete` and `augment ask`: provider API keys in the
//! OS keychain (crates/secrets) and a streamed answer from a provider
//! (crates/providers), headless.
//!
//! A key is read from standard input only — piped, or typed at a prompt that
//! does not echo — never from an argument, which would leave it in the shell
//! history and in every process listing.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use futures_util::StreamExt as _;
use providers::{CallOptions, ChatRequest, ProviderClient, ProviderConfig, StreamEvent};
use secrets::{KeyStatus, KeyStore, Secret};
use serde::Serialize;
use serde_json::json;

use crate::interrupt::CtrlC;
use crate::output::{Render, emit, message, table};
use crate::provider_settings::SavedSettings;
use crate::run::ConfigDir;

/// Longest input accepted as a key; anything longer is a file piped by mistake.
const MAX_KEY_BYTES: u64 = 16 * 1024;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Store PROVIDER's API key in the OS keychain (service `augment-it`, account PROVIDER).
    ///
    /// The key is read from standard input: pipe it in (`pass show openai | augment keys set openai`)
    /// or paste it at the prompt, which does not echo. There is no option to pass it as an argument.
    ///
    /// PROVIDER is openai, anthropic, groq or a provider added with `augment providers add`.
    Set {
        #[arg(value_parser = provider_id)]
        provider: String,
        #[command(flatten)]
        config: ConfigDir,
    },
    /// Show for each provider (built-in and added) whether a key is set, and whether it comes
    /// from the keychain or the provider's environment variable (which wins).
    Status {
        #[command(flatten)]
        config: ConfigDir,
    },
    /// Remove PROVIDER's key from the OS keychain (its environment variable, if set, stays).
    Delete {
        #[arg(value_parser = provider_id)]
        provider: String,
    },
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The provider whose key and API to use: a built-in one, or one added with `augment providers add`.
    #[arg(value_parser = provider_id)]
    pub provider: String,
    /// The model to ask, e.g. gpt-4o-mini, claude-3-5-haiku-latest, llama-3.1-8b-instant.
    #[arg(long)]
    pub model: String,
    /// Send the request here instead of the provider's own API (a proxy or a compatible server),
    /// with or without /v1, e.g. http://localhost:11434. The provider's key is sent along.
    #[arg(long)]
    pub base_url: Option<String>,
    #[command(flatten)]
    pub config: ConfigDir,
    /// What to ask.
    pub prompt: String,
}

/// A well-formed provider id (whether it exists is checked against the settings).
fn provider_id(value: &str) -> Result<String, String> {
    secrets::validate_provider(value).map(|()| value.to_owned()).map_err(|err| err.to_string())
}

pub async fn run(json: bool, command: KeysCommand) -> Result<ExitCode> {
    let store = KeyStore::system();
    match command {
        KeysCommand::Set { provider, config } => {
            // Before the key is read: a key for a provider that does not exist would sit unused.
            SavedSettings::load(&config.resolve()?)?.config(&provider)?;
            let key = read_key(&provider)?;
            store.set(&provider, key)?;
            let text = format!("stored the {provider} key in the OS keychain (service augment-it, account {provider})");
            let mut details = json!({ "provider": provider, "status": "set" });
            if let Some(variable) = env_override(&provider) {
                details["overriddenBy"] = json!(variable);
                emit(json, &message(format!("{text}\nnote: {variable} is set and takes precedence"), details))?;
            } else {
                emit(json, &message(text, details))?;
            }
        }
        KeysCommand::Status { config } => {
            let ids = SavedSettings::load(&config.resolve()?)?.ids();
            let status = store.status(&ids.iter().map(String::as_str).collect::<Vec<_>>())?;
            emit(
                json,
                &StatusView(
                    status.into_iter().map(|(provider, status)| ProviderStatus::new(provider, status)).collect(),
                ),
            )?;
        }
        KeysCommand::Delete { provider } => {
            let existed = store.delete(&provider)?;
            let text = if existed {
                format!("deleted the {provider} key from the OS keychain")
            } else {
                format!("no {provider} key was in the OS keychain")
            };
            emit(json, &message(text, json!({ "provider": provider, "deleted": existed })))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The key from a pipe, or from a prompt without echo on a terminal.
fn read_key(provider: &str) -> Result<Secret> {
    let stdin = std::io::stdin();
    let raw = if stdin.is_terminal() {
        rpassword::prompt_password(format!("API key for {provider} (input hidden): "))
            .context("reading the key from the terminal")?
    } else {
        // Sized up front so that reading does not reallocate and leave copies behind.
        let mut raw = String::with_capacity(MAX_KEY_BYTES as usize + 1);
        stdin
            .lock()
            .take(MAX_KEY_BYTES + 1)
            .read_to_string(&mut raw)
            .context("reading the key from standard input (it must be UTF-8 text)")?;
        if raw.len() as u64 > MAX_KEY_BYTES {
            // Not a key: drop it (Secret zeroes it) and say so without echoing.
            drop(Secret::new(raw));
            anyhow::bail!(
                "standard input holds more than {MAX_KEY_BYTES} bytes, which is not an API key: pipe in only the key"
            );
        }
        raw
    };
    // Secret::new trims the trailing newline (and any surrounding whitespace).
    let key = Secret::new(raw);
    anyhow::ensure!(
        !key.is_empty(),
        "no key was given for {provider}: pipe it in (`… | augment keys set {provider}`) or paste it at the prompt"
    );
    Ok(key)
}

fn env_override(provider: &str) -> Option<String> {
    let variable = secrets::env_var_name(provider);
    std::env::var_os(&variable).is_some_and(|v| !v.is_empty()).then_some(variable)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderStatus {
    provider: String,
    set: bool,
    /// `keychain`, `environment`, or null when not set.
    source: Option<&'static str>,
    env_var: String,
}

impl ProviderStatus {
    fn new(provider: String, status: KeyStatus) -> Self {
        let source = match status {
            KeyStatus::Set => Some("keychain"),
            KeyStatus::FromEnvironment => Some("environment"),
            _ => None,
        };
        let env_var = secrets::env_var_name(&provider);
        Self { provider, set: source.is_some(), source, env_var }
    }
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct StatusView(Vec<ProviderStatus>);

impl Render for StatusView {
    fn human(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|p| {
                let from = match p.source {
                    Some("environment") => format!("environment ({})", p.env_var),
                    Some(source) => source.to_owned(),
                    None => "-".to_owned(),
                };
                vec![p.provider.clone(), if p.set { "set" } else { "not set" }.to_owned(), from]
            })
            .collect();
        table(&["PROVIDER", "KEY", "FROM"], &rows)
    }
}

/// Streams the answer to standard output as it arrives; retries are reported
/// on standard error; Ctrl-C cancels the request in flight.
pub async fn ask(args: AskArgs) -> Result<ExitCode> {
    // A built-in provider is asked at its own API (or --base-url), as before; an added one where it was saved.
    let mut config = match ProviderConfig::builtin(&args.provider) {
        Some(preset) => preset,
        None => SavedSettings::load(&args.config.resolve()?)?.config(&args.provider)?,
    };
    if let Some(base_url) = args.base_url {
        config = config.with_base_url(base_url);
    }
    let client = ProviderClient::new(config, Arc::new(KeyStore::system()))?;
    let ctrl_c = CtrlC::listen();
    let options = CallOptions::new().cancel_with(ctrl_c.token.clone()).on_progress(|progress| eprintln!("{progress}"));
    let request = ChatRequest::new(args.model, args.prompt);
    let mut stream = client.chat_stream(&request, &options).await?;
    let mut stdout = std::io::stdout().lock();
    while let Some(event) = stream.next().await {
        if let StreamEvent::Delta { text } = event? {
            stdout.write_all(text.as_bytes()).context("writing the answer to standard output")?;
            stdout.flush().context("writing the answer to standard output")?;
        }
    }
    writeln!(stdout).context("writing the answer to standard output")?;
    Ok(ExitCode::SUCCESS)
}
