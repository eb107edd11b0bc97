//! `augment stack up|down|status|logs`: the sidecar services as local
//! containers (crates/stack) through Docker or Podman.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use serde::Serialize;
use stack::{Engine, Health, Stack, StackDefinition, State};

use crate::output::{Render, emit, table};

#[derive(Debug, Subcommand)]
pub enum StackCommand {
    /// Build missing images, then create, start or repair every service and wait until all are healthy.
    /// From a source checkout the service binaries are built first (cargo's progress on stderr).
    Up {
        /// The folder holding the static service binaries [default: AUGMENT_STACK_BIN_DIR, next to
        /// `augment`, the installed package's, or this checkout's target/x86_64-unknown-linux-gnu/release,
        /// built on demand].
        #[arg(long, env = "AUGMENT_STACK_BIN_DIR")]
        bin_dir: Option<PathBuf>,
        /// Never build the service binaries, even in a source checkout: use the ones there.
        #[arg(long)]
        no_build: bool,
        #[command(flatten)]
        profiles: ProfileArg,
        #[command(flatten)]
        definition: DefinitionArg,
    },
    /// Remove the stack's containers, network and volumes (only what carries its label), of every profile.
    Down(DefinitionArg),
    /// Show each service's container state and health, as the engine has them now (exit code 7 unless all healthy).
    Status {
        #[command(flatten)]
        profiles: ProfileArg,
        #[command(flatten)]
        definition: DefinitionArg,
    },
    /// Print a service's logs.
    Logs {
        /// The service: parsers, connector, gateway (prometheus with the monitoring profile).
        service: String,
        /// Keep printing new lines until interrupted.
        #[arg(long, short)]
        follow: bool,
        /// Only the last N lines.
        #[arg(long)]
        tail: Option<usize>,
        #[command(flatten)]
        definition: DefinitionArg,
    },
}

