//! The error every command returns: `{ code, message }`, so the UI can branch
//! on a stable code and show a message a person can act on.

use serde::Serialize;

/// Stable, machine-readable error codes (camelCase on the wire).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ErrorCode {
    /// An argument from the UI is malformed.
    InvalidInput,
    /// Something failed verification; nothing was installed.
    Refused,
    /// No version of a remote fits this app.
    Incompatible,
    /// The registry cannot be reached and the cache cannot stand in.
    Unreachable,
    /// The version is not in the cache.
    NotInstalled,
    /// There is no version to roll back to.
    NothingToRollBackTo,
    /// The offline cache failed.
    Cache,
    /// Reading or writing the settings failed.
    Settings,
    /// The OS keychain is missing, locked or failed (API keys).
    Keychain,
    /// An AI provider call failed; the message says why and what to do.
    Provider,
    /// No container engine answers (local stack).
    EngineNotRunning,
    /// A port the local stack publishes is taken; the message says which.
    PortInUse,
    /// The local stack failed otherwise; the message says why.
    Stack,
    /// An imported document is malformed; the message names line and column.
    ParseError,
    /// The shell is still starting.
    NotReady,
    /// A change that needs the person's confirmation was not confirmed; nothing changed.
    Declined,
    /// The dataset, record, template or request asked for does not exist (any more).
    NotFound,
    /// A template uses fields the dataset does not have; the message names them.
    MissingFields,
    /// A template does not parse or render; the message says where.
    InvalidTemplate,
    /// A provider a run needs cannot be reached; nothing was sent.
    Offline,
    /// A provider a run needs has no API key; the message says how to set one.
    NoKey,
    /// The local database or an export file failed.
    Data,
    Internal,
}

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }
}

impl From<cache::CacheError> for CommandError {
    fn from(err: cache::CacheError) -> Self {
        let code = match &err {
            cache::CacheError::VersionNotInstalled { .. } => ErrorCode::NotInstalled,
            cache::CacheError::NothingToRollBackTo { .. } => ErrorCode::NothingToRollBackTo,
            cache::CacheError::InvalidInput { .. } => ErrorCode::InvalidInput,
            _ => ErrorCode::Cache,
        };
        Self::new(code, err.to_string())
    }
}

impl From<api::ApiError> for CommandError {
    fn from(err: api::ApiError) -> Self {
        if let api::ApiError::Cache(inner) = err {
            return inner.into();
        }
        let code = match err.kind() {
            api::ErrorKind::Refused => ErrorCode::Refused,
            api::ErrorKind::Incompatible => ErrorCode::Incompatible,
            api::ErrorKind::Unreachable => ErrorCode::Unreachable,
            _ => ErrorCode::Internal,
        };
        Self::new(code, err.to_string())
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
