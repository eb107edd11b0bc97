use thiserror::Error;

/// What went wrong talking to a data store. No variant carries a credential.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The service refused the credential (401/403).
    #[error(
        "{service} refused the credential ({status}): {message}. Check the token in the keychain (`augment data connect {service}`)"
    )]
    Unauthorized { service: &'static str, status: u16, message: String },
    /// The table, base or warehouse does not exist (404).
    #[error("{service}: {what} not found: {message}")]
    NotFound { service: &'static str, what: String, message: String },
    /// Still rate-limited after the retries allowed.
    #[error("{service} kept answering 429 (rate limited) after {attempts} attempts; try again later")]
    RateLimited { service: &'static str, attempts: u32 },
    /// Any other answer the service gave that we cannot use.
    #[error("{service} answered {status}: {message}")]
    Service { service: &'static str, status: u16, message: String },
    /// The answer did not have the documented shape.
    #[error("{service} sent an answer this client does not understand: {message}")]
    Protocol { service: &'static str, message: String },
    /// A network error (the URL is not included: it may hold a secret).
    #[error("could not reach {service}: {message}")]
    Network { service: &'static str, message: String },
    /// The source's settings cannot be used.
    #[error("invalid {service} settings: {message}")]
    Config { service: &'static str, message: String },
    /// A statement the service ran did not succeed (Databricks: it ended
    /// FAILED, CANCELED or CLOSED, or was still running at the deadline).
    #[error("{service}: {message}")]
    Statement { service: &'static str, message: String },
    /// The caller's page handler failed (e.g. the local store refused a row).
    #[error("storing the rows failed: {0}")]
    Consumer(String),
    /// A write-back names columns the table lacks and was not asked to create.
    #[error(
        "the {service} table has no column {}: write to existing columns, or ask for these to be created",
        .columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
    )]
    MissingColumns { service: &'static str, columns: Vec<String> },
}
