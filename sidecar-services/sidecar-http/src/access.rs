//! Who may use a service: a per-stack bearer token, and `Host` / `Origin`
//! headers naming this machine (or a configured in-cluster name), so a web
//! page that rebinds its own DNS name to 127.0.0.1 reaches nothing (issue 20,
//! point 9).
//!
//! - every request but the probes ([`PROBE_PATHS`]) must carry
//!   `Authorization: Bearer <token>` when a token is configured: 401
//!   `unauthorized` otherwise;
//! - a `Host` that names another site is refused with 403
//!   `host_not_allowed`, and an `Origin` that does with 403
//!   `origin_not_allowed` (a browser always sends `Host`, and `Origin` on
//!   cross-site and POST requests; programs like the app send no `Origin`);
//! - the probes stay open so Docker, Kubernetes (which probes by pod IP) and
//!   `augment stack` health checks need nothing;
//! - a request with no `Host` at all (HTTP/1.0) is not refused for it:
//!   browsers always send one, and the token still applies.
//!
//! The binaries read the token from `SIDECAR_TOKEN_FILE` (a mounted secret)
//! or `SIDECAR_TOKEN`, and refuse to start without one
//! ([`Access::from_env`]); `augment stack up` generates one per stack.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::{ErrorBody, SidecarError};

/// The variable holding the token itself.
pub const TOKEN_ENV: &str = "SIDECAR_TOKEN";
/// The variable naming a file that holds the token (preferred: a mounted secret).
pub const TOKEN_FILE_ENV: &str = "SIDECAR_TOKEN_FILE";
/// Host names allowed besides the loopback ones, separated by commas
/// (`connector`, `gateway.augment.svc.cluster.local`, …).
pub const ALLOWED_HOSTS_ENV: &str = "SIDECAR_ALLOWED_HOSTS";
/// Paths that answer without a token or a host check: liveness and readiness.
pub const PROBE_PATHS: [&str; 2] = ["/health", "/ready"];
/// Always allowed: the names of this machine's loopback interface.
pub const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];
/// The shortest token accepted; `augment stack up` makes 64 hex characters.
pub const MIN_TOKEN_CHARS: usize = 32;

/// A shared secret. Prints as `***`.
#[derive(Clone)]
pub struct AccessToken(Arc<str>);

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

impl AccessToken {
    /// A token of at least [`MIN_TOKEN_CHARS`] visible ASCII characters
    /// (surrounding whitespace, such as a file's last newline, is dropped).
    pub fn new(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.len() < MIN_TOKEN_CHARS || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "a token must be at least {MIN_TOKEN_CHARS} visible ASCII characters without spaces (for example `openssl rand -hex 32`)"
            ));
        }
        Ok(AccessToken(Arc::from(value)))
    }

    /// The value, for the one place that sends it (an `Authorization` header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `Bearer <token>`, marked sensitive so it is never logged by hyper or tower.
    pub fn bearer_header(&self) -> Option<HeaderValue> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0)).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// Compares in time independent of where the values differ.
    fn matches(&self, presented: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        let mut difference = expected.len() ^ presented.len();
        for (i, byte) in expected.iter().enumerate() {
            difference |= usize::from(byte ^ presented.get(i).copied().unwrap_or(0));
        }
        difference == 0
    }
}

/// What a service lets in: see the module docs.
#[derive(Debug, Clone)]
pub struct Access {
    token: Option<AccessToken>,
    allowed_hosts: Vec<String>,
}

impl Default for Access {
    /// Loopback names only and no token: for services built in process (tests).
    fn default() -> Self {
        Access::new(None, std::iter::empty::<String>())
    }
}

impl Access {
    /// The loopback names plus `extra_hosts`, and the token if any.
    pub fn new(token: Option<AccessToken>, extra_hosts: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        let mut allowed_hosts: Vec<String> = LOOPBACK_HOSTS.iter().map(|h| (*h).to_owned()).collect();
        for host in extra_hosts {
            let host = normalise_host(host.as_ref());
            if !host.is_empty() && !allowed_hosts.contains(&host) {
                allowed_hosts.push(host);
            }
        }
        Access { token, allowed_hosts }
    }

