//! The crawl: seeds (a URL list or a sitemap) fetched through the guarded
//! client, each site's robots.txt obeyed and its requests paced, links
//! followed within the site to a depth, each page appended to the journal as
//! it finishes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OnceCell, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::address::{AddressPolicy, Allowance};
use crate::error::{CollectError, PageError};
use crate::extract::extract;
use crate::http::{GuardedHttp, Lookup, Response, SystemLookup};
use crate::journal::Journal;
use crate::record::PageRecord;
use crate::robots::{MAX_ROBOTS_BYTES, Robots};
use crate::sitemap::{MAX_SITEMAP_BYTES, Sitemap};

/// The name robots.txt rules are matched against.
pub const PRODUCT_TOKEN: &str = "Augment-It-Collector";

/// What the collector says it is in every request.
pub const USER_AGENT: &str =
    concat!("Augment-It-Collector/", env!("CARGO_PKG_VERSION"), " (+https://augment-it.example/collector)");

/// The longest Crawl-delay obeyed; a site asking for more is paced at this.
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

/// Nested sitemap indexes read at most this deep.
const MAX_SITEMAP_NESTING: u32 = 2;

/// Where the crawl starts.
#[derive(Debug, Clone)]
pub enum Source {
    Urls(Vec<String>),
    /// A sitemap or sitemap index.
    Sitemap(String),
}

/// How politely and how far to crawl.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Links followed from a seed: 0 collects only the seeds.
    pub max_depth: u32,
    /// Requests per second to one site (robots.txt's Crawl-delay may slow it further).
    pub per_host_rps: f64,
    /// Pages fetched at once, all sites together.
    pub concurrency: usize,
    /// Requests in flight to one site.
    pub per_host_concurrency: usize,
    /// The most of one body that is read.
    pub max_bytes: u64,
    /// The most one request (answer and body) may take.
    pub timeout: Duration,
    pub max_redirects: u32,
    /// Stop once the journal holds this many pages.
    pub max_pages: Option<u64>,
    /// Non-public addresses the person allows.
    pub allow: Vec<Allowance>,
    pub user_agent: String,
    /// The DNS resolver (the system's unless a test gives another).
    pub lookup: Arc<dyn Lookup>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            max_depth: 0,
            per_host_rps: 1.0,
            concurrency: 4,
            per_host_concurrency: 2,
            max_bytes: 5 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            max_redirects: 10,
            max_pages: None,
            allow: Vec::new(),
            user_agent: USER_AGENT.to_owned(),
            lookup: Arc::new(SystemLookup),
        }
    }
}

/// The pages waiting, one queue per site, handed out round-robin to sites
/// with a free slot: a site's queue waiting on its pace never holds the
/// crawl's slots while other sites have work.
#[derive(Debug, Default)]
struct Frontier {
    queues: HashMap<String, VecDeque<(Url, u32)>>,
    /// Sites with queued pages, in turn order.
    turns: VecDeque<String>,
    running: HashMap<String, usize>,
    waiting: usize,
}

impl Frontier {
    fn push(&mut self, url: Url, depth: u32) {
        let key = site_key(&url);
        let queue = self.queues.entry(key.clone()).or_default();
        if queue.is_empty() {
            self.turns.push_back(key);
        }
        queue.push_back((url, depth));
        self.waiting += 1;
    }

    /// The next page of a site with fewer than `per_site` pages in flight.
    fn next(&mut self, per_site: usize) -> Option<(String, Url, u32)> {
        for _ in 0..self.turns.len() {
            let key = self.turns.pop_front()?;
            let running = self.running.get(&key).copied().unwrap_or(0);
            let Some(queue) = self.queues.get_mut(&key) else { continue };
            if running >= per_site {
                self.turns.push_back(key);
                continue;
            }
            let Some((url, depth)) = queue.pop_front() else { continue };
            if !queue.is_empty() {
                self.turns.push_back(key.clone());
            }
            self.waiting -= 1;
            *self.running.entry(key.clone()).or_default() += 1;
            return Some((key, url, depth));
        }
        None
    }

    fn finished(&mut self, key: &str) {
        if let Some(running) = self.running.get_mut(key) {
            *running = running.saturating_sub(1);
        }
    }

    fn len(&self) -> usize {
        self.waiting
    }
}

/// How a crawl went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Pages fetched by this run (failed ones included).
    pub fetched: u64,
    /// Of those, pages that failed (their records say why).
    pub failed: u64,
    /// Pages already in the journal from an earlier run, not fetched again.
    pub resumed: u64,
    /// Pages waiting when the crawl stopped (0 when it finished).
    pub pending: u64,
    /// Stopped by the caller before the end.
    pub interrupted: bool,
}

