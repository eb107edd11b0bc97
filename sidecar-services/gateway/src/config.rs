use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;

use crate::AppError;

/// The services the gateway routes to, by name, from
/// `GATEWAY_UPSTREAMS="parsers=http://127.0.0.1:8081,connector=http://127.0.0.1:8082"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstreams(BTreeMap<String, Url>);

impl Upstreams {
    pub fn get(&self, service: &str) -> Option<&Url> {
        self.0.get(service)
    }

    /// Service names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Url)> {
        self.0.iter().map(|(name, url)| (name.as_str(), url))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for Upstreams {
    type Err = AppError;

    fn from_str(spec: &str) -> Result<Self, AppError> {
        let mut map = BTreeMap::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let invalid =
                |reason: &str| AppError::InvalidUpstreams { entry: entry.to_owned(), reason: reason.to_owned() };
            let (name, url) = entry.split_once('=').ok_or_else(|| invalid("there is no `=`"))?;
            let name = name.trim();
            // The name is a URL path segment: keep it to what needs no escaping.
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                return Err(invalid("the service name must be lowercase letters, digits and dashes"));
            }
            let url = Url::parse(url.trim()).map_err(|e| invalid(&format!("the URL does not parse ({e})")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(invalid("the URL must be http:// or https:// with a host"));
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(invalid("the URL must not have a query or fragment"));
            }
            if map.insert(name.to_owned(), url).is_some() {
                return Err(invalid("this service name appears twice"));
            }
        }
        if map.is_empty() {
            return Err(AppError::InvalidUpstreams {
                entry: spec.to_owned(),
                reason: "it names no service".to_owned(),
            });
        }
        Ok(Upstreams(map))
    }
}

/// Requests per caller (the token in auth mode, else the client IP): a sustained rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Default for RateLimit {
    /// Generous for one desktop (an import is one request); a script that
    /// loops without pausing is slowed, not the analyst.
    fn default() -> Self {
        RateLimit {
            per_second: NonZeroU32::new(50).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// Everything the gateway needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub upstreams: Upstreams,
    /// Largest request body passed on, in bytes (default 64 MiB, the parsers' own limit).
    pub max_body_bytes: u64,
    /// How long an upstream may take to start answering (default 30 s).
    pub upstream_timeout: Duration,
    /// How long connecting to an upstream may take (default 2 s): on
    /// loopback or a cluster network a slow connect means it is down.
    pub connect_timeout: Duration,
    /// How long `/ready` waits for each upstream's `/health` (default 2 s).
    pub health_timeout: Duration,
    pub rate_limit: RateLimit,
    /// Who may call (issue 20, point 9): the stack's token and the host
    /// names requests may be addressed to. The token is also what the
    /// gateway presents upstream. Default: loopback names, no token (the
    /// binary always sets one, see `sidecar_http::Access::from_env`).
    pub access: sidecar_http::Access,
    /// Where `/health`, `/ready` and `/metrics` are also served, and
    /// `/metrics` only (issue 20, point 13; `SIDECAR_ADMIN_LISTEN`). Default: none.
    pub admin_listen: Option<std::net::SocketAddr>,
    /// Auth mode (issue 18, point 3; `GATEWAY_AUTH_URL`): callers present
    /// tokens of the auth service instead of the stack's token. Default: none.
    pub auth: Option<crate::AuthConfig>,
    /// In auth mode, how many tokens one client address may have refused
    /// before it is held with 429 (`GATEWAY_AUTH_FAILURES_PER_CLIENT` per
    /// `GATEWAY_AUTH_FAILURE_WINDOW`; default 20 per minute).
    pub auth_failures: crate::FailureLimit,
    /// Where rate limits are kept so replicas share them (`REDIS_URL`,
    /// `redis://host:port`). Default: none, in this gateway's memory.
    pub redis_url: Option<String>,
}

impl Config {
    pub fn new(upstreams: Upstreams) -> Self {
        Config {
            upstreams,
            max_body_bytes: 64 * 1024 * 1024,
            upstream_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(2),
            health_timeout: Duration::from_secs(2),
            rate_limit: RateLimit::default(),
            access: sidecar_http::Access::default(),
            admin_listen: None,
            auth: None,
            auth_failures: crate::FailureLimit::default(),
            redis_url: None,
        }
    }
}
