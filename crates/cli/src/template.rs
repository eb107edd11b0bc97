//! `augment template add|version|list|check|render`: prompt templates with
//! immutable versions, checked and rendered by `local-data` exactly as the
//! Prompt Template Manager does (minijinja, strict: a field the dataset lacks
//! is named before any request exists). A version may carry a JSON Schema
//! (`--schema FILE`), checked when saved: its answers are asked for in the
//! providers' structured-output modes and validated per record.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use local_data::{RecordQuery, Template, TemplateCheck, TemplateVersion};
use serde::Serialize;

use crate::output::{Render, emit, table};
use crate::workflow::{DataDir, find_dataset, find_template, text_or_file, when};

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Add a template (its version 1). Fields are Jinja variables: `{{ title }}`, or `{{ record["a b"] }}`.
    Add {
        name: String,
        #[command(flatten)]
        body: Body,
        #[command(flatten)]
        schema: SchemaFile,
    },
    /// Add a new version of a template and make it current (earlier versions and their requests stay).
    /// Without --schema the new version is free text, even if the one before had a schema.
    Version {
        name: String,
        #[command(flatten)]
        body: Body,
        #[command(flatten)]
        schema: SchemaFile,
    },
    /// List the templates with their current version.
    List,
    /// Check a template's current version against a dataset: fields it uses that the dataset lacks
    /// (exits 1 when there are any), and its schema: the fields it makes columns of, and what
    /// OpenAI's strict mode would refuse in it (advice: other providers take it as it is).
    Check {
        name: String,
        #[arg(long)]
        dataset: String,
    },
    /// Render a template's current version over a dataset's first records (nothing is saved).
    Render {
        name: String,
        #[arg(long)]
        dataset: String,
        /// How many records to render (at most 1000).
        #[arg(long, default_value_t = 3)]
        limit: u32,
    },
}

#[derive(Debug, Args)]
pub struct Body {
    /// Read the template from this file.
    #[arg(long, conflicts_with = "text")]
    file: Option<PathBuf>,
    /// The template itself.
    #[arg(long)]
    text: Option<String>,
}

#[derive(Debug, Args)]
pub struct SchemaFile {
    /// A JSON Schema (of an object) every answer must fit: sent as the providers' structured output
    /// (OpenAI json_schema, Anthropic forced tool), each answer validated, its top-level properties
    /// exported as columns. Checked before anything is saved; an error names the path of the problem.
    #[arg(long, value_name = "FILE")]
    schema: Option<PathBuf>,
}

impl SchemaFile {
    fn read(&self) -> Result<Option<String>> {
        let Some(path) = &self.schema else { return Ok(None) };
        let text = std::fs::read_to_string(path)
            .map_err(|e| crate::workflow::usage(format!("cannot read the schema {}: {e}", path.display())))?;
        Ok(Some(text))
    }
}

