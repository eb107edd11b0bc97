//! Data stores on the command line (issue 19 point 1): `augment data
//! connect|connections|disconnect`, `augment data import KIND --connection N`
//! and `augment run export RUN --to KIND --connection N`, through
//! `crates/datastore-sync`, the pipeline the Record Collector uses too.
//!
//! A token is read from standard input (or a hidden prompt on a terminal),
//! never from a flag, which shells keep in their history, and goes to the OS
//! keychain; `AUGMENT_DATASTORE_<NAME>_API_KEY` overrides the keychain.

use std::collections::BTreeSet;
use std::io::{IsTerminal as _, Read as _};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use datastore_sync::{Connections, Preview, SavedConnection, WriteBackReport, WriteColumns, keychain_account};
use datastores::mapping::{ColumnMapping, ColumnPreview, Mapping};
use datastores::{Kind, Source};
use local_data::{ModelTarget, Store};
use secrets::{KeyStore, Secret};
use serde::Serialize;
use serde_json::{Value, json};

use crate::exit;
use crate::output::{Render, emit, message, table};
use crate::progress::work_bar;
use crate::workflow::usage;

/// The most standard input read for a token.
const MAX_TOKEN_BYTES: u64 = 16 * 1024;

/// The services, as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    Nocodb,
    Airtable,
    Databricks,
}

impl From<StoreKind> for Kind {
    fn from(kind: StoreKind) -> Kind {
        match kind {
            StoreKind::Nocodb => Kind::Nocodb,
            StoreKind::Airtable => Kind::Airtable,
            StoreKind::Databricks => Kind::Databricks,
        }
    }
}

/// Where the table lives: which flags each service needs is checked when used.
#[derive(Debug, Clone, Args)]
pub struct SourceFlags {
    /// The server: NocoDB's base URL (e.g. https://app.nocodb.com), the Airtable API
    /// [default: https://api.airtable.com] or the Databricks workspace URL.
    #[arg(long)]
    pub url: Option<String>,
    /// NocoDB: the table id; Airtable: the table's id or name; Databricks: catalog.schema.table.
    #[arg(long)]
    pub table: Option<String>,
    /// Airtable: the base id (app…).
    #[arg(long)]
    pub base: Option<String>,
    /// NocoDB or Airtable: read through this view.
    #[arg(long)]
    pub view: Option<String>,
    /// Databricks: the SQL warehouse id.
    #[arg(long)]
    pub warehouse: Option<String>,
    /// NocoDB: the primary key column [default: the table's]; Databricks (required): the column identifying a row.
    #[arg(long = "source-key")]
    pub source_key: Option<String>,
    /// NocoDB: the token is a session from signing in (xc-auth) instead of an API token (xc-token).
    #[arg(long)]
    pub session_token: bool,
}

impl SourceFlags {
    fn source(&self, kind: StoreKind) -> Result<Source> {
        let need = |value: &Option<String>, flag: &str| -> Result<String> {
            value.clone().ok_or_else(|| usage(format!("{} needs --{flag}", Kind::from(kind).id())))
        };
        let value = match kind {
            StoreKind::Nocodb => json!({
                "kind": "nocodb",
                "base_url": need(&self.url, "url")?,
                "table_id": need(&self.table, "table")?,
                "view_id": self.view,
                "token_kind": if self.session_token { "xc-auth" } else { "xc-token" },
                "key_column": self.source_key,
            }),
            StoreKind::Airtable => json!({
                "kind": "airtable",
                "api_url": self.url.clone().unwrap_or_else(|| "https://api.airtable.com".into()),
                "base_id": need(&self.base, "base")?,
                "table": need(&self.table, "table")?,
                "view": self.view,
            }),
            StoreKind::Databricks => json!({
                "kind": "databricks",
                "host": need(&self.url, "url")?,
                "warehouse_id": need(&self.warehouse, "warehouse")?,
                "table": need(&self.table, "table")?,
                "key_column": need(&self.source_key, "source-key")?,
            }),
        };
        serde_json::from_value(value)
            .map_err(|e| usage(format!("the {} settings are not usable: {e}", Kind::from(kind).id())))
    }
}

