//! Files the person chose in a native dialog (issue 20, point 5).
//!
//! The page never names a file on disk. `choose_file` and `choose_save_path`
//! open the OS's own open/save dialog (tauri-plugin-dialog), which no script
//! in the page can fill in, and answer with an opaque token and the file's
//! name (for display). The commands that read or write a file
//! (`import_records`, `save_dataset`, `export_responses`) take that token:
//! random (128 bits), for one use, for the purpose it was chosen for (open
//! or save), and only for [`TOKEN_LIFETIME`]. A raw path, an unknown, used
//! or expired token, or an open token used to write are refused.
//!
//! Files dropped on the window (issue 16, point 2) are chosen too: Rust gets
//! their paths from the OS drop, registers each regular file like a dialog's
//! choice and tells the page with [`FILES_DROPPED`] (tokens and names only).
//! The page cannot emit that event (no `core:event:allow-emit`), so it
//! cannot forge a drop. A recently imported file is offered again by id
//! (`crate::recent_files`). "Show in folder" reveals only a file this launch
//! exported.
//!
//! End-to-end tests cannot click a native dialog: a debug build started with
//! [`TEST_ANSWERS_ENV`] takes each answer from that file instead (see
//! [`DialogAnswers`]), and one started with [`TEST_REVEALED_ENV`] writes the
//! path it would show in the file manager to that file; a release build
//! never reads either.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tauri::{AppHandle, Manager as _, Runtime, State};
use tauri_plugin_dialog::DialogExt as _;

use super::data::DataState;
use crate::error::{CommandError, CommandResult};
use crate::recent_files::RecentFile;

/// How long a chosen file stays usable.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Debug builds only: a file of answers for the dialogs, one per line, the
/// first line answering the next dialog (and removed); an empty line is a
/// dialog cancelled. Release builds ignore the variable and always ask.
pub const TEST_ANSWERS_ENV: &str = "AUGMENT_TEST_DIALOG_ANSWERS";

/// Debug builds only: "Show in folder" appends the path to this file instead
/// of opening the file manager (a test has none to look at).
pub const TEST_REVEALED_ENV: &str = "AUGMENT_TEST_REVEALED";

/// Files were dropped on the window; payload: [`FilesDropped`].
pub const FILES_DROPPED: &str = "files-dropped";

/// What a chosen file may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Read (import, save a dataset).
    Open,
    /// Written (export).
    Save,
}

impl Purpose {
    fn verb(self) -> &'static str {
        match self {
            Purpose::Open => "reading",
            Purpose::Save => "writing",
        }
    }
}

#[derive(Debug)]
struct Chosen {
    path: PathBuf,
    purpose: Purpose,
    expires: Instant,
}

/// The files chosen in dialogs and not used yet, by token, and the files
/// exported in this launch (managed state).
#[derive(Debug, Default)]
pub struct FileChoices {
    chosen: Mutex<HashMap<String, Chosen>>,
    exported: Mutex<HashSet<PathBuf>>,
}

/// What a drop on the window gave the page.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilesDropped {
    /// Each regular file dropped, ready to read.
    pub files: Vec<FileChoice>,
    /// The names of what was dropped but is not a file (a folder), to say so.
    pub skipped: Vec<String>,
}

/// A chosen file as the page sees it: a token to pass back, and a name to show.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChoice {
    /// Pass this to the command that reads or writes the file.
    pub token: String,
    /// The file's name (not its folder), for display.
    pub name: String,
}

impl FileChoices {
    /// Records `path` as chosen by the person for `purpose` and returns what
    /// the page gets. Only the dialog commands (and tests standing in for
    /// the person) call this.
    pub fn register(&self, path: PathBuf, purpose: Purpose) -> FileChoice {
        let token = format!("file-{:032x}", rand::random::<u128>());
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut chosen = self.chosen.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        chosen.retain(|_, c| c.expires > now);
        chosen.insert(token.clone(), Chosen { path, purpose, expires: now + TOKEN_LIFETIME });
        FileChoice { token, name }
    }

