//! `cargo xtask run`: until the desktop shell exists, the headless flow:
//! create a local registry, publish the sample remote, resolve it into the
//! cache, and print the result.

use std::process::Command;

use anyhow::{Context, Result};

use crate::{run_checked, setup, workspace_root};

pub fn run() -> Result<()> {
    setup::ensure(setup::Purpose::Run)?;
    let root = workspace_root();
    run_checked(Command::new("cargo").current_dir(&root).args(["build", "--locked", "-p", "cli"]))?;
    let augment = root.join("target/debug/augment");
    let data = root.join("target/augment-local");
    let registry = data.join("registry");
    let keys = data.join("keys");
    let key = keys.join("registry.key");
    let cache = data.join("cache");
    if !key.exists() {
        run_checked(Command::new(&augment).args(["keygen", "--out"]).arg(&keys))?;
    }
    if !registry.join("root.json").exists() {
        run_checked(Command::new(&augment).args(["registry", "init"]).arg(&registry).arg("--key").arg(&key))?;
    }
    let sample = root.join("tests/fixtures/remotes/hello-remote");
    // Publishing a version that is already there is refused; that is fine on a second run.
    let published = Command::new(&augment)
        .arg("publish")
        .arg(&sample)
        .arg("--registry")
        .arg(&registry)
        .arg("--key")
        .arg(&key)
        .status()
        .context("running augment publish")?;
    if !published.success() {
        eprintln!("xtask: the sample remote is already published; resolving what the registry has");
    }
    run_checked(
        Command::new(&augment)
            .arg("resolve")
            .arg("--registry")
            .arg(&registry)
            .arg("--trust")
            .arg(keys.join("registry.pub"))
            .arg("--cache-dir")
            .arg(&cache),
    )?;
    run_checked(Command::new(&augment).args(["cache", "list", "--cache-dir"]).arg(&cache))
}
