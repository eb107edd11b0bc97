use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_provider::{FakeConfig, FakeProvider};
use providers::{CallOptions, KeySource, Progress, ProviderClient, ProviderConfig, RetryPolicy, StaticKey};
use secrets::Secret;

pub const KEY: &str = "sk-test-key-0123456789";

/// A fake provider that only accepts [`KEY`].
pub async fn fake() -> FakeProvider {
    FakeProvider::start(FakeConfig { expected_key: Some(KEY.to_owned()), ..FakeConfig::default() }).await.unwrap()
}

/// `preset` pointed at the fake, with retry waits and timeouts short enough
/// for tests (`Retry-After` is still honoured in full).
pub fn config(preset: ProviderConfig, fake: &FakeProvider) -> ProviderConfig {
    let mut config = preset.with_base_url(fake.base_url());
    config.retry = RetryPolicy::new(3, Duration::from_millis(20));
    config.request_timeout = Duration::from_secs(10);
    config.stream_idle_timeout = Duration::from_secs(10);
    config
}

pub fn client_with(config: ProviderConfig, keys: impl KeySource) -> ProviderClient {
    ProviderClient::new(config, Arc::new(keys)).unwrap()
}

pub fn client(preset: ProviderConfig, fake: &FakeProvider) -> ProviderClient {
    client_with(config(preset, fake), StaticKey::new(Secret::new(KEY)))
}

/// Collects the progress events of a call.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Progress>>>);

impl Recorder {
    pub fn options(&self) -> CallOptions {
        let events = self.0.clone();
        CallOptions::new().on_progress(move |p| events.lock().unwrap().push(p.clone()))
    }

    pub fn events(&self) -> Vec<Progress> {
        self.0.lock().unwrap().clone()
    }
}
