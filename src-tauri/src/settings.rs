//! The shell's settings: the registries to resolve from, in priority order,
//! each with the trust anchor to use on first contact, and how often the
//! shell checks them for updates. Kept as JSON in the app's config dir and
//! written atomically (temp file, then rename).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CommandError, ErrorCode};

/// One registry: where it is and what to trust the first time it is seen
/// (after that the cache's stored, verified root is the anchor).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryConfig {
    /// A folder, `file://` or `http(s)://` URL.
    pub url: String,
    /// A public key (64 hex digits or a .pub file path) or a root.json path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional = nullable))]
    pub trust: Option<String>,
    /// First-party: its remotes run in the shell's page with every command.
    /// Others run sandboxed with only what the person granted (see
    /// `isolation`). The launch registry is always trusted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trusted: bool,
}

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// First wins when two registries offer the same remote.
    #[serde(default)]
    pub registries: Vec<RegistryConfig>,
    /// Per AI provider: base URL and default model, and the providers the
    /// person added (an entry with a `kind`). Never a key: keys live in the
    /// OS keychain only. Edited through the keys commands.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(test, ts(type = "Record<string, ProviderSettings>"))]
    pub providers: BTreeMap<String, ProviderSettings>,
    /// Provider entries of settings.json that could not be used, as they
    /// were: written back by [`SettingsFile::save`] so that a mistake made
    /// in an editor is reported and left for the person to fix, not erased
    /// by the next save from the app.
    #[serde(skip)]
    #[cfg_attr(test, ts(skip))]
    pub unusable_providers: BTreeMap<String, serde_json::Value>,
    /// Dev mode: remote name → a built remote's folder or a loopback
    /// dev-server entry URL (see `dev_mode`). Read at launch.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(test, ts(type = "Record<string, string>"))]
    pub dev_overrides: BTreeMap<String, String>,
    /// Minutes between background update checks (the shell UI's timer);
    /// 0 turns them off (still at start and on request). `None`: the default,
    /// [`DEFAULT_UPDATE_CHECK_MINUTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional = nullable))]
    pub update_check_minutes: Option<u32>,
}

/// Where one AI provider is reached and which model to use by default.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSettings {
    /// Replaces the provider's own API (a proxy or a compatible server); saved
    /// without a trailing `/v1` or `/` (`providers::normalize_base_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional = nullable))]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional = nullable))]
    pub default_model: Option<String>,
    /// The origin (`scheme://host[:port]`) the provider's key was stored
    /// for: its key is sent nowhere else (issue 15, point 4). Set by
    /// `set_api_key` and moved only by a `save_provider_settings` the
    /// person confirmed in a native dialog; `None` when no key is stored.
    ///
    /// It lives here, next to the base URL it guards, because the page can
    /// change a provider's settings only through those commands (the
    /// settings commands keep the saved providers), and whoever can rewrite
    /// settings.json on disk can already choose the code the shell runs, so a
    /// copy elsewhere would add no protection against them. Keeping both in
    /// one entry also means an older write of the file restores a base URL
    /// together with its own binding, never one without the other.
    ///
    /// Keys stored before bindings existed have none: the first load binds
    /// them to the base URL then saved (see `commands::keys`), so upgrading
    /// does not lock anyone out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional = nullable))]
    pub key_origin: Option<String>,
    /// Set on a provider the person added (issue 17, point 7): what it is
    /// (`ollama`, `lm-studio`, `vllm`, `openai-compatible`), which gives its
    /// usual base URL when none is saved. `None` on the built-in providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional = nullable, type = "\"ollama\" | \"lm-studio\" | \"vllm\" | \"openai-compatible\""))]
    pub kind: Option<providers::ProviderKind>,
}

impl ProviderSettings {
    /// The client settings of provider `id` as saved here: a built-in
    /// provider's preset or an added provider's kind, pointed at the saved
    /// base URL. An entry for an id that is neither (left by an older
    /// version, or mistyped in an editor) is an error naming the providers.
    pub fn config(&self, id: &str) -> Result<providers::ProviderConfig, providers::Error> {
        providers::ProviderConfig::saved(id, self.kind, self.base_url.as_deref())
    }
}

/// More registries than this is a mistake, not a configuration.
const MAX_REGISTRIES: usize = 16;

/// How often the shell checks the registries when the settings do not say.
pub const DEFAULT_UPDATE_CHECK_MINUTES: u32 = 60;

