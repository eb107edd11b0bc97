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

/// What a provider the person added is (issue 17, point 7): every kind
/// speaks the OpenAI wire format; the kind only gives the usual local
/// address, so an Ollama entry works without typing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ProviderKind {
    /// Ollama, `http://localhost:11434`.
    Ollama,
    /// LM Studio's local server, `http://localhost:1234`.
    LmStudio,
    /// vLLM's OpenAI-compatible server, `http://localhost:8000`.
    Vllm,
    /// Any other OpenAI-compatible endpoint: no default, a base URL is required.
    OpenaiCompatible,
}

impl ProviderKind {
    /// Every kind, in the order a choice lists them.
    pub const ALL: [ProviderKind; 4] =
        [ProviderKind::Ollama, ProviderKind::LmStudio, ProviderKind::Vllm, ProviderKind::OpenaiCompatible];

    /// The name in settings, the CLI and IPC: `ollama`, `lm-studio`, `vllm`, `openai-compatible`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Ollama => "ollama",
            ProviderKind::LmStudio => "lm-studio",
            ProviderKind::Vllm => "vllm",
            ProviderKind::OpenaiCompatible => "openai-compatible",
        }
    }

    /// The kind named `name` (see [`ProviderKind::as_str`]).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Where the server listens when installed with its defaults; `None` for
    /// a generic endpoint, which must be given.
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::Ollama => Some("http://localhost:11434"),
            ProviderKind::LmStudio => Some("http://localhost:1234"),
            ProviderKind::Vllm => Some("http://localhost:8000"),
            ProviderKind::OpenaiCompatible => None,
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    /// The base URL, e.g. `https://api.openai.com`,
    /// `https://api.groq.com/openai`, `http://localhost:11434`; a trailing
    /// `/v1` or `/` is accepted and dropped ([`normalize_base_url`]), as the
    /// requests add `/v1` themselves. Must not carry credentials or a query:
    /// keys go in headers only.
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
            base_url: normalize_base_url(base_url),
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

    /// A provider the person added under `id`: OpenAI wire format, a key
    /// sent only when one is stored, at `base_url` or the kind's usual
    /// address. Checked: the id (`[a-z0-9-]{1,40}`, not a built-in one) and
    /// the base URL (a generic endpoint must have one).
    pub fn custom(id: &str, kind: ProviderKind, base_url: Option<&str>) -> Result<Self, Error> {
        let base_url = base_url.map(normalize_base_url).filter(|u| !u.is_empty());
        let config = Self::openai_compatible(id, "");
        if Self::builtin(id).is_some() {
            return Err(config.invalid(format!(
                "`{id}` is a built-in provider: choose another name for your {kind} server, e.g. my-{id}"
            )));
        }
        let Some(base_url) = base_url.or_else(|| kind.default_base_url().map(str::to_owned)) else {
            return Err(config.invalid(format!(
                "an {kind} provider needs its base URL, e.g. http://localhost:8080 or https://llm.example.com/v1"
            )));
        };
        let config = config.with_base_url(base_url);
        config.validate()?;
        Ok(config)
    }

    /// The settings of provider `id` as saved by the app or the CLI: a
    /// built-in provider (no `kind`) or an added one (with its `kind`), at
    /// `base_url` when one is saved. One reading for both, so the CLI sends
    /// where the app would.
    pub fn saved(id: &str, kind: Option<ProviderKind>, base_url: Option<&str>) -> Result<Self, Error> {
        match (Self::builtin(id), kind) {
            (Some(preset), None) => Ok(match base_url {
                Some(url) => preset.with_base_url(url),
                None => preset,
            }),
            (Some(preset), Some(kind)) => Err(preset
                .invalid(format!("`{id}` is a built-in provider, not an added {kind} server: remove its \"kind\""))),
            (None, Some(kind)) => Self::custom(id, kind, base_url),
            (None, None) => Err(Self::openai_compatible(id, "").invalid(format!(
                "`{id}` is neither a built-in provider ({}) nor one you added (it has no \"kind\")",
                secrets::KNOWN_PROVIDERS.join(", ")
            ))),
        }
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

    /// Replaces the base URL (e.g. to point a preset at a proxy or a test
    /// server), normalised by [`normalize_base_url`].
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = normalize_base_url(&base_url.into());
        self
    }

    fn invalid(&self, detail: impl Into<String>) -> Error {
        Error::InvalidConfig { provider: self.id.clone(), detail: detail.into() }
    }

    /// Checks the settings and returns the parsed base URL.
    pub(crate) fn validate(&self) -> Result<Url, Error> {
        secrets::validate_provider(&self.id).map_err(|e| self.invalid(e.to_string()))?;
        // `base_url` is a public field: it may have been set without `with_base_url`.
        let url = Url::parse(&normalize_base_url(&self.base_url))
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

/// The one spelling of a base URL: surrounding whitespace, trailing `/` and
/// one trailing `/v1` segment removed, so `http://localhost:11434/v1/`,
/// `http://localhost:11434/` and `http://localhost:11434` are the same
/// provider (the requests add `/v1`; provider docs show it either way).
///
/// Text only, no parsing: anything that is not a URL is left for
/// [`ProviderConfig`]'s check to explain, and a URL with a query or fragment
/// keeps its `/v1` (it is refused there anyway). The origin never changes,
/// so a key's binding to its origin is the same either way.
pub fn normalize_base_url(base_url: &str) -> String {
    let trimmed = base_url.trim().trim_end_matches('/');
    let without_v1 = match trimmed.strip_suffix("/v1") {
        // `http://v1` is a host named v1, not a path.
        Some(rest) if !rest.ends_with('/') && !rest.ends_with(':') => rest.trim_end_matches('/'),
        _ => trimmed,
    };
    without_v1.to_owned()
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
    }

    #[test]
    fn base_urls_are_the_same_with_or_without_v1_and_slashes() {
        for (given, expected) in [
            ("http://localhost:11434", "http://localhost:11434"),
            ("http://localhost:11434/", "http://localhost:11434"),
            ("http://localhost:11434/v1", "http://localhost:11434"),
            ("http://localhost:11434/v1/", "http://localhost:11434"),
            (" http://localhost:11434/v1// ", "http://localhost:11434"),
            ("https://api.groq.com/openai/v1", "https://api.groq.com/openai"),
            ("https://example.com/v1/v1", "https://example.com/v1"),
            // Not a /v1 segment: kept.
            ("https://example.com/apiv1", "https://example.com/apiv1"),
            ("https://example.com/v10", "https://example.com/v10"),
            // A host called v1 is not a path.
            ("http://v1", "http://v1"),
            ("http://v1/", "http://v1"),
            ("", ""),
        ] {
            assert_eq!(normalize_base_url(given), expected, "{given:?}");
        }
    }

    #[test]
    fn a_v1_base_url_is_accepted_and_requests_do_not_double_it() {
        let config = ProviderConfig::openai_compatible("ollama", "x").with_base_url("http://localhost:11434/v1/");
        assert_eq!(config.base_url, "http://localhost:11434");
        assert_eq!(config.validate().unwrap().as_str(), "http://localhost:11434/");
        // Set directly, without with_base_url: still accepted, the same URL.
        let mut direct = ProviderConfig::openai();
        direct.base_url = "https://api.openai.com/v1".to_owned();
        assert_eq!(direct.validate().unwrap().as_str(), "https://api.openai.com/");
    }

    #[test]
    fn custom_providers_take_their_kind_s_address_or_a_given_one() {
        let ollama = ProviderConfig::custom("ollama", ProviderKind::Ollama, None).unwrap();
        assert_eq!((ollama.id.as_str(), ollama.base_url.as_str()), ("ollama", "http://localhost:11434"));
        assert!(!ollama.key_required);
        assert_eq!(ollama.wire, WireFormat::OpenAi);
        let studio = ProviderConfig::custom("studio", ProviderKind::LmStudio, Some("  ")).unwrap();
        assert_eq!(studio.base_url, "http://localhost:1234", "a blank URL is no URL");
        let vllm = ProviderConfig::custom("gpu-box", ProviderKind::Vllm, Some("http://127.0.0.1:9000/v1/")).unwrap();
        assert_eq!(vllm.base_url, "http://127.0.0.1:9000");

        let err = ProviderConfig::custom("mine", ProviderKind::OpenaiCompatible, None).unwrap_err();
        assert!(err.to_string().contains("needs its base URL"), "{err}");
        let err =
            ProviderConfig::custom("openai", ProviderKind::OpenaiCompatible, Some("http://localhost")).unwrap_err();
        assert!(err.to_string().contains("built-in"), "{err}");
        let err = ProviderConfig::custom("My Server", ProviderKind::Ollama, None).unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
        let err = ProviderConfig::custom("x", ProviderKind::Vllm, Some("ftp://host")).unwrap_err();
        assert!(err.to_string().contains("http:// or https://"), "{err}");

        for kind in ProviderKind::ALL {
            assert_eq!(ProviderKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str(), "serde and the CLI agree");
        }
        assert_eq!(ProviderKind::parse("lmstudio"), None);
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
