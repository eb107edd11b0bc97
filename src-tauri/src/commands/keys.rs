//! AI provider keys and settings: a key goes into the OS keychain
//! (crates/secrets) and never comes back out through IPC. The UI learns only
//! whether a key is set, and whether it works (a model listing through
//! crates/providers, signed in Rust).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use providers::{CallOptions, ProviderClient, ProviderConfig};
use secrets::{KNOWN_PROVIDERS, KeyStatus, KeyStore, Secret};
use serde::Serialize;
use tauri::{AppHandle, Emitter as _, Runtime, State};

use crate::commands::events;
use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::settings::ProviderSettings;
use crate::shell::ShellState;

/// A key test is one small request: give up well before a person would.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest base URL or model name accepted from the UI.
const MAX_FIELD_LEN: usize = 2048;

/// The OS keychain, managed as Tauri state.
#[derive(Debug, Clone)]
pub struct KeysState {
    store: KeyStore,
}

impl KeysState {
    /// The platform keychain, with the `AUGMENT_<PROVIDER>_API_KEY` overrides.
    pub fn system() -> Self {
        Self { store: KeyStore::system() }
    }
}

/// Where a provider's key comes from; the key itself is never part of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyState {
    /// In the OS keychain.
    Set,
    NotSet,
    /// The provider's environment variable supplies it (and wins over the keychain).
    FromEnvironment,
}

impl From<KeyStatus> for KeyState {
    fn from(status: KeyStatus) -> Self {
        match status {
            KeyStatus::Set => KeyState::Set,
            KeyStatus::FromEnvironment => KeyState::FromEnvironment,
            _ => KeyState::NotSet,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderView {
    pub provider: String,
    pub key: KeyState,
    /// The variable that overrides the keychain, e.g. `AUGMENT_OPENAI_API_KEY`.
    pub env_var: String,
    /// The provider's own API, used when no base URL is saved.
    pub default_base_url: String,
    pub settings: ProviderSettings,
}

/// The outcome of testing a key: `ok`, or the typed error's code and its message.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyTest {
    pub ok: bool,
    /// The providers crate's error code (`invalid_key`, `rate_limited` …) when not ok.
    pub code: Option<&'static str>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelView {
    pub id: String,
    pub display_name: Option<String>,
}

/// A retry or throttle while a provider call waits, for the UI to show.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressEvent {
    pub provider: String,
    pub message: String,
}

impl From<secrets::Error> for CommandError {
    fn from(err: secrets::Error) -> Self {
        let code = match &err {
            secrets::Error::InvalidProvider { .. } | secrets::Error::EmptyKey { .. } => ErrorCode::InvalidInput,
            _ => ErrorCode::Keychain,
        };
        Self::new(code, err.to_string())
    }
}

impl From<providers::Error> for CommandError {
    fn from(err: providers::Error) -> Self {
        match err {
            providers::Error::Keychain(inner) => inner.into(),
            providers::Error::InvalidConfig { .. } => Self::invalid(err.to_string()),
            other => Self::new(ErrorCode::Provider, other.to_string()),
        }
    }
}

/// Every built-in provider: whether its key is set, and its saved settings.
#[tauri::command]
pub async fn provider_status(
    shell: State<'_, ShellState>,
    keys: State<'_, KeysState>,
) -> CommandResult<Vec<ProviderView>> {
    let store = keys.store.clone();
    let statuses = blocking(move || store.status(&KNOWN_PROVIDERS)).await??;
    let mut saved = shell.settings.load()?.providers;
    Ok(statuses
        .into_iter()
        .map(|(provider, status)| ProviderView {
            key: status.into(),
            env_var: secrets::env_var_name(&provider),
            default_base_url: ProviderConfig::builtin(&provider).map(|c| c.base_url).unwrap_or_default(),
            settings: saved.remove(&provider).unwrap_or_default(),
            provider,
        })
        .collect())
}

/// Stores `key` for `provider` in the OS keychain. The reply is only `"set"`.
#[tauri::command]
pub async fn set_api_key(keys: State<'_, KeysState>, provider: String, key: String) -> CommandResult<KeyState> {
    // Wrapped at once: from here on the key is zeroed when dropped and cannot be printed.
    let key = Secret::new(key);
    known_provider(&provider)?;
    if key.is_empty() {
        return Err(CommandError::invalid(format!("the key for {provider} is empty: paste the whole key")));
    }
    let store = keys.store.clone();
    blocking(move || store.set(&provider, key)).await??;
    Ok(KeyState::Set)
}

/// Removes `provider`'s key from the OS keychain; replies where a key would
/// come from now (`notSet`, or `fromEnvironment`).
#[tauri::command]
pub async fn delete_api_key(keys: State<'_, KeysState>, provider: String) -> CommandResult<KeyState> {
    known_provider(&provider)?;
    let store = keys.store.clone();
    let status = blocking(move || {
        store.delete(&provider)?;
        store.status(&[provider.as_str()])
    })
    .await??;
    Ok(status.into_iter().next().map_or(KeyState::NotSet, |(_, s)| s.into()))
}

/// Checks the key with one cheap request (the model list): `ok`, or the
/// provider error's code and human message.
#[tauri::command]
pub async fn test_api_key<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, ShellState>,
    keys: State<'_, KeysState>,
    provider: String,
) -> CommandResult<KeyTest> {
    let client = client_for(&shell, &keys, &provider)?;
    Ok(match client.list_models(&progress_to(app, &provider)).await {
        Ok(models) => KeyTest {
            ok: true,
            code: None,
            message: format!("the key works: {} offers {} model(s)", provider, models.len()),
        },
        Err(err) => {
            tracing::info!(provider, code = err.code(), "key test failed");
            KeyTest { ok: false, code: Some(err.code()), message: err.to_string() }
        }
    })
}