/// The longest interval between update checks: a week (shell-ui/src/SettingsPage.tsx agrees).
pub const MAX_UPDATE_CHECK_MINUTES: u32 = 7 * 24 * 60;

impl Settings {
    /// Minutes between background update checks in effect; 0 = off.
    pub fn update_check_minutes(&self) -> u32 {
        self.update_check_minutes.unwrap_or(DEFAULT_UPDATE_CHECK_MINUTES)
    }

    /// Checks what the UI sent before it is saved.
    pub fn validate(&self) -> Result<(), CommandError> {
        if self.registries.len() > MAX_REGISTRIES {
            return Err(CommandError::invalid(format!("at most {MAX_REGISTRIES} registries can be configured")));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (position, registry) in self.registries.iter().enumerate() {
            check_registry(position, registry, &mut seen)?;
        }
        if let Some(minutes) = self.update_check_minutes.filter(|m| *m > MAX_UPDATE_CHECK_MINUTES) {
            return Err(CommandError::invalid(format!(
                "checking for updates every {minutes} minutes is too rare: use 1 to {MAX_UPDATE_CHECK_MINUTES} minutes (a week), or 0 to check only at start and on request"
            )));
        }
        for (remote, target) in &self.dev_overrides {
            crate::dev_mode::validate_syntax(remote, target).map_err(|err| CommandError::invalid(err.to_string()))?;
        }
        Ok(())
    }
}

/// One registry entry: a registry source, not one of `seen`, no empty trust anchor.
fn check_registry(
    position: usize,
    registry: &RegistryConfig,
    seen: &mut std::collections::BTreeSet<String>,
) -> Result<(), CommandError> {
    let shown = format!("registry {} ({})", position + 1, redact(&registry.url));
    let source = registry::RegistrySource::parse(&registry.url).map_err(|err| {
        // The registry's message quotes the input, which may carry a
        // password: say why with the redacted URL instead.
        let reason = match err {
            registry::RegistryError::UnsupportedSource { reason, .. } => reason,
            _ => "it is not a folder, file:// or http(s):// URL".to_owned(),
        };
        CommandError::invalid(format!("{shown}: {reason}"))
    })?;
    if !seen.insert(source.to_string()) {
        return Err(CommandError::invalid(format!("{shown} is listed twice")));
    }
    if registry.trust.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(CommandError::invalid(format!("{shown}: the trust anchor is empty")));
    }
    Ok(())
}

