use std::fmt;
use std::future::Future;
use std::pin::Pin;

use secrets::{KeyStore, Secret};

use crate::Error;

/// The future returned by [`KeySource::key`].
pub type KeyFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<Secret>, Error>> + Send + 'a>>;

/// Where a client gets a provider's key, once per attempt, right before signing
/// the request. The key is dropped (and zeroed) as soon as the request is built.
pub trait KeySource: Send + Sync + 'static {
    /// The key for `provider`, or `None` if there is none.
    fn key<'a>(&'a self, provider: &'a str) -> KeyFuture<'a>;
}

/// The OS keychain (with its environment overrides): the source the app uses.
impl KeySource for KeyStore {
    fn key<'a>(&'a self, provider: &'a str) -> KeyFuture<'a> {
        let store = self.clone();
        let provider = provider.to_owned();
        Box::pin(async move {
            // Each lookup is a blocking D-Bus round trip (or Keychain call).
            match tokio::task::spawn_blocking(move || store.get(&provider)).await {
                Ok(result) => Ok(result?),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => Err(Error::Cancelled { provider: "keychain".to_owned() }),
            }
        })
    }
}

/// One fixed key for every provider: for tests, benchmarks and tools that were
/// handed a key some other way.
pub struct StaticKey(Secret);

impl StaticKey {
    /// Uses `key` for every request.
    pub fn new(key: Secret) -> Self {
        StaticKey(key)
    }
}

impl fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StaticKey").field(&self.0).finish()
    }
}

impl KeySource for StaticKey {
    fn key<'a>(&'a self, _provider: &'a str) -> KeyFuture<'a> {
        // Secret has no Clone on purpose; this copy lives only until the request is signed.
        let copy = Secret::new(self.0.expose());
        Box::pin(std::future::ready(Ok(Some(copy))))
    }
}

/// No key at all: for local OpenAI-compatible servers that need none.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keyless;

impl KeySource for Keyless {
    fn key<'a>(&'a self, _provider: &'a str) -> KeyFuture<'a> {
        Box::pin(std::future::ready(Ok(None)))
    }
}
