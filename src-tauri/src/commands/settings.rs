//! Settings: the registries, in priority order, with their trust anchors,
//! and the interval of the background update check.

use serde::Serialize;
use tauri::{AppHandle, Runtime, State};

use crate::confirm;
use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::settings::{RegistryConfig, Settings};
use crate::shell::ShellState;
use crate::ui_state::UiState;

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    /// What is saved and editable.
    pub saved: Settings,
    /// The registry given at launch (`--registry`), used first and not saved.
    pub launch_registry: Option<RegistryConfig>,
    /// Where the settings live, so a person can find the file.
    pub path: String,
    /// Minutes between background update checks in effect (saved or default); 0 = off.
    pub update_check_minutes: u32,
}

#[tauri::command]
pub async fn get_settings(state: State<'_, ShellState>) -> CommandResult<SettingsView> {
    let saved = state.settings.load()?;
    Ok(SettingsView {
        update_check_minutes: saved.update_check_minutes(),
        saved,
        launch_registry: state.launch_registry.clone(),
        path: state.settings.path().display().to_string(),
    })
}

/// The last screen and the theme; defaults when nothing (usable) was saved.
#[tauri::command]
pub async fn get_ui_state(state: State<'_, ShellState>) -> CommandResult<UiState> {
    Ok(state.ui.load())
}

/// Saves the last screen and the theme; a route that is not a path is refused.
#[tauri::command]
pub async fn save_ui_state(state: State<'_, ShellState>, ui: UiState) -> CommandResult<()> {
    state.ui.save(&ui)
}

/// Validates and saves the settings; the next check uses them. Provider
/// settings are edited through the keys commands, so the saved ones are kept;
/// so is the update-check interval when the page does not send one.
///
/// A change of the registries or dev overrides decides which code the shell
/// runs, and any script in the page can call this command: it is saved only
/// after a native confirmation (see [`crate::confirm`]), so the Settings
/// page's Save works and a remote cannot change them silently.
#[tauri::command]
pub async fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, ShellState>,
    settings: Settings,
) -> CommandResult<()> {
    settings.validate()?;
    let saved = state.settings.load()?;
    // Dev overrides are edited in settings.json (read at launch); a UI that
    // does not send them must not erase them.
    let dev_overrides =
        if settings.dev_overrides.is_empty() { saved.dev_overrides.clone() } else { settings.dev_overrides };
    let update_check_minutes = settings.update_check_minutes.or(saved.update_check_minutes);
    let next = Settings { providers: saved.providers.clone(), dev_overrides, update_check_minutes, ..settings };
    if let Some(question) = code_sources_question(&saved, &next)
        && !confirm::ask(&app, "Change where Augment-It loads code from?", question, "Save").await
    {
        return Err(CommandError::new(
            ErrorCode::Declined,
            "the registries and dev overrides were not changed: the change was not confirmed",
        ));
    }
    // Provider settings (and their keys' origins) may have changed while the
    // dialog was open: keep what is saved now, not what was read before.
    let now = state.settings.load()?;
    state.settings.save(&Settings { providers: now.providers, unusable_providers: now.unusable_providers, ..next })
}

/// What the confirmation says when the registries or dev overrides change; `None` when neither does.
fn code_sources_question(saved: &Settings, next: &Settings) -> Option<String> {
    if saved.registries == next.registries && saved.dev_overrides == next.dev_overrides {
        return None;
    }
    let mut lines = vec![
        "Remotes from first-party registries and dev overrides run inside Augment-It, with access to your data and to \
         every command of the app; remotes from other registries run sandboxed, with only what you grant them."
            .to_owned(),
    ];
    let shown = |r: &RegistryConfig| {
        let key = r.trust.as_ref().map(|trust| format!(" (trusted key: {trust})")).unwrap_or_default();
        let realm = if r.trusted { ", first-party: full access" } else { ", sandboxed" };
        format!("{}{key}{realm}", r.url)
    };
    for added in next.registries.iter().filter(|r| !saved.registries.contains(r)) {
        lines.push(format!("Add registry: {}", shown(added)));
    }
    for removed in saved.registries.iter().filter(|r| !next.registries.contains(r)) {
        lines.push(format!("Remove registry: {}", shown(removed)));
    }
    if lines.len() == 1 && saved.registries != next.registries {
        lines.push("Change the order of the registries (the first one wins).".to_owned());
    }
    for (remote, target) in &next.dev_overrides {
        if saved.dev_overrides.get(remote) != Some(target) {
            lines.push(format!("Serve {remote} from {target} (dev override, from the next launch)"));
        }
    }
    for remote in saved.dev_overrides.keys().filter(|r| !next.dev_overrides.contains_key(*r)) {
        lines.push(format!("Stop overriding {remote}"));
    }
    Some(lines.join("\n"))
}
