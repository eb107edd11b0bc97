//! AI provider keys and settings: a key goes into the OS keychain
//! (crates/secrets) and never comes back out through IPC. The UI learns only
//! whether a key is set, and whether it works (a model listing through
//! crates/providers, signed in Rust).
//!
//! Where a key goes is decided outside the webview (issue 15, point 4): each
//! key is bound to the origin it was stored for
//! ([`ProviderSettings::key_origin`]); moving a provider with a key to
//! another origin takes a native confirmation naming the new host, and every
//! client that signs with a stored key is refused, before any request, while
//! its base URL is not on that origin (settings.json edited behind the app's
//! back included). Any script in the page can call these commands, so none
//! of this may depend on the page's word.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use providers::{CallOptions, ProviderClient, ProviderConfig, ProviderKind, normalize_base_url};
use secrets::{KNOWN_PROVIDERS, KeyStatus, KeyStore, Secret};
use serde::Serialize;
use tauri::{AppHandle, Emitter as _, Runtime, State};

use crate::commands::events;
use crate::confirm;
use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::settings::{ProviderSettings, Settings};
use crate::shell::ShellState;

/// A key test is one small request: give up well before a person would.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest base URL or model name accepted from the UI.
const MAX_FIELD_LEN: usize = 2048;

/// The OS keychain, managed as Tauri state.
#[derive(Debug, Clone)]
pub struct KeysState {
    store: KeyStore,
    /// Held while the providers' settings are read, decided on (a dialog may
    /// be open) and written, so no binding is decided on settings that
    /// another command is replacing.
    bindings: Arc<tokio::sync::Mutex<()>>,
}

impl KeysState {
    /// The platform keychain, with the `AUGMENT_<PROVIDER>_API_KEY` overrides.
    pub fn system() -> Self {
        Self { store: KeyStore::system(), bindings: Arc::default() }
    }
}

/// Where a provider's key comes from; the key itself is never part of a reply.
#[cfg_attr(test, derive(ts_rs::TS))]
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

#[cfg_attr(test, derive(ts_rs::TS))]
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
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyTest {
    pub ok: bool,
    /// The providers crate's error code (`invalid_key`, `rate_limited` …) when not ok.
    pub code: Option<&'static str>,
    pub message: String,
}

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelView {
    pub id: String,
    pub display_name: Option<String>,
}

/// A retry or throttle while a provider call waits, for the UI to show.
#[cfg_attr(test, derive(ts_rs::TS))]
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

/// Every provider, the built-in ones first, then the ones the person added
/// (`settings.kind` set): whether its key is set, and its saved settings.
#[tauri::command]
pub async fn provider_status(
    shell: State<'_, ShellState>,
    keys: State<'_, KeysState>,
) -> CommandResult<Vec<ProviderView>> {
    // The Keys panel's first load is where a key stored before bindings existed gets its origin.
    let mut saved = bound_providers(&shell, &keys).await?;
    let ids = provider_ids(&saved);
    let store = keys.store.clone();
    let statuses = blocking(move || store.status(&ids.iter().map(String::as_str).collect::<Vec<_>>())).await??;
    Ok(statuses
        .into_iter()
        .map(|(provider, status)| {
            let settings = saved.remove(&provider).unwrap_or_default();
            let default_base_url = match (ProviderConfig::builtin(&provider), settings.kind) {
                (Some(preset), _) => preset.base_url,
                (None, Some(kind)) => kind.default_base_url().unwrap_or_default().to_owned(),
                (None, None) => String::new(),
            };
            ProviderView {
                key: status.into(),
                env_var: secrets::env_var_name(&provider),
                default_base_url,
                settings,
                provider,
            }
        })
        .collect())
}