/// The models `provider` offers to this key.
#[tauri::command]
pub async fn provider_models<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, ShellState>,
    keys: State<'_, KeysState>,
    provider: String,
) -> CommandResult<Vec<ModelView>> {
    let client = client_for(&shell, &keys, &provider)?;
    let models = client.list_models(&progress_to(app, &provider)).await?;
    Ok(models.into_iter().map(|m| ModelView { id: m.id, display_name: m.display_name }).collect())
}

/// Saves `provider`'s base URL (empty: the provider's own API) and default model.
#[tauri::command]
pub async fn save_provider_settings(
    shell: State<'_, ShellState>,
    provider: String,
    base_url: Option<String>,
    default_model: Option<String>,
) -> CommandResult<ProviderSettings> {
    let preset = known_provider(&provider)?;
    let settings = ProviderSettings { base_url: non_empty(base_url)?, default_model: non_empty(default_model)? };
    if let Some(url) = &settings.base_url {
        // The providers crate's own check: a URL, http(s), no credentials, no /v1.
        ProviderClient::new(preset.with_base_url(url.clone()), Arc::new(providers::Keyless))?;
    }
    let mut saved = shell.settings.load()?;
    if settings == ProviderSettings::default() {
        saved.providers.remove(&provider);
    } else {
        saved.providers.insert(provider, settings.clone());
    }
    shell.settings.save(&saved)?;
    Ok(settings)
}

/// The preset for a built-in provider, or an error listing them.
fn known_provider(provider: &str) -> CommandResult<ProviderConfig> {
    ProviderConfig::builtin(provider).ok_or_else(|| {
        // A long value may be a key pasted into the wrong field: describe it, don't echo it.
        let shown = if provider.len() <= 40 { format!("`{provider}`") } else { "that value".to_owned() };
        CommandError::invalid(format!("{shown} is not a known provider: use one of {}", KNOWN_PROVIDERS.join(", ")))
    })
}

/// A client for `provider` with its saved base URL, signing with the keychain's
/// key, and giving up after [`TEST_TIMEOUT`]: for one interactive call.
fn client_for(shell: &ShellState, keys: &KeysState, provider: &str) -> CommandResult<ProviderClient> {
    let mut config = configured(known_provider(provider)?, &shell.settings.load()?.providers);
    config.request_timeout = TEST_TIMEOUT;
    Ok(ProviderClient::new(config, Arc::new(keys.store.clone()))?)
}

/// A client for every built-in provider with its saved base URL and its
/// preset's timeouts, signing with the keychain's key: what a run sends with.
/// Keys are looked up at each call, so nothing here touches the keychain.
pub(crate) fn run_clients(shell: &ShellState, keys: &KeysState) -> CommandResult<Vec<ProviderClient>> {
    let saved = shell.settings.load()?.providers;
    KNOWN_PROVIDERS
        .iter()
        .map(|provider| {
            let config = configured(known_provider(provider)?, &saved);
            Ok(ProviderClient::new(config, Arc::new(keys.store.clone()))?)
        })
        .collect()
}

/// `preset` pointed at its saved base URL, if one is saved.
fn configured(preset: ProviderConfig, saved: &BTreeMap<String, ProviderSettings>) -> ProviderConfig {
    match saved.get(&preset.id).and_then(|s| s.base_url.clone()) {
        Some(base_url) => preset.with_base_url(base_url),
        None => preset,
    }
}

fn progress_to<R: Runtime>(app: AppHandle<R>, provider: &str) -> CallOptions {
    let provider = provider.to_owned();
    CallOptions::new().on_progress(move |progress| {
        let event = ProgressEvent { provider: provider.clone(), message: progress.to_string() };
        if let Err(err) = app.emit(events::PROVIDER_PROGRESS, event) {
            tracing::warn!(%err, "could not deliver provider progress to the UI");
        }
    })
}

/// A trimmed text field; empty means "not set".
fn non_empty(value: Option<String>) -> CommandResult<Option<String>> {
    let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    if value.as_ref().is_some_and(|v| v.len() > MAX_FIELD_LEN) {
        return Err(CommandError::invalid(format!("a base URL or model name is at most {MAX_FIELD_LEN} characters")));
    }
    Ok(value)
}

/// Keychain calls are blocking D-Bus round trips: keep them off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> CommandResult<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|err| CommandError::new(ErrorCode::Internal, format!("a keychain task failed: {err}")))
}