#[derive(Debug, Args)]
pub struct DefinitionArg {
    /// A stack definition file (TOML) instead of the built-in docker/stack.toml.
    #[arg(long, env = "AUGMENT_STACK_DEFINITION")]
    pub definition: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProfileArg {
    /// Also the services of this profile (repeatable): `monitoring` adds Prometheus, scraping every
    /// service (built from the Debian package `prometheus` on this machine).
    #[arg(long = "profile", value_name = "PROFILE")]
    pub profiles: Vec<String>,
}

impl DefinitionArg {
    fn load(&self) -> Result<StackDefinition> {
        Ok(match &self.definition {
            Some(path) => StackDefinition::from_file(path)?,
            None => StackDefinition::built_in()?,
        })
    }
}

pub async fn run(json: bool, command: StackCommand) -> Result<ExitCode> {
    match command {
        StackCommand::Up { bin_dir, no_build, profiles, definition } => {
            let definition = definition.load()?;
            // The engine first: no point building binaries for a stack that cannot start.
            let stack = connect(definition, &profiles.profiles).await?;
            let location = stack::locate_binaries(stack.definition(), bin_dir);
            let policy = if no_build { stack::BuildPolicy::Never } else { stack::BuildPolicy::InCheckout };
            let binaries = prepare_binaries(json, stack.definition().clone(), location, policy).await?;
            let report = stack.up(&binaries.dir).await.context("bringing the stack up")?;
            emit(json, &UpView { report, binaries })?;
            Ok(ExitCode::SUCCESS)
        }
        StackCommand::Down(definition) => {
            let stack = connect(definition.load()?, &[]).await?;
            let report = stack.down().await.context("taking the stack down")?;
            emit(json, &DownView(report))?;
            Ok(ExitCode::SUCCESS)
        }
        StackCommand::Status { profiles, definition } => {
            let stack = connect(definition.load()?, &profiles.profiles).await?;
            let status = stack.status().await.context("reading the stack's state")?;
            let healthy = status.healthy;
            emit(json, &StatusView(status))?;
            Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::from(crate::exit::NOT_HEALTHY) })
        }
        StackCommand::Logs { service, follow, tail, definition } => {
            let stack = connect(definition.load()?, &[]).await?;
            let mut logs = stack.logs(&service, follow, tail).await?;
            let mut out = std::io::stdout().lock();
            while let Some(chunk) = logs.next().await {
                let chunk = chunk?;
                // A closed pipe (`| head`) ends the command quietly.
                if out.write_all(&chunk).and_then(|()| out.flush()).is_err() {
                    break;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// [`stack::prepare_binaries`] on a blocking thread, printing each line of
/// build progress on stderr as it comes (with `--json`, one JSON object per
/// line: `{"event":"build","line":…}`), so stdout keeps only the report.
async fn prepare_binaries(
    json: bool,
    definition: StackDefinition,
    location: stack::BinLocation,
    policy: stack::BuildPolicy,
) -> Result<stack::PreparedBinaries> {
    let prepared = tokio::task::spawn_blocking(move || {
        stack::prepare_binaries(&definition, &location, policy, &mut |line| {
            let mut err = std::io::stderr().lock();
            // Progress only: a closed stderr must not stop the build.
            let _ = if json {
                writeln!(err, "{}", serde_json::json!({ "event": "build", "line": line }))
            } else {
                writeln!(err, "augment: {line}")
            };
        })
    })
    .await
    .context("the build thread stopped")?;
    prepared.context("preparing the stack's service binaries")
}

async fn connect(definition: StackDefinition, profiles: &[String]) -> Result<Stack> {
    // An unknown profile is refused before the engine is asked anything.
    definition.with_profiles(profiles)?;
    let engine = Engine::connect().await?;
    Ok(Stack::with_profiles(engine, definition, profiles)?)
}

fn engine_line(stack: &str, engine: &stack::EngineInfo) -> String {
    let kind = match engine.kind {
        stack::EngineKind::Docker => "Docker",
        stack::EngineKind::Podman => "Podman",
    };
    format!("stack {stack} on {kind} ({}, API {})", engine.endpoint, engine.api_version)
}

#[derive(Serialize)]
struct UpView {
    #[serde(flatten)]
    report: stack::UpReport,
    /// Where the binaries came from and whether they were built.
    binaries: stack::PreparedBinaries,
}

impl Render for UpView {
    fn human(&self) -> String {
        let r = &self.report;
        let rows: Vec<Vec<String>> = r
            .services
            .iter()
            .map(|s| {
                let action =
                    serde_json::to_value(s.action).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                vec![s.service.clone(), action, s.url.clone(), s.container.clone(), s.image.clone()]
            })
            .collect();
        let b = &self.binaries;
        let binaries = match (b.built, b.compiled.len()) {
            (false, _) => format!("service binaries from {}", b.dir.display()),
            (true, 0) => format!("service binaries up to date in {}", b.dir.display()),
            (true, n) => format!("service binaries built in {} ({n} crates compiled)", b.dir.display()),
        };
        format!(
            "{}: all healthy in {:.1} s\n{binaries}\n{}",
            engine_line(&r.stack, &r.engine),
            r.elapsed_ms as f64 / 1000.0,
            table(&["SERVICE", "ACTION", "URL", "CONTAINER", "IMAGE"], &rows)
        )
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct DownView(stack::DownReport);

impl Render for DownView {
    fn human(&self) -> String {
        let r = &self.0;
        if r.containers.is_empty() && r.networks.is_empty() && r.volumes.is_empty() {
            return format!("stack {}: nothing to remove", r.stack);
        }
        format!(
            "stack {}: removed {} container(s), {} network(s), {} volume(s)",
            r.stack,
            r.containers.len(),
            r.networks.len(),
            r.volumes.len()
        )
    }
}

#[derive(Serialize)]
#[serde(transparent)]
struct StatusView(stack::StackStatus);

/// What `status` prints about a stack made by another version of `augment` (or the app).
fn mismatch_line(mismatch: &stack::VersionMismatch) -> String {
    mismatch.describe("this augment", "run `augment stack up` to update")
}

impl Render for StatusView {
    fn human(&self) -> String {
        let s = &self.0;
        let rows: Vec<Vec<String>> = s
            .services
            .iter()
            .map(|service| {
                let state = match service.state {
                    State::Running => "running".to_owned(),
                    State::Missing => "missing".to_owned(),
                    other => {
                        let name = serde_json::to_value(other)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default();
                        match service.exit_code {
                            Some(code) => format!("{name} ({code})"),
                            None => name,
                        }
                    }
                };
                let health = match service.health {
                    Health::Healthy => "healthy",
                    Health::Unhealthy => "unhealthy",
                    Health::Unknown => "-",
                };
                vec![
                    service.service.clone(),
                    state,
                    health.to_owned(),
                    service.version.clone().unwrap_or_else(|| "-".to_owned()),
                    service.url.clone().unwrap_or_else(|| "-".to_owned()),
                    service.container.clone().unwrap_or_else(|| "-".to_owned()),
                    service.detail.clone().unwrap_or_default(),
                ]
            })
            .collect();
        let verdict = if s.healthy {
            "healthy".to_owned()
        } else if s.services.iter().all(|x| x.state == State::Missing) {
            "not running (start it with `augment stack up`)".to_owned()
        } else {
            "not healthy (repair it with `augment stack up`)".to_owned()
        };
        let mismatch = s.version_mismatch.as_ref().map(|m| format!("\n{}", mismatch_line(m))).unwrap_or_default();
        format!(
            "{}: {verdict}{mismatch}\n{}",
            engine_line(&s.stack, &s.engine),
            table(&["SERVICE", "STATE", "HEALTH", "VERSION", "URL", "CONTAINER", "DETAIL"], &rows)
        )
    }
}