/// Adds a provider of `kind` (`ollama`, `lm-studio`, `vllm`,
/// `openai-compatible`) under the id `provider` (`[a-z0-9-]{1,40}`, not a
/// built-in one), at `baseUrl` (with or without `/v1`) or the kind's usual
/// local address; `openai-compatible` needs one. It is listed, used by runs
/// and takes a key (optional) like the built-in providers. Host API 1.5.0.
#[tauri::command]
pub async fn add_provider(
    shell: State<'_, ShellState>,
    keys: State<'_, KeysState>,
    provider: String,
    kind: String,
    base_url: Option<String>,
    default_model: Option<String>,
) -> CommandResult<ProviderSettings> {
    let kind = ProviderKind::parse(kind.trim()).ok_or_else(|| {
        let kinds: Vec<&str> = ProviderKind::ALL.iter().map(|k| k.as_str()).collect();
        CommandError::invalid(format!("the kind of a provider is one of {}", kinds.join(", ")))
    })?;
    secrets::validate_provider(&provider)?;
    let base_url = non_empty(base_url)?.map(|url| normalize_base_url(&url));
    let default_model = non_empty(default_model)?;
    // The providers crate's checks: not a built-in id, a usable base URL.
    ProviderClient::new(ProviderConfig::custom(&provider, kind, base_url.as_deref())?, Arc::new(providers::Keyless))?;
    let _bindings = keys.bindings.lock().await;
    let mut saved = shell.settings.load()?;
    if saved.providers.contains_key(&provider) {
        return Err(CommandError::invalid(format!(
            "there is already a provider named {provider}: change its settings, or remove it first"
        )));
    }
    // A broken entry of that name in settings.json is replaced by this one.
    saved.unusable_providers.remove(&provider);
    let settings = ProviderSettings { base_url, default_model, key_origin: None, kind: Some(kind) };
    saved.providers.insert(provider.clone(), settings.clone());
    shell.settings.save(&saved)?;
    tracing::info!(provider, %kind, "added a provider");
    Ok(settings)
}

/// Removes a provider the person added, with its key in the OS keychain
/// (so a later provider of that name does not inherit it); the built-in
/// ones cannot be removed. Also removes an unusable entry of that name
/// from settings.json. Host API 1.5.0.
#[tauri::command]
pub async fn remove_provider(
    shell: State<'_, ShellState>,
    keys: State<'_, KeysState>,
    provider: String,
) -> CommandResult<()> {
    secrets::validate_provider(&provider)?;
    if ProviderConfig::builtin(&provider).is_some() {
        return Err(CommandError::invalid(format!(
            "{} is built in and cannot be removed: delete its key or clear its base URL instead",
            display_name(&provider)
        )));
    }
    let _bindings = keys.bindings.lock().await;
    let mut saved = shell.settings.load()?;
    let added = saved.providers.get(&provider).is_some_and(|s| s.kind.is_some());
    if !added && !saved.unusable_providers.contains_key(&provider) {
        return Err(unknown_provider(&provider, &saved.providers));
    }
    // The key goes first: should that fail, the provider stays listed with its key, not a key without a provider.
    let store = keys.store.clone();
    let account = provider.clone();
    blocking(move || store.delete(&account)).await??;
    saved.providers.remove(&provider);
    saved.unusable_providers.remove(&provider);
    shell.settings.save(&saved)?;
    tracing::info!(provider, "removed a provider");
    Ok(())
}

/// Stores `key` for `provider` in the OS keychain, bound to the origin of
/// the provider's base URL as saved now: the person typed the key in the
/// Keys panel next to that address, so it is the one they meant. The reply
/// is only `"set"`.
#[tauri::command]
pub async fn set_api_key(
    shell: State<'_, ShellState>,
    keys: State<'_, KeysState>,
    provider: String,
    key: String,
) -> CommandResult<KeyState> {
    // Wrapped at once: from here on the key is zeroed when dropped and cannot be printed.
    let key = Secret::new(key);
    let _bindings = keys.bindings.lock().await;
    let mut saved = shell.settings.load()?;
    let config = provider_config(&provider, &saved.providers)?;
    if key.is_empty() {
        return Err(CommandError::invalid(format!("the key for {provider} is empty: paste the whole key")));
    }
    let Some(origin) = origin_of(&config.base_url) else {
        return Err(CommandError::invalid(format!(
            "the saved base URL for {provider} is not a web address: correct it in Settings → Keys, then store the key"
        )));
    };
    let store = keys.store.clone();
    let account = provider.clone();
    blocking(move || store.set(&account, key)).await??;
    // Stored before bound: should saving fail, the next load binds the key to
    // this same saved base URL.
    saved.providers.entry(provider).or_default().key_origin = Some(origin);
    shell.settings.save(&saved)?;
    Ok(KeyState::Set)
}