/// The crawler. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Collector {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: GuardedHttp,
    options: CollectOptions,
    sites: Mutex<HashMap<String, Arc<OnceCell<Arc<Site>>>>>,
}

/// What is known about one site (scheme, host and port).
#[derive(Debug)]
struct Site {
    robots: Robots,
    pacing: DefaultDirectRateLimiter,
    slots: Semaphore,
}

impl Collector {
    pub fn new(options: CollectOptions) -> Result<Collector, CollectError> {
        if !(options.per_host_rps.is_finite() && options.per_host_rps > 0.0) {
            return Err(CollectError::Options(
                "the per-host rate must be a number of requests per second above 0".into(),
            ));
        }
        if options.concurrency == 0 || options.per_host_concurrency == 0 {
            return Err(CollectError::Options("concurrency must be at least 1".into()));
        }
        let http = GuardedHttp::new(
            &options.user_agent,
            AddressPolicy::new(options.allow.clone()),
            options.lookup.clone(),
            options.timeout,
        )
        .map_err(|err| CollectError::Client(err.to_string()))?;
        Ok(Collector { inner: Arc::new(Inner { http, options, sites: Mutex::new(HashMap::new()) }) })
    }

    /// The seed URLs of `source`: the list as given, or every page a sitemap
    /// (and the sitemaps an index names) lists.
    pub async fn seeds(&self, source: &Source) -> Result<Vec<Url>, CollectError> {
        match source {
            Source::Urls(urls) => urls.iter().map(|u| parse_url(u)).collect(),
            Source::Sitemap(url) => {
                let url = parse_url(url)?;
                let mut pages = Vec::new();
                self.read_sitemap(&url, 0, &mut pages).await?;
                Ok(pages)
            }
        }
    }

    async fn read_sitemap(&self, url: &Url, nesting: u32, pages: &mut Vec<Url>) -> Result<(), CollectError> {
        let failed = |reason: String| CollectError::Sitemap { url: url.to_string(), reason };
        let (_, response) = self.inner.fetch(url, MAX_SITEMAP_BYTES).await.map_err(|err| failed(err.to_string()))?;
        if !(200..300).contains(&response.status) {
            return Err(failed(format!("the server answered {}", response.status)));
        }
        match crate::sitemap::parse(&response.body).map_err(failed)? {
            Sitemap::Pages(locations) => {
                for location in locations {
                    match parse_url(&location) {
                        Ok(page) => pages.push(page),
                        Err(err) => tracing::warn!(sitemap = %url, error = %err, "skipped a sitemap entry"),
                    }
                }
            }
            Sitemap::Index(sitemaps) if nesting < MAX_SITEMAP_NESTING => {
                for sitemap in sitemaps {
                    let child = match parse_url(&sitemap) {
                        Ok(child) => child,
                        Err(err) => {
                            tracing::warn!(sitemap = %url, error = %err, "skipped a sitemap index entry");
                            continue;
                        }
                    };
                    // One unreadable sitemap of an index leaves the others usable.
                    if let Err(err) = Box::pin(self.read_sitemap(&child, nesting + 1, pages)).await {
                        tracing::warn!(error = %err, "skipped a sitemap");
                    }
                }
            }
            Sitemap::Index(_) => tracing::warn!(sitemap = %url, "sitemap indexes nested too deep; skipped"),
        }
        Ok(())
    }

