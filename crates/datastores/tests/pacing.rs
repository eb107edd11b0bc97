//! The pacer against a fake that answers 429 without `Retry-After` (as
//! Airtable documents: "wait 30 seconds"): the configured wait is used, not
//! the short doubling back-off.

mod common;

use std::num::NonZeroU32;
use std::time::Duration;

use datastores::pacing::Pacer;
use fake_datastores::airtable::{FakeAirtable, Table};

// Fails if a 429 without Retry-After falls back to the 500 ms back-off
// instead of the service's documented wait (`with_default_wait`).
#[tokio::test]
async fn a_429_without_retry_after_waits_the_services_documented_time() {
    let fake = FakeAirtable::new("appP", "tok")
        .with_table(Table::mixed("tblP", "P", 3))
        .with_rate_limit(NonZeroU32::new(1).unwrap(), None);
    let served = fake.serve().await.unwrap();
    let wait = Duration::from_millis(1500);
    let pacer = Pacer::steady("airtable", NonZeroU32::new(20).unwrap()).with_default_wait(wait);
    let http = reqwest::Client::new();
    let url = format!("{}/v0/appP/tblP", served.url());
    for _ in 0..2 {
        let response = pacer.send(|| http.get(&url).bearer_auth("tok")).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    common::assert_retry_after_honoured(&fake.requests(), wait);
}
