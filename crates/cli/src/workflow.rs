//! What the workflow commands (`augment data|template|run`) share: the
//! app's database, found where the app keeps it, and names looked up with
//! errors that list what exists.
//!
//! The commands call the same crates as the app's commands
//! (`src-tauri/src/commands/data.rs`, `runs.rs`): `local-data`'s [`Store`]
//! and `runs`' engine, on the same `<data dir>/local.db`. SQLite's WAL lets
//! the app stay open meanwhile.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::Args;
use local_data::{Dataset, Store, Template};

/// The app's identifier in `tauri.conf.json`: Tauri names the app's data and
/// config folders after it. Written out here because the CLI does not depend
/// on Tauri; a unit test below keeps the two equal.
pub const APP_IDENTIFIER: &str = "dev.augment-it.desktop";

/// The database's file name in the data dir (the app's `commands::data::DB_FILE`).
const DB_FILE: &str = "local.db";

/// `--data-dir`, shared by the workflow commands.
#[derive(Debug, Clone, Args)]
pub struct DataDir {
    /// The app's data folder, holding local.db [default: the app's own, or AUGMENT_DATA_DIR].
    #[arg(long, global = true, env = "AUGMENT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DataDir {
    /// The folder the app would use: the flag, else `AUGMENT_DATA_DIR`, else
    /// Tauri's `app_data_dir()` (the platform data dir joined with the
    /// identifier: `~/.local/share/dev.augment-it.desktop` on Linux,
    /// `~/Library/Application Support/…` on macOS, `%APPDATA%\…` on Windows).
    pub fn resolve(&self) -> Result<PathBuf> {
        match &self.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => default_app_dir(directories::BaseDirs::data_dir),
        }
    }

    /// Opens (creating if needed) the app's database.
    pub fn open(&self) -> Result<Store> {
        let dir = self.resolve()?;
        open_store(&dir)
    }
}

/// `<platform dir>/<identifier>`, as Tauri's `app_data_dir()` / `app_config_dir()` compute it.
pub fn default_app_dir(which: fn(&directories::BaseDirs) -> &Path) -> Result<PathBuf> {
    let dirs = directories::BaseDirs::new()
        .context("no home folder is known, so the app's folder cannot be found: pass --data-dir")?;
    Ok(which(&dirs).join(APP_IDENTIFIER))
}

pub fn open_store(dir: &Path) -> Result<Store> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating the data folder {}", dir.display()))?;
    let path = dir.join(DB_FILE);
    Store::open(&path).with_context(|| format!("opening the local database {}", path.display()))
}

/// Bad input from the command line (a name that names nothing, flags that
/// do not fit): exits 2, like clap's own usage errors.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// A list of names for an error message, at most ten of them.
fn some_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let mut shown: Vec<String> = names.iter().take(10).map(|n| format!("`{n}`")).collect();
    if names.len() > 10 {
        shown.push(format!("and {} more", names.len() - 10));
    }
    shown.join(", ")
}

/// The dataset called `name` (or with id `name`).
pub fn find_dataset(store: &Store, name: &str) -> Result<Dataset> {
    let datasets = store.datasets()?;
    find_named(
        datasets,
        name,
        Kind { what: "dataset", add: "import one with `augment data import FILE`", list: "augment data list" },
        |d| (d.name.as_str(), d.id),
    )
}

/// The template called `name` (or with id `name`).
pub fn find_template(store: &Store, name: &str) -> Result<Template> {
    let templates = store.templates()?;
    find_named(
        templates,
        name,
        Kind {
            what: "template",
            add: "add one with `augment template add NAME --file FILE`",
            list: "augment template list",
        },
        |t| (t.name.as_str(), t.id),
    )
}

/// How a not-found error names a kind of thing and says what to do.
struct Kind {
    what: &'static str,
    add: &'static str,
    list: &'static str,
}

/// The item whose name is `name`, else whose id is `name`; else a usage
/// error listing the names that exist (or how to make the first one).
fn find_named<T>(mut items: Vec<T>, name: &str, kind: Kind, name_and_id: impl Fn(&T) -> (&str, i64)) -> Result<T> {
    let by_name = items.iter().position(|item| name_and_id(item).0 == name);
    let by_id = || name.parse::<i64>().ok().and_then(|id| items.iter().position(|item| name_and_id(item).1 == id));
    if let Some(at) = by_name.or_else(by_id) {
        return Ok(items.swap_remove(at));
    }
    let Kind { what, add, list } = kind;
    Err(if items.is_empty() {
        usage(format!("there is no {what} called `{name}`: there are no {what}s yet; {add}"))
    } else {
        usage(format!(
            "there is no {what} called `{name}`; the {what}s are {} (see `{list}`)",
            some_names(items.iter().map(|item| name_and_id(item).0))
        ))
    })
}

/// Reads a text argument given as `--file F` or `--text T`.
pub fn text_or_file(text: Option<String>, file: Option<&Path>, what: &str) -> Result<String> {
    match (text, file) {
        (Some(text), None) => Ok(text),
        (None, Some(path)) => {
            std::fs::read_to_string(path).with_context(|| format!("reading the {what} from {}", path.display()))
        }
        _ => Err(usage(format!("give the {what} with --file FILE or --text TEXT (one of them)"))),
    }
}

/// Milliseconds since the epoch as an RFC 3339 UTC time, for tables.
pub fn when(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis).map(|t| t.strftime("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identifier_is_the_apps() {
        let conf: serde_json::Value =
            serde_json::from_str(include_str!("../../../tauri.conf.json")).expect("tauri.conf.json is JSON");
        assert_eq!(conf["identifier"], APP_IDENTIFIER, "the CLI must find the app's data folder");
    }

    #[test]
    fn the_default_data_dir_ends_with_the_identifier() {
        let dir = DataDir { data_dir: None }.resolve().expect("a home folder in tests");
        assert!(dir.ends_with(APP_IDENTIFIER), "{}", dir.display());
    }
}