    /// Crawls from `seeds`, skipping the pages `journal` already holds
    /// (`done`, as [`Journal::open`] returned them) and following their
    /// links again; appends each new page to the journal and tells
    /// `on_page`. Stops early, keeping every finished page, when `cancel` fires.
    pub async fn collect(
        &self,
        seeds: Vec<Url>,
        journal: &mut Journal,
        done: &[PageRecord],
        cancel: &CancellationToken,
        mut on_page: impl FnMut(&PageRecord, &Summary),
    ) -> Result<Summary, CollectError> {
        let options = &self.inner.options;
        let mut summary = Summary { resumed: done.len() as u64, ..Summary::default() };
        let mut seen: HashSet<String> = done.iter().map(|p| p.url.clone()).collect();
        let mut frontier = Frontier::default();
        for mut seed in seeds {
            seed.set_fragment(None);
            if seen.insert(seed.to_string()) {
                frontier.push(seed, 0);
            }
        }
        for page in done {
            self.follow_links(page, &mut seen, &mut frontier);
        }
        let mut in_journal = done.len() as u64;
        let mut running = JoinSet::new();
        loop {
            while running.len() < options.concurrency
                && options.max_pages.is_none_or(|max| in_journal + (running.len() as u64) < max)
                && let Some((key, url, depth)) = frontier.next(options.per_host_concurrency)
            {
                let inner = self.inner.clone();
                running.spawn(async move { (key, inner.page(url, depth).await) });
            }
            if running.is_empty() {
                break;
            }
            let finished = tokio::select! {
                biased;
                () = cancel.cancelled() => None,
                finished = running.join_next() => finished,
            };
            let Some(finished) = finished else {
                // Pages in flight are dropped unrecorded: the next run fetches them.
                summary.pending = (frontier.len() + running.len()) as u64;
                running.abort_all();
                summary.interrupted = true;
                break;
            };
            let (key, page) = finished.map_err(|err| CollectError::Options(format!("a page task failed: {err}")))?;
            frontier.finished(&key);
            journal.append(&page)?;
            in_journal += 1;
            summary.fetched += 1;
            summary.failed += u64::from(page.failed());
            self.follow_links(&page, &mut seen, &mut frontier);
            on_page(&page, &summary);
        }
        journal.sync()?;
        if !summary.interrupted {
            summary.pending = frontier.len() as u64;
        }
        Ok(summary)
    }

    /// Queues the page's links on its own site that were not seen yet, if
    /// the page is not at the depth limit.
    fn follow_links(&self, page: &PageRecord, seen: &mut HashSet<String>, frontier: &mut Frontier) {
        if page.depth >= self.inner.options.max_depth || page.links.is_empty() {
            return;
        }
        let Ok(from) = Url::parse(&page.url) else { return };
        for link in &page.links {
            let Ok(mut link) = Url::parse(link) else { continue };
            link.set_fragment(None);
            if same_site(&from, &link) && seen.insert(link.to_string()) {
                frontier.push(link, page.depth + 1);
            }
        }
    }
}

impl Inner {
    /// Fetches and extracts one page; a failure is the record's error.
    async fn page(self: Arc<Self>, url: Url, depth: u32) -> PageRecord {
        let mut record = PageRecord::new(url.as_str(), depth);
        match self.fetch(&url, self.options.max_bytes).await {
            Err(err) => {
                if let PageError::TooLarge { read, .. } = err {
                    record.bytes = read;
                }
                record.error_code = Some(err.code().to_owned());
                record.error = Some(err.to_string());
                tracing::info!(%url, error = %err, "page not collected");
            }
            Ok((final_url, response)) => {
                record.final_url = Some(final_url.to_string());
                record.status = Some(response.status);
                record.content_type = response.content_type.clone();
                record.bytes = response.body.len() as u64;
                if !(200..300).contains(&response.status) {
                    let err = PageError::Status { url: final_url.to_string(), status: response.status };
                    record.error_code = Some(err.code().to_owned());
                    record.error = Some(err.to_string());
                } else {
                    fill_content(&mut record, final_url, response).await;
                }
            }
        }
        record
    }

    /// GETs `url`, following redirects one checked hop at a time: each hop's
    /// address, its site's robots.txt, its site's pace.
    async fn fetch(&self, url: &Url, max_bytes: u64) -> Result<(Url, Response), PageError> {
        let mut current = url.clone();
        let mut visited = HashSet::new();
        for _ in 0..=self.options.max_redirects {
            if !matches!(current.scheme(), "http" | "https") {
                return Err(PageError::Scheme { url: current.to_string() });
            }
            if !visited.insert(current.to_string()) {
                return Err(PageError::RedirectLoop { url: url.to_string(), again: current.to_string() });
            }
            // Before robots.txt, so a refused address is never asked anything.
            self.http.check_url(&current).await?;
            let site = self.site(&current).await;
            if let Robots::Unavailable(reason) = &site.robots {
                return Err(PageError::RobotsUnavailable { url: current.to_string(), reason: reason.clone() });
            }
            if !site.robots.allows(current.as_str()) {
                return Err(PageError::DisallowedByRobots { url: current.to_string() });
            }
            let response = {
                let _slot = site.slots.acquire().await.map_err(|_| PageError::Network {
                    url: current.to_string(),
                    reason: "the crawl is stopping".into(),
                })?;
                site.pacing.until_ready().await;
                self.http.get(&current, max_bytes, self.options.timeout).await?
            };
            match redirect_target(&current, &response) {
                None => return Ok((current, response)),
                Some(Ok(next)) => current = next,
                Some(Err(reason)) => return Err(PageError::BadRedirect { url: current.to_string(), reason }),
            }
        }
        Err(PageError::TooManyRedirects { url: url.to_string(), limit: self.options.max_redirects })
    }

