//! The web collector: pages from a list of URLs or a sitemap, fetched
//! politely and safely, into records a dataset can hold.
//!
//! - **Polite**: a clear user agent ([`USER_AGENT`]), robots.txt obeyed
//!   (texting_robots; a 5xx or unreachable robots.txt keeps the whole site
//!   out, as RFC 9309 says), requests to one site paced by a GCRA (governor)
//!   at `per_host_rps` or the site's Crawl-delay, and a cap on requests in
//!   flight per site and overall.
//! - **Bounded**: a body is streamed and abandoned at `max_bytes`, every
//!   request has a time limit, redirects are followed one checked hop at a
//!   time with a hop limit and loop detection.
//! - **SSRF-safe** ([`address`]): loopback, link-local, private and other
//!   non-public addresses are refused unless allowed (an address, network
//!   or exact `address:port`), checked on the addresses actually connected
//!   to: IP literals before the request, names in reqwest's DNS resolver,
//!   which hands the connector only the allowed addresses; no proxy.
//! - **Resumable** ([`Journal`]): every finished page is a JSON line keyed by
//!   its URL; a new run skips those pages and follows their links again.
//! - **Extraction** ([`extract()`]): the main content by dom_smoothie, a
//!   port of Mozilla's Readability (maintained, pure Rust, builds on the
//!   html5ever the rest uses through dom_query); title, links, description,
//!   canonical and og/twitter/article metadata from the same parse.

pub mod address;
mod charset;
mod crawl;
mod error;
pub mod extract;
mod http;
mod journal;
mod record;
mod robots;
pub mod sitemap;

pub use address::{AddressPolicy, Allowance, BadAllowance, Refused};
pub use crawl::{CollectOptions, Collector, PRODUCT_TOKEN, Source, Summary, USER_AGENT};
pub use error::{CollectError, PageError};
pub use extract::{Extracted, extract};
pub use http::{Lookup, LookupFuture, SystemLookup};
pub use journal::Journal;
pub use record::PageRecord;
