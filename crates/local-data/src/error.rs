/// Everything the local store can refuse or fail at.
///
/// Messages are written for the analyst: they say what is wrong and what to
/// do. [`Error::code`] is the stable id the shell puts next to the message in
/// its `{ code, message }` replies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input file could not be parsed; the message names the line and column.
    #[error("could not import the file: {0}")]
    Parse(#[from] records::ParseError),

    /// A value given by the caller is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        /// Which input was wrong (`name`, `limit`, `column` …).
        field: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// Something asked for by id does not exist (any more).
    #[error("there is no {kind} with id {id}; it may have been deleted, so reload the list")]
    NotFound {
        /// `dataset`, `record`, `template` …
        kind: &'static str,
        /// The id asked for.
        id: i64,
    },

    /// A name that must be unique is taken.
    #[error("a {kind} called `{name}` already exists: choose another name")]
    NameTaken {
        /// `dataset` or `template`.
        kind: &'static str,
        /// The name.
        name: String,
    },

    /// The template is not valid Jinja.
    #[error("the template does not parse (line {line}): {message}")]
    TemplateSyntax {
        /// 1-based line of the template where parsing stopped.
        line: usize,
        /// minijinja's explanation.
        message: String,
    },

    /// The template uses fields the dataset does not have, so no request was made.
    #[error(
        "the template uses {} that the dataset does not have: {}; rename them to one of the dataset's columns or add the columns",
        if fields.len() == 1 { "a field" } else { "fields" },
        fields.join(", ")
    )]
    MissingFields {
        /// The undefined variables, sorted.
        fields: Vec<String>,
    },

    /// Rendering one record failed (e.g. a filter got a value it cannot handle).
    #[error("the template could not be rendered for record {record_id}: {message}")]
    Render {
        /// The record being rendered.
        record_id: i64,
        /// minijinja's explanation.
        message: String,
    },

    /// Rendering one record used up the template's execution budget
    /// ([`crate::TEMPLATE_FUEL`]): loops too deep or output too large.
    #[error(
        "the template {template} did too much work rendering record {record_id} (its loops or its output are over the budget of one render); simplify its loops"
    )]
    OverBudget {
        /// Which template: its name and version, or "being edited" for an unsaved body.
        template: String,
        /// The record being rendered.
        record_id: i64,
    },

    /// A template's JSON Schema is not JSON, not valid JSON Schema, or not an object schema.
    #[error("the schema is not usable{}: {message}; fix it and save again", if path.is_empty() { String::new() } else { format!(" at `{path}`") })]
    Schema {
        /// JSON Pointer into the schema of the part at fault (`""`: the whole schema).
        path: String,
        /// What is wrong.
        message: String,
    },

    /// A run assertion that cannot be read or compiled (see `checks.rs` for the syntax).
    #[error("the assertion `{given}` is not usable: {message}")]
    Assertion {
        /// The assertion as given.
        given: String,
        /// What is wrong and the syntax to use.
        message: String,
    },

    /// A run was asked for but no approved request is waiting for an answer.
    #[error("there are no approved requests without an answer to send: approve some requests first")]
    NothingToRun,

    /// The operation does not fit the current state (e.g. resuming a finished run).
    #[error("{0}")]
    State(String),

    /// Writing an export failed.
    #[error("could not write the export: {0}; check that the destination is writable")]
    Io(#[from] std::io::Error),

    /// The database failed or is corrupt.
    #[error("the local database failed: {0}")]
    Database(#[from] rusqlite::Error),

    /// The database schema could not be brought up to date.
    #[error("the local database could not be upgraded: {0}; the app may be older than the database")]
    Migration(#[from] rusqlite_migration::Error),
}

impl Error {
    /// A stable machine-readable code for user interfaces.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Parse(_) => "parse_error",
            Error::Invalid { .. } => "invalid_input",
            Error::NotFound { .. } => "not_found",
            Error::NameTaken { .. } => "name_taken",
            Error::TemplateSyntax { .. } => "template_syntax",
            Error::MissingFields { .. } => "missing_fields",
            Error::Render { .. } => "render_failed",
            Error::OverBudget { .. } => "template_over_budget",
            Error::Schema { .. } => "invalid_schema",
            Error::Assertion { .. } => "invalid_assertion",
            Error::NothingToRun => "nothing_to_run",
            Error::State(_) => "invalid_state",
            Error::Io(_) => "io",
            Error::Database(_) => "database",
            Error::Migration(_) => "migration",
        }
    }

    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid { field, message: message.into() }
    }
}

/// Turns "no rows" into [`Error::NotFound`] for the given kind and id.
pub(crate) trait OrNotFound<T> {
    fn or_not_found(self, kind: &'static str, id: i64) -> Result<T, Error>;
}

impl<T> OrNotFound<T> for Result<T, rusqlite::Error> {
    fn or_not_found(self, kind: &'static str, id: i64) -> Result<T, Error> {
        match self {
            Err(rusqlite::Error::QueryReturnedNoRows) => Err(Error::NotFound { kind, id }),
            other => other.map_err(Error::from),
        }
    }
}

/// Whether the error is SQLite refusing a UNIQUE constraint.
pub(crate) fn is_unique_violation(err: &rusqlite::Error) -> bool {
    matches!(
        err,
        rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}