    /// The site of `url`, its robots.txt read on first use.
    async fn site(&self, url: &Url) -> Arc<Site> {
        let key = site_key(url);
        let cell = {
            let mut sites = self.sites.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            sites.entry(key).or_default().clone()
        };
        cell.get_or_init(|| self.open_site(url)).await.clone()
    }

    async fn open_site(&self, url: &Url) -> Arc<Site> {
        let robots = self.read_robots(url).await;
        let mut interval = Duration::from_secs_f64(1.0 / self.options.per_host_rps);
        if let Some(delay) = robots.crawl_delay().filter(|d| d.is_finite() && *d > 0.0) {
            interval = interval.max(Duration::from_secs_f32(delay).min(MAX_CRAWL_DELAY));
        }
        let quota = Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(NonZeroU32::MIN);
        let pacing = RateLimiter::direct(quota);
        // The robots.txt request just made counts against the site's pace.
        let _ = pacing.check();
        tracing::debug!(site = %site_key(url), ?interval, "site opened");
        Arc::new(Site { robots, pacing, slots: Semaphore::new(self.options.per_host_concurrency) })
    }

    /// robots.txt, following up to 5 redirects (RFC 9309), each hop checked.
    async fn read_robots(&self, url: &Url) -> Robots {
        let Ok(mut current) = url.join("/robots.txt") else { return Robots::AllowAll };
        for _ in 0..5 {
            match self.http.get(&current, MAX_ROBOTS_BYTES, self.options.timeout).await {
                Ok(response) => match redirect_target(&current, &response) {
                    None => return Robots::from_answer(PRODUCT_TOKEN, response.status, &response.body),
                    Some(Ok(next)) => current = next,
                    Some(Err(_)) => return Robots::AllowAll,
                },
                Err(err) => return Robots::Unavailable(err.to_string()),
            }
        }
        // RFC 9309: more than five redirects is "unavailable", which allows all.
        Robots::AllowAll
    }
}

/// Where a redirect goes, if `response` is one with a Location.
fn redirect_target(from: &Url, response: &Response) -> Option<Result<Url, String>> {
    if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = response.location.as_deref()?;
    Some(from.join(location.trim()).map_err(|err| format!("`{location}`: {err}")))
}

/// Extracts an HTML page (off the async threads: parsing is CPU work), or
/// keeps a text body as it is.
async fn fill_content(record: &mut PageRecord, url: Url, response: Response) {
    let mime =
        response.content_type.as_deref().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let html =
        mime == "text/html" || mime == "application/xhtml+xml" || (mime.is_empty() && sniff_html(&response.body));
    if html {
        let (body, content_type) = (response.body, response.content_type);
        let extracted = tokio::task::spawn_blocking(move || {
            extract(&crate::charset::decode(&body, content_type.as_deref(), true), &url)
        })
        .await;
        match extracted {
            Ok(page) => {
                record.title = page.title;
                record.description = page.description;
                record.canonical = page.canonical;
                record.metadata = page.metadata;
                record.content = Some(page.content);
                record.links = page.links;
            }
            Err(err) => {
                record.error_code = Some("extraction".into());
                record.error = Some(format!("{}: extracting the content failed: {err}", record.url));
            }
        }
    } else if mime.starts_with("text/") {
        record.content =
            Some(crate::charset::decode(&response.body, response.content_type.as_deref(), false).into_owned());
    }
}

fn sniff_html(body: &[u8]) -> bool {
    let start = String::from_utf8_lossy(&body[..body.len().min(512)]).trim_start().to_ascii_lowercase();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

/// Same site: same host and port (so two servers on one machine are two sites).
fn same_site(a: &Url, b: &Url) -> bool {
    a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

fn site_key(url: &Url) -> String {
    format!("{}://{}:{}", url.scheme(), url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0))
}

fn parse_url(text: &str) -> Result<Url, CollectError> {
    let text = text.trim();
    let url = Url::parse(text).map_err(|err| CollectError::BadUrl(text.to_owned(), err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(CollectError::BadUrl(text.to_owned(), "only http:// and https:// URLs are collected".into()));
    }
    Ok(url)
}