pub async fn run(json: bool, dir: &DataDir, command: TemplateCommand) -> Result<ExitCode> {
    let mut store = dir.open()?;
    match command {
        TemplateCommand::Add { name, body, schema } => {
            let body = text_or_file(body.text, body.file.as_deref(), "template")?;
            let template = store.create_template_with_schema(&name, &body, schema.read()?.as_deref())?;
            emit(json, &Added(template))?;
        }
        TemplateCommand::Version { name, body, schema } => {
            let template = find_template(&store, &name)?;
            let body = text_or_file(body.text, body.file.as_deref(), "template")?;
            let version = store.add_template_version_with_schema(template.id, &body, schema.read()?.as_deref())?;
            emit(json, &NewVersion { name: template.name, version })?;
        }
        TemplateCommand::List => emit(json, &TemplateList(store.templates()?))?,
        TemplateCommand::Check { name, dataset } => {
            let template = find_template(&store, &name)?;
            let dataset = find_dataset(&store, &dataset)?;
            let check = store.check_template(template.current.id, dataset.id)?;
            let ok = check.missing_fields.is_empty();
            let schema = template.current.schema.as_deref().map(SchemaReport::of).transpose()?;
            emit(
                json,
                &Checked {
                    template: template.name,
                    version: template.current.version,
                    dataset: dataset.name,
                    check,
                    schema,
                },
            )?;
            if !ok {
                return Ok(ExitCode::FAILURE);
            }
        }
        TemplateCommand::Render { name, dataset, limit } => {
            let template = find_template(&store, &name)?;
            let dataset = find_dataset(&store, &dataset)?;
            // Missing fields are reported as such, before any record is rendered.
            let check = store.check_template(template.current.id, dataset.id)?;
            if !check.missing_fields.is_empty() {
                return Err(local_data::Error::MissingFields { fields: check.missing_fields }.into());
            }
            let page = store.records(dataset.id, &RecordQuery { offset: 0, limit, filter: None, sort: None })?;
            let mut rendered = Vec::with_capacity(page.items.len());
            for record in page.items {
                let prompt = store.preview(template.current.id, record.id)?;
                rendered.push(Rendered { record_id: record.id, position: record.position, prompt });
            }
            emit(json, &RenderedList(rendered))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct Added(Template);

impl Render for Added {
    fn human(&self) -> String {
        format!("added template `{}` (version 1)", self.0.name)
    }
}

#[derive(Debug, Serialize)]
struct NewVersion {
    name: String,
    #[serde(flatten)]
    version: TemplateVersion,
}

impl Render for NewVersion {
    fn human(&self) -> String {
        format!("template `{}` is now at version {}", self.name, self.version.version)
    }
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct TemplateList(Vec<Template>);

impl Render for TemplateList {
    fn human(&self) -> String {
        if self.0.is_empty() {
            return "no templates yet: add one with `augment template add NAME --file FILE`".to_owned();
        }
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|t| {
                vec![
                    t.name.clone(),
                    if t.current.schema.is_some() {
                        format!("{} (schema)", t.current.version)
                    } else {
                        t.current.version.to_string()
                    },
                    t.version_count.to_string(),
                    when(t.current.created_at),
                    crate::data::shorten(&t.current.body, 50),
                ]
            })
            .collect();
        table(&["NAME", "CURRENT", "VERSIONS", "SAVED", "BODY"], &rows)
    }
}

#[derive(Debug, Serialize)]
struct Checked {
    template: String,
    version: u32,
    dataset: String,
    #[serde(flatten)]
    check: TemplateCheck,
    /// The version's schema, if it has one.
    schema: Option<SchemaReport>,
}

/// A saved schema as `template check` reports it.
#[derive(Debug, Serialize)]
struct SchemaReport {
    /// Its top-level properties: the columns its answers add to an export.
    fields: Vec<String>,
    /// What OpenAI's strict mode would refuse (advice).
    strict_mode_notes: Vec<String>,
}

impl SchemaReport {
    /// Checked again, so a schema an older release accepted and this one refuses is reported.
    fn of(text: &str) -> Result<Self> {
        let schema = local_data::check_schema(text)?;
        Ok(SchemaReport {
            fields: local_data::schema_properties(&schema),
            strict_mode_notes: local_data::strict_mode_notes(&schema),
        })
    }
}

impl Render for Checked {
    fn human(&self) -> String {
        let mut out = match &self.check.warning {
            None => format!(
                "ok: every field template `{}` (version {}) uses is a column of `{}`",
                self.template, self.version, self.dataset
            ),
            Some(warning) => format!("template `{}` (version {}): {warning}", self.template, self.version),
        };
        if let Some(schema) = &self.schema {
            out.push_str(&format!("\nschema: valid; its answers add the columns {}", schema.fields.join(", ")));
            for note in &schema.strict_mode_notes {
                out.push_str(&format!("\nnote: {note}"));
            }
        }
        out
    }
}

#[derive(Debug, Serialize)]
struct Rendered {
    record_id: i64,
    position: u64,
    prompt: String,
}

#[derive(Debug, Serialize)]
#[serde(transparent)]
struct RenderedList(Vec<Rendered>);

impl Render for RenderedList {
    fn human(&self) -> String {
        if self.0.is_empty() {
            return "the dataset has no records".to_owned();
        }
        let mut out = String::new();
        for r in &self.0 {
            out.push_str(&format!("--- record {} ---\n{}\n", r.position + 1, r.prompt.trim_end()));
        }
        out
    }
}
