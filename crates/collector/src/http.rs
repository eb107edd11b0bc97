//! One HTTP request with the collector's guards: the SSRF check before the
//! request and in the DNS resolver (so the addresses connected to are the
//! ones checked: DNS rebinding and redirects to private addresses are
//! refused too), no proxy, no automatic redirects, a size limit enforced
//! while streaming and a time limit on the whole exchange.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::dns::{Name, Resolve, Resolving};
use url::{Host, Url};

use crate::address::{AddressPolicy, Refused};
use crate::error::PageError;

/// A boxed future of a DNS answer.
pub type LookupFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Resolves host names. The system resolver in production; tests give one
/// that answers a private address for a name, to prove the check is made on
/// resolved addresses.
pub trait Lookup: Send + Sync + std::fmt::Debug {
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The operating system's resolver (getaddrinfo through tokio).
#[derive(Debug, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_owned();
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.map(|a| a.ip()).collect()) })
    }
}

/// reqwest's resolver: every address a name resolves to is checked, and only
/// the allowed ones are handed to the connector, which connects to nothing else.
#[derive(Debug)]
struct GuardedResolver {
    policy: Arc<AddressPolicy>,
    lookup: Arc<dyn Lookup>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let addresses = lookup.lookup(name.as_str()).await?;
            let mut first_refusal = None;
            let mut allowed = Vec::new();
            for ip in addresses {
                match policy.check_address(ip) {
                    Ok(()) => allowed.push(SocketAddr::new(ip, 0)),
                    Err(refused) => {
                        tracing::warn!(host = name.as_str(), %ip, "refused a resolved address");
                        first_refusal.get_or_insert(refused);
                    }
                }
            }
            match (allowed.is_empty(), first_refusal) {
                (true, Some(refused)) => Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>),
                _ => Ok(Box::new(allowed.into_iter()) as Box<dyn Iterator<Item = SocketAddr> + Send>),
            }
        })
    }
}

/// One response, its body read up to the limit.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: Bytes,
}

/// The guarded client.
#[derive(Debug, Clone)]
pub struct GuardedHttp {
    client: reqwest::Client,
    policy: Arc<AddressPolicy>,
    lookup: Arc<dyn Lookup>,
}

impl GuardedHttp {
    pub fn new(
        user_agent: &str,
        policy: AddressPolicy,
        lookup: Arc<dyn Lookup>,
        connect_timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            // Redirects are followed by the crawler, one checked hop at a time.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would make the connection (and so the check) somewhere else.
            .no_proxy()
            .connect_timeout(connect_timeout)
            .dns_resolver(Arc::new(GuardedResolver { policy: policy.clone(), lookup: lookup.clone() }))
            .build()?;
        Ok(GuardedHttp { client, policy, lookup })
    }

    /// Refuses a URL whose address is not allowed, before any connection.
    /// An IP literal never reaches the resolver, so it is checked here; a
    /// name is resolved here only when an allowance names a port (the
    /// resolver, which checks every name, does not know the port).
    pub async fn check_url(&self, url: &Url) -> Result<(), PageError> {
        let port = url.port_or_known_default().unwrap_or(0);
        let refused = |refused: Refused| PageError::Refused { url: url.to_string(), refused };
        let addresses: Vec<IpAddr> = match url.host() {
            Some(Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            Some(Host::Domain(name)) if self.policy.has_port_allowances() => {
                self.lookup.lookup(name).await.map_err(|err| PageError::Network {
                    url: url.to_string(),
                    reason: format!("could not resolve {name}: {err}"),
                })?
            }
            Some(Host::Domain(_)) => return Ok(()),
            None => return Err(PageError::Scheme { url: url.to_string() }),
        };
        let mut last = None;
        for ip in addresses {
            match self.policy.check_socket(ip, port) {
                Ok(()) => return Ok(()),
                Err(err) => last = Some(err),
            }
        }
        match last {
            Some(err) => Err(refused(err)),
            None => Ok(()),
        }
    }

    /// GETs `url` (no redirects followed), reading at most `max_bytes` of
    /// its body, everything within `limit`.
    pub async fn get(&self, url: &Url, max_bytes: u64, limit: Duration) -> Result<Response, PageError> {
        self.check_url(url).await?;
        match tokio::time::timeout(limit, self.exchange(url, max_bytes)).await {
            Ok(result) => result,
            Err(_) => Err(PageError::Timeout { url: url.to_string(), limit }),
        }
    }

    async fn exchange(&self, url: &Url, max_bytes: u64) -> Result<Response, PageError> {
        let mut response = self.client.get(url.clone()).send().await.map_err(|err| self.failure(url, &err))?;
        let status = response.status().as_u16();
        let header = |name: reqwest::header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        let location = header(reqwest::header::LOCATION);
        let content_type = header(reqwest::header::CONTENT_TYPE);
        if (300..400).contains(&status) {
            // A redirect's body is not needed; dropping it closes the connection.
            return Ok(Response { status, location, content_type, body: Bytes::new() });
        }
        let too_large = |read| PageError::TooLarge { url: url.to_string(), limit: max_bytes, read };
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(too_large(0));
        }
        // Streamed chunk by chunk: a huge body is abandoned at the limit,
        // never buffered whole.
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| self.failure(url, &err))? {
            let read = body.len() as u64 + chunk.len() as u64;
            if read > max_bytes {
                return Err(too_large(read));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, location, content_type, body: body.freeze() })
    }

    /// A transport error as a page error; a refusal by the resolver is
    /// reported as the refusal it is.
    fn failure(&self, url: &Url, err: &reqwest::Error) -> PageError {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
        let mut reasons = Vec::new();
        while let Some(current) = source {
            if let Some(refused) = current.downcast_ref::<Refused>() {
                return PageError::Refused { url: url.to_string(), refused: refused.clone() };
            }
            reasons.push(current.to_string());
            source = current.source();
        }
        reasons.dedup();
        PageError::Network { url: url.to_string(), reason: reasons.join(": ") }
    }
}
