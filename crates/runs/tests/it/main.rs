//! The run engine against the real fake provider on loopback and real SQLite
//! files in temp dirs.

// Tests may unwrap, helpers included (clippy's allow-unwrap-in-tests covers only #[test] fns).
#![allow(clippy::unwrap_used)]

mod batch;
mod cache;
mod checks;
mod crash;
mod engine;
mod live;
mod quota;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_provider::{FakeConfig, FakeProvider};
use local_data::{ImportOptions, ModelTarget, RequestStatus, Store};
use providers::{Keyless, ProviderClient, ProviderConfig, RetryPolicy};
use records::Format;

pub const PROVIDER: &str = "fake";
pub const DEADLINE: Duration = Duration::from_secs(30);

pub async fn fake() -> FakeProvider {
    FakeProvider::start(FakeConfig::default()).await.unwrap()
}

/// A client for the fake provider at `base_url`, with test-short backoff.
pub fn client(base_url: &str) -> ProviderClient {
    client_as(PROVIDER, base_url)
}

/// [`client`] under another provider id (`openai` has list prices).
pub fn client_as(provider: &str, base_url: &str) -> ProviderClient {
    let mut config = ProviderConfig::openai_compatible(provider, base_url);
    config.retry = RetryPolicy::new(3, Duration::from_millis(20));
    config.request_timeout = Duration::from_secs(20);
    config.connect_timeout = Duration::from_secs(2);
    ProviderClient::new(config, Arc::new(Keyless)).unwrap()
}

/// A store at `path` with a dataset whose records render to `prompts`, one
/// approved request each. Returns the dataset id.
pub fn approved_requests(path: &Path, prompts: &[String]) -> i64 {
    approved_requests_in(path, "prompts", prompts)
}

/// [`approved_requests`] in a dataset (and template) called `name`.
pub fn approved_requests_in(path: &Path, name: &str, prompts: &[String]) -> i64 {
    approved_requests_for(path, name, PROVIDER, prompts)
}

/// [`approved_requests_in`] for `provider`'s gpt-4o-mini.
pub fn approved_requests_for(path: &Path, name: &str, provider: &str, prompts: &[String]) -> i64 {
    let mut store = Store::open(path).unwrap();
    let mut jsonl = String::new();
    for prompt in prompts {
        jsonl.push_str(&serde_json::json!({ "prompt": prompt }).to_string());
        jsonl.push('\n');
    }
    let dataset = store.import(jsonl.as_bytes(), &ImportOptions::new(name, Format::JsonLines), |_| {}).unwrap();
    let template_name = if name == "prompts" { "as is".to_owned() } else { format!("{name} as is") };
    let template = store.create_template(&template_name, "{{ prompt }}").unwrap();
    store.generate_requests(dataset.id, template.current.id, &[ModelTarget::new(provider, "gpt-4o-mini")]).unwrap();
    store.set_all_request_status(dataset.id, None, RequestStatus::Pending, RequestStatus::Approved).unwrap();
    dataset.id
}

/// Starts a run of the dataset's approved requests with `options` and
/// waits (within [`DEADLINE`]) until it stops, its events drained.
pub async fn run(engine: &runs::Engine, dataset: i64, options: runs::RunOptions) -> local_data::RunProgress {
    let mut handle = engine.start_with(dataset, None, options).await.unwrap();
    let drain = async {
        while handle.events.recv().await.is_some() {}
        handle.wait().await
    };
    tokio::time::timeout(DEADLINE, drain).await.expect("the run finished in time").unwrap()
}

/// Polls `condition` until it holds or `DEADLINE` passes.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
