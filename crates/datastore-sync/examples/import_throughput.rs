//! Import throughput (issue 19: ≤ 1.2× a plain HTTP loop): ROWS rows from
//! the fake NocoDB and the fake Airtable, against a plain reqwest loop
//! fetching the same pages, with the same page size, paced by the same quota,
//! against the same fake with the same rate limit, and parsing each page's
//! JSON. Two measures of the import:
//!
//! - the whole import as the app and the CLI run it ([`datastore_sync::import`]:
//!   every page fetched, mapped and spooled to a temporary JSON Lines file,
//!   then stored as a dataset in a real SQLite store in one transaction);
//! - its network part alone: [`Connector::pages`], each row mapped
//!   ([`Mapping::record`]) and serialised as a JSON line in memory.
//!
//! Two settings per service: paced (NocoDB at its documented 5 requests/s;
//! Airtable at `AIRTABLE_RPS`, 50 by default, since its documented 5/s per
//! base makes 1,000 pages take 200 s per loop: the pace, not the client,
//! would be measured either way) and unpaced (no limit in the fake or either
//! loop: the client's own cost).
//!
//! `cargo run --release -p datastore-sync --example import_throughput -- [ROWS] [AIRTABLE_RPS]`

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use datastores::mapping::{Mapping, infer_columns};
use datastores::{Connector, Credential, Secret, Source, airtable, nocodb};
use fake_datastores::airtable::{FakeAirtable, Table as AirtableTable};
use fake_datastores::nocodb::{FakeNocodb, Table as NocodbTable};
use fake_datastores::{Request, Served};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use local_data::Store;
use serde_json::Value;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const TOKEN: &str = "bench-token";
const BASE: &str = "appBENCH000000001";
const TABLE: &str = "tblBENCH000000001";
/// A pace no loop reaches on loopback: "unpaced".
const UNPACED: NonZeroU32 = NonZeroU32::new(1_000_000).unwrap();
/// How long the fakes tell a client to wait after a 429.
const RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug)]
enum Service {
    Nocodb,
    Airtable,
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let airtable_rps: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(50);
    let airtable_rps = NonZeroU32::new(airtable_rps).ok_or("AIRTABLE_RPS must be at least 1")?;
    println!(
        "| source | pace (fake's limit = all loops' pace) | rows | requests (plain loop) | plain reqwest loop | whole import into SQLite | ratio (goal ≤ 1.2×) | Connector::pages + mapping + JSON Lines | its ratio | 429s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (service, pace) in [
        (Service::Nocodb, Some(nocodb::REQUESTS_PER_SECOND)),
        (Service::Airtable, Some(airtable_rps)),
        (Service::Nocodb, None),
        (Service::Airtable, None),
    ] {
        // Unpaced rounds are short: take the median of 5, alternating which goes first.
        let rounds = if pace.is_some() { 1 } else { 5 };
        let mut plain = Vec::new();
        let mut whole = Vec::new();
        let mut pages = Vec::new();
        let mut requests = 0;
        let mut limited = 0;
        for round in 0..rounds {
            // Each loop gets a fresh fake; the order turns round by round.
            for which in 0..3 {
                let (fake, served) = start(service, rows, pace).await?;
                match (which + round) % 3 {
                    0 => {
                        plain.push(plain_loop(service, &served, pace, rows).await?);
                        requests = fake.requests().len();
                    }
                    1 => whole.push(whole_import(service, &served, pace, rows).await?),
                    _ => pages.push(connector_pages(service, &served, pace, rows).await?),
                }
                limited += fake.requests().iter().filter(|r| r.status == 429).count();
            }
        }
        let (plain, whole, pages) = (median(&mut plain), median(&mut whole), median(&mut pages));
        println!(
            "| {} | {} | {rows} | {requests} | {:.2} s | {:.2} s | {:.2}× | {:.2} s | {:.2}× | {limited} |",
            match service {
                Service::Nocodb => "fake NocoDB (1,000 a page)",
                Service::Airtable => "fake Airtable (100 a page)",
            },
            pace.map_or("unpaced".to_owned(), |p| format!("{p} req/s")),
            plain.as_secs_f64(),
            whole.as_secs_f64(),
            whole.as_secs_f64() / plain.as_secs_f64(),
            pages.as_secs_f64(),
            pages.as_secs_f64() / plain.as_secs_f64(),
        );
    }
    Ok(())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// A fresh fake holding `rows` rows, limited to `pace` (Retry-After 1 s).
async fn start(service: Service, rows: usize, pace: Option<NonZeroU32>) -> Result<(Fake, Served)> {
    Ok(match service {
        Service::Nocodb => {
            let mut fake = FakeNocodb::new(TOKEN).with_table(NocodbTable::mixed(TABLE, rows));
            if let Some(pace) = pace {
                fake = fake.with_rate_limit(pace, RETRY_AFTER);
            }
            let served = fake.serve().await?;
            (Fake::Nocodb(fake), served)
        }
        Service::Airtable => {
            let mut fake = FakeAirtable::new(BASE, TOKEN).with_table(AirtableTable::mixed(TABLE, "Bench", rows));
            if let Some(pace) = pace {
                fake = fake.with_rate_limit(pace, Some(RETRY_AFTER));
            }
            let served = fake.serve().await?;
            (Fake::Airtable(fake), served)
        }
    })
}

enum Fake {
    Nocodb(FakeNocodb),
    Airtable(FakeAirtable),
}

impl Fake {
    fn requests(&self) -> Vec<Request> {
        match self {
            Fake::Nocodb(f) => f.requests(),
            Fake::Airtable(f) => f.requests(),
        }
    }
}

/// The connector for the fake, at `pace`, and the mapping the preview would
/// offer (every column kept), made before timing.
async fn connector(
    service: Service,
    served: &Served,
    pace: Option<NonZeroU32>,
) -> Result<(Connector, Source, Mapping)> {
    let pace = pace.unwrap_or(UNPACED);
    let credential = Credential(Secret::new(TOKEN));
    let (connector, source) = match service {
        Service::Nocodb => {
            let table = nocodb::Table {
                base_url: served.url().parse()?,
                table_id: TABLE.into(),
                view_id: None,
                token_kind: nocodb::TokenKind::XcToken,
                key_column: None,
            };
            let client = nocodb::Client::new(table.clone(), credential)?.with_rate_limit(pace);
            (Connector::Nocodb(client), Source::Nocodb(table))
        }
        Service::Airtable => {
            let table = airtable::Table {
                api_url: served.url().parse()?,
                base_id: BASE.into(),
                table: TABLE.into(),
                view: None,
            };
            let client = airtable::Client::new(table.clone(), credential)?.with_rate_limit(pace);
            (Connector::Airtable(client), Source::Airtable(table))
        }
    };
    let described = connector.columns().await?;
    let first = connector.page(None).await?;
    let mapping = Mapping::keep_all(&infer_columns(&first.rows, &described), "source_key");
    // Every loop starts with the pace's budget full.
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok((connector, source, mapping))
}

/// The whole import, as the app and the CLI run it, into a fresh SQLite store.
async fn whole_import(service: Service, served: &Served, pace: Option<NonZeroU32>, rows: usize) -> Result<Duration> {
    let (connector, source, mapping) = connector(service, served, pace).await?;
    let folder = tempfile::tempdir()?;
    let mut store = Store::open(folder.path().join("local.db"))?;
    let start = Instant::now();
    let dataset = datastore_sync::import(&connector, &mapping, &mut store, "bench", "bench", &source, |_| {}).await?;
    let elapsed = start.elapsed();
    if dataset.row_count != rows as u64 {
        return Err(format!("the import stored {} rows of {rows}", dataset.row_count).into());
    }
    Ok(elapsed)
}

/// The network part of an import: every page through the connector, each row
/// mapped and written as a JSON line (to memory).
async fn connector_pages(service: Service, served: &Served, pace: Option<NonZeroU32>, rows: usize) -> Result<Duration> {
    let (connector, _, mapping) = connector(service, served, pace).await?;
    let start = Instant::now();
    let mut lines = Vec::with_capacity(1 << 20);
    let mut stored = 0usize;
    connector
        .pages(|page| {
            lines.clear();
            for row in &page {
                serde_json::to_writer(&mut lines, &mapping.record(row))?;
                lines.push(b'\n');
            }
            stored += page.len();
            Ok::<_, serde_json::Error>(())
        })
        .await?;
    let elapsed = start.elapsed();
    if stored != rows {
        return Err(format!("the connector imported {stored} rows of {rows}").into());
    }
    Ok(elapsed)
}

/// The baseline: the same pages fetched with reqwest, paced by the same quota
/// as the connector (one request per 1/rate s, no burst), each page parsed to find the rows and the next page;
/// 429 waited out after Retry-After as the connector does.
async fn plain_loop(service: Service, served: &Served, pace: Option<NonZeroU32>, rows: usize) -> Result<Duration> {
    let pace = pace.unwrap_or(UNPACED);
    let limiter: DefaultDirectRateLimiter = RateLimiter::direct(
        Quota::with_period(Duration::from_secs(1) / pace.get())
            .map_or_else(|| Quota::per_second(pace), |q| q.allow_burst(NonZeroU32::MIN)),
    );
    let http = reqwest::Client::new();
    let base = served.url();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let start = Instant::now();
    let mut fetched = 0usize;
    let mut offset = 0usize;
    let mut token: Option<String> = None;
    loop {
        let request = match service {
            Service::Nocodb => http
                .get(format!("{base}/api/v2/tables/{TABLE}/records"))
                .query(&[("offset", offset), ("limit", 1000)])
                .header("xc-token", TOKEN),
            Service::Airtable => {
                let mut r = http.get(format!("{base}/v0/{BASE}/{TABLE}")).query(&[("pageSize", "100")]);
                if let Some(t) = &token {
                    r = r.query(&[("offset", t)]);
                }
                r.header("Authorization", format!("Bearer {TOKEN}"))
            }
        };
        limiter.until_ready().await;
        let response = request.send().await?;
        if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            tokio::time::sleep(RETRY_AFTER).await;
            continue;
        }
        let page: Value = response.error_for_status()?.json().await?;
        match service {
            Service::Nocodb => {
                let received = page["list"].as_array().map_or(0, Vec::len);
                fetched += received;
                offset += received;
                if received == 0 || page["pageInfo"]["isLastPage"] == Value::Bool(true) {
                    break;
                }
            }
            Service::Airtable => {
                fetched += page["records"].as_array().map_or(0, Vec::len);
                match page["offset"].as_str() {
                    Some(next) => token = Some(next.to_owned()),
                    None => break,
                }
            }
        }
    }
    let elapsed = start.elapsed();
    if fetched != rows {
        return Err(format!("the plain loop fetched {fetched} rows of {rows}").into());
    }
    Ok(elapsed)
}
