//! `augment providers add|list|remove`: the providers a run can use, as the
//! app keeps them in its settings.json (issue 17, point 7). The built-in
//! ones (openai, anthropic, groq) are always there; Ollama, LM Studio, vLLM
//! and any OpenAI-compatible endpoint are added under an id of their own,
//! with or without a key (`augment keys set ID`).
//!
//! settings.json is the app's file: it is changed as JSON, entry by entry,
//! and written whole through a temporary file and a rename, so every field
//! this version does not know (and every entry it cannot use) is kept.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::Subcommand;
use providers::{ProviderClient, ProviderConfig, ProviderKind, normalize_base_url};
use secrets::{KNOWN_PROVIDERS, KeyStatus, KeyStore};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::output::{Render, emit, message, table};
use crate::run::ConfigDir;
use crate::workflow::{default_app_dir, usage};

#[derive(Debug, Subcommand)]
pub enum ProvidersCommand {
    /// Add a provider: a local server (Ollama, LM Studio, vLLM) or any OpenAI-compatible endpoint.
    ///
    /// Its key, if it needs one, is stored with `augment keys set ID` and sent only to this
    /// base URL's origin, as in the app. Runs use it with `--provider ID`.
    Add {
        /// Its name: 1 to 40 of a-z, 0-9 and -, not openai, anthropic or groq (e.g. ollama, my-vllm).
        id: String,
        #[arg(long, value_parser = kind_parser())]
        kind: String,
        /// Where it listens, with or without the /v1 its docs show [default: the kind's usual local
        /// address: ollama http://localhost:11434, lm-studio http://localhost:1234, vllm
        /// http://localhost:8000; openai-compatible needs one].
        #[arg(long)]
        base_url: Option<String>,
        /// The model the app proposes for it.
        #[arg(long)]
        default_model: Option<String>,
        #[command(flatten)]
        config: ConfigDir,
    },
    /// Every provider, built-in and added: kind, base URL, key status, default model.
    List {
        #[command(flatten)]
        config: ConfigDir,
    },
    /// The models a provider offers (its `/v1/models`), asked with its saved base URL and key.
    Models {
        id: String,
        #[command(flatten)]
        config: ConfigDir,
    },
    /// Remove an added provider and its key in the OS keychain.
    Remove {
        id: String,
        #[command(flatten)]
        config: ConfigDir,
    },
}

fn kind_parser() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(ProviderKind::ALL.map(ProviderKind::as_str))
}

impl ConfigDir {
    /// The folder of the app's settings.json.
    pub fn resolve(&self) -> Result<PathBuf> {
        match &self.config_dir {
            Some(dir) => Ok(dir.clone()),
            None => default_app_dir(directories::BaseDirs::config_dir),
        }
    }
}

/// A provider's entry in the app's settings.json (the fields the CLI uses).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedProvider {
    pub base_url: Option<String>,
    pub default_model: Option<String>,
    pub key_origin: Option<String>,
    pub kind: Option<ProviderKind>,
}

impl SavedProvider {
    /// The client settings of `id` as the app builds them.
    pub fn config(&self, id: &str) -> Result<ProviderConfig, providers::Error> {
        ProviderConfig::saved(id, self.kind, self.base_url.as_deref())
    }
}

/// The app's settings.json: the whole document (to write back) and its
/// usable provider entries.
#[derive(Debug)]
pub struct SavedSettings {
    path: PathBuf,
    /// Everything but `providers`.
    document: serde_json::Map<String, Value>,
    /// `providers` as it is in the file, every entry.
    entries: serde_json::Map<String, Value>,
    pub providers: BTreeMap<String, SavedProvider>,
}

