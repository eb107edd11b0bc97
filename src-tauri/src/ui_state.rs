//! Where the person was and how the shell looks (issue 16): the last screen,
//! restored at the next start, and the chosen theme. Kept apart from
//! settings.json because it changes on every navigation, and a Settings save
//! that read the file earlier must never put an old screen back (nor the
//! other way round).
//!
//! The file is a convenience, never a reason not to start: a missing,
//! unreadable or malformed `ui.json`, or a field in it of the wrong shape,
//! reads as the default for that field.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CommandError, ErrorCode};
use crate::settings::write_json_atomically;

/// The longest route kept; a route is a path such as `/remote/record-collector`.
const MAX_ROUTE_LEN: usize = 256;

/// Light, dark, or whatever the OS says (the default).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ThemeChoice {
    #[default]
    System,
    Light,
    Dark,
}

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UiState {
    /// The screen shown last (the shell's hash route, e.g. `/remote/record-collector`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional = nullable))]
    pub last_route: Option<String>,
    #[serde(default)]
    pub theme: ThemeChoice,
}

impl UiState {
    /// A route is a path of printable ASCII the shell's router understands.
    pub fn validate(&self) -> Result<(), CommandError> {
        if let Some(route) = &self.last_route {
            let printable = route.bytes().all(|b| b.is_ascii_graphic());
            if !route.starts_with('/') || route.len() > MAX_ROUTE_LEN || !printable {
                return Err(CommandError::new(
                    ErrorCode::InvalidInput,
                    format!(
                        "the last screen must be a route such as \"/remote/record-collector\" \
                         (a path starting with '/', at most {MAX_ROUTE_LEN} printable characters)"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// ui.json in a config directory.
#[derive(Debug, Clone)]
pub struct UiStateFile {
    path: PathBuf,
}

impl UiStateFile {
    pub fn new(config_dir: &Path) -> Self {
        Self { path: config_dir.join("ui.json") }
    }

    /// What was saved; each field that cannot be read is its default.
    pub fn load(&self) -> UiState {
        let Ok(bytes) = std::fs::read(&self.path) else { return UiState::default() };
        let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(&bytes) else {
            tracing::warn!(path = %self.path.display(), "ui.json is not a JSON object; using the defaults");
            return UiState::default();
        };
        fn field<T: serde::de::DeserializeOwned>(
            fields: &serde_json::Map<String, serde_json::Value>,
            name: &str,
        ) -> Option<T> {
            fields.get(name).cloned().and_then(|value| serde_json::from_value(value).ok())
        }
        let state =
            UiState { last_route: field(&fields, "lastRoute"), theme: field(&fields, "theme").unwrap_or_default() };
        // A route edited by hand into something odd is dropped, not refused.
        if state.validate().is_err() { UiState { last_route: None, ..state } } else { state }
    }

    pub fn save(&self, state: &UiState) -> Result<(), CommandError> {
        state.validate()?;
        write_json_atomically(&self.path, state).map_err(|message| CommandError::new(ErrorCode::Settings, message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_saved_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = UiStateFile::new(dir.path());
        assert_eq!(file.load(), UiState::default());
        let state = UiState { last_route: Some("/remote/prompt-templates".into()), theme: ThemeChoice::Dark };
        file.save(&state).unwrap();
        assert_eq!(file.load(), state);
    }

    #[test]
    fn a_damaged_file_reads_as_defaults_field_by_field() {
        let dir = tempfile::tempdir().unwrap();
        let file = UiStateFile::new(dir.path());
        for (text, expected) in [
            ("not json", UiState::default()),
            ("[1, 2]", UiState::default()),
            (r#"{"lastRoute": 7, "theme": "dark"}"#, UiState { last_route: None, theme: ThemeChoice::Dark }),
            (
                r#"{"lastRoute": "/settings", "theme": "purple"}"#,
                UiState { last_route: Some("/settings".into()), theme: ThemeChoice::System },
            ),
            (r#"{"lastRoute": "javascript:alert(1)"}"#, UiState::default()),
        ] {
            std::fs::write(dir.path().join("ui.json"), text).unwrap();
            assert_eq!(file.load(), expected, "{text}");
        }
    }

    #[test]
    fn a_route_that_is_not_a_path_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = UiStateFile::new(dir.path());
        for route in ["remote/x", "/with space", "/\u{e9}", &format!("/{}", "a".repeat(MAX_ROUTE_LEN))] {
            let err = file.save(&UiState { last_route: Some(route.to_owned()), ..UiState::default() }).unwrap_err();
            assert!(err.message.contains("must be a route"), "{route}: {err:?}");
        }
        assert!(!dir.path().join("ui.json").exists());
    }
}
