//! Installs what the project needs on a fresh Debian machine, and skips what
//! is already there so a second run costs well under a second.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::run_checked;

/// What the machine is being prepared for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The app and the headless CLI.
    Run,
    /// Everything the test suites start: the keychain daemon and its tools.
    Test,
}

/// Debian packages per purpose. The tests need a real Secret Service
/// (gnome-keyring in a D-Bus session) and `secret-tool` to check it from
/// outside, PostgreSQL for the auth service's suites (xtask/src/postgres.rs)
/// and Redis for the gateway's shared rate limits (xtask/src/redis.rs).
fn apt_packages(purpose: Purpose) -> Vec<&'static str> {
    // The desktop shell: WebKitGTK and friends to build and run the Tauri app,
    // Xvfb + ImageMagick for headless runs and screenshots.
    let shell =
        ["libwebkit2gtk-4.1-dev", "libayatana-appindicator3-dev", "librsvg2-dev", "xvfb", "xauth", "imagemagick"];
    match purpose {
        Purpose::Run => shell.to_vec(),
        // WebKitWebDriver drives the real app in the shell's end-to-end tests.
        Purpose::Test => [
            &[
                "gnome-keyring",
                "libsecret-tools",
                "dbus-x11",
                "dbus",
                "webkit2gtk-driver",
                "postgresql",
                "redis-server",
                // A real notification daemon for the desktop-notification test (src-tauri/tests/app/hooks.rs).
                "dunst",
            ][..],
            &shell,
        ]
        .concat(),
    }
}

pub fn ensure(purpose: Purpose) -> Result<()> {
    ensure_apt(purpose)?;
    if purpose == Purpose::Test {
        ensure_tauri_driver()?;
        // The stack's monitoring profile and its test (tests/stack/monitoring.rs).
        crate::prometheus::ensure()?;
    }
    ensure_node_modules(&crate::workspace_root())
}

