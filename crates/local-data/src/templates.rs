//! Prompt templates: immutable versions with a current pointer, checked
//! against a dataset's columns and rendered over its records with minijinja.
//!
//! A template sees each field of the record as a variable (`{{ title }}`) and
//! the whole record as `record` (`{{ record["first name"] }}` for column
//! names that are not identifiers), unless a column is itself called `record`.
//! Rendering is strict: an undefined variable is an error, never an empty string.

use std::collections::BTreeSet;

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior, Value as JinjaValue};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{OrNotFound, is_unique_violation};
use crate::{Dataset, Error, Store, check_name, now_millis};

/// The name under which the whole record is visible to a template.
pub const RECORD_VARIABLE: &str = "record";

/// The longest template body (and edited request text) accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The execution budget of one render, in minijinja fuel: about one unit per
/// instruction and one per 64 bytes of output or data created, so about a
/// million loop steps or 64 MB of text. A prompt needs a tiny fraction of it;
/// nested loops that would run for hours stop here with
/// [`Error::OverBudget`] naming the template (issue 20 point 13).
pub const TEMPLATE_FUEL: u64 = 1_000_000;

/// A template and its current version.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub id: i64,
    pub name: String,
    pub current: TemplateVersion,
    /// How many versions exist.
    pub version_count: u32,
    pub created_at: i64,
}

/// One immutable version of a template.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateVersion {
    pub id: i64,
    pub template_id: i64,
    /// 1, 2, 3 … per template.
    pub version: u32,
    pub body: String,
    pub created_at: i64,
    /// The JSON Schema answers must fit (issue 17, point 5), as saved;
    /// `None` for free text. Optional for the contract (host API 1.6.0).
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

/// What [`Store::check_template`] found for one template version and dataset.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateCheck {
    pub template_version_id: i64,
    pub dataset_id: i64,
    /// Variables the template uses that the dataset has no column for, sorted.
    pub missing_fields: Vec<String>,
    /// A sentence for the UI, e.g. "uses `summary`, which the dataset does not have".
    pub warning: Option<String>,
}

impl Store {
    /// Creates a template with `body` as version 1.
    pub fn create_template(&mut self, name: &str, body: &str) -> Result<Template, Error> {
        self.create_template_with_schema(name, body, None)
    }

