//! `augment template add|version|list|check|render`: prompt templates with
//! immutable versions, checked and rendered by `local-data` exactly as the
//! Prompt Template Manager does (minijinja, strict: a field the dataset lacks
//! is named before any request exists).

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
    },
    /// Add a new version of a template and make it current (earlier versions and their requests stay).
    Version {
        name: String,
        #[command(flatten)]
        body: Body,
    },
    /// List the templates with their current version.
    List,
    /// Check a template's current version against a dataset: fields it uses that the dataset lacks.
    /// Exits 1 when there are any.
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

pub async fn run(json: bool, dir: &DataDir, command: TemplateCommand) -> Result<ExitCode> {
    let mut store = dir.open()?;
    match command {
        TemplateCommand::Add { name, body } => {
            let body = text_or_file(body.text, body.file.as_deref(), "template")?;
            let template = store.create_template(&name, &body)?;
            emit(json, &Added(template))?;
        }
        TemplateCommand::Version { name, body } => {
            let template = find_template(&store, &name)?;
            let body = text_or_file(body.text, body.file.as_deref(), "template")?;
            let version = store.add_template_version(template.id, &body)?;
            emit(json, &NewVersion { name: template.name, version })?;
        }
        TemplateCommand::List => emit(json, &TemplateList(store.templates()?))?,
        TemplateCommand::Check { name, dataset } => {
            let template = find_template(&store, &name)?;
            let dataset = find_dataset(&store, &dataset)?;
            let check = store.check_template(template.current.id, dataset.id)?;
            let ok = check.missing_fields.is_empty();
            emit(
                json,
                &Checked { template: template.name, version: template.current.version, dataset: dataset.name, check },
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
                    t.current.version.to_string(),
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
}

impl Render for Checked {
    fn human(&self) -> String {
        match &self.check.warning {
            None => format!(
                "ok: every field template `{}` (version {}) uses is a column of `{}`",
                self.template, self.version, self.dataset
            ),
            Some(warning) => format!("template `{}` (version {}): {warning}", self.template, self.version),
        }
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
