//! Native confirmations: changes that decide which code the shell runs
//! (registries, dev overrides; issue 20, point 6) or where an API key is sent
//! (a provider's base URL; issue 15, point 4) are saved only after the person
//! says yes in a dialog drawn by the OS, which no script in the page can
//! click or fake.

use tauri::{AppHandle, Manager as _, Runtime};
use tauri_plugin_dialog::{DialogExt as _, MessageDialogButtons, MessageDialogKind};

/// The environment variable that answers every confirmation without a
/// dialog, for the end-to-end tests: `yes` or `no`. Read by debug builds only;
/// a release build always asks.
pub const TEST_ANSWER_ENV: &str = "AUGMENT_TEST_CONFIRM";

/// How confirmations are answered (managed state; [`Confirmation::from_env`] when none is managed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// A native dialog asks the person.
    Native,
    /// Answered without asking (tests only).
    Answer(bool),
}

impl Confirmation {
    /// [`Confirmation::Native`], unless a debug build has [`TEST_ANSWER_ENV`] set.
    pub fn from_env() -> Self {
        #[cfg(debug_assertions)]
        if let Some(answer) = std::env::var_os(TEST_ANSWER_ENV) {
            match answer.to_str() {
                Some("yes") => return Self::Answer(true),
                Some("no") => return Self::Answer(false),
                _ => tracing::warn!("{TEST_ANSWER_ENV} must be \"yes\" or \"no\"; asking with a dialog"),
            }
        }
        Self::Native
    }
}

/// Asks the person to confirm `message`; `true` only on an explicit "yes".
pub async fn ask<R: Runtime>(app: &AppHandle<R>, title: &str, message: String, confirm: &str) -> bool {
    let confirmation = app.try_state::<Confirmation>().map(|state| *state).unwrap_or_else(Confirmation::from_env);
    let answer = match confirmation {
        Confirmation::Answer(answer) => answer,
        Confirmation::Native => {
            let (sender, receiver) = tokio::sync::oneshot::channel();
            app.dialog()
                .message(message)
                .title(title)
                .kind(MessageDialogKind::Warning)
                .buttons(MessageDialogButtons::OkCancelCustom(confirm.to_owned(), "Cancel".to_owned()))
                .show(move |answer| {
                    let _ = sender.send(answer);
                });
            // A dialog closed without an answer is a "no".
            receiver.await.unwrap_or(false)
        }
    };
    tracing::info!(title, answer, how = ?confirmation, "confirmation answered");
    answer
}
