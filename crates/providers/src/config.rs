use std::num::NonZeroU32;
use std::time::Duration;

use url::Url;

use crate::Error;

/// Which API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WireFormat {
    /// OpenAI Chat Completions: `POST /v1/chat/completions`, `Authorization: Bearer`.
    /// Also Groq, Ollama, vLLM, LM Studio.
    OpenAi,
    /// Anthropic Messages: `POST /v1/messages`, `x-api-key`, `anthropic-version`.
    Anthropic,
}

impl WireFormat {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            WireFormat::OpenAi => "OpenAI-compatible",
            WireFormat::Anthropic => "Anthropic",
        }
    }
}

/// When to retry and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Backoff before the first retry when the provider gives no `Retry-After`;
    /// doubled each time, with random jitter.
    pub base_delay: Duration,
    /// Longest backoff between attempts.
    pub max_delay: Duration,
    /// Longest `Retry-After` we are willing to wait; a longer one fails the call
    /// at once with [`Error::RateLimited`] so the person can decide.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Retries `max_attempts - 1` times with the given first backoff.
    pub fn new(max_attempts: u32, base_delay: Duration) -> Self {
        RetryPolicy { max_attempts, base_delay, ..RetryPolicy::default() }
    }
}

/// Everything about one provider: where it is, how to talk to it, and the limits.
///
/// Start from a preset ([`ProviderConfig::openai`], [`ProviderConfig::anthropic`],
/// [`ProviderConfig::groq`], [`ProviderConfig::openai_compatible`]) and change
/// fields; [`ProviderClient::new`](crate::ProviderClient::new) checks them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProviderConfig {
    /// The provider id; also the keychain account its key is stored under.
    pub id: String,
    /// The API it speaks.
    pub wire: WireFormat,
    /// The base URL without `/v1`, e.g. `https://api.openai.com`,
    /// `https://api.groq.com/openai`, `http://localhost:11434`. Must not carry
    /// credentials or a query: keys go in headers only.
    pub base_url: String,
    /// Whether a call without a key fails with [`Error::NoKey`] (local
    /// OpenAI-compatible servers usually need none).
    pub key_required: bool,
    /// Requests to this provider in flight at once, across all clones of the client.
    pub max_concurrent: usize,
    /// Requests started per minute; `None` for no limit of our own.
    pub requests_per_minute: Option<NonZeroU32>,
    /// Retries on 429 and 5xx.
    pub retry: RetryPolicy,
    /// Limit for establishing a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Limit for one attempt: until the whole answer (non-streaming) or the
    /// response headers (streaming) have arrived.
    pub request_timeout: Duration,
    /// While streaming, the longest silence between two events.
    pub stream_idle_timeout: Duration,
    /// `max_tokens` sent to Anthropic when the request has none (it is required there).
    pub default_max_tokens: u32,
}

impl ProviderConfig {
    fn preset(id: &str, wire: WireFormat, base_url: &str, key_required: bool) -> Self {
        ProviderConfig {
            id: id.to_owned(),
            wire,
            base_url: base_url.to_owned(),
            key_required,
            max_concurrent: 8,
            requests_per_minute: None,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            stream_idle_timeout: Duration::from_secs(60),
            default_max_tokens: 4096,
        }
    }

    /// OpenAI at `https://api.openai.com`.
    pub fn openai() -> Self {
        Self::preset("openai", WireFormat::OpenAi, "https://api.openai.com", true)
    }

    /// Anthropic at `https://api.anthropic.com`.
    pub fn anthropic() -> Self {
        Self::preset("anthropic", WireFormat::Anthropic, "https://api.anthropic.com", true)
    }

    /// Groq's OpenAI-compatible API at `https://api.groq.com/openai`.
    pub fn groq() -> Self {
        Self::preset("groq", WireFormat::OpenAi, "https://api.groq.com/openai", true)
    }

    /// Any OpenAI-compatible server (Ollama, vLLM, LM Studio …) under a custom
    /// id (`[a-z0-9-]{1,40}`); a key is sent only if one is stored.
    pub fn openai_compatible(id: &str, base_url: &str) -> Self {
        Self::preset(id, WireFormat::OpenAi, base_url, false)
    }