/// `augment data import KIND --connection N …`
#[derive(Debug, Clone, Default)]
pub struct ImportChoice {
    pub preview: bool,
    pub rows: usize,
    pub map: Vec<String>,
    pub only: Vec<String>,
    pub key_column: Option<String>,
    pub name: Option<String>,
}

/// `augment run export RUN --to KIND …`
#[derive(Debug, Clone, Args)]
pub struct ExportTo {
    /// The connection to write to (see `augment data connections`).
    #[arg(long, requires = "to")]
    pub connection: Option<String>,
    /// The table column to write each answer to.
    #[arg(long, requires = "to")]
    pub answer_column: Option<String>,
    /// The table column for the answer's tags (comma-separated).
    #[arg(long, requires = "to")]
    pub tags_column: Option<String>,
    /// The table column for the answer's note.
    #[arg(long, requires = "to")]
    pub notes_column: Option<String>,
    /// Create the columns the table lacks (where the service allows it).
    #[arg(long, requires = "to")]
    pub create_columns: bool,
    /// The dataset column holding the table's row keys, for a dataset that was not imported from it.
    #[arg(long, requires = "to")]
    pub key_column: Option<String>,
    /// The model whose answers to write, as provider/model, for a run that asked several.
    #[arg(long, requires = "to")]
    pub model: Option<String>,
}

fn connections() -> Connections {
    Connections::new(KeyStore::system())
}

/// `augment data connect KIND --name N …`: the token from standard input or a hidden prompt.
pub fn connect(json: bool, store: &mut Store, kind: StoreKind, name: &str, flags: &SourceFlags) -> Result<ExitCode> {
    datastore_sync::check_connection_name(name)?;
    let source = flags.source(kind)?;
    datastore_sync::connections::check_source(&source)?;
    let variable = secrets::env_var_name(&keychain_account(name));
    let token = read_token(kind)?;
    if token.is_none() && std::env::var_os(&variable).is_none_or(|v| v.is_empty()) {
        return Err(usage(format!(
            "no token on standard input: pipe the {} token in (or type it at the prompt), or set {variable}",
            Kind::from(kind).id()
        )));
    }
    let saved = connections().save(store, name, &source, token)?;
    emit(json, &Connected(saved))?;
    Ok(ExitCode::SUCCESS)
}

pub fn list(json: bool, store: &Store) -> Result<ExitCode> {
    emit(json, &ConnectionList(connections().list(store)?))?;
    Ok(ExitCode::SUCCESS)
}

pub fn disconnect(json: bool, store: &mut Store, name: &str) -> Result<ExitCode> {
    let deleted = connections().delete(store, name)?;
    let text = if deleted {
        format!("deleted connection `{name}` and its credential; datasets imported from it keep their records")
    } else {
        format!("there was no connection `{name}`")
    };
    emit(json, &message(text, json!({ "name": name, "deleted": deleted })))?;
    Ok(ExitCode::SUCCESS)
}

/// A token from a pipe (trimmed; empty: none) or a hidden prompt.
fn read_token(kind: StoreKind) -> Result<Option<Secret>> {
    let stdin = std::io::stdin();
    let raw = if stdin.is_terminal() {
        rpassword::prompt_password(format!("{} token (input hidden): ", Kind::from(kind).id()))
            .context("reading the token")?
    } else {
        let mut raw = String::new();
        stdin.lock().take(MAX_TOKEN_BYTES).read_to_string(&mut raw).context("reading standard input (UTF-8 text)")?;
        raw
    };
    let raw = Secret::new(raw);
    let token = raw.expose().trim();
    Ok((!token.is_empty()).then(|| Secret::new(token)))
}

