//! `cargo xtask run`: build the shell UI, the app and the CLI; publish the
//! product's remotes into an embedded local registry under
//! `target/augment-local/product/`; launch the app with that registry as its
//! first registry. No Docker and no network. `--demo-remotes` adds the test
//! remotes (Alpha, Beta, Gamma), in a registry and cache of their own
//! (`target/augment-local/demo/`), so they never appear in the product run.
//!
//! With no display, say so plainly; `--xvfb-screenshot FILE` runs the app
//! under Xvfb instead, waits until the remotes have mounted (the app logs
//! each mount) and saves a screenshot of the screen.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::{run_checked, setup, workspace_root};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Run under `xvfb-run -a` and save a screenshot to FILE once the remotes have mounted, then exit.
    #[arg(long, value_name = "FILE")]
    pub xvfb_screenshot: Option<PathBuf>,
    /// Also publish the test remotes Alpha, Beta and Gamma (a separate registry and cache).
    #[arg(long)]
    pub demo_remotes: bool,
}

/// The test remotes that make a useful demo: two plain ones and one whose
/// newest version needs a newer host (the shell shows why it kept 1.0.0).
const DEMO_REMOTES: &[&str] = &["alpha-1.0.0", "beta-1.0.0", "gamma-1.0.0", "gamma-2.0.0"];

pub fn run(args: RunArgs) -> Result<()> {
    setup::ensure(setup::Purpose::Run)?;
    let root = workspace_root();
    let has_display = ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
    if args.xvfb_screenshot.is_none() && !has_display {
        anyhow::bail!(
            "there is no display (DISPLAY and WAYLAND_DISPLAY are unset), so the app's window cannot open.\n\
             Run it headless instead: `cargo xtask run --xvfb-screenshot shot.png` starts it under Xvfb,\n\
             waits for the remotes to mount and saves a screenshot."
        );
    }
    setup::build_shell_ui(&root)?;
    let remotes = remotes_to_publish(&root, args.demo_remotes)?;
    run_checked(Command::new("cargo").current_dir(&root).args([
        "build",
        "--locked",
        "-p",
        "cli",
        "-p",
        "augment-desktop",
    ]))?;
    let augment = root.join("target/debug/augment");
    let data = root.join("target/augment-local").join(if args.demo_remotes { "demo" } else { "product" });
    let registry = data.join("registry");
    let keys = data.join("keys");
    let key = kept_key(&augment, &keys)?;
    if !registry.join("root.json").exists() {
        run_checked(Command::new(&augment).args(["registry", "init"]).arg(&registry).arg("--key").arg(&key))?;
    }
    for remote in &remotes {
        publish(&augment, remote, &registry, &key)?;
    }
    let app = root.join("target/debug/augment-desktop");
    let mut launch = Command::new(&app);
    launch
        .current_dir(&root)
        .env("AUGMENT_REGISTRY", &registry)
        .env("AUGMENT_TRUST", keys.join("registry.pub"))
        .env("AUGMENT_CACHE_DIR", data.join("cache"))
        .env("AUGMENT_CONFIG_DIR", data.join("config"));
    match args.xvfb_screenshot {
        None => run_checked(&mut launch),
        Some(file) => screenshot_under_xvfb(&launch, &file, distinct_names(&remotes)?),
    }
}

/// The product's remotes (built with npm, published from their `dist/`),
/// and the demo test remotes when asked for.
fn remotes_to_publish(root: &Path, demo_remotes: bool) -> Result<Vec<PathBuf>> {
    let mut out = setup::build_remotes(root)?;
    if demo_remotes {
        let fixtures = root.join("tests/fixtures/remotes-src");
        out.extend(DEMO_REMOTES.iter().map(|name| fixtures.join(name)));
    }
    Ok(out)
}

/// How many remotes (not versions) will mount: one per distinct name.
fn distinct_names(remotes: &[PathBuf]) -> Result<usize> {
    let mut names = std::collections::BTreeSet::new();
    for remote in remotes {
        let path = remote.join("remote.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let manifest: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        names.insert(manifest["name"].as_str().unwrap_or_default().to_owned());
    }
    Ok(names.len())
}

/// The signing key kept in `keys/` across runs (made by `augment keygen` on
/// the first), so a registry made with it stays trusted by the next run.
pub fn kept_key(augment: &Path, keys: &Path) -> Result<PathBuf> {
    let key = keys.join("registry.key");
    if !key.exists() {
        run_checked(Command::new(augment).args(["keygen", "--out"]).arg(keys))?;
    }
    Ok(key)
}

/// Publishes a built remote; an already-published version is left as it is
/// (versions are immutable), which makes a second `xtask run` cheap.
pub fn publish(augment: &Path, remote: &Path, registry: &Path, key: &Path) -> Result<()> {
    let out = Command::new(augment)
        .arg("publish")
        .arg(remote)
        .arg("--registry")
        .arg(registry)
        .arg("--key")
        .arg(key)
        .output()
        .context("running augment publish")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        print!("{}", String::from_utf8_lossy(&out.stdout));
    } else if stderr.contains("already") {
        eprintln!("xtask: {} is already published", remote.display());
    } else {
        anyhow::bail!("publishing {} failed: {stderr}", remote.display());
    }
    Ok(())
}

/// Runs the app under `xvfb-run -a`, waits (up to a deadline) until it has
/// logged `mounted` once per remote, screenshots the X screen, stops the app.
fn screenshot_under_xvfb(launch: &Command, file: &Path, remotes: usize) -> Result<()> {
    for tool in ["xvfb-run", "import"] {
        anyhow::ensure!(
            Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success()),
            "`{tool}` is missing: run `cargo xtask setup` (it installs xvfb and imagemagick)"
        );
    }
    let file = std::path::absolute(file).context("resolving the screenshot path")?;
    let log = file.with_extension("log");
    // Polling the log inside a 60 s deadline: the shot is taken as soon as
    // every remote has mounted, or at the deadline with whatever is shown.
    let script = r#"
        "$@" >"$LOG" 2>&1 &
        app=$!
        i=0
        while [ $i -lt 300 ] && kill -0 $app 2>/dev/null && [ "$(grep -c 'remote mounted' "$LOG")" -lt "$EXPECT" ]; do
            sleep 0.2; i=$((i+1))
        done
        while [ $i -lt 300 ] && kill -0 $app 2>/dev/null && ! grep -q 'shell painted' "$LOG"; do
            sleep 0.2; i=$((i+1))
        done
        # WebKit's compositor reaches the X screen a little after the page
        # has painted, and nothing signals that: give it a moment.
        sleep 1
        import -window root "$SHOT"
        kill $app 2>/dev/null
        wait $app 2>/dev/null
        true
    "#;
    let mut command = Command::new("xvfb-run");
    command
        .args(["-a", "-s", "-screen 0 1280x900x24", "sh", "-c", script, "sh"])
        .arg(launch.get_program())
        .args(launch.get_args())
        .envs(launch.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .env("LOG", &log)
        .env("SHOT", &file)
        .env("EXPECT", remotes.to_string());
    if let Some(dir) = launch.get_current_dir() {
        command.current_dir(dir);
    }
    run_checked(&mut command)?;
    anyhow::ensure!(file.exists(), "no screenshot was written; the app's log is {}", log.display());
    println!("xtask: screenshot saved to {} (app log: {})", file.display(), log.display());
    Ok(())
}