    /// The preset for a built-in provider id.
    pub fn builtin(id: &str) -> Option<Self> {
        match id {
            "openai" => Some(Self::openai()),
            "anthropic" => Some(Self::anthropic()),
            "groq" => Some(Self::groq()),
            _ => None,
        }
    }

    /// Replaces the base URL (e.g. to point a preset at a proxy or a test server).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    fn invalid(&self, detail: impl Into<String>) -> Error {
        Error::InvalidConfig { provider: self.id.clone(), detail: detail.into() }
    }

    /// Checks the settings and returns the parsed base URL.
    pub(crate) fn validate(&self) -> Result<Url, Error> {
        secrets::validate_provider(&self.id).map_err(|e| self.invalid(e.to_string()))?;
        let url = Url::parse(&self.base_url)
            .map_err(|e| self.invalid(format!("the base URL is not a URL ({e}): use e.g. https://api.openai.com")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(self.invalid("the base URL must start with http:// or https://"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(self.invalid(
                "the base URL contains a user name or password: remove it and store the key with `augment keys set`",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(self.invalid(
                "the base URL has a query or fragment: remove it (keys belong in the keychain, not the URL)",
            ));
        }
        if url.path().trim_end_matches('/').ends_with("/v1") {
            return Err(self.invalid(format!(
                "the base URL should not end in /v1 (requests add it): use {}",
                url.as_str().trim_end_matches('/').trim_end_matches("/v1")
            )));
        }
        if self.key_required {
            self.check_key_transport(&url)?;
        }
        if self.max_concurrent == 0 {
            return Err(self.invalid("max_concurrent must be at least 1"));
        }
        if self.retry.max_attempts == 0 {
            return Err(self.invalid("retry.max_attempts must be at least 1"));
        }
        Ok(url)
    }

    /// Refuses to send a key over plain http to anything but loopback
    /// (issue 20 point 8): on the way it could be read by anyone on the network.
    pub(crate) fn check_key_transport(&self, url: &Url) -> Result<(), Error> {
        if url.scheme() == "http" && !is_loopback(url) {
            return Err(self.invalid(format!(
                "the base URL uses plain http to {}, which would send the API key unencrypted: use https:// \
                 (plain http is only allowed to this machine: localhost, 127.0.0.1, [::1])",
                url.host_str().unwrap_or("?")
            )));
        }
        Ok(())
    }
}

/// Whether `url` points at this machine: `localhost` (or a name under it) or a loopback address.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        for config in [
            ProviderConfig::openai(),
            ProviderConfig::anthropic(),
            ProviderConfig::groq(),
            ProviderConfig::openai_compatible("ollama", "http://localhost:11434"),
        ] {
            assert!(config.validate().is_ok(), "{config:?}");
        }
        assert!(ProviderConfig::builtin("groq").is_some_and(|c| c.base_url.ends_with("/openai")));
        assert!(ProviderConfig::builtin("ollama").is_none());
    }

    #[test]
    fn rejects_urls_that_could_carry_keys_or_are_wrong() {
        let check = |url: &str, expected: &str| {
            let err = ProviderConfig::openai_compatible("local", url).validate().unwrap_err();
            assert!(err.to_string().contains(expected), "{url}: {err}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
        };
        check("http://user:hunter2@localhost:8080", "user name or password");
        check("http://localhost:8080?key=hunter2", "query or fragment");
        check("ftp://localhost", "http:// or https://");
        check("not a url", "not a URL");
        check("http://localhost:11434/v1", "use http://localhost:11434");
    }

    #[test]
    fn rejects_zero_limits_and_bad_ids() {
        let mut c = ProviderConfig::openai();
        c.max_concurrent = 0;
        assert!(c.validate().is_err());
        let c = ProviderConfig::openai_compatible("Bad Id", "http://localhost");
        assert!(matches!(c.validate(), Err(Error::InvalidConfig { .. })));
    }
}
