//! `augment hooks list|add|test|log|delete`: the app's webhook endpoints
//! (`crates/notify-hooks`) on its `local.db` and the OS keychain, the same
//! calls as the Admin Dashboard's Notifications section. A URL and a
//! signing secret are read from standard input (hidden prompts on a
//! terminal), never from flags, which shells keep in their history.

use std::io::{IsTerminal as _, Read as _};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};
use clap::Subcommand;
use local_data::{HookDelivery, HookEndpoint};
use notify_hooks::{Delivery, Endpoints, Event, EventKind, NewEndpoint, Preset, RetryPolicy, StoreLog};
use secrets::{KeyStore, Secret};
use serde::Serialize;

use crate::output::{Render, emit};
use crate::workflow::{DataDir, when};

/// The most standard input read for a URL and a secret.
const MAX_INPUT_BYTES: u64 = 16 * 1024;

#[derive(Debug, Subcommand)]
pub enum HooksCommand {
    /// The webhook endpoints: name, preset, events and the URL's host (never the URL or secret).
    List,
    /// Add an endpoint. Its URL (first line) and signing secret (second line; needed by
    /// `generic`, at least 16 characters) are read from standard input or hidden prompts,
    /// and kept in the OS keychain.
    Add {
        name: String,
        /// generic (signed JSON), slack or teams.
        #[arg(long, default_value = "generic")]
        preset: String,
        /// run.finished, run.failed, run.budget_reached or import.done (repeat the flag for several).
        #[arg(long = "event", required = true)]
        events: Vec<String>,
    },
    /// Send a `test` event to endpoint ID now (one attempt) and say how it went.
    Test { id: i64 },
    /// The newest delivery attempts, newest first.
    Log {
        /// Only this endpoint's.
        #[arg(long)]
        endpoint: Option<i64>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Delete endpoint ID and its keychain entries.
    Delete { id: i64 },
}

pub async fn run(json: bool, dir: &DataDir, command: HooksCommand) -> Result<ExitCode> {
    let store = Arc::new(Mutex::new(dir.open()?));
    let endpoints = Endpoints::new(store.clone(), KeyStore::system());
    match command {
        HooksCommand::List => emit(json, &List(endpoints.list()?))?,
        HooksCommand::Add { name, preset, events } => {
            let preset: Preset = preset.parse()?;
            let events = events.iter().map(|e| e.parse::<EventKind>()).collect::<Result<_, _>>()?;
            let (url, secret) = read_url_and_secret()?;
            emit(json, &Added(endpoints.add(NewEndpoint { name, preset, events, url, secret })?))?;
        }
        HooksCommand::Test { id } => {
            let target = endpoints.target(id)?;
            let event = Event::new(
                EventKind::Test,
                format!("A test of the webhook endpoint “{}” from the augment CLI.", target.name),
                serde_json::json!({ "endpoint": target.name }),
            );
            let policy = RetryPolicy { max_attempts: 1, ..RetryPolicy::default() };
            let log: Arc<dyn notify_hooks::DeliveryLog> = Arc::new(StoreLog::new(store));
            let delivery = notify_hooks::deliver(&notify_hooks::client(&policy)?, &policy, &target, &event, &log).await;
            let delivered = delivery.delivered;
            emit(json, &Tested(delivery))?;
            if !delivered {
                return Ok(ExitCode::FAILURE);
            }
        }
        HooksCommand::Log { endpoint, limit } => {
            let rows =
                store.lock().unwrap_or_else(std::sync::PoisonError::into_inner).hook_deliveries(endpoint, limit)?;
            emit(json, &Log(rows))?;
        }
        HooksCommand::Delete { id } => {
            let deleted = endpoints.delete(id)?;
            emit(json, &Deleted { id, deleted })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// From a pipe: the first line is the URL, the second (optional) the secret.
fn read_url_and_secret() -> Result<(Secret, Option<Secret>)> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let url = rpassword::prompt_password("Webhook URL (input hidden): ").context("reading the URL")?;
        let secret = rpassword::prompt_password("Signing secret (input hidden; empty for none): ")
            .context("reading the secret")?;
        return Ok((Secret::new(url), (!secret.is_empty()).then(|| Secret::new(secret))));
    }
    let mut raw = String::new();
    stdin.lock().take(MAX_INPUT_BYTES).read_to_string(&mut raw).context("reading standard input (UTF-8 text)")?;
    let raw = Secret::new(raw);
    let mut lines = raw.expose().lines().map(str::trim);
    let url = lines.next().filter(|l| !l.is_empty()).map(Secret::new);
    let secret = lines.next().filter(|l| !l.is_empty()).map(Secret::new);
    let url = url.context("no URL on standard input: pipe in the URL, then the signing secret on a second line")?;
    Ok((url, secret))
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct List(Vec<HookEndpoint>);

impl Render for List {
    fn human(&self) -> String {
        if self.0.is_empty() {
            return "no webhook endpoints; add one with `augment hooks add NAME --event run.finished`".to_owned();
        }
        self.0.iter().map(line).collect::<Vec<_>>().join("\n")
    }
}

fn line(e: &HookEndpoint) -> String {
    format!("{}  {}  {}  {}  {}", e.id, e.name, e.preset, e.host, e.events.join(","))
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct Added(HookEndpoint);

impl Render for Added {
    fn human(&self) -> String {
        format!("added webhook endpoint {}; its URL and secret are in the OS keychain", line(&self.0))
    }
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct Tested(Delivery);

impl Render for Tested {
    fn human(&self) -> String {
        let d = &self.0;
        match (&d.error, d.status) {
            (None, status) => format!("delivered to {} (HTTP {})", d.host, status.unwrap_or_default()),
            (Some(error), _) => format!("not delivered to {}: {error}", d.host),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct Log(Vec<HookDelivery>);

impl Render for Log {
    fn human(&self) -> String {
        if self.0.is_empty() {
            return "nothing sent yet".to_owned();
        }
        let rows = self.0.iter().map(|d| {
            let status = d.status.map(|s| format!("HTTP {s}")).unwrap_or_default();
            let error = d.error.as_deref().unwrap_or("");
            format!(
                "{}  {}  {} ({})  attempt {}  {} {status} {error}",
                when(d.at),
                d.event,
                d.endpoint,
                d.host,
                d.attempt,
                d.outcome
            )
        });
        rows.collect::<Vec<_>>().join("\n")
    }
}

#[derive(Debug, Serialize)]
struct Deleted {
    id: i64,
    deleted: bool,
}

impl Render for Deleted {
    fn human(&self) -> String {
        if self.deleted {
            format!("deleted webhook endpoint {}", self.id)
        } else {
            format!("there was no webhook endpoint {}", self.id)
        }
    }
}
