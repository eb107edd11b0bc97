//! The collector against a real loopback site (`site/mod.rs`): each test
//! checks one behaviour by what the site did or did not receive.

mod site;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use collector::{CollectOptions, Collector, Journal, Lookup, LookupFuture, PageRecord, Source, Summary};
use site::Site;
use tokio_util::sync::CancellationToken;

/// The most any crawl here may take; every test finishes far sooner unless
/// the behaviour it checks is missing.
const DEADLINE: Duration = Duration::from_secs(30);

/// Options allowing exactly the site's address and port.
fn options(site: &Site) -> CollectOptions {
    CollectOptions {
        per_host_rps: 200.0,
        allow: vec![format!("127.0.0.1:{}", site.port).parse().expect("allowance")],
        ..CollectOptions::default()
    }
}

/// Crawls to the end into a fresh journal; returns the summary and the journal's pages.
async fn crawl(options: CollectOptions, source: Source) -> (Summary, Vec<PageRecord>) {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("crawl.jsonl");
    let collector = Collector::new(options).expect("collector");
    let summary = tokio::time::timeout(DEADLINE, async {
        let seeds = collector.seeds(&source).await.expect("seeds");
        let (mut journal, done) = Journal::open(&path).expect("journal");
        collector.collect(seeds, &mut journal, &done, &CancellationToken::new(), |_, _| {}).await.expect("crawl")
    })
    .await
    .expect("the crawl finished before the deadline");
    let (_, pages) = Journal::open(&path).expect("journal");
    (summary, pages)
}

fn page<'a>(pages: &'a [PageRecord], url: &str) -> &'a PageRecord {
    // Records hold URLs as the url crate writes them (an IPv4-mapped address in hex).
    let url = url::Url::parse(url).map(String::from).unwrap_or_else(|_| url.to_owned());
    pages.iter().find(|p| p.url == url).unwrap_or_else(|| panic!("no record for {url}: {pages:#?}"))
}

fn urls(site: &Site, paths: &[&str]) -> Source {
    Source::Urls(paths.iter().map(|p| site.url(p)).collect())
}