/// Removes `provider`'s key from the OS keychain; replies where a key would
/// come from now (`notSet`, or `fromEnvironment`).
#[tauri::command]
pub async fn delete_api_key(
    shell: State<'_, ShellState>,
    keys: State<'_, KeysState>,
    provider: String,
) -> CommandResult<KeyState> {
    let _bindings = keys.bindings.lock().await;
    provider_config(&provider, &shell.settings.load()?.providers)?;
    let store = keys.store.clone();
    let account = provider.clone();
    let status = blocking(move || {
        store.delete(&account)?;
        store.status(&[account.as_str()])
    })
    .await??;
    let now = status.into_iter().next().map_or(KeyState::NotSet, |(_, s)| s.into());
    if now == KeyState::NotSet {
        // No key left to guard; the next one is bound when it is stored.
        let mut saved = shell.settings.load()?;
        if let Some(entry) = saved.providers.get_mut(&provider)
            && entry.key_origin.take().is_some()
        {
            if *entry == ProviderSettings::default() {
                saved.providers.remove(&provider);
            }
            shell.settings.save(&saved)?;
        }
    }
    Ok(now)
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
    let client = client_for(&shell, &keys, &provider).await?;
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
    let client = client_for(&shell, &keys, &provider).await?;
    let models = client.list_models(&progress_to(app, &provider)).await?;
    Ok(models.into_iter().map(|m| ModelView { id: m.id, display_name: m.display_name }).collect())
}

/// Saves `provider`'s base URL (empty: the provider's own API) and default model.
///
/// When `provider` has a key and the new base URL is on another origin than
/// the one the key is bound to, the person is asked in a native dialog
/// naming the new host: "yes" saves and moves the key's binding there, "no"
/// (or closing it) changes nothing and fails with `declined`. Without a key
/// nothing is asked: the key stored later is bound to whatever is saved then,
/// which the Keys panel shows next to it.
#[tauri::command]
pub async fn save_provider_settings<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, ShellState>,
    keys: State<'_, KeysState>,
    provider: String,
    base_url: Option<String>,
    default_model: Option<String>,
) -> CommandResult<ProviderSettings> {
    let base_url = non_empty(base_url)?.map(|url| normalize_base_url(&url));
    let default_model = non_empty(default_model)?;
    let _bindings = keys.bindings.lock().await;
    let mut saved = bind_unbound_keys(&shell, &keys).await?;
    provider_config(&provider, &saved.providers)?;
    let kind = saved.providers.get(&provider).and_then(|s| s.kind);
    let candidate = ProviderSettings { base_url: base_url.clone(), kind, ..ProviderSettings::default() };
    // The providers crate's own check: a URL, http(s), no credentials (an added provider's kind gives the default).
    let config = candidate.config(&provider)?;
    ProviderClient::new(config.clone(), Arc::new(providers::Keyless))?;
    let new_origin = origin_of(&config.base_url).ok_or_else(|| {
        CommandError::invalid(format!("the base URL for {provider} has no host: use e.g. https://api.example.com"))
    })?;
    let key_origin = if key_may_exist(&keys, &provider).await {
        let bound = saved.providers.get(&provider).and_then(|s| s.key_origin.clone());
        if bound.as_deref() != Some(new_origin.as_str()) {
            let (title, question) = move_key_question(&provider, bound.as_deref(), &new_origin);
            if !confirm::ask(&app, &title, question, "Send the key there").await {
                return Err(CommandError::new(
                    ErrorCode::Declined,
                    format!(
                        "the {} settings were not changed: sending your key to {new_origin} was not confirmed",
                        display_name(&provider)
                    ),
                ));
            }
            tracing::info!(provider, origin = new_origin, "the person moved a key to a new origin");
        }
        Some(new_origin)
    } else {
        None
    };
    let settings = ProviderSettings { base_url, default_model, key_origin, kind };
    if settings == ProviderSettings::default() {
        saved.providers.remove(&provider);
    } else {
        saved.providers.insert(provider, settings.clone());
    }
    shell.settings.save(&saved)?;
    Ok(settings)
}