fn ensure_apt(purpose: Purpose) -> Result<()> {
    let missing: Vec<&str> = apt_packages(purpose).into_iter().filter(|p| !is_installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    anyhow::ensure!(
        is_root(),
        "missing system packages: {}. Install them with `sudo apt-get install -y {}` and run again",
        missing.join(" "),
        missing.join(" ")
    );
    run_checked(Command::new("apt-get").arg("update").arg("-qq")).context("apt-get update")?;
    run_checked(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .context("apt-get install")
}

/// tauri-driver bridges WebDriver to the app (the shell's e2e tests).
fn ensure_tauri_driver() -> Result<()> {
    let cargo_bin = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo/bin/tauri-driver"));
    let on_path = Command::new("sh").args(["-c", "command -v tauri-driver"]).output().is_ok_and(|o| o.status.success());
    if on_path || cargo_bin.is_some_and(|p| p.exists()) {
        return Ok(());
    }
    eprintln!("xtask: installing tauri-driver");
    run_checked(Command::new("cargo").args(["install", "tauri-driver", "--locked"]))
        .context("cargo install tauri-driver")
}

/// `npm ci` for the workspace (shell-ui, remotes) when node_modules is
/// missing or older than package-lock.json.
fn ensure_node_modules(root: &Path) -> Result<()> {
    let lock = root.join("package-lock.json");
    if !lock.exists() {
        return Ok(());
    }
    // npm writes node_modules/.package-lock.json on every install.
    let installed = root.join("node_modules/.package-lock.json");
    if modified(&installed).is_some_and(|installed| modified(&lock).is_some_and(|lock| installed >= lock)) {
        return Ok(());
    }
    anyhow::ensure!(
        Command::new("npm").arg("--version").output().is_ok_and(|o| o.status.success()),
        "npm is missing: install Node.js 20.19+ and npm (`apt-get install nodejs npm`), then run again"
    );
    eprintln!("xtask: npm ci");
    run_checked(Command::new("npm").current_dir(root).args(["ci", "--no-audit", "--no-fund"])).context("npm ci")
}

/// Builds shell-ui/dist (which the app embeds) unless it is newer than every
/// source file of the shell UI.
pub fn build_shell_ui(root: &Path) -> Result<()> {
    let ui = root.join("shell-ui");
    let built = modified(&ui.join("dist/index.html"));
    // The shell bundles the shared modules it provides to remotes.
    let sources = [
        ui.join("src"),
        ui.join("index.html"),
        ui.join("package.json"),
        ui.join("vite.config.ts"),
        ui.join("tsconfig.json"),
        root.join("package-lock.json"),
        root.join("remotes/shared"),
    ];
    let newest = sources.iter().filter_map(|p| newest_source(p)).max();
    if let (Some(built), Some(newest)) = (built, newest)
        && built >= newest
    {
        return Ok(());
    }
    eprintln!("xtask: building shell-ui");
    run_checked(Command::new("npm").current_dir(root).args(["run", "build:shell"])).context("building shell-ui")
}

/// Builds every remote under `remotes/` (each folder with a `package.json`,
/// the shared modules under `remotes/shared/` excluded: the shell bundles
/// those) into its `dist/`, skipping a remote whose `dist/remote.json` is
/// newer than its sources, the shared modules, `remotes/vite.remote.ts` and
/// the lockfile. Returns the built `dist/` folders, ready for `augment publish`.
pub fn build_remotes(root: &Path) -> Result<Vec<PathBuf>> {
    let mut dists = Vec::new();
    for dir in remote_projects(root)? {
        let dist = dir.join("dist");
        if is_stale(&dist.join("remote.json"), &remote_sources(root, &dir)) {
            let workspace = dir.strip_prefix(root).unwrap_or(&dir).to_string_lossy().into_owned();
            eprintln!("xtask: building {workspace}");
            run_checked(Command::new("npm").current_dir(root).args(["run", "build", "--workspace", &workspace]))
                .with_context(|| format!("building the remote {workspace}"))?;
            anyhow::ensure!(dist.join("remote.json").exists(), "{workspace} built no dist/remote.json");
        }
        dists.push(dist);
    }
    Ok(dists)
}

/// Lints the TypeScript (ESLint: hooks, accessibility; eslint.config.mjs),
/// then runs the vitest suites of the remotes, the shared modules and the
/// shell UI (one vitest run, one project each).
pub fn test_remotes(root: &Path) -> Result<()> {
    if remote_projects(root)?.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: eslint for remotes/ and shell-ui/");
    run_checked(Command::new("npm").current_dir(root).args(["run", "lint"]))
        .context("ESLint on remotes/ and shell-ui/")?;
    eprintln!("xtask: vitest for remotes/ and shell-ui/");
    run_checked(Command::new("npm").current_dir(root).args(["run", "test:remotes"]))
        .context("the vitest suites of remotes/ and shell-ui/")
}

/// The remote projects, sorted: `remotes/<name>/` folders with a `package.json`.
fn remote_projects(root: &Path) -> Result<Vec<PathBuf>> {
    let remotes = root.join("remotes");
    if !remotes.exists() {
        return Ok(Vec::new());
    }
    let entries = std::fs::read_dir(&remotes).with_context(|| format!("listing {}", remotes.display()))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n != "shared") && p.join("package.json").exists())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn remote_sources(root: &Path, dir: &Path) -> Vec<PathBuf> {
    let own = ["src", "remote.json", "package.json", "vite.config.ts", "tsconfig.json"].map(|p| dir.join(p));
    let common = [root.join("remotes/shared"), root.join("remotes/vite.remote.ts"), root.join("package-lock.json")];
    own.into_iter().chain(common).collect()
}

/// `built` is missing or older than the newest file under `sources`
/// (`node_modules` and `dist` folders are not sources).
fn is_stale(built: &Path, sources: &[PathBuf]) -> bool {
    let newest = sources.iter().filter_map(|p| newest_source(p)).max();
    match (modified(built), newest) {
        (Some(built), Some(newest)) => built < newest,
        _ => true,
    }
}

fn newest_source(path: &Path) -> Option<std::time::SystemTime> {
    if path.file_name().is_some_and(|n| n == "node_modules" || n == "dist") {
        return None;
    }
    let own = modified(path);
    let children =
        std::fs::read_dir(path).into_iter().flatten().filter_map(|e| e.ok()).filter_map(|e| newest_source(&e.path()));
    own.into_iter().chain(children).max()
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

pub(crate) fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|out| out.stdout.starts_with(b"0")).unwrap_or(false)
}
