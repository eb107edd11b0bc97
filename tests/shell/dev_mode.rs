//! Dev mode in the real window: a remote overridden by a local folder is
//! marked as such, mounts from the folder, remounts when a file in the
//! folder changes, and never lands in the cache.

use std::path::{Path, PathBuf};

use fantoccini::Locator;
use integration_tests::Sandbox;

use crate::harness::{Driver, app_args, publish, screenshot, serial, wait_for, wait_for_text};

/// Copies a fixture remote into `dest` (a dev's `dist/`).
fn copy_fixture(name: &str, dest: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/remotes-src").join(name);
    std::fs::create_dir_all(dest).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        assert!(entry.file_type().unwrap().is_file(), "fixture {name} is flat");
        std::fs::copy(entry.path(), dest.join(entry.file_name())).unwrap();
    }
    dest.canonicalize().unwrap()
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle)) {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test]
async fn a_folder_override_is_marked_reloads_on_change_and_stays_out_of_the_cache() {
    let _one = serial().await;
    let sandbox = Sandbox::new();
    // beta comes from the registry as usual; alpha only exists in the dev folder.
    publish(&sandbox, &["beta-1.0.0"]);
    let dev_dir = tempfile::tempdir().unwrap();
    let alpha_dist = copy_fixture("alpha-1.0.0", &dev_dir.path().join("alpha/dist"));
    let mut args = app_args(&sandbox, &sandbox.registry().display().to_string());
    args.extend(["--dev-remote".to_owned(), format!("alpha={}", alpha_dist.display())]);

    let driver = Driver::start();
    let app = driver.open(&args).await;
    let content = r#"[data-remote="alpha"][data-state="mounted"] [data-testid="alpha-content"]"#;
    wait_for_text(&app, content, "Alpha says hello").await;
    wait_for(&app, r#"[data-remote="beta"][data-state="mounted"] [data-testid="beta-content"]"#).await;
    let badge = format!("dev override: {}", alpha_dist.display());
    let nav =
        wait_for(&app, r#"[data-testid="remote-nav"] li[data-remote="alpha"] [data-testid="dev-override"]"#).await;
    assert_eq!(nav.text().await.unwrap(), badge, "the navigation marks the override");
    let slot = wait_for(&app, r#"section[data-remote="alpha"] [data-testid="dev-override"]"#).await;
    assert_eq!(slot.text().await.unwrap(), badge, "the slot marks the override");
    let beta_badges = app.find_all(Locator::Css(r#"[data-remote="beta"] [data-testid="dev-override"]"#)).await.unwrap();
    assert!(beta_badges.is_empty(), "a registry remote carries no dev badge");

    // The dev edits a module the entry imports (not the entry itself): the
    // whole remote must be evaluated again, not only its entry.
    let app_js = alpha_dist.join("app.js");
    let source = std::fs::read_to_string(&app_js).unwrap();
    assert!(source.contains("Alpha says hello"));
    std::fs::write(&app_js, source.replace("Alpha says hello", "Alpha was edited in dev mode")).unwrap();
    wait_for_text(&app, content, "Alpha was edited in dev mode").await;
    screenshot(&app, "dev-mode-folder-override-reloaded").await;
    app.close().await.unwrap();

    let cache = cache::BundleCache::open(&sandbox.cache()).unwrap();
    let cached: Vec<String> =
        cache.versions().unwrap().into_iter().map(|v| format!("{} {}", v.name, v.version)).collect();
    assert_eq!(cached, vec!["beta 1.0.0".to_owned()], "only the registry's remote is cached");
    assert!(
        files_containing(&sandbox.cache(), b"Alpha was edited in dev mode").is_empty()
            && files_containing(&sandbox.cache(), b"Alpha says hello").is_empty(),
        "no byte of the override is in the cache"
    );
}
