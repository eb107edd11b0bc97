//! `augment`: the registry, the offline cache and the resolver, and the
//! data workflow (datasets, templates, runs), headless.
//!
//! Each subcommand parses its arguments, calls one library function and
//! prints the result, for people by default and as JSON with `--json`. The
//! exit code says what kind of failure happened (see [`exit`]).

mod args;
mod auth;
mod cache_ai;
mod collect;
mod commands;
mod compare;
mod data;
mod exit;
mod extract;
mod hooks;
mod hosted_registry;
mod interrupt;
mod keys;
mod lifecycle;
mod output;
mod prices;
mod progress;
mod provider_settings;
mod run;
mod stability;
mod stack;
mod stores;
mod template;
mod workflow;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    init_tracing(cli.verbose);
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => return exit::report(&anyhow::Error::new(err).context("starting the async runtime"), json),
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(code) => code,
        Err(err) => exit::report(&err, json),
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("AUGMENT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}