#[tokio::test]
async fn robots_txt_keeps_disallowed_paths_unfetched() {
    let site = Site::start().await;
    let (_, pages) = crawl(CollectOptions { max_depth: 1, ..options(&site) }, urls(&site, &["/"])).await;

    let private = page(&pages, &site.url("/private/secret"));
    assert_eq!(private.error_code.as_deref(), Some("robots_disallowed"), "{private:?}");
    assert!(
        !site.paths().iter().any(|p| p.starts_with("/private/")),
        "robots.txt disallows /private/, yet the site saw {:?}",
        site.paths()
    );
    assert_eq!(site.requests_for("/robots.txt"), 1, "robots.txt is read once per site");
    assert!(page(&pages, &site.url("/article/tides")).error.is_none(), "allowed pages are collected");
    assert!(
        site.log().iter().all(|s| s.user_agent.starts_with("Augment-It-Collector/")),
        "every request names the collector: {:?}",
        site.log().iter().map(|s| &s.user_agent).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn rules_for_our_token_keep_the_whole_site_out() {
    // robots.txt rules for our token: everything off limits.
    let site = Site::with_robots("User-agent: Augment-It-Collector\nDisallow: /\n").await;
    let (_, pages) = crawl(options(&site), urls(&site, &["/article/a"])).await;
    assert_eq!(page(&pages, &site.url("/article/a")).error_code.as_deref(), Some("robots_disallowed"));
    assert_eq!(site.paths(), ["/robots.txt"], "only robots.txt was asked for");
}

#[tokio::test]
async fn a_redirect_loop_is_a_clear_error_and_the_crawl_goes_on() {
    let site = Site::start().await;
    let (summary, pages) = crawl(options(&site), urls(&site, &["/loop/1", "/article/after"])).await;

    let looped = page(&pages, &site.url("/loop/1"));
    assert_eq!(looped.error_code.as_deref(), Some("redirect_loop"), "{looped:?}");
    let message = looped.error.as_deref().unwrap_or_default();
    assert!(message.contains("redirect loop") && message.contains("/loop/1"), "{message}");
    assert_eq!(site.requests_for("/loop/1"), 1, "the loop is seen when it comes back, not after the hop limit");
    assert_eq!(site.requests_for("/loop/2"), 1);

    let after = page(&pages, &site.url("/article/after"));
    assert_eq!(after.title.as_deref(), Some("after"), "the crawl continued (og:title is the title): {after:?}");
    assert_eq!((summary.fetched, summary.failed), (2, 1));
}

#[tokio::test]
async fn a_50_mib_page_is_abandoned_at_the_size_limit() {
    let site = Site::start().await;
    let limit = 1024 * 1024;
    let (_, pages) =
        crawl(CollectOptions { max_bytes: limit, ..options(&site) }, urls(&site, &["/huge", "/article/after"])).await;

    let huge = page(&pages, &site.url("/huge"));
    assert_eq!(huge.error_code.as_deref(), Some("too_large"), "{huge:?}");
    assert!(
        huge.bytes > limit && huge.bytes <= limit + 64 * 1024,
        "read {} bytes for a {limit}-byte limit",
        huge.bytes
    );
    assert!(huge.content.is_none());
    // The site stops producing when the connection is gone.
    wait_for(|| site.huge_ended()).await;
    let sent = site.huge_sent();
    assert!(
        sent < 16 * 1024 * 1024,
        "the site handed over {sent} of {} bytes: the body was not abandoned at the limit",
        site::HUGE_BYTES
    );
    assert!(page(&pages, &site.url("/article/after")).error.is_none(), "the crawl continued");
}

#[tokio::test]
async fn a_trickling_page_hits_the_time_limit() {
    let site = Site::start().await;
    let options = CollectOptions { timeout: Duration::from_millis(800), ..options(&site) };
    let (_, pages) = crawl(options, urls(&site, &["/slow", "/article/after"])).await;

    let slow = page(&pages, &site.url("/slow"));
    assert_eq!(slow.error_code.as_deref(), Some("timeout"), "{slow:?}");
    assert!(slow.error.as_deref().unwrap_or_default().contains("--timeout"), "the error says what to do");
    assert!(page(&pages, &site.url("/article/after")).error.is_none(), "the crawl continued");
}

/// A DNS that answers from a table: names of the test's choosing that
/// resolve to private addresses, without touching the system's resolver.
#[derive(Debug)]
struct TableLookup(HashMap<&'static str, IpAddr>);

impl Lookup for TableLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let answer = self.0.get(host).copied();
        let host = host.to_owned();
        Box::pin(async move {
            answer
                .map(|ip| vec![ip])
                .ok_or_else(|| std::io::Error::other(format!("{host}: no such name in the test's DNS")))
        })
    }
}

#[tokio::test]
async fn private_addresses_are_refused_before_any_connection() {
    let site = Site::start().await;
    let other = Site::start().await;
    let lookup = TableLookup(HashMap::from([
        ("metadata.test", "169.254.169.254".parse().expect("ip")),
        ("rebind.test", "10.255.255.1".parse().expect("ip")),
        ("fixture.test", "127.0.0.1".parse().expect("ip")),
    ]));
    let refused = [
        "http://10.255.255.1/".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://[fe80::1]/".to_owned(),
        "http://[::ffff:10.255.255.1]/".to_owned(),
        "http://metadata.test/latest/meta-data/".to_owned(),
        "http://rebind.test/".to_owned(),
        // Loopback, but not the allowed port: another site on this machine.
        other.url("/article/x"),
    ];
    let allowed_by_name = format!("http://fixture.test:{}/article/by-name", site.port);
    let mut seeds: Vec<String> = refused.to_vec();
    seeds.push(site.url("/to-metadata"));
    seeds.push(allowed_by_name.clone());
    let options = CollectOptions { lookup: Arc::new(lookup), ..options(&site) };
    let (_, pages) = crawl(options, Source::Urls(seeds)).await;

    for url in &refused {
        let page = page(&pages, url);
        assert_eq!(page.error_code.as_deref(), Some("refused_address"), "{page:?}");
        assert!(page.status.is_none(), "no answer can exist for a refused address: {page:?}");
    }
    let redirected = page(&pages, &site.url("/to-metadata"));
    assert_eq!(redirected.error_code.as_deref(), Some("refused_address"), "a redirect to it too: {redirected:?}");
    assert!(redirected.error.as_deref().unwrap_or_default().contains("169.254.169.254"));
    assert!(other.log().is_empty(), "the other loopback site saw {:?}", other.paths());
    assert!(page(&pages, &allowed_by_name).error.is_none(), "the allowed address is reached by name too");
}

#[tokio::test]
async fn links_are_followed_to_the_depth_asked_only() {
    let site = Site::start().await;
    let (_, pages) = crawl(CollectOptions { max_depth: 2, ..options(&site) }, urls(&site, &["/deep/0"])).await;
    let fetched: Vec<String> = site.paths().into_iter().filter(|p| p.starts_with("/deep/")).collect();
    assert_eq!(fetched, ["/deep/0", "/deep/1", "/deep/2"]);
    assert_eq!(page(&pages, &site.url("/deep/2")).depth, 2);
    assert_eq!(pages.len(), 3);
}

#[tokio::test]
async fn links_are_followed_within_the_site_only() {
    let site = Site::start().await;
    let other = Site::start().await;
    site.link_other_site(&other);
    // Every loopback port allowed: only the same-site rule keeps the crawl home.
    let options =
        CollectOptions { max_depth: 1, allow: vec!["127.0.0.1".parse().expect("allowance")], ..options(&site) };
    let (_, pages) = crawl(options, urls(&site, &["/"])).await;

    assert!(other.log().is_empty(), "a link to another site was followed: {:?}", other.paths());
    assert!(
        site.log().iter().all(|s| s.host == format!("127.0.0.1:{}", site.port)),
        "a link to another host name was followed: {:?}",
        site.log().iter().map(|s| &s.host).collect::<Vec<_>>()
    );
    let index = page(&pages, &site.url("/"));
    assert!(index.links.contains(&other.url("/")), "the link is still recorded: {:?}", index.links);
    assert!(pages.iter().any(|p| p.url == site.url("/article/tides")), "same-site links were followed");
}

#[tokio::test]
async fn requests_to_a_site_keep_to_its_rate() {
    let site = Site::start().await;
    let rate = 10.0;
    let options =
        CollectOptions { per_host_rps: rate, concurrency: 8, per_host_concurrency: 8, max_depth: 1, ..options(&site) };
    crawl(options, urls(&site, &["/list/24"])).await;
    let times: Vec<_> = site.log().iter().map(|s| s.at).collect();
    assert_eq!(times.len(), 26, "robots.txt, the list and 24 pages");
    // GCRA with a burst of 1: at most rate × 1 s (+1 for the window's edge) in any one-second window.
    let bound = rate as usize + 1;
    for (i, start) in times.iter().enumerate() {
        let in_window = times[i..].iter().filter(|t| t.duration_since(*start) < Duration::from_secs(1)).count();
        assert!(in_window <= bound, "{in_window} requests within one second from request {i} (bound {bound})");
    }
}

#[tokio::test]
async fn a_site_waiting_on_its_pace_does_not_hold_up_another() {
    let busy = Site::start().await;
    let quiet = Site::start().await;
    let mut seeds: Vec<String> = (0..8).map(|n| busy.url(&format!("/page/{n}"))).collect();
    seeds.push(quiet.url("/page/0"));
    let options = CollectOptions {
        per_host_rps: 5.0,
        concurrency: 2,
        per_host_concurrency: 2,
        allow: vec!["127.0.0.1".parse().expect("allowance")],
        ..CollectOptions::default()
    };
    crawl(options, Source::Urls(seeds)).await;
    let quiet_page = quiet.log().iter().find(|s| s.path == "/page/0").map(|s| s.at).expect("the quiet site's page");
    let busy_pages: Vec<_> = busy.log().iter().filter(|s| s.path.starts_with("/page/")).map(|s| s.at).collect();
    assert_eq!(busy_pages.len(), 8);
    // Listed last, but its site was free: it goes before the busy site's third page, not after its eighth.
    assert!(quiet_page < busy_pages[2], "the quiet site waited behind the busy one");
}

#[tokio::test]
async fn an_interrupted_crawl_resumes_without_refetching_or_duplicating() {
    let site = Site::start().await;
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join("crawl.jsonl");
    let options = CollectOptions { max_depth: 5, concurrency: 1, ..options(&site) };
    let seeds = vec![url::Url::parse(&site.url("/deep/0")).expect("url")];

    // First run: stopped after two pages.
    let collector = Collector::new(options.clone()).expect("collector");
    let cancel = CancellationToken::new();
    let (mut journal, done) = Journal::open(&path).expect("journal");
    let first = collector
        .collect(seeds.clone(), &mut journal, &done, &cancel, |_, summary| {
            if summary.fetched == 2 {
                cancel.cancel();
            }
        })
        .await
        .expect("first run");
    assert!(first.interrupted);
    assert_eq!(first.fetched, 2);
    drop(journal);
    // A crash in the middle of a write leaves a torn last line.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, br#"{"url":"http://torn"#))
        .expect("tear the journal");

    // Second run: the same command again.
    let collector = Collector::new(options).expect("collector");
    let (mut journal, done) = Journal::open(&path).expect("journal");
    assert_eq!(done.len(), 2, "the torn line is dropped, the two pages kept");
    let second = tokio::time::timeout(
        DEADLINE,
        collector.collect(seeds, &mut journal, &done, &CancellationToken::new(), |_, _| {}),
    )
    .await
    .expect("deadline")
    .expect("second run");
    assert_eq!((second.resumed, second.fetched, second.interrupted), (2, 4, false));

    let (_, pages) = Journal::open(&path).expect("journal");
    let mut urls: Vec<&str> = pages.iter().map(|p| p.url.as_str()).collect();
    urls.sort_unstable();
    urls.dedup();
    assert_eq!(urls.len(), 6, "/deep/0 … /deep/5, each once: {urls:?}");
    assert_eq!(pages.len(), 6, "no duplicate records");
    for n in 0..=5 {
        assert_eq!(site.requests_for(&format!("/deep/{n}")), 1, "/deep/{n} fetched once over both runs");
    }
    assert_eq!(site.requests_for("/deep/6"), 0, "depth 5 is the limit");
}

#[tokio::test]
async fn a_sitemap_index_gives_the_pages() {
    let site = Site::start().await;
    let (_, pages) = crawl(options(&site), Source::Sitemap(site.url("/sitemap-index.xml"))).await;
    let mut titles: Vec<_> = pages.iter().filter_map(|p| p.title.clone()).collect();
    titles.sort();
    assert_eq!(titles, ["Page 0", "Page 1", "Page 2"]);
    assert!(page(&pages, &site.url("/page/1?from=sitemap&n=1")).content.as_deref().unwrap_or("").contains("page 1"));
}

/// Waits for `condition`, failing after the deadline.
/// A page in the charset its Content-Type declares keeps its accented text.
#[tokio::test]
async fn a_page_is_read_in_its_declared_charset() {
    let site = Site::start().await;
    let (_, pages) = crawl(options(&site), urls(&site, &["/latin1"])).await;
    let latin1 = page(&pages, &site.url("/latin1"));
    assert_eq!(latin1.title.as_deref(), Some("Café crème"), "{latin1:?}");
    let content = latin1.content.as_deref().unwrap_or_default();
    assert!(content.contains("crème brûlée") && !content.contains('\u{fffd}'), "{content}");
}

async fn wait_for(condition: impl Fn() -> bool) {
    let start = tokio::time::Instant::now();
    while !condition() {
        assert!(start.elapsed() < DEADLINE, "the condition did not come true in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