/// The URL with any `user:password@` replaced, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// settings.json in a config directory.
#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    pub fn new(config_dir: &Path) -> Self {
        Self { path: config_dir.join("settings.json") }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved settings, or the defaults when none were saved yet. Entries
    /// that cannot be used are left out (see [`SettingsFile::load_reporting`]).
    pub fn load(&self) -> Result<Settings, CommandError> {
        self.load_reporting().map(|(settings, _)| settings)
    }

    /// The saved settings and what in them was skipped, and why.
    ///
    /// settings.json can be written from the page, so no entry in it may stop
    /// the app (issue 20, point 6): a registry that is malformed, not a
    /// registry source, listed twice or with an empty trust anchor, a dev
    /// override that is not `remote → path or loopback URL`, and a field of
    /// the wrong type are each skipped and named. Only a file that is not a
    /// JSON object at all is an error.
    pub fn load_reporting(&self) -> Result<(Settings, Vec<String>), CommandError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok((Settings::default(), Vec::new())),
            Err(err) => return Err(settings_error(format!("cannot read {}: {err}", self.path.display()))),
        };
        let not_settings = |why: String| {
            settings_error(format!("{} is not valid settings ({why}); fix or delete it", self.path.display()))
        };
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|err| not_settings(err.to_string()))?;
        let serde_json::Value::Object(mut fields) = value else {
            return Err(not_settings("it is not a JSON object".to_owned()));
        };
        let mut problems = Vec::new();
        let registries = fields.remove("registries");
        let dev_overrides = fields.remove("devOverrides");
        let providers = fields.remove("providers");
        let mut settings = Settings::default();
        for (key, value) in fields {
            let one = serde_json::Value::Object([(key.clone(), value)].into_iter().collect());
            match serde_json::from_value::<Settings>(one) {
                Ok(parsed) => {
                    if key == "updateCheckMinutes" {
                        settings.update_check_minutes = parsed.update_check_minutes;
                    }
                }
                Err(err) => problems.push(format!("the setting {key:?} was skipped: {err}")),
            }
        }
        settings.registries = Self::registries(registries, &mut problems);
        settings.dev_overrides = dev_overrides_of(dev_overrides, &mut problems);
        (settings.providers, settings.unusable_providers) = providers_of(providers, &mut problems);
        Ok((settings, problems))
    }

    fn registries(value: Option<serde_json::Value>, problems: &mut Vec<String>) -> Vec<RegistryConfig> {
        let entries = match value {
            None | Some(serde_json::Value::Null) => return Vec::new(),
            Some(serde_json::Value::Array(entries)) => entries,
            Some(_) => {
                problems.push("\"registries\" is not a list; no saved registry was used".to_owned());
                return Vec::new();
            }
        };
        let mut kept: Vec<RegistryConfig> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (position, entry) in entries.into_iter().enumerate() {
            if kept.len() == MAX_REGISTRIES {
                problems.push(format!("only the first {MAX_REGISTRIES} saved registries are used"));
                break;
            }
            let config = match serde_json::from_value::<RegistryConfig>(entry) {
                Ok(config) => config,
                Err(err) => {
                    problems.push(format!(
                        "saved registry {} was skipped: it is not {{ \"url\", \"trust\" }} ({err})",
                        position + 1
                    ));
                    continue;
                }
            };
            match check_registry(position, &config, &mut seen) {
                Ok(()) => kept.push(config),
                Err(err) => problems.push(format!("saved {}; skipped", err.message)),
            }
        }
        kept
    }

    /// Writes `settings`, with the unusable provider entries it was loaded
    /// with put back as they were (an entry saved since under the same id wins).
    pub fn save(&self, settings: &Settings) -> Result<(), CommandError> {
        if settings.unusable_providers.is_empty() {
            return write_json_atomically(&self.path, settings).map_err(settings_error);
        }
        let mut value = serde_json::to_value(settings).map_err(|err| settings_error(err.to_string()))?;
        if let Some(fields) = value.as_object_mut() {
            let providers = fields.entry("providers").or_insert_with(|| serde_json::Value::Object(Default::default()));
            if let Some(providers) = providers.as_object_mut() {
                for (id, raw) in &settings.unusable_providers {
                    providers.entry(id.clone()).or_insert_with(|| raw.clone());
                }
            }
        }
        write_json_atomically(&self.path, &value).map_err(settings_error)
    }
}

/// Writes `value` as JSON to a temporary file beside `path`, then renames it
/// over `path`: a reader sees the old file or the new one, never half of one.
/// The error says which file could not be written, and why.
pub fn write_json_atomically(path: &Path, value: &impl Serialize) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    let json = serde_json::to_vec_pretty(value).map_err(|err| err.to_string())?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|err| format!("cannot write {}: {err}", path.display()))
}

/// The usable provider entries of settings.json, and the others as they
/// were (each named in `problems`): one mistyped entry costs only itself.
pub(crate) fn providers_of(
    value: Option<serde_json::Value>,
    problems: &mut Vec<String>,
) -> (BTreeMap<String, ProviderSettings>, BTreeMap<String, serde_json::Value>) {
    let (mut kept, mut unusable) = (BTreeMap::new(), BTreeMap::new());
    let entries = match value {
        None | Some(serde_json::Value::Null) => return (kept, unusable),
        Some(serde_json::Value::Object(entries)) => entries,
        Some(_) => {
            problems.push("\"providers\" is not a map of provider names to settings; skipped".to_owned());
            return (kept, unusable);
        }
    };
    for (id, raw) in entries {
        match check_provider_entry(&id, raw.clone()) {
            Ok(entry) => {
                kept.insert(id, entry);
            }
            Err(why) => {
                problems.push(format!("the provider {} was skipped: {why}", shown_id(&id)));
                unusable.insert(id, raw);
            }
        }
    }
    (kept, unusable)
}

/// One saved provider entry, checked: a usable id; for an added provider,
/// a kind and base URL a client can be built from.
fn check_provider_entry(id: &str, raw: serde_json::Value) -> Result<ProviderSettings, String> {
    secrets::validate_provider(id).map_err(|err| err.to_string())?;
    let entry: ProviderSettings = serde_json::from_value(raw).map_err(|err| err.to_string())?;
    // A built-in provider's base URL is checked where a client is built, as before (its key binding guards it).
    if entry.kind.is_some() || providers::ProviderConfig::builtin(id).is_none() {
        entry.config(id).map_err(|err| err.to_string())?;
    }
    Ok(entry)
}