    /// Registers each regular file of a drop for reading; folders and
    /// anything unreadable are named in `skipped`.
    pub fn dropped(&self, paths: &[PathBuf]) -> FilesDropped {
        let mut dropped = FilesDropped { files: Vec::new(), skipped: Vec::new() };
        for path in paths {
            if path.is_file() {
                dropped.files.push(self.register(path.clone(), Purpose::Open));
            } else {
                dropped.skipped.push(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            }
        }
        tracing::info!(files = dropped.files.len(), skipped = dropped.skipped.len(), "files dropped on the window");
        dropped
    }

    /// Remembers a file this launch wrote, so "Show in folder" may reveal it.
    pub fn exported(&self, path: PathBuf) {
        self.exported.lock().unwrap_or_else(PoisonError::into_inner).insert(path);
    }

    fn was_exported(&self, path: &Path) -> bool {
        self.exported.lock().unwrap_or_else(PoisonError::into_inner).contains(path)
    }

    /// The path behind `token`, which is used up by this call. Refuses an
    /// unknown, used or expired token and one chosen for another purpose.
    pub fn take(&self, token: &str, purpose: Purpose) -> CommandResult<PathBuf> {
        let refused = |why: &str| {
            CommandError::invalid(format!(
                "{why}: choose the file again (files are read and written only once chosen in the app's file dialog)"
            ))
        };
        let mut chosen = self.chosen.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(choice) = chosen.remove(token) else {
            return Err(refused("this file choice is unknown or was already used"));
        };
        if choice.expires <= Instant::now() {
            return Err(refused("this file choice has expired"));
        }
        if choice.purpose != purpose {
            return Err(refused(&format!("this file was not chosen for {}", purpose.verb())));
        }
        Ok(choice.path)
    }
}

/// The refusal for a command given a raw `path` by the page.
pub fn raw_path_refused() -> CommandError {
    CommandError::invalid(
        "a file path from the page is not accepted: choose the file with the app's file dialog \
         (`choose_file` / `choose_save_path`) and pass its token as `file`",
    )
}

/// Answers from [`TEST_ANSWERS_ENV`] (debug builds), or `None`: ask with a real dialog.
#[derive(Debug)]
pub struct DialogAnswers;

impl DialogAnswers {
    /// The next answer from the test file, when a debug build has one:
    /// `Some(None)` is a cancelled dialog, `None` means ask the person.
    #[cfg(debug_assertions)]
    fn next() -> Option<Option<PathBuf>> {
        let file = std::env::var_os(TEST_ANSWERS_ENV)?;
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(err) => {
                tracing::warn!(%err, "{TEST_ANSWERS_ENV} names a file that cannot be read; the dialog counts as cancelled");
                return Some(None);
            }
        };
        let mut lines = text.lines();
        let answer = lines.next().unwrap_or_default().trim().to_owned();
        let rest: String = lines.map(|l| format!("{l}\n")).collect();
        if let Err(err) = std::fs::write(&file, rest) {
            tracing::warn!(%err, "could not remove the answer given from {TEST_ANSWERS_ENV}");
        }
        tracing::info!(answer = %answer, "file dialog answered from {TEST_ANSWERS_ENV}");
        Some((!answer.is_empty()).then(|| PathBuf::from(answer)))
    }

    #[cfg(not(debug_assertions))]
    fn next() -> Option<Option<PathBuf>> {
        None
    }
}

/// Shows the open or save dialog off the async workers and waits for it.
async fn ask<R: Runtime>(
    app: &AppHandle<R>,
    purpose: Purpose,
    title: Option<String>,
    suggested_name: Option<String>,
) -> CommandResult<Option<PathBuf>> {
    if let Some(answer) = DialogAnswers::next() {
        return Ok(answer);
    }
    let mut dialog = app.dialog().file();
    if let Some(title) = title.filter(|t| !t.trim().is_empty()) {
        dialog = dialog.set_title(title);
    }
    if let Some(name) = suggested_name.filter(|n| !n.trim().is_empty()) {
        // Only a name: the folder is the person's to pick.
        let name = Path::new(&name).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        dialog = dialog.set_file_name(name);
    }
    let picked = tauri::async_runtime::spawn_blocking(move || match purpose {
        Purpose::Open => dialog.blocking_pick_file(),
        Purpose::Save => dialog.blocking_save_file(),
    })
    .await
    .map_err(|err| CommandError::invalid(format!("the file dialog failed: {err}")))?;
    match picked.map(|file| file.into_path()) {
        None => Ok(None),
        Some(Ok(path)) => Ok(Some(path)),
        Some(Err(err)) => Err(CommandError::invalid(format!("the chosen file is not on this machine's disk: {err}"))),
    }
}

async fn choose<R: Runtime>(
    app: AppHandle<R>,
    purpose: Purpose,
    title: Option<String>,
    suggested_name: Option<String>,
) -> CommandResult<Option<FileChoice>> {
    let Some(path) = ask(&app, purpose, title, suggested_name).await? else {
        return Ok(None);
    };
    tracing::info!(path = %path.display(), ?purpose, "file chosen in the dialog");
    Ok(Some(app.state::<FileChoices>().register(path, purpose)))
}

/// Opens the native "open file" dialog; `null` when the person cancels.
#[tauri::command]
pub async fn choose_file<R: Runtime>(
    app: AppHandle<R>,
    _choices: State<'_, FileChoices>,
    title: Option<String>,
) -> CommandResult<Option<FileChoice>> {
    choose(app, Purpose::Open, title, None).await
}

