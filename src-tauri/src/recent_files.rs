//! The files a person imported lately (issue 16, point 2), newest first, so
//! the Record Collector can offer them again without a dialog. Kept in
//! `recent-files.json` in the data dir. The page sees an id, the file's name
//! and its folder (to tell two `data.csv` apart); reading one again goes
//! through [`crate::commands::files::FileChoices`] like a dialog's choice.
//!
//! The list is a convenience: a missing or damaged file reads as empty, and
//! a file that has moved is dropped from the list when someone picks it.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::error::{CommandError, ErrorCode};
use crate::settings::write_json_atomically;

/// How many files the list keeps.
pub const MAX_RECENT: usize = 10;

/// One recent file as the page sees it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentFile {
    /// Pass to `choose_recent_file`.
    pub id: String,
    pub name: String,
    pub folder: String,
    /// Unix seconds of the last import.
    pub used_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    id: String,
    path: PathBuf,
    used_at: i64,
}

/// `recent-files.json` in a data dir; one writer at a time.
#[derive(Debug)]
pub struct RecentFiles {
    path: PathBuf,
    lock: Mutex<()>,
}

impl RecentFiles {
    pub fn new(data_dir: &Path) -> Self {
        Self { path: data_dir.join("recent-files.json"), lock: Mutex::new(()) }
    }

    fn read(&self) -> Vec<Entry> {
        let Ok(bytes) = std::fs::read(&self.path) else { return Vec::new() };
        serde_json::from_slice(&bytes).unwrap_or_else(|err| {
            tracing::warn!(path = %self.path.display(), %err, "recent-files.json is damaged; starting a new list");
            Vec::new()
        })
    }

    fn write(&self, entries: &[Entry]) -> Result<(), CommandError> {
        write_json_atomically(&self.path, &entries).map_err(|message| CommandError::new(ErrorCode::Settings, message))
    }

    /// Puts `path` first (once), keeping at most [`MAX_RECENT`].
    pub fn add(&self, path: &Path, used_at: i64) -> Result<(), CommandError> {
        let _one = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut entries = self.read();
        let id = match entries.iter().position(|e| e.path == path) {
            Some(i) => entries.remove(i).id,
            None => format!("recent-{:016x}", rand::random::<u64>()),
        };
        entries.insert(0, Entry { id, path: path.to_owned(), used_at });
        entries.truncate(MAX_RECENT);
        self.write(&entries)
    }

    pub fn list(&self) -> Vec<RecentFile> {
        self.read()
            .into_iter()
            .map(|e| RecentFile {
                name: e.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                folder: e.path.parent().map(|p| p.display().to_string()).unwrap_or_default(),
                id: e.id,
                used_at: e.used_at,
            })
            .collect()
    }

    /// The path of `id`, if it is still a file; a file gone from its place
    /// is dropped from the list and the error says to choose it again.
    pub fn path(&self, id: &str) -> Result<PathBuf, CommandError> {
        let _one = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut entries = self.read();
        let Some(i) = entries.iter().position(|e| e.id == id) else {
            return Err(CommandError::invalid("this recent file is not in the list any more: choose the file again"));
        };
        if entries[i].path.is_file() {
            return Ok(entries[i].path.clone());
        }
        let gone = entries.remove(i);
        self.write(&entries)?;
        Err(CommandError::invalid(format!(
            "{} is no longer in {}: it was moved or deleted; choose the file again",
            gone.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            gone.path.parent().map(|p| p.display().to_string()).unwrap_or_default(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_once_each_at_most_ten() {
        let dir = tempfile::tempdir().unwrap();
        let recent = RecentFiles::new(dir.path());
        assert!(recent.list().is_empty());
        for i in 0..12 {
            recent.add(&dir.path().join(format!("f{i}.csv")), i).unwrap();
        }
        let first_id = recent.list()[9].id.clone();
        recent.add(&dir.path().join("f2.csv"), 99).unwrap();
        let list = recent.list();
        assert_eq!(list.len(), MAX_RECENT);
        assert_eq!((list[0].name.as_str(), list[0].used_at), ("f2.csv", 99));
        assert_eq!(list[0].id, first_id, "a file keeps its id when used again");
        assert_eq!(list[1].name, "f11.csv");
        assert_eq!(list.iter().filter(|f| f.name == "f2.csv").count(), 1);
        assert_eq!(list[0].folder, dir.path().display().to_string());
    }

    #[test]
    fn a_moved_file_is_dropped_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let recent = RecentFiles::new(dir.path());
        let file = dir.path().join("people.csv");
        std::fs::write(&file, "a\n1\n").unwrap();
        recent.add(&file, 1).unwrap();
        let id = recent.list()[0].id.clone();
        assert_eq!(recent.path(&id).unwrap(), file);
        std::fs::remove_file(&file).unwrap();
        let err = recent.path(&id).unwrap_err();
        assert!(err.message.contains("people.csv is no longer in"), "{}", err.message);
        assert!(recent.list().is_empty(), "dropped from the list");
        assert!(recent.path("recent-unknown").unwrap_err().message.contains("choose the file again"));
    }

    #[test]
    fn a_damaged_list_reads_as_empty_and_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("recent-files.json"), "{ not json").unwrap();
        let recent = RecentFiles::new(dir.path());
        assert!(recent.list().is_empty());
        recent.add(&dir.path().join("a.csv"), 1).unwrap();
        assert_eq!(recent.list().len(), 1);
    }
}
