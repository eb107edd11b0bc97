use thiserror::Error;

/// What the pipeline can refuse or fail at. Messages say what to do; none
/// carries a credential (the connectors' and the keychain's errors never do).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad input: a name, a mapping, a column choice.
    #[error("{0}")]
    Invalid(String),
    /// No connection with that name.
    #[error("there is no data-store connection called `{name}`: {hint}")]
    NoConnection { name: String, hint: String },
    /// The connection has no credential in the keychain or the environment.
    #[error(
        "connection `{name}` has no credential: save one with `augment data connect {kind} --name {name}` (or in the Record Collector), or set {variable}"
    )]
    NoCredential { name: String, kind: &'static str, variable: String },
    /// The local store refused or failed.
    #[error(transparent)]
    Store(#[from] local_data::Error),
    /// The OS keychain refused or failed.
    #[error(transparent)]
    Keychain(#[from] secrets::Error),
    /// The data store refused or failed.
    #[error(transparent)]
    Service(#[from] datastores::Error),
    /// The temporary file the rows are spooled to.
    #[error("spooling the fetched rows to a temporary file failed: {0}; check the free space of the temp folder")]
    Spool(#[from] std::io::Error),
}

impl Error {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }
}