/// Every provider id: the built-in ones, then those the person added.
fn provider_ids(saved: &BTreeMap<String, ProviderSettings>) -> Vec<String> {
    let added = saved.iter().filter(|(id, s)| s.kind.is_some() && ProviderConfig::builtin(id).is_none());
    KNOWN_PROVIDERS.iter().map(|id| (*id).to_owned()).chain(added.map(|(id, _)| id.clone())).collect()
}

/// The client settings of `provider` as saved (a built-in preset or an
/// added provider, at its saved base URL), or an error listing the providers.
fn provider_config(provider: &str, saved: &BTreeMap<String, ProviderSettings>) -> CommandResult<ProviderConfig> {
    let entry = saved.get(provider);
    if ProviderConfig::builtin(provider).is_none() && entry.is_none_or(|s| s.kind.is_none()) {
        return Err(unknown_provider(provider, saved));
    }
    Ok(entry.cloned().unwrap_or_default().config(provider)?)
}

fn unknown_provider(provider: &str, saved: &BTreeMap<String, ProviderSettings>) -> CommandError {
    // A long value may be a key pasted into the wrong field: describe it, don't echo it.
    let shown = if provider.len() <= 40 { format!("`{provider}`") } else { "that value".to_owned() };
    CommandError::invalid(format!(
        "{shown} is not a known provider: use one of {} (or add it in Settings → Keys)",
        provider_ids(saved).join(", ")
    ))
}

/// A client for `provider` with its saved base URL, signing with the keychain's
/// key, and giving up after [`TEST_TIMEOUT`]: for one interactive call.
/// Refused while the base URL is not on the key's origin.
async fn client_for(shell: &ShellState, keys: &KeysState, provider: &str) -> CommandResult<ProviderClient> {
    let saved = bound_providers(shell, keys).await?;
    let mut config = provider_config(provider, &saved)?;
    config.request_timeout = TEST_TIMEOUT;
    let client = ProviderClient::new(config, Arc::new(keys.store.clone()))?;
    refuse_foreign_origin(keys, client.config(), saved.get(provider)).await?;
    Ok(client)
}

/// A client for every provider, built-in and added, with its saved base URL
/// and its preset's timeouts, signing with the keychain's key (an added
/// provider only when it has one): what a run sends with.
/// Keys are looked up at each call. Refused, for the whole run, while any
/// provider's base URL is not on its key's origin: the settings were changed
/// without the person's confirmation, so nothing is sent until they look.
pub(crate) async fn run_clients(shell: &ShellState, keys: &KeysState) -> CommandResult<Vec<ProviderClient>> {
    let saved = bound_providers(shell, keys).await?;
    let ids = provider_ids(&saved);
    let mut clients = Vec::with_capacity(ids.len());
    for provider in &ids {
        let config = provider_config(provider, &saved)?;
        let client = ProviderClient::new(config, Arc::new(keys.store.clone()))?;
        refuse_foreign_origin(keys, client.config(), saved.get(provider)).await?;
        clients.push(client);
    }
    Ok(clients)
}