/// `augment data import KIND --connection N`: a preview, or the import.
pub async fn import(json: bool, store: &mut Store, kind: &str, connection: &str, choice: ImportChoice) -> Result<()> {
    let (saved, connector) = connections().connector(store, connection)?;
    if saved.kind.id() != kind {
        return Err(usage(format!(
            "connection `{connection}` is a {} connection: run `augment data import {} --connection {connection}`",
            saved.kind.id(),
            saved.kind.id()
        )));
    }
    let preview = datastore_sync::preview(&connector, choice.rows).await?;
    if choice.preview {
        return emit(json, &Previewed(preview));
    }
    let mapping = mapping_from_flags(&preview, &choice)?;
    let name = choice.name.clone().unwrap_or_else(|| connection.to_owned());
    let bar = work_bar(json, 0, "importing {spinner} {pos} rows {msg}");
    let dataset = datastore_sync::import(&connector, &mapping, store, &name, connection, &saved.source, |rows| {
        bar.set_position(rows)
    })
    .await;
    bar.finish_and_clear();
    let dataset = dataset?;
    tracing::info!(dataset = %dataset.name, rows = dataset.row_count, connection, "imported a dataset from a data store");
    emit(
        json,
        &message(
            format!(
                "imported `{}` from connection `{connection}`: {} records, {} columns ({}); key column `{}`",
                dataset.name,
                dataset.row_count,
                dataset.columns.len(),
                dataset.column_names().collect::<Vec<_>>().join(", "),
                mapping.key_column
            ),
            serde_json::to_value(&dataset)?,
        ),
    )
}

/// The mapping `--only`, `--map` and `--key-column` describe, over the previewed columns.
fn mapping_from_flags(preview: &Preview, choice: &ImportChoice) -> Result<Mapping> {
    let known: BTreeSet<&str> = preview.columns.iter().map(|c| c.name.as_str()).collect();
    let mut renames = Vec::new();
    for pair in &choice.map {
        let (from, to) = pair
            .split_once('=')
            .ok_or_else(|| usage(format!("--map {pair}: write it as SOURCE=NAME (e.g. --map \"Book title=title\")")))?;
        renames.push((from.to_owned(), to.to_owned()));
    }
    let kept: Vec<String> = if choice.only.is_empty() {
        preview.columns.iter().map(|c| c.name.clone()).collect()
    } else {
        let mut kept = choice.only.clone();
        // A renamed column is kept too.
        kept.extend(renames.iter().map(|(from, _)| from.clone()).filter(|from| !choice.only.contains(from)));
        kept
    };
    if let Some(unknown) = kept.iter().chain(renames.iter().map(|(from, _)| from)).find(|c| !known.contains(c.as_str()))
    {
        return Err(usage(format!(
            "the table has no column `{unknown}`; its columns are {} (see --preview)",
            known.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        )));
    }
    let key_column = choice.key_column.clone().unwrap_or_else(|| preview.key_column.clone());
    let columns = kept
        .into_iter()
        .map(|source| {
            let target =
                renames.iter().rev().find(|(from, _)| *from == source).map_or(source.clone(), |(_, to)| to.clone());
            ColumnMapping { source, target }
        })
        .collect();
    let mapping = Mapping { key_column, columns };
    datastore_sync::check_mapping(&mapping, None).map_err(|e| usage(e.to_string()))?;
    Ok(mapping)
}

