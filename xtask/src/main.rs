//! `cargo xtask …`: the project's chores, so that a fresh machine needs only
//! `cargo xtask run` or `cargo xtask test`. Each command installs what it needs
//! first (see `setup`), idempotently and quickly when it is already there.

mod bench;
mod bench_link;
mod bench_memory;
mod bench_registry_server;
mod bench_shell;
mod bench_stack;
mod dist;
mod engines;
mod k8s_validate;
mod local_server;
mod postgres;
mod prometheus;
mod python_tool;
mod redis;
mod run;
mod s3;
mod setup;
mod test;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Augment-It Desktop project chores")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install the system packages and tools the tests and the app need.
    Setup,
    /// Build and run the app with the embedded local registry.
    Run(run::RunArgs),
    /// Install what is needed, start the services the tests need, run every suite.
    Test,
    /// Build release packages (.deb, .rpm) with the Tauri bundler into target/release/bundle/.
    Dist(dist::DistArgs),
    /// Run the benchmarks and write BENCHMARKS.md.
    Bench,
    /// Regenerate the host contract (src-tauri/contract/host-api.json and
    /// remotes/shared/host-client/src/generated/) from the Rust definitions;
    /// refused when the change needs a host API version bump not made yet.
    Contract,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Setup => setup::ensure(setup::Purpose::Test),
        Command::Run(args) => run::run(args),
        Command::Dist(args) => dist::run(args).map(|_| ()),
        Command::Test => test::run(),
        Command::Bench => bench::run(),
        Command::Contract => contract(),
    }
}

/// The contract test of src-tauri/src/contract/surface.rs, told to rewrite
/// what it checks (after the same version check that CI runs).
fn contract() -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run_checked(std::process::Command::new(cargo).current_dir(workspace_root()).env("UPDATE_CONTRACT", "1").args([
        "test",
        "-p",
        "augment-desktop",
        "--lib",
        "contract::",
    ]))
}

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> std::path::PathBuf {
    let manifest_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Runs a command to completion, failing with the command line on a non-zero exit.
pub fn run_checked(command: &mut std::process::Command) -> Result<()> {
    let status = command.status().map_err(|err| anyhow::anyhow!("could not start {command:?}: {err}"))?;
    anyhow::ensure!(status.success(), "{command:?} failed with {status}");
    Ok(())
}
