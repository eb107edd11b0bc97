//! Settings: the registries, in priority order, with their trust anchors,
//! and the interval of the background update check.

use serde::Serialize;
use tauri::State;

use crate::error::CommandResult;
use crate::settings::{RegistryConfig, Settings};
use crate::shell::ShellState;

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

/// Validates and saves the settings; the next check uses them. Provider
/// settings are edited through the keys commands, so the saved ones are kept;
/// so is the update-check interval when the page does not send one.
#[tauri::command]
pub async fn save_settings(state: State<'_, ShellState>, settings: Settings) -> CommandResult<()> {
    settings.validate()?;
    let saved = state.settings.load()?;
    // Dev overrides are edited in settings.json (read at launch); a UI that
    // does not send them must not erase them.
    let dev_overrides = if settings.dev_overrides.is_empty() { saved.dev_overrides } else { settings.dev_overrides };
    let update_check_minutes = settings.update_check_minutes.or(saved.update_check_minutes);
    state.settings.save(&Settings { providers: saved.providers, dev_overrides, update_check_minutes, ..settings })
}