/// A provider id for a message: a long one may be a key pasted by mistake.
fn shown_id(id: &str) -> String {
    if id.chars().count() <= 40 { format!("{id:?}") } else { "with a long name (not shown)".to_owned() }
}

/// The usable dev overrides of settings.json; the others are named in `problems`.
fn dev_overrides_of(value: Option<serde_json::Value>, problems: &mut Vec<String>) -> BTreeMap<String, String> {
    let entries = match value {
        None | Some(serde_json::Value::Null) => return BTreeMap::new(),
        Some(serde_json::Value::Object(entries)) => entries,
        Some(_) => {
            problems.push("\"devOverrides\" is not a map of remote names to folders or URLs; skipped".to_owned());
            return BTreeMap::new();
        }
    };
    let mut kept = BTreeMap::new();
    for (remote, target) in entries {
        let Some(target) = target.as_str() else {
            problems.push(format!("the dev override of {remote:?} is not a folder path or URL; skipped"));
            continue;
        };
        match crate::dev_mode::validate_syntax(&remote, target) {
            Ok(()) => {
                kept.insert(remote, target.to_owned());
            }
            Err(err) => problems.push(format!("{err}; skipped")),
        }
    }
    kept
}

fn settings_error(message: String) -> CommandError {
    CommandError::new(ErrorCode::Settings, message)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn provider_entries_are_checked_one_by_one_and_unusable_ones_kept_as_they_were() {
        let mut problems = Vec::new();
        let (kept, unusable) = providers_of(
            Some(json!({
                "openai": { "baseUrl": "https://proxy.example", "keyOrigin": "https://proxy.example" },
                "ollama": { "kind": "ollama" },
                "gpu": { "kind": "vllm", "baseUrl": "http://127.0.0.1:8000/v1/" },
                "mine": { "kind": "openai-compatible" },
                "groq": { "kind": "ollama" },
                "Bad Id": { "kind": "ollama" },
                "studio": { "kind": "lmstudio" },
                "stray": { "defaultModel": "x" },
            })),
            &mut problems,
        );
        assert_eq!(kept.keys().map(String::as_str).collect::<Vec<_>>(), ["gpu", "ollama", "openai"]);
        assert_eq!(kept["gpu"].config("gpu").unwrap().base_url, "http://127.0.0.1:8000", "/v1 and / dropped");
        assert_eq!(kept["ollama"].config("ollama").unwrap().base_url, "http://localhost:11434", "the kind's address");
        assert_eq!(
            unusable.keys().map(String::as_str).collect::<Vec<_>>(),
            ["Bad Id", "groq", "mine", "stray", "studio"]
        );
        assert_eq!(unusable["studio"], json!({ "kind": "lmstudio" }), "kept as it was");
        for (id, why) in [
            ("\"mine\"", "needs its base URL"),
            ("\"groq\"", "built-in provider"),
            ("\"studio\"", "unknown variant"),
            ("\"stray\"", "neither a built-in provider"),
            ("\"Bad Id\"", "`Bad Id`"),
        ] {
            assert!(problems.iter().any(|p| p.contains(id) && p.contains(why)), "{id}: {problems:?}");
        }
        assert_eq!(problems.len(), 5, "{problems:?}");

        let mut problems = Vec::new();
        let (kept, unusable) = providers_of(Some(json!(["ollama"])), &mut problems);
        assert!(kept.is_empty() && unusable.is_empty());
        assert!(problems[0].contains("not a map"), "{problems:?}");
    }

    #[test]
    fn saving_writes_unusable_provider_entries_back_unless_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::new(dir.path());
        let broken = json!({ "kind": "openai-compatible", "defaultModel": "qwen" });
        let written =
            json!({ "providers": { "mine": broken, "other": { "kind": "nope" }, "ollama": { "kind": "ollama" } } });
        std::fs::write(file.path(), written.to_string()).unwrap();

        let (mut settings, problems) = file.load_reporting().unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        settings.providers.insert("other".to_owned(), ProviderSettings::default());
        file.save(&settings).unwrap();
        let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
        assert_eq!(saved["providers"]["mine"], broken);
        assert_eq!(saved["providers"]["other"], json!({}), "an entry saved since wins over the old text");
        assert_eq!(saved["providers"]["ollama"], json!({ "kind": "ollama" }));
    }
}
