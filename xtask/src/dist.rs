//! `cargo xtask dist`: release packages (.deb and .rpm) made by the Tauri
//! bundler (the `tauri` CLI from npm, prebuilt, so nothing more compiles).
//!
//! A package holds the app (`/usr/bin/augment-desktop`), the `augment` CLI
//! beside it, the desktop entry and icons, and under the app's resource
//! folder (`/usr/lib/Augment-It/`):
//! - `seed-registry/` + `seed-registry.pub`: the product remotes published
//!   into a registry signed with the release key, so a fresh install opens
//!   the five screens offline on its first start (src-tauri `packaged.rs`);
//! - `stack-bin/`: the local stack's static service binaries, so the Local
//!   stack page works without a source checkout (`stack::PACKAGED_BIN_DIR`).
//!
//! Self-update of the app (tauri-plugin-updater) is the next step: the
//! bundler can sign its update artefacts with `TAURI_SIGNING_PRIVATE_KEY`,
//! and the hosted registry server can serve them beside the remotes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::{engines, run, run_checked, setup, workspace_root};

#[derive(Debug, clap::Args)]
pub struct DistArgs {
    /// The ed25519 key that signs the seed registry (`augment keygen`)
    /// [default: a key made once and kept in target/dist/keys/].
    #[arg(long, value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// The bundle formats, comma-separated.
    #[arg(long, default_value = "deb,rpm")]
    pub bundles: String,
    /// Package the debug build instead of a release one. CI's install test
    /// does this: the same packaging, without a second, release, compile of
    /// the app (about 20 CPU-minutes here).
    #[arg(long)]
    pub debug: bool,
}

/// The packages made, for the install test and the person running dist.
#[derive(Debug)]
pub struct Packages {
    pub deb: Option<PathBuf>,
    pub rpm: Option<PathBuf>,
}

pub fn run(args: DistArgs) -> Result<Packages> {
    setup::ensure(setup::Purpose::Run)?;
    let root = workspace_root();
    setup::build_shell_ui(&root)?;
    let remotes = setup::build_remotes(&root)?;
    let profile = if args.debug { "debug" } else { "release" };
    let mut build = Command::new("cargo");
    build.current_dir(&root).args(["build", "--locked"]);
    if args.debug {
        // The very build `cargo xtask test` makes (a no-op after it): with
        // `-p`, cargo would unify features differently and rebuild half the tree.
        build.args(["--workspace", "--all-targets"]);
    } else {
        build.args(["--release", "-p", "augment-desktop", "-p", "cli"]);
    }
    run_checked(&mut build)?;
    let stack_bins = engines::build_stack_binaries()?;
    let built = root.join("target").join(profile);

    let dist = root.join("target/dist");
    let stage = dist.join("stage");
    if stage.exists() {
        std::fs::remove_dir_all(&stage).with_context(|| format!("clearing {}", stage.display()))?;
    }
    std::fs::create_dir_all(&stage)?;
    let augment = built.join("augment");
    let key = match args.signing_key {
        Some(key) => key,
        // Kept across dist runs, so every local package trusts the same
        // seed key; a release passes its own.
        None => run::kept_key(&augment, &dist.join("keys"))?,
    };
    seed_registry(&augment, &key, &remotes, &stage)?;
    stage_stack_binaries(&root, &stack_bins, &stage.join("stack-bin"))?;
    // The bundler takes side binaries by their target triple's suffix.
    let side_cli = stage.join("augment-x86_64-unknown-linux-gnu");
    copy(&augment, &side_cli)?;
    // The release profile keeps line tables (for profiling the benchmarks):
    // 205 MB of app where 39 MB run. The bundler packs the app from the
    // target folder (and patches it there itself); cargo links it again
    // from deps/ at the next build.
    strip_debug_info(&built.join("augment-desktop"))?;
    strip_debug_info(&side_cli)?;

    let app = bundler_project(&root, &stage, &dist.join("app"))?;
    let bundle_dir = built.join("bundle");
    if bundle_dir.exists() {
        std::fs::remove_dir_all(&bundle_dir).with_context(|| format!("clearing {}", bundle_dir.display()))?;
    }
    let mut bundle = Command::new(root.join("node_modules/.bin/tauri"));
    bundle
        .current_dir(&app)
        .args(["bundle", "--ci", "--bundles", &args.bundles])
        .env("TAURI_APP_PATH", &app)
        .env("TAURI_FRONTEND_PATH", &app)
        .env("CARGO_TARGET_DIR", root.join("target"));
    if args.debug {
        bundle.arg("--debug");
    }
    run_checked(&mut bundle).context("bundling with the Tauri CLI")?;
    let packages =
        Packages { deb: only_file(&bundle_dir.join("deb"), "deb")?, rpm: only_file(&bundle_dir.join("rpm"), "rpm")? };
    for package in [&packages.deb, &packages.rpm].into_iter().flatten() {
        println!("xtask: built {}", package.display());
    }
    Ok(packages)
}