/// Opens the native "save file" dialog, `suggestedName` filled in; `null` when the person cancels.
#[tauri::command]
pub async fn choose_save_path<R: Runtime>(
    app: AppHandle<R>,
    _choices: State<'_, FileChoices>,
    title: Option<String>,
    suggested_name: Option<String>,
) -> CommandResult<Option<FileChoice>> {
    choose(app, Purpose::Save, title, suggested_name).await
}

/// Shows an exported file in the OS file manager. Only a file this launch
/// exported is shown: the page cannot make the app open a folder of its choosing.
#[tauri::command]
pub async fn show_in_folder(choices: State<'_, FileChoices>, path: String) -> CommandResult<()> {
    let path = PathBuf::from(path);
    if !choices.was_exported(&path) {
        return Err(CommandError::invalid(
            "only a file exported in this session can be shown in its folder: export it again, then show it",
        ));
    }
    reveal(&path)
}

#[cfg(debug_assertions)]
fn reveal(path: &Path) -> CommandResult<()> {
    if let Some(log) = std::env::var_os(TEST_REVEALED_ENV) {
        use std::io::Write as _;
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut file| writeln!(file, "{}", path.display()));
        return written.map_err(|err| CommandError::invalid(format!("{TEST_REVEALED_ENV}: {err}")));
    }
    reveal_in_file_manager(path)
}

#[cfg(not(debug_assertions))]
fn reveal(path: &Path) -> CommandResult<()> {
    reveal_in_file_manager(path)
}

fn reveal_in_file_manager(path: &Path) -> CommandResult<()> {
    tauri_plugin_opener::reveal_item_in_dir(path).map_err(|err| {
        CommandError::invalid(format!(
            "could not open the file manager at {}: {err}; the file is there, open the folder yourself",
            path.display()
        ))
    })
}

/// The files imported lately, newest first.
#[tauri::command]
pub async fn recent_files(data: State<'_, DataState>) -> CommandResult<Vec<RecentFile>> {
    Ok(data.recent.list())
}

/// Chooses a recent file again, as if picked in the dialog.
#[tauri::command]
pub async fn choose_recent_file(
    choices: State<'_, FileChoices>,
    data: State<'_, DataState>,
    id: String,
) -> CommandResult<FileChoice> {
    let path = data.recent.path(&id)?;
    tracing::info!(path = %path.display(), "recent file chosen");
    Ok(choices.register(path, Purpose::Open))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_registers_files_for_reading_and_names_folders() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("people.csv");
        std::fs::write(&csv, "name\nada\n").unwrap();
        let folder = dir.path().join("photos");
        std::fs::create_dir(&folder).unwrap();
        let choices = FileChoices::default();
        let dropped = choices.dropped(&[folder, csv.clone(), dir.path().join("gone.csv")]);
        assert_eq!(dropped.files.len(), 1);
        assert_eq!(dropped.files[0].name, "people.csv");
        assert_eq!(dropped.skipped, ["photos", "gone.csv"]);
        assert_eq!(choices.take(&dropped.files[0].token, Purpose::Open).unwrap(), csv);
        let again = choices.dropped(&[dir.path().join("people.csv")]);
        assert!(choices.take(&again.files[0].token, Purpose::Save).is_err(), "a dropped file is for reading only");
    }

    #[test]
    fn only_an_exported_file_is_shown_in_its_folder() {
        let choices = FileChoices::default();
        assert!(!choices.was_exported(Path::new("/home/ana/answers.csv")));
        choices.exported(PathBuf::from("/home/ana/answers.csv"));
        assert!(choices.was_exported(Path::new("/home/ana/answers.csv")));
        assert!(!choices.was_exported(Path::new("/home/ana")));
    }

    #[test]
    fn a_token_is_single_use_and_for_its_purpose_only() {
        let choices = FileChoices::default();
        let chosen = choices.register(PathBuf::from("/data/people.csv"), Purpose::Open);
        assert_eq!(chosen.name, "people.csv");
        assert!(chosen.token.len() >= 32, "{}", chosen.token);
        assert_eq!(choices.take(&chosen.token, Purpose::Open).unwrap(), PathBuf::from("/data/people.csv"));
        assert!(choices.take(&chosen.token, Purpose::Open).is_err(), "used once");

        let read = choices.register(PathBuf::from("/data/people.csv"), Purpose::Open);
        let err = choices.take(&read.token, Purpose::Save).unwrap_err();
        assert!(err.message.contains("not chosen for writing"), "{}", err.message);
        assert!(choices.take("/data/people.csv", Purpose::Open).is_err(), "a path is no token");
    }

    #[test]
    fn an_expired_token_is_refused() {
        let choices = FileChoices::default();
        let chosen = choices.register(PathBuf::from("/data/a.csv"), Purpose::Open);
        choices.chosen.lock().unwrap().get_mut(&chosen.token).unwrap().expires = Instant::now();
        let err = choices.take(&chosen.token, Purpose::Open).unwrap_err();
        assert!(err.message.contains("expired"), "{}", err.message);
    }
}