    /// What a service binary runs with: the token from `SIDECAR_TOKEN_FILE`
    /// or `SIDECAR_TOKEN` (required), the hosts of `SIDECAR_ALLOWED_HOSTS`,
    /// and the listen address itself when it is a specific one.
    pub fn from_env(listen: SocketAddr) -> Result<Self, SidecarError> {
        Self::from_lookup(listen, &|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// [`from_env`](Self::from_env) with the variables from `lookup`.
    pub fn from_lookup(listen: SocketAddr, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, SidecarError> {
        let token = match (lookup(TOKEN_FILE_ENV), lookup(TOKEN_ENV)) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    SidecarError::Access(format!("{TOKEN_FILE_ENV} names {path}, which cannot be read: {e}"))
                })?;
                AccessToken::new(&text).map_err(|e| SidecarError::Access(format!("the token in {path}: {e}")))?
            }
            (None, Some(value)) => {
                AccessToken::new(&value).map_err(|e| SidecarError::Access(format!("{TOKEN_ENV}: {e}")))?
            }
            (None, None) => {
                return Err(SidecarError::Access(format!(
                    "no access token: set {TOKEN_FILE_ENV} to a file holding one or {TOKEN_ENV} to one (`augment stack up` does this; elsewhere use `openssl rand -hex 32`)"
                )));
            }
        };
        let mut hosts: Vec<String> = lookup(ALLOWED_HOSTS_ENV)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
            .collect();
        if !listen.ip().is_unspecified() {
            hosts.push(match listen.ip() {
                IpAddr::V4(ip) => ip.to_string(),
                IpAddr::V6(ip) => format!("[{ip}]"),
            });
        }
        Ok(Access::new(Some(token), hosts))
    }

    pub fn token(&self) -> Option<&AccessToken> {
        self.token.as_ref()
    }

    /// Host names allowed in `Host` and `Origin` (lowercase, no port).
    pub fn allowed_hosts(&self) -> &[String] {
        &self.allowed_hosts
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = normalise_host(host);
        self.allowed_hosts.contains(&host)
    }

    /// `Ok` when the request may go on, else the JSON refusal.
    pub fn check(&self, request: &Request) -> Result<(), Box<ErrorBody>> {
        if PROBE_PATHS.contains(&request.uri().path()) {
            return Ok(());
        }
        let headers = request.headers();
        let host = headers.get(header::HOST).map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned());
        // HTTP/2 carries the host in the URI instead of a header.
        let host = host.or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
        if let Some(host) = host
            && !self.host_allowed(&host)
        {
            return Err(Box::new(ErrorBody::new(
                StatusCode::FORBIDDEN,
                "host_not_allowed",
                format!(
                    "this service answers only requests addressed to {}; add the name you use to {ALLOWED_HOSTS_ENV} if it is really this service",
                    self.allowed_hosts.join(", ")
                ),
            )));
        }
        for origin in headers.get_all(header::ORIGIN) {
            let allowed = origin.to_str().ok().and_then(origin_host).is_some_and(|host| self.host_allowed(host));
            if !allowed {
                return Err(Box::new(ErrorBody::new(
                    StatusCode::FORBIDDEN,
                    "origin_not_allowed",
                    "requests from web pages of other sites are refused; call this service from the app, not from a browser",
                )));
            }
        }
        let Some(token) = &self.token else { return Ok(()) };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
            .map(<[u8]>::trim_ascii);
        if presented.is_some_and(|p| token.matches(p)) {
            return Ok(());
        }
        let message = if presented.is_some() {
            "the access token is wrong; use the token of this stack (`augment stack up` hands it to the app)"
        } else {
            "this service needs `Authorization: Bearer <token>` with the stack's access token"
        };
        Err(Box::new(
            ErrorBody::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
                .with_header(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")),
        ))
    }
}

/// Lowercase, without a port or a trailing dot; IPv6 keeps its brackets.
fn normalise_host(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    let without_port = if host.starts_with('[') {
        host.split_once(']').map_or(host.as_str(), |(inside, _)| &host[..=inside.len()])
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host.as_str(),
        }
    };
    without_port.trim_end_matches('.').to_owned()
}

/// `http://host:port` → `host:port`; anything else (`null`, other schemes) → `None`.
fn origin_host(origin: &str) -> Option<&str> {
    let rest = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"))?;
    (!rest.is_empty() && !rest.contains('/')).then_some(rest)
}

/// Wraps `router` so every request passes [`Access::check`] first. Call it
/// before `standard_layers`, so refusals are logged and counted like any answer.
pub fn require_access(router: Router, access: Access) -> Router {
    router.layer(middleware::from_fn_with_state(Arc::new(access), guard))
}

async fn guard(State(access): State<Arc<Access>>, request: Request, next: Next) -> Response {
    match access.check(&request) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            tracing::warn!(code = refusal.code, path = %request.uri().path(), "request refused");
            refusal.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_compared_without_port_case_or_trailing_dot() {
        assert_eq!(normalise_host("LocalHost:47800"), "localhost");
        assert_eq!(normalise_host("[::1]:8080"), "[::1]");
        assert_eq!(normalise_host("localhost."), "localhost");
        assert_eq!(normalise_host("connector"), "connector");
        let access = Access::new(None, ["connector"]);
        for ok in ["127.0.0.1:1", "localhost", "[::1]:47800", "connector:8082"] {
            assert!(access.host_allowed(ok), "{ok}");
        }
        for refused in ["evil.example", "127.0.0.1.evil.example", "localhost.evil.example:80", "[::2]", "0.0.0.0"] {
            assert!(!access.host_allowed(refused), "{refused}");
        }
    }

    #[test]
    fn tokens_are_long_compared_whole_and_never_printed() {
        assert!(AccessToken::new("short").is_err());
        let token = AccessToken::new(&"a".repeat(40)).expect("long enough");
        assert!(token.matches("a".repeat(40).as_bytes()));
        assert!(!token.matches("a".repeat(39).as_bytes()));
        assert!(!token.matches("a".repeat(41).as_bytes()));
        assert!(!format!("{token:?}").contains('a'));
    }

    #[test]
    fn the_binaries_refuse_to_start_without_a_token() {
        let listen: SocketAddr = "0.0.0.0:8080".parse().expect("address");
        let err = Access::from_lookup(listen, &|_| None).expect_err("no token");
        assert!(err.to_string().contains(TOKEN_ENV), "{err}");
        let token = "b".repeat(64);
        let access = Access::from_lookup(listen, &|name| match name {
            TOKEN_ENV => Some(token.clone()),
            ALLOWED_HOSTS_ENV => Some("connector, Gateway.Example ".to_owned()),
            _ => None,
        })
        .expect("configured");
        assert_eq!(access.allowed_hosts(), ["localhost", "127.0.0.1", "[::1]", "connector", "gateway.example"]);
    }
}