/// A fresh registry of the product remotes, signed with `key`, and its
/// public key beside it (the trust anchor the app reads).
fn seed_registry(augment: &Path, key: &Path, remotes: &[PathBuf], stage: &Path) -> Result<()> {
    let registry = stage.join("seed-registry");
    run_checked(Command::new(augment).args(["registry", "init"]).arg(&registry).arg("--key").arg(key))?;
    for remote in remotes {
        run::publish(augment, remote, &registry, key)?;
    }
    let public = key.with_extension("pub");
    anyhow::ensure!(
        public.is_file(),
        "the signing key {} has no public key beside it ({})",
        key.display(),
        public.display()
    );
    copy(&public, &stage.join("seed-registry.pub"))
}

/// The binaries the built-in stack definition (docker/stack.toml) names,
/// but for services whose image is a tool of this machine (`image = …`: the
/// monitoring profile's Prometheus, from the Debian package, not our build).
/// Read line by line, as xtask keeps to a few dependencies.
fn stage_stack_binaries(root: &Path, built: &Path, into: &Path) -> Result<()> {
    std::fs::create_dir_all(into)?;
    let definition = std::fs::read_to_string(root.join("docker/stack.toml"))?;
    let names: Vec<&str> = definition
        .split("[[services]]")
        .skip(1)
        .filter(|service| !service.lines().any(|line| line.trim().starts_with("image = ")))
        .filter_map(|service| service.lines().find_map(|line| line.trim().strip_prefix("binary = ")))
        .map(|value| value.trim_matches('"'))
        .collect();
    anyhow::ensure!(!names.is_empty(), "docker/stack.toml names no service binary");
    for name in names {
        copy(&built.join(name), &into.join(name))?;
    }
    Ok(())
}

/// A folder the Tauri CLI takes for the app's project: the CLI reads the
/// package's name and version from the Cargo.toml beside tauri.conf.json,
/// and ours is a virtual workspace's. So: tauri.conf.json with the packaging
/// settings and absolute paths, and a one-package manifest naming the app's
/// binary, with the workspace's target folder given to the CLI.
fn bundler_project(root: &Path, stage: &Path, app: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(app)?;
    let text = std::fs::read_to_string(root.join("tauri.conf.json"))?;
    let mut config: serde_json::Value = serde_json::from_str(&text).context("parsing tauri.conf.json")?;
    let version = config["version"].as_str().context("tauri.conf.json has no version")?.to_owned();
    let icons: Vec<String> = config["bundle"]["icon"]
        .as_array()
        .context("tauri.conf.json lists no bundle icons")?
        .iter()
        .filter_map(|icon| icon.as_str().map(|icon| root.join(icon).to_string_lossy().into_owned()))
        .collect();
    config["build"] = serde_json::json!({ "frontendDist": root.join("shell-ui/dist") });
    config["mainBinaryName"] = "augment-desktop".into();
    config["bundle"] = bundle_settings(stage, icons);
    std::fs::write(app.join("tauri.conf.json"), serde_json::to_string_pretty(&config)?)?;
    let main = root.join("src-tauri/src/main.rs");
    let manifest = format!(
        "# Made by `cargo xtask dist` for the Tauri CLI; see xtask/src/dist.rs.\n\
         [package]\nname = \"augment-desktop\"\nversion = \"{version}\"\nedition = \"2024\"\n\n\
         [[bin]]\nname = \"augment-desktop\"\npath = {main:?}\n\n[workspace]\n"
    );
    std::fs::write(app.join("Cargo.toml"), manifest)?;
    Ok(app.to_path_buf())
}

/// The packaging settings (tauri.conf.json's `bundle`).
fn bundle_settings(stage: &Path, icons: Vec<String>) -> serde_json::Value {
    let staged = |name: &str| stage.join(name).to_string_lossy().into_owned();
    serde_json::json!({
            "active": true,
            "icon": icons,
            "category": "Productivity",
            "shortDescription": "Compose AI data-augmentation workflows from verified remote screens",
            "longDescription": "Augment-It Desktop: collect records, write prompt templates, review and run requests against AI providers, and assemble insights, offline first, with API keys kept in the OS keychain.",
            "externalBin": [staged("augment")],
            "resources": {
                format!("{}/", staged("seed-registry")): "seed-registry/",
                staged("seed-registry.pub"): "seed-registry.pub",
                format!("{}/", staged("stack-bin")): "stack-bin/",
            },
            // The bundler's default (xz at its highest level) took three
            // minutes for 40 MB here; zstd 10 takes seconds and every rpm
            // since 4.14 reads it.
            "linux": { "rpm": { "compression": { "type": "zstd", "level": 10 } } },
    })
}

/// Removes the debug info of a binary in place (binutils' `strip`).
fn strip_debug_info(binary: &Path) -> Result<()> {
    run_checked(Command::new("strip").arg("--strip-debug").arg(binary)).context("stripping debug info (binutils)")
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// The one file with `extension` in `dir`, if the bundler made that format.
fn only_file(dir: &Path, extension: &str) -> Result<Option<PathBuf>> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == extension) {
            found.push(path);
        }
    }
    anyhow::ensure!(found.len() <= 1, "{} holds several .{extension} files: {found:?}", dir.display());
    Ok(found.pop())
}