/// `scheme://host[:port]` of `url` (the port only when not the scheme's
/// default), or `None` when it is not a URL with a host.
fn origin_of(url: &str) -> Option<String> {
    let origin = tauri::Url::parse(url).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The providers' saved settings, after [`bind_unbound_keys`].
async fn bound_providers(shell: &ShellState, keys: &KeysState) -> CommandResult<BTreeMap<String, ProviderSettings>> {
    let _bindings = keys.bindings.lock().await;
    Ok(bind_unbound_keys(shell, keys).await?.providers)
}

/// The saved settings, with every key that has no binding yet (stored before
/// bindings existed, or with `augment keys set`, which does not know the
/// shell's settings) bound to the origin of its provider's base URL as saved
/// now, and that saved, so upgrading users keep working keys. A provider
/// whose key status cannot be read is left unbound (its key, if any, is then
/// sent nowhere but where it would have been before); one with an unusable
/// base URL too, as no client can be built for it anyway.
///
/// Call with [`KeysState::bindings`] held.
async fn bind_unbound_keys(shell: &ShellState, keys: &KeysState) -> CommandResult<Settings> {
    let mut settings = shell.settings.load()?;
    let mut bound = Vec::new();
    for provider in provider_ids(&settings.providers) {
        let provider = provider.as_str();
        if settings.providers.get(provider).is_some_and(|s| s.key_origin.is_some()) {
            continue;
        }
        match key_status(keys, provider).await {
            Ok(KeyState::NotSet) => continue,
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(provider, %err, "could not tell whether a key is stored; its origin is not recorded yet");
                continue;
            }
        }
        let Some(origin) =
            provider_config(provider, &settings.providers).ok().and_then(|config| origin_of(&config.base_url))
        else {
            continue;
        };
        settings.providers.entry(provider.to_owned()).or_default().key_origin = Some(origin);
        bound.push(provider.to_owned());
    }
    if !bound.is_empty() {
        shell.settings.save(&settings)?;
        tracing::info!(providers = ?bound, "keys stored without a recorded origin were bound to their saved base URLs");
    }
    Ok(settings)
}

/// Refuses a client whose base URL is not on the origin its key was stored
/// for, before it sends anything. A provider without a key may go anywhere:
/// there is nothing to leak. A keychain that cannot say counts as a key.
async fn refuse_foreign_origin(
    keys: &KeysState,
    config: &ProviderConfig,
    saved: Option<&ProviderSettings>,
) -> CommandResult<()> {
    let Some(bound) = saved.and_then(|s| s.key_origin.as_deref()) else { return Ok(()) };
    let configured = origin_of(&config.base_url).unwrap_or_else(|| config.base_url.clone());
    if configured == bound || !key_may_exist(keys, &config.id).await {
        return Ok(());
    }
    tracing::warn!(provider = config.id, bound, configured, "refused to send a key to an origin it was not stored for");
    let name = display_name(&config.id);
    Err(CommandError::new(
        ErrorCode::Refused,
        format!(
            "nothing was sent: your {name} key was stored for {bound}, but the {name} base URL now points at \
             {configured}, which you have not confirmed. If you meant to use {configured}, save it again in \
             Settings → Keys and confirm the new address; otherwise set the base URL back to {bound}."
        ),
    ))
}

/// The title and text of the native confirmation for sending `provider`'s
/// key to `new_origin`; `bound` is where it goes now, if known.
fn move_key_question(provider: &str, bound: Option<&str>, new_origin: &str) -> (String, String) {
    let name = display_name(provider);
    let host = tauri::Url::parse(new_origin).ok().and_then(|u| u.host_str().map(str::to_owned));
    let host = host.unwrap_or_else(|| new_origin.to_owned());
    let now = match bound {
        Some(bound) => format!("Your {name} API key is sent only to {bound}."),
        None => format!("It is not recorded where your {name} API key may be sent."),
    };
    let question = format!(
        "{now}\n\nThe new base URL sends it to {host} ({new_origin}) with every key test, model list and run from \
         now on.\n\nOnly continue if you entered this address yourself: whoever runs {host} can use your key."
    );
    (format!("Send your {name} key to {host}?"), question)
}

/// Whether `provider` has a key (keychain or environment); `true` when the
/// keychain cannot say, so a locked keychain never lets a key move unasked.
async fn key_may_exist(keys: &KeysState, provider: &str) -> bool {
    match key_status(keys, provider).await {
        Ok(state) => state != KeyState::NotSet,
        Err(err) => {
            tracing::warn!(provider, %err, "could not tell whether a key is stored; treating it as stored");
            true
        }
    }
}

async fn key_status(keys: &KeysState, provider: &str) -> CommandResult<KeyState> {
    let store = keys.store.clone();
    let provider = provider.to_owned();
    let status = blocking(move || store.status(&[provider.as_str()])).await??;
    Ok(status.into_iter().next().map_or(KeyState::NotSet, |(_, s)| s.into()))
}

/// How a person knows the provider, for dialogs and messages.
fn display_name(provider: &str) -> &str {
    match provider {
        "openai" => "OpenAI",
        "anthropic" => "Anthropic",
        "groq" => "Groq",
        other => other,
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
