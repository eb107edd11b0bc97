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
    Up {
        /// The folder holding the static service binaries [default: AUGMENT_STACK_BIN_DIR, next to
        /// `augment`, or target/x86_64-unknown-linux-gnu/release in this workspace].
        #[arg(long, env = "AUGMENT_STACK_BIN_DIR")]
        bin_dir: Option<PathBuf>,
        #[command(flatten)]
        definition: DefinitionArg,
    },
    /// Remove the stack's containers, network and volumes (only what carries its label).
    Down(DefinitionArg),
    /// Show each service's container state and health, as the engine has them now (exit code 7 unless all healthy).
    Status(DefinitionArg),
    /// Print a service's logs.
    Logs {
        /// The service: parsers, connector, gateway.
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
        StackCommand::Up { bin_dir, definition } => {
            let definition = definition.load()?;
            let stack = connect(definition).await?;
            let bin_dir = stack::bin_dir(stack.definition(), bin_dir);
            let report = stack.up(&bin_dir).await.context("bringing the stack up")?;
            emit(json, &UpView(report))?;
            Ok(ExitCode::SUCCESS)
        }
        StackCommand::Down(definition) => {
            let stack = connect(definition.load()?).await?;
            let report = stack.down().await.context("taking the stack down")?;
            emit(json, &DownView(report))?;
            Ok(ExitCode::SUCCESS)
        }
        StackCommand::Status(definition) => {
            let stack = connect(definition.load()?).await?;
            let status = stack.status().await.context("reading the stack's state")?;
            let healthy = status.healthy;
            emit(json, &StatusView(status))?;
            Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::from(crate::exit::NOT_HEALTHY) })
        }
        StackCommand::Logs { service, follow, tail, definition } => {
            let stack = connect(definition.load()?).await?;
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

async fn connect(definition: StackDefinition) -> Result<Stack> {
    let engine = Engine::connect().await?;
    Ok(Stack::new(engine, definition))
}

fn engine_line(stack: &str, engine: &stack::EngineInfo) -> String {
    let kind = match engine.kind {
        stack::EngineKind::Docker => "Docker",
        stack::EngineKind::Podman => "Podman",
    };
    format!("stack {stack} on {kind} ({}, API {})", engine.endpoint, engine.api_version)
}

#[derive(Serialize)]
#[serde(transparent)]
struct UpView(stack::UpReport);

impl Render for UpView {
    fn human(&self) -> String {
        let r = &self.0;
        let rows: Vec<Vec<String>> = r
            .services
            .iter()
            .map(|s| {
                let action =
                    serde_json::to_value(s.action).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                vec![s.service.clone(), action, s.url.clone(), s.container.clone(), s.image.clone()]
            })
            .collect();
        format!(
            "{}: all healthy in {:.1} s\n{}",
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
        format!(
            "{}: {verdict}\n{}",
            engine_line(&s.stack, &s.engine),
            table(&["SERVICE", "STATE", "HEALTH", "URL", "CONTAINER", "DETAIL"], &rows)
        )
    }
}
