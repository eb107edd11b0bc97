//! The collector's errors: [`PageError`] for one page (recorded, the crawl
//! goes on), [`CollectError`] for the crawl as a whole.

use std::time::Duration;

use crate::address::Refused;

/// Why one page was not collected. Stored in the page's record
/// (`error_code`, `error`), and the crawl continues with the next page.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PageError {
    #[error("{url}: {refused}")]
    Refused { url: String, refused: Refused },
    #[error("{url}: robots.txt disallows it for this collector")]
    DisallowedByRobots { url: String },
    #[error("{url}: its site's robots.txt could not be read ({reason}), so the site is not crawled (RFC 9309)")]
    RobotsUnavailable { url: String, reason: String },
    #[error("{url}: redirect loop (it redirects back to {again}); the page is skipped")]
    RedirectLoop { url: String, again: String },
    #[error("{url}: more than {limit} redirects; the page is skipped")]
    TooManyRedirects { url: String, limit: u32 },
    #[error("{url}: redirect without a usable Location ({reason})")]
    BadRedirect { url: String, reason: String },
    #[error(
        "{url}: larger than the size limit of {limit} bytes (stopped after {read} bytes); raise --max-bytes to collect it"
    )]
    TooLarge { url: String, limit: u64, read: u64 },
    #[error("{url}: no complete answer within {}s; raise --timeout to wait longer", .limit.as_secs_f64())]
    Timeout { url: String, limit: Duration },
    #[error("{url}: the server answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: only http:// and https:// pages are collected")]
    Scheme { url: String },
    #[error("{url}: {reason}")]
    Network { url: String, reason: String },
}

impl PageError {
    /// A stable code for the record's `error_code` column.
    pub fn code(&self) -> &'static str {
        match self {
            PageError::Refused { .. } => "refused_address",
            PageError::DisallowedByRobots { .. } => "robots_disallowed",
            PageError::RobotsUnavailable { .. } => "robots_unavailable",
            PageError::RedirectLoop { .. } => "redirect_loop",
            PageError::TooManyRedirects { .. } => "too_many_redirects",
            PageError::BadRedirect { .. } => "bad_redirect",
            PageError::TooLarge { .. } => "too_large",
            PageError::Timeout { .. } => "timeout",
            PageError::Status { .. } => "http_status",
            PageError::Scheme { .. } => "scheme",
            PageError::Network { .. } => "network",
        }
    }
}

/// The crawl itself could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    #[error("the sitemap {url} could not be read: {reason}")]
    Sitemap { url: String, reason: String },
    #[error("`{0}` is not an http(s) URL: {1}")]
    BadUrl(String, String),
    #[error("{0}")]
    Options(String),
    #[error("the crawl journal {path}: {source}")]
    Journal { path: String, source: std::io::Error },
    #[error("setting up the HTTP client: {0}")]
    Client(String),
}