/// `augment run export RUN --to KIND --connection N …`: exit 0 when every row was written,
/// [`exit::WRITE_BACK_FAILURES`] when some were not.
pub async fn export(json: bool, store: &Store, run: i64, kind: StoreKind, to: &ExportTo) -> Result<ExitCode> {
    let connection = to.connection.as_deref().ok_or_else(|| usage("--to needs --connection NAME"))?;
    let (saved, connector) = connections().connector(store, connection)?;
    if saved.kind != Kind::from(kind) {
        return Err(usage(format!(
            "connection `{connection}` is a {} connection, not {}: pass --to {}",
            saved.kind.id(),
            Kind::from(kind).id(),
            saved.kind.id()
        )));
    }
    let columns =
        WriteColumns { answer: to.answer_column.clone(), tags: to.tags_column.clone(), notes: to.notes_column.clone() };
    let model = match &to.model {
        Some(model) => {
            let (provider, model) = model.split_once('/').ok_or_else(|| {
                usage(format!("--model {model}: write it as provider/model, e.g. openai/gpt-4o-mini"))
            })?;
            Some(ModelTarget::new(provider, model))
        }
        None => None,
    };
    let plan = datastore_sync::plan_write_back(store, run, &saved, &columns, to.key_column.as_deref(), model.as_ref())?;
    let report = match datastore_sync::write_back(&connector, &plan, to.create_columns).await {
        Err(err @ datastore_sync::Error::Service(datastores::Error::MissingColumns { .. })) => {
            return Err(anyhow::Error::new(err).context("pass --create-columns to create the missing columns"));
        }
        other => other?,
    };
    let failed = !report.failed.is_empty();
    emit(json, &Exported { run, connection: saved.name, report })?;
    Ok(if failed { ExitCode::from(exit::WRITE_BACK_FAILURES) } else { ExitCode::SUCCESS })
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct Connected(SavedConnection);

impl Render for Connected {
    fn human(&self) -> String {
        let c = &self.0;
        let credential = if c.has_credential { "its token is in the OS keychain" } else { "it has no token yet" };
        format!("saved {} connection `{}`; {credential}", c.kind.id(), c.name)
    }
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct ConnectionList(Vec<SavedConnection>);

/// The table a source names, for lists.
fn place(source: &Source) -> String {
    match source {
        Source::Nocodb(t) => format!("{} table {}", t.base_url, t.table_id),
        Source::Airtable(t) => format!("{} base {} table {}", t.api_url, t.base_id, t.table),
        Source::Databricks(t) => format!("{} {} (warehouse {})", t.host, t.table, t.warehouse_id),
    }
}

impl Render for ConnectionList {
    fn human(&self) -> String {
        if self.0.is_empty() {
            return "no data-store connections: add one with `augment data connect nocodb|airtable|databricks --name NAME …`"
                .to_owned();
        }
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|c| {
                let token = if c.has_credential { "set" } else { "missing" };
                vec![c.name.clone(), c.kind.id().to_owned(), token.to_owned(), place(&c.source)]
            })
            .collect();
        table(&["NAME", "KIND", "TOKEN", "TABLE"], &rows)
    }
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct Previewed(Preview);

impl Render for Previewed {
    fn human(&self) -> String {
        let p = &self.0;
        let rows: Vec<Vec<String>> = p
            .columns
            .iter()
            .map(|c: &ColumnPreview| {
                let samples: Vec<String> = c.samples.iter().map(sample_text).collect();
                vec![
                    c.name.clone(),
                    format!("{:?}", c.inferred).to_lowercase(),
                    c.service_type.clone().unwrap_or_default(),
                    crate::data::shorten(&samples.join(" | "), 60),
                ]
            })
            .collect();
        format!(
            "{}\n{} rows previewed; each row's key goes in column `{}` (--key-column to rename it)",
            table(&["COLUMN", "TYPE", "SERVICE TYPE", "SAMPLES"], &rows).trim_end(),
            p.rows.len(),
            p.key_column
        )
    }
}

fn sample_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Exported {
    run: i64,
    connection: String,
    #[serde(flatten)]
    report: WriteBackReport,
}

impl Render for Exported {
    fn human(&self) -> String {
        let r = &self.report;
        let mut out = format!("run {}: updated {} rows of connection `{}`", self.run, r.updated, self.connection);
        if !r.created_columns.is_empty() {
            out.push_str(&format!("; created columns {}", r.created_columns.join(", ")));
        }
        if r.without_key > 0 {
            out.push_str(&format!("; {} answered records have no key and were not written", r.without_key));
        }
        if !r.failed.is_empty() {
            out.push_str(&format!(
                "\n{} rows were not written (run the export again to retry them; it updates, never duplicates):",
                r.failed.len()
            ));
            for failed in r.failed.iter().take(50) {
                out.push_str(&format!("\n  {}: {}", failed.key, failed.reason));
            }
            if r.failed.len() > 50 {
                out.push_str(&format!("\n  … and {} more (--json lists them all)", r.failed.len() - 50));
            }
        }
        out
    }
}