    /// [`Store::create_template`] whose version 1 carries a JSON Schema
    /// (checked first: [`crate::check_schema`]).
    pub fn create_template_with_schema(
        &mut self,
        name: &str,
        body: &str,
        schema: Option<&str>,
    ) -> Result<Template, Error> {
        let name = check_name("name", name)?;
        check_body(body)?;
        let schema = checked_schema(schema)?;
        let tx = self.conn.transaction()?;
        let inserted =
            tx.execute("INSERT INTO templates (name, created_at) VALUES (?1, ?2)", params![name, now_millis()]);
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(Error::NameTaken { kind: "template", name }),
            Err(e) => return Err(e.into()),
        }
        let template_id = tx.last_insert_rowid();
        insert_version(&tx, template_id, 1, body, schema.as_deref())?;
        tx.commit()?;
        self.template(template_id)
    }

    /// Adds a version with `body` and makes it current. Earlier versions and
    /// the requests rendered from them stay as they were.
    pub fn add_template_version(&mut self, template_id: i64, body: &str) -> Result<TemplateVersion, Error> {
        self.add_template_version_with_schema(template_id, body, None)
    }

    /// [`Store::add_template_version`] with a JSON Schema for its answers
    /// (checked first: [`crate::check_schema`]); `None`: free text.
    pub fn add_template_version_with_schema(
        &mut self,
        template_id: i64,
        body: &str,
        schema: Option<&str>,
    ) -> Result<TemplateVersion, Error> {
        check_body(body)?;
        let schema = checked_schema(schema)?;
        let tx = self.conn.transaction()?;
        let last: Option<u32> = tx
            .query_row("SELECT max(version) FROM template_versions WHERE template_id = ?1", [template_id], |r| r.get(0))
            .optional()?
            .flatten();
        let last = last.ok_or(Error::NotFound { kind: "template", id: template_id })?;
        let version_id = insert_version(&tx, template_id, last + 1, body, schema.as_deref())?;
        tx.commit()?;
        self.template_version(version_id)
    }

    /// Points the template at one of its own versions (e.g. to roll back).
    pub fn set_current_version(&mut self, template_id: i64, version_id: i64) -> Result<Template, Error> {
        let version = self.template_version(version_id)?;
        if version.template_id != template_id {
            return Err(Error::invalid(
                "version_id",
                format!("version {version_id} belongs to another template: pick one of this template's versions"),
            ));
        }
        self.conn
            .execute("UPDATE templates SET current_version_id = ?1 WHERE id = ?2", params![version_id, template_id])?;
        self.template(template_id)
    }

    pub fn template(&self, template_id: i64) -> Result<Template, Error> {
        let (name, current_id, created_at, count): (String, i64, i64, u32) = self
            .conn
            .query_row(
                "SELECT name, current_version_id, created_at,
                        (SELECT count(*) FROM template_versions v WHERE v.template_id = t.id)
                 FROM templates t WHERE id = ?1",
                [template_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .or_not_found("template", template_id)?;
        Ok(Template {
            id: template_id,
            name,
            current: self.template_version(current_id)?,
            version_count: count,
            created_at,
        })
    }

    /// Every template, by name.
    pub fn templates(&self) -> Result<Vec<Template>, Error> {
        let ids: Vec<i64> = self
            .conn
            .prepare("SELECT id FROM templates ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids.into_iter().map(|id| self.template(id)).collect()
    }

    /// A template's versions, newest first.
    pub fn template_versions(&self, template_id: i64) -> Result<Vec<TemplateVersion>, Error> {
        self.template(template_id)?;
        let mut stmt = self.conn.prepare(&format!("{VERSION_SELECT} WHERE template_id = ?1 ORDER BY version DESC"))?;
        let versions = stmt.query_map([template_id], version_from_row)?.collect::<Result<_, _>>()?;
        Ok(versions)
    }

    pub fn template_version(&self, version_id: i64) -> Result<TemplateVersion, Error> {
        self.conn
            .query_row(&format!("{VERSION_SELECT} WHERE id = ?1"), [version_id], version_from_row)
            .or_not_found("template version", version_id)
    }

    /// Lists the variables of a template version that `dataset` has no column
    /// for; call it before generating requests to show a warning per template.
    pub fn check_template(&self, version_id: i64, dataset_id: i64) -> Result<TemplateCheck, Error> {
        let version = self.template_version(version_id)?;
        let dataset = self.dataset(dataset_id)?;
        let missing_fields = missing_fields(&version.body, &dataset)?;
        let warning =
            (!missing_fields.is_empty()).then(|| Error::MissingFields { fields: missing_fields.clone() }.to_string());
        Ok(TemplateCheck { template_version_id: version_id, dataset_id, missing_fields, warning })
    }

    /// Renders a template version against one record, as a live preview.
    pub fn preview(&self, version_id: i64, record_id: i64) -> Result<String, Error> {
        let version = self.template_version(version_id)?;
        let label = self.version_label(&version)?;
        self.preview_labelled(&version.body, record_id, &label)
    }

    /// How errors name a saved version: "`name` (version N)".
    pub(crate) fn version_label(&self, version: &TemplateVersion) -> Result<String, Error> {
        let template = self.template(version.template_id)?;
        Ok(format!("`{}` (version {})", template.name, version.version))
    }

    /// Lists the variables of `body` (saved or still being edited) that
    /// `dataset_id` has no column for. A body that does not parse is an error.
    pub fn check_body(&self, body: &str, dataset_id: i64) -> Result<TemplateCheck, Error> {
        check_body(body)?;
        let dataset = self.dataset(dataset_id)?;
        let missing_fields = missing_fields(body, &dataset)?;
        let warning =
            (!missing_fields.is_empty()).then(|| Error::MissingFields { fields: missing_fields.clone() }.to_string());
        Ok(TemplateCheck { template_version_id: 0, dataset_id, missing_fields, warning })
    }

    /// Renders `body` (saved or still being edited) against one record.
    pub fn preview_body(&self, body: &str, record_id: i64) -> Result<String, Error> {
        self.preview_labelled(body, record_id, "being edited")
    }

    fn preview_labelled(&self, body: &str, record_id: i64, label: &str) -> Result<String, Error> {
        check_body(body)?;
        let record = self.record(record_id)?;
        let dataset_id: i64 =
            self.conn.query_row("SELECT dataset_id FROM records WHERE id = ?1", [record_id], |r| r.get(0))?;
        let dataset = self.dataset(dataset_id)?;
        let missing = missing_fields(body, &dataset)?;
        if !missing.is_empty() {
            return Err(Error::MissingFields { fields: missing });
        }
        Renderer::new().render(body, label, record_id, &record.fields)
    }
}

const VERSION_SELECT: &str = "SELECT id, template_id, version, body, created_at, schema FROM template_versions";

fn version_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TemplateVersion> {
    Ok(TemplateVersion {
        id: r.get(0)?,
        template_id: r.get(1)?,
        version: r.get(2)?,
        body: r.get(3)?,
        created_at: r.get(4)?,
        schema: r.get(5)?,
    })
}

/// A schema as it is stored: checked, and re-written compactly (whitespace
/// a person typed is not part of what is asked, nor of the cache key).
fn checked_schema(schema: Option<&str>) -> Result<Option<String>, Error> {
    let Some(text) = schema.filter(|s| !s.trim().is_empty()) else { return Ok(None) };
    Ok(Some(crate::structured::check_schema(text)?.to_string()))
}

fn insert_version(
    tx: &rusqlite::Transaction<'_>,
    template_id: i64,
    version: u32,
    body: &str,
    schema: Option<&str>,
) -> Result<i64, Error> {
    tx.execute(
        "INSERT INTO template_versions (template_id, version, body, created_at, schema) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![template_id, version, body, now_millis(), schema],
    )?;
    let version_id = tx.last_insert_rowid();
    tx.execute("UPDATE templates SET current_version_id = ?1 WHERE id = ?2", params![version_id, template_id])?;
    Ok(version_id)
}

/// Refuses empty, oversized and unparsable bodies.
fn check_body(body: &str) -> Result<(), Error> {
    if body.trim().is_empty() {
        return Err(Error::invalid("body", "the template is empty: write the prompt to send"));
    }
    body_within_limit("body", body)?;
    Renderer::new().parse(body).map(|_| ())
}

/// Refuses a text to send longer than [`MAX_BODY_BYTES`].
pub(crate) fn body_within_limit(field: &'static str, text: &str) -> Result<(), Error> {
    if text.len() > MAX_BODY_BYTES {
        return Err(Error::invalid(
            field,
            format!("the text is {} bytes, over the limit of {MAX_BODY_BYTES}: shorten it", text.len()),
        ));
    }
    Ok(())
}

/// The variables `body` uses that neither the dataset nor the template engine defines.
pub(crate) fn missing_fields(body: &str, dataset: &Dataset) -> Result<Vec<String>, Error> {
    let renderer = Renderer::new();
    let used = renderer.parse(body)?;
    let globals: BTreeSet<&str> = renderer.env.globals().map(|(name, _)| name).collect();
    let columns: BTreeSet<&str> = dataset.column_names().collect();
    Ok(used
        .into_iter()
        .filter(|v| !columns.contains(v.as_str()) && !globals.contains(v.as_str()) && v != RECORD_VARIABLE)
        .collect())
}

/// A strict minijinja environment for prompts.
pub(crate) struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    pub(crate) fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Prompts are plain text, never HTML: escaping would corrupt them.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_fuel(Some(TEMPLATE_FUEL));
        Renderer { env }
    }

    /// Parses `body` and returns the variables it reads, sorted.
    fn parse(&self, body: &str) -> Result<BTreeSet<String>, Error> {
        let template = self.env.template_from_str(body).map_err(syntax_error)?;
        Ok(template.undeclared_variables(false).into_iter().collect())
    }

    /// Renders `body` for one record; `label` names the template in errors.
    pub(crate) fn render(
        &self,
        body: &str,
        label: &str,
        record_id: i64,
        fields: &Map<String, Value>,
    ) -> Result<String, Error> {
        let template = self.env.template_from_str(body).map_err(syntax_error)?;
        render_with(&template, label, record_id, fields)
    }
}

/// Renders a parsed template for one record, within [`TEMPLATE_FUEL`];
/// `label` names the template when it runs over that budget.
pub(crate) fn render_with(
    template: &minijinja::Template<'_, '_>,
    label: &str,
    record_id: i64,
    fields: &Map<String, Value>,
) -> Result<String, Error> {
    let mut context = fields.clone();
    if !context.contains_key(RECORD_VARIABLE) {
        context.insert(RECORD_VARIABLE.to_owned(), Value::Object(fields.clone()));
    }
    template.render(JinjaValue::from(Serde(&context))).map_err(|e| match e.kind() {
        minijinja::ErrorKind::OutOfFuel => Error::OverBudget { template: label.to_owned(), record_id },
        _ => Error::Render { record_id, message: describe(&e) },
    })
}

pub(crate) fn renderer_env(renderer: &Renderer) -> &Environment<'static> {
    &renderer.env
}

pub(crate) fn syntax_error(e: minijinja::Error) -> Error {
    Error::TemplateSyntax { line: e.line().unwrap_or(1), message: describe(&e) }
}

fn describe(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    }
}
