use std::time::Duration;

use crate::progress::human_duration;

/// Why a provider call failed, in terms a person can act on.
///
/// No variant holds the key or a raw HTTP client error: transport failures are
/// reduced to their cause ("Connection refused") and provider messages have the
/// key removed before they get here.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The provider answered 401: the key is wrong, revoked or for another account.
    #[error("the provider rejected the key for {provider}: set a new one with `augment keys set {provider}`")]
    InvalidKey {
        /// The provider id.
        provider: String,
    },

    /// The stored key cannot even be put into an HTTP header (it contains
    /// control characters), so it was not sent.
    #[error(
        "the key stored for {provider} contains characters that cannot be sent: set it again with `augment keys set {provider}`"
    )]
    MalformedKey {
        /// The provider id.
        provider: String,
    },

    /// There is no key for a provider that needs one.
    #[error(
        "no API key is set for {provider}: set one with `augment keys set {provider}`, or set {env_var} for headless use"
    )]
    NoKey {
        /// The provider id.
        provider: String,
        /// The environment variable that can supply it.
        env_var: String,
    },

    /// 429 on every attempt (or a `Retry-After` longer than we are willing to wait).
    #[error("{provider} is rate limiting requests{}: wait and try again, or lower this provider's request rate", retry_after.map(|d| format!(" (it asks to retry in {})", human_duration(d))).unwrap_or_default())]
    RateLimited {
        /// The provider id.
        provider: String,
        /// What the provider's `Retry-After` asked for, if it said.
        retry_after: Option<Duration>,
    },

    /// The account has no quota or credit left (OpenAI `insufficient_quota`,
    /// Anthropic billing errors): no retry helps until the person adds
    /// credit or raises the limit.
    #[error(
        "quota exhausted at {provider}: {message}. Add credit or raise the usage limit in {provider}'s billing settings, then resume"
    )]
    QuotaExhausted {
        /// The provider id.
        provider: String,
        /// The provider's own explanation, shortened and with the key removed.
        message: String,
    },

    /// The provider does not know the model, or this key may not use it.
    #[error(
        "{provider} has no model `{model}` available to this key: check the model name against the provider's model list"
    )]
    ModelNotFound {
        /// The provider id.
        provider: String,
        /// The model asked for.
        model: String,
    },

    /// 404 that is not about a model: the base URL points somewhere else.
    #[error("{provider} has no API at {url}: check the base URL (it should not include /v1)")]
    EndpointNotFound {
        /// The provider id.
        provider: String,
        /// The URL that was not found (without credentials or query).
        url: String,
    },

    /// No answer (or, while streaming, no new data) within the time allowed.
    #[error("{provider} did not answer within {}: try again, or raise the timeout for this provider", human_duration(*after))]
    Timeout {
        /// The provider id.
        provider: String,
        /// The limit that ran out.
        after: Duration,
    },

    /// The caller cancelled the request.
    #[error("the request to {provider} was cancelled")]
    Cancelled {
        /// The provider id.
        provider: String,
    },

    /// No connection could be made, or it broke before an answer arrived.
    #[error(
        "could not reach {provider} at {url} ({reason}): check the network connection, any proxy settings and the base URL"
    )]
    Unreachable {
        /// The provider id.
        provider: String,
        /// Where we tried to connect (without credentials or query).
        url: String,
        /// The underlying cause, e.g. "Connection refused (os error 111)".
        reason: String,
    },

    /// 5xx on every attempt.
    #[error(
        "{provider} failed with HTTP {status} after {attempts} attempt(s): the provider is having problems, try again later"
    )]
    Server {
        /// The provider id.
        provider: String,
        /// The last status received.
        status: u16,
        /// How many attempts were made.
        attempts: u32,
    },

    /// The provider refused the request itself (400, 403, 422 …); its message says why.
    #[error("{provider} refused the request (HTTP {status}): {message}")]
    Rejected {
        /// The provider id.
        provider: String,
        /// The HTTP status.
        status: u16,
        /// The provider's own explanation, shortened and with the key removed.
        message: String,
    },

    /// The answer was not in the expected wire format.
    #[error(
        "{provider} sent a response that could not be read ({detail}): check that the base URL points at an {expected} API"
    )]
    BadResponse {
        /// The provider id.
        provider: String,
        /// What was wrong with it.
        detail: String,
        /// "OpenAI-compatible" or "Anthropic".
        expected: &'static str,
    },

    /// A request cannot go in a batch at all (larger than a whole batch may be).
    #[error("{provider} cannot take this batch: {detail}; send it without --batch")]
    BatchTooLarge {
        /// The provider id.
        provider: String,
        /// Which request and how large.
        detail: String,
    },

    /// The key could not be read from the OS keychain.
    #[error(transparent)]
    Keychain(#[from] secrets::Error),

    /// The provider settings cannot work (bad base URL, zero limits …).
    #[error("invalid settings for provider {provider}: {detail}")]
    InvalidConfig {
        /// The provider id.
        provider: String,
        /// What is wrong and how to fix it.
        detail: String,
    },
}

impl Error {
    /// A stable machine-readable code for user interfaces (`{ code, message }`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidKey { .. } => "invalid_key",
            Error::MalformedKey { .. } => "malformed_key",
            Error::NoKey { .. } => "no_key",
            Error::RateLimited { .. } => "rate_limited",
            Error::QuotaExhausted { .. } => "quota_exhausted",
            Error::ModelNotFound { .. } => "model_not_found",
            Error::EndpointNotFound { .. } => "endpoint_not_found",
            Error::Timeout { .. } => "timeout",
            Error::Cancelled { .. } => "cancelled",
            Error::Unreachable { .. } => "unreachable",
            Error::Server { .. } => "server_error",
            Error::Rejected { .. } => "rejected",
            Error::BadResponse { .. } => "bad_response",
            Error::BatchTooLarge { .. } => "batch_too_large",
            Error::Keychain(_) => "keychain",
            Error::InvalidConfig { .. } => "invalid_config",
        }
    }
}
