//! Watching dev-override folders: a burst of writes (a rebuild rewrites many
//! files) becomes one change per remote after a short debounce, reported to
//! a callback. No Tauri here, so it is tested without a window; `lib.rs`
//! turns each change into a `dev-remote-changed` event.

use std::path::PathBuf;
use std::time::Duration;

use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

use crate::dev_mode::{DevOverrides, DevRemoteChanged, entry_url, read_manifest};

/// Quiet time after the last write before a change is reported: long enough
/// to group a rebuild's writes, short enough to reload well within a second.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// Keeps the folders watched until dropped.
pub struct FolderWatch {
    _debouncer: Debouncer<RecommendedWatcher>,
}

impl std::fmt::Debug for FolderWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FolderWatch")
    }
}

/// Watches every folder override (recursively) and calls `on_change` once
/// per changed remote per debounced burst, after bumping its revision.
/// `None` when there is no folder to watch.
pub fn watch(
    overrides: &DevOverrides,
    on_change: impl Fn(DevRemoteChanged) + Send + 'static,
) -> Result<Option<FolderWatch>, notify_debouncer_mini::notify::Error> {
    let folders = overrides.folders();
    if folders.is_empty() {
        return Ok(None);
    }
    let handler_overrides = overrides.clone();
    let handler_folders = folders.clone();
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| match result {
        Ok(events) => {
            let paths: Vec<PathBuf> = events.into_iter().map(|event| event.path).collect();
            for remote in changed_remotes(&handler_folders, &paths) {
                if let Some(change) = record_change(&handler_overrides, &remote) {
                    tracing::info!(remote = %change.remote, revision = change.revision, "dev override changed; reloading");
                    on_change(change);
                }
            }
        }
        Err(err) => tracing::warn!(%err, "watching a dev override folder failed"),
    })?;
    for (remote, folder) in &folders {
        debouncer.watcher().watch(folder, RecursiveMode::Recursive)?;
        tracing::info!(%remote, folder = %folder.display(), "watching dev override");
    }
    Ok(Some(FolderWatch { _debouncer: debouncer }))
}

/// The remotes whose folder contains one of `paths`, each once.
fn changed_remotes(folders: &[(String, PathBuf)], paths: &[PathBuf]) -> Vec<String> {
    folders
        .iter()
        .filter(|(_, folder)| paths.iter().any(|path| path.starts_with(folder)))
        .map(|(remote, _)| remote.clone())
        .collect()
}

/// Bumps the remote's revision and builds the event; the entry file is
/// re-read from `remote.json` in case the rebuild renamed it.
fn record_change(overrides: &DevOverrides, remote: &str) -> Option<DevRemoteChanged> {
    let dev = overrides.get(remote)?;
    let folder = overrides.folder(remote)?;
    let entry = match read_manifest(remote, folder) {
        Ok(manifest) => manifest.entry,
        Err(err) => {
            // Mid-rebuild the manifest may be missing: the next write reports again.
            tracing::warn!(%err, "dev override changed but its remote.json is not readable yet");
            return None;
        }
    };
    let revision = dev.bump();
    Some(DevRemoteChanged { remote: remote.to_owned(), revision, entry_url: entry_url(remote, dev, &entry) })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn a_write_in_the_folder_reports_one_change_with_a_new_revision() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("alpha");
        std::fs::create_dir_all(folder.join("assets")).unwrap();
        std::fs::write(
            folder.join("remote.json"),
            r#"{"name":"alpha","version":"1.0.0","entry":"remoteEntry.js","hostApi":"^1.0.0"}"#,
        )
        .unwrap();
        std::fs::write(folder.join("assets/app.js"), "export const text = 'one';").unwrap();
        let other = dir.path().join("unwatched");
        std::fs::create_dir(&other).unwrap();
        let overrides = DevOverrides::resolve(&BTreeMap::new(), &["alpha=alpha".to_owned()], dir.path()).unwrap();
        let (sender, changes) = mpsc::channel();
        let _watch = watch(&overrides, move |change| {
            let _ = sender.send(change);
        })
        .unwrap()
        .expect("a folder to watch");

        std::fs::write(other.join("x.js"), "ignored").unwrap();
        std::fs::write(folder.join("assets/app.js"), "export const text = 'two';").unwrap();
        std::fs::write(folder.join("assets/more.js"), "export {};").unwrap();
        let change = changes.recv_timeout(Duration::from_secs(10)).expect("a change within the deadline");
        assert_eq!(change.remote, "alpha");
        assert_eq!(change.revision, 1, "the first change is the first revision");
        assert!(change.entry_url.ends_with("/@dev/alpha/1/remoteEntry.js"), "{}", change.entry_url);
        // A loaded machine may split the writes over two debounce ticks, so
        // the shared revision is at least the reported one, never behind it.
        assert!(overrides.get("alpha").unwrap().revision() >= 1, "the shared revision moved too");
    }

    #[test]
    fn many_paths_in_one_folder_are_one_change() {
        let folders = vec![("alpha".to_owned(), PathBuf::from("/w/alpha"))];
        let paths = [PathBuf::from("/w/alpha/remoteEntry.js"), PathBuf::from("/w/alpha/assets/a.js")];
        assert_eq!(changed_remotes(&folders, &paths), vec!["alpha".to_owned()]);
    }

    #[test]
    fn nothing_is_watched_without_folder_overrides() {
        let overrides = DevOverrides::resolve(
            &BTreeMap::new(),
            &["alpha=http://localhost:5173/remoteEntry.js".to_owned()],
            std::path::Path::new("."),
        )
        .unwrap();
        assert!(watch(&overrides, |_| {}).unwrap().is_none());
    }

    #[test]
    fn changes_map_to_the_folder_that_holds_them() {
        let folders =
            vec![("alpha".to_owned(), PathBuf::from("/w/alpha")), ("beta".to_owned(), PathBuf::from("/w/beta"))];
        assert_eq!(changed_remotes(&folders, &[PathBuf::from("/w/beta/x/y.js")]), vec!["beta".to_owned()]);
        assert!(
            changed_remotes(&folders, &[PathBuf::from("/w/alphabet/x.js")]).is_empty(),
            "prefix of a name is not the folder"
        );
    }
}