impl SavedSettings {
    /// Reads `<config dir>/settings.json`; a missing file is no settings.
    /// Like the app, a provider entry that cannot be used is skipped (and
    /// logged), the others are used.
    pub fn load(config_dir: &Path) -> Result<Self> {
        let path = config_dir.join("settings.json");
        let mut document = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(Value::Object(document)) => document,
                Ok(_) => anyhow::bail!("{} is not a JSON object; fix or delete it", path.display()),
                Err(err) => anyhow::bail!("{} is not valid settings ({err}); fix or delete it", path.display()),
            },
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => serde_json::Map::new(),
            Err(err) => return Err(anyhow::Error::new(err).context(format!("reading {}", path.display()))),
        };
        let entries = match document.remove("providers") {
            Some(Value::Object(entries)) => entries,
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(_) => anyhow::bail!("\"providers\" in {} is not a map of providers; fix it", path.display()),
        };
        let mut providers = BTreeMap::new();
        {
            for (id, raw) in &entries {
                let entry = serde_json::from_value::<SavedProvider>(raw.clone())
                    .map_err(|err| err.to_string())
                    .and_then(|entry| {
                        // A built-in provider's base URL is checked when its client is built.
                        if entry.kind.is_some() || ProviderConfig::builtin(id).is_none() {
                            entry.config(id).map_err(|err| err.to_string())?;
                        }
                        Ok(entry)
                    });
                match entry {
                    Ok(entry) => {
                        providers.insert(id.clone(), entry);
                    }
                    Err(err) => tracing::warn!(provider = %shown(id), %err, "settings: a provider entry was skipped"),
                }
            }
        }
        Ok(Self { path, document, entries, providers })
    }

    /// Every provider id: the built-in ones, then the added ones.
    pub fn ids(&self) -> Vec<String> {
        let added = self.providers.iter().filter(|(id, s)| s.kind.is_some() && ProviderConfig::builtin(id).is_none());
        KNOWN_PROVIDERS.iter().map(|id| (*id).to_owned()).chain(added.map(|(id, _)| id.clone())).collect()
    }

    /// The client settings of `id`, or a usage error listing the providers.
    pub fn config(&self, id: &str) -> Result<ProviderConfig> {
        if !self.ids().iter().any(|known| known == id) {
            return Err(usage(format!(
                "{} is not a known provider: use one of {} (or add it with `augment providers add`)",
                shown(id),
                self.ids().join(", ")
            )));
        }
        Ok(self.providers.get(id).cloned().unwrap_or_default().config(id)?)
    }

    fn save(&self) -> Result<()> {
        let mut document = self.document.clone();
        document.insert("providers".to_owned(), Value::Object(self.entries.clone()));
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let tmp = self.path.with_extension("json.tmp");
        let json = serde_json::to_vec_pretty(&document)?;
        std::fs::write(&tmp, json)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// A provider id for a message: a long value may be a key pasted by mistake.
fn shown(id: &str) -> String {
    if id.chars().count() <= 40 { format!("`{id}`") } else { "that value".to_owned() }
}

/// `scheme://host[:port]` of `url`, as the app computes it.
fn origin_of(url: &str) -> Option<String> {
    let origin = reqwest::Url::parse(url).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// A client for every provider, built-in and added, as the app's
/// `run_clients` makes them: the saved base URL, the keychain's key looked
/// up at each call, and the whole run refused while a provider's base URL
/// is not on the origin its key was stored for.
pub fn run_clients(config: &ConfigDir) -> Result<Vec<ProviderClient>> {
    let saved = SavedSettings::load(&config.resolve()?)?;
    let keys = KeyStore::system();
    saved.ids().iter().map(|provider| client(&saved, &keys, provider)).collect()
}

/// A client for one saved provider (`ID`), as a run would make it.
pub fn saved_client(config: &ConfigDir, provider: &str) -> Result<ProviderClient> {
    let saved = SavedSettings::load(&config.resolve()?)?;
    client(&saved, &KeyStore::system(), provider)
}

/// A client for `provider` as saved, refused while its base URL is not on
/// the origin its key was stored for.
fn client(saved: &SavedSettings, keys: &KeyStore, provider: &str) -> Result<ProviderClient> {
    let client = ProviderClient::new(saved.config(provider)?, Arc::new(keys.clone()))?;
    if let Some(bound) = saved.providers.get(provider).and_then(|s| s.key_origin.as_deref()) {
        let base_url = &client.config().base_url;
        let configured = origin_of(base_url).unwrap_or_else(|| base_url.clone());
        // A keychain that cannot say counts as holding a key.
        if configured != bound && keys.is_set(provider).unwrap_or(true) {
            tracing::warn!(provider, bound, configured, "refused to send a key to an origin it was not stored for");
            anyhow::bail!(
                "the {provider} key was stored for {bound}, but the saved base URL is on {configured}: \
                 nothing was sent. Confirm the new address in the app (Settings → Keys), or set the base URL back"
            );
        }
    }
    Ok(client)
}

pub async fn run(json: bool, command: ProvidersCommand) -> Result<ExitCode> {
    match command {
        ProvidersCommand::Add { id, kind, base_url, default_model, config } => {
            let kind = ProviderKind::parse(&kind).context("clap accepts only the known kinds")?;
            let mut saved = SavedSettings::load(&config.resolve()?)?;
            secrets::validate_provider(&id).map_err(|err| usage(err.to_string()))?;
            let base_url = base_url.map(|url| normalize_base_url(&url)).filter(|url| !url.is_empty());
            let default_model = default_model.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty());
            let client_config =
                ProviderConfig::custom(&id, kind, base_url.as_deref()).map_err(|err| usage(err.to_string()))?;
            if saved.entries.get(&id).is_some_and(|entry| entry.get("kind").is_some()) {
                return Err(usage(format!(
                    "there is already a provider named {id}: remove it first (`augment providers remove {id}`)"
                )));
            }
            let mut entry = json!({ "kind": kind });
            if let Some(url) = &base_url {
                entry["baseUrl"] = json!(url);
            }
            if let Some(model) = &default_model {
                entry["defaultModel"] = json!(model);
            }
            // Replaces a broken entry of that name, which no run could use.
            saved.entries.insert(id.clone(), entry);
            saved.save()?;
            tracing::info!(provider = id, %kind, "added a provider");
            emit(
                json,
                &message(
                    format!(
                        "added {id} ({kind}) at {}; runs use it with --provider {id}; if it needs a key: \
                         `augment keys set {id}`",
                        client_config.base_url
                    ),
                    json!({ "provider": id, "kind": kind, "baseUrl": client_config.base_url, "defaultModel": default_model }),
                ),
            )?;
        }
        ProvidersCommand::List { config } => {
            let saved = SavedSettings::load(&config.resolve()?)?;
            let ids = saved.ids();
            // The list is useful without a keychain (CI, containers): statuses then say unknown.
            let statuses: BTreeMap<String, KeyStatus> =
                match KeyStore::system().status(&ids.iter().map(String::as_str).collect::<Vec<_>>()) {
                    Ok(statuses) => statuses.into_iter().collect(),
                    Err(err) => {
                        tracing::warn!(%err, "key statuses could not be read");
                        BTreeMap::new()
                    }
                };
            let mut views = Vec::with_capacity(ids.len());
            for id in ids {
                let entry = saved.providers.get(&id).cloned().unwrap_or_default();
                let config = saved.config(&id)?;
                views.push(ProviderListing {
                    kind: entry.kind.map_or("built-in", ProviderKind::as_str).to_owned(),
                    base_url: config.base_url,
                    key: statuses.get(&id).map_or("unknown", |s| s.as_str()).to_owned(),
                    env_var: secrets::env_var_name(&id),
                    default_model: entry.default_model,
                    key_origin: entry.key_origin,
                    provider: id,
                });
            }
            emit(json, &ProviderList(views))?;
        }
        ProvidersCommand::Models { id, config } => {
            let saved = SavedSettings::load(&config.resolve()?)?;
            let client = client(&saved, &KeyStore::system(), &id)?;
            let models = client.list_models(&providers::CallOptions::new()).await?;
            emit(
                json,
                &ModelList(
                    models.into_iter().map(|m| ModelListing { id: m.id, display_name: m.display_name }).collect(),
                ),
            )?;
        }
        ProvidersCommand::Remove { id, config } => {
            if ProviderConfig::builtin(&id).is_some() {
                return Err(usage(format!(
                    "{id} is built in and cannot be removed: `augment keys delete {id}` removes its key"
                )));
            }
            let mut saved = SavedSettings::load(&config.resolve()?)?;
            if !saved.entries.contains_key(&id) {
                return Err(usage(format!(
                    "{} is not an added provider: the providers are {}",
                    shown(&id),
                    saved.ids().join(", ")
                )));
            }
            secrets::validate_provider(&id).map_err(|err| usage(err.to_string()))?;
            // The key goes first: should that fail, the provider stays listed with its key.
            let key_deleted = match KeyStore::system().delete(&id) {
                Ok(deleted) => deleted,
                // No keychain here, so no key of it either.
                Err(secrets::Error::NoKeychain { .. }) => false,
                Err(err) => return Err(err.into()),
            };
            saved.entries.remove(&id);
            saved.save()?;
            tracing::info!(provider = id, "removed a provider");
            let text = if key_deleted {
                format!("removed {id} and its key in the OS keychain")
            } else {
                format!("removed {id}")
            };
            emit(json, &message(text, json!({ "provider": id, "removed": true, "keyDeleted": key_deleted })))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderListing {
    provider: String,
    /// `built-in`, or the kind of an added provider.
    kind: String,
    /// In effect: the saved one, else the provider's own or the kind's usual address.
    base_url: String,
    /// `set`, `not set`, `from environment`, or `unknown` without a keychain.
    key: String,
    env_var: String,
    default_model: Option<String>,
    key_origin: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct ProviderList(Vec<ProviderListing>);

impl Render for ProviderList {
    fn human(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|p| {
                vec![
                    p.provider.clone(),
                    p.kind.clone(),
                    p.base_url.clone(),
                    p.key.clone(),
                    p.default_model.clone().unwrap_or_else(|| "-".to_owned()),
                ]
            })
            .collect();
        table(&["PROVIDER", "KIND", "BASE URL", "KEY", "DEFAULT MODEL"], &rows)
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelListing {
    id: String,
    display_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct ModelList(Vec<ModelListing>);

impl Render for ModelList {
    fn human(&self) -> String {
        if self.0.is_empty() {
            return "the provider offers no models".to_owned();
        }
        let rows: Vec<Vec<String>> =
            self.0.iter().map(|m| vec![m.id.clone(), m.display_name.clone().unwrap_or_default()]).collect();
        table(&["MODEL", "NAME"], &rows)
    }
}
